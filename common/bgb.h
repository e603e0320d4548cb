/*
 * bgb.h - the files of bgb.box (sitesys-bgb(5)): task status (.bts) and
 * online presence (.bos), written by sitesys-notifyd and loaded by
 * sitesys-notifymgr
 */
#ifndef SITESYS_BGB_H
#define SITESYS_BGB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify_frame.h"

#define BGB_BTS_FORMAT "sitesys.bts/1"
#define BGB_BOS_FORMAT "sitesys.bos/1"
#define BGB_MAX_EVENTS 10000 /* events in one .bts */
#define BGB_MAX_ONLINE 1000000 /* clients in one .bos */
#define BGB_MAX_OUTPUT NOTIFY_MAX_OUTPUT /* bytes of a result's output */
#define BGB_MAX_SERVER 255 /* bytes of a server's name */
#define BGB_MAX_TASK 9007199254740991LL /* 2^53 - 1 */
#define BGB_MAX_WORKER 1023 /* a server's worker processes are 0 to this */

enum bgb_event_kind { BGB_PUSHED, BGB_RECEIVED, BGB_RESULT };

/* The status a result reports. */
enum bgb_status { BGB_SUCCEEDED, BGB_FAILED, BGB_UNSUPPORTED };

/* One event of a .bts; strings point into the document. */
struct bgb_event {
	long long task;
	const char *client; /* "GUID:...", as the client's certificate says */
	enum bgb_event_kind kind;
	int64_t at_us; /* when it happened, µs since the epoch */
	enum bgb_status status; /* a result's */
	bool has_exit;
	int exit_code; /* a result's exit status, when has_exit */
	const char *output; /* a result's output, or NULL */
};

/* One online client of a .bos; strings point into the document. */
struct bgb_presence {
	const char *client;
	int64_t since_us;
	const char *via; /* "tcp" or "http" */
};

/* A parsed .bts or .bos; strings point into the document it came from. */
struct bgb_file {
	bool presence; /* a .bos; else a .bts */
	const char *server;
	int worker; /* .bos: the server's worker process it is of (0) */
	int64_t at_us; /* .bos: when the snapshot was taken */
	struct bgb_event *events; /* .bts */
	struct bgb_presence *online; /* .bos */
	size_t n; /* events or online clients */
};

/*
 * bgb_parse - check doc, a .bts or .bos by its "format", against
 * sitesys-bgb(5) and describe it in *f (which points into doc: keep doc
 * while f is used); 0, or -1 with the first fault and where it is in why
 * ("events[3].status: \"maybe\" is not succeeded, failed or unsupported")
 */
int bgb_parse(const json_t *doc, struct bgb_file *f, char *why, size_t len);

/* bgb_free - release what bgb_parse allocated in f */
void bgb_free(struct bgb_file *f);

/* bgb_event_name, bgb_status_name - the names sitesys-bgb(5) uses */
const char *bgb_event_name(enum bgb_event_kind k);
const char *bgb_status_name(enum bgb_status s);

#endif
