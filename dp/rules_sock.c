/*
 * rules_sock.c - rule swaps for the socket-mode worker threads
 *
 *	See rules_sock.h; the work is rules_swap.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules_sock.h"
#include "rules_swap.h"
#include "sock.h"

/* rules_sock_start - manager, slots, pidfile, SIGHUP (before sock_run) */
struct rules_sock *rules_sock_start(const struct rules_sock_opts *o,
				    const struct sock_config *cfg,
				    const char *rules_dir, volatile int *stop)
{
	struct rules_swap_config sc;
	struct rules_swap *sw;
	unsigned n = cfg->threads ? cfg->threads
		: (unsigned)sysconf(_SC_NPROCESSORS_ONLN);	/* as sock_run */
	char    err[512];

	if (n == 0)
		n = 1;
	if (n > SOCK_THREADS_MAX)
		n = SOCK_THREADS_MAX;
	memset(&sc, 0, sizeof(sc));
	sc.daemon = "mxgate-filter";
	sc.nworkers = n;
	sc.rules = cfg->rules;
	sc.rules_dir = rules_dir;
	sc.state_dir = o->state_dir;
	sc.pidfile = o->pidfile;
	sc.bundle_url = o->bundle_url;
	sc.bundle_ca = o->bundle_ca;
	sc.bundle_key = o->bundle_key;
	sc.bundle_interval_s = o->bundle_interval_s;
	sc.log = cfg->log_diag ? cfg->log_diag : stderr;
	sc.stop = stop;
	if ((sw = rules_swap_start(&sc, err, sizeof(err))) == NULL)
		fprintf(sc.log, "mxgate-filter: %s\n", err);
	return (struct rules_sock *)sw;
}

/* rules_sock_quiesce - worker thread, between events */
void rules_sock_quiesce(struct rules_sock *rs, unsigned worker,
			struct engine_worker *w)
{
	rules_swap_take((struct rules_swap *)rs, worker, w);
}

/* rules_sock_manager - the rules manager, for the control plane */
struct rulesmgr *rules_sock_manager(struct rules_sock *rs)
{
	return rules_swap_manager((struct rules_swap *)rs);
}

/* rules_sock_stop - after sock_run: thread, manager, pidfile */
void rules_sock_stop(struct rules_sock *rs)
{
	rules_swap_stop((struct rules_swap *)rs);
}
