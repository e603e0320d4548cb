/*
 * fuzz_sitectl.c - the values sitectl checks before it touches the
 * database: a boundary's type, value and VPN options (bvalue_parse, and
 * the checks of "boundary add"), site codes, server names, content IDs,
 * names, yes/no, role lists and fallback times (tools/sitectl/model.c)
 *
 * The input is up to four NUL-separated strings: TYPE, VALUE, MATCH,
 * FIELD for a boundary; each of them is also given to every other check.
 * The target links sitectl's objects, its main() renamed.
 */
#include "boundary_value.h"
#include "fuzz.h"
#include "model.h"
#include "sitectl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), out[256], code[4];
	const char *f[4] = { NULL, NULL, NULL, NULL };
	const char *pos[1];
	const char *vals[5] = { NULL, NULL, NULL, NULL, NULL };
	struct fallback fb;
	struct bvalue b;
	bool have[LOC_NROLES], yes;
	size_t off = 0;

	for (int i = 0; i < 4 && off <= size; i++) {
		f[i] = s + off;
		off += strlen(s + off) + 1;
	}
	(void)bvalue_parse(f[0], f[1], f[2], f[3], &b);
	vals[O_TYPE] = f[0];
	vals[O_VALUE] = f[1];
	vals[O_MATCH] = f[2];
	vals[O_FIELD] = f[3];
	pos[0] = f[1] ? f[1] : "";
	(void)boundary_args("add", 1, pos, vals, &b);
	for (int i = 0; i < 4 && f[i] != NULL; i++) {
		if (site_code_check(f[i], code) == 0)
			FUZZ_ASSERT(strlen(code) == 3);
		(void)model_site(f[i], code);
		if (model_fqdn(f[i], out, sizeof(out)) == 0)
			FUZZ_ASSERT(strlen(out) == strlen(f[i]));
		(void)model_content_id(f[i]);
		(void)model_name("a name", f[i]);
		(void)model_yesno("opt", f[i], &yes);
		(void)model_roles_parse(f[i], have);
		memset(&fb, 0, sizeof(fb));
		if (model_fallback_parse(f[i], &fb) == 0)
			for (int r = 0; r < LOC_NROLES; r++)
				FUZZ_ASSERT(
				    !fb.given[r] || fb.minutes[r] >= -1);
	}
	free(s);
	return 0;
}
