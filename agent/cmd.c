/* cmd.c - the commands state, send, policy and show */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/sjson.h"

enum {
	OPT_TYPE = 256,
	OPT_ID,
	OPT_ID_TYPE,
	OPT_STATE,
	OPT_CRIT,
	OPT_DETAILS,
	OPT_PARAM
};

static const struct option state_opts[] = {
	{ "topic-type", required_argument, NULL, OPT_TYPE },
	{ "topic-id", required_argument, NULL, OPT_ID },
	{ "id-type", required_argument, NULL, OPT_ID_TYPE },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "criticality", required_argument, NULL, OPT_CRIT },
	{ "details", required_argument, NULL, OPT_DETAILS },
	{ "param", required_argument, NULL, OPT_PARAM },
	{ NULL, 0, NULL, 0 },
};

/* Store one option of "state" in a; 0, or -1 after an error message. */
static int
state_option(struct msg_args *a, int ch, const char *arg)
{
	const char **slots[] = { &a->topic_type, &a->topic_id, &a->id_type,
		&a->state, &a->criticality, &a->details };

	if (ch == OPT_PARAM) {
		if (a->nparams < STATEMSG_MAX_PARAMS)
			a->params[a->nparams++] = arg;
		else
			a->too_many_params = true;
		return 0;
	}
	if (*slots[ch - OPT_TYPE] != NULL) {
		fprintf(stderr, "sitesys-agent: --%s is given twice\n",
		    state_opts[ch - OPT_TYPE].name);
		return -1;
	}
	*slots[ch - OPT_TYPE] = arg;
	return 0;
}

/* Parse the options of "state" into a; 0 or an exit status. */
static int
state_parse(struct msg_args *a, int argc, char **argv)
{
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "+", state_opts, NULL)) != -1) {
		if (ch < OPT_TYPE || ch > OPT_PARAM)
			return agent_usage(stderr, 2);
		if (state_option(a, ch, optarg) == -1)
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "sitesys-agent: unexpected argument \"%s\"\n",
		    argv[optind]);
		return 2;
	}
	return 0;
}

int
cmd_state(struct agent *ag, int argc, char **argv)
{
	struct msg_args a;
	char why[512];
	long long serial;
	json_t *msg;
	int rc;

	if ((rc = state_parse(&a, argc, argv)) != 0)
		return rc;
	if ((msg = msg_build(&a, why, sizeof(why))) == NULL) {
		fprintf(stderr, "sitesys-agent: %s\n", why);
		return 2;
	}
	if (agent_open(ag) == -1) {
		json_decref(msg);
		return 1;
	}
	rc = store_raise(&ag->st, msg, &serial);
	json_decref(msg);
	if (rc == -1)
		return 1;
	printf("%lld\n", serial);
	return 0;
}

/*
 * A command the running daemon can do for us: open the state and signal
 * the daemon, if one runs. -1 when this process must do the work itself,
 * else the command's exit status (0: the daemon was asked).
 */
static int
cmd_ask_daemon(struct agent *ag, int argc, int sig, const char *what)
{
	long pid;

	if (argc != 1)
		return agent_usage(stderr, 2);
	if (agent_open(ag) == -1)
		return 1;
	if ((pid = agent_daemon_pid(&ag->st)) <= 0)
		return -1;
	if (kill((pid_t)pid, sig) == -1) {
		log_error(
		    "could not signal the running agent (pid %ld): %m", pid);
		return 1;
	}
	printf("asked the running agent (pid %ld) to %s\n", pid, what);
	return 0;
}

/* One line of what the last send did, from status.json. */
static void
cmd_print_send(struct agent *ag)
{
	json_t *st = store_status(&ag->st);
	json_t *last = json_object_get(st, "last_send");

	printf("sent %lld, left %lld%s%s\n",
	    (long long)json_integer_value(json_object_get(last, "sent")),
	    (long long)json_integer_value(json_object_get(last, "left")),
	    json_object_get(last, "to") ? " via " : "",
	    json_object_get(last, "to")
	        ? json_string_value(json_object_get(last, "to"))
	        : "");
	json_decref(st);
}

int
cmd_send(struct agent *ag, int argc, char **argv)
{
	int rc;

	(void)argv;
	if ((rc = cmd_ask_daemon(ag, argc, SIGUSR1, "send")) != -1)
		return rc;
	rc = mp_route_send(ag);
	cmd_print_send(ag);
	return rc == 0 ? 0 : 1;
}

