/* model.c - input checks and output shared by the boundary-model commands */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "location/location.h"
#include "model.h"
#include "statemsg.h"
#include "util/buf.h"
#include "util/db.h"
#include "util/sjson.h"
#include "util/text.h"

/* PostgreSQL type OIDs that the output types (pg_type.h is not public). */
#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT4 23
#define OID_JSON 114

/* The largest fallback time accepted: a year of minutes. */
#define MAX_MINUTES 525600

int
model_yesno(const char *opt, const char *v, bool *out)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "no") == 0) {
		*out = v[0] == 'y';
		return 0;
	}
	ctl_err("%s takes yes or no, not \"%s\"", opt, v);
	return -1;
}

static void
unknown_role(const char *name, size_t len)
{
	char roles[LOC_ROLE_LIST_MAX];

	loc_role_list(roles, sizeof(roles), ", ", " and ");
	ctl_err("unknown role \"%.*s\": roles are %s", (int)len, name, roles);
}

int
model_roles_parse(const char *list, bool have[LOC_NROLES])
{
	char name[16];

	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		enum loc_role r;

		if (len == 0 || len >= sizeof(name)) {
			unknown_role(p, len);
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		if (loc_role_parse(name, &r) == -1) {
			unknown_role(p, len);
			return -1;
		}
		have[r] = true;
		p += len;
		if (*p == '\0')
			return 0;
	}
}

/* One "ROLE=MINUTES|never" of len bytes at p. */
static int
fallback_one(const char *p, size_t len, struct fallback *f)
{
	char item[64], *eq, *end;
	enum loc_role r;
	long v;

	if (len >= sizeof(item) ||
	    (memcpy(item, p, len), item[len] = '\0',
	        (eq = strchr(item, '=')) == NULL)) {
		ctl_err("--fallback \"%.*s\": expected ROLE=MINUTES or "
		        "ROLE=never",
		    (int)len, p);
		return -1;
	}
	*eq = '\0';
	if (loc_role_parse(item, &r) == -1) {
		unknown_role(item, strlen(item));
		return -1;
	}
	f->given[r] = true;
	if (strcmp(eq + 1, "never") == 0) {
		f->minutes[r] = -1;
		return 0;
	}
	errno = 0;
	v = strtol(eq + 1, &end, 10);
	if (eq[1] == '-' && end != eq + 1 && *end == '\0') {
		ctl_err("--fallback %s=%s: minutes cannot be negative", item,
		    eq + 1);
		return -1;
	}
	if (!isdigit((unsigned char)eq[1]) || *end != '\0' || errno != 0 ||
	    v > MAX_MINUTES) {
		ctl_err("--fallback %s=%s: minutes are a whole number "
		        "from 0 to %d, or never",
		    item, eq + 1, MAX_MINUTES);
		return -1;
	}
	f->minutes[r] = (int)v;
	return 0;
}

int
model_fallback_parse(const char *list, struct fallback *f)
{
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");

		if (fallback_one(p, len, f) == -1)
			return -1;
		p += len;
		if (*p == '\0')
			return 0;
	}
}

void
model_minutes_columns(struct buf *b, const char *from)
{
	for (int r = 0; r < LOC_NROLES; r++) {
		const char *role = loc_role_name((enum loc_role)r);

		buf_addf(b,
		    ", (SELECT CASE WHEN x.minutes IS NULL THEN "
		    "'\"never\"'::json ELSE to_json(x.minutes) END FROM %s "
		    "AND x.role = '%s') AS %s",
		    from, role, role);
	}
}

void
model_roles_array(struct buf *b)
{
	buf_adds(b, "ARRAY[");
	for (int r = 0; r < LOC_NROLES; r++)
		buf_addf(b, "%s'%s'", r ? ", " : "",
		    loc_role_name((enum loc_role)r));
	buf_adds(b, "]");
}

/* One DNS label of len bytes: letters, digits, inner hyphens. */
static bool
label_ok(const char *p, size_t len)
{
	if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isascii((unsigned char)p[i]) ||
		    (!isalnum((unsigned char)p[i]) && p[i] != '-'))
			return false;
	return true;
}

int
model_fqdn(const char *s, char *out, size_t len)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || n >= len)
		goto bad;
	for (const char *p = s;; p++) {
		size_t l = strcspn(p, ".");

		if (!label_ok(p, l))
			goto bad;
		p += l;
		if (*p == '\0')
			break;
	}
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return 0;
bad:
	ctl_err("\"%s\" is not a server name: dot-separated labels of "
	        "letters, digits and inner hyphens, at most 253 characters",
	    s);
	return -1;
}

