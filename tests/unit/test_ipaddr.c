/* test_ipaddr.c - addresses, prefixes and ranges: parsed, compared, printed */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/ipaddr.h"

static char why[256];

static void
test_v4_round_trip(void **state)
{
	struct ipaddr a, b;
	char s[IPADDR_STRLEN];

	(void)state;
	assert_int_equal(ipaddr_parse("10.1.2.3", &a, why, sizeof(why)), 0);
	assert_true(ipaddr_is_v4(&a));
	ipaddr_format(&a, s, sizeof(s));
	assert_string_equal(s, "10.1.2.3");
	b = ipaddr_from_v4(0x0a010203);
	assert_true(ipaddr_eq(&a, &b));
}

static void
test_v6_round_trip(void **state)
{
	struct ipaddr a;
	char s[IPADDR_STRLEN];

	(void)state;
	assert_int_equal(
	    ipaddr_parse("2001:DB8:0:0:1::1", &a, why, sizeof(why)), 0);
	assert_false(ipaddr_is_v4(&a));
	ipaddr_format(&a, s, sizeof(s));
	assert_string_equal(s, "2001:db8::1:0:0:1");
	assert_int_equal(a.hi, 0x20010db800000000ULL);
	assert_int_equal(a.lo, 0x0001000000000001ULL);
}

static void
test_bad_addresses_say_why(void **state)
{
	struct ipaddr a;
	static const char *const bad[] = { "10.1.2.300", "10.1.2", "01.2.3.4",
		"10.1.2.3 ", "2001:db8:::1", "host.example", "" };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(
		    ipaddr_parse(bad[i], &a, why, sizeof(why)), -1);
		assert_non_null(strstr(why, "address"));
	}
	ipaddr_parse("10.1.2.300", &a, why, sizeof(why));
	assert_string_equal(
	    why, "\"10.1.2.300\" is not an IPv4 or IPv6 address");
}

static void
test_compare_orders_numerically(void **state)
{
	struct ipaddr a, b, c;

	(void)state;
	ipaddr_parse("10.0.0.9", &a, why, sizeof(why));
	ipaddr_parse("10.0.0.10", &b, why, sizeof(why));
	ipaddr_parse("::1", &c, why, sizeof(why));
	assert_true(ipaddr_cmp(&a, &b) < 0);
	assert_true(ipaddr_cmp(&b, &a) > 0);
	assert_int_equal(ipaddr_cmp(&a, &a), 0);
	/* every IPv4 address sorts after ::1 and before 2001:: */
	assert_true(ipaddr_cmp(&c, &a) < 0);
}

static void
test_subnet_id_rejects_host_bits(void **state)
{
	struct ipnet n;

	(void)state;
	assert_int_equal(
	    ipnet_parse("10.1.2.0/24", IPNET_SUBNET_ID, &n, why, sizeof(why)),
	    0);
	assert_int_equal(n.plen, 24);
	assert_int_equal(
	    ipnet_parse("10.1.2.3/24", IPNET_SUBNET_ID, &n, why, sizeof(why)),
	    -1);
	assert_string_equal(why,
	    "\"10.1.2.3/24\" has host bits set: the subnet ID is 10.1.2.0/24");
	assert_int_equal(ipnet_parse("2001:db8:1::1/64", IPNET_SUBNET_ID, &n,
	                     why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "2001:db8:1::/64"));
}

static void
test_host_mode_keeps_the_address(void **state)
{
	struct ipnet n;
	struct ipaddr id;
	char s[IPNET_STRLEN];

	(void)state;
	assert_int_equal(
	    ipnet_parse("10.1.2.3/24", IPNET_HOST, &n, why, sizeof(why)), 0);
	ipnet_format(&n, s, sizeof(s));
	assert_string_equal(s, "10.1.2.3/24");
	id = ipnet_id(&n);
	ipaddr_format(&id, s, sizeof(s));
	assert_string_equal(s, "10.1.2.0");
	assert_int_equal(ipnet_bits128(&n), 120);
}

