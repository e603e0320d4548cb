/*
 * test_x509.c - util/x509: keys saved 0600 and refused when others may
 * read them, certificates and their names, signatures that verify only
 * for the text and the key they were made with; a fingerprint taken from
 * PEM text unparsed that is the parsed certificate's; and the text a
 * batch's signature covers (statemsg_signed_text)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "statemsg.h"
#include "util/sjson.h"
#include "util/x509.h"

static char dir[256];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_x509.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* dir/name into path. */
static const char *
in_dir(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", dir, name);
	return path;
}

/* A fresh key, or the test fails. */
static EVP_PKEY *
new_key(void)
{
	char err[256];
	EVP_PKEY *key = x509_key_new(err, sizeof(err));

	if (key == NULL)
		fail_msg("x509_key_new: %s", err);
	return key;
}

static void
test_key_save_mode_and_refusal(void **state)
{
	char path[300], want[600], err[512];
	struct stat sb;
	EVP_PKEY *key = new_key(), *back;
	FILE *fp;

	(void)state;
	in_dir(path, sizeof(path), "a.key");
	assert_int_equal(x509_key_save(path, key, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	back = x509_key_load(path, err, sizeof(err));
	assert_non_null(back);
	assert_int_equal(EVP_PKEY_eq(key, back), 1);
	EVP_PKEY_free(back);
	/* never over a file that exists */
	assert_int_equal(x509_key_save(path, key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "File exists"));
	/* readable by others: refused, with the file and the reason */
	assert_int_equal(chmod(path, 0644), 0);
	assert_null(x509_key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
	    "\"%s\": a private key must not be readable by group or others "
	    "(mode 644)",
	    path);
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(x509_key_load(path, err, sizeof(err)));
	/* not a key, and no file: the file first, then why */
	in_dir(path, sizeof(path), "junk.key");
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0600), 0);
	assert_null(x509_key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "\"%s\": not a PEM key", path);
	assert_memory_equal(err, want, strlen(want));
	in_dir(path, sizeof(path), "none.key");
	assert_null(x509_key_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "\"%s\": No such file or directory", path);
	assert_string_equal(err, want);
	EVP_PKEY_free(key);
}

