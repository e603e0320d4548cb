/*
 * intake.h - a state message batch over HTTP into an inbox, shared by the
 * management point and the fallback status point
 */
#ifndef SITESYS_INTAKE_H
#define SITESYS_INTAKE_H

#include <stdbool.h>

struct fcgi_req;
struct group_commit;
struct inbox;

/*
 * intake_statemsg - read and check a sitesys.statemsg/1 body (400 or 413
 * with the reason; with sender, a client id, 403 for a batch of another
 * client), put it into ib by group commit and answer 202
 * {"format":"sitesys.ack/1","accepted":N,"file":NAME} only once it is
 * durable (503 if it could not be written); 0, or -1 if no answer could
 * be sent. Without sender, the batch came anonymously, as to a fallback
 * status point: every file is then a set marked "via": "fsp", a lone
 * batch a set of one, so that statesys checks its signature
 * (sitesys-statemsg(5)).
 */
int intake_statemsg(struct fcgi_req *req, struct group_commit *gc,
    struct inbox *ib, const char *sender);

/*
 * Where an anonymous batch came from, as the fallback status point counts
 * it: its batches go into files of their own, named with key, and admit
 * may refuse them before anything is written.
 */
struct intake_source {
	const char *key; /* group_commit_add_key's key */
	/*
	 * admit - reserve n messages of key: 0, or the seconds after which
	 * to try again (answered 429); done(arg, key, n, false) gives a
	 * reservation back when the batch could not be stored
	 */
	long (*admit)(void *arg, const char *key, long long n);
	void (*done)(void *arg, const char *key, long long n, bool stored);
	void *arg;
};

/*
 * intake_statemsg_from - intake_statemsg of an anonymous batch from src:
 * when src->admit refuses it, 429 {"error":..., "code":"throttled"} with
 * a Retry-After header and nothing written; 0, or -1 if no answer could
 * be sent
 */
int intake_statemsg_from(struct fcgi_req *req, struct group_commit *gc,
    struct inbox *ib, const struct intake_source *src);

#endif
