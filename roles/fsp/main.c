/*
 * main.c - sitesys-fsp, the fallback status point: state messages over
 * plain HTTP (nginx, FastCGI) spooled durably into fsp.box and forwarded
 * into statsys.box no faster than the throttle
 */
#include "fcgi_service.h"
#include "fsp.h"
#include "group_commit.h"
#include "intake.h"
#include "util/conf.h"
#include "util/fcgi_server.h"
#include "util/log.h"

/* What the FSP's threads and its forwarder share. */
static struct fsp {
	struct group_commit *gc; /* into the spool */
	struct inbox *spool, *out;
	struct source_quota quota; /* what each client address has waiting */
	struct fwd fw; /* the main thread's only */
} fsp;

static long
fsp_admit(void *arg, const char *key, long long n)
{
	return quota_admit(arg, key, n);
}

static void
fsp_done(void *arg, const char *key, long long n, bool stored)
{
	if (!stored)
		quota_release(arg, key, n);
}

/*
 * POST /fsp/v1/statemsg: a batch into fsp.box, in a file of its client
 * address's, 202 once durable; 429 when that address has too much waiting
 */
static int
fsp_statemsg(struct fcgi_req *req, void *arg)
{
	struct fsp *f = arg;
	char key[SOURCE_KEY_MAX + 1];
	struct intake_source src = { .key = key,
		.admit = fsp_admit,
		.done = fsp_done,
		.arg = &f->quota };

	source_key(fcgi_param(req, "REMOTE_ADDR"), key, sizeof(key));
	return intake_statemsg_from(req, f->gc, f->spool, &src);
}

/* The cap and the throttle of cf into the quota. */
static void
fsp_quota_configure(const struct conf *cf)
{
	quota_configure(&fsp.quota, conf_int(cf, "fsp", "source_max_messages"),
	    conf_int(cf, "fsp", "throttle_messages"),
	    conf_int(cf, "fsp", "throttle_seconds") * 1000);
}

/* Open the forwarder (finishing a step a crash cut short); 0 or -1. */
static int
fsp_start(struct fcgi_service *svc)
{
	fsp.gc = svc->gc;
	fsp.spool = &svc->inbox[0];
	fsp.out = &svc->inbox[1];
	/* the spool is the FSP's own to read: purge what a crash left */
	if (inbox_recover(fsp.spool,
	        (int)conf_int(*svc->cfp, "inbox", "stale_tmp_seconds")) == -1)
		log_error("could not recover \"%s\": %m", fsp.spool->tmp);
	quota_init(&fsp.quota);
	fsp_quota_configure(*svc->cfp);
	if (fwd_open(&fsp.fw, fsp.spool, fsp.out, &fsp.quota, *svc->cfp) == -1)
		return -1;
	svc->arg = &fsp;
	log_info("forwarding %s to \"%s\", at most %lld messages per %lld s, "
	         "the client addresses in turn, each with at most %lld "
	         "waiting",
	    fsp.spool->name, fsp.out->name, fsp.fw.limit,
	    (long long)fsp.fw.interval_ms / 1000, fsp.quota.max);
	return 0;
}

/* One forwarding step, or a wait when there was nothing to forward. */
static void
fsp_work(struct fcgi_service *svc)
{
	int wait_ms;

	(void)svc;
	if (fwd_step(&fsp.fw, &wait_ms) <= 0)
		fwd_wait(&fsp.fw, wait_ms);
}

/* SIGHUP: the throttle and inbox settings take effect at once. */
static void
fsp_reload(struct fcgi_service *svc)
{
	fwd_configure(&fsp.fw, *svc->cfp);
	fsp_quota_configure(*svc->cfp);
}

/* Log what was spooled and forwarded; close the forwarder. */
static void
fsp_stop(struct fcgi_service *svc)
{
	struct group_commit_stats st;

	group_commit_stats(svc->gc, &st);
	log_info("spooled %lu batches into %lu files in %lu group commits "
	         "(at most %lu at once, %lu failed); forwarded %lu messages "
	         "from %lu files",
	    st.items, st.files, st.groups, st.largest, st.failed,
	    fsp.fw.messages, fsp.fw.files);
	fwd_close(&fsp.fw);
	quota_free(&fsp.quota);
}

int
main(int argc, char **argv)
{
	static const struct fcgi_route routes[] = {
		{ "POST", "/fsp/v1/statemsg", fsp_statemsg },
	};
	static const struct fcgi_role role = {
		.name = "sitesys-fsp",
		.section = "fsp",
		.inboxes = { FSP_SPOOL, FSP_OUT },
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.start = fsp_start,
		.work = fsp_work,
		.reload = fsp_reload,
		.stop = fsp_stop,
	};

	return fcgi_service_main(argc, argv, &role);
}
