/* cmd_inbox.c - sitectl inbox init|list|put: inboxes by the protocol */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inbox.h"
#include "sitectl.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/sjson.h"

/* The inboxes of a site server, made by "sitectl inbox init". */
static const char *const site_boxes[] = { "statsys.box", "bgb.box", "fsp.box",
	NULL };

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fill names with the inboxes (directories with incoming/) under root. */
static int
list_boxes(const char *root, char ***names, size_t *n)
{
	DIR *d = opendir(root);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char box[4096], sub[4096];

		/* a path too long to join is no inbox that could be read */
		if (de->d_name[0] == '.' ||
		    fsio_join(box, sizeof(box), root, de->d_name) == -1 ||
		    fsio_join(sub, sizeof(sub), box, "incoming") == -1 ||
		    access(sub, F_OK) == -1)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*names = realloc(*names, cap * sizeof(**names));
			if (*names == NULL)
				abort();
		}
		if (((*names)[(*n)++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), cmp_str);
	return 0;
}

json_t *
ctl_inboxes(struct ctl *ctl, char *err, size_t errlen)
{
	const char *root = conf_str(ctl->cf, "site", "inbox_dir");
	json_t *list;
	char **names;
	size_t n;

	if (list_boxes(root, &names, &n) == -1) {
		snprintf(err, errlen, "could not read inbox directory %s: %s",
		    root, strerror(errno));
		return NULL;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct inbox_backlog bl;
		char path[4096];
		json_t *o;

		if (fsio_join(path, sizeof(path), root, names[i]) == 0 &&
		    inbox_backlog(path, &bl) == 0) {
			o = json_object();
			sjson_set(o, "name", json_string(names[i]));
			sjson_set(o, "files", json_integer(bl.files));
			sjson_set(o, "oldest_age_seconds",
			    json_integer((json_int_t)bl.oldest_age));
			sjson_set(o, "corrupt", json_integer(bl.corrupt));
			sjson_set(o, "tmp", json_integer(bl.tmp));
			sjson_set(o, "skipped", json_integer(bl.skipped));
			sjson_append(list, o);
		}
		free(names[i]);
	}
	free(names);
	return list;
}

