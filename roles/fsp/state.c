/*
 * state.c - forward.state, what the forwarder must remember across a
 * crash: the throttle's interval (when it began, how much of it is used),
 * how far it got into the files it forwarded in part, and the step under
 * way, written whole by temp, fsync, rename, fsync
 *
 *   {"format": "sitesys.fsp-forward/2", "interval_start_ms": 1795...,
 *    "used": 5,
 *    "progress": [{"file": "NAME", "batches": 3, "parts": 2}],
 *    "plan": [{"file": "NAME", "n": 12, "forward": 5, "from": 3,
 *              "parts": 2}]}
 *
 * A plan entry's "from" and "parts" are the file's progress before the
 * step; once the step is done, the file's progress is the batches that
 * held "forward" messages more, in one part more, and the state is written
 * again with that progress and no plan. A restart that finds a step done
 * but not recorded (a crash between) redoes it, which writes the same
 * names again and so ends at the same progress.
 * The format sitesys.fsp-forward/1 (no progress, no "from") is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsp.h"
#include "statemsg.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

static json_t *
state_doc(const struct fwd *fw)
{
	json_t *plan = json_array(), *prog = json_array();

	for (size_t i = 0; i < fw->nprog; i++)
		sjson_append(prog,
		    json_pack("{s:s, s:I, s:I}", "file", fw->prog[i].name,
		        "batches", (json_int_t)fw->prog[i].batches, "parts",
		        (json_int_t)fw->prog[i].parts));
	for (size_t i = 0; i < fw->nplan; i++)
		sjson_append(plan,
		    json_pack("{s:s, s:I, s:I, s:I, s:I}", "file",
		        fw->plan[i].name, "n", (json_int_t)fw->plan[i].n,
		        "forward", (json_int_t)fw->plan[i].k, "from",
		        (json_int_t)fw->plan[i].from, "parts",
		        (json_int_t)fw->plan[i].parts));
	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "format",
	    FSP_STATE_FORMAT, "interval_start_ms", (json_int_t)fw->th.start_ms,
	    "used", (json_int_t)fw->th.used, "progress", prog, "plan", plan);
}

struct fwd_progress *
fwd_progress_of(struct fwd *fw, const char *name)
{
	for (size_t i = 0; i < fw->nprog; i++)
		if (strcmp(fw->prog[i].name, name) == 0)
			return &fw->prog[i];
	return NULL;
}

int
fwd_progress_set(
    struct fwd *fw, const char *name, size_t batches, unsigned parts)
{
	struct fwd_progress *p = fwd_progress_of(fw, name), *np;

	if (p == NULL && batches == 0)
		return 0;
	if (batches == 0) {
		*p = fw->prog[--fw->nprog];
		return 0;
	}
	if (p == NULL) {
		if (fw->nprog == fw->capprog) {
			size_t cap = fw->capprog ? 2 * fw->capprog : 16;

			if ((np = realloc(fw->prog, cap * sizeof(*np))) ==
			    NULL) {
				log_error("out of memory recording how far "
				          "\"%s\" was forwarded",
				    name);
				return -1;
			}
			fw->prog = np;
			fw->capprog = cap;
		}
		p = &fw->prog[fw->nprog++];
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	p->batches = batches;
	p->parts = parts;
	return 0;
}

int
fwd_state_save(struct fwd *fw)
{
	json_t *doc = state_doc(fw);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	int rc = -1;

	json_decref(doc);
	if (text == NULL) {
		log_error("out of memory writing %s", fw->state_path);
		return -1;
	}
	if (fsio_replace(fw->state_path, fw->state_tmp, text, strlen(text),
	        0644) == -1) {
		log_error("could not replace \"%s\": %m", fw->state_path);
		goto out;
	}
	if (fw->nplan > 0)
		CRASH_POINT("fwd.state");
	else
		CRASH_POINT("fwd.progress");
	rc = 0;
out:
	free(text);
	return rc;
}

/* A file's name in the state: an inbox file's; NULL with why. */
static const char *
state_file(json_t *e, const char *what, size_t i, char *why, size_t len)
{
	const char *file;

	if (sjson_str(e, "file", INBOX_NAME_MAX, true, &file, why, len) == -1)
		return NULL;
	if (!inbox_valid_name(file)) {
		snprintf(why, len,
		    "%s[%zu]: \"%s\" is not the name of an "
		    "inbox file",
		    what, i, file);
		return NULL;
	}
	return file;
}