int
model_content_id(const char *s)
{
	size_t n = strlen(s);
	bool ok = n >= 1 && n <= 256 && isalnum((unsigned char)s[0]);

	for (size_t i = 0; ok && i < n; i++)
		ok = isascii((unsigned char)s[i]) &&
		    (isalnum((unsigned char)s[i]) || strchr("_.{}-", s[i]));
	if (ok)
		return 0;
	ctl_err("\"%s\" is not a content ID: 1 to 256 letters, digits, "
	        "'_', '.', '{', '}' or '-', starting with a letter or digit",
	    s);
	return -1;
}

int
model_name(const char *what, const char *s)
{
	const char *why = text_name_check(s, MODEL_NAME_MAX);

	if (why == NULL)
		return 0;
	if (strlen(s) > MODEL_NAME_MAX)
		ctl_err("%s is 1 to %d bytes long", what, MODEL_NAME_MAX);
	else
		ctl_err("%s %s", what, why);
	return -1;
}

int
model_text(const char *what, const char *s, size_t max)
{
	const char *why = text_check(s);

	if (why == NULL && strlen(s) <= max)
		return 0;
	if (why == NULL)
		ctl_err("%s is at most %zu bytes long", what, max);
	else
		ctl_err("%s %s", what, why);
	return -1;
}

int
model_client(const char *s, char out[STATEMSG_GUID_LEN + 1])
{
	if (!statemsg_valid_guid(s)) {
		ctl_err("\"%s\" is not a client id: \"GUID:\" and a UUID, "
		        "e.g. GUID:4f1c2a7e-9a8b-4c3d-8e2f-0a1b2c3d4e5f",
		    s);
		return -1;
	}
	statemsg_guid_lower(s, out);
	return 0;
}

int
model_site(const char *s, char out[4])
{
	return site_code_check(s, out);
}

int
model_site_defaults(const struct ctl *ctl, const char *sub, unsigned allowed,
    int npos, const char **pos, char names[][LOC_DEFAULT_GROUP_MAX])
{
	char code[4];

	if (ctl->posopt & ~allowed) {
		ctl_err("bg %s takes --site-default CODE only in place of a "
		        "boundary group",
		    sub);
		return EXIT_USAGE;
	}
	for (int i = 0; i < npos; i++) {
		if (!(ctl->posopt & 1u << i))
			continue;
		if (site_code_check(pos[i], code) == -1)
			return EXIT_USAGE;
		loc_default_group_name(code, names[i], LOC_DEFAULT_GROUP_MAX);
		pos[i] = names[i];
	}
	return EXIT_OK;
}

