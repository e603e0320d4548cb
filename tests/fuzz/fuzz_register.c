/*
 * fuzz_register.c - the body of POST /mp/v1/register, sitesys.register/1,
 * as the management point checks it before it looks at the caller's
 * certificate: mp_register_parse (roles/mp/register_doc.c)
 */
#include "fuzz.h"
#include "mp/mp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct mp_register_doc r;

	if (mp_register_parse(body, size, &r, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(statemsg_valid_guid(r.client));
		FUZZ_ASSERT(r.name != NULL && r.addrs.p != NULL);
		mp_register_doc_free(&r);
	} else
		FUZZ_ASSERT(fuzz_why_ok(why));
	free(body);
	return 0;
}
