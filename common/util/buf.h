/* buf.h - a growable byte buffer, always NUL-terminated */
#ifndef SITESYS_BUF_H
#define SITESYS_BUF_H

#include <stddef.h>

struct buf {
	char *p;
	size_t len, cap;
};

/* buf_add - append len bytes; aborts when memory runs out */
void buf_add(struct buf *b, const void *data, size_t len);

/* buf_adds - append a C string */
void buf_adds(struct buf *b, const char *s);

/* buf_addc - append one byte */
void buf_addc(struct buf *b, char c);

/* buf_addf - append printf-style */
__attribute__((format(printf, 2, 3))) void buf_addf(
    struct buf *b, const char *fmt, ...);

/* buf_addi - append a decimal integer, without printf's cost */
void buf_addi(struct buf *b, long long v);

/* buf_reset - empty the buffer, keeping its memory */
void buf_reset(struct buf *b);

/* buf_free - release the memory; the buffer may be reused after */
void buf_free(struct buf *b);

#endif
