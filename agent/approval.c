/*
 * approval.c - this client's registration as the management point last
 * saw it: approved, pending the site's approval, or refused (blocked,
 * unregistered, its GUID bound to another certificate, ...). Kept in
 * status.json as "registration": {"state", "reason", "since", "time"};
 * a change is logged once, so that a client polling while it waits for
 * approval does not fill the log.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "util/log.h"
#include "util/sjson.h"

/* Log the new state, at the level it deserves. */
static void
approval_log(const struct store *st, const char *state, const char *reason)
{
	const char *sep = *reason ? ": " : "";

	if (strcmp(state, "approved") == 0)
		log_info("the site has approved %s", st->guid);
	else if (strcmp(state, "pending") == 0)
		log_warn(
		    "%s awaits the site's approval%s%s", st->guid, sep, reason);
	else
		log_error("the management point refuses %s (%s)%s%s", st->guid,
		    state, sep, reason);
}

void
approval_note(struct store *st, const char *state, const char *reason)
{
	char now[AGENT_TIME_LEN];
	json_t *status, *was, *v;
	const char *since;
	bool changed;

	if (store_lock(st) == -1)
		return;
	msg_now(now);
	status = store_status(st);
	was = json_object_get(status, "registration");
	changed = !json_is_string(json_object_get(was, "state")) ||
	    strcmp(json_string_value(json_object_get(was, "state")), state) !=
	        0;
	since =
	    changed ? now : json_string_value(json_object_get(was, "since"));
	v = json_pack("{s:s,s:s,s:s,s:s}", "state", state, "reason", reason,
	    "since", since ? since : now, "time", now);
	if (v == NULL)
		abort();
	json_decref(status);
	store_status_set(st, "registration", v);
	store_unlock(st);
	if (changed)
		approval_log(st, state, reason);
}
