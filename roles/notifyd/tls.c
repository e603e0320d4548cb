/*
 * tls.c - the server's TLS context: TLS 1.3 only, the management point's
 * site certificate, and a client certificate required and accepted only
 * when its fingerprint is that of a registered, approved, unblocked client
 * whose GUID is its common name
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "notifyd.h"
#include "refusal_log.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/x509.h"

/*
 * Decide on the client's certificate by the accepted set only: a client's
 * certificate is self-signed, its registration the trust. 0 with c's GUID
 * set, or -1 refused (logged, rate-limited).
 */
static int
nd_tls_admit(struct nd_conn *c, X509 *cert)
{
	char why[512], cn[128];
	const char *guid;

	x509_fingerprint(cert, c->fp);
	x509_cn(cert, cn, sizeof(cn));
	if (!c->nd->acc.loaded)
		snprintf(why, sizeof(why),
		    "certificate %s: the accepted clients are not loaded yet",
		    c->fp);
	else if ((guid = nd_accept_guid(c->nd, c->fp)) == NULL)
		snprintf(why, sizeof(why),
		    "certificate %s is not that of a registered, approved, "
		    "unblocked client",
		    c->fp);
	else if (strcmp(guid, cn) != 0)
		snprintf(why, sizeof(why),
		    "certificate %s names \"%.64s\", registered to %s", c->fp,
		    cn, guid);
	else {
		snprintf(c->guid, sizeof(c->guid), "%s", guid);
		return 0;
	}
	c->refused = true;
	c->nd->n.refused++;
	refusal_log_peer(c->addr, why);
	return -1;
}

/* The verify callback: the leaf certificate decides, by nd_tls_admit. */
static int
nd_tls_verify(int preverify, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(
	    xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct nd_conn *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *cert = X509_STORE_CTX_get_current_cert(xs);

	(void)preverify;
	if (c == NULL || cert == NULL)
		return 0;
	if (X509_STORE_CTX_get_error_depth(xs) > 0)
		return 1; /* the leaf decides */
	return nd_tls_admit(c, cert) == 0;
}

int
nd_tls_resumed(struct nd_conn *c, SSL *ssl)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	if (cert == NULL) {
		c->refused = true;
		refusal_log_peer(c->addr,
		    "a resumed session without a client "
		    "certificate");
		return -1;
	}
	/* a session resumed is not verified again: ask the set now, which
	 * may have lost the client since (blocked, reset) */
	return nd_tls_admit(c, cert);
}

/* Log OpenSSL's queue of errors after what. */
static void
nd_tls_error(const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	log_error("%s: %s", what, e != 0 ? buf : "unknown error");
	ERR_clear_error();
}

SSL_CTX *
nd_tls_new(const struct conf *cf, struct notifyd *nd)
{
	const char *cert = conf_str(cf, "notifyd", "cert");
	const char *keyf = conf_str(cf, "notifyd", "key");
	SSL_CTX *ctx;
	EVP_PKEY *key;
	char err[512], what[PATH_MAX + 64];

	if (*cert == '\0') {
		log_error("cannot serve: [notifyd] cert and key are not set");
		return NULL;
	}
	if ((key = x509_key_load(keyf, err, sizeof(err))) == NULL) {
		log_error("could not load the server's key: %s", err);
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		nd_tls_error("could not make a TLS context");
		EVP_PKEY_free(key);
		return NULL;
	}
	snprintf(
	    what, sizeof(what), "could not load the certificate \"%s\"", cert);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		nd_tls_error(what);
		EVP_PKEY_free(key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	EVP_PKEY_free(key);
	/* no buffer kept while idle; a write the socket takes in part is
	 * carried on from the connection's own buffer (conn.c) */
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* no session tickets yet: a restart is met with full handshakes */
	SSL_CTX_set_num_tickets(ctx, 0);
	/* a client that goes without close_notify has closed all the same */
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nd_tls_verify);
	SSL_CTX_set_app_data(ctx, nd);
	return ctx;
}
