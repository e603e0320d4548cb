/*
 * sign-batch - sign a state message batch as the agent does, for tests:
 *
 *   sign-batch KEY [FILE]
 *
 * reads the batch (sitesys-statemsg(5)) from FILE or standard input,
 * signs its signed text (statemsg_signed_text) with the private key in
 * the PEM file KEY (mode 0600, as x509_key_load requires), and prints the
 * batch with its "signature" member set, compactly, on standard output.
 * Exits 0, 1 on failure, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "statemsg.h"
#include "util/fsio.h"
#include "util/sjson.h"
#include "util/x509.h"

/* The batch in path ("-": standard input), parsed, or NULL (said why). */
static json_t *
read_batch(const char *path)
{
	char why[512], *text;
	json_t *doc;
	size_t len;

	if (strcmp(path, "-") == 0) {
		json_error_t err;

		if ((doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &err)) ==
		    NULL)
			fprintf(stderr, "sign-batch: standard input: %s\n",
			    err.text);
		return doc;
	}
	if (fsio_read_file(path, STATEMSG_MAX_BODY, &text, &len) == -1) {
		fprintf(
		    stderr, "sign-batch: could not read \"%s\": %m\n", path);
		return NULL;
	}
	if ((doc = sjson_parse(text, len, why, sizeof(why))) == NULL)
		fprintf(stderr, "sign-batch: %s: %s\n", path, why);
	free(text);
	return doc;
}

/* Set doc's "signature" by key; 0, or -1 (said why). */
static int
sign_batch(EVP_PKEY *key, json_t *doc)
{
	char sig[X509_SIGNATURE_LEN], err[256], *text;
	int rc;

	if ((text = statemsg_signed_text(doc)) == NULL) {
		fprintf(stderr, "sign-batch: out of memory\n");
		return -1;
	}
	rc = x509_sign(key, text, strlen(text), sig, err, sizeof(err));
	free(text);
	if (rc == -1) {
		fprintf(stderr, "sign-batch: %s\n", err);
		return -1;
	}
	return json_object_set_new(doc, "signature", json_string(sig));
}

int
main(int argc, char **argv)
{
	char err[256], *out = NULL;
	EVP_PKEY *key;
	json_t *doc = NULL;
	int rc = 1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: sign-batch key [file]\n");
		return 2;
	}
	if ((key = x509_key_load(argv[1], err, sizeof(err))) == NULL) {
		fprintf(stderr, "sign-batch: %s\n", err);
		return 1;
	}
	if ((doc = read_batch(argc == 3 ? argv[2] : "-")) != NULL &&
	    sign_batch(key, doc) == 0 &&
	    (out = json_dumps(doc, JSON_COMPACT)) != NULL) {
		printf("%s\n", out);
		rc = 0;
	}
	free(out);
	json_decref(doc);
	EVP_PKEY_free(key);
	return rc;
}
