/*
 * test_sfilter_unit.c - the sender filter's parsers and windows
 *
 *	List files (CIDR lines, comments, errors with file:line), the
 *	sorted-prefix table (longest match, allow wins a tie), the DNS query
 *	builder and answer parser (bounds, compression loops), DNSBL zone
 *	and reply specs, the IP Profiler's "N of M within T" windows, and
 *	the valid-recipient set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dns.h"
#include "dnsbl.h"
#include "profiler.h"
#include "sfilter_int.h"
#include "sfilter_list.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* write_tmp - a temporary file with text; returns its path (static) */
static const char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/sfilter_unit_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_list_line_accepts_cidr_address_and_comments(void **state)
{
	uint32_t net;
	uint8_t len;

	assert_int_equal(sflist_parse_line("192.0.2.0/24", &net, &len), 1);
	assert_int_equal(net, IP(192, 0, 2, 0));
	assert_int_equal(len, 24);
	assert_int_equal(sflist_parse_line("  198.51.100.7   # one host", &net, &len), 1);
	assert_int_equal(len, 32);
	assert_int_equal(sflist_parse_line("# comment only", &net, &len), 0);
	assert_int_equal(sflist_parse_line("   ", &net, &len), 0);
	assert_int_equal(sflist_parse_line("0.0.0.0/0", &net, &len), 1);
	assert_int_equal(len, 0);
}

static void test_list_line_refuses_host_bits_and_junk(void **state)
{
	uint32_t net;
	uint8_t len;

	assert_int_equal(sflist_parse_line("192.0.2.1/24", &net, &len), -1);
	assert_int_equal(sflist_parse_line("192.0.2.0/33", &net, &len), -1);
	assert_int_equal(sflist_parse_line("192.0.2.0/", &net, &len), -1);
	assert_int_equal(sflist_parse_line("example.org", &net, &len), -1);
	assert_int_equal(sflist_parse_line("2001:db8::/32", &net, &len), -1);
	assert_int_equal(sflist_parse_line("1.2.3.4 5.6.7.8", &net, &len), -1);
}

static void test_list_file_error_names_file_and_line(void **state)
{
	struct sflist l = { 0 };
	char err[256];
	const char *p = write_tmp("# block\n10.0.0.0/8\n\n10.1.2.3/8\n");

	assert_int_equal(sflist_parse_file(p, SFILTER_LIST_BLOCK, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, ":4:"));
	sflist_free(&l);
	unlink(p);
}