static void
test_bad_prefixes_say_why(void **state)
{
	struct ipnet n;

	(void)state;
	assert_int_equal(
	    ipnet_parse("10.1.2.0", IPNET_HOST, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "needs a prefix length"));
	assert_int_equal(
	    ipnet_parse("10.1.2.0/33", IPNET_HOST, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "from 0 to 32"));
	assert_int_equal(
	    ipnet_parse("10.1.2.0/-1", IPNET_HOST, &n, why, sizeof(why)), -1);
	assert_int_equal(
	    ipnet_parse("10.1.2.0/", IPNET_HOST, &n, why, sizeof(why)), -1);
	assert_int_equal(
	    ipnet_parse("::/129", IPNET_HOST, &n, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "from 0 to 128"));
	assert_int_equal(
	    ipnet_parse("::/128", IPNET_HOST, &n, why, sizeof(why)), 0);
	assert_int_equal(
	    ipnet_parse("0.0.0.0/0", IPNET_SUBNET_ID, &n, why, sizeof(why)), 0);
}

static void
test_contains_respects_family_and_bits(void **state)
{
	struct ipnet n, n6;
	struct ipaddr in, out, v6;

	(void)state;
	ipnet_parse("10.1.0.0/16", IPNET_SUBNET_ID, &n, why, sizeof(why));
	ipnet_parse("::/0", IPNET_SUBNET_ID, &n6, why, sizeof(why));
	ipaddr_parse("10.1.255.255", &in, why, sizeof(why));
	ipaddr_parse("10.2.0.0", &out, why, sizeof(why));
	ipaddr_parse("2001:db8::1", &v6, why, sizeof(why));
	assert_true(ipnet_contains(&n, &in));
	assert_false(ipnet_contains(&n, &out));
	assert_false(ipnet_contains(&n, &v6));
	assert_true(ipnet_contains(&n6, &v6));
	assert_false(ipnet_contains(&n6, &in)); /* ::/0 is IPv6 only */
}

static void
test_ranges(void **state)
{
	struct iprange r;
	struct ipaddr a;
	char s[IPRANGE_STRLEN];

	(void)state;
	assert_int_equal(
	    iprange_parse("10.0.0.10-10.0.0.20", &r, why, sizeof(why)), 0);
	iprange_format(&r, s, sizeof(s));
	assert_string_equal(s, "10.0.0.10-10.0.0.20");
	ipaddr_parse("10.0.0.20", &a, why, sizeof(why));
	assert_true(iprange_contains(&r, &a));
	ipaddr_parse("10.0.0.21", &a, why, sizeof(why));
	assert_false(iprange_contains(&r, &a));
	assert_int_equal(
	    iprange_parse("10.0.0.5-10.0.0.5", &r, why, sizeof(why)), 0);
	assert_int_equal(
	    iprange_parse("10.0.0.20-10.0.0.10", &r, why, sizeof(why)), -1);
	assert_string_equal(
	    why, "\"10.0.0.20-10.0.0.10\": the start is after the end");
	assert_int_equal(iprange_parse("10.0.0.1", &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "START-END"));
	assert_int_equal(iprange_parse("10.0.0.1-x", &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "\"x\""));
	assert_int_equal(iprange_parse("::1-::2", &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "IPv4"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_round_trip),
		cmocka_unit_test(test_v6_round_trip),
		cmocka_unit_test(test_bad_addresses_say_why),
		cmocka_unit_test(test_compare_orders_numerically),
		cmocka_unit_test(test_subnet_id_rejects_host_bits),
		cmocka_unit_test(test_host_mode_keeps_the_address),
		cmocka_unit_test(test_bad_prefixes_say_why),
		cmocka_unit_test(test_contains_respects_family_and_bits),
		cmocka_unit_test(test_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
