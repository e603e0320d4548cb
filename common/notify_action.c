/* notify_action.c - the table of client notification's actions */
#include <string.h>

#include "notify_action.h"

#define CMD(n, s, d)                                                           \
	{                                                                      \
		n, NOTIFY_RUN_COMMAND, s, d, NULL                              \
	}

const struct notify_action notify_actions[] = {
	{ "policy", NOTIFY_RUN_POLICY, NULL, "download computer policy now",
	    NULL },
	CMD("quick-scan", "action_quick_scan",
	    "endpoint protection quick scan"),
	CMD("full-scan", "action_full_scan", "endpoint protection full scan"),
	CMD("definition-update", "action_definition_update",
	    "endpoint protection definition update"),
	CMD("hardware-inventory", "action_hardware_inventory",
	    "hardware inventory cycle"),
	CMD("software-inventory", "action_software_inventory",
	    "software inventory cycle"),
	CMD("evaluate-deployments", "action_evaluate_deployments",
	    "evaluate application deployments"),
	CMD("restart", "action_restart", "restart the computer"),
	CMD("wake-up", "action_wake_up", "wake the computer up"),
	CMD("verbose-logging-on", "action_verbose_logging_on",
	    "enable verbose logging"),
	CMD("verbose-logging-off", "action_verbose_logging_off",
	    "disable verbose logging"),
	CMD("collect-logs", "action_collect_logs", "collect the client's logs"),
	{ "next-sup", NOTIFY_RUN_AGENT, NULL,
	    "switch to the next software update point", "location sup --next" },
	{ "run-script", NOTIFY_RUN_SCRIPT, NULL,
	    "run a script the site approved, checked by its SHA-256", NULL },
	{ NULL, NOTIFY_RUN_COMMAND, NULL, NULL, NULL },
};

const struct notify_action *
notify_action_find(const char *name)
{
	for (size_t i = 0; notify_actions[i].name != NULL; i++)
		if (strcmp(notify_actions[i].name, name) == 0)
			return &notify_actions[i];
	return NULL;
}

bool
notify_action_valid(const char *name)
{
	return name != NULL && notify_action_find(name) != NULL;
}
