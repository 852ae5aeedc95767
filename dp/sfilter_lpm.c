/*
 * sfilter_lpm.c - the sender filter's list table for mxgate-dp: DPDK's
 *	DIR-24-8 longest-prefix match
 *
 *	extern const struct sfilter_table_ops sfilter_lpm_ops;
 *	extern const struct sfilter_table_ops sfilter_rte_lpm_ops;
 *
 * DESCRIPTION
 *	sfilter_lpm_ops builds an rte_fib of type DIR24_8 with the smallest
 *	next-hop size that indexes its tbl8 groups; sfilter_rte_lpm_ops an rte_lpm. Both are DIR-24-8 (one memory
 *	access for prefixes up to /24, two beyond) and the lcores only read
 *	them; the next hop is the SFILTER_LIST_* value. rte_fib is the one
 *	used: rte_lpm_add() scans every rule of the same depth, so 1 M
 *	prefixes take minutes to load (280 s here, bench/sfilter_bench.c),
 *	while rte_fib keeps its rules in a tree (RIB) and loads them in about
 *	a second; with 2-byte entries (enough to index the tbl8 groups of 1 M
 *	prefixes in the mix of bench/sfilter_bench.c) its tbl24 is 32 MB
 *	instead of 64 MB.
 *	docs/adr/0012-sender-filter-tables.md has the figures.
 *
 *	One table shared by every lcore rather
 *	than a copy per lcore: rte_lpm_lookup() only reads, the table is
 *	never written after it is published, and a copy per lcore would
 *	multiply 1 M prefixes' ~70 MB by the lcore count for no gain in a
 *	read-only, cache-resident hot part (tbl24 lines of the addresses
 *	actually seen). Swapped as a whole on reload (see sfilter_ctl.c).
 *
 *	tbl8 groups: one per distinct /24 covering a prefix longer than /24,
 *	counted before the table is made.
 *
 * DIAGNOSTICS
 *	build() returns NULL with what failed (rte_lpm_create, rte_lpm_add
 *	with the prefix) in err.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_lcore.h>
#include <rte_lpm.h>

#include "sfilter_hooks.h"

#define SF_LPM_TBL8_SPARE	256	/* tbl8 groups beyond the count */
#define SF_FIB_1B_TBL8_MAX	127	/* tbl8 groups a 1-byte entry indexes */
#define SF_FIB_2B_TBL8_MAX	32767	/* ... a 2-byte entry */

static unsigned lpm_seq;	/* control only: unique memzone names */
static unsigned fib_seq;

/* u32_cmp - for qsort */
static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* tbl8_need - distinct /24s under prefixes longer than /24 */
static uint32_t tbl8_need(const struct sfilter_prefix *p, size_t n)
{
	uint32_t *nets, count = 0;
	size_t k = 0, i;

	for (i = 0; i < n; i++)
		if (p[i].len > 24)
			k++;
	if (k == 0 || (nets = malloc(k * sizeof(*nets))) == NULL)
		return (uint32_t)k;	/* 0, or an upper bound */
	for (i = 0, k = 0; i < n; i++)
		if (p[i].len > 24)
			nets[k++] = p[i].net >> 8;
	qsort(nets, k, sizeof(*nets), u32_cmp);
	for (i = 0; i < k; i++)
		if (i == 0 || nets[i] != nets[i - 1])
			count++;
	free(nets);
	return count;
}

/* lpm_build - create and fill an rte_lpm */
static void *lpm_build(const struct sfilter_prefix *p, size_t n, char *err,
		       size_t errlen)
{
	struct rte_lpm_config cfg = { 0 };
	char name[RTE_LPM_NAMESIZE];
	struct rte_lpm *lpm;
	size_t i;
	int rc;

	cfg.max_rules = (uint32_t)(n ? n : 1);
	cfg.number_tbl8s = tbl8_need(p, n) + SF_LPM_TBL8_SPARE;
	snprintf(name, sizeof(name), "mxgate_sf_%u", lpm_seq++);
	if ((lpm = rte_lpm_create(name, (int)rte_socket_id(), &cfg)) == NULL) {
		snprintf(err, errlen, "rte_lpm_create(%s, %u rules, %u tbl8 groups): %s",
			 name, cfg.max_rules, cfg.number_tbl8s, rte_strerror(rte_errno));
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((rc = rte_lpm_add(lpm, p[i].net, p[i].len, p[i].value)) < 0) {
			snprintf(err, errlen, "rte_lpm_add(%u.%u.%u.%u/%u): %s",
				 p[i].net >> 24, p[i].net >> 16 & 255, p[i].net >> 8 & 255,
				 p[i].net & 255, p[i].len, rte_strerror(-rc));
			rte_lpm_free(lpm);
			return NULL;
		}
	}
	return lpm;
}

