/* entry.c - a batch of the plan, read once in a step */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsp.h"
#include "util/fsio.h"

int
fwd_entry_read(const struct fwd *fw, struct fwd_entry *e, time_t *mtime)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc, saved;

	e->data = NULL;
	e->doc = NULL;
	if (fsio_join(path, sizeof(path), fw->spool->incoming, e->name) == -1 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((rc = fstat(fd, &st)) == 0) {
		*mtime = st.st_mtime;
		rc = fsio_read_fd(fd, INBOX_MAX_FILE, &e->data, &e->len);
	}
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

void
fwd_entry_release(struct fwd_entry *e)
{
	free(e->data);
	json_decref(e->doc);
	e->data = NULL;
	e->doc = NULL;
}
