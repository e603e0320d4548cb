/*
 * model.c - the boundary model in memory: loaded from the site database at
 * start, loaded again within a second of any change (NOTIFY
 * sitesys_boundary), swapped in whole while requests go on using the old
 * one until they are done with it
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "location/location.h"
#include "location/location_db.h"
#include "mp.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/log.h"

#define MODEL_CHANNEL "sitesys_boundary"
#define CLIENT_CHANNEL "sitesys_client" /* schema 005 */

struct mp_model_ref {
	struct loc_model *model;
	int refs;
};

struct mp_models {
	pthread_mutex_t lock;
	struct mp_model_ref *cur; /* NULL until the first load */
	pthread_t thread;
	atomic_bool stop;
	char *conninfo;
	atomic_ulong loads;
	atomic_ulong client_gen; /* bumped on CLIENT_CHANNEL and reconnects */
};

static void
ref_drop(struct mp_models *ms, struct mp_model_ref *ref)
{
	bool last;

	pthread_mutex_lock(&ms->lock);
	last = --ref->refs == 0;
	pthread_mutex_unlock(&ms->lock);
	if (last) {
		loc_model_free(ref->model);
		free(ref);
	}
}

/* Put m in place of the current model. */
static void
models_swap(struct mp_models *ms, struct loc_model *m)
{
	struct mp_model_ref *ref = calloc(1, sizeof(*ref)), *old;

	if (ref == NULL)
		abort();
	ref->model = m;
	ref->refs = 1; /* the holder's own */
	pthread_mutex_lock(&ms->lock);
	old = ms->cur;
	ms->cur = ref;
	pthread_mutex_unlock(&ms->lock);
	if (old != NULL)
		ref_drop(ms, old);
	atomic_fetch_add(&ms->loads, 1);
}

/* Load the whole model; the old one stays if this one can't be had. */
static int
models_load(struct mp_models *ms, PGconn *db)
{
	char why[512];
	double t0 = clock_mono();
	struct loc_model *m = loc_db_load(db, why, sizeof(why));
	size_t nb, ng, ns;

	if (m == NULL) {
		log_error("could not load the boundary model: %s", why);
		return -1;
	}
	loc_model_counts(m, &nb, &ng, &ns);
	models_swap(ms, m);
	log_info("boundary model loaded: %zu boundaries, %zu groups, %zu "
	         "servers in %.0f ms",
	    nb, ng, ns, (clock_mono() - t0) * 1e3);
	return 0;
}

/* Wait up to ms for stop; false if asked to stop. */
static bool
models_pause(struct mp_models *ms, int ms_total)
{
	for (int t = 0; t < ms_total && !atomic_load(&ms->stop); t += 100)
		poll(NULL, 0, 100);
	return !atomic_load(&ms->stop);
}

/* Follow the database's notifications until the connection fails. */
static void
models_follow(struct mp_models *ms, PGconn *db)
{
	char channel[64];

	while (!atomic_load(&ms->stop)) {
		double t0 = clock_mono();
		int rc = db_wait_notify(db, 500, channel, sizeof(channel));

		if (rc == -1 || !db_connected(db)) {
			log_error("boundary model: lost the database: %s",
			    db_error());
			return;
		}
		if (rc == 0) {
			/* a pending SIGHUP or SIGTERM cuts waits short until
			 * the main loop takes it: don't spin meanwhile */
			if (clock_mono() - t0 < 0.1)
				poll(NULL, 0, 100);
			continue;
		}
		/* a transaction's many changes arrive together: take them all */
		bool model = false;
		do {
			if (strcmp(channel, CLIENT_CHANNEL) == 0)
				atomic_fetch_add(&ms->client_gen, 1);
			else
				model = true;
		} while (db_wait_notify(db, 0, channel, sizeof(channel)) == 1);
		if (model && models_load(ms, db) == -1)
			return;
	}
}

static void *
models_run(void *arg)
{
	struct mp_models *ms = arg;
	int wait_ms = 1000;

	while (!atomic_load(&ms->stop)) {
		char err[1536];
		PGconn *db = db_connect(ms->conninfo, err, sizeof(err));

		if (db == NULL)
			log_error("boundary model: %s", err);
		else if (db_listen(db, MODEL_CHANNEL) == -1 ||
		    db_listen(db, CLIENT_CHANNEL) == -1)
			log_error("boundary model: %s", db_error());
		else if (models_load(ms, db) == 0) {
			atomic_fetch_add(&ms->client_gen, 1);
			wait_ms = 1000;
			models_follow(ms, db);
		}
		if (db != NULL)
			PQfinish(db);
		if (!models_pause(ms, wait_ms))
			break;
		if (wait_ms < 30000)
			wait_ms *= 2;
	}
	return NULL;
}

struct mp_models *
mp_models_start(const struct conf *cf)
{
	struct mp_models *ms = calloc(1, sizeof(*ms));
	int err;

	if (ms == NULL ||
	    (ms->conninfo = strdup(conf_str(cf, "database", "conninfo"))) ==
	        NULL)
		abort();
	pthread_mutex_init(&ms->lock, NULL);
	if ((err = pthread_create(&ms->thread, NULL, models_run, ms)) != 0) {
		log_error("could not start the boundary model thread: %s",
		    strerror(err));
		free(ms->conninfo);
		free(ms);
		return NULL;
	}
	return ms;
}

void
mp_models_stop(struct mp_models *ms)
{
	if (ms == NULL)
		return;
	atomic_store(&ms->stop, true);
	pthread_join(ms->thread, NULL);
	if (ms->cur != NULL)
		ref_drop(ms, ms->cur);
	pthread_mutex_destroy(&ms->lock);
	free(ms->conninfo);
	free(ms);
}

struct mp_model_ref *
mp_model_get(struct mp_models *ms, const struct loc_model **m)
{
	struct mp_model_ref *ref;

	pthread_mutex_lock(&ms->lock);
	if ((ref = ms->cur) != NULL)
		ref->refs++;
	pthread_mutex_unlock(&ms->lock);
	*m = ref != NULL ? ref->model : NULL;
	return ref;
}

void
mp_model_put(struct mp_models *ms, struct mp_model_ref *ref)
{
	if (ref != NULL)
		ref_drop(ms, ref);
}

unsigned long
mp_models_loads(struct mp_models *ms)
{
	return atomic_load(&ms->loads);
}

unsigned long
mp_models_client_gen(struct mp_models *ms)
{
	return atomic_load(&ms->client_gen);
}
