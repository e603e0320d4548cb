/*
 * settings.c - every setting of the suite, section by section
 *
 * One table so that any program can refuse an unknown key in any section of
 * the host's one file, and so that sitesys.conf(5) can be checked against it.
 */
#include <string.h>

#include "settings.h"
#include "statemsg.h"
#include "util/conf.h"

#define STR(s, n, d, doc)                                                      \
	{                                                                      \
		s, n, CONF_STR, d, 0, 0, NULL, doc, NULL, NULL                 \
	}
#define CHOICE(s, n, d, c, doc)                                                \
	{                                                                      \
		s, n, CONF_STR, d, 0, 0, c, doc, NULL, NULL                    \
	}
#define CHECKED(s, n, d, check, doc)                                           \
	{                                                                      \
		s, n, CONF_STR, d, 0, 0, NULL, doc, check, NULL                \
	}
/* a string checked by check, which needs setting needs of its section */
#define NEEDS(s, n, d, check, needs, doc)                                      \
	{                                                                      \
		s, n, CONF_STR, d, 0, 0, NULL, doc, check, needs               \
	}
#define INT(s, n, d, lo, hi, doc)                                              \
	{                                                                      \
		s, n, CONF_INT, d, lo, hi, NULL, doc, NULL, NULL               \
	}
#define BOOL(s, n, d, doc)                                                     \
	{                                                                      \
		s, n, CONF_BOOL, d, 0, 0, NULL, doc, NULL, NULL                \
	}

/* the command of a notification action (notify_action.h), unset */
#define ACTION(a)                                                              \
	STR("agent", "action_" a, "",                                          \
	    "the command run for the notification action of this name; "       \
	    "empty: unsupported")

