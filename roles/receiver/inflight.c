/*
 * inflight.c - the names being written now: two PUTs of one name (a
 * sender that tried again while its first attempt was still being
 * written) never write at once, and a tmp/ file under a name no request
 * is writing is known to be left over from a receiver that died
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "receiver.h"

int
inflight_take(struct inflight *f, const char *name)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n && rc == 0; i++)
		if (strcmp(f->names[i], name) == 0)
			rc = -1, errno = EBUSY;
	if (rc == 0 && f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		char **names = realloc(f->names, cap * sizeof(*names));

		if (names == NULL)
			rc = -1;
		else
			f->names = names, f->cap = cap;
	}
	if (rc == 0 && (f->names[f->n] = strdup(name)) == NULL)
		rc = -1;
	if (rc == 0)
		f->n++;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void
inflight_give(struct inflight *f, const char *name)
{
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0) {
			free(f->names[i]);
			f->names[i] = f->names[--f->n];
			break;
		}
	pthread_mutex_unlock(&f->lock);
}
