/*
 * refusal_log.h - one log line for each request a FastCGI role refuses,
 * with its status, reason and the caller's address, at most
 * REFUSAL_LOG_PER_SECOND lines a second; the rest are counted and the
 * count logged once a second ("suppressed N refused requests"), so a
 * flood cannot fill the disk
 */
#ifndef SITESYS_REFUSAL_LOG_H
#define SITESYS_REFUSAL_LOG_H

#include "util/fcgi_server.h"

#define REFUSAL_LOG_PER_SECOND 10

/*
 * refusal_log - log req's refusal (an fcgi_refusal_hook): "refused METHOD
 * PATH from ADDRESS: STATUS[ CODE]: REASON", control characters escaped;
 * 4xx at info, 5xx at warning; safe from any thread
 */
void refusal_log(
    struct fcgi_req *req, int status, const char *code, const char *reason);

/*
 * refusal_log_peer - log a refused connection of a role that is not behind
 * nginx: "refused a connection from ADDRESS: REASON", control characters
 * escaped, at info, within the same limit of REFUSAL_LOG_PER_SECOND lines
 * a second as refusal_log; safe from any thread
 */
void refusal_log_peer(const char *addr, const char *reason);

/*
 * refusal_log_flush - log the count of the refusals left out in a second
 * that has ended, if any; called now and then by the main loop so that
 * the last second of a flood is counted without another refusal
 */
void refusal_log_flush(void);

#endif
