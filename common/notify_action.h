/*
 * notify_action.h - the actions of client notification (sitesys-notify(7)):
 * the one table of their names, used by sitectl, sitesys-notifyd and the
 * agent
 */
#ifndef SITESYS_NOTIFY_ACTION_H
#define SITESYS_NOTIFY_ACTION_H

#include <stdbool.h>
#include <stddef.h>

/* How the agent carries an action out. */
enum notify_run {
	NOTIFY_RUN_POLICY, /* poll the policy now */
	NOTIFY_RUN_COMMAND, /* the command its [agent] setting names */
	NOTIFY_RUN_SCRIPT, /* the task's approved script */
	NOTIFY_RUN_AGENT /* sitesys-agent itself, with the entry's args */
};

/* One action: its name on the wire and on sitectl's command line. */
struct notify_action {
	const char *name; /* "quick-scan" */
	enum notify_run run;
	const char *setting; /* [agent] setting of its command, or NULL */
	const char *doc; /* one line, for sitectl and the man pages */
	const char *args; /* NOTIFY_RUN_AGENT: the agent's command */
};

/* The table, ended by an entry whose name is NULL. */
extern const struct notify_action notify_actions[];

/* notify_action_find - the entry named name, or NULL if there is none */
const struct notify_action *notify_action_find(const char *name);

/* notify_action_valid - whether name is an action of the table */
bool notify_action_valid(const char *name);

#endif
