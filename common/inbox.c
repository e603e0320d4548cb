/* inbox.c - inbox layout, the atomic writer, recovery, corrupt/, backlog */
#include <dirent.h>
#include <limits.h>
#include <pwd.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "inbox.h"
#include "util/clock.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/text.h"

/* Per process, so two handles on one box never make the same name. */
static unsigned name_seq;
static char name_host[64];
static pthread_once_t name_host_once = PTHREAD_ONCE_INIT;

bool
inbox_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > INBOX_NAME_MAX || name[0] == '.')
		return false;
	for (const char *s = name; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		        (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		        *s == '-'))
			return false;
	return true;
}

int
inbox_open(struct inbox *ib, const char *root, const char *name, bool create)
{
	memset(ib, 0, sizeof(*ib));
	if (!inbox_valid_name(name)) {
		errno = EINVAL;
		return -1;
	}
	ib->name = strdup(name);
	ib->path = fsio_join_alloc(root, name);
	if (ib->name == NULL || ib->path == NULL)
		goto fail;
	ib->tmp = fsio_join_alloc(ib->path, "tmp");
	ib->incoming = fsio_join_alloc(ib->path, "incoming");
	ib->corrupt = fsio_join_alloc(ib->path, "corrupt");
	if (ib->tmp == NULL || ib->incoming == NULL || ib->corrupt == NULL)
		goto fail;
	if (create &&
	    (fsio_mkdirs(ib->tmp, 0755) == -1 ||
	        fsio_mkdirs(ib->incoming, 0755) == -1 ||
	        fsio_mkdirs(ib->corrupt, 0755) == -1))
		goto fail;
	if (!create && access(ib->incoming, F_OK) == -1)
		goto fail;
	return 0;
fail:;
	int saved = errno;
	inbox_close(ib);
	errno = saved;
	return -1;
}

int
inbox_chown(const struct inbox *ib, uid_t uid, gid_t gid)
{
	const char *dirs[] = { ib->path, ib->tmp, ib->incoming, ib->corrupt };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (chown(dirs[i], uid, gid) == -1)
			return -1;
	return 0;
}

int
inbox_open_owned(
    struct inbox *ib, const char *root, const char *name, const char *user)
{
	struct passwd *pw = NULL;

	if (geteuid() == 0 && (pw = getpwnam(user)) == NULL) {
		log_error("cannot run as user \"%s\": no such user", user);
		return -1;
	}
	if (inbox_open(ib, root, name, true) == -1) {
		log_error("could not open or create \"%s/%s\": %m", root, name);
		return -1;
	}
	/* made by root here, written by the daemon as user */
	if (pw != NULL && inbox_chown(ib, pw->pw_uid, pw->pw_gid) == -1) {
		log_error(
		    "could not hand \"%s\" to user %s: %m", ib->path, user);
		inbox_close(ib);
		return -1;
	}
	return 0;
}

void
inbox_close(struct inbox *ib)
{
	free(ib->name);
	free(ib->path);
	free(ib->tmp);
	free(ib->incoming);
	free(ib->corrupt);
	memset(ib, 0, sizeof(*ib));
}

static void
name_host_init(void)
{
	if (gethostname(name_host, sizeof(name_host) - 1) == -1)
		snprintf(name_host, sizeof(name_host), "localhost");
	name_host[strcspn(name_host, ".")] = '\0';
	if (!inbox_valid_name(name_host))
		snprintf(name_host, sizeof(name_host), "host");
}

/* Safe to call from several threads at once (the FastCGI roles do). */
void
inbox_new_name(const char *ext, char *out, size_t len)
{
	struct timeval tv;
	unsigned seq = __atomic_fetch_add(&name_seq, 1, __ATOMIC_RELAXED);

	pthread_once(&name_host_once, name_host_init);
	gettimeofday(&tv, NULL);
	snprintf(out, len, "%lld%06ld.%s.%ld.%u.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, name_host, (long)getpid(), seq, ext);
}

/* Write data to an exclusive new file at path and fsync it; 0 or -1. */
static int
write_synced(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int saved;

	if (fd == -1)
		return -1;
	CRASH_POINT("put.created");
	if (fsio_write_all(fd, data, len) == -1)
		goto fail;
	CRASH_POINT("put.written");
	if (fsio_fsync(fd) == -1)
		goto fail;
	CRASH_POINT("put.synced");
	return close(fd);
fail:
	saved = errno;
	close(fd);
	unlink(path);
	errno = saved;
	return -1;
}

int
inbox_put(struct inbox *ib, const char *name, const void *data, size_t len)
{
	char *tmp = fsio_join_alloc(ib->tmp, name);
	char *dst = fsio_join_alloc(ib->incoming, name);
	int rc = -1, saved;

	if (tmp == NULL || dst == NULL)
		goto out;
	if (write_synced(tmp, data, len) == -1)
		goto out;
	CRASH_POINT("put.closed");
	if (fsio_rename(tmp, dst) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto out;
	}
	CRASH_POINT("put.renamed");
	ib->dirty = true;
	rc = 0;
out:
	saved = errno;
	free(tmp);
	free(dst);
	errno = saved;
	return rc;
}

int
inbox_sync(struct inbox *ib)
{
	if (!ib->dirty)
		return 0;
	if (fsio_sync_dir(ib->incoming) == -1)
		return -1;
	ib->dirty = false;
	CRASH_POINT("sync.done");
	return 0;
}

int
inbox_recover(struct inbox *ib, int stale_seconds)
{
	DIR *d = opendir(ib->tmp);
	time_t now = time(NULL);
	struct dirent *de;
	struct stat st;
	int purged = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        -1 ||
		    !S_ISREG(st.st_mode) || now - st.st_mtime < stale_seconds)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
			log_error("could not purge \"%s/%s\": %m", ib->tmp,
			    de->d_name);
			continue;
		}
		log_info(
		    "purged unfinished file \"%s/%s\"", ib->tmp, de->d_name);
		purged++;
	}
	closedir(d);
	return purged;
}