int
model_find(PGconn *db, const char *sql, const char *key, const char *what,
    char *id, size_t idlen)
{
	PGresult *res = db_exec(db, sql, 1, &key);

	if (res == NULL) {
		ctl_err(
		    "could not look up %s \"%s\": %s", what, key, db_error());
		return -1;
	}
	if (PQntuples(res) == 0) {
		if (what != NULL)
			ctl_err("no %s \"%s\"", what, key);
		PQclear(res);
		return 1;
	}
	snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int
model_content_put(PGconn *db, bool add, const char *const sql[2],
    const char *id, const char *const holder[2], const char *content)
{
	const char *p[2] = { id, content };
	PGresult *res = db_exec(db, sql[add ? 0 : 1], 2, p);
	int n;

	if (res == NULL)
		return model_dberr(
		    add ? "add the content" : "remove the content");
	n = PQntuples(res);
	PQclear(res);
	if (n == 0) {
		ctl_err("%s %s %s content %s", holder[0], holder[1],
		    add ? "already holds" : "does not hold", content);
		return EXIT_FAIL;
	}
	printf("%s content %s %s %s\n", add ? "added" : "removed",
	    ctl_text(content), add ? "to" : "from", ctl_text(holder[1]));
	return EXIT_OK;
}

int
model_dberr(const char *what)
{
	ctl_err("could not %s: %s", what, db_error());
	return EXIT_FAIL;
}

/* One value of a result, typed by its column. */
static json_t *
value_json(PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col))
		return json_null();
	switch (PQftype(res, col)) {
	case OID_BOOL:
		return json_boolean(v[0] == 't');
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
model_rows_json(PGresult *res)
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

/*
 * A value as the table shows it: yes/no, "-" for NULL, a JSON array of
 * strings comma-separated, text escaped as ctl_text escapes it (valid
 * until the next call).
 */
static const char *
value_text(PGresult *res, int row, int col)
{
	static struct buf b;
	const char *v = PQgetvalue(res, row, col);
	json_t *a, *e;
	size_t i;

	if (PQgetisnull(res, row, col))
		return "-";
	if (PQftype(res, col) == OID_BOOL)
		return v[0] == 't' ? "yes" : "no";
	buf_reset(&b);
	buf_adds(&b, "");
	if (PQftype(res, col) != OID_JSON ||
	    (a = json_loads(v, JSON_DECODE_ANY, NULL)) == NULL) {
		text_escape(&b, v);
		return b.p;
	}
	if (json_is_string(a))
		text_escape(&b, json_string_value(a));
	else if (!json_is_array(a))
		text_escape(&b, v);
	buf_adds(&b, json_is_array(a) && json_array_size(a) == 0 ? "-" : "");
	json_array_foreach(a, i, e)
	{
		if (i > 0)
			buf_adds(&b, ",");
		text_escape(&b, json_is_string(e) ? json_string_value(e) : "?");
	}
	json_decref(a);
	return b.p;
}

void
model_print_rows(PGresult *res)
{
	int nf = PQnfields(res), width[32];
	struct buf line = { 0 };

	for (int k = 0; k < nf && k < 32; k++) {
		width[k] = (int)strlen(PQfname(res, k));
		for (int i = 0; i < PQntuples(res); i++) {
			int w = (int)strlen(value_text(res, i, k));

			width[k] = w > width[k] ? w : width[k];
		}
	}
	for (int i = -1; i < PQntuples(res); i++) {
		buf_reset(&line);
		for (int k = 0; k < nf && k < 32; k++) {
			const char *v =
			    i < 0 ? PQfname(res, k) : value_text(res, i, k);

			for (size_t c = 0; i < 0 && v[c] != '\0'; c++)
				buf_addc(&line,
				    (char)toupper(
				        (unsigned char)(v[c] == '_' ? ' '
				                                    : v[c])));
			if (i >= 0)
				buf_adds(&line, v);
			if (k + 1 < nf)
				buf_addf(&line, "%*s",
				    width[k] - (int)strlen(v) + 2, "");
		}
		printf("%s\n", line.p);
	}
	buf_free(&line);
}

int
model_list(struct ctl *ctl, PGconn *db, const char *sql, int nparams,
    const char *const *params, const char *what)
{
	PGresult *res = db_exec(db, sql, nparams, params);

	if (res == NULL)
		return model_dberr(what);
	if (ctl->json) {
		json_t *list = model_rows_json(res);

		ctl_json(list);
		json_decref(list);
	} else {
		model_print_rows(res);
	}
	PQclear(res);
	return EXIT_OK;
}

int
model_show(struct ctl *ctl, PGconn *db, const char *sql, const char *key,
    const char *what)
{
	PGresult *res = db_exec(db, sql, 1, &key);

	if (res == NULL)
		return model_dberr("read it");
	if (PQntuples(res) == 0) {
		ctl_err("no %s \"%s\"", what, key);
		PQclear(res);
		return EXIT_FAIL;
	}
	if (ctl->json) {
		json_t *list = model_rows_json(res);

		ctl_json(json_array_get(list, 0));
		json_decref(list);
	} else {
		int w = 0;

		for (int k = 0; k < PQnfields(res); k++)
			if ((int)strlen(PQfname(res, k)) > w)
				w = (int)strlen(PQfname(res, k));
		for (int k = 0; k < PQnfields(res); k++)
			printf("%s:%*s%s\n", PQfname(res, k),
			    w + 2 - (int)strlen(PQfname(res, k)), "",
			    value_text(res, 0, k));
	}
	PQclear(res);
	return EXIT_OK;
}

int
model_tx(PGconn *db, int (*fn)(PGconn *, void *), void *arg)
{
	int rc;

	if (db_cmd(db, "BEGIN", 0, NULL) == -1)
		return model_dberr("begin a transaction");
	rc = fn(db, arg);
	if (rc != EXIT_OK) {
		db_cmd(db, "ROLLBACK", 0, NULL);
		return rc;
	}
	if (db_cmd(db, "COMMIT", 0, NULL) == -1)
		return model_dberr("commit");
	return EXIT_OK;
}
