/*
 * text.h - text from outside: made safe to show on a terminal, and checked
 * before it is kept as a name
 */
#ifndef SITESYS_TEXT_H
#define SITESYS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * text_escape - append s to b with everything a terminal could act on made
 * visible: each C0 control (0x00-0x1f), DEL (0x7f), C1 control (U+0080 to
 * U+009F, the bytes c2 80 to c2 9f) and each byte that is not part of
 * well-formed UTF-8 becomes "\xNN" (two lower-case hex digits), and a
 * backslash becomes "\\", so that the escaped form is never ambiguous;
 * printable ASCII and well-formed UTF-8 are copied as they are. Any input
 * is accepted; it never fails (b aborts if memory runs out).
 */
void text_escape(struct buf *b, const char *s);

/*
 * text_escape_line - as text_escape, but a backslash is copied as it is:
 * for a line of a log, which must never be broken nor act on a terminal,
 * while its messages keep their look
 */
void text_escape_line(struct buf *b, const char *s);

/* text_plain - whether s is printable ASCII only (nothing to escape) */
bool text_plain(const char *s);

/*
 * text_check - whether s may be kept as text: well-formed UTF-8 with no
 * control character (C0, DEL or C1); NULL when it may, else why not, a
 * constant phrase that follows what the text is ("... is not valid
 * UTF-8", "... may not hold control characters"); any input is accepted
 */
const char *text_check(const char *s);

/*
 * text_name_check - whether s may be kept as a name of at most max bytes:
 * not empty, as text_check says, not only blanks (spaces, no-break and
 * the other Unicode spaces) and 1 to max bytes long; NULL when it may,
 * else why not, as text_check says it or "may not be empty", "may not be
 * only blanks", "is too long"; any input is accepted
 */
const char *text_name_check(const char *s, size_t max);

/*
 * text_url_decode - s with its %XX escapes (and '+' for a space) decoded,
 * NUL-terminated into out, which holds len bytes; its length, or -1 if an
 * escape is bad or it does not fit. A decoded NUL is kept: a caller that
 * takes the result as a string checks strlen against the length.
 */
long text_url_decode(const char *s, char *out, size_t len);

#endif
