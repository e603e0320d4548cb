/*
 * fuzz_bgb.c - the .bts and .bos files of bgb.box (sitesys-bgb(5)), as
 * sitesys-notifymgr reads them: sjson_parse, then bgb_parse; what it
 * accepts must hold to the limits it promises
 */
#include "bgb.h"
#include "fuzz.h"
#include "statemsg.h"
#include "util/sjson.h"

/* What bgb_parse accepted keeps its promises. */
static void
check(const struct bgb_file *f)
{
	FUZZ_ASSERT(f->server != NULL && strlen(f->server) <= BGB_MAX_SERVER);
	for (size_t i = 0; i < f->n && !f->presence; i++) {
		const struct bgb_event *e = &f->events[i];

		FUZZ_ASSERT(e->task >= 1 && e->task <= BGB_MAX_TASK);
		FUZZ_ASSERT(statemsg_valid_guid(e->client));
		FUZZ_ASSERT(
		    e->output == NULL || strlen(e->output) <= BGB_MAX_OUTPUT);
		FUZZ_ASSERT(
		    !e->has_exit || (e->exit_code >= 0 && e->exit_code <= 255));
		(void)bgb_event_name(e->kind);
		if (e->kind == BGB_RESULT)
			(void)bgb_status_name(e->status);
	}
	for (size_t i = 0; i < f->n && f->presence; i++)
		FUZZ_ASSERT(statemsg_valid_guid(f->online[i].client) &&
		    (strcmp(f->online[i].via, "tcp") == 0 ||
		        strcmp(f->online[i].via, "http") == 0));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct bgb_file f;
	json_t *doc = sjson_parse(body, size, why, sizeof(why));

	free(body);
	if (doc == NULL)
		return 0;
	why[0] = '\0';
	if (bgb_parse(doc, &f, why, sizeof(why)) == 0) {
		check(&f);
		bgb_free(&f);
	} else /* a reason may quote the input: the log and the .why keep
		* it on one line (text_escape_line) */
		FUZZ_ASSERT(fuzz_why_ok(why));
	json_decref(doc);
	return 0;
}
