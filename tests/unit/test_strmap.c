/* test_strmap.c - the string hash: exact and case-blind keys, growth, and
 * lookups with a hash computed once by the caller */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/strmap.h"

#define NKEYS 5000

static char keys[NKEYS][16];

static void
test_put_get_replace(void **state)
{
	struct strmap m;
	uint32_t v = 0;

	(void)state;
	strmap_init(&m, false);
	assert_false(strmap_get(&m, "absent", &v));
	strmap_put(&m, "BG_A", 1);
	strmap_put(&m, "bg_a", 2);
	assert_true(strmap_get(&m, "BG_A", &v));
	assert_int_equal(v, 1);
	strmap_put(&m, "BG_A", 3);
	assert_true(strmap_get(&m, "BG_A", &v));
	assert_int_equal(v, 3);
	assert_int_equal(m.n, 2);
	strmap_free(&m);
}

static void
test_nocase(void **state)
{
	struct strmap m;
	uint32_t v = 0;

	(void)state;
	strmap_init(&m, true);
	strmap_put(&m, "PS1", 7);
	assert_true(strmap_get(&m, "ps1", &v));
	assert_int_equal(v, 7);
	assert_int_equal(strmap_hash("Ps1", true), strmap_hash("pS1", true));
	assert_int_not_equal(
	    strmap_hash("Ps1", false), strmap_hash("pS1", false));
	strmap_free(&m);
}

static void
test_growth_keeps_every_key(void **state)
{
	struct strmap m;
	uint32_t v = 0;

	(void)state;
	strmap_init(&m, false);
	for (int i = 0; i < NKEYS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "key%d", i);
		strmap_put(&m, keys[i], (uint32_t)i);
	}
	assert_int_equal(m.n, NKEYS);
	for (int i = 0; i < NKEYS; i++) {
		assert_true(strmap_get(&m, keys[i], &v));
		assert_int_equal(v, i);
	}
	assert_false(strmap_get(&m, "key5000", &v));
	strmap_free(&m);
}

static void
test_precomputed_hash(void **state)
{
	struct strmap m;
	uint64_t h = strmap_hash("GUID:x\x1f"
	                         "700\x1f"
	                         "topic",
	    false);
	uint32_t v = 0;

	(void)state;
	strmap_init(&m, false);
	assert_false(strmap_get_h(&m,
	    "GUID:x\x1f"
	    "700\x1f"
	    "topic",
	    h, &v));
	strmap_put_h(&m,
	    "GUID:x\x1f"
	    "700\x1f"
	    "topic",
	    h, 9);
	assert_true(strmap_get(&m,
	    "GUID:x\x1f"
	    "700\x1f"
	    "topic",
	    &v));
	assert_int_equal(v, 9);
	assert_false(strmap_get(&m,
	    "GUID:x\x1f"
	    "70\x1f"
	    "0topic",
	    &v));
	strmap_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_nocase),
		cmocka_unit_test(test_growth_keeps_every_key),
		cmocka_unit_test(test_precomputed_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