static void
test_cert_names_and_key(void **state)
{
	const struct x509_subject subj = {
		"GUID:0b6e4f1a-3c2d-4e5f-8a9b-1c2d3e4f5a6b", "sitesys-agent",
		NULL, false, 7305
	};
	char path[300], err[512], cn[128], ou[64];
	char fp1[X509_FINGERPRINT_LEN], fp2[X509_FINGERPRINT_LEN];
	EVP_PKEY *key = new_key(), *other = new_key();
	X509 *cert = x509_cert_make(&subj, key, NULL, NULL, err, sizeof(err));
	X509 *back;
	struct stat sb;

	(void)state;
	assert_non_null(cert);
	x509_cn(cert, cn, sizeof(cn));
	assert_string_equal(cn, subj.cn);
	x509_ou(cert, ou, sizeof(ou));
	assert_string_equal(ou, "sitesys-agent");
	/* twenty years, give or take a day */
	assert_true(x509_not_after(cert) > time(NULL) + 7304L * 86400);
	assert_true(x509_not_after(cert) < time(NULL) + 7306L * 86400);
	assert_true(x509_cert_has_key(cert, key));
	assert_false(x509_cert_has_key(cert, other));
	/* saved 0644, loaded back the same (the same fingerprint) */
	in_dir(path, sizeof(path), "a.crt");
	assert_int_equal(x509_cert_save(path, cert, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	back = x509_cert_load(path, err, sizeof(err));
	assert_non_null(back);
	x509_fingerprint(cert, fp1);
	x509_fingerprint(back, fp2);
	assert_int_equal(strlen(fp1), 64);
	assert_int_equal(strspn(fp1, "0123456789abcdef"), 64);
	assert_string_equal(fp1, fp2);
	X509_free(back);
	X509_free(cert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void
test_sign_and_verify(void **state)
{
	const struct x509_subject subj = { "signer", NULL, NULL, false, 1 };
	static const char text[] = "{\"client\":\"guid:x\",\"messages\":[]}";
	char sig[X509_SIGNATURE_LEN], bad[X509_SIGNATURE_LEN], err[512];
	EVP_PKEY *key = new_key(), *other = new_key();
	X509 *cert = x509_cert_make(&subj, key, NULL, NULL, err, sizeof(err));
	X509 *other_cert =
	    x509_cert_make(&subj, other, NULL, NULL, err, sizeof(err));

	(void)state;
	assert_non_null(cert);
	assert_non_null(other_cert);
	assert_int_equal(
	    x509_sign(key, text, strlen(text), sig, err, sizeof(err)), 0);
	assert_true(strlen(sig) > 0 && strlen(sig) < STATEMSG_MAX_SIGNATURE);
	assert_int_equal(
	    x509_verify(cert, text, strlen(text), sig, err, sizeof(err)), 1);
	/* one byte of the text changed */
	assert_int_equal(
	    x509_verify(cert, "{\"client\":\"guid:y\",\"messages\":[]}",
	        strlen(text), sig, err, sizeof(err)),
	    0);
	assert_string_equal(
	    err, "the signature does not match the certificate's key");
	/* another key's certificate */
	assert_int_equal(
	    x509_verify(other_cert, text, strlen(text), sig, err, sizeof(err)),
	    0);
	/* garbage, empty, and a signature with one character changed */
	assert_int_equal(x509_verify(cert, text, strlen(text), "not base64!",
	                     err, sizeof(err)),
	    0);
	assert_string_equal(err, "the signature is not base64");
	assert_int_equal(
	    x509_verify(cert, text, strlen(text), "", err, sizeof(err)), 0);
	snprintf(bad, sizeof(bad), "%s", sig);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_int_equal(
	    x509_verify(cert, text, strlen(text), bad, err, sizeof(err)), 0);
	X509_free(cert);
	X509_free(other_cert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* What a batch's signature covers: not the signature, the client lower
 * case, members sorted, compact, non-ASCII escaped. */
static void
test_signed_text(void **state)
{
	static const char batch[] =
	    "{\"messages\":[{\"serial\":1,\"details\":\"caf\xc3\xa9\"}],"
	    "\"format\":\"sitesys.statemsg/1\","
	    "\"client\":\"GUID:0B6E4F1A-3C2D-4E5F-8A9B-1C2D3E4F5A6B\"}";
	const char *want =
	    "{\"client\":\"GUID:0b6e4f1a-3c2d-4e5f-8a9b-1c2d3e4f5a6b\","
	    "\"format\":\"sitesys.statemsg/1\",\"messages\":[{\"details\":"
	    "\"caf\\u00E9\",\"serial\":1}]}";
	json_t *doc = sjson_parse(batch, strlen(batch), NULL, 0);
	char *plain, *signed_;

	(void)state;
	assert_non_null(doc);
	plain = statemsg_signed_text(doc);
	assert_string_equal(plain, want);
	/* a signature member, whatever it holds, changes nothing */
	sjson_set(doc, "signature", json_string("MEUCIQ=="));
	signed_ = statemsg_signed_text(doc);
	assert_string_equal(signed_, want);
	/* and the document itself is left as it was */
	assert_string_equal(json_string_value(json_object_get(doc, "client")),
	    "GUID:0B6E4F1A-3C2D-4E5F-8A9B-1C2D3E4F5A6B");
	assert_non_null(json_object_get(doc, "signature"));
	free(plain);
	free(signed_);
	json_decref(doc);
}

/* A self-signed client certificate, as PEM text (free it). */
static char *
client_pem(void)
{
	const struct x509_subject s = {
		.cn = "GUID:6f9619ff-8b86-d011-b42d-00c04fc964ff", .days = 1
	};
	char err[256];
	EVP_PKEY *key = new_key();
	X509 *cert;
	char *pem;

	cert = x509_cert_make(&s, key, NULL, NULL, err, sizeof(err));
	assert_non_null(cert);
	pem = x509_cert_pem(cert);
	assert_non_null(pem);
	X509_free(cert);
	EVP_PKEY_free(key);
	return pem;
}

static void
test_pem_fingerprint_as_parsed(void **state)
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
test_pem_fingerprint_refusals(void **state)
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
		cmocka_unit_test_setup_teardown(
		    test_key_save_mode_and_refusal, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_cert_names_and_key, setup_dir, teardown_dir),
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_pem_fingerprint_as_parsed),
		cmocka_unit_test(test_pem_fingerprint_refusals),
		cmocka_unit_test(test_signed_text),
	};

	return cmocka_run_group_tests_name("x509", tests, NULL, NULL);
}
