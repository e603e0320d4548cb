/*
 * statemsg.h - the state message batch, sitesys-statemsg(5): one client's
 * messages, each with its serial number, time, topic, state and parameters
 */
#ifndef SITESYS_STATEMSG_H
#define SITESYS_STATEMSG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATEMSG_FORMAT "sitesys.statemsg/1"
/* In statsys.box only: many clients' batches in one file, one transaction */
#define STATEMSG_SET_FORMAT "sitesys.statemsg-set/1"
#define STATEMSG_SET_MAX 100000

/* Limits, documented in sitesys-statemsg(5); anything over is refused. */
#define STATEMSG_MAX_BODY (1024 * 1024)
#define STATEMSG_MAX_MESSAGES 10000
#define STATEMSG_MAX_TOPIC_ID 256
#define STATEMSG_MAX_DETAILS 4096
#define STATEMSG_MAX_PARAMS 16
#define STATEMSG_MAX_PARAM 256
#define STATEMSG_MAX_SERIAL 9007199254740991LL /* 2^53 - 1 */
#define STATEMSG_GUID_LEN 41 /* "GUID:" + 36 */
#define STATEMSG_MAX_SIGNATURE 128 /* base64 of the agent's signature */
/* A set's "via" when a fallback status point forwarded it */
#define STATEMSG_VIA_FSP "fsp"

struct statemsg {
	int64_t serial;
	const char *time; /* RFC 3339, UTC, as sent */
	int64_t time_us; /* the same, microseconds since the epoch */
	int topic_type;
	const char *topic_id;
	int topic_id_type;
	int state_id;
	int criticality;
	const char *details; /* may be NULL */
	json_t *params; /* array of strings, may be NULL */
};

struct statemsg_batch {
	json_t *doc; /* owns every string the messages point to */
	const char *client;
	size_t n;
	struct statemsg *msgs;
	const char *signature; /* base64, or NULL: not signed */
	bool via_fsp; /* in a set a fallback status point forwarded */
};

/*
 * statemsg_parse - check doc against the format and its limits and fill
 * batch (taking a reference to doc); 0, or -1 with the reason in why
 */
int statemsg_parse(
    json_t *doc, struct statemsg_batch *batch, char *why, size_t whylen);

/* statemsg_free - release what statemsg_parse took */
void statemsg_free(struct statemsg_batch *batch);

/*
 * statemsg_parse_file - a statsys.box document: one batch, or a set of
 * batches ("batches": [...]); *batches is allocated; 0, or -1 with why
 */
int statemsg_parse_file(json_t *doc, struct statemsg_batch **batches, size_t *n,
    char *why, size_t whylen);

/* statemsg_free_all - free what statemsg_parse_file made */
void statemsg_free_all(struct statemsg_batch *batches, size_t n);

/*
 * statemsg_signed_text - what a batch's "signature" is over: the batch
 * doc without its "signature", its "client" in lower case, printed
 * compactly with members sorted by name and non-ASCII characters escaped
 * (sitesys-statemsg(5)); malloc'd, or NULL out of memory
 */
char *statemsg_signed_text(const json_t *doc);

/* statemsg_valid_guid - "GUID:" and a UUID in its 8-4-4-4-12 form */
int statemsg_valid_guid(const char *s);

/* statemsg_guid_lower - a valid client id with its hex in lower case */
void statemsg_guid_lower(const char *guid, char out[STATEMSG_GUID_LEN + 1]);

/* statemsg_parse_time - RFC 3339 UTC ("...Z", optional fraction) to µs */
int statemsg_parse_time(const char *s, int64_t *us);

#endif
