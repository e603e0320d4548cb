/*
 * identity.c - the client's key and certificate, in the state directory:
 * identity.key (mode 0600) and identity.crt, self-signed, its common name
 * the client's GUID. They are made once, on the first start; afterwards
 * anything wrong with them stops the agent with the file and the reason,
 * for a new key would be a new identity that the site does not know.
 *
 * Each file is written as .NAME.tmp and renamed into place, so that a
 * crash never leaves half a key where the agent would refuse it forever.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent.h"
#include "util/fsio.h"
#include "util/log.h"

/* Whether path exists; errors other than "no such file" count as yes,
 * so that loading it says what is wrong. */
static bool
identity_exists(const char *path)
{
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/* Move tmp into place as path, durably; 0 or -1 logged. */
static int
identity_install(const struct store *st, const char *tmp, const char *path)
{
	if (rename(tmp, path) == -1) {
		log_error("could not rename \"%s\" to \"%s\": %m", tmp, path);
		unlink(tmp);
		return -1;
	}
	if (fsio_sync_dir(st->dir) == -1) {
		log_error("could not sync \"%s\": %m", st->dir);
		return -1;
	}
	return 0;
}

/* Make a new key as identity.key; 0 or -1 logged. */
static int
identity_make_key(struct store *st)
{
	char path[PATH_MAX], tmp[PATH_MAX], err[1024];

	if (store_paths(st->dir, IDENTITY_KEY_FILE, path, tmp) == -1) {
		log_error("\"%s\": %m", st->dir);
		return -1;
	}
	if (unlink(tmp) == -1 && errno != ENOENT) {
		log_error("could not remove \"%s\": %m", tmp);
		return -1;
	}
	if ((st->key = x509_key_new(err, sizeof(err))) == NULL ||
	    x509_key_save(tmp, st->key, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	if (identity_install(st, tmp, path) == -1)
		return -1;
	log_info("made the key \"%s\"", path);
	return 0;
}

/* Make the self-signed certificate of st->key for st->guid; 0 or -1. */
static int
identity_make_cert(struct store *st)
{
	const struct x509_subject subj = { st->guid, IDENTITY_OU, NULL, false,
		IDENTITY_DAYS };
	char path[PATH_MAX], tmp[PATH_MAX], err[1024];

	if (store_paths(st->dir, IDENTITY_CERT_FILE, path, tmp) == -1) {
		log_error("\"%s\": %m", st->dir);
		return -1;
	}
	if (unlink(tmp) == -1 && errno != ENOENT) {
		log_error("could not remove \"%s\": %m", tmp);
		return -1;
	}
	if ((st->cert = x509_cert_make(
	         &subj, st->key, NULL, NULL, err, sizeof(err))) == NULL ||
	    x509_cert_save(tmp, st->cert, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return -1;
	}
	return identity_install(st, tmp, path);
}

/* Check that the certificate is the key's and names this client. */
static int
identity_check(const struct store *st)
{
	char cn[256];

	x509_cn(st->cert, cn, sizeof(cn));
	if (strcasecmp(cn, st->guid) != 0) {
		log_error("\"%s\": the certificate names \"%s\", not this "
		          "client, %s",
		    st->cert_path, cn, st->guid);
		return -1;
	}
	if (!x509_cert_has_key(st->cert, st->key)) {
		log_error("\"%s\": the certificate is not that of the key "
		          "\"%s\"",
		    st->cert_path, st->key_path);
		return -1;
	}
	return 0;
}

/* Load the key, or make one when there is none (and no certificate). */
static int
identity_key(struct store *st, bool have_cert)
{
	char err[1024];

	if (!identity_exists(st->key_path)) {
		if (!have_cert)
			return identity_make_key(st);
		log_error("\"%s\": there is no key for the certificate \"%s\"; "
		          "remove the certificate to make a new identity, "
		          "which the site must then accept "
		          "(sitectl client reset-identity)",
		    st->key_path, st->cert_path);
		return -1;
	}
	if ((st->key = x509_key_load(st->key_path, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

bool
identity_made(const struct store *st)
{
	char path[PATH_MAX];

	return (fsio_join(path, sizeof(path), st->dir, IDENTITY_KEY_FILE) ==
	               0 &&
	           identity_exists(path)) ||
	    (fsio_join(path, sizeof(path), st->dir, IDENTITY_CERT_FILE) == 0 &&
	        identity_exists(path));
}

int
identity_open(struct store *st)
{
	char err[1024];
	bool have_cert, have_key;

	if (fsio_join(st->key_path, sizeof(st->key_path), st->dir,
	        IDENTITY_KEY_FILE) == -1 ||
	    fsio_join(st->cert_path, sizeof(st->cert_path), st->dir,
	        IDENTITY_CERT_FILE) == -1) {
		log_error("\"%s\": %m", st->dir);
		return -1;
	}
	have_cert = identity_exists(st->cert_path);
	have_key = identity_exists(st->key_path);
	if (identity_key(st, have_cert) == -1)
		return -1;
	if (!have_cert) {
		if (identity_make_cert(st) == -1)
			return -1;
		if (have_key)
			log_warn("\"%s\" was missing: made it again from the "
			         "key; a management point that knew the old "
			         "one refuses it until the site resets this "
			         "client's identity",
			    st->cert_path);
		else
			log_info("made the certificate \"%s\" for %s",
			    st->cert_path, st->guid);
	} else if ((st->cert = x509_cert_load(
	                st->cert_path, err, sizeof(err))) == NULL) {
		log_error("%s", err);
		return -1;
	}
	if (identity_check(st) == -1)
		return -1;
	x509_fingerprint(st->cert, st->fingerprint);
	return 0;
}

void
identity_close(struct store *st)
{
	EVP_PKEY_free(st->key);
	X509_free(st->cert);
	st->key = NULL;
	st->cert = NULL;
}
