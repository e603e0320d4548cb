/*
 * cmd_status_sender.c - what sitesys-sender has still to deliver to the
 * site server, and how its last attempts went, as sitectl status shows it
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sitectl.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/sjson.h"

#define STATE_MAX (64 * 1024)

json_t *
ctl_sender(struct ctl *ctl, char *err, size_t errlen)
{
	const char *path = conf_str(ctl->cf, "sender", "state_file");
	char why[200];
	struct stat st;
	json_t *doc;
	size_t len;
	char *text;

	*err = '\0';
	if (*conf_str(ctl->cf, "sender", "url") == '\0')
		return NULL;
	if (stat(path, &st) == -1 ||
	    fsio_read_file(path, STATE_MAX, &text, &len) == -1) {
		snprintf(err, errlen,
		    "could not read the sender's state %s: %s (is "
		    "sitesys-sender running?)",
		    path, strerror(errno));
		return NULL;
	}
	doc = sjson_parse(text, len, why, sizeof(why));
	free(text);
	if (doc == NULL ||
	    sjson_format(doc, "sitesys.sender/1", why, sizeof(why)) == -1) {
		snprintf(err, errlen, "the sender's state %s: %s", path, why);
		json_decref(doc);
		return NULL;
	}
	sjson_set(doc, "age_seconds",
	    json_integer((json_int_t)(time(NULL) - st.st_mtime)));
	return doc;
}

/* One outbox: its backlog, what was sent, and the failure if any. */
static void
print_box(const json_t *b)
{
	long long files = json_integer_value(json_object_get(b, "files"));
	const char *error = json_string_value(json_object_get(b, "error"));
	const char *since =
	    json_string_value(json_object_get(b, "failing_since"));
	char age[32] = "-";

	if (files > 0)
		ctl_fmt_age(json_integer_value(
		                json_object_get(b, "oldest_age_seconds")),
		    age, sizeof(age));
	printf("%-16s %9lld %9s %8lld %8lld\n",
	    ctl_text(json_string_value(json_object_get(b, "name"))), files, age,
	    json_integer_value(json_object_get(b, "sent")),
	    json_integer_value(json_object_get(b, "rejected")));
	if (error != NULL)
		printf("  failing since %s: %s\n", ctl_text(since),
		    ctl_text(error));
}

void
ctl_print_sender(const json_t *doc)
{
	const json_t *boxes = json_object_get(doc, "boxes");
	char age[32];

	ctl_fmt_age(json_integer_value(json_object_get(doc, "age_seconds")),
	    age, sizeof(age));
	printf("sending to %s (state written %s ago)\n",
	    ctl_text(json_string_value(json_object_get(doc, "url"))), age);
	printf("%-16s %9s %9s %8s %8s\n", "OUTBOX", "BACKLOG", "OLDEST", "SENT",
	    "REFUSED");
	for (size_t i = 0; i < json_array_size(boxes); i++)
		print_box(json_array_get(boxes, i));
}
