/*
 * test_profiler_persist.c - what the IP Profiler offers its store
 *
 *	The observer hears of every block that starts, once, with its rule
 *	as reason; blocks restored from the store are in force, listed with
 *	their stored reason, handed to the control thread once
 *	(profiler_take_restored) and never reported to the observer; a
 *	restored block the API removed is not published.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "profiler.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct seen {
	unsigned n;
	struct profiler_block last;
};

/* note - the observer: count and keep the last block */
static void note(void *ctx, const struct profiler_block *b)
{
	struct seen *s = ctx;

	s->n++;
	s->last = *b;
}

/* now_ms - the profiler's clock */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* one_rule - a profiler with the rule spec */
static struct profiler *one_rule(const char *spec)
{
	struct profiler_rule r;

	assert_int_equal(profiler_rule_parse(spec, &r), 0);
	return profiler_new(&r, 1, 64);
}

static void test_observer_hears_each_new_block_once_with_its_rule(void **state)
{
	struct profiler *p = one_rule("spam 2/2 60 temp 30");
	struct seen s = { 0 };
	uint64_t t = now_ms();

	(void)state;
	profiler_set_observer(p, note, &s);
	assert_int_equal(profiler_record(p, IP(192, 0, 2, 1), false, PROFILER_F_SPAM, t, NULL), 0);
	assert_int_equal(profiler_record(p, IP(192, 0, 2, 1), false, PROFILER_F_SPAM, t, NULL), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last.addr, IP(192, 0, 2, 1));
	assert_string_equal(s.last.reason, "spam 2/2 60 temp 30");
	assert_false(s.last.permanent);
	assert_true(s.last.until_ms == t + 30000);
	/* already blocked: more spam starts nothing */
	profiler_record(p, IP(192, 0, 2, 1), false, PROFILER_F_SPAM, t, NULL);
	assert_int_equal(s.n, 1);
	profiler_set_observer(p, NULL, NULL);
	profiler_record(p, IP(192, 0, 2, 2), false, PROFILER_F_SPAM, t, NULL);
	profiler_record(p, IP(192, 0, 2, 2), false, PROFILER_F_SPAM, t, NULL);
	assert_int_equal(s.n, 1);
	profiler_free(p);
}

static void test_restored_block_is_in_force_listed_and_published_once(void **state)
{
	struct profiler *p = one_rule("spam 2/2 60 perm");
	struct profiler_block out[4], b;
	struct seen s = { 0 };
	uint64_t t = now_ms();
	char *json = NULL;

	(void)state;
	profiler_set_observer(p, note, &s);
	assert_int_equal(profiler_restore(p, IP(198, 18, 0, 9), false, t + 60000, 3,
					  "virus 1/1 60 temp 60"), 1);
	assert_int_equal(profiler_restore(p, IP(198, 18, 0, 10), true, 0, 2,
					  "spam 2/2 60 perm"), 1);
	assert_int_equal(s.n, 0);	/* not written back to the store */
	assert_int_equal(profiler_blocked(p, IP(198, 18, 0, 9), t, &b), 1);
	assert_int_equal(b.rule, -1);	/* no such rule configured now */
	assert_int_equal(profiler_blocked(p, IP(198, 18, 0, 10), t, &b), 1);
	assert_int_equal(b.rule, 0);
	assert_true(b.permanent);
	assert_int_equal(profiler_blocks_json(p, &json), 0);
	assert_non_null(strstr(json, "\"addr\":\"198.18.0.9\",\"rule\":\"virus 1/1 60 temp 60\""));
	assert_non_null(strstr(json, "\"addr\":\"198.18.0.10\",\"rule\":\"spam 2/2 60 perm\","
			       "\"permanent\":true"));
	free(json);
	assert_int_equal(profiler_take_restored(p, out, 4), 2);
	assert_int_equal(profiler_take_restored(p, out, 4), 0);
	profiler_free(p);
}

static void test_restore_of_a_known_block_keeps_the_longer(void **state)
{
	struct profiler *p = one_rule("spam 1/1 60 temp 10");
	struct profiler_block b;
	uint64_t t = now_ms();

	(void)state;
	assert_int_equal(profiler_record(p, IP(192, 0, 2, 5), false, PROFILER_F_SPAM, t, NULL), 1);
	assert_int_equal(profiler_restore(p, IP(192, 0, 2, 5), false, t + 50000, 1,
					  "spam 1/1 60 temp 10"), 0);
	assert_int_equal(profiler_blocked(p, IP(192, 0, 2, 5), t, &b), 1);
	assert_true(b.until_ms == t + 50000);
	assert_int_equal(profiler_restore(p, IP(192, 0, 2, 5), true, 0, 1, "x"), 0);
	assert_int_equal(profiler_blocked(p, IP(192, 0, 2, 5), t + 100000, &b), 1);
	assert_true(b.permanent);
	profiler_free(p);
}

static void test_restored_block_removed_before_publishing_is_not_published(void **state)
{
	struct profiler *p = one_rule("spam 1/1 60 perm");
	struct profiler_block out[2];
	uint32_t gone[2];

	(void)state;
	assert_int_equal(profiler_restore(p, IP(203, 0, 113, 1), true, 0, 1, "spam 1/1 60 perm"), 1);
	assert_int_equal(profiler_unblock(p, IP(203, 0, 113, 1)), 1);
	assert_int_equal(profiler_take_restored(p, out, 2), 0);
	assert_int_equal(profiler_take_unblocked(p, gone, 2), 1);
	profiler_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observer_hears_each_new_block_once_with_its_rule),
		cmocka_unit_test(test_restored_block_is_in_force_listed_and_published_once),
		cmocka_unit_test(test_restore_of_a_known_block_keeps_the_longer),
		cmocka_unit_test(test_restored_block_removed_before_publishing_is_not_published),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
