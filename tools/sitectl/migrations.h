/* migrations.h - the schema migrations compiled into sitectl */
#ifndef SITECTL_MIGRATIONS_H
#define SITECTL_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* In version order, ended by a NULL name (generated from schema/). */
extern const struct migration migrations[];

#endif
