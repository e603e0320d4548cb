/* settings.h - what the table of settings (settings.c) answers beyond it */
#ifndef SITESYS_SETTINGS_H
#define SITESYS_SETTINGS_H

struct conf;

/*
 * site_conninfo - the libpq connection string of the program whose section
 * is section ("mp", "statesys", "console"): its own conninfo, or, when
 * that is empty, [database] conninfo (the administrator's, which
 * section "database" names directly); aborts if section has no conninfo
 */
const char *site_conninfo(const struct conf *cf, const char *section);

#endif
