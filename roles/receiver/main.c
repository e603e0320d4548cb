/*
 * main.c - sitesys-receiver: the site server's statsys.box and bgb.box
 * for the site systems on other hosts, over HTTPS (nginx, FastCGI). nginx
 * checks the site system's certificate against the site's CA and its
 * revocation list; the receiver puts each file by the inbox protocol
 * under the name the sender gave it and answers 201 only once the file
 * is durable (sitesys-receiver(8)).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fcgi_service.h"
#include "group_commit.h"
#include "receiver.h"
#include "util/fcgi_server.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/signals.h"
#include "util/text.h"
#include "util/x509.h"

#define PEM_MAX 16384

/* Who is putting: the site system nginx verified. */
struct sender {
	char fqdn[256];
	char role[64];
};

/*
 * The sender, from what nginx says of its certificate: 0, or -1 once
 * answered (401 none, 403 refused by nginx, 400 unreadable).
 */
static int
sender_of(struct fcgi_req *req, struct sender *s)
{
	const char *verify = fcgi_param(req, "SSL_CLIENT_VERIFY");
	const char *param = fcgi_param(req, "SSL_CLIENT_CERT");
	char pem[PEM_MAX], why[256];
	X509 *cert;
	long n;

	if (verify == NULL || strcmp(verify, "NONE") == 0 || param == NULL ||
	    *param == '\0')
		return fcgi_refuse(req, 401, "no-certificate",
		           "a site system certificate is required (sitectl "
		           "ca issue)"),
		       -1;
	if (strcmp(verify, "SUCCESS") != 0)
		return fcgi_refuse(req, 403, "bad-certificate",
		           "the certificate was refused: %s",
		           strncmp(verify, "FAILED:", 7) == 0 ? verify + 7
		                                              : verify),
		       -1;
	if ((n = text_url_decode(param, pem, sizeof(pem))) == -1 ||
	    (cert = x509_cert_parse(pem, (size_t)n, why, sizeof(why))) == NULL)
		return fcgi_refuse(req, 400, "bad-certificate",
		           "the client certificate cannot be read"),
		       -1;
	x509_cn(cert, s->fqdn, sizeof(s->fqdn));
	x509_ou(cert, s->role, sizeof(s->role));
	X509_free(cert);
	return 0;
}

static struct inflight writing = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * tmp/name, which no request is writing, was left by a receiver that died
 * while it wrote: remove it so that the file can be put; 0, or -1 logged
 */
static int
remove_leftover(struct inbox *ib, const char *name)
{
	char path[4096];

	if (fsio_join(path, sizeof(path), ib->tmp, name) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT)) {
		log_error("could not remove %s/%s, left by a write that did "
		          "not finish: %m",
		    ib->tmp, name);
		return -1;
	}
	log_warn("removed %s/%s, left by a write that did not finish", ib->tmp,
	    name);
	return 0;
}

/* Write body as name into ib, durably, while no other request does. */
static int
write_file(struct group_commit *gc, struct inbox *ib, const char *name,
    const char *body, size_t len)
{
	int rc = group_commit_put(gc, ib, name, body, len);

	if (rc == -1 && errno == EEXIST && remove_leftover(ib, name) == 0)
		rc = group_commit_put(gc, ib, name, body, len);
	return rc;
}

/* Write body as name into ib; answer 201 once durable, else 409/503. */
static int
put_file(struct fcgi_req *req, struct group_commit *gc, struct inbox *ib,
    const char *name, const char *body, size_t len)
{
	json_t *doc;
	int rc;

	if (inflight_take(&writing, name) == -1)
		return errno == EBUSY
		    ? fcgi_refuse(req, 409, "in-progress",
		          "%s is being written by another request: try again",
		          name)
		    : fcgi_refuse(req, 503, "not-written", "out of memory");
	rc = write_file(gc, ib, name, body, len);
	inflight_give(&writing, name);
	if (rc == -1)
		return fcgi_refuse(req, 503, "not-written",
		    "the file could not be written into %s: %s", ib->name,
		    strerror(errno));
	doc = json_pack("{s:s, s:s, s:s, s:I}", "format", "sitesys.put/1",
	    "inbox", ib->name, "file", name, "bytes", (json_int_t)len);
	rc = fcgi_reply_json(req, 201, doc);
	json_decref(doc);
	return rc;
}

/* PUT /inbox/v1/BOX?name=NAME into the inbox whose path it names. */
static int
receiver_put(struct fcgi_req *req, void *arg)
{
	struct fcgi_service *svc = arg;
	const char *box = fcgi_path(req) + strlen(RECEIVER_PATH);
	char name[INBOX_NAME_MAX + 1], why[300];
	struct inbox *ib = NULL;
	struct sender s;
	const char *no;
	char *body;
	size_t len;
	int rc;

	for (int i = 0; i < FCGI_SERVICE_INBOXES; i++)
		if (strcmp(svc->inbox[i].name, box) == 0)
			ib = &svc->inbox[i];
	if (ib == NULL)
		return fcgi_refuse(
		    req, 404, "no-inbox", "no inbox at this path");
	if (sender_of(req, &s) == -1)
		return 0;
	if ((no = receiver_admits(box, s.role)) != NULL)
		return fcgi_refuse(req, 403, "not-allowed", "%s (role %s): %s",
		    s.fqdn, *s.role ? s.role : "none", no);
	if (receiver_name(box, fcgi_query(req), name, sizeof(name), why,
	        sizeof(why)) == -1)
		return fcgi_refuse(req, 400, "bad-name", "%s", why);
	if (fcgi_read_body(req, INBOX_MAX_FILE, &body, &len) == -1)
		return 0;
	if (len == 0)
		rc = fcgi_refuse(req, 400, "empty", "the file is empty");
	else
		rc = put_file(req, svc->gc, ib, name, body, len);
	free(body);
	return rc;
}

static int
receiver_start(struct fcgi_service *svc)
{
	svc->arg = svc;
	log_info("receiving %s and %s from the site systems of other hosts",
	    svc->inbox[0].name, svc->inbox[1].name);
	return 0;
}

/* Nothing of its own to do: the threads answer. */
static void
receiver_work(struct fcgi_service *svc)
{
	(void)svc;
	signals_sleep(1000);
}

static void
receiver_stop(struct fcgi_service *svc)
{
	struct group_commit_stats st;

	group_commit_stats(svc->gc, &st);
	log_info("received %lu files (%lu failed) in %lu group commits",
	    st.items, st.failed, st.groups);
}

int
main(int argc, char **argv)
{
	static const struct fcgi_route routes[] = {
		{ "PUT", RECEIVER_PATH "statsys.box", receiver_put },
		{ "PUT", RECEIVER_PATH "bgb.box", receiver_put },
	};
	static const struct fcgi_role role = {
		.name = "sitesys-receiver",
		.section = "receiver",
		.inboxes = { "statsys.box", "bgb.box" },
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.start = receiver_start,
		.work = receiver_work,
		.stop = receiver_stop,
	};

	return fcgi_service_main(argc, argv, &role);
}
