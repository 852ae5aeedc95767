/*
 * test_pg_blocks.c - IP Profiler blocks shared through PostgreSQL: the
 *	NOTIFY that every block write carries, the reads other nodes make
 *	of it, and the listener's catch-up call after a lost connection
 *
 *	Two stores (node-a, node-b) on one database of a real private
 *	server, as two gateways would be. One server for the file, one
 *	database per test.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgstore.h"
#include "pgtest.h"

#define WAIT_MS		5000	/* a notification's round trip, at most */
#define NOTES_MAX	8

static struct pgtest T;

/* heard - what a listener callback was given */
struct heard {
	pthread_mutex_t lock;
	char payload[NOTES_MAX][128];
	int n;			/* notifications */
	int gaps;		/* cb(ctx, NULL) */
	int want;		/* enough(): this many notifications */
};

/* on_blocks - record a notification, or a gap */
static void on_blocks(void *ctx, const char *payload)
{
	struct heard *h = ctx;

	pthread_mutex_lock(&h->lock);
	if (payload == NULL)
		h->gaps++;
	else if (h->n < NOTES_MAX)
		snprintf(h->payload[h->n++], sizeof(h->payload[0]), "%s", payload);
	pthread_mutex_unlock(&h->lock);
}

/* heard_n - notifications so far */
static int heard_n(struct heard *h)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->n;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* enough - pgtest_wait() condition: h->want notifications */
static int enough(void *arg)
{
	struct heard *h = arg;

	return heard_n(h) >= h->want;
}

/* one_gap - pgtest_wait() condition */
static int one_gap(void *arg)
{
	struct heard *h = arg;
	int g;

	pthread_mutex_lock(&h->lock);
	g = h->gaps;
	pthread_mutex_unlock(&h->lock);
	return g >= 1;
}

/* open_node - a store on db as node */
static struct pgstore *open_node(const char *conninfo, const char *db,
				 const char *node)
{
	char spool[PATH_MAX + 64], err[1024];
	struct pgstore_config cfg = { 0 };
	struct pgstore *s;

	snprintf(spool, sizeof(spool), "%s/spool-%s-%s", T.dir, db, node);
	cfg.conninfo = conninfo;
	cfg.spool_dir = spool;
	cfg.node = node;
	if ((s = pgstore_open(&cfg, err, sizeof(err))) == NULL)
		fprintf(stderr, "pgstore_open: %s\n", err);
	return s;
}

/* block - a pgstore_block */
static struct pgstore_block block(const char *addr, int perm, int64_t ms)
{
	struct pgstore_block b;

	memset(&b, 0, sizeof(b));
	snprintf(b.addr, sizeof(b.addr), "%s", addr);
	snprintf(b.reason, sizeof(b.reason), "%s", perm ? "spam 1/1 600 perm"
		 : "spam 3/5 600 temp 300");
	b.permanent = perm;
	b.remaining_ms = ms;
	b.hits = 3;
	return b;
}

/* test_block_writes_and_removals_notify_the_other_nodes */
static void test_block_writes_and_removals_notify_the_other_nodes(void **state)
{
	char conninfo[PATH_MAX + 64];
	PGconn *c = pgtest_db(&T, "notify", conninfo, sizeof(conninfo));
	struct pgstore *a = open_node(conninfo, "notify", "node-a");
	struct pgstore *b = open_node(conninfo, "notify", "node b");
	struct heard h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pgstore_block pb = block("198.18.0.7", 1, -1);
	struct pgstore_blocks_notice nt;

	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(pgstore_node(b), "node b");
	assert_int_equal(pgstore_listen_catchup(a, PGSTORE_BLOCKS_CHANNEL, on_blocks, &h), 0);
	assert_int_equal(pgstore_block_put(b, &pb), 0);
	assert_int_equal(pgstore_block_remove(b, "198.18.0.7", "alice"), 1);
	h.want = 2;
	assert_true(pgtest_wait(enough, &h, WAIT_MS));
	assert_string_equal(h.payload[0], "block 198.18.0.7 node b");
	assert_string_equal(h.payload[1], "remove 198.18.0.7 node b");
	assert_int_equal(pgstore_blocks_notice_parse(h.payload[1], &nt), 0);
	assert_true(nt.removal);
	assert_string_equal(nt.addr, "198.18.0.7");
	assert_string_equal(nt.node, "node b");
	/* a removal with nothing in force still tells the others: one may
	 * hold the block in memory after missing the first removal */
	assert_int_equal(pgstore_block_remove(b, "198.18.0.7", "alice"), 0);
	h.want = 3;
	assert_true(pgtest_wait(enough, &h, WAIT_MS));
	nanosleep(&(struct timespec){ 0, 300 * 1000 * 1000 }, NULL);
	assert_int_equal(heard_n(&h), 3);
	assert_int_equal(h.gaps, 0);
	pgstore_unlisten(a, PGSTORE_BLOCKS_CHANNEL, on_blocks, &h);
	pgstore_close(a);
	pgstore_close(b);
	PQfinish(c);
}