/*
 * The name of name's .why: name.why, or for a name too long for that, its
 * first NAME_MAX - 4 bytes and .why, so that the .why is never the name.
 */
static void
why_name(const char *name, char *out, size_t len)
{
	int keep = NAME_MAX - 4;

	snprintf(out, len, "%.*s.why", keep, name);
}

/* Write corrupt/name.why by the protocol (tmp, fsync, rename). */
static int
write_why(struct inbox *ib, const char *name, const char *why)
{
	char whyname[NAME_MAX + 1], text[2048], when[CLOCK_RFC3339_LEN];
	struct buf ename = { 0 }, ewhy = { 0 };
	char *tmp, *dst;
	int rc = -1;

	clock_rfc3339(when, sizeof(when), clock_now_us(), 0);
	why_name(name, whyname, sizeof(whyname));
	/* one line each, whatever the name and the reason quote */
	text_escape_line(&ename, name);
	text_escape_line(&ewhy, why);
	snprintf(text, sizeof(text),
	    "file: %s\nreason: %s\ntime: %s\nby: %s[%ld]\n", ename.p, ewhy.p,
	    when, log_progname(), (long)getpid());
	buf_free(&ename);
	buf_free(&ewhy);
	tmp = fsio_join_alloc(ib->tmp, whyname);
	dst = fsio_join_alloc(ib->corrupt, whyname);
	if (tmp != NULL && dst != NULL) {
		unlink(tmp);
		if (write_synced(tmp, text, strlen(text)) == 0)
			rc = fsio_rename(tmp, dst);
	}
	free(tmp);
	free(dst);
	return rc;
}

/* Remove the .why written for a move that then failed; errno kept. */
static void
unwrite_why(struct inbox *ib, const char *name)
{
	char whyname[NAME_MAX + 1], path[PATH_MAX];
	int saved = errno;

	why_name(name, whyname, sizeof(whyname));
	if (fsio_join(path, sizeof(path), ib->corrupt, whyname) == 0)
		unlink(path);
	errno = saved;
}

int
inbox_try_reject(struct inbox *ib, const char *name, const char *why, char *err,
    size_t errlen)
{
	char src[PATH_MAX], dst[PATH_MAX];

	if (fsio_join(src, sizeof(src), ib->incoming, name) == -1 ||
	    fsio_join(dst, sizeof(dst), ib->corrupt, name) == -1) {
		snprintf(err, errlen, "could not name \"%s/incoming/%s\": %s",
		    ib->name, name, strerror(errno));
		return -1;
	}
	if (write_why(ib, name, why) == -1) {
		snprintf(err, errlen, "could not write \"%s/%s.why\": %s",
		    ib->corrupt, name, strerror(errno));
		return -1;
	}
	CRASH_POINT("reject.why");
	if (fsio_rename(src, dst) == -1) {
		snprintf(err, errlen,
		    "could not move \"%s/incoming/%s\" to corrupt/: %s",
		    ib->name, name, strerror(errno));
		unwrite_why(ib, name);
		return -1;
	}
	fsio_sync_dir(ib->corrupt);
	log_error(
	    "%s/%s is corrupt, moved to corrupt/: %s", ib->name, name, why);
	return 0;
}

int
inbox_reject(struct inbox *ib, const char *name, const char *why)
{
	char err[PATH_MAX + 256];

	if (inbox_try_reject(ib, name, why, err, sizeof(err)) == 0)
		return 0;
	log_error("%s", err);
	return -1;
}

/* Why an entry of type mode is refused, or NULL for a regular file. */
static const char *
type_refusal(mode_t mode)
{
	if (S_ISREG(mode))
		return NULL;
	if (S_ISFIFO(mode))
		return "not a regular file but a FIFO";
	if (S_ISLNK(mode))
		return "not a regular file but a symbolic link";
	if (S_ISDIR(mode))
		return "not a regular file but a directory";
	if (S_ISSOCK(mode))
		return "not a regular file but a socket";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "not a regular file but a device";
	return "not a regular file";
}