static void test_sorted_table_longest_prefix_wins_and_allow_wins_ties(void **state)
{
	struct sflist allow = { 0 }, block = { 0 }, all;
	char err[128];
	void *t;

	sflist_add(&block, IP(10, 0, 0, 0), 8, SFILTER_LIST_BLOCK);
	sflist_add(&allow, IP(10, 1, 0, 0), 16, SFILTER_LIST_ALLOW);
	sflist_add(&block, IP(10, 1, 2, 3), 32, SFILTER_LIST_BLOCK);
	sflist_add(&block, IP(192, 0, 2, 0), 24, SFILTER_LIST_BLOCK);
	sflist_add(&allow, IP(192, 0, 2, 0), 24, SFILTER_LIST_ALLOW);
	assert_int_equal(sflist_merge(&allow, &block, &all), 0);
	assert_int_equal(all.n, 4);
	t = sfilter_sorted_ops.build(all.p, all.n, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(sfilter_sorted_ops.lookup(t, IP(10, 9, 9, 9)), SFILTER_LIST_BLOCK);
	assert_int_equal(sfilter_sorted_ops.lookup(t, IP(10, 1, 9, 9)), SFILTER_LIST_ALLOW);
	assert_int_equal(sfilter_sorted_ops.lookup(t, IP(10, 1, 2, 3)), SFILTER_LIST_BLOCK);
	assert_int_equal(sfilter_sorted_ops.lookup(t, IP(192, 0, 2, 77)), SFILTER_LIST_ALLOW);
	assert_int_equal(sfilter_sorted_ops.lookup(t, IP(11, 0, 0, 1)), SFILTER_LIST_NONE);
	sfilter_sorted_ops.destroy(t);
	sflist_free(&allow);
	sflist_free(&block);
	sflist_free(&all);
}

/* naive_lookup - longest matching prefix by brute force; ties: allow */
static int naive_lookup(const struct sflist *l, uint32_t addr)
{
	int best_len = -1, v = SFILTER_LIST_NONE;

	for (size_t i = 0; i < l->n; i++) {
		uint32_t m = l->p[i].len ? UINT32_MAX << (32 - l->p[i].len) : 0;

		if ((addr & m) != l->p[i].net)
			continue;
		if (l->p[i].len > best_len
		    || (l->p[i].len == best_len && l->p[i].value == SFILTER_LIST_ALLOW)) {
			best_len = l->p[i].len;
			v = l->p[i].value;
		}
	}
	return v;
}

static void test_sorted_table_agrees_with_brute_force_on_random_lists(void **state)
{
	struct sflist allow = { 0 }, block = { 0 }, all;
	uint64_t x = 88172645463325252ULL;
	char err[128];
	void *t;

	for (int i = 0; i < 3000; i++) {
		unsigned len;
		uint32_t net;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		len = (unsigned)(x % 33);
		/* a small space so that prefixes nest and collide often */
		net = (uint32_t)(x >> 32) & 0xc0a8ffffu;
		net &= len ? UINT32_MAX << (32 - len) : 0;
		sflist_add(x & 64 ? &allow : &block, net, (uint8_t)len,
			   x & 64 ? SFILTER_LIST_ALLOW : SFILTER_LIST_BLOCK);
	}
	assert_int_equal(sflist_merge(&allow, &block, &all), 0);
	t = sfilter_sorted_ops.build(all.p, all.n, err, sizeof(err));
	assert_non_null(t);
	for (int i = 0; i < 20000; i++) {
		uint32_t a;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		a = (uint32_t)(x >> 32) & (i & 1 ? 0xc0a8ffffu : UINT32_MAX);
		if (sfilter_sorted_ops.lookup(t, a) != naive_lookup(&all, a))
			fail_msg("address %08x: table %d, brute force %d", a,
				 sfilter_sorted_ops.lookup(t, a), naive_lookup(&all, a));
	}
	assert_int_equal(sfilter_sorted_ops.lookup(t, 0), naive_lookup(&all, 0));
	assert_int_equal(sfilter_sorted_ops.lookup(t, UINT32_MAX), naive_lookup(&all, UINT32_MAX));
	sfilter_sorted_ops.destroy(t);
	sflist_free(&allow);
	sflist_free(&block);
	sflist_free(&all);
}

static void test_dns_reverse_name_and_query_layout(void **state)
{
	char name[DNS_NAME_MAX + 1];
	uint8_t q[DNS_UDP_MAX];
	int n;

	assert_int_equal(dns_reverse_name(IP(192, 0, 2, 7), "bl.example", name, sizeof(name)), 0);
	assert_string_equal(name, "7.2.0.192.bl.example");
	n = dns_query_build(q, sizeof(q), 0x1234, name);
	assert_int_equal(n, 12 + 1 + 1 + 1 + 1 + 1 + 1 + 3 + 3 + 2 + 7 + 1 + 4);
	assert_int_equal(q[0], 0x12);
	assert_int_equal(q[1], 0x34);
	assert_int_equal(q[5], 1);
	assert_int_equal(q[12], 1);
	assert_int_equal(q[13], '7');
	assert_int_equal(dns_query_build(q, sizeof(q), 1, "a..b"), -1);
	assert_int_equal(dns_query_build(q, 20, 1, name), -1);
}

/* answer_for - a response to a query: header flags, n A records */
static size_t answer_for(uint8_t *buf, const uint8_t *q, int qlen, unsigned n,
			 uint32_t ttl)
{
	size_t pos = (size_t)qlen;

	memcpy(buf, q, (size_t)qlen);
	buf[2] = 0x81;
	buf[3] = n ? 0x80 : 0x83;
	buf[7] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, ttl >> 24, ttl >> 16 & 255,
				       ttl >> 8 & 255, ttl & 255, 0, 4, 127, 0, 0, (uint8_t)(2 + i) };

		memcpy(buf + pos, rr, sizeof(rr));
		pos += sizeof(rr);
	}
	return pos;
}

