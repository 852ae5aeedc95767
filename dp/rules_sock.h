/*
 * rules_sock.h - rule swaps for the socket-mode worker threads
 *
 *	struct rules_sock *rules_sock_start(const struct rules_sock_opts *o,
 *			const struct sock_config *cfg, const char *rules_dir,
 *			volatile int *stop);
 *	void rules_sock_quiesce(struct rules_sock *rs, unsigned worker,
 *			struct engine_worker *w);
 *	void rules_sock_stop(struct rules_sock *rs);
 *	struct rulesmgr *rules_sock_manager(struct rules_sock *rs);
 *
 * DESCRIPTION
 *	mxgate-filter's side of rule publishing (docs/adr/0010): the rules
 *	manager (control/rulesmgr.h) with a swap hook for plain pthreads,
 *	the pidfile `mxgate rules` signals, and a control thread that acts on
 *	SIGHUP (the signal handler only sets a flag; the TLS reload that
 *	mxgate-filter also does on SIGHUP keeps its own handler, called
 *	after ours).
 *
 *	One slot per worker thread, on its own cache line. The swap hook
 *	(control thread) makes one engine generation per worker - a scratch
 *	grown for the new databases once, hs_clone_scratch for the others -
 *	and publishes it in each slot. A worker calls rules_sock_quiesce()
 *	once per event-loop round, between events: there it takes a
 *	published generation (engine_worker_switch: new messages begin on
 *	it) and, once no message begun on the previous generation is still
 *	open (engine_gen_open, which counts a message until delivery is done
 *	with it), hands that one back through the slot. The hook returns when
 *	every worker has handed its previous generation back; only then are
 *	those generations and the old rule set freed. The slot's generation
 *	number is the "generation counter per thread" of the ADR: a worker
 *	reports the number it runs and the number it has fully drained.
 *
 *	rules_sock_manager() gives the rules manager to the control plane
 *	(ctlplane_set_rules: the management API's rules routes); it stays
 *	rules_sock's, freed by rules_sock_stop() after ctlplane_stop().
 *
 *	Workers idle in epoll_wait take a swap within SOCK_TICK_MS.
 *
 * CONFIGURATION (mxgate-filter options; defaults in brackets)
 *	--state-dir DIR		versions kept for rollback, request/reply of
 *				`mxgate rules` [none: no rollback, SIGHUP only
 *				re-reads --rules]
 *	--pidfile FILE		written at start, removed at exit [none]
 *	--rules-bundle-url URL, --rules-bundle-ca FILE, --rules-bundle-key FILE,
 *	--rules-bundle-interval S	scheduled signed-bundle fetch [off]
 *
 * DIAGNOSTICS
 *	rules_sock_start() prints what failed and returns NULL. Publishing
 *	is logged by the rules manager on the diagnostic stream.
 */
#ifndef MX_RULES_SOCK_H
#define MX_RULES_SOCK_H

#include "engine.h"

#define RULES_SOCK_PREALLOC	4	/* message objects made per worker
					 * with a new generation */
#define RULES_SOCK_WAIT_US	1000	/* control's poll of the slots */
#define RULES_SOCK_HUP_POLL_US	50000	/* control thread's SIGHUP check */

struct sock_config;
struct rules_sock;
struct rulesmgr;

struct rules_sock_opts {
	const char *state_dir;
	const char *pidfile;
	const char *bundle_url;
	const char *bundle_ca;
	const char *bundle_key;
	unsigned bundle_interval_s;
};

struct rules_sock *rules_sock_start(const struct rules_sock_opts *o,
				    const struct sock_config *cfg,
				    const char *rules_dir, volatile int *stop);
void rules_sock_quiesce(struct rules_sock *rs, unsigned worker,
			struct engine_worker *w);
void rules_sock_stop(struct rules_sock *rs);
struct rulesmgr *rules_sock_manager(struct rules_sock *rs);

#endif
