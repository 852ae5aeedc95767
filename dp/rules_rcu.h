/*
 * rules_rcu.h - rule swaps on the data-plane lcores (rte_rcu_qsbr)
 *
 *	struct rules_rcu *rules_rcu_start(const struct rules_rcu_config *cfg,
 *			char *err, size_t errlen);
 *	void rules_rcu_quiesce(struct rules_rcu *rr, unsigned index,
 *			struct engine_worker *w);
 *	struct rulesmgr *rules_rcu_manager(struct rules_rcu *rr);
 *	void rules_rcu_stop(struct rules_rcu *rr);
 *
 * DESCRIPTION
 *	mxgate-dp's side of rule publishing (docs/adr/0010-rule-publishing.md).
 *	The running rule set of every lcore is a generation pointer that
 *	control publishes (rules_swap.c); lcores report quiescent states to
 *	one rte_rcu_qsbr variable, one thread id per lcore (its worker
 *	index).
 *
 *	rules_rcu_quiesce() is called by the lcore once per loop iteration,
 *	where it holds no reference into a rule set outside its messages:
 *	it goes online on its first call, takes a published generation (new
 *	messages begin on it), hands back a drained one, and reports
 *	rte_rcu_qsbr_quiescent. No allocation, no lock, no system call.
 *
 *	A swap (control thread): generations made off the data path, one per
 *	lcore; pointers published; rte_rcu_qsbr_start + rte_rcu_qsbr_check
 *	(polled, so that shutdown does not hang it) tell when every lcore has
 *	passed a quiescent point after the publish, i.e. switched; then the
 *	old generations come back as the messages begun on them end (on the
 *	data plane a message's engine state ends at end of data: the handoff
 *	record carries copies, not pointers into the rule set), and the old
 *	set is freed.
 *
 *	The control thread that acts on SIGHUP is an rte_ctrl_thread (off the
 *	worker cores).
 *
 * DIAGNOSTICS
 *	rules_rcu_start() fills err and returns NULL. Swaps are logged by the
 *	rules manager and rules_swap.c.
 */
#ifndef MX_RULES_RCU_H
#define MX_RULES_RCU_H

#include <stdio.h>

#include "engine.h"

#define RULES_RCU_CHECK_US	20	/* control's poll of the qsbr check */

struct rulesmgr;
struct ruleset;
struct rules_rcu;

struct rules_rcu_config {
	unsigned nworkers;		/* lcores; thread ids 0 .. n-1 */
	const struct ruleset *rules;	/* running set (not owned) */
	const char *rules_dir;
	const char *state_dir;		/* NULL: no versions kept */
	const char *pidfile;		/* NULL: none */
	const char *bundle_url, *bundle_ca, *bundle_key;
	unsigned bundle_interval_s;
	FILE   *log;
	volatile int *stop;		/* lcores are stopping */
};

struct rules_rcu *rules_rcu_start(const struct rules_rcu_config *cfg,
				  char *err, size_t errlen);
void rules_rcu_quiesce(struct rules_rcu *rr, unsigned index,
		       struct engine_worker *w);
struct rulesmgr *rules_rcu_manager(struct rules_rcu *rr);
void rules_rcu_stop(struct rules_rcu *rr);

#endif
