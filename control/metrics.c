/*
 * metrics.c - reading histograms and writing them as Prometheus text
 *
 *	See metrics.h.
 */
#include <string.h>

#include "metrics.h"

/* metrics_hist_read - a copy taken while the writer may be running */
void metrics_hist_read(const struct metrics_hist *h, struct metrics_hist *out)
{
	/* count is stored last with release: the buckets it covers are
	 * visible; a bucket bumped after it only makes +Inf lag by one */
	out->count = __atomic_load_n(&h->count, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i <= METRICS_NBOUNDS; i++)
		out->bucket[i] = __atomic_load_n(&h->bucket[i], __ATOMIC_RELAXED);
	out->sum_us = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
}

/* metrics_hist_add - sum += h (both private copies) */
void metrics_hist_add(struct metrics_hist *sum, const struct metrics_hist *h)
{
	for (unsigned i = 0; i <= METRICS_NBOUNDS; i++)
		sum->bucket[i] += h->bucket[i];
	sum->count += h->count;
	sum->sum_us += h->sum_us;
}

/* metrics_write_hist - NAME_bucket{le=..}, NAME_sum (seconds), NAME_count */
int metrics_write_hist(FILE *fp, const char *name, const char *labels,
		       const struct metrics_hist *h)
{
	static const double bounds[METRICS_NBOUNDS] = METRICS_BOUNDS_MS;
	const char *sep = labels && *labels ? "," : "";
	uint64_t cum = 0, total = 0;

	if (labels == NULL)
		labels = "";
	for (unsigned i = 0; i <= METRICS_NBOUNDS; i++)
		total += h->bucket[i];
	for (unsigned i = 0; i < METRICS_NBOUNDS; i++) {
		cum += h->bucket[i];
		fprintf(fp, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
			bounds[i] / 1000.0, (unsigned long long)cum);
	}
	/* +Inf is the total of the buckets, so the series stays monotonic
	 * even when count was read a moment before a bucket */
	fprintf(fp, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)total);
	fprintf(fp, "%s_sum{%s} %.6f\n", name, labels, (double)h->sum_us / 1e6);
	fprintf(fp, "%s_count{%s} %llu\n", name, labels, (unsigned long long)total);
	return ferror(fp) ? -1 : 0;
}
