/*
 * tickets.c - TLS session-ticket keys that every worker shares and that
 * outlive a restart, so that clients reconnecting to any worker, or after
 * a restart, resume their TLS 1.3 sessions (one ECDHE, no certificate
 * signature or verification) instead of making full handshakes
 *
 * The keys live in one file, 0600, of at most TICKET_KEYS lines, newest
 * first: "NAME HMAC AES CREATED" (16, 32 and 32 bytes in hex, and the Unix
 * time it was made). New tickets are sealed with the newest key; a ticket
 * of an older key still opens, and is replaced by one of the newest. When
 * the newest is older than the rotation period, a process that loads the
 * file (under flock, so workers starting together agree) adds a fresh key
 * and drops the oldest; every worker reloads the file hourly.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "tickets.h"
#include "util/fsio.h"
#include "util/log.h"

#define TICKET_KEYS 3 /* the newest and two before it */
#define TICKET_LINE 256

struct ticket_key {
	unsigned char name[16], hmac[32], aes[32];
	long long created;
};

/* This process's keys: one SSL_CTX per process uses them. */
static struct ticket_key keys[TICKET_KEYS];
static int nkeys;

static void
hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static int
unhex(const char *s, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		p[i] = (unsigned char)v;
	}
	return s[2 * n] == ' ' || s[2 * n] == '\n' || s[2 * n] == '\0' ? 0 : -1;
}

/* The keys of the file's text into ks; how many, or -1 if malformed. */
static int
parse(const char *text, struct ticket_key *ks)
{
	const char *line = text;
	int n = 0;

	while (*line != '\0' && n < TICKET_KEYS) {
		struct ticket_key *k = &ks[n];

		if (strlen(line) < 32 + 1 + 64 + 1 + 64 + 2 ||
		    unhex(line, k->name, 16) == -1 ||
		    unhex(line + 33, k->hmac, 32) == -1 ||
		    unhex(line + 98, k->aes, 32) == -1 ||
		    sscanf(line + 163, "%lld", &k->created) != 1)
			return -1;
		n++;
		line = strchr(line, '\n');
		if (line == NULL)
			break;
		line++;
	}
	return n;
}

static void
format(const struct ticket_key *ks, int n, char *out)
{
	for (int i = 0; i < n; i++, out += strlen(out)) {
		hex(ks[i].name, 16, out);
		out[32] = ' ';
		hex(ks[i].hmac, 32, out + 33);
		out[97] = ' ';
		hex(ks[i].aes, 32, out + 98);
		sprintf(out + 162, " %lld\n", ks[i].created);
	}
}

/* A fresh key first, the oldest dropped; 0 or -1. */
static int
rotate(struct ticket_key *ks, int *n)
{
	memmove(ks + 1, ks, sizeof(*ks) * (size_t)(TICKET_KEYS - 1));
	if (RAND_bytes(ks[0].name, 16) != 1 ||
	    RAND_bytes(ks[0].hmac, 32) != 1 || RAND_bytes(ks[0].aes, 32) != 1)
		return -1;
	ks[0].created = (long long)time(NULL);
	if (*n < TICKET_KEYS)
		(*n)++;
	return 0;
}

/* Read, rotate if due and write back, under the lock of the open fd. */
static int
load_locked(int fd, const char *path, long rotate_seconds)
{
	char *text = NULL, tmp[PATH_MAX], out[TICKET_KEYS * TICKET_LINE];
	struct ticket_key ks[TICKET_KEYS];
	size_t len;
	int n;

	if (fsio_read_fd(fd, TICKET_KEYS * TICKET_LINE, &text, &len) == -1) {
		log_error("could not read \"%s\": %m", path);
		return -1;
	}
	n = parse(text, ks);
	free(text);
	if (n == -1) {
		log_error("\"%s\" is not a ticket key file; remove it to start "
		          "afresh (clients then make full handshakes once)",
		    path);
		return -1;
	}
	if (n == 0 || (long long)time(NULL) - ks[0].created >= rotate_seconds) {
		if (rotate(ks, &n) == -1) {
			log_error(
			    "could not make a ticket key: out of entropy");
			return -1;
		}
		format(ks, n, out);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (fsio_replace(path, tmp, out, strlen(out), 0600) == -1) {
			log_error("could not write \"%s\": %m", path);
			return -1;
		}
		log_info("new session-ticket key in \"%s\"", path);
	}
	memcpy(keys, ks, sizeof(ks));
	nkeys = n;
	return 0;
}

int
nd_tickets_load(const char *path, long rotate_seconds)
{
	char lock[PATH_MAX];
	int fd, rc;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		log_error("could not open \"%s\": %m", lock);
		return -1;
	}
	if (flock(fd, LOCK_EX) == -1) {
		log_error("could not lock \"%s\": %m", lock);
		close(fd);
		return -1;
	}
	rc = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (rc == -1)
		log_error("could not open \"%s\": %m", path);
	else {
		int file = rc;

		rc = load_locked(file, path, rotate_seconds);
		close(file);
	}
	close(fd); /* and with it the lock */
	return rc;
}

/* Seal (enc 1) with the newest key, or open (enc 0) with the one named. */
static int
ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	OSSL_PARAM params[3];
	const struct ticket_key *k = NULL;
	int i = 0;

	(void)s;
	if (enc) {
		if (nkeys == 0 || RAND_bytes(iv, 16) != 1)
			return -1;
		k = &keys[0];
		memcpy(name, k->name, 16);
	} else {
		for (i = 0; i < nkeys && k == NULL; i++)
			if (memcmp(name, keys[i].name, 16) == 0)
				k = &keys[i];
		if (k == NULL)
			return 0; /* unknown: a full handshake */
	}
	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, "sha256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc)
		return EVP_EncryptInit_ex(
		           cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1
		    ? 1
		    : -1;
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
		return -1;
	return i == 1 ? 1 : 2; /* an older key's: renew the ticket */
}

int
nd_tickets_install(SSL_CTX *ctx, long lifetime_seconds)
{
	static const unsigned char sid[] = "sitesys-notifyd";

	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	/* resumption with client certificates needs a session context */
	if (SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1)
		return -1;
	if (SSL_CTX_set_num_tickets(ctx, 1) != 1 ||
	    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1)
		return -1;
	SSL_CTX_set_timeout(ctx, lifetime_seconds);
	return 0;
}
