/*
 * copy_bin.h - rows in PostgreSQL's binary COPY format ("COPY ... FROM
 * STDIN (FORMAT binary)"), built in a buf: the server takes each value as
 * it is stored, parsing no text. The header goes before the first row,
 * the trailer after the last; each row is its field count, then exactly
 * that many fields of the columns' types, in the COPY's column order.
 */
#ifndef SITESYS_COPY_BIN_H
#define SITESYS_COPY_BIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* copy_bin_header - the signature, flags and extension area */
void copy_bin_header(struct buf *b);

/* copy_bin_trailer - the end of the data */
void copy_bin_trailer(struct buf *b);

/* copy_bin_row - start a row of nfields fields */
void copy_bin_row(struct buf *b, int nfields);

/* copy_bin_int4 - an integer field */
void copy_bin_int4(struct buf *b, int32_t v);

/* copy_bin_int8 - a bigint field */
void copy_bin_int8(struct buf *b, int64_t v);

/* copy_bin_text - a text field, NULL for SQL NULL (UTF-8, checked by the
 * server) */
void copy_bin_text(struct buf *b, const char *s);

/* copy_bin_time - a timestamptz field: us microseconds since the epoch */
void copy_bin_time(struct buf *b, int64_t us);

/* copy_bin_text_array - a text[] field of the n strings of v, none NULL */
void copy_bin_text_array(struct buf *b, const char *const *v, size_t n);

#endif
