/*
 * profiler_store.c - IP Profiler blocks kept in PostgreSQL
 *
 *	See profiler_store.h. Clocks: the profiler counts in monotonic
 *	milliseconds, the store in the database's wall clock; a block
 *	crosses as "milliseconds left", taken on each side when it crosses.
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

/* writer - write queued rows until stopped and drained */
static void *writer(void *arg)
{
	struct profiler_store *ps = arg;
	struct pgstore_block row;

	pthread_mutex_lock(&ps->lock);
	for (;;) {
		while (ps->len == 0 && !ps->stopping)
			pthread_cond_wait(&ps->cond, &ps->lock);
		if (ps->len == 0)
			break;
		row = ps->queue[ps->head];
		ps->head = (ps->head + 1) % PROFILER_STORE_QUEUE;
		ps->len--;
		pthread_mutex_unlock(&ps->lock);
		if (pgstore_block_put(ps->store, &row) < 0)
			fprintf(ps->diag, "mxgate: profiler store: block of %s not"
				" recorded (database unavailable)\n", row.addr);
		pthread_mutex_lock(&ps->lock);
	}
	pthread_mutex_unlock(&ps->lock);
	return NULL;
}

/* restore - the store's blocks in force into the profiler */
static void restore(struct profiler_store *ps)
{
	struct pgstore_block *rows;
	uint64_t now = mono_ms();
	size_t n, loaded = 0;

	if (pgstore_blocks_active(ps->store, &rows, &n) < 0) {
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
	pthread_mutex_init(&ps->lock, NULL);
	pthread_cond_init(&ps->cond, NULL);
	restore(ps);
	if ((rc = pthread_create(&ps->tid, NULL, writer, ps)) != 0) {
		fprintf(ps->diag, "mxgate: profiler store: start the writer thread: %s\n",
			strerror(rc));
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