/* Fill the plan from the state's "plan" array; -1 with why. */
static int
state_plan(struct fwd *fw, json_t *plan, char *why, size_t len)
{
	json_t *e;
	size_t i;

	if (!json_is_array(plan) || json_array_size(plan) > FWD_MAX_FILES)
		return snprintf(why, len, "\"plan\" is not a short array"), -1;
	json_array_foreach(plan, i, e)
	{
		const char *file;
		long long n, k, from = 0, parts = 0;

		if ((file = state_file(e, "plan", i, why, len)) == NULL ||
		    sjson_int(e, "n", 1, INBOX_MAX_FILE, true, &n, why, len) ==
		        -1 ||
		    sjson_int(e, "forward", 1, n, true, &k, why, len) == -1 ||
		    sjson_int(e, "from", 0, STATEMSG_SET_MAX, false, &from, why,
		        len) == -1 ||
		    sjson_int(e, "parts", 0, STATEMSG_SET_MAX, false, &parts,
		        why, len) == -1)
			return -1;
		snprintf(
		    fw->plan[i].name, sizeof(fw->plan[i].name), "%s", file);
		fw->plan[i].n = (size_t)n;
		fw->plan[i].k = (size_t)k;
		fw->plan[i].from = (size_t)from;
		fw->plan[i].parts = (unsigned)parts;
	}
	fw->nplan = json_array_size(plan);
	return 0;
}

/* Fill the progress from the state's "progress" array; -1 with why. */
static int
state_progress(struct fwd *fw, json_t *prog, char *why, size_t len)
{
	json_t *e;
	size_t i;

	if (prog == NULL)
		return 0; /* sitesys.fsp-forward/1 */
	if (!json_is_array(prog))
		return snprintf(why, len, "\"progress\" is not an array"), -1;
	json_array_foreach(prog, i, e)
	{
		const char *file;
		long long batches, parts;

		if ((file = state_file(e, "progress", i, why, len)) == NULL ||
		    sjson_int(e, "batches", 1, STATEMSG_SET_MAX, true, &batches,
		        why, len) == -1 ||
		    sjson_int(e, "parts", 1, STATEMSG_SET_MAX, true, &parts,
		        why, len) == -1)
			return -1;
		if (fwd_progress_set(
		        fw, file, (size_t)batches, (unsigned)parts) == -1)
			return snprintf(why, len, "out of memory"), -1;
	}
	return 0;
}

/* The state's format, either version; -1 with why. */
static int
state_format(json_t *doc, char *why, size_t len)
{
	const char *f = json_string_value(json_object_get(doc, "format"));

	if (f != NULL && strcmp(f, FSP_STATE_FORMAT_1) == 0)
		return 0;
	return sjson_format(doc, FSP_STATE_FORMAT, why, len);
}

int
fwd_state_load(struct fwd *fw)
{
	char why[512], *text;
	long long start, used;
	json_t *doc = NULL;
	size_t len;
	int rc = -1;

	if (fsio_read_file(fw->state_path, 1 << 20, &text, &len) == -1) {
		if (errno == ENOENT)
			return 0;
		log_error("could not read \"%s\": %m", fw->state_path);
		return -1;
	}
	if ((doc = sjson_parse(text, len, why, sizeof(why))) != NULL &&
	    state_format(doc, why, sizeof(why)) == 0 &&
	    sjson_int(doc, "interval_start_ms", 0, INT64_MAX, true, &start, why,
	        sizeof(why)) == 0 &&
	    sjson_int(doc, "used", 0, INT64_MAX, true, &used, why,
	        sizeof(why)) == 0 &&
	    state_progress(
	        fw, json_object_get(doc, "progress"), why, sizeof(why)) == 0 &&
	    state_plan(fw, json_object_get(doc, "plan"), why, sizeof(why)) ==
	        0) {
		fw->th.start_ms = start;
		fw->th.used = used;
		rc = 0;
	} else {
		log_error("cannot use \"%s\": %s; move it away to start afresh "
		          "(the step it describes may then be forwarded again "
		          "under other names)",
		    fw->state_path, why);
	}
	json_decref(doc);
	free(text);
	return rc;
}
