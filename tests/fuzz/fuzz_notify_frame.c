/*
 * fuzz_notify_frame.c - the frame decoder of sitesys-notify(7), as
 * sitesys-notifyd and the agent run it on the bytes of a TLS connection:
 * the input is fed whole, then again in cuts of varying size, and both
 * ways must yield the same frames; each frame decoded is encoded again and
 * must decode to the same type
 */
#include "fuzz.h"
#include "notify_frame.h"
#include "util/buf.h"

/* Decode data in cuts of at most cut bytes; the types seen, in order. */
static size_t
feed(
    const char *data, size_t size, size_t cut, int *types, size_t max, int *end)
{
	struct notify_decoder d;
	struct notify_frame f;
	char why[512];
	size_t off = 0, n = 0;

	notify_decoder_init(&d);
	*end = 0;
	while (off < size && *end != -1) {
		size_t len = size - off < cut ? size - off : cut, used = 0;
		int rc = notify_decode(
		    &d, data + off, len, &used, &f, why, sizeof(why));

		FUZZ_ASSERT(used <= len);
		off += used;
		if (rc == -1) {
			FUZZ_ASSERT(fuzz_why_ok(why));
			*end = -1;
		} else if (rc == 1) {
			struct buf b = { 0 };
			struct notify_frame g;
			size_t u;
			struct notify_decoder e;

			FUZZ_ASSERT(f.doc != NULL);
			/* what was accepted encodes, and decodes the same */
			FUZZ_ASSERT(notify_frame_encode(
			                f.doc, &b, why, sizeof(why)) == 0);
			notify_decoder_init(&e);
			FUZZ_ASSERT(notify_decode(&e, b.p, b.len, &u, &g, why,
			                sizeof(why)) == 1);
			FUZZ_ASSERT(u == b.len && g.type == f.type);
			notify_frame_clear(&g);
			notify_decoder_free(&e);
			buf_free(&b);
			if (n < max)
				types[n] = (int)f.type;
			n++;
			notify_frame_clear(&f);
		} else {
			FUZZ_ASSERT(used == len);
		}
	}
	notify_decoder_free(&d);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_copy(data, size);
	int whole[64], cut[64], end1, end2;
	size_t n1, n2, step = size > 0 ? (size_t)data[0] % 7 + 1 : 1;

	n1 = feed(in, size, size ? size : 1, whole, 64, &end1);
	n2 = feed(in, size, step, cut, 64, &end2);
	FUZZ_ASSERT(n1 == n2 && end1 == end2);
	for (size_t i = 0; i < n1 && i < 64; i++)
		FUZZ_ASSERT(whole[i] == cut[i]);
	free(in);
	return 0;
}
