/*
 * main.c - sitesys-sender: on a site system's own host, its statsys.box
 * and bgb.box are an outbox; each file goes to the site server's
 * sitesys-receiver(8) by an HTTPS PUT with the site system's certificate,
 * and is removed here only once the site server has it durably
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "sender.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/signals.h"

static struct sender {
	struct outbox boxes[SENDER_BOXES];
	int n;
	struct http_conf hc;
	struct http_ops http;
} snd;

/* The names of [sender] boxes into snd, each opened; 0, or -1 logged. */
static int
open_boxes(const struct conf *cf)
{
	const char *root = conf_str(cf, "site", "inbox_dir");
	const char *user = conf_str(cf, "site", "user");
	char list[512], *save = NULL;

	snprintf(list, sizeof(list), "%s", conf_str(cf, "sender", "boxes"));
	for (char *b = strtok_r(list, " ,", &save); b != NULL;
	     b = strtok_r(NULL, " ,", &save)) {
		if (snd.n == SENDER_BOXES) {
			log_error(
			    "[sender] boxes: at most %d inboxes", SENDER_BOXES);
			return -1;
		}
		if (!inbox_valid_name(b)) {
			log_error("[sender] boxes: \"%s\" is no inbox name", b);
			return -1;
		}
		if (inbox_open_owned(&snd.boxes[snd.n].ib, root, b, user) == -1)
			return -1;
		snd.n++;
	}
	if (snd.n == 0)
		log_error("[sender] boxes names no inbox");
	return snd.n > 0 ? 0 : -1;
}

/* What the sender cannot work without; 0, or -1 logged. */
static int
required(const struct conf *cf)
{
	static const char *const keys[] = { "url", "cert", "key", "site_ca" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (*conf_str(cf, "sender", keys[i]) == '\0') {
			log_error("[sender] %s is not set: the sender needs "
			          "the site server's address (url), this "
			          "site system's certificate and key (cert, "
			          "key) and the site's CA (site_ca); see "
			          "sitesys-sender(8)",
			    keys[i]);
			return -1;
		}
	return 0;
}

/* Before privileges are dropped: the inboxes, made and handed over. */
static int
sender_init(struct conf *cf)
{
	if (required(cf) == -1 || open_boxes(cf) == -1)
		return -1;
	return 0;
}

/* The HTTPS requests as [sender] says, and each outbox's address. */
static void
configure(const struct conf *cf)
{
	const char *url = conf_str(cf, "sender", "url");
	size_t ulen = strlen(url);

	snd.hc = (struct http_conf){
		.timeout = (long)conf_int(cf, "sender", "timeout_seconds"),
		.stall_only = true,
		.cancelled = signals_stopping,
		.keep_alive = true,
		.protocols = "https",
		.ca = conf_str(cf, "sender", "site_ca"),
		.crl = conf_str(cf, "sender", "site_crl"),
		.cert = conf_str(cf, "sender", "cert"),
		.key = conf_str(cf, "sender", "key"),
		.user_agent = SENDER_NAME,
	};
	http_curl_ops(&snd.http, &snd.hc);
	while (ulen > 0 && url[ulen - 1] == '/')
		ulen--;
	for (int i = 0; i < snd.n; i++) {
		struct outbox *o = &snd.boxes[i];

		snprintf(o->url, sizeof(o->url), "%.*s/inbox/v1/%s", (int)ulen,
		    url, o->ib.name);
		o->http = &snd.http;
		o->retry_max_ms =
		    (int)conf_int(cf, "sender", "retry_max_seconds") * 1000;
		o->rescan_ms =
		    (int)conf_int(cf, "inbox", "rescan_seconds") * 1000;
		inbox_watch_init(&o->watch, &o->ib,
		    (int)conf_int(cf, "inbox", "settle_seconds"));
	}
}

/* Until SIGTERM: the state file every status_seconds; SIGHUP reopens
 * the log (the rest of the config is read again at a restart). */
static void
report(struct conf **cfp)
{
	const char *state = conf_str(*cfp, "sender", "state_file");
	const char *url = conf_str(*cfp, "sender", "url");
	int every = (int)conf_int(*cfp, "sender", "status_seconds") * 1000;

	while (!signals_stopping()) {
		if (*state != '\0')
			sender_state_write(state, url, snd.boxes, snd.n);
		sender_nap(every);
		if (signals_take(SIGHUP)) {
			daemon_reopen_log(*cfp);
			log_info("the log was reopened; other settings take "
			         "effect when %s is restarted",
			    SENDER_NAME);
		}
	}
	if (*state != '\0')
		sender_state_write(state, url, snd.boxes, snd.n);
}

static int
sender_run(struct conf **cfp)
{
	int rc = 0;

	if (http_global_init() == -1)
		return 1;
	configure(*cfp);
	for (int i = 0; i < snd.n && rc == 0; i++)
		rc = outbox_start(&snd.boxes[i]);
	if (rc == 0) {
		log_info("sending %d inboxes to %s", snd.n,
		    conf_str(*cfp, "sender", "url"));
		report(cfp);
	}
	signals_stop();
	for (int i = 0; i < snd.n; i++) {
		outbox_join(&snd.boxes[i]);
		inbox_watch_free(&snd.boxes[i].watch);
		inbox_close(&snd.boxes[i].ib);
	}
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct daemon_spec spec = {
		.name = SENDER_NAME,
		.init = sender_init,
		.run = sender_run,
		.section = "sender",
	};

	return daemon_main(argc, argv, &spec);
}
