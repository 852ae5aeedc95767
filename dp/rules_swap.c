/*
 * rules_swap.c - a daemon's rule swaps: per-worker slots, rules manager,
 *	SIGHUP, pidfile
 *
 *	See rules_swap.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules_swap.h"
#include "rulesmgr.h"

/* One worker's end of the swap; see rules_swap.h. */
struct rules_swap_slot {
	_Atomic(struct engine_gen *) next;	/* control -> worker */
	_Atomic(struct engine_gen *) done;	/* worker -> control: drained */
	struct engine_gen *draining;		/* the worker's own */
	_Atomic uint64_t taken;			/* generations taken */
	uint64_t offered;			/* generation offered (control) */
	int     waiting;			/* control awaits its done */
} __attribute__((aligned(64)));

struct rules_swap {
	struct rules_swap_config cfg;
	struct rules_swap_slot *slots;
	struct ruleset *current;		/* what the workers run */
	uint64_t gen;				/* last generation offered */
	struct rules_swap_times last;
	struct rulesmgr *rm;
	FILE   *log;
	char   *pidfile;
	pthread_t ctl;
	int     ctl_on;
	int     ctl_stop;			/* atomic */
};

static volatile sig_atomic_t rules_swap_hup;
static struct sigaction rules_swap_prev_hup;

/* rules_swap_on_hup - only a flag; the handler that was there runs too */
static void rules_swap_on_hup(int sig)
{
	int     saved = errno;

	__atomic_store_n(&rules_swap_hup, 1, __ATOMIC_RELEASE);
	if (rules_swap_prev_hup.sa_handler != SIG_DFL
	    && rules_swap_prev_hup.sa_handler != SIG_IGN
	    && rules_swap_prev_hup.sa_handler != NULL)
		rules_swap_prev_hup.sa_handler(sig);
	errno = saved;
}

/* mono_ms - for the swap's times */
static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* rules_swap_take - worker, between messages' events: take a published
 * generation; hand back the previous one once it has no open message */
void rules_swap_take(struct rules_swap *sw, unsigned worker,
		     struct engine_worker *w)
{
	struct rules_swap_slot *s;
	struct engine_gen *g;

	if (worker >= sw->cfg.nworkers)
		return;
	s = &sw->slots[worker];
	if (s->draining == NULL
	    && atomic_load_explicit(&s->next, memory_order_relaxed) != NULL
	    && (g = atomic_exchange_explicit(&s->next, NULL,
					     memory_order_acquire)) != NULL) {
		s->draining = engine_worker_switch(w, g);
		atomic_fetch_add_explicit(&s->taken, 1, memory_order_release);
	}
	if (s->draining != NULL && engine_gen_open(s->draining) == 0) {
		atomic_store_explicit(&s->done, s->draining, memory_order_release);
		s->draining = NULL;
	}
}

/* rules_swap_gens - one generation per worker, made here (control) */
static int rules_swap_gens(struct rules_swap *sw, struct ruleset *next,
			   struct engine_gen **gens)
{
	unsigned i;

	if ((gens[0] = engine_gen_new(next, RULES_SWAP_PREALLOC)) == NULL)
		return -1;
	for (i = 1; i < sw->cfg.nworkers; i++)
		if ((gens[i] = engine_gen_clone(gens[0], RULES_SWAP_PREALLOC)) == NULL) {
			int     saved = errno;

			while (i-- > 0)
				engine_gen_free(gens[i]);
			errno = saved;
			return -1;
		}
	return 0;
}

/* rules_swap_stopping - the daemon's stop flag; a signal handler sets it */
static int rules_swap_stopping(const struct rules_swap *sw)
{
	return __atomic_load_n(sw->cfg.stop, __ATOMIC_RELAXED);
}

/* rules_swap_drained - collect handed-back generations; how many left */
static unsigned rules_swap_drained(struct rules_swap *sw)
{
	unsigned i, left = 0;

	for (i = 0; i < sw->cfg.nworkers; i++) {
		struct rules_swap_slot *s = &sw->slots[i];
		struct engine_gen *g;

		if (!s->waiting)
			continue;
		g = atomic_exchange_explicit(&s->done, NULL, memory_order_acquire);
		if (g != NULL) {
			engine_gen_free(g);
			s->waiting = 0;
		} else {
			left++;
		}
	}
	return left;
}

/* rules_swap_hook - the rules manager's swap: publish, wait, give back */
static int rules_swap_hook(void *ctx, struct ruleset *next,
			   struct ruleset **old)
{
	struct rules_swap *sw = ctx;
	struct engine_gen *gens[RULES_SWAP_WORKERS_MAX];
	double  t0 = mono_ms(), t1, t2, t3;
	size_t  scratch_bytes, db_bytes;
	unsigned i, left;

	if (rules_swap_gens(sw, next, gens) < 0)
		return -1;
	t1 = mono_ms();
	engine_gen_memory(gens[0], &scratch_bytes, &db_bytes);
	sw->gen++;
	for (i = 0; i < sw->cfg.nworkers; i++) {
		sw->slots[i].offered = sw->gen;
		sw->slots[i].waiting = 1;
		atomic_store_explicit(&sw->slots[i].next, gens[i],
				      memory_order_release);
	}
	if (sw->cfg.published != NULL) {
		sw->cfg.published(sw->cfg.ctx, sw->cfg.stop);
	} else {
		/* threads: every one has taken it (its generation counter) */
		for (i = 0; i < sw->cfg.nworkers && !rules_swap_stopping(sw); i++)
			while (atomic_load_explicit(&sw->slots[i].taken,
						    memory_order_acquire) < sw->gen
			       && !rules_swap_stopping(sw))
				usleep(RULES_SWAP_WAIT_US);
	}
	t2 = mono_ms();
	while ((left = rules_swap_drained(sw)) > 0 && !rules_swap_stopping(sw))
		usleep(RULES_SWAP_WAIT_US);
	t3 = mono_ms();
	sw->last.prepare_ms = t1 - t0;
	sw->last.switched_ms = t2 - t1;
	sw->last.freed_ms = t3 - t1;
	fprintf(sw->log, "%s: rules: %u workers switched in %.2f ms, old set"
		" freed after %.2f ms (generations made in %.2f ms; new set:"
		" databases %zu KB, scratch %zu KB per worker)\n",
		sw->cfg.daemon, sw->cfg.nworkers, t2 - t1, t3 - t1, t1 - t0,
		db_bytes / 1024, scratch_bytes / 1024);
	fflush(sw->log);
	*old = left ? NULL : sw->current;	/* stopping: let it be */
	sw->current = next;
	return 0;
}

