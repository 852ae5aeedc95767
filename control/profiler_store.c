/*
 * profiler_store.c - IP Profiler blocks kept in PostgreSQL
 *
 *	See profiler_store.h. Clocks: the profiler counts in monotonic
 *	milliseconds, the store in the database's wall clock; a block
 *	crosses as "milliseconds left", taken on each side when it crosses.
 *	The catch-up after a gap asks for removals within "milliseconds
 *	since the last full read" plus PROFILER_STORE_CATCHUP_SLACK_MS, a
 *	duration, so it needs no agreement between the two clocks either.
 *
 *	One thread does all the talking to the database: it writes this
 *	node's blocks, and reads back what other nodes' notifications name
 *	(the store's listener thread only queues them, so a slow query
 *	never holds up the rules' notifications).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgstore.h"
#include "profiler.h"
#include "profiler_store.h"

struct profiler_store {
	struct profiler *prof;
	struct pgstore *store;
	FILE *diag;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pgstore_block queue[PROFILER_STORE_QUEUE];
	size_t head, len;
	struct pgstore_blocks_notice notes[PROFILER_STORE_NOTICES];
	size_t nhead, nlen;		/* other nodes' notifications */
	int catchup;			/* read everything: a gap, or notes full */
	uint64_t synced_ms;		/* last full read began (mono) */
	int share;			/* profiler_share_blocks */
	int listening;
	char node[PGSTORE_BLOCK_NODE_MAX];	/* this node: its notes ignored */
	int stopping;
	uint64_t dropped;
	time_t reported;
	pthread_t tid;
};