int
cmd_policy(struct agent *ag, int argc, char **argv)
{
	struct policy p;
	int rc;

	(void)argv;
	if ((rc = cmd_ask_daemon(ag, argc, SIGUSR2, "poll its policy")) != -1)
		return rc;
	rc = mp_route_poll(ag, &p);
	if (rc == -1)
		return 1;
	printf("policy: send every %d minutes, poll every %d minutes, %s%s\n",
	    p.send_minutes, p.poll_minutes,
	    p.resync[0] ? "resync requested at " : "no resync requested",
	    p.resync);
	if (rc == 1) {
		rc = mp_route_send(ag);
		cmd_print_send(ag);
		return rc == 0 ? 0 : 1;
	}
	return 0;
}

/* The management point in use: {"current", "errors", "list"} with
 * [agent] mp_url_template, else {"url"}. */
static json_t *
show_mp(struct agent *ag)
{
	struct fb_mp mp;
	struct fb_state fs;
	size_t errors;
	char why[512];
	json_t *list;

	if (!mp_route_show(ag, &mp, &errors))
		return json_pack(
		    "{s:s}", "url", conf_str(ag->cf, "agent", "mp_url"));
	if ((list = json_array()) == NULL)
		abort();
	if (fb_state_load(ag->st.dir, &fs, why, sizeof(why)) == 0)
		for (size_t i = 0; i < fs.nmps; i++)
			sjson_append(list,
			    json_pack("{s:s,s:i}", "name", fs.mps[i].name,
			        "locality", fs.mps[i].locality));
	return json_pack("{s:o,s:I,s:o}", "current",
	    mp.current[0] ? json_string(mp.current) : json_null(), "errors",
	    (json_int_t)errors, "list", list);
}

/* Everything show reports, as one JSON document. */
static json_t *
show_doc(struct agent *ag)
{
	struct outbox_file *files;
	size_t nfiles, nmsgs = 0;
	long long serial = 0;
	char answered[AGENT_TIME_LEN + 8] = "";
	long pid = agent_daemon_pid(&ag->st);
	json_t *doc, *status = store_status(&ag->st), *cache;

	store_serial(&ag->st, &serial);
	store_resync_answered(&ag->st, answered, sizeof(answered));
	if (store_outbox_list(&ag->st, &files, &nfiles) == -1)
		nfiles = 0;
	for (size_t i = 0; i < nfiles; i++)
		nmsgs += json_array_size(files[i].msgs);
	store_outbox_free(files, nfiles);
	if ((cache = store_cache(&ag->st)) == NULL)
		cache = json_array();
	doc = json_pack("{s:s,s:{s:s,s:s},s:s,s:s,s:I,s:{s:I,s:I},s:o,s:O?,"
	                "s:O?,s:O?,s:O?,s:o,s:{s:b,s:o}}",
	    "client", ag->st.guid, "identity", "fingerprint",
	    ag->st.fingerprint, "certificate", ag->st.cert_path, "name",
	    ag->name, "state_dir", ag->st.dir, "serial", (json_int_t)serial,
	    "outbox", "files", (json_int_t)nfiles, "messages",
	    (json_int_t)nmsgs, "cache", cache, "registration",
	    json_object_get(status, "registration"), "last_register",
	    json_object_get(status, "last_register"), "last_send",
	    json_object_get(status, "last_send"), "last_policy",
	    json_object_get(status, "last_policy"), "resync_answered",
	    answered[0] ? json_string(answered) : json_null(), "daemon",
	    "running", pid > 0, "pid",
	    pid > 0 ? json_integer(pid) : json_null());
	if (doc == NULL)
		abort();
	json_decref(status);
	sjson_set(doc, "mp", show_mp(ag));
	return doc;
}

/* "label time result[: error]extra" of a status.json entry, or never. */
static void
show_result(const char *label, const json_t *v, const char *extra)
{
	const char *err = json_string_value(json_object_get(v, "error"));

	if (!json_is_object(v)) {
		printf("%-13s never\n", label);
		return;
	}
	printf("%-13s %s %s%s%s%s\n", label,
	    json_string_value(json_object_get(v, "time")),
	    json_string_value(json_object_get(v, "result")), err ? ": " : "",
	    err ? err : "", extra);
}

/* The cache, one topic a line. */
static void
show_cache(const json_t *cache)
{
	size_t i;
	json_t *m;

	printf("%-13s %zu topics\n", "cache", json_array_size(cache));
	json_array_foreach(cache, i, m)
	{
		json_t *t = json_object_get(m, "topic");
		json_t *s = json_object_get(m, "state");

		printf("  topic %lld \"%s\": state %lld, criticality %lld, "
		       "serial %lld, %s\n",
		    (long long)json_integer_value(json_object_get(t, "type")),
		    json_string_value(json_object_get(t, "id")),
		    (long long)json_integer_value(json_object_get(s, "id")),
		    (long long)json_integer_value(
		        json_object_get(s, "criticality")),
		    (long long)json_integer_value(json_object_get(m, "serial")),
		    json_string_value(json_object_get(m, "time")));
	}
}

