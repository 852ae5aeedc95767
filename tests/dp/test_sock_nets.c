/*
 * test_sock_nets.c - dp/sock_nets.c: the network lists of mxgate-filter
 *	options (--xforward-nets): parsing, "none", IPv4, IPv6, IPv4-mapped
 *	addresses, refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sock_nets.h"

static void test_default_loopback_net_matches_only_loopback(void **state)
{
	struct sock_nets nl;
	char err[256];

	assert_int_equal(sock_nets_parse(&nl, "127.0.0.0/8", err, sizeof(err)), 0);
	assert_true(sock_nets_match(&nl, "127.0.0.1"));
	assert_true(sock_nets_match(&nl, "127.255.0.9"));
	assert_true(sock_nets_match(&nl, "::ffff:127.0.0.1"));
	assert_false(sock_nets_match(&nl, "128.0.0.1"));
	assert_false(sock_nets_match(&nl, "198.18.0.2"));
	assert_false(sock_nets_match(&nl, "::1"));
	assert_false(sock_nets_match(&nl, "not an address"));
}

static void test_none_matches_nothing(void **state)
{
	struct sock_nets nl;
	char err[256];

	assert_int_equal(sock_nets_parse(&nl, "none", err, sizeof(err)), 0);
	assert_int_equal(nl.n, 0);
	assert_false(sock_nets_match(&nl, "127.0.0.1"));
}

static void test_lists_hosts_and_ipv6_prefixes(void **state)
{
	struct sock_nets nl;
	char err[256];

	assert_int_equal(sock_nets_parse(&nl, "127.0.0.1, 198.18.4.0/23,::1,"
					 "2001:db8:ff::/48", err, sizeof(err)), 0);
	assert_int_equal(nl.n, 4);
	assert_true(sock_nets_match(&nl, "127.0.0.1"));
	assert_false(sock_nets_match(&nl, "127.0.0.2"));
	assert_true(sock_nets_match(&nl, "198.18.5.200"));
	assert_false(sock_nets_match(&nl, "198.18.6.1"));
	assert_true(sock_nets_match(&nl, "::1"));
	assert_true(sock_nets_match(&nl, "2001:db8:ff:1::25"));
	assert_false(sock_nets_match(&nl, "2001:db8:fe::25"));
}

static void test_host_bits_of_a_network_are_ignored(void **state)
{
	struct sock_nets nl;
	char err[256];

	assert_int_equal(sock_nets_parse(&nl, "10.1.2.3/8", err, sizeof(err)), 0);
	assert_true(sock_nets_match(&nl, "10.200.0.1"));
}

static void test_malformed_networks_are_refused(void **state)
{
	static const char *const bad[] = {
		"1.2.3/24", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x", "::1/129",
		"localhost", "1.2.3.4/-1",
	};
	struct sock_nets nl;
	char err[256], many[1024] = "";
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(sock_nets_parse(&nl, bad[i], err, sizeof(err)), -1);
		assert_int_equal(nl.n, 0);
		assert_non_null(strstr(err, "is not a network"));
	}
	for (i = 0; i <= SOCK_NETS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "10.0.%zu.0/24,", i);
	assert_int_equal(sock_nets_parse(&nl, many, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_loopback_net_matches_only_loopback),
		cmocka_unit_test(test_none_matches_nothing),
		cmocka_unit_test(test_lists_hosts_and_ipv6_prefixes),
		cmocka_unit_test(test_host_bits_of_a_network_are_ignored),
		cmocka_unit_test(test_malformed_networks_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