/* test_blocks_in_force_are_read_by_address_and_node */
static void test_blocks_in_force_are_read_by_address_and_node(void **state)
{
	char conninfo[PATH_MAX + 64];
	PGconn *c = pgtest_db(&T, "force", conninfo, sizeof(conninfo));
	struct pgstore *a = open_node(conninfo, "force", "node-a");
	struct pgstore *b = open_node(conninfo, "force", "node-b");
	struct pgstore_block pa = block("198.18.0.8", 0, 300000);
	struct pgstore_block pb = block("198.18.0.7", 1, -1);
	struct pgstore_block *rows;
	size_t n;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(pgstore_block_put(a, &pa), 0);
	assert_int_equal(pgstore_block_put(b, &pb), 0);
	assert_int_equal(pgstore_blocks_in_force(a, "198.18.0.7", NULL, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].node, "node-b");
	assert_true(rows[0].permanent);
	assert_int_equal(rows[0].remaining_ms, -1);
	assert_string_equal(rows[0].reason, "spam 1/1 600 perm");
	free(rows);
	assert_int_equal(pgstore_blocks_in_force(b, NULL, "node-a", &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].addr, "198.18.0.8");
	assert_false(rows[0].permanent);
	/* the time left comes from the database's expires */
	assert_true(rows[0].remaining_ms > 290000 && rows[0].remaining_ms <= 300000);
	assert_int_equal(rows[0].hits, 3);
	free(rows);
	assert_int_equal(pgstore_blocks_active(a, &rows, &n), 0);
	assert_int_equal(n, 2);
	free(rows);
	pgstore_close(a);
	pgstore_close(b);
	PQfinish(c);
}

