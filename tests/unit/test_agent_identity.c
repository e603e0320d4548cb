/*
 * test_agent_identity.c - the agent's identity and what rests on it: the
 * key (0600) and self-signed certificate made on the first start and
 * loaded afterwards, every way they can be wrong refused with the file and
 * the reason and nothing made in their place; batches signed with the key
 * (at the MP and at the FSP) within the body limit; and the registration
 * state the management point's answers leave, logged once per change.
 *
 * The HTTP client is a fake, so no libcurl and no network.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

static char top[256], dir[300], logfile[300];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/test_agent_identity.XXXXXX");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/state", top);
	snprintf(logfile, sizeof(logfile), "%s/log", top);
	return log_to_file(logfile);
}

static int
teardown_dir(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* dir/name into path. */
static const char *
state_file(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", dir, name);
	return path;
}

/* The whole of a file (malloc'd, NUL-terminated), or NULL if none. */
static char *
slurp(const char *path)
{
	char *text;
	size_t len;

	if (fsio_read_file(path, 1 << 20, &text, &len) == -1)
		return NULL;
	return text;
}

/* How many log lines hold s. */
static int
logged(const char *s)
{
	char *text = slurp(logfile), *p;
	int n = 0;

	for (p = text; p != NULL && (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	free(text);
	return n;
}

/* store_open must fail, logging want; the key file stays as it was. */
static void
refused(const char *want)
{
	char key[400], *before, *after;
	struct store st;

	before = slurp(state_file(key, sizeof(key), IDENTITY_KEY_FILE));
	assert_int_equal(store_open(&st, dir), -1);
	if (logged(want) == 0)
		fail_msg("not logged: %s\n%s", want, slurp(logfile));
	after = slurp(key);
	assert_true((before == NULL) == (after == NULL));
	if (before != NULL)
		assert_string_equal(before, after);
	free(before);
	free(after);
}

/* A certificate for key naming cn, written over identity.crt. */
static void
put_cert(EVP_PKEY *key, const char *cn)
{
	const struct x509_subject subj = { cn, IDENTITY_OU, NULL, false, 30 };
	char path[400], err[256];
	X509 *cert = x509_cert_make(&subj, key, NULL, NULL, err, sizeof(err));

	assert_non_null(cert);
	state_file(path, sizeof(path), IDENTITY_CERT_FILE);
	unlink(path);
	assert_int_equal(x509_cert_save(path, cert, err, sizeof(err)), 0);
	X509_free(cert);
}

static void
test_first_start_makes_it_later_ones_load_it(void **state)
{
	struct store st;
	char path[400], cn[64], ou[64], fp[X509_FINGERPRINT_LEN], err[256];
	struct stat sb;
	X509 *cert;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	assert_int_equal(
	    stat(state_file(path, sizeof(path), IDENTITY_KEY_FILE), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	cert =
	    x509_cert_load(state_file(path, sizeof(path), IDENTITY_CERT_FILE),
	        err, sizeof(err));
	assert_non_null(cert);
	x509_cn(cert, cn, sizeof(cn));
	assert_string_equal(cn, st.guid);
	x509_ou(cert, ou, sizeof(ou));
	assert_string_equal(ou, "sitesys-agent");
	assert_true(x509_not_after(cert) > time(NULL) + 19L * 365 * 86400);
	assert_true(x509_cert_has_key(cert, st.key));
	x509_fingerprint(cert, fp);
	assert_string_equal(st.fingerprint, fp);
	X509_free(cert);
	assert_string_equal(
	    st.key_path, state_file(path, sizeof(path), "identity.key"));
	snprintf(fp, sizeof(fp), "%s", st.fingerprint);
	store_close(&st);
	assert_int_equal(logged("made the key"), 1);
	/* a later start loads the same identity and makes nothing */
	assert_int_equal(store_open(&st, dir), 0);
	assert_string_equal(st.fingerprint, fp);
	assert_true(strcmp(cn, st.guid) == 0);
	store_close(&st);
	assert_int_equal(logged("made the key"), 1);
	assert_int_equal(logged("made the certificate"), 1);
}

static void
test_a_bad_key_stops_and_is_kept(void **state)
{
	struct store st;
	char path[400], want[600];
	FILE *fp;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	store_close(&st);
	state_file(path, sizeof(path), IDENTITY_KEY_FILE);
	/* readable by others */
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(want, sizeof(want),
	    "\"%s\": a private key must not be readable by group or others "
	    "(mode 644)",
	    path);
	refused(want);
	/* corrupt */
	assert_int_equal(chmod(path, 0600), 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n", fp);
	fclose(fp);
	snprintf(want, sizeof(want), "\"%s\": not a PEM key", path);
	refused(want);
	/* empty */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	refused(want);
	/* unreadable (a directory in its place) */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	refused(path);
	assert_int_equal(rmdir(path), 0);
	/* never was a new key made in its place */
	assert_int_equal(logged("made the key"), 1);
}

static void
test_certificate_refusals_and_remake(void **state)
{
	struct store st;
	char path[400], crt[400], want[1000], fp[X509_FINGERPRINT_LEN];
	char guid[STATEMSG_GUID_LEN + 1], err[256];
	EVP_PKEY *other;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	snprintf(guid, sizeof(guid), "%s", st.guid);
	snprintf(fp, sizeof(fp), "%s", st.fingerprint);
	store_close(&st);
	state_file(crt, sizeof(crt), IDENTITY_CERT_FILE);
	/* missing beside a good key: made again from the key, logged */
	assert_int_equal(unlink(crt), 0);
	assert_int_equal(store_open(&st, dir), 0);
	assert_string_not_equal(st.fingerprint, fp);
	assert_string_equal(st.guid, guid);
	store_close(&st);
	snprintf(want, sizeof(want), "\"%s\" was missing: made it again", crt);
	assert_int_equal(logged(want), 1);
	/* naming another client */
	assert_int_equal(store_open(&st, dir), 0);
	put_cert(st.key, "GUID:11111111-2222-4333-8444-555555555555");
	store_close(&st);
	snprintf(want, sizeof(want),
	    "\"%s\": the certificate names "
	    "\"GUID:11111111-2222-4333-8444-555555555555\", not this client, "
	    "%s",
	    crt, guid);
	refused(want);
	/* another key's */
	other = x509_key_new(err, sizeof(err));
	assert_non_null(other);
	put_cert(other, guid);
	EVP_PKEY_free(other);
	snprintf(want, sizeof(want),
	    "\"%s\": the certificate is not that of the key", crt);
	refused(want);
	/* not a certificate */
	assert_int_equal(truncate(crt, 10), 0);
	snprintf(want, sizeof(want), "\"%s\": not a PEM certificate", crt);
	refused(want);
	/* a certificate without its key: no new identity behind its back */
	assert_int_equal(
	    unlink(state_file(path, sizeof(path), IDENTITY_KEY_FILE)), 0);
	snprintf(want, sizeof(want),
	    "\"%s\": there is no key for the certificate \"%s\"", path, crt);
	refused(want);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(logged("made the key"), 1);
}

/* The GUID lost beside its key: no new one is made. */
static void
test_lost_guid_is_not_a_new_identity(void **state)
{
	struct store st;
	char path[400], want[500];

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	store_close(&st);
	assert_int_equal(unlink(state_file(path, sizeof(path), "identity")), 0);
	snprintf(
	    want, sizeof(want), "\"%s/identity\": missing, but the key", dir);
	refused(want);
	assert_int_equal(access(path, F_OK), -1);
}

/* The fake HTTP client: every POST kept, answers by URL. */
struct fake {
	long mp, fsp, reg, pol;
	const char *registered, *policy; /* the answers of 200 */
	const char *reg_no, *pol_no; /* the answers of anything else */
	json_t *posts; /* bodies, as strings */
	int regs;
};

static int
fake_request(void *ctx, const char *method, const char *url, const char *body,
    size_t len, struct http_reply *r)
{
	struct fake *f = ctx;
	const char *answer = "";

	(void)method;
	memset(r, 0, sizeof(*r));
	if (strstr(url, "/register")) {
		r->status = f->reg;
		f->regs++;
		answer = r->status == 200 ? f->registered : f->reg_no;
	} else if (strstr(url, "/policy")) {
		r->status = f->pol;
		answer = r->status == 200 ? f->policy : f->pol_no;
	} else {
		r->status = strstr(url, "//mp/") ? f->mp : f->fsp;
		json_array_append_new(f->posts, json_stringn(body, len));
	}
	r->body = strdup(answer ? answer : "");
	r->len = strlen(r->body);
	return 0;
}

/* Whether the batch text is signed by st's key, as statesys checks. */
static int
verify_batch(const struct store *st, const char *body)
{
	json_t *doc = sjson_parse(body, strlen(body), NULL, 0);
	const char *sig = json_string_value(json_object_get(doc, "signature"));
	char *text = statemsg_signed_text(doc), err[256];
	int rc;

	assert_non_null(sig);
	rc = x509_verify(st->cert, text, strlen(text), sig, err, sizeof(err));
	free(text);
	json_decref(doc);
	return rc;
}

static void
test_batches_are_signed_at_the_mp_and_the_fsp(void **state)
{
	struct fake f = { .mp = 503, .fsp = 202, .posts = json_array() };
	struct http_ops ops = { fake_request, &f };
	struct msg_args a = {
		.topic_type = "500", .topic_id = "KB1", .state = "1"
	};
	struct store st;
	char why[256], *tampered, *at;
	json_t *m;
	long long serial;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	m = msg_build(&a, why, sizeof(why));
	assert_int_equal(store_raise(&st, m, &serial), 0);
	json_decref(m);
	/* the MP fails: the same signed body goes to the FSP */
	assert_int_equal(send_outbox(&st, &ops, "https://mp/mp/v1", &ops,
	                     "http://fsp/fsp/v1"),
	    0);
	assert_int_equal(json_array_size(f.posts), 2);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(
		    verify_batch(
		        &st, json_string_value(json_array_get(f.posts, i))),
		    1);
	assert_string_equal(json_string_value(json_array_get(f.posts, 0)),
	    json_string_value(json_array_get(f.posts, 1)));
	/* a message changed after signing no longer verifies */
	tampered = strdup(json_string_value(json_array_get(f.posts, 0)));
	at = strstr(tampered, "\"KB1\"");
	assert_non_null(at);
	at[3] = '2';
	assert_int_equal(verify_batch(&st, tampered), 0);
	free(tampered);
	json_decref(f.posts);
	store_close(&st);
}

/* The fullest batch send_pack makes, signed, stays within the limit. */
static void
test_signed_batch_within_the_body_limit(void **state)
{
	struct outbox_file files[2];
	char details[STATEMSG_MAX_DETAILS + 1], why[256],
	    sig[X509_SIGNATURE_LEN];
	struct msg_args a = { .topic_type = "401",
		.topic_id = "CI",
		.state = "1",
		.details = details };
	struct store st;
	size_t bytes = 0, count;
	json_t *doc;
	char *body;

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	memset(details, 'd', sizeof(details) - 1);
	details[sizeof(details) - 1] = '\0';
	/* a file just within the limit, then one that does not fit */
	files[0].msgs = json_array();
	files[0].bytes = 0;
	for (;;) {
		json_t *m = msg_build(&a, why, sizeof(why));
		size_t sz;

		json_object_set_new(
		    m, "serial", json_integer(9007199254740991));
		json_object_set_new(
		    m, "time", json_string("2026-11-22T10:00:00.000Z"));
		sz = msg_json_size(m) + 1;
		if (files[0].bytes + sz >
		    STATEMSG_MAX_BODY - AGENT_BATCH_ENVELOPE) {
			json_decref(m);
			break;
		}
		json_array_append_new(files[0].msgs, m);
		files[0].bytes += sz;
	}
	files[1].msgs = json_array();
	files[1].bytes = STATEMSG_MAX_BODY / 2;
	json_array_append_new(files[1].msgs, json_object());
	count = send_pack(files, 2);
	assert_int_equal(count, 1);
	doc = send_batch_doc(st.guid, st.key, files, count, why, sizeof(why));
	assert_non_null(doc);
	/* the longest signature there can be */
	memset(sig, 'A', sizeof(sig) - 1);
	sig[sizeof(sig) - 1] = '\0';
	sjson_set(doc, "signature", json_string(sig));
	body = json_dumps(doc, JSON_COMPACT);
	for (size_t i = 0; i < count; i++)
		bytes += files[i].bytes;
	assert_true(strlen(body) - bytes <= AGENT_BATCH_ENVELOPE);
	assert_true(strlen(body) <= STATEMSG_MAX_BODY);
	free(body);
	json_decref(doc);
	json_decref(files[0].msgs);
	json_decref(files[1].msgs);
	store_close(&st);
}

/* status.json's registration member: its state, and since when. */
static const char *
reg_state(struct store *st, char *since, size_t len)
{
	static char state_buf[64];
	json_t *s = store_status(st), *r = json_object_get(s, "registration");

	snprintf(state_buf, sizeof(state_buf), "%s",
	    json_is_object(r) ? json_string_value(json_object_get(r, "state"))
	                      : "none");
	if (since != NULL)
		snprintf(since, len, "%s",
		    json_string_value(json_object_get(r, "since")));
	json_decref(s);
	return state_buf;
}

/* Whether status.json's last_policy failed saying s. */
static bool
last_policy_error(struct store *st, const char *s)
{
	json_t *status = store_status(st);
	const char *e = json_string_value(
	    json_object_get(json_object_get(status, "last_policy"), "error"));
	bool yes = e != NULL && strstr(e, s) != NULL;

	json_decref(status);
	return yes;
}

#define REFUSAL(code, why) "{\"error\":\"" why "\",\"code\":\"" code "\"}"

static void
test_registration_states_logged_once_per_change(void **state)
{
	struct fake f = { .reg = 200, .pol = 403, .posts = json_array() };
	struct http_ops ops = { fake_request, &f };
	struct store st;
	struct policy p;
	char reg[256], pol[256], since[64], since2[64];
	const char *mp = "https://mp/mp/v1";

	(void)state;
	assert_int_equal(store_open(&st, dir), 0);
	snprintf(reg, sizeof(reg),
	    "{\"format\":\"sitesys.registered/1\",\"client\":\"%s\","
	    "\"approval\":\"pending\"}",
	    st.guid);
	snprintf(pol, sizeof(pol),
	    "{\"format\":\"sitesys.policy/1\",\"client\":\"%s\"}", st.guid);
	f.registered = reg;
	f.policy = pol;
	assert_string_equal(reg_state(&st, NULL, 0), "none");
	/* registered, awaiting approval */
	assert_int_equal(policy_register(&st, &ops, mp, "pc1"), 0);
	assert_string_equal(reg_state(&st, since, sizeof(since)), "pending");
	/* polls answered 403 pending: kept, logged once, nothing else */
	f.pol_no = REFUSAL("pending", "registered, awaiting approval");
	for (int i = 0; i < 3; i++)
		assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), -1);
	assert_string_equal(reg_state(&st, since2, sizeof(since2)), "pending");
	assert_string_equal(since, since2);
	assert_int_equal(logged("awaits the site's approval"), 1);
	assert_int_equal(logged("could not get the policy"), 0);
	assert_int_equal(f.regs, 1);
	/* unknown certificate: registers again, once; 409 stops there */
	f.pol_no =
	    REFUSAL("unregistered", "this certificate is bound to no client");
	f.reg = 409;
	f.reg_no = REFUSAL(
	    "identity-mismatch", "the GUID is bound to another certificate");
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), -1);
	assert_int_equal(f.regs, 2);
	assert_int_equal(logged("registering again"), 1);
	assert_string_equal(reg_state(&st, NULL, 0), "identity-mismatch");
	assert_true(last_policy_error(&st, "registering again failed"));
	assert_int_equal(policy_register(&st, &ops, mp, "pc1"), -1);
	assert_int_equal(policy_register(&st, &ops, mp, "pc1"), -1);
	assert_int_equal(logged("refuses"), 1);
	assert_int_equal(logged("(identity-mismatch): the GUID is bound to "
	                        "another certificate"),
	    1);
	assert_int_equal(logged("could not register"), 0);
	/* registered again, but still unknown: that is said */
	f.reg = 200;
	f.registered = reg;
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), -1);
	assert_string_equal(reg_state(&st, NULL, 0), "unregistered");
	assert_true(last_policy_error(&st, "even after registering"));
	/* blocked, then approved: each logged once */
	f.pol_no = REFUSAL("blocked", "the site has blocked this client");
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), -1);
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), -1);
	assert_string_equal(reg_state(&st, NULL, 0), "blocked");
	assert_int_equal(logged("(blocked)"), 1);
	f.pol = 200;
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), 0);
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), 0);
	assert_string_equal(reg_state(&st, NULL, 0), "approved");
	assert_int_equal(logged("the site has approved"), 1);
	/* an answer that is no refusal (a 500) changes no state */
	f.pol = 500;
	f.pol_no = REFUSAL("db", "database unavailable");
	assert_int_equal(policy_poll(&st, &ops, mp, "pc1", &p), -1);
	assert_string_equal(reg_state(&st, NULL, 0), "approved");
	assert_int_equal(logged("policy?client=GUID:"), 1);
	assert_int_equal(
	    logged("answered HTTP 500: database unavailable (db)"), 1);
	json_decref(f.posts);
	store_close(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_first_start_makes_it_later_ones_load_it, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_a_bad_key_stops_and_is_kept, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_certificate_refusals_and_remake, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_lost_guid_is_not_a_new_identity, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_batches_are_signed_at_the_mp_and_the_fsp, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_signed_batch_within_the_body_limit, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_registration_states_logged_once_per_change, setup_dir,
		    teardown_dir),
	};

	log_set_level(LOG_LVL_DEBUG);
	return cmocka_run_group_tests_name("agent identity", tests, NULL, NULL);
}
