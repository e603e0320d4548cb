/* mp.h - sitesys-mp: the management point's FastCGI handlers */
#ifndef MP_H
#define MP_H

#include <libpq-fe.h>

struct conf;
struct fcgi_req;
struct loc_model;
struct mp_models;
struct mp_model_ref;

/* The MP's shared state, read-only once the threads run. */
struct mp {
	const struct conf *cf;
	struct group_commit *gc; /* into statsys.box */
	struct inbox *statsys;
	struct mp_models *models; /* the boundary model, kept current */
};

/* mp_db - this thread's database connection, (re)connected; or NULL */
PGconn *mp_db(const struct mp *mp);

/* mp_db_failed - drop this thread's connection after an error */
void mp_db_failed(void);

/* The routes, each called with the struct mp as arg. */

/* POST /mp/v1/statemsg: a batch into statsys.box, 202 once durable */
int mp_statemsg(struct fcgi_req *req, void *arg);

/* POST /mp/v1/register: record a client */
int mp_register(struct fcgi_req *req, void *arg);

/* GET /mp/v1/policy?client=GUID: the client's policy */
int mp_policy(struct fcgi_req *req, void *arg);

/* POST /mp/v1/location: sources by boundary group, and site assignment */
int mp_location(struct fcgi_req *req, void *arg);

/* mp_models_start - load the boundary model and follow its changes */
struct mp_models *mp_models_start(const struct conf *cf);

/* mp_models_stop - stop following and free every model */
void mp_models_stop(struct mp_models *ms);

/*
 * mp_model_get - the current model (*m, NULL before the first load) held
 * until mp_model_put of the reference returned
 */
struct mp_model_ref *mp_model_get(
    struct mp_models *ms, const struct loc_model **m);

/* mp_model_put - done with a model from mp_model_get (NULL is fine) */
void mp_model_put(struct mp_models *ms, struct mp_model_ref *ref);

/* mp_models_loads - how many times the model has been loaded */
unsigned long mp_models_loads(struct mp_models *ms);

#endif
