/*
 * metrics.h - latency histograms and the Prometheus text format
 *
 *	static inline void metrics_hist_observe(struct metrics_hist *h,
 *			double ms);
 *	void metrics_hist_read(const struct metrics_hist *h,
 *			struct metrics_hist *out);
 *	void metrics_hist_add(struct metrics_hist *sum,
 *			const struct metrics_hist *h);
 *	int metrics_write_hist(FILE *fp, const char *name,
 *			const char *labels, const struct metrics_hist *h);
 *
 * DESCRIPTION
 *	A histogram has one writer (an lcore, a worker thread, the dp
 *	control thread) and any number of readers (the management thread):
 *	metrics_hist_observe() is header-only and lock-free, bumping one
 *	bucket, the count and the sum with relaxed atomic stores, so it is
 *	safe on an lcore (no system call, no lock, no allocation). A reader
 *	takes a copy with metrics_hist_read(); buckets are not
 *	cumulative in memory, the writer of the text format makes them so.
 *
 *	Bucket bounds (milliseconds) are METRICS_BOUNDS_MS; the last
 *	bucket is +Inf.
 *
 * DIAGNOSTICS
 *	metrics_write_hist() returns -1 when the stream reports an error.
 */
#ifndef MX_METRICS_H
#define MX_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define METRICS_NBOUNDS		16
#define METRICS_BOUNDS_MS	{ 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, \
				  250, 500, 1000, 2500, 5000, 10000 }

struct metrics_hist {
	uint64_t bucket[METRICS_NBOUNDS + 1];	/* last: above every bound */
	uint64_t count;
	uint64_t sum_us;			/* sum of observations, us */
};

/* metrics_hist_observe - one observation, single writer, lock-free */
static inline void metrics_hist_observe(struct metrics_hist *h, double ms)
{
	static const double bounds[METRICS_NBOUNDS] = METRICS_BOUNDS_MS;
	unsigned i = 0;

	if (ms < 0)
		ms = 0;
	while (i < METRICS_NBOUNDS && ms > bounds[i])
		i++;
	__atomic_store_n(&h->bucket[i], h->bucket[i] + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->sum_us, h->sum_us + (uint64_t)(ms * 1000.0),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&h->count, h->count + 1, __ATOMIC_RELEASE);
}

void metrics_hist_read(const struct metrics_hist *h, struct metrics_hist *out);
void metrics_hist_add(struct metrics_hist *sum, const struct metrics_hist *h);
int metrics_write_hist(FILE *fp, const char *name, const char *labels,
		       const struct metrics_hist *h);

#endif
