/* fsio.h - small, checked file-system helpers */
#ifndef SITESYS_FSIO_H
#define SITESYS_FSIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * fsio_join - "dir/name" into out, which holds len bytes; 0, or -1 with
 * errno ENAMETOOLONG (and out empty) when it would not fit
 */
int fsio_join(char *out, size_t len, const char *dir, const char *name);

/* fsio_join_alloc - "dir/name" in a new string (free it); NULL with errno */
char *fsio_join_alloc(const char *dir, const char *name);

/* fsio_write_all - write len bytes, retrying short writes; 0 or -1 */
int fsio_write_all(int fd, const void *buf, size_t len);

/*
 * fsio_write, fsio_fsync, fsio_fdatasync, fsio_syncfs, fsio_rename - the
 * system calls, except that one armed by fsio_fail_arm fails instead
 */
ssize_t fsio_write(int fd, const void *buf, size_t len);
int fsio_fsync(int fd);
int fsio_fdatasync(int fd);
int fsio_syncfs(int fd);
int fsio_rename(const char *from, const char *to);

/*
 * fsio_fail_arm - for tests: make the Nth call of one of the calls above
 * fail with an errno, spec "CALL:ERRNO" or "CALL:N:ERRNO" (write:2:ENOSPC,
 * fsync:1:EIO), replacing what SITESYS_FAIL_AT said; NULL or "" disarms;
 * -1 if spec is not of that form
 */
int fsio_fail_arm(const char *spec);

/* fsio_sync_dir - fsync(2) a directory so renames into it are durable */
int fsio_sync_dir(const char *path);

/*
 * fsio_replace - make path hold data, durably and atomically: write tmp
 * (same file system), fsync, rename over path, fsync path's directory; 0,
 * or -1 with errno and path unchanged
 */
int fsio_replace(const char *path, const char *tmp, const void *data,
    size_t len, mode_t mode);

/* fsio_mkdirs - mkdir -p with mode for what it creates; 0 or -1 */
int fsio_mkdirs(const char *path, mode_t mode);

/*
 * fsio_read_file - read at most max bytes of path into a NUL-terminated
 * buffer; -1 with errno (EFBIG when larger than max)
 */
int fsio_read_file(const char *path, size_t max, char **buf, size_t *len);

/* fsio_read_fd - the same, from an open descriptor */
int fsio_read_fd(int fd, size_t max, char **buf, size_t *len);

#endif
