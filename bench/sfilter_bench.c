/*
 * sfilter_bench.c - sender filter costs: list lookup per SYN, and the
 *	whole connect-time decision per connection
 *
 *	sfilter_bench [PREFIXES] [LOOKUPS]
 *
 * DESCRIPTION
 *	Builds PREFIXES (default 1,000,000) IPv4 prefixes in the mix of a
 *	large operator block list: 70 % random /24s, 25 % /32s clustered in
 *	4096 /24s (spam farms; clustering also keeps rte_lpm's tbl8 groups,
 *	one per /24 with a longer prefix, to a few MB), 5 % /16../23. Then:
 *
 *	1. ns per rte_lpm_lookup() (the table mxgate-dp's lcores read at
 *	   SYN) with the full table and with an empty one, in the same run,
 *	   over LOOKUPS (default 20 M) addresses, half inside a prefix;
 *	2. the same for the sorted-prefix table mxgate-filter uses;
 *	3. ns per connection for sfilter_open() + sfilter_close() (lists,
 *	   per-address limits, address table) with the 1 M-prefix lists
 *	   against no sender filter configured at all.
 *
 *	The EAL runs with --no-huge (no NIC, one process) unless
 *	SFBENCH_HUGE_DIR names a hugetlbfs mount: in 4 KB pages the tables'
 *	random accesses add TLB misses that mxgate-dp (hugepages) avoids.
 *	Lookups run over 1 M random addresses (every one a cache and TLB
 *	miss: the worst case, a SYN flood from everywhere) and over 1024 (a
 *	working set that stays in cache). SFBENCH_RTE_LPM=1 adds rte_lpm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lpm.h>

#include "sfilter_hooks.h"
#include "sfilter_int.h"
#include "sfilter_list.h"

#define BENCH_PREFIXES_DEFAULT	1000000
#define BENCH_LOOKUPS_DEFAULT	20000000
#define BENCH_ADDRS		(1u << 20)	/* lookup addresses, cycled */
#define BENCH_FARMS		4096		/* /24s holding the /32s */
#define BENCH_CONNS		2000000		/* sfilter_open() calls */
#define BENCH_HOT		1024		/* a cache-resident set of clients */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

/* rnd - xorshift64* */
static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* ns_now - monotonic nanoseconds */
static double ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* make_prefixes - the operator-list mix described above */
static void make_prefixes(struct sflist *l, size_t n)
{
	uint32_t farms[BENCH_FARMS];

	for (unsigned i = 0; i < BENCH_FARMS; i++)
		farms[i] = rnd() & 0xffffff00u;
	for (size_t i = 0; i < n; i++) {
		unsigned kind = rnd() % 100;

		if (kind < 70)
			sflist_add(l, rnd() & 0xffffff00u, 24, SFILTER_LIST_BLOCK);
		else if (kind < 95)
			sflist_add(l, farms[rnd() % BENCH_FARMS] | (rnd() & 255), 32,
				   SFILTER_LIST_BLOCK);
		else {
			unsigned len = 16 + rnd() % 8;

			sflist_add(l, rnd() & (UINT32_MAX << (32 - len)), (uint8_t)len,
				   SFILTER_LIST_BLOCK);
		}
	}
}

/* lookups - ns per lookup over the first mask+1 addresses */
static double lookups(const struct sfilter_table_ops *ops, const void *t,
		      const uint32_t *addrs, size_t n, size_t mask, unsigned *hits)
{
	unsigned h = 0;
	double t0 = ns_now();

	for (size_t i = 0; i < n; i++)
		h += ops->lookup(t, addrs[i & mask]) == SFILTER_LIST_BLOCK;
	*hits = h;
	return (ns_now() - t0) / (double)n;
}

