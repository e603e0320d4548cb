/* rows.c - a query's rows as JSON, for the commands that print them */
#include <stdlib.h>

#include "sitectl.h"
#include "util/sjson.h"

/* PostgreSQL's type oids of int2, int4, int8 and json (pg_type.h). */
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_JSON 114

/* The value of row i, column k, as JSON. */
static json_t *
value_json(PGresult *res, int i, int k)
{
	const char *v = PQgetvalue(res, i, k);

	if (PQgetisnull(res, i, k))
		return json_null();
	switch (PQftype(res, k)) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		return json_integer(atoll(v));
	case OID_JSON:
		return json_loads(v, JSON_DECODE_ANY, NULL);
	default:
		return json_string(v);
	}
}

json_t *
ctl_rows_json(PGresult *res)
{
	json_t *list = json_array();

	for (int i = 0; i < PQntuples(res); i++) {
		json_t *o = json_object();

		for (int k = 0; k < PQnfields(res); k++)
			sjson_set(o, PQfname(res, k), value_json(res, i, k));
		sjson_append(list, o);
	}
	return list;
}