void
ctl_fmt_age(long long s, char *out, size_t len)
{
	if (s < 60)
		snprintf(out, len, "%llds", s);
	else if (s < 3600)
		snprintf(out, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(out, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

void
ctl_print_inboxes(const json_t *list)
{
	printf("%-16s %9s %9s %8s %5s %7s\n", "INBOX", "BACKLOG", "OLDEST",
	    "CORRUPT", "TMP", "SKIPPED");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_array_get(list, i);
		long long files =
		    json_integer_value(json_object_get(o, "files"));
		char age[32] = "-";

		if (files > 0)
			ctl_fmt_age(json_integer_value(json_object_get(
			                o, "oldest_age_seconds")),
			    age, sizeof(age));
		printf("%-16s %9lld %9s %8lld %5lld %7lld\n",
		    ctl_text(json_string_value(json_object_get(o, "name"))),
		    files, age,
		    json_integer_value(json_object_get(o, "corrupt")),
		    json_integer_value(json_object_get(o, "tmp")),
		    json_integer_value(json_object_get(o, "skipped")));
	}
	if (json_array_size(list) == 0)
		printf("(no inboxes: run \"sitectl inbox init\")\n");
}

static int
inbox_init(struct ctl *ctl)
{
	const char *root = conf_str(ctl->cf, "site", "inbox_dir");
	const char *user = conf_str(ctl->cf, "site", "user");
	struct passwd *pw = geteuid() == 0 ? getpwnam(user) : NULL;

	if (geteuid() == 0 && pw == NULL)
		ctl_err("warning: no user \"%s\": inboxes "
		        "stay owned by root",
		    user);
	for (int i = 0; site_boxes[i] != NULL; i++) {
		struct inbox ib;

		if (inbox_open(&ib, root, site_boxes[i], true) == -1) {
			ctl_err("could not create \"%s/%s\": %s", root,
			    site_boxes[i], strerror(errno));
			return EXIT_FAIL;
		}
		if (pw != NULL &&
		    inbox_chown(&ib, pw->pw_uid, pw->pw_gid) == -1)
			ctl_err("could not hand \"%s\" to \"%s\": %s", ib.path,
			    user, strerror(errno));
		printf("inbox %s ready\n", ib.path);
		inbox_close(&ib);
	}
	return EXIT_OK;
}

static int
inbox_list(struct ctl *ctl)
{
	char err[4200];
	json_t *list = ctl_inboxes(ctl, err, sizeof(err));

	if (list == NULL) {
		ctl_err("%s", err);
		return EXIT_FAIL;
	}
	if (ctl->json)
		ctl_json(list);
	else
		ctl_print_inboxes(list);
	json_decref(list);
	return EXIT_OK;
}

/* The extension for a file put by hand: the source's own, if it is sane. */
static const char *
put_ext(const char *file)
{
	const char *base = strrchr(file, '/');
	const char *dot = strrchr(base ? base + 1 : file, '.');

	if (dot == NULL || dot[1] == '\0' || strlen(dot + 1) > 8 ||
	    !inbox_valid_name(dot + 1))
		return "json";
	return dot + 1;
}

static int
inbox_put_file(struct ctl *ctl, const char *box, const char *file)
{
	const char *root = conf_str(ctl->cf, "site", "inbox_dir");
	char boxname[256], name[INBOX_NAME_MAX + 1], err[512];
	struct inbox ib;
	json_t *doc;
	size_t len;
	char *data;
	int rc = EXIT_FAIL;

	size_t blen = strlen(box);

	snprintf(boxname, sizeof(boxname), "%s%s", box,
	    blen > 4 && strcmp(box + blen - 4, ".box") == 0 ? "" : ".box");
	if (!inbox_valid_name(boxname) ||
	    inbox_open(&ib, root, boxname, false) == -1) {
		ctl_err("no inbox \"%s\" in %s (see \"sitectl "
		        "inbox list\")",
		    boxname, root);
		return EXIT_FAIL;
	}
	if (fsio_read_file(file, INBOX_MAX_FILE, &data, &len) == -1) {
		ctl_err("could not read \"%s\": %s", file,
		    errno == EFBIG ? "larger than the inbox limit of 64 MiB"
		                   : strerror(errno));
		goto out;
	}
	if ((doc = sjson_parse(data, len, err, sizeof(err))) == NULL ||
	    sjson_str(doc, "format", 64, true, &(const char *){ NULL }, err,
	        sizeof(err)) == -1) {
		ctl_err("%s is not an inbox document: %s", file, err);
		json_decref(doc);
		free(data);
		goto out;
	}
	json_decref(doc);
	/* statsys.box's readers and its receiver take .smx alone */
	inbox_new_name(
	    strcmp(boxname, "statsys.box") == 0 ? "smx" : put_ext(file), name,
	    sizeof(name));
	if (inbox_put(&ib, name, data, len) == -1)
		ctl_err("could not write %s/tmp/%s: %s", ib.path, name,
		    strerror(errno));
	else if (inbox_sync(&ib) == -1)
		ctl_err("%s/incoming/%s is queued but may not "
		        "survive a crash: could not sync \"%s\": %s",
		    boxname, name, ib.incoming, strerror(errno));
	else {
		printf("%s/incoming/%s\n", boxname, name);
		rc = EXIT_OK;
	}
	free(data);
out:
	inbox_close(&ib);
	return rc;
}

int
cmd_inbox(struct ctl *ctl, int argc, char **argv)
{
	const char *pos[2], *vals[1];
	int npos;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 2, &npos) == -1)
		return ctl_usage("inbox");
	if (strcmp(argv[1], "init") == 0 && npos == 0)
		return inbox_init(ctl);
	if (strcmp(argv[1], "list") == 0 && npos == 0)
		return inbox_list(ctl);
	if (strcmp(argv[1], "put") == 0 && npos == 2)
		return inbox_put_file(ctl, pos[0], pos[1]);
	return ctl_usage("inbox");
}
