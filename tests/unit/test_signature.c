/*
 * test_signature.c - a batch's signature: the text it covers, exactly as
 * sitesys-statemsg(5) specifies it rule by rule, and a signature that
 * holds however the batch is spelled on its way (test_x509 tests
 * x509_sign and x509_verify themselves)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statemsg.h"
#include "util/sjson.h"
#include "util/x509.h"

#define GUID "GUID:4F1C2A7E-9A8B-4C3D-8E2F-0A1B2C3D4E5F"
#define GUID_LOW "GUID:4f1c2a7e-9a8b-4c3d-8e2f-0a1b2c3d4e5f"

/* A client's identity, as the agent makes it: a key and its certificate. */
struct ident {
	EVP_PKEY *key;
	X509 *cert;
};

static void
ident_make(struct ident *id)
{
	struct x509_subject subj = { .cn = GUID_LOW, .days = 30 };
	char err[256];

	id->key = x509_key_new(err, sizeof(err));
	assert_non_null(id->key);
	id->cert = x509_cert_make(&subj, id->key, NULL, NULL, err, sizeof(err));
	assert_non_null(id->cert);
}

static void
ident_free(struct ident *id)
{
	X509_free(id->cert);
	EVP_PKEY_free(id->key);
}

static json_t *
doc_of(const char *text)
{
	char why[256];
	json_t *doc = sjson_parse(text, strlen(text), why, sizeof(why));

	assert_non_null(doc);
	return doc;
}

/* The signed text of the document text, as a string to compare. */
static char *
signed_text_of(const char *text)
{
	json_t *doc = doc_of(text);
	char *signed_text = statemsg_signed_text(doc);

	assert_non_null(signed_text);
	json_decref(doc);
	return signed_text;
}

/*
 * The spec's rules one by one: "signature" left out, the client in lower
 * case, members sorted by name at every depth, arrays in their order, no
 * white space, integers in decimal, literals as they are; in strings,
 * '"' and '\' escaped, \b \f \n \r \t by their short forms, other control
 * characters and every character beyond ASCII as \u and four upper-case
 * hex digits (a surrogate pair beyond the BMP), '/' and DEL as they are.
 */
static void
test_signed_text_is_canonical(void **state)
{
	char *text;

	(void)state;
	text =
	    signed_text_of("{\n  \"signature\": \"AAAA\",\n"
	                   "  \"messages\": [ { \"serial\": 12,\n"
	                   "    \"topic\": {\"type\": 800, \"id\": \"a/b\"},"
	                   "    \"state\": {\"id\": 301, \"criticality\": 0},"
	                   "    \"time\": \"2026-11-22T09:30:04Z\","
	                   "    \"details\": \"caf\xc3\xa9 \xf0\x9f\x98\x80 "
	                   "\\\"q\\\" \\\\ \\n\\t\\u0001\x7f\","
	                   "    \"params\": [\"z\", \"a\", \"\"],"
	                   "    \"x\": [true, false, null, -3] } ],\n"
	                   "  \"client\": \"" GUID "\",\n"
	                   "  \"format\": \"sitesys.statemsg/1\"\n}");
	assert_string_equal(text,
	    "{\"client\":\"" GUID_LOW "\",\"format\":\"sitesys.statemsg/1\","
	    "\"messages\":[{\"details\":\"caf\\u00E9 \\uD83D\\uDE00 "
	    "\\\"q\\\" \\\\ \\n\\t\\u0001\x7f\","
	    "\"params\":[\"z\",\"a\",\"\"],\"serial\":12,"
	    "\"state\":{\"criticality\":0,\"id\":301},"
	    "\"time\":\"2026-11-22T09:30:04Z\","
	    "\"topic\":{\"id\":\"a/b\",\"type\":800},"
	    "\"x\":[true,false,null,-3]}]}");
	free(text);
}

/* The same batch, however it is spelled, has the same signed text. */
static void
test_signed_text_ignores_the_spelling(void **state)
{
	char *a, *b;

	(void)state;
	a = signed_text_of(
	    "{\"format\":\"sitesys.statemsg/1\",\"client\":\"" GUID
	    "\",\"messages\":[{\"serial\":1}]}");
	b = signed_text_of("{ \"messages\" : [ { \"serial\" : 1 } ] ,"
	                   "\"client\":\"" GUID_LOW "\",\"signature\":\"x\","
	                   "\"format\":\"sitesys.statemsg/1\"}");
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* Sign as the agent does: the signature over the batch's signed text. */
static void
sign(const struct ident *id, json_t *doc, char sig[X509_SIGNATURE_LEN])
{
	char err[256], *text = statemsg_signed_text(doc);

	assert_non_null(text);
	assert_int_equal(
	    x509_sign(id->key, text, strlen(text), sig, err, sizeof(err)), 0);
	free(text);
}

/* Check as statesys does; 1, or 0 with why. */
static int
verify(
    const struct ident *id, json_t *doc, const char *sig, char *why, size_t len)
{
	char *text = statemsg_signed_text(doc);
	int rc;

	assert_non_null(text);
	rc = x509_verify(id->cert, text, strlen(text), sig, why, len);
	free(text);
	return rc;
}

#define BATCH                                                                  \
	"{\"format\":\"sitesys.statemsg/1\",\"client\":\"" GUID                \
	"\",\"messages\":[{\"serial\":7,\"time\":\"2026-11-22T09:30:04Z\","    \
	"\"topic\":{\"type\":700,\"id\":\"resync\"},\"state\":{\"id\":2}}]}"

static void
test_a_signature_survives_respelling_only(void **state)
{
	struct ident id;
	char sig[X509_SIGNATURE_LEN], why[256] = "", *pretty;
	json_t *doc = doc_of(BATCH), *again;

	(void)state;
	ident_make(&id);
	sign(&id, doc, sig);
	assert_int_equal(verify(&id, doc, sig, why, sizeof(why)), 1);
	/* carried in the batch, spelled otherwise: still good */
	json_object_set_new(doc, "signature", json_string(sig));
	pretty = json_dumps(doc, JSON_INDENT(2));
	again = doc_of(pretty);
	free(pretty);
	assert_int_equal(verify(&id, again, sig, why, sizeof(why)), 1);
	/* a message changed: a resync-complete made into something else */
	json_object_set_new(
	    json_object_get(
	        json_array_get(json_object_get(again, "messages"), 0), "state"),
	    "id", json_integer(1));
	assert_int_equal(verify(&id, again, sig, why, sizeof(why)), 0);
	assert_string_equal(why,
	    "the signature does not match the "
	    "certificate's key");
	json_decref(again);
	json_decref(doc);
	ident_free(&id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_text_is_canonical),
		cmocka_unit_test(test_signed_text_ignores_the_spelling),
		cmocka_unit_test(test_a_signature_survives_respelling_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
