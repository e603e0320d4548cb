/* copy_bin.c - rows in PostgreSQL's binary COPY format (copy_bin.h) */
#include <endian.h>
#include <string.h>

#include "copy_bin.h"

#define TEXT_OID 25
/* 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix microseconds */
#define PG_EPOCH_US (INT64_C(946684800) * 1000000)

static void
put32(struct buf *b, int32_t v)
{
	uint32_t n = htobe32((uint32_t)v);

	buf_add(b, &n, sizeof(n));
}

static void
put64(struct buf *b, int64_t v)
{
	uint64_t n = htobe64((uint64_t)v);

	buf_add(b, &n, sizeof(n));
}

void
copy_bin_header(struct buf *b)
{
	buf_add(b, "PGCOPY\n\377\r\n\0", 11);
	put32(b, 0); /* flags: no OIDs */
	put32(b, 0); /* no header extension */
}

void
copy_bin_trailer(struct buf *b)
{
	uint16_t end = 0xffff;

	buf_add(b, &end, sizeof(end));
}

void
copy_bin_row(struct buf *b, int nfields)
{
	uint16_t n = htobe16((uint16_t)nfields);

	buf_add(b, &n, sizeof(n));
}

void
copy_bin_int4(struct buf *b, int32_t v)
{
	put32(b, 4);
	put32(b, v);
}

void
copy_bin_int8(struct buf *b, int64_t v)
{
	put32(b, 8);
	put64(b, v);
}

void
copy_bin_text(struct buf *b, const char *s)
{
	size_t len;

	if (s == NULL) {
		put32(b, -1);
		return;
	}
	len = strlen(s);
	put32(b, (int32_t)len);
	buf_add(b, s, len);
}

void
copy_bin_time(struct buf *b, int64_t us)
{
	copy_bin_int8(b, us - PG_EPOCH_US);
}

void
copy_bin_text_array(struct buf *b, const char *const *v, size_t n)
{
	size_t len = n > 0 ? 20 : 12;

	for (size_t i = 0; i < n; i++)
		len += 4 + strlen(v[i]);
	put32(b, (int32_t)len);
	put32(b, n > 0); /* dimensions */
	put32(b, 0); /* no NULL element */
	put32(b, TEXT_OID);
	if (n > 0) {
		put32(b, (int32_t)n);
		put32(b, 1); /* lower bound */
	}
	for (size_t i = 0; i < n; i++)
		copy_bin_text(b, v[i]);
}
