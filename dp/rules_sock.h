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
 *	The swap itself is rules_swap.c's (see rules_swap.h): generations
 *	made off the data path, published per thread; a worker calls
 *	rules_sock_quiesce() once per event-loop round, between events, and
 *	the hook returns once every thread switched (its generation counter)
 *	and no message begun on the old set is open - in socket mode a
 *	message is open until delivery is done with it.
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