/* lpm_lookup - SFILTER_LIST_* of the longest match */
static int lpm_lookup(const void *table, uint32_t addr)
{
	uint32_t hop;

	if (rte_lpm_lookup((struct rte_lpm *)(uintptr_t)table, addr, &hop) != 0)
		return SFILTER_LIST_NONE;
	return (int)hop;
}

/* lpm_destroy - after the grace period */
static void lpm_destroy(void *table)
{
	rte_lpm_free(table);
}

const struct sfilter_table_ops sfilter_rte_lpm_ops = {
	.build = lpm_build,
	.lookup = lpm_lookup,
	.destroy = lpm_destroy,
};

/* fib_build - create and fill an rte_fib (DIR24_8, 1-byte next hops) */
static void *fib_build(const struct sfilter_prefix *p, size_t n, char *err,
		       size_t errlen)
{
	struct rte_fib_conf cfg;
	char name[RTE_LPM_NAMESIZE];	/* same bound: rte_fib.h has no constant */
	struct rte_fib *fib;
	size_t i;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.type = RTE_FIB_DIR24_8;
	cfg.default_nh = SFILTER_LIST_NONE;
	cfg.max_routes = (int)(n ? n : 1);
	cfg.dir24_8.num_tbl8 = tbl8_need(p, n) + SF_LPM_TBL8_SPARE;
	/* a tbl24 entry holds a next hop or a tbl8 index: the smallest
	 * entry that can index every tbl8 group keeps tbl24 small */
	if (cfg.dir24_8.num_tbl8 < SF_FIB_1B_TBL8_MAX)
		cfg.dir24_8.nh_sz = RTE_FIB_DIR24_8_1B;
	else if (cfg.dir24_8.num_tbl8 < SF_FIB_2B_TBL8_MAX)
		cfg.dir24_8.nh_sz = RTE_FIB_DIR24_8_2B;
	else
		cfg.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
	snprintf(name, sizeof(name), "mxgate_sf_fib_%u", fib_seq++);
	if ((fib = rte_fib_create(name, (int)rte_socket_id(), &cfg)) == NULL) {
		snprintf(err, errlen, "rte_fib_create(%s, %d routes, %u tbl8 groups): %s",
			 name, cfg.max_routes, cfg.dir24_8.num_tbl8, rte_strerror(rte_errno));
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((rc = rte_fib_add(fib, p[i].net, p[i].len, p[i].value)) < 0) {
			snprintf(err, errlen, "rte_fib_add(%u.%u.%u.%u/%u): %s",
				 p[i].net >> 24, p[i].net >> 16 & 255, p[i].net >> 8 & 255,
				 p[i].net & 255, p[i].len, rte_strerror(-rc));
			rte_fib_free(fib);
			return NULL;
		}
	}
	return fib;
}

/* fib_lookup - SFILTER_LIST_* of the longest match (default: none) */
static int fib_lookup(const void *table, uint32_t addr)
{
	uint64_t hop = SFILTER_LIST_NONE;

	rte_fib_lookup_bulk((struct rte_fib *)(uintptr_t)table, &addr, &hop, 1);
	return (int)hop;
}

/* fib_destroy - after the grace period */
static void fib_destroy(void *table)
{
	rte_fib_free(table);
}

const struct sfilter_table_ops sfilter_lpm_ops = {
	.build = fib_build,
	.lookup = fib_lookup,
	.destroy = fib_destroy,
};
