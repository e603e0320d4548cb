/*
 * tickets.h - session-ticket keys shared by notifyd's workers and kept
 * across its restarts (tickets.c)
 */
#ifndef SITESYS_NOTIFYD_TICKETS_H
#define SITESYS_NOTIFYD_TICKETS_H

#include <openssl/ssl.h>

/*
 * nd_tickets_load - this process's ticket keys from path, made (0600)
 * with a fresh key if missing; a key is added when the newest is
 * rotate_seconds old, the file changed under a lock so that workers
 * starting together agree; 0, or -1 (logged; a malformed file is left
 * alone for the administrator)
 */
int nd_tickets_load(const char *path, long rotate_seconds);

/*
 * nd_tickets_install - seal and open ctx's TLS 1.3 session tickets with
 * the loaded keys (one ticket per handshake, valid lifetime_seconds);
 * 0, or -1 if OpenSSL refuses
 */
int nd_tickets_install(SSL_CTX *ctx, long lifetime_seconds);

#endif
