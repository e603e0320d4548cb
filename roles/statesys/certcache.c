/*
 * certcache.c - clients' certificates parsed once, found by fingerprint
 * through a strmap; when CERTCACHE_MAX are held, it starts afresh
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statesys.h"
#include "util/strmap.h"

#define CERTCACHE_MAX 4096

struct cert_entry {
	char fp[X509_FINGERPRINT_LEN]; /* the map's key */
	X509 *cert;
};

struct certcache {
	struct strmap index; /* fingerprint -> entries[] */
	struct cert_entry *entries;
	size_t n;
};

struct certcache *
certcache_new(void)
{
	struct certcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		abort();
	strmap_init(&c->index, false);
	return c;
}

/* Forget every entry. */
static void
certcache_clear(struct certcache *c)
{
	for (size_t i = 0; i < c->n; i++)
		X509_free(c->entries[i].cert);
	c->n = 0;
	strmap_free(&c->index);
	strmap_init(&c->index, false);
}

X509 *
certcache_get(
    struct certcache *c, const char *fp, const char *pem, char *why, size_t len)
{
	char actual[X509_FINGERPRINT_LEN], err[200];
	struct cert_entry *e;
	uint32_t i;
	X509 *cert;

	if (strmap_get(&c->index, fp, &i))
		return c->entries[i].cert;
	if ((cert = x509_cert_parse(pem, strlen(pem), err, sizeof(err))) ==
	    NULL) {
		snprintf(why, len, "its registered certificate: %s", err);
		return NULL;
	}
	x509_fingerprint(cert, actual);
	if (strcmp(actual, fp) != 0) {
		snprintf(why, len,
		    "its registered certificate does not have its "
		    "registered fingerprint %s",
		    fp);
		X509_free(cert);
		return NULL;
	}
	/* made at the first use: a site without an FSP never needs it */
	if (c->entries == NULL &&
	    (c->entries = calloc(CERTCACHE_MAX, sizeof(*c->entries))) == NULL)
		abort();
	if (c->n == CERTCACHE_MAX)
		certcache_clear(c);
	e = &c->entries[c->n];
	snprintf(e->fp, sizeof(e->fp), "%s", actual);
	e->cert = cert;
	strmap_put(&c->index, e->fp, (uint32_t)c->n++);
	return cert;
}

void
certcache_free(struct certcache *c)
{
	if (c == NULL)
		return;
	certcache_clear(c);
	strmap_free(&c->index);
	free(c->entries);
	free(c);
}
