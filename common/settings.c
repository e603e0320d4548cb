/*
 * settings.c - every setting of the suite, section by section
 *
 * One table so that any program can refuse an unknown key in any section of
 * the host's one file, and so that sitesys.conf(5) can be checked against it.
 */
#include "conf.h"

#define STR(s, n, d, doc)                                                      \
	{                                                                      \
		s, n, CONF_STR, d, 0, 0, NULL, doc                             \
	}
#define CHOICE(s, n, d, c, doc)                                                \
	{                                                                      \
		s, n, CONF_STR, d, 0, 0, c, doc                                \
	}
#define INT(s, n, d, lo, hi, doc)                                              \
	{                                                                      \
		s, n, CONF_INT, d, lo, hi, NULL, doc                           \
	}
#define BOOL(s, n, d, doc)                                                     \
	{                                                                      \
		s, n, CONF_BOOL, d, 0, 0, NULL, doc                            \
	}

const struct conf_setting conf_settings[] = {
	STR("site", "inbox_dir", "/var/spool/sitesys",
	    "directory holding statsys.box, bgb.box and the other inboxes"),
	STR("site", "user", "sitesys",
	    "unprivileged user a daemon started as root switches to"),

	STR("database", "conninfo", "",
	    "libpq connection string; what it leaves out comes from PGHOST, "
	    "PGPORT, PGDATABASE, PGUSER"),
	INT("database", "retry_max_seconds", "60", 1, 3600,
	    "longest wait between two attempts to reach the database"),

	STR("log", "file", "",
	    "append log lines to this file; empty: standard error"),
	CHOICE("log", "level", "info", "error|warning|info|debug",
	    "least important level written"),

	INT("inbox", "batch_files", "256", 1, 100000,
	    "most files a reader takes into one transaction"),
	INT("inbox", "rescan_seconds", "60", 1, 86400,
	    "a reader rescans incoming/ this often even without inotify"),
	INT("inbox", "settle_seconds", "5", 0, 3600,
	    "an unparsable file younger than this is assumed still copying"),
	INT("inbox", "stale_tmp_seconds", "3600", 1, 604800,
	    "at start-up, tmp/ files older than this are purged"),
	INT("inbox", "ledger_keep_days", "14", 1, 3650,
	    "how long a processed file name is remembered to refuse repeats"),

	{ 0 }
};
