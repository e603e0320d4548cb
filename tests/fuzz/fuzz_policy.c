/*
 * fuzz_policy.c - the management point's policy answer,
 * sitesys.policy/1, as the agent checks it for its own client id
 * (agent/policy.c policy_parse), and the MP's error answers,
 * {"error": reason, "code": code}, as the agent reads them
 * (agent/reply.c http_reply_error and http_reply_why)
 */
#include "agent/agent.h"
#include "fuzz.h"

#define GUID "GUID:6f1c2b1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body = fuzz_copy(data, size), why[512] = "";
	struct http_reply r = { .status = 403, .body = body, .len = size };
	struct mp_error e;
	struct policy p;

	if (policy_parse(body, size, GUID, &p, why, sizeof(why)) == 0) {
		FUZZ_ASSERT(p.send_minutes >= 0 && p.send_minutes <= 1440);
		FUZZ_ASSERT(p.poll_minutes >= 0 && p.poll_minutes <= 10080);
	} else
		FUZZ_ASSERT(fuzz_why_ok(why));
	http_reply_error(&r, &e);
	FUZZ_ASSERT(memchr(e.code, '\0', sizeof(e.code)) != NULL);
	http_reply_why("https://mp.example/mp/v1/policy", &r, why, sizeof(why));
	free(body);
	return 0;
}