/* The management point line: the walker's current one and its errors,
 * or the fixed URL. */
static void
show_mp_line(const json_t *mp)
{
	const json_t *cur = json_object_get(mp, "current");

	if (json_object_get(mp, "url") != NULL)
		printf("%-13s %s (fixed [agent] mp_url)\n", "mp",
		    json_string_value(json_object_get(mp, "url")));
	else
		printf("%-13s %s, %lld errors in the last 10 minutes, %zu "
		       "known\n",
		    "mp", json_is_string(cur) ? json_string_value(cur) : "none",
		    (long long)json_integer_value(
		        json_object_get(mp, "errors")),
		    json_array_size(json_object_get(mp, "list")));
}

/* The registration line: its state since when, and the reason. */
static void
show_registration(const json_t *reg)
{
	const char *reason = json_string_value(json_object_get(reg, "reason"));

	if (!json_is_object(reg)) {
		printf("%-13s unknown\n", "registration");
		return;
	}
	printf("%-13s %s since %s%s%s\n", "registration",
	    json_string_value(json_object_get(reg, "state")),
	    json_string_value(json_object_get(reg, "since")),
	    reason && *reason ? ": " : "", reason ? reason : "");
}

/* The status lines: registration, send, policy, resync, daemon. */
static void
show_status(const json_t *d)
{
	const json_t *ls = json_object_get(d, "last_send");
	const json_t *lp =
	    json_object_get(json_object_get(d, "last_policy"), "policy");
	const char *rs = json_string_value(
	    json_object_get(json_object_get(lp, "resync"), "requested"));
	const json_t *dm = json_object_get(d, "daemon");
	char extra[128];

	show_mp_line(json_object_get(d, "mp"));
	show_registration(json_object_get(d, "registration"));
	show_result("last register", json_object_get(d, "last_register"), "");
	snprintf(extra, sizeof(extra), ", %lld sent, %lld left",
	    (long long)json_integer_value(json_object_get(ls, "sent")),
	    (long long)json_integer_value(json_object_get(ls, "left")));
	show_result("last send", ls, extra);
	snprintf(extra, sizeof(extra), "%s%.40s",
	    lp == NULL       ? ""
	        : rs == NULL ? ", no resync requested"
	                     : ", resync requested at ",
	    rs != NULL ? rs : "");
	show_result("last policy", json_object_get(d, "last_policy"), extra);
	rs = json_string_value(json_object_get(d, "resync_answered"));
	printf("%-13s %s\n", "resync", rs != NULL ? rs : "none answered");
	if (json_is_true(json_object_get(dm, "running")))
		printf("%-13s running, pid %lld\n", "daemon",
		    (long long)json_integer_value(json_object_get(dm, "pid")));
	else
		printf("%-13s not running\n", "daemon");
}

/* The document of show_doc as text. */
static void
show_text(const json_t *d)
{
	const json_t *ob = json_object_get(d, "outbox");

	printf("%-13s %s\n", "client",
	    json_string_value(json_object_get(d, "client")));
	printf("%-13s %s (SHA-256 of %s)\n", "fingerprint",
	    json_string_value(
	        json_object_get(json_object_get(d, "identity"), "fingerprint")),
	    json_string_value(json_object_get(
	        json_object_get(d, "identity"), "certificate")));
	printf("%-13s %s\n", "name",
	    json_string_value(json_object_get(d, "name")));
	printf("%-13s %s\n", "state dir",
	    json_string_value(json_object_get(d, "state_dir")));
	printf("%-13s %lld\n", "last serial",
	    (long long)json_integer_value(json_object_get(d, "serial")));
	printf("%-13s %lld messages in %lld files\n", "outbox",
	    (long long)json_integer_value(json_object_get(ob, "messages")),
	    (long long)json_integer_value(json_object_get(ob, "files")));
	show_cache(json_object_get(d, "cache"));
	show_status(d);
}

int
cmd_show(struct agent *ag, int argc, char **argv)
{
	bool as_json = argc == 2 && strcmp(argv[1], "--json") == 0;
	json_t *doc;

	if (argc > 2 || (argc == 2 && !as_json))
		return agent_usage(stderr, 2);
	if (agent_open(ag) == -1)
		return 1;
	doc = show_doc(ag);
	if (as_json)
		sjson_print(stdout, doc);
	else
		show_text(doc);
	json_decref(doc);
	return 0;
}
