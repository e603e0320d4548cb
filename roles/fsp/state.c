/*
 * state.c - forward.state, what the forwarder must remember across a
 * crash: the throttle's interval (when it began, how much of it is used)
 * and the step under way, written whole by temp, fsync, rename, fsync
 *
 *   {"format": "sitesys.fsp-forward/1", "interval_start_ms": 1795...,
 *    "used": 5, "plan": [{"file": "NAME", "n": 12, "forward": 5}]}
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsp.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

static json_t *
state_doc(const struct fwd *fw)
{
	json_t *plan = json_array();

	for (size_t i = 0; i < fw->nplan; i++)
		sjson_append(plan,
		    json_pack("{s:s, s:I, s:I}", "file", fw->plan[i].name, "n",
		        (json_int_t)fw->plan[i].n, "forward",
		        (json_int_t)fw->plan[i].k));
	return json_pack("{s:s, s:I, s:I, s:o}", "format", FSP_STATE_FORMAT,
	    "interval_start_ms", (json_int_t)fw->th.start_ms, "used",
	    (json_int_t)fw->th.used, "plan", plan);
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
	CRASH_POINT("fwd.state");
	rc = 0;
out:
	free(text);
	return rc;
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
		long long n, k;

		if (sjson_str(e, "file", INBOX_NAME_MAX, true, &file, why,
		        len) == -1 ||
		    sjson_int(e, "n", 1, INBOX_MAX_FILE, true, &n, why, len) ==
		        -1 ||
		    sjson_int(e, "forward", 1, n, true, &k, why, len) == -1)
			return -1;
		if (!inbox_valid_name(file))
			return snprintf(why, len,
			           "plan[%zu]: \"%s\" is not "
			           "the name of an inbox file",
			           i, file),
			       -1;
		snprintf(
		    fw->plan[i].name, sizeof(fw->plan[i].name), "%s", file);
		fw->plan[i].n = (size_t)n;
		fw->plan[i].k = (size_t)k;
	}
	fw->nplan = json_array_size(plan);
	return 0;
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
	    sjson_format(doc, FSP_STATE_FORMAT, why, sizeof(why)) == 0 &&
	    sjson_int(doc, "interval_start_ms", 0, INT64_MAX, true, &start, why,
	        sizeof(why)) == 0 &&
	    sjson_int(doc, "used", 0, INT64_MAX, true, &used, why,
	        sizeof(why)) == 0 &&
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