static void test_dns_answer_parse_reads_a_records_and_smallest_ttl(void **state)
{
	uint8_t q[DNS_UDP_MAX], r[DNS_UDP_MAX];
	struct dns_answer a;
	int n = dns_query_build(q, sizeof(q), 7, "4.3.2.1.bl.test");
	size_t len = answer_for(r, q, n, 2, 600);

	assert_int_equal(dns_answer_parse(r, len, &a), 0);
	assert_int_equal(a.id, 7);
	assert_int_equal(a.rcode, 0);
	assert_string_equal(a.qname, "4.3.2.1.bl.test");
	assert_int_equal(a.nanswers, 2);
	assert_int_equal(a.a[0], IP(127, 0, 0, 2));
	assert_int_equal(a.a[1], IP(127, 0, 0, 3));
	assert_int_equal(a.ttl, 600);
	len = answer_for(r, q, n, 0, 0);
	assert_int_equal(dns_answer_parse(r, len, &a), 0);
	assert_int_equal(a.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(a.nanswers, 0);
}

static void test_dns_answer_parse_refuses_truncation_and_pointer_loops(void **state)
{
	uint8_t q[DNS_UDP_MAX], r[DNS_UDP_MAX];
	struct dns_answer a;
	int n = dns_query_build(q, sizeof(q), 7, "4.3.2.1.bl.test");
	size_t len = answer_for(r, q, n, 1, 60);

	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(dns_answer_parse(r, cut, &a), -1);
	/* the answer's name points at itself */
	r[n] = 0xc0;
	r[n + 1] = (uint8_t)n;
	assert_int_equal(dns_answer_parse(r, len, &a), -1);
	/* a query, not a response */
	assert_int_equal(dns_answer_parse(q, (size_t)n, &a), -1);
	/* an A record with a 5-byte address */
	len = answer_for(r, q, n, 1, 60);
	r[n + 11] = 5;
	assert_int_equal(dns_answer_parse(r, len, &a), -1);
}

static void test_dnsbl_zone_and_reply_specs(void **state)
{
	struct dnsbl_config c;

	dnsbl_config_default(&c);
	assert_int_equal(dnsbl_zone_parse(&c, "bl.test"), 0);
	assert_int_equal(c.zones[0].weight, 1);
	assert_int_equal(c.zones[0].lo, IP(127, 0, 0, 0));
	assert_int_equal(dnsbl_zone_parse(&c, "wl.test=127.0.0.2..127.0.0.9*-5"), 0);
	assert_int_equal(c.zones[1].weight, -5);
	assert_int_equal(c.zones[1].hi, IP(127, 0, 0, 9));
	assert_int_equal(dnsbl_zone_parse(&c, "bl.test"), -1);	/* twice */
	assert_int_equal(dnsbl_zone_parse(&c, "x.test=300.0.0.1"), -1);
	assert_int_equal(dnsbl_reply_parse(&c, "bl.test=127.0.0.4 450 4.7.1 try later"), 0);
	assert_int_equal(c.replies[0].code, 450);
	assert_int_equal(c.replies[0].answer, IP(127, 0, 0, 4));
	assert_string_equal(c.replies[0].text, "try later");
	assert_int_equal(dnsbl_reply_parse(&c, "nozone.test 550 5.7.1 x"), -1);
	assert_int_equal(dnsbl_reply_parse(&c, "bl.test 250 2.0.0 x"), -1);
	assert_int_equal(dnsbl_reply_parse(&c, "bl.test 550 4.7.1 x"), -1);
	assert_int_equal(dnsbl_resolver_parse(&c, "127.0.0.1:5353"), 0);
	assert_int_equal(dnsbl_resolver_parse(&c, "localhost"), -1);
}

static void test_profiler_fires_at_n_of_last_m_within_window(void **state)
{
	struct profiler_rule r;
	struct profiler_block b;
	struct profiler *p;
	uint32_t a = IP(198, 18, 0, 9);

	assert_int_equal(profiler_rule_parse("spam 2/3 60 temp 30", &r), 0);
	p = profiler_new(&r, 1, 64);
	assert_non_null(p);
	assert_int_equal(profiler_record(p, a, false, PROFILER_F_SPAM, 1000, &b), 0);
	assert_int_equal(profiler_record(p, a, false, 0, 2000, &b), 0);
	assert_int_equal(profiler_record(p, a, false, 0, 3000, &b), 0);
	/* last 3: clean, clean, spam -> 1 of 3 */
	assert_int_equal(profiler_record(p, a, false, PROFILER_F_SPAM, 4000, &b), 0);
	assert_int_equal(profiler_record(p, a, false, PROFILER_F_SPAM, 5000, &b), 1);
	assert_false(b.permanent);
	assert_int_equal(b.until_ms, 5000 + 30000);
	assert_int_equal(profiler_blocked(p, a, 6000, NULL), 1);
	assert_int_equal(profiler_blocked(p, a, 35000, NULL), 0);	/* expired */
	profiler_free(p);
}

static void test_profiler_old_events_fall_out_of_the_window(void **state)
{
	struct profiler_rule r;
	struct profiler *p;
	uint32_t a = IP(198, 18, 0, 10);

	assert_int_equal(profiler_rule_parse("unknown_rcpt 3/3 10 perm", &r), 0);
	p = profiler_new(&r, 1, 64);
	assert_int_equal(profiler_record(p, a, true, PROFILER_F_UNKNOWN, 1000, NULL), 0);
	assert_int_equal(profiler_record(p, a, true, PROFILER_F_UNKNOWN, 2000, NULL), 0);
	/* 12 s later: the first two are older than 10 s */
	assert_int_equal(profiler_record(p, a, true, PROFILER_F_UNKNOWN, 14000, NULL), 0);
	assert_int_equal(profiler_record(p, a, true, PROFILER_F_UNKNOWN, 15000, NULL), 0);
	assert_int_equal(profiler_record(p, a, true, PROFILER_F_UNKNOWN, 16000, NULL), 1);
	assert_int_equal(profiler_blocked(p, a, UINT64_MAX / 2, NULL), 1);	/* perm */
	profiler_free(p);
}

static void test_profiler_unblock_is_visible_to_control_and_json(void **state)
{
	struct profiler_rule r;
	struct profiler *p;
	uint32_t a = IP(198, 18, 0, 11), got[4];
	char *json;

	assert_int_equal(profiler_rule_parse("bounce 1/1 60 perm", &r), 0);
	p = profiler_new(&r, 1, 64);
	assert_int_equal(profiler_record(p, a, false, PROFILER_F_BOUNCE, 1000, NULL), 1);
	assert_int_equal(profiler_blocks_json(p, &json), 0);
	assert_non_null(strstr(json, "\"addr\":\"198.18.0.11\""));
	assert_non_null(strstr(json, "\"permanent\":true"));
	free(json);
	assert_int_equal(profiler_unblock(p, a), 1);
	assert_int_equal(profiler_unblock(p, a), 0);
	assert_int_equal(profiler_take_unblocked(p, got, 4), 1);
	assert_int_equal(got[0], a);
	assert_int_equal(profiler_blocks_json(p, &json), 0);
	assert_string_equal(json, "[]");
	free(json);
	profiler_free(p);
}

static void test_profiler_rule_syntax(void **state)
{
	struct profiler_rule r;

	assert_int_equal(profiler_rule_parse("virus 1/1 3600 temp 600", &r), 0);
	assert_int_equal(r.kind, PROFILER_VIRUS);
	assert_int_equal(profiler_rule_parse("spam 4/3 60 perm", &r), -1);
	assert_int_equal(profiler_rule_parse("spam 1/64 60 perm", &r), -1);
	assert_int_equal(profiler_rule_parse("ham 1/1 60 perm", &r), -1);
	assert_int_equal(profiler_rule_parse("spam 1/1 60 temp", &r), -1);
}

static void test_recipient_set_matches_address_or_domain(void **state)
{
	char err[256];
	const char *p = write_tmp("bob@example.net\n@Example.ORG # whole domain\nexample.com\n");
	struct sf_rcptset *s = sf_rcptset_load(p, err, sizeof(err));

	assert_non_null(s);
	assert_true(sf_rcptset_has(s, "bob@example.net"));
	assert_true(sf_rcptset_has(s, "BOB@Example.Net"));
	assert_false(sf_rcptset_has(s, "alice@example.net"));
	assert_true(sf_rcptset_has(s, "anyone@example.org"));
	assert_true(sf_rcptset_has(s, "x@example.com"));
	assert_false(sf_rcptset_has(s, "x@sub.example.com"));
	sf_rcptset_free(s);
	unlink(p);
}

static void test_config_comment_after_value_is_dropped_but_hash_in_text_stays(void **state)
{
	struct sfilter_conf c;
	char err[256];
	const char *p = write_tmp("max_conns_per_addr = 3   # three\n"
				  "dnsbl_site = bl.test\n"
				  "dnsbl_reply = bl.test 550 5.7.1 see https://bl.test/#lookup\n");

	assert_int_equal(sfconf_load(&c, p, err, sizeof(err)), 0);
	assert_int_equal(c.max_conns, 3);
	assert_string_equal(c.dnsbl.replies[0].text, "see https://bl.test/#lookup");
	unlink(p);
}

static void test_config_error_names_file_line_and_key(void **state)
{
	struct sfilter_conf c;
	char err[256];
	const char *p = write_tmp("# x\nmax_conns_per_addr = 3\nno_such_key = 1\n");

	assert_int_equal(sfconf_load(&c, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":3: unknown key 'no_such_key'"));
	unlink(p);
	p = write_tmp("block_action = bounce\n");
	assert_int_equal(sfconf_load(&c, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":1: bad value"));
	unlink(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_line_accepts_cidr_address_and_comments),
		cmocka_unit_test(test_list_line_refuses_host_bits_and_junk),
		cmocka_unit_test(test_list_file_error_names_file_and_line),
		cmocka_unit_test(test_sorted_table_longest_prefix_wins_and_allow_wins_ties),
		cmocka_unit_test(test_sorted_table_agrees_with_brute_force_on_random_lists),
		cmocka_unit_test(test_dns_reverse_name_and_query_layout),
		cmocka_unit_test(test_dns_answer_parse_reads_a_records_and_smallest_ttl),
		cmocka_unit_test(test_dns_answer_parse_refuses_truncation_and_pointer_loops),
		cmocka_unit_test(test_dnsbl_zone_and_reply_specs),
		cmocka_unit_test(test_profiler_fires_at_n_of_last_m_within_window),
		cmocka_unit_test(test_profiler_old_events_fall_out_of_the_window),
		cmocka_unit_test(test_profiler_unblock_is_visible_to_control_and_json),
		cmocka_unit_test(test_profiler_rule_syntax),
		cmocka_unit_test(test_recipient_set_matches_address_or_domain),
		cmocka_unit_test(test_config_comment_after_value_is_dropped_but_hash_in_text_stays),
		cmocka_unit_test(test_config_error_names_file_line_and_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
