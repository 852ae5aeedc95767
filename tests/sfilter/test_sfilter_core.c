/*
 * test_sfilter_core.c - the sender filter's shared state, without a
 *	transport: readers on two "lcores", the control pass, list swaps
 *
 *	A reload publishes new lists at once but frees the old ones only
 *	after every reader passed a quiescent point; connection limits hold
 *	across readers; an allowlisted address skips them; a profiler block
 *	written by control reaches every reader; a DNSBL listing written by
 *	control is applied at MAIL.
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

#include "sfilter_int.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static char dir[64];
static struct smtp_config scfg;
static struct smtp_session sess;

/* path_in - a file name in the test's directory */
static const char *path_in(const char *name)
{
	static char p[4][128];
	static unsigned k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

/* put - write a file in the test's directory */
static void put(const char *name, const char *text)
{
	FILE *fp = fopen(path_in(name), "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* make - an sfilter with n readers from a configuration text */
static struct sfilter *make(const char *conf, unsigned n)
{
	char err[256];
	struct sfilter *sf;

	put("sf.conf", conf);
	sf = sfilter_create(path_in("sf.conf"), n, NULL, NULL, err, sizeof(err));
	if (sf == NULL)
		fail_msg("sfilter_create: %s", err);
	return sf;
}

/* open_conn - a session and sfilter_open on reader r */
static int open_conn(struct sfilter *sf, unsigned r, struct sfilter_conn *fc, uint32_t addr)
{
	smtp_session_init(&sess, &scfg, NULL, NULL, "198.18.0.1", 25, 0);
	sfilter_open(sfilter_reader(sf, r), fc, &sess, addr, 0);
	return fc->gate;
}

/* greeting_code - what the session will say first */
static int greeting_code(void)
{
	const uint8_t *p;

	if (smtp_session_output(&sess, &p) < 3)
		return 0;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/sfcore_XXXXXX");
	assert_non_null(mkdtemp(dir));
	smtp_config_defaults(&scfg);
	scfg.hostname = "test";
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_reload_frees_old_lists_only_after_every_reader_quiesced(void **state)
{
	struct sfilter *sf;
	struct sfilter_conn fc;
	char err[256], conf[256];

	put("block", "198.18.1.0/24\n");
	snprintf(conf, sizeof(conf), "block_list = %s\nreload_check_s = 0\n", path_in("block"));
	sf = make(conf, 2);
	sfilter_quiesce(sfilter_reader(sf, 0));
	sfilter_quiesce(sfilter_reader(sf, 1));
	open_conn(sf, 0, &fc, IP(198, 18, 1, 5));
	assert_int_equal(greeting_code(), 554);

	put("block", "198.18.2.0/24\n");
	assert_int_equal(sfilter_reload(sf, err, sizeof(err)), 0);
	open_conn(sf, 1, &fc, IP(198, 18, 1, 5));
	assert_int_equal(greeting_code(), 220);	/* new lists at once */
	open_conn(sf, 1, &fc, IP(198, 18, 2, 5));
	assert_int_equal(greeting_code(), 554);

	sfilter_ctl_poll(sf, 0);
	assert_non_null(sf->retired[0].gen);	/* nobody moved yet */
	sfilter_quiesce(sfilter_reader(sf, 0));
	sfilter_ctl_poll(sf, 0);
	assert_non_null(sf->retired[0].gen);	/* reader 1 may still hold it */
	sfilter_quiesce(sfilter_reader(sf, 1));
	sfilter_ctl_poll(sf, 0);
	assert_null(sf->retired[0].gen);
	sfilter_free(sf);
}

static void test_bad_list_line_keeps_the_running_lists(void **state)
{
	struct sfilter *sf;
	struct sfilter_conn fc;
	char err[256], conf[256];

	put("block", "198.18.1.0/24\n");
	snprintf(conf, sizeof(conf), "block_list = %s\nreload_check_s = 0\n", path_in("block"));
	sf = make(conf, 1);
	put("block", "198.18.2.0/24\n198.18.3.1/24\n");
	assert_int_equal(sfilter_reload(sf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2:"));
	open_conn(sf, 0, &fc, IP(198, 18, 1, 5));
	assert_int_equal(greeting_code(), 554);
	sfilter_free(sf);
}

static void test_connection_limit_holds_across_readers(void **state)
{
	struct sfilter *sf = make("max_conns_per_addr = 2\n", 2);
	struct sfilter_conn a, b, c, d;
	uint32_t addr = IP(198, 18, 4, 1);

	assert_int_equal(open_conn(sf, 0, &a, addr), SFILTER_GATE_OPEN);
	assert_int_equal(open_conn(sf, 1, &b, addr), SFILTER_GATE_OPEN);
	assert_int_equal(open_conn(sf, 1, &c, addr), SFILTER_GATE_CLOSE);
	assert_memory_equal(c.text, "421 4.7.0 ", 10);
	assert_int_equal(open_conn(sf, 0, &d, IP(198, 18, 4, 2)), SFILTER_GATE_OPEN);
	sfilter_close(sfilter_reader(sf, 0), &a);
	assert_int_equal(open_conn(sf, 0, &c, addr), SFILTER_GATE_OPEN);
	sfilter_close(sfilter_reader(sf, 1), &b);
	sfilter_close(sfilter_reader(sf, 0), &c);
	sfilter_close(sfilter_reader(sf, 0), &d);
	sfilter_free(sf);
}

static void test_allowlisted_address_skips_limits(void **state)
{
	struct sfilter *sf;
	struct sfilter_conn fc[4];
	char conf[256];

	put("allow", "198.18.5.0/24\n");
	snprintf(conf, sizeof(conf), "allow_list = %s\nmax_conns_per_addr = 1\n",
		 path_in("allow"));
	sf = make(conf, 1);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(open_conn(sf, 0, &fc[i], IP(198, 18, 5, 9)), SFILTER_GATE_OPEN);
		assert_true(fc[i].allowed);
	}
	sfilter_free(sf);
}

static void test_profiler_block_reaches_every_reader(void **state)
{
	struct sfilter *sf;
	struct sfilter_conn fc;
	struct smtp_rcpt rcpt = { .addr = "nobody@example.com", .orcpt = "" };
	struct smtp_reply rep;
	char conf[256];
	uint32_t addr = IP(198, 18, 6, 1);

	put("rcpts", "@example.net\n");
	snprintf(conf, sizeof(conf), "valid_recipients = %s\n"
		 "profiler_rule = unknown_rcpt 2/2 60 temp 600\n", path_in("rcpts"));
	sf = make(conf, 2);
	open_conn(sf, 0, &fc, addr);
	assert_int_equal(sfilter_rcpt_check(sfilter_reader(sf, 0), &fc, &rcpt, &rep), -1);
	assert_int_equal(rep.code, 550);
	assert_string_equal(rep.enhanced, "5.1.1");
	assert_int_equal(sfilter_rcpt_check(sfilter_reader(sf, 0), &fc, &rcpt, &rep), -1);
	sfilter_ctl_poll(sf, 0);	/* control merges, the rule fires */
	assert_int_equal(open_conn(sf, 1, &fc, addr), SFILTER_GATE_CLOSE);
	assert_non_null(strstr(fc.text, "421 4.7.0 Blocked by the IP profiler"));
	assert_int_equal(profiler_unblock(sfilter_profiler(sf), addr), 1);
	sfilter_ctl_poll(sf, 0);	/* control clears it for the readers */
	assert_int_equal(open_conn(sf, 1, &fc, addr), SFILTER_GATE_OPEN);
	sfilter_free(sf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload_frees_old_lists_only_after_every_reader_quiesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_list_line_keeps_the_running_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit_holds_across_readers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlisted_address_skips_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profiler_block_reaches_every_reader, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
