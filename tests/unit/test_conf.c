/* test_conf.c - the config file: values, every kind of error, the man page */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "settings.h"
#include "util/conf.h"

static char path[64];

/* Write text to a fresh temporary file named in path. */
static void
write_conf(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/sitesys-conf-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Load text and expect failure with "PATH:" + suffix. */
static void
expect_error(const char *text, const char *suffix)
{
	char err[512], want[512];

	write_conf(text);
	assert_null(conf_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:%s", path, suffix);
	assert_string_equal(err, want);
	unlink(path);
}

static void
test_defaults(void **state)
{
	char err[256];
	struct conf *cf = conf_load(NULL, err, sizeof(err));

	(void)state;
	assert_non_null(cf);
	assert_string_equal(
	    conf_str(cf, "site", "inbox_dir"), "/var/spool/sitesys");
	assert_string_equal(conf_str(cf, "database", "conninfo"), "");
	assert_int_equal(conf_int(cf, "inbox", "batch_files"), 256);
	assert_int_equal(conf_int(cf, "inbox", "rescan_seconds"), 60);
	assert_null(conf_path(cf));
	conf_free(cf);
}

static void
test_values(void **state)
{
	char err[256];
	struct conf *cf;

	(void)state;
	write_conf("# comment\n"
	           "; another\n"
	           "\n"
	           "[site]\n"
	           "  inbox_dir = /srv/inbox  \n"
	           "[database]\n"
	           "conninfo = \"host=/run/pg dbname=site\"\n"
	           "[log]\n"
	           "level=debug\n"
	           "[inbox]\n"
	           "batch_files = 1000\n"
	           "[agent]\n"
	           "mp_url_template = https://%s/mp/v1\n"
	           "site_ca = /etc/sitesys/site-ca.crt\n");
	cf = conf_load(path, err, sizeof(err));
	assert_non_null(cf);
	assert_string_equal(conf_str(cf, "site", "inbox_dir"), "/srv/inbox");
	assert_string_equal(
	    conf_str(cf, "database", "conninfo"), "host=/run/pg dbname=site");
	assert_string_equal(conf_str(cf, "log", "level"), "debug");
	assert_int_equal(conf_int(cf, "inbox", "batch_files"), 1000);
	assert_int_equal(conf_int(cf, "inbox", "settle_seconds"), 5);
	assert_string_equal(
	    conf_str(cf, "agent", "mp_url_template"), "https://%s/mp/v1");
	assert_string_equal(conf_path(cf), path);
	conf_free(cf);
	unlink(path);
}

/* Each program's conninfo is its own section's, else [database]'s. */
static void
test_conninfo_fallback(void **state)
{
	char err[256];
	struct conf *cf;

	(void)state;
	write_conf("[database]\n"
	           "conninfo = dbname=site user=postgres\n"
	           "[mp]\n"
	           "conninfo = dbname=site user=sitesys_mp\n"
	           "[statesys]\n"
	           "conninfo =\n");
	cf = conf_load(path, err, sizeof(err));
	assert_non_null(cf);
	assert_string_equal(
	    site_conninfo(cf, "mp"), "dbname=site user=sitesys_mp");
	assert_string_equal(
	    site_conninfo(cf, "statesys"), "dbname=site user=postgres");
	assert_string_equal(
	    site_conninfo(cf, "console"), "dbname=site user=postgres");
	assert_string_equal(
	    site_conninfo(cf, "database"), "dbname=site user=postgres");
	assert_string_equal(
	    conf_str(cf, "database", "passfile"), "/etc/sitesys/pgpass");
	conf_free(cf);
	unlink(path);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("[site]\nnosuch = 1\n",
	    "2: unknown key \"nosuch\" in section [site]");
	expect_error("\n\n[nosuch]\n", "3: unknown section [nosuch]");
	expect_error(
	    "inbox_dir = /x\n", "1: key \"inbox_dir\" outside of any section");
	expect_error("[inbox]\nbatch_files = 0\n",
	    "2: batch_files: 0 is out of range (1..100000)");
	expect_error("[inbox]\nbatch_files = 100001\n",
	    "2: batch_files: 100001 is out of range (1..100000)");
	expect_error("[inbox]\nbatch_files = 12x\n",
	    "2: batch_files: \"12x\" is not a whole number");
	expect_error("[inbox]\nbatch_files =\n",
	    "2: batch_files: \"\" is not a whole number");
	expect_error("[log]\nlevel = loud\n",
	    "2: level: \"loud\" is not one of error|warning|info|debug");
	expect_error("[site]\ninbox_dir = /a\ninbox_dir = /b\n",
	    "3: duplicate key \"inbox_dir\" (first set on line 2)");
	expect_error("[agent]\nmp_url_template = https://mp/mp/v1\n",
	    "2: mp_url_template: \"https://mp/mp/v1\" must hold %s exactly "
	    "once");
	expect_error("[agent]\nmp_url_template = https://%s/%s\n",
	    "2: mp_url_template: \"https://%s/%s\" must hold %s exactly "
	    "once");
	expect_error("[agent]\nmp_url_template = http://%s/mp/v1\n",
	    "2: mp_url_template: \"http://%s/mp/v1\" is not an https:// URL");
	expect_error("[agent]\nsite_ca = /ca.crt\nmp_url = http://mp/mp/v1\n",
	    "3: mp_url: \"http://mp/mp/v1\" is not an https:// URL");
	expect_error("[site]\nuser = x\n[agent]\nmp_url = https://mp/mp/v1\n",
	    "4: mp_url: needs [agent] site_ca too: the site CA's certificate "
	    "(PEM), the only issuer the agent trusts for management points");
	expect_error("[agent]\nmp_url_template = https://%s/mp/v1\n",
	    "2: mp_url_template: needs [agent] site_ca too: the site CA's "
	    "certificate (PEM), the only issuer the agent trusts for "
	    "management points");
	expect_error("[database]\npassfile = pgpass\n",
	    "2: passfile: \"pgpass\" is not an absolute path");
	expect_error("[site\n", "1: malformed section header");
	expect_error("[site]\njust words\n", "2: expected \"key = value\"");
}

/* Load len bytes of text (NULs and all); the error, or "" if it loaded. */
static void
load_bytes(const char *text, size_t len, char *err, size_t errlen)
{
	struct conf *cf;
	int fd;

	snprintf(path, sizeof(path), "/tmp/sitesys-conf-XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	err[0] = '\0';
	if ((cf = conf_load(path, err, errlen)) != NULL)
		conf_free(cf);
	unlink(path);
}

static void
test_nul_byte(void **state)
{
	static const char nul[] = "[site]\ninbox_dir = /x\0y\n";
	static const char last[] = "[site]\n\0";
	static const char ones[] = "[site]\ninbox_dir = /x\x01\x01";
	char err[512], want[512], *big;

	(void)state;
	load_bytes(nul, sizeof(nul) - 1, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2: NUL byte in the line", path);
	assert_string_equal(err, want);
	load_bytes(last, sizeof(last) - 1, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:2: NUL byte in the line", path);
	assert_string_equal(err, want);
	/* 0x01 bytes at the end of a last line without newline are text */
	load_bytes(ones, sizeof(ones) - 1, err, sizeof(err));
	assert_string_equal(err, "");
	/* a long line is still too long, not a NUL */
	assert_non_null(big = malloc(5000));
	memcpy(big, "[site]\n#", 8);
	memset(big + 8, 'x', 5000 - 9);
	big[4999] = '\n';
	load_bytes(big, 5000, err, sizeof(err));
	free(big);
	snprintf(want, sizeof(want), "%s:2: line too long", path);
	assert_string_equal(err, want);
}

static void
test_missing_file(void **state)
{
	char err[512];

	(void)state;
	assert_null(conf_load("/nonexistent/sitesys.conf", err, sizeof(err)));
	assert_string_equal(err,
	    "/nonexistent/sitesys.conf:0: could not open "
	    "config file: No such file or directory");
}

static void
test_resolve_path(void **state)
{
	bool explicit;

	(void)state;
	unsetenv("SITESYS_CONF");
	assert_string_equal(
	    conf_resolve_path(NULL, &explicit), CONF_DEFAULT_PATH);
	assert_false(explicit);
	setenv("SITESYS_CONF", "/env.conf", 1);
	assert_string_equal(conf_resolve_path(NULL, &explicit), "/env.conf");
	assert_true(explicit);
	assert_string_equal(
	    conf_resolve_path("/opt.conf", &explicit), "/opt.conf");
	unsetenv("SITESYS_CONF");
}

/*
 * Every setting in the table is documented in sitesys.conf(5) under its
 * section, with its default: ".It Ic NAME", "Default:", ".Ql DEFAULT ."
 */
static void
test_man_page_lists_every_setting(void **state)
{
	FILE *fp = fopen("man/sitesys.conf.5", "r");
	static char page[256 * 1024];
	size_t len;

	(void)state;
	assert_non_null(fp);
	len = fread(page, 1, sizeof(page) - 1, fp);
	fclose(fp);
	page[len] = '\0';
	for (const struct conf_setting *s = conf_settings; s->section; s++) {
		char sec[64], item[128], def[256];
		const char *in_sec, *next_sec, *at;

		snprintf(sec, sizeof(sec), "\n.Ss [%s]\n", s->section);
		snprintf(item, sizeof(item), "\n.It Ic %s\n", s->name);
		if (*s->def == '\0')
			snprintf(def, sizeof(def), "%sDefault: empty.\n", item);
		else
			snprintf(def, sizeof(def), "%sDefault:\n.Ql %s .\n",
			    item, s->def);
		in_sec = strstr(page, sec);
		if (in_sec == NULL)
			fail_msg(
			    "sitesys.conf.5 has no section [%s]", s->section);
		next_sec = strstr(in_sec + 1, "\n.Ss ");
		at = strstr(in_sec, def);
		if (at == NULL || (next_sec != NULL && at > next_sec))
			fail_msg("sitesys.conf.5 does not document [%s] %s "
			         "with default \"%s\"",
			    s->section, s->name, s->def);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_conninfo_fallback),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_resolve_path),
		cmocka_unit_test(test_man_page_lists_every_setting),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
