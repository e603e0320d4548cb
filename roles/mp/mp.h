/* mp.h - sitesys-mp: the management point's FastCGI handlers */
#ifndef MP_H
#define MP_H

#include <libpq-fe.h>

struct conf;
struct fcgi_req;

/* The MP's shared state, read-only once the threads run. */
struct mp {
	const struct conf *cf;
	struct group_commit *gc; /* into statsys.box */
	struct inbox *statsys;
};

/* mp_db - this thread's database connection, (re)connected; or NULL */
PGconn *mp_db(const struct mp *mp);

/* mp_db_failed - drop this thread's connection after an error */
void mp_db_failed(void);

/* POST /mp/v1/statemsg: a batch into statsys.box, 202 once durable */
int mp_statemsg(struct fcgi_req *req, struct mp *mp);

/* POST /mp/v1/register: record a client */
int mp_register(struct fcgi_req *req, struct mp *mp);

/* GET /mp/v1/policy?client=GUID: the client's policy */
int mp_policy(struct fcgi_req *req, struct mp *mp);

#endif
