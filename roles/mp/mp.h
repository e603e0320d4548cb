/* mp.h - sitesys-mp: the management point's FastCGI handlers */
#ifndef MP_H
#define MP_H

#include <libpq-fe.h>

#include "statemsg.h"
#include "util/x509.h"

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

/*
 * mp_db - this thread's database connection, checked (db_alive) and made
 * again if the server closed it; or NULL (logged)
 */
PGconn *mp_db(const struct mp *mp);

/* mp_db_failed - drop this thread's connection after an error */
void mp_db_failed(void);

/* caller.c - who is asking, by the client certificate nginx passes on */

/* Where a certificate's client stands with the site. */
enum mp_standing { MP_UNREGISTERED, MP_PENDING, MP_APPROVED, MP_BLOCKED };

struct mp_caller {
	X509 *cert;
	char fingerprint[X509_FINGERPRINT_LEN]; /* SHA-256, hex */
	char guid[STATEMSG_GUID_LEN + 1]; /* its client; "" if none */
	enum mp_standing standing;
};

/*
 * mp_caller_cert - the request's client certificate, parsed, and its
 * fingerprint into c; 0, or -1 when it was answered (401 none, 400
 * unreadable). For what reads or keeps the certificate: registration.
 */
int mp_caller_cert(struct fcgi_req *req, struct mp_caller *c);

/* mp_caller_standing - c's client and standing (cached); 0 or -1 logged */
int mp_caller_standing(struct mp *mp, struct mp_caller *c);

/*
 * mp_caller_admit - the certificate's fingerprint (the certificate is not
 * parsed: c->cert stays NULL), its client and standing into c; 0 when
 * that client is approved and, with client, is client; else -1 once
 * answered: 401 without a certificate, 400 unreadable, 403 with the
 * reason and its code (unregistered, pending, blocked, not-yours), 503
 * without the database
 */
int mp_caller_admit(struct fcgi_req *req, struct mp *mp, struct mp_caller *c,
    const char *client);

/* mp_caller_is - 0 if c is client; else -1 once answered 403 not-yours */
int mp_caller_is(
    struct fcgi_req *req, const struct mp_caller *c, const char *client);

/* mp_caller_free - release what mp_caller_cert took */
void mp_caller_free(struct mp_caller *c);

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

/*
 * mp_models_client_gen - a number that changes whenever a client's
 * identity or approval may have changed (or the notifications may have
 * been missed): what was learnt of certificates before is stale
 */
unsigned long mp_models_client_gen(struct mp_models *ms);

#endif