/* rules_swap_ctl - the control thread: SIGHUP requests */
static void *rules_swap_ctl(void *arg)
{
	struct rules_swap *sw = arg;

	while (!__atomic_load_n(&sw->ctl_stop, __ATOMIC_ACQUIRE)) {
		if (__atomic_exchange_n(&rules_swap_hup, 0, __ATOMIC_ACQ_REL))
			(void) rulesmgr_hup(sw->rm);
		usleep(RULES_SWAP_HUP_POLL_US);
	}
	return NULL;
}

/* rules_swap_pidfile - our pid, for `mxgate rules` */
static int rules_swap_pidfile(struct rules_swap *sw, const char *path,
			      char *err, size_t errlen)
{
	FILE   *f;

	if (path == NULL || *path == '\0')
		return 0;
	if ((sw->pidfile = strdup(path)) == NULL || (f = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "cannot write pidfile %s: %s", path,
			 strerror(errno));
		return -1;
	}
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0) {
		snprintf(err, errlen, "cannot write pidfile %s: %s", path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* rules_swap_start - manager, slots, pidfile, SIGHUP thread */
struct rules_swap *rules_swap_start(const struct rules_swap_config *cfg,
				    char *err, size_t errlen)
{
	struct rules_swap *sw = calloc(1, sizeof(*sw));
	struct rulesmgr_config rc;
	struct rulesmgr_hooks hooks;
	struct sigaction sa;
	size_t  bytes;
	int     rc_spawn;

	if (sw == NULL) {
		snprintf(err, errlen, "rule swaps: out of memory");
		return NULL;
	}
	sw->cfg = *cfg;
	sw->log = cfg->log ? cfg->log : stderr;
	sw->current = (struct ruleset *)cfg->rules;
	if (cfg->nworkers == 0 || cfg->nworkers > RULES_SWAP_WORKERS_MAX) {
		snprintf(err, errlen, "rule swaps: %u workers (1 to %d)",
			 cfg->nworkers, RULES_SWAP_WORKERS_MAX);
		goto fail;
	}
	bytes = cfg->nworkers * sizeof(*sw->slots);
	if ((sw->slots = aligned_alloc(64, bytes)) == NULL) {
		snprintf(err, errlen, "rule swaps: out of memory");
		goto fail;
	}
	memset(sw->slots, 0, bytes);
	rulesmgr_config_default(&rc);
	rc.daemon = cfg->daemon;
	rc.state_dir = cfg->state_dir;
	rc.rules_dir = cfg->rules_dir;
	rc.rules = cfg->rules;
	rc.bundle_url = cfg->bundle_url;
	rc.bundle_ca = cfg->bundle_ca;
	rc.bundle_key = cfg->bundle_key;
	rc.bundle_interval_s = cfg->bundle_interval_s;
	rc.log = sw->log;
	hooks.swap = rules_swap_hook;
	hooks.ctx = sw;
	if ((sw->rm = rulesmgr_new(&rc, &hooks, NULL, err, errlen)) == NULL)
		goto fail;
	if (rules_swap_pidfile(sw, cfg->pidfile, err, errlen) < 0)
		goto fail;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = rules_swap_on_hup;
	if (sigaction(SIGHUP, &sa, &rules_swap_prev_hup) < 0) {
		snprintf(err, errlen, "rule swaps: SIGHUP handler: %s",
			 strerror(errno));
		goto fail;
	}
	rc_spawn = cfg->spawn ? cfg->spawn(cfg->ctx, &sw->ctl, rules_swap_ctl, sw)
		: pthread_create(&sw->ctl, NULL, rules_swap_ctl, sw);
	if (rc_spawn != 0) {
		snprintf(err, errlen, "rule swaps: cannot start the control thread");
		goto fail;
	}
	sw->ctl_on = 1;
	return sw;
fail:
	rules_swap_stop(sw);
	return NULL;
}

/* rules_swap_manager - the rules manager, for the control plane */
struct rulesmgr *rules_swap_manager(struct rules_swap *sw)
{
	return sw->rm;
}

/* rules_swap_last - times of the last swap */
void rules_swap_last(const struct rules_swap *sw, struct rules_swap_times *t)
{
	*t = sw->last;
}

/* rules_swap_stop - after the workers stopped: thread, manager, pidfile */
void rules_swap_stop(struct rules_swap *sw)
{
	if (sw == NULL)
		return;
	if (sw->ctl_on) {
		__atomic_store_n(&sw->ctl_stop, 1, __ATOMIC_RELEASE);
		pthread_join(sw->ctl, NULL);
	}
	rulesmgr_free(sw->rm);
	if (sw->pidfile != NULL)
		(void) unlink(sw->pidfile);
	free(sw->pidfile);
	free(sw->slots);
	free(sw);
}
