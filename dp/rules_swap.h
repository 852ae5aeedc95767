/*
 * rules_swap.h - a daemon's rule swaps: per-worker slots, rules manager,
 *	SIGHUP, pidfile (shared by mxgate-filter and mxgate-dp)
 *
 *	struct rules_swap *rules_swap_start(const struct rules_swap_config *cfg,
 *			char *err, size_t errlen);
 *	void rules_swap_take(struct rules_swap *sw, unsigned worker,
 *			struct engine_worker *w);
 *	struct rulesmgr *rules_swap_manager(struct rules_swap *sw);
 *	void rules_swap_last(const struct rules_swap *sw,
 *			struct rules_swap_times *t);
 *	void rules_swap_stop(struct rules_swap *sw);
 *
 * DESCRIPTION
 *	The transport-independent half of docs/adr/0010-rule-publishing.md;
 *	dp/rules_sock.c (threads) and dp/rules_rcu.c (lcores, rte_rcu_qsbr)
 *	adapt it. No DPDK here.
 *
 *	rules_swap_start() makes the rules manager (control/rulesmgr.h) with
 *	the swap hook below, writes the pidfile, and starts a control thread
 *	(cfg->spawn, or a plain pthread) that carries out SIGHUP: the signal
 *	handler only sets a flag, and calls the handler that was installed
 *	before it (mxgate-filter's TLS reload).
 *
 *	The swap hook runs on a control thread. It makes one engine
 *	generation per worker (engine_gen_new: a scratch grown with
 *	hs_alloc_scratch for the new databases; engine_gen_clone for the
 *	others: hs_clone_scratch), so that a worker never allocates for a
 *	swap, and publishes each in its worker's slot. cfg->published (the
 *	data plane's rte_rcu_qsbr wait) is then called: it returns when every
 *	worker has passed a quiescent point, i.e. runs the new set for every
 *	message it starts. Last, the hook waits until every worker handed
 *	back its previous generation, which it does once no message begun
 *	on that generation is open; then those generations are freed and the
 *	manager frees the old rule set.
 *
 *	rules_swap_take() is the worker's part, once per loop iteration where
 *	it is between messages' events (a quiescent point): it takes a
 *	published generation (engine_worker_switch) and hands back a drained
 *	one. It does not allocate, lock or call the kernel.
 *
 *	A worker's slot counts generations: "offered" (control) and "taken"
 *	(worker). That is the small per-thread generation counter that
 *	stands in for rte_rcu_qsbr where workers are plain pthreads.
 *
 *	rules_swap_last() gives the times of the last swap: publish to every
 *	worker switched, and to the old set freed.
 *
 * DIAGNOSTICS
 *	rules_swap_start() fills err and returns NULL. The manager logs every
 *	publish and refusal on cfg->log; rules_swap adds one line per swap:
 *	"<daemon>: rules: N workers switched in X ms, old set freed after
 *	Y ms".
 */
#ifndef MX_RULES_SWAP_H
#define MX_RULES_SWAP_H

#include <pthread.h>
#include <stdio.h>

#include "engine.h"

#define RULES_SWAP_WORKERS_MAX	128	/* lcores or threads */
#define RULES_SWAP_PREALLOC	4	/* message objects made per worker
					 * with a new generation */
#define RULES_SWAP_WAIT_US	200	/* control's poll of the slots */
#define RULES_SWAP_HUP_POLL_US	50000	/* control thread's SIGHUP check */

struct rulesmgr;
struct ruleset;
struct rules_swap;

struct rules_swap_times {
	double  switched_ms;		/* publish -> every worker on it */
	double  freed_ms;		/* publish -> old set unused */
	double  prepare_ms;		/* generations made (scratch clones) */
};

struct rules_swap_config {
	const char *daemon;		/* log prefix */
	unsigned nworkers;
	const struct ruleset *rules;	/* running set at start (not owned) */
	const char *rules_dir;
	const char *state_dir;		/* NULL: no versions kept */
	const char *pidfile;		/* NULL: none */
	const char *bundle_url, *bundle_ca, *bundle_key;
	unsigned bundle_interval_s;
	FILE   *log;
	volatile int *stop;		/* the daemon is stopping */
	/* every worker passed a quiescent point since this call (or stop) */
	void    (*published)(void *ctx, volatile int *stop);
	/* start the control thread; NULL: pthread_create */
	int     (*spawn)(void *ctx, pthread_t *tid, void *(*fn)(void *),
			 void *arg);
	void   *ctx;
};

struct rules_swap *rules_swap_start(const struct rules_swap_config *cfg,
				    char *err, size_t errlen);
void rules_swap_take(struct rules_swap *sw, unsigned worker,
		     struct engine_worker *w);
struct rulesmgr *rules_swap_manager(struct rules_swap *sw);
void rules_swap_last(const struct rules_swap *sw, struct rules_swap_times *t);
void rules_swap_stop(struct rules_swap *sw);

#endif
