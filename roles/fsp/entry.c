/* entry.c - a batch file of the plan, read and parsed once in a step */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsp.h"
#include "split.h"
#include "statemsg.h"
#include "util/fsio.h"
#include "util/sjson.h"

int
fwd_entry_read(const struct fwd *fw, struct fwd_entry *e, time_t *mtime,
    char *why, size_t len)
{
	char path[PATH_MAX];
	struct stat st;

	e->data = NULL;
	e->doc = NULL;
	if (fsio_join(path, sizeof(path), fw->spool->incoming, e->name) == -1) {
		snprintf(why, len, "could not name it: %s", strerror(errno));
		return -1;
	}
	if (inbox_entry_read(
	        AT_FDCWD, path, &e->data, &e->len, &st, why, len) == -1)
		return -1;
	*mtime = st.st_mtime;
	return 0;
}

int
fwd_entry_parse(struct fwd_entry *e, char *why, size_t len)
{
	struct statemsg_batch *b;
	size_t nb;

	if ((e->doc = sjson_parse(e->data, e->len, why, len)) == NULL)
		return -1;
	/* checked whole; its client ids now in the one spelling */
	if (statemsg_parse_file(e->doc, &b, &nb, why, len) == -1)
		return -1;
	statemsg_free_all(b, nb);
	return 0;
}

size_t
fwd_entry_cut(const struct fwd_entry *e)
{
	size_t k, cut = split_take_from(e->doc, e->from, e->k, false, &k);

	return k == e->k ? cut : 0;
}

void
fwd_entry_release(struct fwd_entry *e)
{
	free(e->data);
	json_decref(e->doc);
	e->data = NULL;
	e->doc = NULL;
}
