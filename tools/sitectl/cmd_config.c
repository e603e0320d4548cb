/* cmd_config.c - sitectl config check|show: the settings in effect */
#include <stdio.h>
#include <string.h>

#include "sitectl.h"
#include "util/conf.h"
#include "util/sjson.h"

static const char *
value_of(
    const struct conf *cf, const struct conf_setting *s, char *buf, size_t len)
{
	switch (s->type) {
	case CONF_INT:
		snprintf(buf, len, "%lld", conf_int(cf, s->section, s->name));
		return buf;
	case CONF_BOOL:
		return conf_bool(cf, s->section, s->name) ? "yes" : "no";
	default:
		return conf_str(cf, s->section, s->name);
	}
}

static int
config_show(struct ctl *ctl)
{
	const char *section = "";
	json_t *doc = json_object();
	char buf[32];

	for (const struct conf_setting *s = conf_settings; s->section; s++) {
		const char *v = value_of(ctl->cf, s, buf, sizeof(buf));
		json_t *sec = json_object_get(doc, s->section);

		if (sec == NULL) {
			sec = json_object();
			sjson_set(doc, s->section, sec);
		}
		sjson_set(sec, s->name,
		    s->type == CONF_INT
		        ? json_integer(conf_int(ctl->cf, s->section, s->name))
		        : s->type == CONF_BOOL
		        ? json_boolean(conf_bool(ctl->cf, s->section, s->name))
		        : json_string(v));
		if (ctl->json)
			continue;
		if (strcmp(section, s->section) != 0)
			printf("%s[%s]\n", *section ? "\n" : "", s->section);
		section = s->section;
		printf("# %s (default: \"%s\")\n%s = %s\n", s->doc, s->def,
		    s->name, v);
	}
	if (ctl->json)
		ctl_json(doc);
	json_decref(doc);
	return EXIT_OK;
}

int
cmd_config(struct ctl *ctl, int argc, char **argv)
{
	const char *vals[1], *pos[1];
	int npos;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, NULL, vals, pos, 0, &npos) == -1)
		return ctl_usage("config");
	if (strcmp(argv[1], "check") == 0) {
		printf("%s: configuration ok\n",
		    conf_path(ctl->cf) ? conf_path(ctl->cf) : "(defaults)");
		return EXIT_OK;
	}
	if (strcmp(argv[1], "show") == 0)
		return config_show(ctl);
	return ctl_usage("config");
}