const char *
inbox_entry_refusal(const char *name, mode_t mode)
{
	if (strlen(name) > INBOX_NAME_MAX)
		return "name longer than the limit of 200 bytes";
	if (!inbox_valid_name(name))
		return "a name outside the protocol (1 to 200 of A-Z, a-z, "
		       "0-9, '.', '_' and '-', not starting with '.')";
	return type_refusal(mode);
}

bool
inbox_transient(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM ||
	    err == EINTR || err == EAGAIN;
}

int
inbox_entry_read(int dfd, const char *name, char **data, size_t *len,
    struct stat *st, char *why, size_t whylen)
{
	int fd =
	    openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	const char *refusal;
	int saved;

	*data = NULL;
	*len = 0;
	if (fd == -1) {
		saved = errno;
		if (saved == ELOOP)
			snprintf(why, whylen, "%s", type_refusal(S_IFLNK));
		else
			snprintf(
			    why, whylen, "could not open: %s", strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, st) == -1) {
		saved = errno;
		snprintf(why, whylen, "could not stat: %s", strerror(saved));
		goto fail;
	}
	if ((refusal = type_refusal(st->st_mode)) != NULL) {
		snprintf(why, whylen, "%s", refusal);
		saved = EINVAL;
		goto fail;
	}
	if (fsio_read_fd(fd, INBOX_MAX_FILE, data, len) == -1) {
		saved = errno;
		if (saved == EFBIG)
			snprintf(why, whylen,
			    "larger than the limit of %u bytes",
			    INBOX_MAX_FILE);
		else
			snprintf(
			    why, whylen, "could not read: %s", strerror(saved));
		goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	errno = saved;
	return -1;
}

/* Seconds since the µs time at the head of a protocol name, or -1. */
static double
name_age(const char *name, double now)
{
	char *end;
	long long us = strtoll(name, &end, 10);

	if (end == name || *end != '.' || end - name < 15)
		return -1;
	return now - (double)us / 1e6;
}

mode_t
inbox_entry_type(DIR *d, const struct dirent *de)
{
	struct stat st;

	switch (de->d_type) {
	case DT_REG:
		return S_IFREG;
	case DT_DIR:
		return S_IFDIR;
	case DT_LNK:
		return S_IFLNK;
	case DT_FIFO:
		return S_IFIFO;
	case DT_SOCK:
		return S_IFSOCK;
	case DT_CHR:
		return S_IFCHR;
	case DT_BLK:
		return S_IFBLK;
	}
	if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	return st.st_mode & S_IFMT;
}

/*
 * The files in path/sub, but those ending in skip_suffix; the age of the
 * oldest into *oldest unless oldest is NULL; the entries a reader refuses
 * into *refused, and not counted as files, unless refused is NULL; -1
 * with errno
 */
static long
count_dir(const char *path, const char *sub, const char *skip_suffix,
    double now, double *oldest, long *refused)
{
	size_t slen = skip_suffix ? strlen(skip_suffix) : 0;
	char dir[4096];
	struct dirent *de;
	long n = 0;
	DIR *d;

	if (fsio_join(dir, sizeof(dir), path, sub) == -1 ||
	    (d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct stat st;
		mode_t type;
		double age;

		if (de->d_name[0] == '.' ||
		    (slen && len > slen &&
		        strcmp(de->d_name + len - slen, skip_suffix) == 0))
			continue;
		if (refused != NULL && (type = inbox_entry_type(d, de)) == 0)
			continue; /* gone */
		if (refused != NULL &&
		    inbox_entry_refusal(de->d_name, type) != NULL) {
			(*refused)++;
			continue;
		}
		n++;
		if (oldest == NULL)
			continue;
		age = name_age(de->d_name, now);
		if (age < 0 &&
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		        0)
			age = now - (double)st.st_mtime;
		if (age > *oldest)
			*oldest = age;
	}
	closedir(d);
	return n;
}

int
inbox_backlog(const char *path, struct inbox_backlog *bl)
{
	struct timeval tv;
	double now;

	gettimeofday(&tv, NULL);
	now = (double)tv.tv_sec + tv.tv_usec / 1e6;
	memset(bl, 0, sizeof(*bl));
	bl->files = count_dir(
	    path, "incoming", NULL, now, &bl->oldest_age, &bl->skipped);
	if (bl->files == -1)
		return -1;
	bl->corrupt = count_dir(path, "corrupt", ".why", now, NULL, NULL);
	bl->tmp = count_dir(path, "tmp", NULL, now, NULL, NULL);
	if (bl->corrupt < 0)
		bl->corrupt = 0;
	if (bl->tmp < 0)
		bl->tmp = 0;
	return 0;
}
