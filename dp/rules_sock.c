/*
 * rules_sock.c - rule swaps for the socket-mode worker threads
 *
 *	See rules_sock.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules_sock.h"
#include "rulesmgr.h"
#include "sock.h"

/* One worker's end of the swap; see rules_sock.h. */
struct rules_sock_slot {
	_Atomic(struct engine_gen *) next;	/* control -> worker */
	_Atomic(struct engine_gen *) done;	/* worker -> control: drained */
	struct engine_gen *draining;		/* the worker's own */
	_Atomic uint64_t running;		/* generation number taken */
	uint64_t offered;			/* number of next (control) */
} __attribute__((aligned(64)));

struct rules_sock {
	struct rules_sock_slot *slots;
	unsigned nslots;
	struct ruleset *current;		/* what the workers run */
	uint64_t gen;				/* last generation number */
	struct rulesmgr *rm;
	FILE   *log;
	volatile int *stop;
	char   *pidfile;
	pthread_t ctl;
	int     ctl_on;
	volatile int ctl_stop;
};

static volatile sig_atomic_t rules_sock_hup;
static struct sigaction rules_sock_prev_hup;

/* rules_sock_on_hup - only a flag; the handler that was there runs too */
static void rules_sock_on_hup(int sig)
{
	rules_sock_hup = 1;
	if (rules_sock_prev_hup.sa_handler != SIG_DFL
	    && rules_sock_prev_hup.sa_handler != SIG_IGN
	    && rules_sock_prev_hup.sa_handler != NULL)
		rules_sock_prev_hup.sa_handler(sig);
}

/* rules_sock_quiesce - worker thread, between events: take a published
 * generation; hand back the previous one once it has no open message */
void rules_sock_quiesce(struct rules_sock *rs, unsigned worker,
			struct engine_worker *w)
{
	struct rules_sock_slot *s;
	struct engine_gen *g;

	if (worker >= rs->nslots)
		return;
	s = &rs->slots[worker];
	if (s->draining == NULL
	    && atomic_load_explicit(&s->next, memory_order_relaxed) != NULL
	    && (g = atomic_exchange_explicit(&s->next, NULL,
					     memory_order_acquire)) != NULL) {
		s->draining = engine_worker_switch(w, g);
		atomic_fetch_add_explicit(&s->running, 1, memory_order_release);
	}
	if (s->draining != NULL && engine_gen_open(s->draining) == 0) {
		atomic_store_explicit(&s->done, s->draining, memory_order_release);
		s->draining = NULL;
	}
}

/* rules_sock_gens - one generation per worker, made here (control) */
static int rules_sock_gens(struct rules_sock *rs, struct ruleset *next,
			   struct engine_gen **gens)
{
	unsigned i;

	if ((gens[0] = engine_gen_new(next, RULES_SOCK_PREALLOC)) == NULL)
		return -1;
	for (i = 1; i < rs->nslots; i++)
		if ((gens[i] = engine_gen_clone(gens[0], RULES_SOCK_PREALLOC)) == NULL) {
			int     saved = errno;

			while (i-- > 0)
				engine_gen_free(gens[i]);
			errno = saved;
			return -1;
		}
	return 0;
}

/* rules_sock_swap - the rules manager's hook: publish, wait, give back */
static int rules_sock_swap(void *ctx, struct ruleset *next,
			   struct ruleset **old)
{
	struct rules_sock *rs = ctx;
	struct engine_gen *gens[SOCK_THREADS_MAX], *g;
	unsigned i, left;

	if (rules_sock_gens(rs, next, gens) < 0)
		return -1;
	rs->gen++;
	for (i = 0; i < rs->nslots; i++) {
		rs->slots[i].offered = rs->gen;
		atomic_store_explicit(&rs->slots[i].next, gens[i],
				      memory_order_release);
	}
	/* every worker switches, then drains the set it left */
	do {
		left = 0;
		for (i = 0; i < rs->nslots; i++) {
			struct rules_sock_slot *s = &rs->slots[i];

			if (s->offered == 0)
				continue;
			g = atomic_exchange_explicit(&s->done, NULL,
						     memory_order_acquire);
			if (g != NULL) {
				engine_gen_free(g);
				s->offered = 0;
			} else {
				left++;
			}
		}
		if (left > 0)
			usleep(RULES_SOCK_WAIT_US);
	} while (left > 0 && !*rs->stop);
	*old = left ? NULL : rs->current;	/* stopping: let it be */
	rs->current = next;
	return 0;
}

