/*
 * fuzz_x509_verify.c - a state message batch's "signature", base64 of a
 * DER ECDSA signature, as x509_verify decodes and checks it against a
 * fixed certificate: the input is the signature, a newline, and the data
 * signed (the seed corpus holds one that verifies)
 */
#include "fuzz.h"
#include "util/x509.h"

/* a self-signed P-256 test certificate, CN fuzz.example; its key signed
 * the seed corpus's good input and is kept nowhere */
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBhTCCASugAwIBAgIUESfZR21rktMth2SUIvhrOHVzMqMwCgYIKoZIzj0EAwIw\n"
    "FzEVMBMGA1UEAwwMZnV6ei5leGFtcGxlMCAXDTI2MTEyOTE1MDk1M1oYDzIxMjYx\n"
    "MTA1MTUwOTUzWjAXMRUwEwYDVQQDDAxmdXp6LmV4YW1wbGUwWTATBgcqhkjOPQIB\n"
    "BggqhkjOPQMBBwNCAARX6En3DViGR6exncTG8iu6QUWOFRVxKxI8qW9r13P3dJkF\n"
    "zZM/ZNydc10nDBU9fL+YqSOmp1FJKHAu8WFbwma4o1MwUTAdBgNVHQ4EFgQUJguY\n"
    "i9m8M8u2dHblDMgSRr+HEfIwHwYDVR0jBBgwFoAUJguYi9m8M8u2dHblDMgSRr+H\n"
    "EfIwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEArLawf6Ws3kG9\n"
    "0CgA/lWgr9yz1o9acVlALvYbUlFIiOgCIGK9HB0PUL9CZJ8SjOjsdC9j0UFTP59q\n"
    "H0uCpFISH4J4\n"
    "-----END CERTIFICATE-----\n";

static X509 *cert;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if ((cert = x509_cert_parse(
	         cert_pem, sizeof(cert_pem) - 1, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_x509_verify: %s\n", err);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), err[256] = "", *nl;
	const char *signed_data = "";
	int rc;

	if ((nl = strchr(s, '\n')) != NULL) {
		*nl = '\0';
		signed_data = nl + 1;
	}
	rc = x509_verify(cert, signed_data,
	    nl ? size - (size_t)(nl + 1 - s) : 0, s, err, sizeof(err));
	FUZZ_ASSERT(rc == 1 || rc == 0 || rc == -1);
	if (rc != 1)
		FUZZ_ASSERT(fuzz_why_ok(err));
	free(s);
	return 0;
}