/* test_removed_lists_lifted_addresses_but_not_those_blocked_again */
static void test_removed_lists_lifted_addresses_but_not_those_blocked_again(void **state)
{
	char conninfo[PATH_MAX + 64];
	PGconn *c = pgtest_db(&T, "removed", conninfo, sizeof(conninfo));
	struct pgstore *a = open_node(conninfo, "removed", "node-a");
	struct pgstore_block p7 = block("198.18.0.7", 1, -1);
	struct pgstore_block p9 = block("198.18.0.9", 1, -1);
	struct pgstore_block *rows;
	size_t n;

	assert_non_null(a);
	assert_int_equal(pgstore_block_put(a, &p7), 0);
	assert_int_equal(pgstore_block_put(a, &p9), 0);
	assert_int_equal(pgstore_block_remove(a, "198.18.0.7", "alice"), 1);
	assert_int_equal(pgstore_block_remove(a, "198.18.0.9", "alice"), 1);
	assert_int_equal(pgstore_block_put(a, &p9), 0);	/* blocked again */
	assert_int_equal(pgstore_blocks_removed(a, 60000, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].addr, "198.18.0.7");
	assert_string_equal(rows[0].node, "alice");	/* who removed it */
	free(rows);
	/* outside the window: an old removal is not read again */
	PQclear(PQexec(c, "UPDATE ip_blocks SET removed_at = now() - interval '1 hour'"
		       " WHERE removed_at IS NOT NULL"));
	assert_int_equal(pgstore_blocks_removed(a, 60000, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
	pgstore_close(a);
	PQfinish(c);
}

/* test_notice_parse_refuses_what_a_node_does_not_send */
static void test_notice_parse_refuses_what_a_node_does_not_send(void **state)
{
	struct pgstore_blocks_notice nt;
	char long_node[PGSTORE_BLOCK_NODE_MAX + 32];

	assert_int_equal(pgstore_blocks_notice_parse("block 198.18.0.7 gw-a", &nt), 0);
	assert_false(nt.removal);
	assert_string_equal(nt.node, "gw-a");
	assert_int_equal(pgstore_blocks_notice_parse(NULL, &nt), -1);
	assert_int_equal(pgstore_blocks_notice_parse("", &nt), -1);
	assert_int_equal(pgstore_blocks_notice_parse("v2", &nt), -1);
	assert_int_equal(pgstore_blocks_notice_parse("block 198.18.0.7", &nt), -1);
	assert_int_equal(pgstore_blocks_notice_parse("block 198.18.0.7 ", &nt), -1);
	assert_int_equal(pgstore_blocks_notice_parse("remove  gw-a", &nt), -1);
	assert_int_equal(pgstore_blocks_notice_parse("unblock 198.18.0.7 gw-a", &nt), -1);
	memset(long_node, 'n', sizeof(long_node) - 1);
	long_node[sizeof(long_node) - 1] = 0;
	memcpy(long_node, "block 1.2.3.4 ", 14);
	assert_int_equal(pgstore_blocks_notice_parse(long_node, &nt), -1);
}

/* test_a_lost_listener_connection_is_told_to_catchup_consumers_only */
static void test_a_lost_listener_connection_is_told_to_catchup_consumers_only(void **state)
{
	char conninfo[PATH_MAX + 64];
	PGconn *c = pgtest_db(&T, "gap", conninfo, sizeof(conninfo));
	struct pgstore *a = open_node(conninfo, "gap", "node-a");
	struct heard h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct heard plain = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct pgstore_block pb = block("198.18.0.7", 1, -1);

	assert_non_null(a);
	assert_int_equal(pgstore_listen_catchup(a, PGSTORE_BLOCKS_CHANNEL, on_blocks, &h), 0);
	assert_int_equal(pgstore_listen(a, PGSTORE_RULES_CHANNEL, on_blocks, &plain), 0);
	assert_int_equal(h.gaps, 0);
	assert_int_equal(pgtest_count(c, "SELECT count(pg_terminate_backend(pid))"
				      " FROM pg_stat_activity WHERE datname = 'gap'"
				      " AND query LIKE 'LISTEN %'"), 1);
	assert_true(pgtest_wait(one_gap, &h, WAIT_MS));
	/* LISTENing again: what is written now is notified */
	assert_int_equal(pgstore_block_put(a, &pb), 0);
	h.want = 1;
	assert_true(pgtest_wait(enough, &h, WAIT_MS));
	assert_string_equal(h.payload[0], "block 198.18.0.7 node-a");
	assert_int_equal(plain.gaps, 0);
	pgstore_unlisten(a, PGSTORE_RULES_CHANNEL, on_blocks, &plain);
	pgstore_unlisten(a, PGSTORE_BLOCKS_CHANNEL, on_blocks, &h);
	pgstore_close(a);
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_writes_and_removals_notify_the_other_nodes),
		cmocka_unit_test(test_blocks_in_force_are_read_by_address_and_node),
		cmocka_unit_test(test_removed_lists_lifted_addresses_but_not_those_blocked_again),
		cmocka_unit_test(test_notice_parse_refuses_what_a_node_does_not_send),
		cmocka_unit_test(test_a_lost_listener_connection_is_told_to_catchup_consumers_only),
	};

	if (!pgtest_have_server())
		return 77;
	return pgtest_run_group(tests, &T);
}
