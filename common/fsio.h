/* fsio.h - small, checked file-system helpers */
#ifndef SITESYS_FSIO_H
#define SITESYS_FSIO_H

#include <stddef.h>
#include <sys/types.h>

/* fsio_write_all - write len bytes, retrying short writes; 0 or -1 */
int fsio_write_all(int fd, const void *buf, size_t len);

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
