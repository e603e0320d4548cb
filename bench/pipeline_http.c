/*
 * pipeline_http - the whole state message pipeline on one host: agents
 * posting batches over HTTPS through nginx to sitesys-mp, its group
 * commits into statsys.box, sitesys-statesys loading them into
 * PostgreSQL. bench/pipeline.sh runs it with a private site database and
 * its sitesys.conf (SITESYS_CONF), whose [mp] fastcgi_socket is
 * WEBDIR/mp.sock:
 *
 *   pipeline_http WEBDIR
 *
 * CLIENTS agents, each with its own self-signed certificate, each
 * registered through POST /mp/v1/register (approved as the site does by
 * default) before anything is timed, each keeping one connection and
 * sending its own batches of BATCH messages, serials counting up from 1
 * without a gap across the phases (a batch refused is sent again). The MP
 * caches a certificate's client per thread, as it was built to, but with
 * a thousand clients a cache of 256 per thread mostly misses: every
 * post's lookup is as a large site's would be.
 *
 *   saturation  closed loop: every agent posts back to back for
 *               CLOSED_SECONDS; messages/s from the first post to the
 *               commit of the last message's row (its commit timestamp)
 *   latency     open loop: the agents together offer RATE messages/s
 *               (RATE / BATCH posts/s, each agent in turn, on a fixed
 *               schedule) for OPEN_SECONDS; each message's "time" is its
 *               post's scheduled send time in microseconds, so a post
 *               sent late, behind a slow answer, counts its wait; the
 *               latency of a message is the commit timestamp of the
 *               transaction that made its row visible in
 *               statemsg_history minus that time (one host, one clock),
 *               over the messages scheduled after the first WARM_SECONDS
 *
 * A rate is sustained if the agents could send at least 97% of it and the
 * pipeline had committed everything within DRAIN_OK seconds of the last
 * post; if RATE is not, the latency is measured again at 75% of the
 * saturation rate, and if that is not either, at 50%. Beside each phase,
 * the CPU time each process spent per message committed. Environment:
 * CLIENTS (1000), BATCH (25), RATE (50000), CLOSED_SECONDS (10),
 * OPEN_SECONDS (20); PG_PID, the postmaster's pid, to count PostgreSQL's
 * CPU time.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "httpbench.h"
#include "settings.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/x509.h"

#define TOPICS 150 /* per client: what it reports on after the updates */
#define WARM_SECONDS 2.0
#define DRAIN_OK 1.0
#define DRAIN_MAX 180.0 /* a backlog not committed by then: failed */
#define MAX_POSTS 100000000L /* per client and phase, never reached */
#define SUSTAINED 0.97

/* the rates tried, of the saturation rate, when RATE is not sustained */
static const double lower[] = { 0.75, 0.5 };

enum phase_kind { PH_CLOSED, PH_OPEN, PH_DONE };

/* What the agents do next, set by main between two barriers. */
static struct {
	enum phase_kind kind;
	double start, stop; /* clock_mono */
	int64_t start_us; /* the wall clock at start */
	double period; /* open: each agent's time between two posts */
} phase;

struct agent {
	int i;
	char guid[64];
	X509 *cert;
	EVP_PKEY *key;
	struct hb_conn conn;
	long long next; /* the next serial */
	/* this phase */
	long posts, failed, late;
	int last_failure;
	double max_late;
};

static char dir[64], bindir[PATH_MAX], webdir[PATH_MAX];
static int port, nclients, batch;
static SSL_CTX *tls;
static struct agent *agents;
static pthread_barrier_t turn;
static pid_t mp, statesys, nginx, pg;
static PGconn *db;
static const char reg_fmt[] =
    "{\"format\":\"sitesys.register/1\",\"client\":\"%s\","
    "\"name\":\"bench%d\",\"addresses\":[\"127.0.0.1/8\"]}";