const struct conf_setting conf_settings[] = {
	STR("site", "inbox_dir", "/var/spool/sitesys",
	    "directory holding statsys.box, bgb.box and the other inboxes"),
	STR("site", "user", "sitesys",
	    "unprivileged user a daemon started as root switches to"),
	STR("site", "fastcgi_group", "www-data",
	    "group of nginx's workers, the only ones who may connect to the "
	    "FastCGI sockets (empty: nginx runs as [site] user)"),

	STR("database", "conninfo", "",
	    "the administrator's libpq connection string (sitectl db), and "
	    "that of a program whose own is empty; PGHOST, PGPORT, "
	    "PGDATABASE, PGUSER fill in what it leaves out"),
	INT("database", "retry_max_seconds", "60", 1, 3600,
	    "longest wait between two attempts to reach the database"),
	CHECKED("database", "passfile", "/etc/sitesys/pgpass",
	    conf_check_absolute,
	    "libpq password file where sitectl db init keeps the programs' "
	    "passwords"),

	STR("console", "conninfo", "",
	    "sitectl's connection string (all but db); empty: [database] "
	    "conninfo"),
	INT("console", "notify_valid_minutes", "60", 1, 10080,
	    "a client notification task reaches clients that come online "
	    "this long after it starts (sitectl notify --valid)"),

	STR("ca", "dir", "/etc/sitesys/ca",
	    "the site CA's directory: its key, certificate, CRL and what it "
	    "issued (sitectl ca)"),
	INT("ca", "cert_days", "397", 1, 3650,
	    "a site system's certificate is valid this many days"),
	INT("ca", "crl_days", "30", 1, 365,
	    "the revocation list is valid this many days after each change"),

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

	STR("statesys", "conninfo", "",
	    "sitesys-statesys's connection string; empty: [database] "
	    "conninfo"),
	INT("statesys", "resync_check_minutes", "15", 1, 1440,
	    "how often clients' missing serial ranges are checked"),
	INT("statesys", "resync_min_age_minutes", "2880", 1, 525600,
	    "a missing range younger than this is left to arrive late"),
	INT("statesys", "resync_reissue_days", "3", 1, 365,
	    "a resync request not completed in this time is issued again"),
	INT("statesys", "history_days", "90", 1, 3650,
	    "days the history keeps; older days are dropped whole"),
	INT("statesys", "serial_window", "10000000", 1000, STATEMSG_MAX_SERIAL,
	    "a serial more than this beyond a client's next expected one is "
	    "refused"),
	INT("statesys", "future_minutes", "1440", 1, 525600,
	    "a message dated more than this ahead goes to the history only"),

	STR("notifyd", "conninfo", "",
	    "sitesys-notifyd's connection string; empty: [database] "
	    "conninfo"),
	STR("notifyd", "listen", "0.0.0.0:10123",
	    "address and port of the clients' TLS connections, ADDR:PORT or "
	    "[ADDR6]:PORT"),
	NEEDS("notifyd", "cert", "", conf_check_absolute, "key",
	    "the management point's site certificate (PEM), its chain after "
	    "it"),
	NEEDS("notifyd", "key", "", conf_check_absolute, "cert",
	    "the key of that certificate (PEM, mode 0600)"),
	STR("notifyd", "server_name", "",
	    "the server's name in hello and in bgb.box files; empty: the "
	    "host name"),
	INT("notifyd", "keepalive_seconds", "900", 10, 86400,
	    "clients send a keepalive this often"),
	INT("notifyd", "grace_seconds", "120", 1, 86400,
	    "a client whose keepalive is this late is counted gone"),
	INT("notifyd", "presence_minutes", "5", 1, 1440,
	    "a presence file (.bos) is written this often"),
	INT("notifyd", "status_seconds", "5", 1, 3600,
	    "task events are written (.bts) this often, when there are any"),
	INT("notifyd", "workers", "1", 0, 64,
	    "processes sharing the port, each holding its own clients (0: "
	    "one per core)"),
	INT("notifyd", "handshakes", "256", 1, 100000,
	    "TLS handshakes a worker makes at once; more connections wait "
	    "in the kernel's queue (delayed, never refused)"),
	STR("notifyd", "ticket_file", "",
	    "the session-ticket keys the workers share and keep across "
	    "restarts, so that clients resume their TLS sessions (empty: "
	    "no resumption)"),
	INT("notifyd", "ticket_rotate_hours", "24", 1, 720,
	    "a new ticket key is made when the newest is this old"),
	STR("notifyd", "http_socket", "/run/sitesys/notifyd.sock",
	    "unix socket on which nginx passes the HTTP fallback's polls to "
	    "sitesys-notifyd (empty: no HTTP fallback)"),
	INT("notifyd", "poll_seconds", "50", 1, 3600,
	    "a client's HTTP poll is held this long when no task waits"),
	INT("notifyd", "reconnect_window_seconds", "60", 1, 3600,
	    "at a stop, clients are told to come back within this window"),

	STR("notifymgr", "conninfo", "",
	    "sitesys-notifymgr's connection string; empty: [database] "
	    "conninfo"),

	STR("receiver", "fastcgi_socket", "/run/sitesys/receiver.sock",
	    "unix socket on which nginx reaches sitesys-receiver"),
	INT("receiver", "threads", "16", 1, 1024,
	    "files sitesys-receiver takes at once"),

	CHECKED("sender", "url", "", conf_check_https,
	    "the site server's HTTPS address, where sitesys-receiver takes "
	    "files"),
	STR("sender", "boxes", "statsys.box bgb.box",
	    "the inboxes of [site] inbox_dir that sitesys-sender delivers"),
	NEEDS("sender", "cert", "", conf_check_absolute, "key",
	    "this site system's certificate, from sitectl ca issue"),
	NEEDS("sender", "key", "", conf_check_absolute, "cert",
	    "its private key, readable by [site] user"),
	CHECKED("sender", "site_ca", "", conf_check_absolute,
	    "the site's CA certificate, the only one trusted for the site "
	    "server"),
	CHECKED("sender", "site_crl", "", conf_check_absolute,
	    "the site's certificate revocation list (empty: not checked)"),
	INT("sender", "timeout_seconds", "30", 1, 3600,
	    "how long a PUT may go without a byte moving, or wait for its "
	    "connection"),
	INT("sender", "retry_max_seconds", "60", 1, 3600,
	    "the longest wait between two attempts while the site server "
	    "cannot be reached"),
	CHECKED("sender", "state_file", "/run/sitesys/sender.json",
	    conf_check_absolute,
	    "where sitesys-sender keeps its state for sitectl status"),
	INT("sender", "status_seconds", "5", 1, 3600,
	    "how often the state file is written"),

	STR("fsp", "fastcgi_socket", "/run/sitesys/fsp.sock",
	    "unix socket on which nginx reaches sitesys-fsp"),
	INT("fsp", "threads", "64", 1, 1024,
	    "requests sitesys-fsp handles at once"),
	INT("fsp", "throttle_messages", "10000", 1, 100000000,
	    "most state messages forwarded per throttle interval"),
	INT("fsp", "throttle_seconds", "3600", 1, 86400,
	    "the throttle interval"),
	INT("fsp", "source_max_messages", "0", 0, 100000000,
	    "most messages one client address may have waiting in fsp.box "
	    "(0: throttle_messages)"),

	STR("mp", "conninfo", "",
	    "sitesys-mp's connection string; empty: [database] conninfo"),
	STR("mp", "fastcgi_socket", "/run/sitesys/mp.sock",
	    "unix socket on which nginx reaches sitesys-mp"),
	INT("mp", "threads", "64", 1, 1024,
	    "requests sitesys-mp handles at once"),
	INT("mp", "statemsg_send_minutes", "15", 1, 1440,
	    "how often agents are told to send their state messages"),
	INT("mp", "policy_poll_minutes", "60", 1, 10080,
	    "how often agents are told to poll their policy"),

	STR("agent", "state_dir", "/var/lib/sitesys-agent",
	    "the agent's identity, serial counter, outbox and cache"),
	NEEDS("agent", "mp_url", "", conf_check_https, "site_ca",
	    "base URL of the management point, e.g. https://mp1/mp/v1"),
	NEEDS("agent", "mp_url_template", "", conf_check_https_template,
	    "site_ca",
	    "management points by location, e.g. https://%s/mp/v1; empty: "
	    "mp_url only"),
	STR("agent", "site_ca", "",
	    "the site CA's certificate (PEM), the only issuer the agent "
	    "trusts for management points"),
	STR("agent", "site_crl", "",
	    "the site CA's revocation list (PEM, from sitectl ca); empty: "
	    "none"),
	STR("agent", "fsp_url", "",
	    "base URL of the fallback status point, e.g. http://fsp1/fsp/v1"),
	STR("agent", "name", "", "the client's name; empty: the host name"),
	INT("agent", "send_minutes", "15", 1, 1440,
	    "state messages are sent this often (policy may change it)"),
	INT("agent", "policy_minutes", "60", 1, 10080,
	    "policy is polled this often (policy may change it)"),
	INT("agent", "timeout_seconds", "30", 1, 600,
	    "longest wait for a management point or fallback status point"),
	STR("agent", "site", "",
	    "the client's assigned site code; empty: the one the MP assigns"),
	STR("agent", "ad_site", "",
	    "the Active Directory site the client reports; empty: none"),
	STR("agent", "vpn_name", "",
	    "the name of the client's VPN connection; empty: none"),
	STR("agent", "vpn_description", "",
	    "the description of the client's VPN connection; empty: none"),
	INT("agent", "notify_port", "10123", 0, 65535,
	    "the notification server's port on the management point's host "
	    "(0: no notification connection)"),
	INT("agent", "notify_retry_max_seconds", "300", 1, 86400,
	    "longest wait before connecting again to the notification "
	    "server"),
	INT("agent", "action_timeout_seconds", "3600", 1, 604800,
	    "longest a notification action may run before it is killed and "
	    "counted failed"),
	ACTION("quick_scan"), ACTION("full_scan"), ACTION("definition_update"),
	ACTION("hardware_inventory"), ACTION("software_inventory"),
	ACTION("evaluate_deployments"), ACTION("restart"), ACTION("wake_up"),
	ACTION("verbose_logging_on"), ACTION("verbose_logging_off"),
	ACTION("collect_logs"),

	{ 0 }
};

const char *
site_conninfo(const struct conf *cf, const char *section)
{
	const char *own;

	if (strcmp(section, "database") == 0)
		return conf_str(cf, "database", "conninfo");
	own = conf_str(cf, section, "conninfo");
	return *own != '\0' ? own : conf_str(cf, "database", "conninfo");
}