/* mono_ms - the profiler's clock */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* observed - a new block (control thread): queue its row */
static void observed(void *ctx, const struct profiler_block *b)
{
	struct profiler_store *ps = ctx;
	struct in_addr a = { .s_addr = htonl(b->addr) };
	struct pgstore_block *row;
	uint64_t now = mono_ms();
	time_t t = time(NULL);

	pthread_mutex_lock(&ps->lock);
	if (ps->len == PROFILER_STORE_QUEUE || ps->stopping) {
		ps->dropped++;
		if (t - ps->reported >= PROFILER_STORE_REPORT_S) {
			ps->reported = t;
			fprintf(ps->diag, "mxgate: profiler store: queue full, %llu"
				" block rows not written\n", (unsigned long long)ps->dropped);
		}
		pthread_mutex_unlock(&ps->lock);
		return;
	}
	row = &ps->queue[(ps->head + ps->len++) % PROFILER_STORE_QUEUE];
	memset(row, 0, sizeof(*row));
	inet_ntop(AF_INET, &a, row->addr, sizeof(row->addr));
	snprintf(row->reason, sizeof(row->reason), "%s", b->reason);
	row->permanent = b->permanent;
	row->remaining_ms = b->permanent ? -1
		: b->until_ms > now ? (int64_t)(b->until_ms - now) : 0;
	row->hits = b->hits;
	pthread_cond_signal(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
}

/* on_notify - store's listener thread: queue another node's notice */
static void on_notify(void *ctx, const char *payload)
{
	struct profiler_store *ps = ctx;
	struct pgstore_blocks_notice nt;

	if (payload != NULL && pgstore_blocks_notice_parse(payload, &nt) < 0)
		return;
	/* our own writes, and others' blocks when each node blocks alone */
	if (payload != NULL && (strcmp(nt.node, ps->node) == 0
				|| (!nt.removal && !ps->share)))
		return;
	pthread_mutex_lock(&ps->lock);
	if (payload == NULL || ps->nlen == PROFILER_STORE_NOTICES)
		ps->catchup = 1;	/* a full read covers what we drop */
	else
		ps->notes[(ps->nhead + ps->nlen++) % PROFILER_STORE_NOTICES] = nt;
	pthread_cond_signal(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
}

/* apply - another node's row in force into the profiler */
static void apply(struct profiler_store *ps, const struct pgstore_block *row,
		  uint64_t now, const char *how)
{
	struct in_addr a;
	int rc;

	if (inet_pton(AF_INET, row->addr, &a) != 1)
		return;
	rc = profiler_restore(ps->prof, ntohl(a.s_addr), row->permanent,
			      now + (uint64_t)(row->remaining_ms > 0 ? row->remaining_ms : 0),
			      row->hits, row->reason);
	if (rc < 0)
		fprintf(ps->diag, "mxgate: profiler store: block of %s from node %s"
			" not applied: %d blocks in force already\n", row->addr,
			row->node, PROFILER_BLOCKS_MAX);
	else if (rc == 1 || how[0] == 0) {
		char left[32] = "permanent";

		if (!row->permanent)
			snprintf(left, sizeof(left), "%lld s left",
				 (long long)((row->remaining_ms + 999) / 1000));
		fprintf(ps->diag, "mxgate: profiler store: block of %s from node %s"
			" applied%s (%s, %s)%s\n", row->addr, row->node, how,
			row->reason, left, rc == 0 ? ", already blocked here" : "");
	}
}

/* lift - a block removed elsewhere, out of the profiler; why: "removed
 * on node N" live, "removed by ACTOR" at a catch-up (the row keeps no node) */
static void lift(struct profiler_store *ps, const char *addr, const char *why)
{
	struct in_addr a;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return;
	if (profiler_unblock(ps->prof, ntohl(a.s_addr)) == 1)
		fprintf(ps->diag, "mxgate: profiler store: block of %s lifted (%s)\n",
			addr, why);
}

/* follow - one notice: read the address's rows in force, apply or lift */
static void follow(struct profiler_store *ps, const struct pgstore_blocks_notice *nt)
{
	struct pgstore_block *rows;
	uint64_t now = mono_ms();
	size_t n;

	/* per-node blocking: only this node's rows keep a removed block */
	if (pgstore_blocks_in_force(ps->store, nt->addr, ps->share ? NULL : ps->node,
				    &rows, &n) < 0) {
		fprintf(ps->diag, "mxgate: profiler store: cannot read the blocks of"
			" %s (notified by node %s); read again after the next"
			" reconnect\n", nt->addr, nt->node);
		return;
	}
	if (nt->removal && n == 0) {
		char why[PGSTORE_BLOCK_NODE_MAX + 24];

		snprintf(why, sizeof(why), "removed on node %s", nt->node);
		lift(ps, nt->addr, why);
	}
	for (size_t i = 0; ps->share && i < n; i++)
		if (strcmp(rows[i].node, ps->node) != 0)
			apply(ps, &rows[i], now, "");
	free(rows);
}

/* catch_up - after a gap: every block in force, removals since the
 * last full read */
static void catch_up(struct profiler_store *ps)
{
	struct pgstore_block *rows;
	uint64_t now = mono_ms();
	size_t n;

	if (pgstore_blocks_removed(ps->store, (int64_t)(now - ps->synced_ms)
				   + PROFILER_STORE_CATCHUP_SLACK_MS, &rows, &n) < 0)
		goto failed;
	for (size_t i = 0; i < n; i++) {
		char why[PGSTORE_BLOCK_NODE_MAX + 40];

		snprintf(why, sizeof(why), "removed by %s, after reconnect",
			 rows[i].node[0] ? rows[i].node : "unknown");
		lift(ps, rows[i].addr, why);
	}
	free(rows);
	if (ps->share) {
		if (pgstore_blocks_in_force(ps->store, NULL, NULL, &rows, &n) < 0)
			goto failed;
		for (size_t i = 0; i < n; i++)
			if (strcmp(rows[i].node, ps->node) != 0)
				apply(ps, &rows[i], now, " after reconnect");
		free(rows);
	}
	ps->synced_ms = now;
	return;
failed:
	fprintf(ps->diag, "mxgate: profiler store: cannot read the blocks after"
		" a reconnect; trying again after the next one\n");
}

/* worker - write queued rows, follow other nodes, until stopped */
static void *worker(void *arg)
{
	struct profiler_store *ps = arg;
	struct pgstore_block row;
	struct pgstore_blocks_notice nt;

	pthread_mutex_lock(&ps->lock);
	for (;;) {
		while (ps->len == 0 && ps->nlen == 0 && !ps->catchup && !ps->stopping)
			pthread_cond_wait(&ps->cond, &ps->lock);
		if (ps->len > 0) {
			row = ps->queue[ps->head];
			ps->head = (ps->head + 1) % PROFILER_STORE_QUEUE;
			ps->len--;
			pthread_mutex_unlock(&ps->lock);
			if (pgstore_block_put(ps->store, &row) < 0)
				fprintf(ps->diag, "mxgate: profiler store: block of %s not"
					" recorded (database unavailable)\n", row.addr);
		} else if (ps->stopping) {
			break;	/* rows written; what others did no longer matters */
		} else if (ps->catchup) {
			ps->catchup = 0;
			ps->nlen = 0;	/* the full read covers them */
			pthread_mutex_unlock(&ps->lock);
			catch_up(ps);
		} else {
			nt = ps->notes[ps->nhead];
			ps->nhead = (ps->nhead + 1) % PROFILER_STORE_NOTICES;
			ps->nlen--;
			pthread_mutex_unlock(&ps->lock);
			follow(ps, &nt);
		}
		pthread_mutex_lock(&ps->lock);
	}
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

/* restore - the store's blocks in force into the profiler (with
 * profiler_share_blocks = no, this node's only) */
static void restore(struct profiler_store *ps)
{
	struct pgstore_block *rows;
	uint64_t now = mono_ms();
	size_t n, loaded = 0;

	ps->synced_ms = now;
	if (pgstore_blocks_in_force(ps->store, NULL, ps->share ? NULL : ps->node,
				    &rows, &n) < 0) {
		fprintf(ps->diag, "mxgate: profiler store: cannot read the blocks in"
			" force; starting without them\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct in_addr a;

		if (inet_pton(AF_INET, rows[i].addr, &a) != 1)
			continue;
		if (profiler_restore(ps->prof, ntohl(a.s_addr), rows[i].permanent,
				     now + (uint64_t)(rows[i].remaining_ms > 0
						      ? rows[i].remaining_ms : 0),
				     rows[i].hits, rows[i].reason) >= 0)
			loaded++;
	}
	free(rows);
	fprintf(ps->diag, "mxgate: profiler store: %zu blocks in force restored\n", loaded);
}

/* profiler_store_start - read back, then observe and write */
struct profiler_store *profiler_store_start(struct profiler *p, struct pgstore *s,
					    FILE *diag)
{
	struct profiler_store *ps;
	int rc;

	if (p == NULL || s == NULL)
		return NULL;
	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		fprintf(diag, "mxgate: profiler store: out of memory\n");
		return NULL;
	}
	ps->prof = p;
	ps->store = s;
	ps->diag = diag ? diag : stderr;
	ps->share = profiler_share_blocks(p);
	snprintf(ps->node, sizeof(ps->node), "%s", pgstore_node(s));
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->cond, NULL);
	/* LISTEN before the read: a block written between the two is in
	 * the read or notified, never neither */
	if (pgstore_listen_catchup(s, PGSTORE_BLOCKS_CHANNEL, on_notify, ps) < 0)
		fprintf(ps->diag, "mxgate: profiler store: LISTEN %s: %s; other"
			" nodes' blocks apply at the next start only\n",
			PGSTORE_BLOCKS_CHANNEL, strerror(errno));
	else
		ps->listening = 1;
	restore(ps);
	if ((rc = pthread_create(&ps->tid, NULL, worker, ps)) != 0) {
		fprintf(ps->diag, "mxgate: profiler store: start the writer thread: %s\n",
			strerror(rc));
		if (ps->listening)
			pgstore_unlisten(s, PGSTORE_BLOCKS_CHANNEL, on_notify, ps);
		pthread_cond_destroy(&ps->cond);
		pthread_mutex_destroy(&ps->lock);
		free(ps);
		return NULL;
	}
	profiler_set_observer(p, observed, ps);
	return ps;
}

/* profiler_store_stop - no more rows; what is queued is written */
void profiler_store_stop(struct profiler_store *ps)
{
	if (ps == NULL)
		return;
	/* no callback runs once it returns: ps may go */
	if (ps->listening)
		pgstore_unlisten(ps->store, PGSTORE_BLOCKS_CHANNEL, on_notify, ps);
	profiler_set_observer(ps->prof, NULL, NULL);
	pthread_mutex_lock(&ps->lock);
	ps->stopping = 1;
	pthread_cond_signal(&ps->cond);
	pthread_mutex_unlock(&ps->lock);
	pthread_join(ps->tid, NULL);
	pthread_cond_destroy(&ps->cond);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}
