/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput (and, if it needs one,
 * LLVMFuzzerInitialize) and is built by "make fuzz-build" into
 * $(BUILD)/fuzz/fuzz_NAME; its seed corpus is tests/fuzz/corpus/NAME/.
 * A target returns 0 for every input; it aborts (FUZZ_ASSERT) only when a
 * parser breaks its own contract.
 */
#ifndef SITESYS_FUZZ_H
#define SITESYS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* FUZZ_ASSERT - abort, naming the broken promise, when cond is false */
#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(                                               \
			    stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * fuzz_str - the input as a C string in a buffer of exactly size + 1
 * bytes, so that ASan sees a read past its end; it may hold NUL bytes
 */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * fuzz_copy - the input in a buffer of exactly size bytes (one byte when
 * empty), for parsers that take a length
 */
static inline char *
fuzz_copy(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	return s;
}

/* fuzz_why_ok - a reason written by a parser that failed: one line, set */
static inline int
fuzz_why_ok(const char *why)
{
	return why[0] != '\0';
}

#endif