/* table_run - build with ops, time lookups full and empty */
static void table_run(const char *name, const struct sfilter_table_ops *ops,
		      const struct sflist *all, const uint32_t *addrs, size_t n)
{
	char err[256];
	double t0 = ns_now(), build_s, full, empty, hot, hot_empty;
	void *t = ops->build(all->p, all->n, err, sizeof(err)), *e;
	unsigned hits, ehits;

	if (t == NULL) {
		fprintf(stderr, "sfilter_bench: %s: %s\n", name, err);
		exit(1);
	}
	build_s = (ns_now() - t0) / 1e9;
	if ((e = ops->build(NULL, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sfilter_bench: %s (empty): %s\n", name, err);
		exit(1);
	}
	lookups(ops, t, addrs, BENCH_ADDRS, BENCH_ADDRS - 1, &hits);	/* warm */
	full = lookups(ops, t, addrs, n, BENCH_ADDRS - 1, &hits);
	empty = lookups(ops, e, addrs, n, BENCH_ADDRS - 1, &ehits);
	hot = lookups(ops, t, addrs, n, BENCH_HOT - 1, &ehits);
	hot_empty = lookups(ops, e, addrs, n, BENCH_HOT - 1, &ehits);
	printf("| %s | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f %% |\n", name,
	       all->n, build_s, full, empty, hot, hot_empty, 100.0 * hits / (double)n);
	ops->destroy(t);
	ops->destroy(e);
}

/* conn_run - ns per sfilter_open + sfilter_close on one reader */
static double conn_run(struct sfilter *sf, const uint32_t *addrs)
{
	struct sfilter_reader *r = sfilter_reader(sf, 0);
	struct smtp_config cfg;
	static struct smtp_session sess;
	struct sfilter_conn fc;
	double t0, ns = 0;

	smtp_config_defaults(&cfg);
	cfg.hostname = "bench";
	for (unsigned i = 0; i < BENCH_CONNS; i++) {
		/* the session's own set-up is not what we measure */
		smtp_session_init(&sess, &cfg, NULL, NULL, "198.18.0.1", 25, 0);
		t0 = ns_now();
		sfilter_open(r, &fc, &sess, addrs[i & (BENCH_ADDRS - 1)] | 1, 0);
		sfilter_close(r, &fc);
		ns += ns_now() - t0;
		if ((i & 1023) == 0)
			sfilter_ctl_poll(sf, 0);	/* drain the refusal events */
	}
	return ns / BENCH_CONNS;
}

int main(int argc, char **argv)
{
	size_t nprefix = argc > 1 ? strtoul(argv[1], NULL, 10) : BENCH_PREFIXES_DEFAULT;
	size_t nlook = argc > 2 ? strtoul(argv[2], NULL, 10) : BENCH_LOOKUPS_DEFAULT;
	char prefix_arg[64], path[] = "/tmp/sfbench_XXXXXX", list[64], err[256];
	const char *huge = getenv("SFBENCH_HUGE_DIR");
	char *eal[] = { "sfilter_bench", "--no-pci", "--no-telemetry", "-l", "0", prefix_arg,
			"--no-huge", "-m", "1024", NULL };
	struct sflist l = { 0 }, none = { 0 }, all;
	uint32_t *addrs = malloc(BENCH_ADDRS * sizeof(*addrs));
	struct sfilter *sf;
	FILE *fp;
	int fd;

	snprintf(prefix_arg, sizeof(prefix_arg), "--file-prefix=sfbench%d", (int)getpid());
	if (huge) {	/* hugepages: a private hugetlbfs mount */
		eal[6] = "--huge-dir";
		eal[7] = (char *)(uintptr_t)huge;
		eal[8] = NULL;
	}
	if (rte_eal_init(huge ? 8 : 9, eal) < 0) {
		fprintf(stderr, "sfilter_bench: rte_eal_init failed\n");
		return 1;
	}
	make_prefixes(&l, nprefix);
	if (sflist_merge(&none, &l, &all) < 0 || addrs == NULL)
		return 1;
	for (size_t i = 0; i < BENCH_ADDRS; i++) {
		/* half inside a listed prefix, half anywhere */
		const struct sfilter_prefix *p = &all.p[rnd() % all.n];

		addrs[i] = i & 1 ? rnd() : p->net | (rnd() & ~(p->len ? UINT32_MAX << (32 - p->len) : 0));
	}
	printf("| table | prefixes | build s | ns/lookup 1 M addrs, full | same, empty table"
	       " | ns/lookup %u addrs, full | same, empty table | hits |\n", BENCH_HOT);
	printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
	table_run("rte_fib DIR24_8 (mxgate-dp)", &sfilter_lpm_ops, &all, addrs, nlook);
	if (getenv("SFBENCH_RTE_LPM"))	/* minutes to load 1 M prefixes */
		table_run("rte_lpm", &sfilter_rte_lpm_ops, &all, addrs, nlook);
	table_run("sorted prefixes (mxgate-filter)", &sfilter_sorted_ops, &all, addrs, nlook);

	/* connect-time decision: lists of nprefix, limits on, vs nothing */
	fd = mkstemp(path);
	if (fd < 0 || (fp = fdopen(fd, "w")) == NULL)
		return 1;
	for (size_t i = 0; i < all.n; i++)
		fprintf(fp, "%u.%u.%u.%u/%u\n", all.p[i].net >> 24, all.p[i].net >> 16 & 255,
			all.p[i].net >> 8 & 255, all.p[i].net & 255, all.p[i].len);
	fclose(fp);
	snprintf(list, sizeof(list), "%s.conf", path);
	if ((fp = fopen(list, "w")) == NULL)
		return 1;
	fprintf(fp, "block_list = %s\nmax_conns_per_addr = 50\nconn_rate_per_addr = 1000000\n"
		"reload_check_s = 0\n", path);
	fclose(fp);
	if ((sf = sfilter_create(list, 1, NULL, &sfilter_lpm_ops, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sfilter_bench: %s\n", err);
		return 1;
	}
	printf("\nconnect-time decision (sfilter_open + sfilter_close, %d connections):"
	       " %.0f ns with %zu prefixes and limits on (mxgate-dp tables)\n",
	       BENCH_CONNS, conn_run(sf, addrs), all.n);
	sfilter_free(sf);
	unlink(path);
	unlink(list);
	sflist_free(&l);
	sflist_free(&all);
	free(addrs);
	rte_eal_cleanup();
	return 0;
}