/* Stop what this program started, by pid. */
static void
stop_all(void)
{
	hb_stop(nginx, SIGQUIT);
	hb_stop(mp, SIGTERM);
	hb_stop(statesys, SIGTERM);
	nginx = mp = statesys = 0;
}

/* Remove the run's own directory (its TLS files); whether it went. */
static bool
remove_dir(void)
{
	char cmd[sizeof(dir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0;
}

/* Say why, stop everything, keep the logs in webdir; exit 1. */
static void
fail(const char *what)
{
	fprintf(stderr, "pipeline_http: %s; see %s\n", what, webdir);
	stop_all();
	(void)remove_dir();
	exit(1);
}

/* Agent a's batch of serials from a->next, each sent at us, into b. */
static void
make_batch(struct buf *b, const struct agent *a, int64_t us)
{
	char t[CLOCK_RFC3339_LEN];

	clock_rfc3339(t, sizeof(t), us, 6);
	buf_reset(b);
	buf_addf(b,
	    "{\"format\":\"sitesys.statemsg/1\",\"client\":\"%s\","
	    "\"messages\":[",
	    a->guid);
	for (int m = 0; m < batch; m++) {
		long long s = a->next + m;

		buf_addf(b,
		    "%s{\"serial\":%lld,\"time\":\"%s\","
		    "\"topic\":{\"type\":500,\"id\":\"KB%07lld\","
		    "\"id_type\":0},\"state\":{\"id\":%lld,"
		    "\"criticality\":0}}",
		    m ? "," : "", s, t, 5030000 + s % TOPICS, 1 + s % 3);
	}
	buf_adds(b, "]}");
}

/* Post agent a's next batch, sent at us; true once it was taken. */
static bool
post(struct agent *a, struct buf *b, int64_t us)
{
	int status = -1;

	make_batch(b, a, us);
	if (a->conn.fd != -1 ||
	    hb_conn_open(&a->conn, port, tls, a->cert, a->key) == 0)
		status = hb_conn_request(
		    &a->conn, "POST", "/mp/v1/statemsg", b->p, b->len);
	if (status == -1)
		hb_conn_close(&a->conn);
	if (status == 202) {
		a->next += batch;
		a->posts++;
		return true;
	}
	a->failed++;
	a->last_failure = status;
	return false;
}

/* Sleep until t on the monotonic clock. */
static void
sleep_until(double t)
{
	double d = t - clock_mono();
	struct timespec ts;

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Closed loop: post back to back from the phase's start to its stop. */
static void
run_closed(struct agent *a, struct buf *b)
{
	sleep_until(phase.start);
	for (long k = 0; k < MAX_POSTS && clock_mono() < phase.stop; k++)
		(void)post(a, b, clock_now_us());
}

/*
 * Open loop: post k is due at start + offset + k * period, and is dated
 * then, however late it goes; a batch refused is sent again, dated as
 * first due.
 */
static void
run_open(struct agent *a, struct buf *b)
{
	double offset = phase.period * a->i / nclients;

	for (long k = 0; k < MAX_POSTS; k++) {
		double due = phase.start + offset + (double)k * phase.period;
		int64_t us =
		    phase.start_us + (int64_t)((due - phase.start) * 1e6);
		double late;

		if (due >= phase.stop)
			break;
		sleep_until(due);
		if ((late = clock_mono() - due) > 0.1)
			a->late++;
		if (late > a->max_late)
			a->max_late = late;
		/* bounded by the phase's end; then it goes in the next */
		while (!post(a, b, us) && clock_mono() < phase.stop)
			usleep(10000);
	}
}

/* An agent: register, then each phase main sets, until done. */
static void *
agent_run(void *p)
{
	struct agent *a = p;
	struct buf b = { 0 };
	char reg[256];
	int n = snprintf(reg, sizeof(reg), reg_fmt, a->guid, a->i), status = -1;

	if (hb_conn_open(&a->conn, port, tls, a->cert, a->key) == 0)
		status = hb_conn_request(
		    &a->conn, "POST", "/mp/v1/register", reg, (size_t)n);
	a->last_failure = status;
	pthread_barrier_wait(&turn);
	for (int ph = 0; ph < 16; ph++) {
		pthread_barrier_wait(&turn);
		if (phase.kind == PH_DONE)
			break;
		a->posts = a->failed = a->late = 0;
		a->max_late = 0;
		if (phase.kind == PH_CLOSED)
			run_closed(a, &b);
		else
			run_open(a, &b);
		pthread_barrier_wait(&turn);
	}
	hb_conn_close(&a->conn);
	buf_free(&b);
	return NULL;
}

/* The agents' identities: a key and a certificate each. */
static void
make_agents(void)
{
	char err[256];

	if ((agents = calloc((size_t)nclients, sizeof(*agents))) == NULL)
		hb_die("calloc");
	for (int i = 0; i < nclients; i++) {
		struct agent *a = &agents[i];
		struct x509_subject s = { .cn = a->guid, .days = 1 };

		a->i = i;
		a->next = 1;
		a->conn.fd = -1;
		snprintf(a->guid, sizeof(a->guid),
		    "GUID:%08x-0000-4000-8000-%012x", 0x5a17e000u + (unsigned)i,
		    (unsigned)i);
		if ((a->key = x509_key_new(err, sizeof(err))) == NULL ||
		    (a->cert = x509_cert_make(
		         &s, a->key, NULL, NULL, err, sizeof(err))) == NULL) {
			fprintf(stderr, "pipeline_http: %s\n", err);
			exit(1);
		}
	}
}

/* The site database as its administrator ([database] conninfo). */
static void
connect_db(void)
{
	const char *path = getenv("SITESYS_CONF");
	char err[512];
	struct conf *cf;

	if (path == NULL || (cf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pipeline_http: SITESYS_CONF: %s\n",
		    path ? err : "not set");
		exit(2);
	}
	if ((db = db_connect(
	         site_conninfo(cf, "database"), err, sizeof(err))) == NULL) {
		fprintf(stderr, "pipeline_http: %s\n", err);
		exit(1);
	}
	conf_free(cf);
}

/* The one number sql answers, or die. */
static double
query_num(const char *sql, int nparams, const char *const *params)
{
	PGresult *res = db_exec(db, sql, nparams, params);
	double v;

	if (res == NULL || PQntuples(res) != 1) {
		fprintf(stderr, "pipeline_http: %s: %s\n", sql, db_error());
		fail("a query failed");
	}
	v = PQgetisnull(res, 0, 0) ? 0 : strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return v;
}

/* The messages committed so far (serial tracking counts each once). */
static long long
committed(void)
{
	return (long long)query_num(
	    "SELECT coalesce(sum(messages), 0) FROM client_message_stats", 0,
	    NULL);
}

/* True while pid, a child, runs. */
static bool
running(pid_t pid)
{
	int st;

	return waitpid(pid, &st, WNOHANG) == 0;
}

/*
 * Wait until want messages are committed (DRAIN_MAX at most); the seconds
 * after the phase's stop it took, or die saying how many were.
 */
static double
drain(long long want)
{
	char why[128];
	long long n = 0;

	for (int i = 0; i < (int)(DRAIN_MAX / 0.05); i++) {
		if ((n = committed()) >= want)
			return clock_mono() - phase.stop;
		/* one that stopped was reaped: it is not to be stopped */
		if (!running(statesys)) {
			statesys = 0;
			fail("sitesys-statesys stopped");
		}
		if (!running(mp)) {
			mp = 0;
			fail("sitesys-mp stopped");
		}
		usleep(50000);
	}
	snprintf(why, sizeof(why),
	    "%lld of the %lld messages taken committed after %.0f s", n, want,
	    DRAIN_MAX);
	fail(why);
	return -1;
}

static void
start_all(void)
{
	char log[PATH_MAX], mpbin[PATH_MAX], ssbin[PATH_MAX];
	const char *conf = getenv("SITESYS_CONF");
	struct hb_tls_files f;
	struct hb_server srv;

	hb_tls_make(dir, "pipeline", &f);
	tls = hb_tls_client(&f);
	srv = (struct hb_server){ port, f.cert, f.key,
		(const char *[]){ "/mp/v1/" }, 1 };
	hb_path(mpbin, sizeof(mpbin), bindir, "../sitesys-mp");
	hb_path(ssbin, sizeof(ssbin), bindir, "../sitesys-statesys");
	hb_path(log, sizeof(log), webdir, "processes.log");
	mp = hb_spawn((char *[]){ mpbin, "-f", "-c", (char *)conf, NULL }, log);
	nginx = hb_nginx(webdir, &srv, 1, log);
	/* an unknown certificate is refused: the MP answers */
	if (hb_wait_ready(port, tls, "/mp/v1/policy") == -1)
		fail("the MP does not answer");
	/* after the MP, which makes statsys.box as root and then hands it
	 * to [site] user: statesys, already that user, would find it half
	 * made */
	statesys =
	    hb_spawn((char *[]){ ssbin, "-f", "-c", (char *)conf, NULL }, log);
}

/* CPU seconds so far of the processes, in order: the table's. */
static const char *const who[] = { "nginx", "sitesys-mp", "sitesys-statesys",
	"PostgreSQL", "the agents" };
#define NWHO (sizeof(who) / sizeof(who[0]))

static void
cpu_now(double cpu[NWHO])
{
	struct rusage ru;

	cpu[0] = hb_cpu(nginx);
	cpu[1] = hb_cpu(mp);
	cpu[2] = hb_cpu(statesys);
	cpu[3] = pg > 0 ? hb_cpu(pg) : 0;
	getrusage(RUSAGE_SELF, &ru);
	cpu[4] = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* The CPU each process spent per message since before, and in all. */
static void
print_cpu(const double before[NWHO], double msgs, double seconds)
{
	double now[NWHO], sum = 0;

	cpu_now(now);
	printf("    CPU per message:");
	for (size_t i = 0; i < NWHO; i++) {
		if (i == 3 && pg <= 0)
			continue;
		printf("%s %s %.1f us", i ? "," : "", who[i],
		    1e6 * (now[i] - before[i]) / msgs);
		sum += now[i] - before[i];
	}
	printf("; %.2f of the %ld cores busy with them\n", sum / seconds,
	    sysconf(_SC_NPROCESSORS_ONLN));
}

/* Run one phase of the agents: set it, let them go, wait for them. */
static void
run_phase(enum phase_kind kind, double seconds, double period)
{
	phase.kind = kind;
	phase.period = period;
	/* the agents wake a little after this barrier */
	phase.start = clock_mono() + 0.05;
	phase.start_us = clock_now_us() + 50000;
	phase.stop = phase.start + seconds;
	pthread_barrier_wait(&turn);
	pthread_barrier_wait(&turn);
}

/* The agents' counts of this phase: posts taken, failures, late ones. */
static long
phase_posts(long *failed, long *late, double *max_late, int *last)
{
	long posts = 0;

	*failed = *late = 0;
	*max_late = 0;
	for (int i = 0; i < nclients; i++) {
		posts += agents[i].posts;
		*failed += agents[i].failed;
		*late += agents[i].late;
		if (agents[i].max_late > *max_late)
			*max_late = agents[i].max_late;
		if (agents[i].failed > 0)
			*last = agents[i].last_failure;
	}
	return posts;
}

/* Messages dated from..to (wall clock, µs): the last commit's time. */
static double
last_commit(int64_t from, int64_t to)
{
	char a[32], b[32];
	const char *p[2] = { a, b };

	snprintf(a, sizeof(a), "%.6f", from / 1e6);
	snprintf(b, sizeof(b), "%.6f", to / 1e6);
	return query_num(
	    "SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) "
	    "FROM statemsg_history WHERE msg_time >= to_timestamp($1) AND "
	    "msg_time < to_timestamp($2)",
	    2, p);
}

/* The saturation rate: messages/s from the first post to the last row. */
static double
saturation(long long *total, double seconds)
{
	double cpu[NWHO], dr, end, rate, max_late;
	long failed, late, posts;
	int last = 0;

	cpu_now(cpu);
	run_phase(PH_CLOSED, seconds, 0);
	posts = phase_posts(&failed, &late, &max_late, &last);
	*total += (long long)posts * batch;
	dr = drain(*total);
	end = last_commit(phase.start_us,
	    phase.start_us + (int64_t)(seconds * 1e6) + 1000000);
	rate = (double)posts * batch / (end - phase.start_us / 1e6);
	printf("  saturation, closed loop: %d agents posting back to back for "
	       "%.0f s\n",
	    nclients, seconds);
	printf("    the MP took %.0f posts/s (%.0f messages/s); %ld refused or "
	       "failed (the last: %d)\n",
	    posts / seconds, posts * batch / seconds, failed, last);
	printf("    %lld messages committed %.1f s after the first post "
	       "(%.1f s after the last): %.0f messages/s from posts to "
	       "committed rows\n",
	    (long long)posts * batch, end - phase.start_us / 1e6, dr, rate);
	print_cpu(cpu, (double)posts * batch, seconds + dr);
	fflush(stdout);
	return rate;
}

/*
 * Latency at rate messages/s offered, open loop, for seconds; whether the
 * rate was sustained.
 */
static bool
latency(long long *total, double rate, double seconds)
{
	double cpu[NWHO], dr, max_late, posts_s = rate / batch;
	long failed, late, posts;
	char a[32], b[32];
	const char *p[2] = { a, b };
	PGresult *res;
	int last = 0;
	bool ok;

	cpu_now(cpu);
	run_phase(PH_OPEN, seconds, nclients / posts_s);
	posts = phase_posts(&failed, &late, &max_late, &last);
	*total += (long long)posts * batch;
	dr = drain(*total);
	ok = posts >= SUSTAINED * posts_s * seconds && dr <= DRAIN_OK;
	printf("  latency, open loop: %.0f messages/s offered (%.0f posts/s of "
	       "%d messages, each agent every %.2f s) for %.0f s\n",
	    rate, posts_s, batch, nclients / posts_s, seconds);
	printf("    the MP took %.0f messages/s (%.0f%% of the offered); "
	       "%ld posts sent over 0.1 s late (the latest %.2f s), %ld "
	       "refused or failed (the last: %d); all committed %.1f s after "
	       "the last post: %s\n",
	    posts * batch / seconds, 100 * posts / (posts_s * seconds), late,
	    max_late, failed, last, dr, ok ? "sustained" : "NOT sustained");
	snprintf(a, sizeof(a), "%.6f", phase.start_us / 1e6 + WARM_SECONDS);
	snprintf(b, sizeof(b), "%.6f", phase.start_us / 1e6 + seconds);
	res = db_exec(db,
	    "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY l), "
	    "percentile_cont(0.99) WITHIN GROUP (ORDER BY l), max(l) FROM "
	    "(SELECT extract(epoch FROM "
	    "pg_xact_commit_timestamp(xmin) - msg_time) AS l FROM "
	    "statemsg_history WHERE msg_time >= to_timestamp($1) AND "
	    "msg_time < to_timestamp($2)) m",
	    2, p);
	if (res == NULL || PQntuples(res) != 1)
		fail("the latency query failed");
	printf("    from a post's send to its messages' rows visible in "
	       "statemsg_history, over the %s messages sent after the first "
	       "%.0f s: median %.3f s, 99th percentile %.3f s, the most "
	       "%.3f s (wanted at 50,000/s: under 1 s and 5 s)\n",
	    PQgetvalue(res, 0, 0), WARM_SECONDS,
	    strtod(PQgetvalue(res, 0, 1), NULL),
	    strtod(PQgetvalue(res, 0, 2), NULL),
	    strtod(PQgetvalue(res, 0, 3), NULL));
	PQclear(res);
	print_cpu(cpu, (double)posts * batch, seconds + dr);
	fflush(stdout);
	return ok;
}

/* Start the agents, and wait until each has registered; or die. */
static void
start_agents(pthread_t *t)
{
	double t0 = clock_mono();
	struct buf b = { 0 };
	int refused = 0, last = 0;

	if (pthread_barrier_init(&turn, NULL, (unsigned)nclients + 1) != 0)
		hb_die("pthread_barrier_init");
	hb_threads(t, nclients, agent_run, agents, sizeof(*agents));
	pthread_barrier_wait(&turn);
	for (int i = 0; i < nclients; i++)
		if (agents[i].last_failure != 200) {
			refused++;
			last = agents[i].last_failure;
		}
	if (refused > 0) {
		fprintf(stderr,
		    "pipeline_http: %d registrations refused (the last: %d)\n",
		    refused, last);
		phase.kind = PH_DONE;
		pthread_barrier_wait(&turn);
		fail("the agents could not register");
	}
	make_batch(&b, &agents[0], clock_now_us());
	printf("  %d agents, each its own certificate, registered and "
	       "approved in %.1f s, each keeping one HTTPS connection and "
	       "posting batches of %d messages (%zu bytes)\n",
	    nclients, clock_mono() - t0, batch, b.len);
	buf_free(&b);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	long long total = 0;
	double sat, rate, closed_s, open_s;
	pthread_t *t;

	if (argc != 2 ||
	    snprintf(webdir, sizeof(webdir), "%s", argv[1]) >=
	        (int)sizeof(webdir)) {
		fprintf(stderr, "usage: pipeline_http WEBDIR\n");
		return 2;
	}
	hb_setup(argv[0], dir, sizeof(dir), bindir, sizeof(bindir));
	signal(SIGPIPE, SIG_IGN);
	nclients = (int)hb_env_long("CLIENTS", 1000, 1, HB_MAX_CLIENTS);
	batch = (int)hb_env_long("BATCH", 25, 1, 100);
	rate = (double)hb_env_long("RATE", 50000, 100, 10000000);
	closed_s = (double)hb_env_long("CLOSED_SECONDS", 10, 1, 600);
	open_s = (double)hb_env_long("OPEN_SECONDS", 20, 4, 600);
	pg = (pid_t)hb_env_long("PG_PID", 0, 0, INT_MAX);
	port = hb_free_port();
	connect_db();
	make_agents();
	start_all();
	if ((t = calloc((size_t)nclients, sizeof(*t))) == NULL)
		hb_die("calloc");
	start_agents(t);
	sat = saturation(&total, closed_s);
	/* then lower rates, in whole thousands, until one is sustained */
	if (!latency(&total, rate, open_s))
		for (size_t i = 0; i < sizeof(lower) / sizeof(lower[0]); i++) {
			double low =
			    1000 * (double)(long)(lower[i] * sat / 1000);

			if (low >= 1000 && low < rate &&
			    latency(&total, low, open_s))
				break;
		}
	phase.kind = PH_DONE;
	pthread_barrier_wait(&turn);
	for (int i = 0; i < nclients; i++) {
		pthread_join(t[i], NULL);
		X509_free(agents[i].cert);
		EVP_PKEY_free(agents[i].key);
	}
	stop_all();
	free(t);
	free(agents);
	SSL_CTX_free(tls);
	PQfinish(db);
	return remove_dir() ? 0 : 1;
}