/* rules_sock_ctl - the control thread: SIGHUP requests */
static void *rules_sock_ctl(void *arg)
{
	struct rules_sock *rs = arg;

	while (!rs->ctl_stop) {
		if (rules_sock_hup) {
			rules_sock_hup = 0;
			(void) rulesmgr_hup(rs->rm);
		}
		usleep(RULES_SOCK_HUP_POLL_US);
	}
	return NULL;
}

/* rules_sock_pidfile - our pid, for `mxgate rules` */
static int rules_sock_pidfile(struct rules_sock *rs, const char *path)
{
	FILE   *f;

	if (path == NULL || *path == '\0')
		return 0;
	if ((rs->pidfile = strdup(path)) == NULL || (f = fopen(path, "w")) == NULL) {
		fprintf(rs->log, "mxgate-filter: cannot write pidfile %s: %s\n",
			path, strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) == 0 ? 0 : -1;
}

/* rules_sock_start - manager, slots, pidfile, SIGHUP (before sock_run) */
struct rules_sock *rules_sock_start(const struct rules_sock_opts *o,
				    const struct sock_config *cfg,
				    const char *rules_dir, volatile int *stop)
{
	struct rules_sock *rs = calloc(1, sizeof(*rs));
	struct rulesmgr_config rc;
	struct rulesmgr_hooks hooks;
	struct sigaction sa;
	unsigned n = cfg->threads ? cfg->threads
		: (unsigned)sysconf(_SC_NPROCESSORS_ONLN);	/* as sock_run */
	char    err[512];

	if (rs == NULL)
		return NULL;
	if (n == 0)
		n = 1;
	if (n > SOCK_THREADS_MAX)
		n = SOCK_THREADS_MAX;
	rs->log = cfg->log_diag ? cfg->log_diag : stderr;
	rs->stop = stop;
	rs->nslots = n;
	rs->current = (struct ruleset *)cfg->rules;
	if ((rs->slots = aligned_alloc(64, n * sizeof(*rs->slots))) == NULL)
		goto fail;
	memset(rs->slots, 0, n * sizeof(*rs->slots));
	rulesmgr_config_default(&rc);
	rc.daemon = "mxgate-filter";
	rc.state_dir = o->state_dir;
	rc.rules_dir = rules_dir;
	rc.rules = cfg->rules;
	rc.bundle_url = o->bundle_url;
	rc.bundle_ca = o->bundle_ca;
	rc.bundle_key = o->bundle_key;
	rc.bundle_interval_s = o->bundle_interval_s;
	rc.log = rs->log;
	hooks.swap = rules_sock_swap;
	hooks.ctx = rs;
	if ((rs->rm = rulesmgr_new(&rc, &hooks, NULL, err, sizeof(err))) == NULL) {
		fprintf(rs->log, "mxgate-filter: %s\n", err);
		goto fail;
	}
	if (rules_sock_pidfile(rs, o->pidfile) < 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rules_sock_on_hup;
	if (sigaction(SIGHUP, &sa, &rules_sock_prev_hup) < 0
	    || pthread_create(&rs->ctl, NULL, rules_sock_ctl, rs) != 0) {
		fprintf(rs->log, "mxgate-filter: cannot start the rules thread\n");
		goto fail;
	}
	rs->ctl_on = 1;
	return rs;
fail:
	rules_sock_stop(rs);
	return NULL;
}

/* rules_sock_manager - the rules manager, for the control plane */
struct rulesmgr *rules_sock_manager(struct rules_sock *rs)
{
	return rs->rm;
}

/* rules_sock_stop - after sock_run: thread, manager, pidfile */
void rules_sock_stop(struct rules_sock *rs)
{
	if (rs == NULL)
		return;
	if (rs->ctl_on) {
		rs->ctl_stop = 1;
		pthread_join(rs->ctl, NULL);
	}
	rulesmgr_free(rs->rm);
	if (rs->pidfile != NULL)
		(void) unlink(rs->pidfile);
	free(rs->pidfile);
	free(rs->slots);
	free(rs);
}
