/* migrations.h - the schema migrations and roles compiled into sitectl */
#ifndef SITECTL_MIGRATIONS_H
#define SITECTL_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* In version order, ended by a NULL name (generated from schema/). */
extern const struct migration migrations[];

/*
 * schema/roles.sql: the programs' roles, listed in the temporary table
 * sitesys_role, and their grants; run after the migrations
 */
extern const char roles_sql[];

#endif
