/* notify_action.c - the actions of client notification */
#include <string.h>

#include "notify_action.h"

const struct notify_action notify_actions[] = {
	{ "policy", "download computer policy" },
	{ "quick-scan", "endpoint protection quick scan" },
	{ "full-scan", "endpoint protection full scan" },
	{ "definition-update", "endpoint protection definition update" },
	{ "hardware-inventory", "collect hardware inventory" },
	{ "software-inventory", "collect software inventory" },
	{ "evaluate-deployments", "evaluate deployments" },
	{ "restart", "restart the computer" },
	{ "wake-up", "wake up" },
	{ "verbose-logging-on", "enable verbose logging" },
	{ "verbose-logging-off", "disable verbose logging" },
	{ "collect-logs", "collect client logs" },
	{ "next-sup", "switch to the next software update point" },
	{ "run-script", "run an approved script" },
	{ NULL, NULL },
};

bool
notify_action_valid(const char *name)
{
	for (const struct notify_action *a = notify_actions; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return true;
	return false;
}
