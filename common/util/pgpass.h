/*
 * pgpass.h - libpq's password file: lines "host:port:database:user:password"
 * in which "\:" and "\\" stand for ':' and '\'
 */
#ifndef SITESYS_PGPASS_H
#define SITESYS_PGPASS_H

#include <stddef.h>

struct buf;

/*
 * pgpass_find - the password of the first line of text (a whole password
 * file, NUL-terminated) whose user name field is user itself, not "*",
 * unescaped into out, which holds len bytes; 1 found, 0 not found, -1 found
 * but too long for out (out then empty). Comment lines ("#") are skipped.
 */
int pgpass_find(const char *text, const char *user, char *out, size_t len);

/*
 * pgpass_add - append to b the line that gives user password on any host,
 * port and database, "*:*:*:USER:PASSWORD\n", escaped
 */
void pgpass_add(struct buf *b, const char *user, const char *password);

#endif
