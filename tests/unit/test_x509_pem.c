/* test_x509_pem.c - a certificate's fingerprint from its PEM text without
 * parsing it is the parsed certificate's; no CERTIFICATE, no fingerprint */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/x509.h"

/* A self-signed client certificate, as PEM text (free it). */
static char *
client_pem(void)
{
	const struct x509_subject s = {
		.cn = "GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff", .days = 1
	};
	char err[256];
	EVP_PKEY *key = x509_key_new(err, sizeof(err));
	X509 *cert;
	char *pem;

	assert_non_null(key);
	cert = x509_cert_make(&s, key, NULL, NULL, err, sizeof(err));
	assert_non_null(cert);
	pem = x509_cert_pem(cert);
	assert_non_null(pem);
	X509_free(cert);
	EVP_PKEY_free(key);
	return pem;
}

static void
test_same_as_parsed(void **state)
{
	char *pem = client_pem(), err[256];
	char parsed[X509_FINGERPRINT_LEN], fast[X509_FINGERPRINT_LEN];
	X509 *cert = x509_cert_parse(pem, strlen(pem), err, sizeof(err));

	(void)state;
	assert_non_null(cert);
	x509_fingerprint(cert, parsed);
	assert_int_equal(strlen(parsed), 64);
	assert_int_equal(
	    x509_pem_fingerprint(pem, strlen(pem), fast, err, sizeof(err)), 0);
	assert_string_equal(fast, parsed);
	X509_free(cert);
	free(pem);
}

static void
test_not_a_certificate(void **state)
{
	char *pem = client_pem(), *key, err[256] = "", fp[X509_FINGERPRINT_LEN];
	const char *begin;

	(void)state;
	assert_int_equal(x509_pem_fingerprint("", 0, fp, err, sizeof(err)), -1);
	assert_string_equal(fp, "");
	assert_non_null(strstr(err, "not a PEM certificate"));
	assert_int_equal(
	    x509_pem_fingerprint("hello", 5, fp, err, sizeof(err)), -1);
	/* the same base64 under another name */
	assert_non_null(key = strdup(pem));
	begin = "-----BEGIN CERTIFICATE-----";
	memcpy(strstr(key, begin) + 11, "PRIVATE KEY", 11);
	memcpy(strstr(key, "-----END CERTIFICATE-----") + 9, "PRIVATE KEY", 11);
	assert_int_equal(
	    x509_pem_fingerprint(key, strlen(key), fp, err, sizeof(err)), -1);
	/* cut short */
	assert_int_equal(
	    x509_pem_fingerprint(pem, strlen(pem) / 2, fp, err, sizeof(err)),
	    -1);
	free(key);
	free(pem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_parsed),
		cmocka_unit_test(test_not_a_certificate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
