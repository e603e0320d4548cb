/* cmd_status.c - sitectl status: inbox backlogs and reporting components */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "sitectl.h"
#include "util/conf.h"
#include "util/db.h"
#include "util/sjson.h"

/* The notification servers and their clients online, by the latest
 * presence snapshots; NULL on a database error (then so is the rest). */
static json_t *
notify_servers(PGconn *db)
{
	PGresult *res = db_exec(db,
	    "SELECT server, count(*) FILTER (WHERE online), "
	    "count(*) FILTER (WHERE online AND via = 'tcp'), "
	    "count(*) FILTER (WHERE online AND via = 'http'), "
	    "" CTL_UTC("max(reported)") " FROM client_online "
	                                "GROUP BY server ORDER BY server",
	    0, NULL);
	json_t *list;

	if (res == NULL)
		return NULL;
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		sjson_set(o, "server", json_string(PQgetvalue(res, i, 0)));
		sjson_set(
		    o, "online", json_integer(atoll(PQgetvalue(res, i, 1))));
		sjson_set(o, "tcp", json_integer(atoll(PQgetvalue(res, i, 2))));
		sjson_set(
		    o, "http", json_integer(atoll(PQgetvalue(res, i, 3))));
		sjson_set(o, "reported", json_string(PQgetvalue(res, i, 4)));
		sjson_append(list, o);
	}
	PQclear(res);
	return list;
}

static void
print_servers(const json_t *list)
{
	printf("\n%-32s %8s %8s %8s  %s\n", "NOTIFICATION SERVER", "ONLINE",
	    "TCP", "HTTP", "REPORTED");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_array_get(list, i);

		printf("%-32s %8lld %8lld %8lld  %s\n",
		    ctl_text(json_string_value(json_object_get(o, "server"))),
		    json_integer_value(json_object_get(o, "online")),
		    json_integer_value(json_object_get(o, "tcp")),
		    json_integer_value(json_object_get(o, "http")),
		    json_string_value(json_object_get(o, "reported")));
	}
	if (json_array_size(list) == 0)
		printf("(no notification server has reported its clients)\n");
}

/* The components that have reported, or NULL with the reason in err;
 * the notification servers into *servers. */
static json_t *
components(struct ctl *ctl, json_t **servers, char *err, size_t errlen)
{
	PGconn *db = db_connect(site_conninfo(ctl->cf, "console"), err, errlen);
	PGresult *res;
	json_t *list;

	if (db == NULL)
		return NULL;
	if ((*servers = notify_servers(db)) == NULL) {
		snprintf(err, errlen, "could not read the online clients: %s",
		    db_error());
		PQfinish(db);
		return NULL;
	}
	res = db_exec(db,
	    "SELECT name, host, pid, state, detail, "
	    "extract(epoch FROM now() - last_report)::bigint, "
	    "to_char(started AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM component ORDER BY name, host",
	    0, NULL);
	if (res == NULL) {
		snprintf(
		    err, errlen, "could not read components: %s", db_error());
		json_decref(*servers);
		*servers = NULL;
		PQfinish(db);
		return NULL;
	}
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		sjson_set(o, "name", json_string(PQgetvalue(res, i, 0)));
		sjson_set(o, "host", json_string(PQgetvalue(res, i, 1)));
		sjson_set(o, "pid", json_integer(atoll(PQgetvalue(res, i, 2))));
		sjson_set(o, "state", json_string(PQgetvalue(res, i, 3)));
		sjson_set(o, "detail", json_string(PQgetvalue(res, i, 4)));
		sjson_set(o, "last_report_age_seconds",
		    json_integer(atoll(PQgetvalue(res, i, 5))));
		sjson_set(o, "started", json_string(PQgetvalue(res, i, 6)));
		sjson_append(list, o);
	}
	PQclear(res);
	PQfinish(db);
	return list;
}

static void
print_components(const json_t *list)
{
	printf("%-20s %-16s %7s %-10s %8s  %s\n", "COMPONENT", "HOST", "PID",
	    "STATE", "REPORTED", "DETAIL");
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *o = json_array_get(list, i);

		printf("%-20s %-16s %7lld %-10s %7llds  %s\n",
		    ctl_text(json_string_value(json_object_get(o, "name"))),
		    ctl_text(json_string_value(json_object_get(o, "host"))),
		    json_integer_value(json_object_get(o, "pid")),
		    ctl_text(json_string_value(json_object_get(o, "state"))),
		    json_integer_value(
		        json_object_get(o, "last_report_age_seconds")),
		    ctl_text(json_string_value(json_object_get(o, "detail"))));
	}
	if (json_array_size(list) == 0)
		printf("(no component has reported yet)\n");
}

int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	char ierr[4200], cerr[1600], serr[4400];
	const char *vals[1], *pos[1];
	json_t *doc, *boxes, *comps, *servers = NULL, *sender;
	int npos;

	if (ctl_parse(ctl, argc, argv, NULL, vals, pos, 0, &npos) == -1)
		return ctl_usage("status");
	boxes = ctl_inboxes(ctl, ierr, sizeof(ierr));
	sender = ctl_sender(ctl, serr, sizeof(serr));
	comps = components(ctl, &servers, cerr, sizeof(cerr));
	if (ctl->json) {
		doc = json_object();
		sjson_set(doc, "inbox_dir",
		    json_string(conf_str(ctl->cf, "site", "inbox_dir")));
		sjson_set(
		    doc, "inboxes", boxes ? json_incref(boxes) : json_null());
		if (boxes == NULL)
			sjson_set(doc, "inbox_error", json_string(ierr));
		if (sender != NULL || *serr != '\0')
			sjson_set(doc, "sender",
			    sender ? json_incref(sender)
			           : json_pack("{s:s}", "error", serr));
		sjson_set(doc, "components",
		    comps ? json_incref(comps) : json_null());
		if (comps == NULL)
			sjson_set(doc, "database_error", json_string(cerr));
		sjson_set(doc, "notification_servers",
		    servers ? json_incref(servers) : json_null());
		ctl_json(doc);
		json_decref(doc);
	} else {
		printf("inboxes in %s\n",
		    ctl_text(conf_str(ctl->cf, "site", "inbox_dir")));
		if (boxes != NULL)
			ctl_print_inboxes(boxes);
		else
			printf("  %s\n", ctl_text(ierr));
		printf("\n");
		if (sender != NULL)
			ctl_print_sender(sender), printf("\n");
		else if (*serr != '\0')
			printf("sender: %s\n\n", ctl_text(serr));
		if (comps != NULL) {
			print_components(comps);
			print_servers(servers);
		} else
			printf("components: %s\n", ctl_text(cerr));
	}
	json_decref(boxes);
	json_decref(comps);
	json_decref(servers);
	json_decref(sender);
	if (boxes == NULL)
		ctl_err("%s", ierr);
	if (comps == NULL)
		ctl_err("%s", cerr);
	if (boxes == NULL || comps == NULL)
		return EXIT_FAIL;
	return EXIT_OK;
}
