/*
 * rules_rcu.c - rule swaps on the data-plane lcores (rte_rcu_qsbr)
 *
 *	See rules_rcu.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "rules_rcu.h"
#include "rules_swap.h"

struct rules_rcu {
	struct rte_rcu_qsbr *qsbr;
	struct rules_swap *sw;
	unsigned nworkers;
	bool    online[RULES_SWAP_WORKERS_MAX];	/* per lcore, its own */
};

/* rules_rcu_quiesce - lcore, once per loop iteration */
void rules_rcu_quiesce(struct rules_rcu *rr, unsigned index,
		       struct engine_worker *w)
{
	if (index >= rr->nworkers)
		return;
	if (!rr->online[index]) {
		rte_rcu_qsbr_thread_online(rr->qsbr, index);
		rr->online[index] = true;
	}
	rules_swap_take(rr->sw, index, w);
	rte_rcu_qsbr_quiescent(rr->qsbr, index);
}

/* rules_rcu_published - swap hook: every online lcore passed a quiescent
 * point since now (polled: stopping lcores must not hang control) */
static void rules_rcu_published(void *ctx, volatile int *stop)
{
	struct rules_rcu *rr = ctx;
	uint64_t token = rte_rcu_qsbr_start(rr->qsbr);

	while (rte_rcu_qsbr_check(rr->qsbr, token, false) == 0
	       && !__atomic_load_n(stop, __ATOMIC_RELAXED))
		usleep(RULES_RCU_CHECK_US);
}

/* rules_rcu_spawn - the SIGHUP thread as a DPDK control thread */
static int rules_rcu_spawn(void *ctx, pthread_t *tid, void *(*fn)(void *),
			   void *arg)
{
	(void) ctx;
	return rte_ctrl_thread_create(tid, "mxgate-rules", NULL, fn, arg);
}

/* rules_rcu_start - qsbr variable, thread ids, the swap machinery */
struct rules_rcu *rules_rcu_start(const struct rules_rcu_config *cfg,
				  char *err, size_t errlen)
{
	struct rules_swap_config sc;
	struct rules_rcu *rr;
	size_t  sz;
	unsigned i;

	if (cfg->nworkers == 0 || cfg->nworkers > RULES_SWAP_WORKERS_MAX) {
		snprintf(err, errlen, "rule swaps: %u lcores (1 to %d)",
			 cfg->nworkers, RULES_SWAP_WORKERS_MAX);
		return NULL;
	}
	if ((rr = rte_zmalloc("mxgate_rules_rcu", sizeof(*rr),
			      RTE_CACHE_LINE_SIZE)) == NULL) {
		snprintf(err, errlen, "rule swaps: rte_zmalloc of the state");
		return NULL;
	}
	rr->nworkers = cfg->nworkers;
	sz = rte_rcu_qsbr_get_memsize(cfg->nworkers);
	if ((rr->qsbr = rte_zmalloc("mxgate_rules_qsbr", sz,
				    RTE_CACHE_LINE_SIZE)) == NULL
	    || rte_rcu_qsbr_init(rr->qsbr, cfg->nworkers) != 0) {
		snprintf(err, errlen, "rule swaps: rte_rcu_qsbr for %u lcores (%zu"
			 " bytes): %s", cfg->nworkers, sz, rte_strerror(rte_errno));
		rules_rcu_stop(rr);
		return NULL;
	}
	for (i = 0; i < cfg->nworkers; i++)
		if (rte_rcu_qsbr_thread_register(rr->qsbr, i) != 0) {
			snprintf(err, errlen, "rule swaps: rte_rcu_qsbr_thread_register"
				 " %u: %s", i, rte_strerror(rte_errno));
			rules_rcu_stop(rr);
			return NULL;
		}
	memset(&sc, 0, sizeof(sc));
	sc.daemon = "mxgate-dp";
	sc.nworkers = cfg->nworkers;
	sc.rules = cfg->rules;
	sc.rules_dir = cfg->rules_dir;
	sc.state_dir = cfg->state_dir;
	sc.pidfile = cfg->pidfile;
	sc.bundle_url = cfg->bundle_url;
	sc.bundle_ca = cfg->bundle_ca;
	sc.bundle_key = cfg->bundle_key;
	sc.bundle_interval_s = cfg->bundle_interval_s;
	sc.log = cfg->log;
	sc.stop = cfg->stop;
	sc.published = rules_rcu_published;
	sc.spawn = rules_rcu_spawn;
	sc.ctx = rr;
	if ((rr->sw = rules_swap_start(&sc, err, errlen)) == NULL) {
		rules_rcu_stop(rr);
		return NULL;
	}
	return rr;
}

/* rules_rcu_manager - the rules manager, for the control plane */
struct rulesmgr *rules_rcu_manager(struct rules_rcu *rr)
{
	return rules_swap_manager(rr->sw);
}

/* rules_rcu_stop - after the lcores stopped */
void rules_rcu_stop(struct rules_rcu *rr)
{
	if (rr == NULL)
		return;
	rules_swap_stop(rr->sw);
	rte_free(rr->qsbr);
	rte_free(rr);
}
