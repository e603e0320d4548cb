/*
 * location_json.h - the location request and answer on the wire
 * (sitesys-location(5)): the MP reads requests and writes answers,
 * the agent the other way round, sitectl prints answers
 */
#ifndef SITESYS_LOCATION_JSON_H
#define SITESYS_LOCATION_JSON_H

#include <jansson.h>

#include "location.h"

#define LOC_REQUEST_FORMAT "sitesys.location/1"
#define LOC_ANSWER_FORMAT "sitesys.location-answer/1"

/* The largest request body a management point reads. */
#define LOC_REQUEST_MAX 16384

/*
 * loc_request_parse - check doc against sitesys.location/1 and fill req
 * (its strings point into doc) and *client; 0, or -1 with the reason
 */
int loc_request_parse(const json_t *doc, struct loc_request *req,
    const char **client, char *why, size_t len);

/*
 * loc_answer_json - ans to a request for role as a
 * sitesys.location-answer/1 document; assigned_site: the client's site
 * (its own or just assigned), or NULL
 */
json_t *loc_answer_json(const struct loc_answer *ans, enum loc_role role,
    const char *assigned_site);

#endif
