/*
 * notify_action.h - the actions of client notification (sitesys-notify(7)):
 * the names sitectl notify takes, the task frames carry and the agent
 * runs
 */
#ifndef SITESYS_NOTIFY_ACTION_H
#define SITESYS_NOTIFY_ACTION_H

#include <stdbool.h>
#include <stddef.h>

/* One action: its name and what the administrator reads about it. */
struct notify_action {
	const char *name; /* "quick-scan" */
	const char *summary; /* "endpoint protection quick scan" */
};

/* notify_actions - the table, ended by a NULL name */
extern const struct notify_action notify_actions[];

/* notify_action_valid - whether name is an action of the table */
bool notify_action_valid(const char *name);

#endif
