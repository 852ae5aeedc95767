/*
 * smtp_ctrl.c - the control thread of mxgate-dp: verdicts carried out
 *
 *	struct smtpctl *smtpctl_create(const struct dpconf *cf,
 *			unsigned nworkers, struct dp_stats_zone *z);
 *	struct smtpdp_lcore *smtpctl_lcore(struct smtpctl *ctl, unsigned i);
 *	int smtpctl_start(struct smtpctl *ctl);
 *	void smtpctl_stop(struct smtpctl *ctl);
 *	struct sfilter *smtpctl_sfilter(struct smtpctl *ctl);
 *	struct tls_server *smtpctl_tls(struct smtpctl *ctl);
 *
 * DESCRIPTION
 *	Where the data plane's messages meet the kernel: one thread made by
 *	rte_ctrl_thread_create() (so it stays off the worker cores) takes
 *	handoff records from every lcore's ring, gives each a queue id and
 *	hands it to delivery (relay with PIPELINING and XFORWARD,
 *	quarantine, discard, reject; one JSON log line), waits on
 *	delivery's epoll descriptor with a short timeout, and returns every
 *	record with its reply on the lcore's result ring. The body iovecs
 *	point straight at the chunks in hugepage memory: no copy.
 *
 *	An lcore that posts a record while this thread sleeps wakes it
 *	through an eventfd (struct smtpdp_bell, smtp_app.h): one write per
 *	sleep at most, none while control is awake. Without it a record
 *	waited for the 1 ms timeout, half a millisecond on average, most of
 *	a lone message's latency; 50 us timeouts instead cost ~40 us of
 *	control CPU per message on the veth bench (docs/benchmarks.md).
 *
 *	docs/adr/0007-dp-handoff-in-process.md says why this is a thread of
 *	mxgate-dp for now rather than the mxgate-control process of the
 *	design.
 *
 * DIAGNOSTICS
 *	Start-up failures are printed with what was attempted and
 *	smtpctl_create()/smtpctl_start() fail. At run time a message that
 *	cannot be handed on is answered 451 and logged by delivery.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "config.h"
#include "rules.h"
#include "pgstore.h"
#include "profiler_store.h"
#include "rules_rcu.h"
#include "rulesmgr.h"
#include "smtp_app.h"
#include "sfilter_hooks.h"

#define SMTPCTL_WAIT_MS		1	/* epoll wait: timers (relay,
					 * TLS reload, sender filter); the
					 * lcores' doorbell ends it early */
#define SMTPCTL_BURST		32	/* records taken per ring and pass */
#define SMTPCTL_QID_WORKER	0x80	/* qid worker field: dp, not filter */
#define SMTPCTL_CHUNK_POOL	"mxgate_msgchunks"
#define SMTPCTL_STATE_DIR_DEFAULT "/var/lib/mxgate"	/* = ctlplane's */

struct smtpctl {
	struct smtpdp_config cfg;
	struct ruleset *rules;
	FILE *log;
	unsigned nworkers;
	struct smtpdp_lcore **lcs;
	struct rte_mempool *chunks;
	struct delivery *delivery;
	volatile uint64_t relay_queued;	/* read by the management thread */
	struct pgstore *store;		/* NULL: db = off */
	struct sfilter *sf;		/* NULL: no sender filter */
	struct profiler_store *pstore;	/* profiler blocks in the store */
	int epfd;
	struct smtpdp_bell bell;	/* the lcores wake us (smtp_app.h) */
	pthread_t tid;
	bool started;
	volatile int quit;
	uint64_t seq;
	char hostname[DPCONF_STR_MAX];
	char qdir[DPCONF_STR_MAX];
};

/* mono_ms - monotonic milliseconds (control may call the kernel) */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* on_done - delivery answered: the record goes home with the reply */
static void on_done(void *ctx, struct delivery_msg *m,
		    const struct delivery_reply *r)
{
	struct smtpdp_handoff *rec = ctx;

	(void)m;
	rec->reply = *r;
	free(rec->iov);
	rec->iov = NULL;
	/* Sized for every slot of the lcore, and a slot has one record out
	 * at most: this cannot fail. */
	if (rte_ring_sp_enqueue(rec->home, rec) != 0)
		rte_panic("mxgate-dp: result ring of worker %u full\n", rec->lcore);
}

/* refuse - answer a record ourselves (no delivery): 451, try again */
static void refuse(struct smtpdp_handoff *rec, const char *text)
{
	struct delivery_reply r;

	memset(&r, 0, sizeof(r));
	r.code = 451;
	snprintf(r.enhanced, sizeof(r.enhanced), "4.3.0");
	snprintf(r.text, sizeof(r.text), "%s", text);
	on_done(rec, &rec->dm, &r);
}

/* submit - one record from an lcore into delivery */
static void submit(struct smtpctl *ctl, struct smtpdp_handoff *rec,
		   uint64_t now)
{
	struct delivery_msg *m = &rec->dm;
	struct smtpdp_chunk *ch;
	size_t i = 0;

	rec->iov = calloc(rec->nchunks ? rec->nchunks : 1, sizeof(*rec->iov));
	if (rec->iov == NULL) {
		refuse(rec, "out of memory, try again later");
		return;
	}
	for (ch = rec->head; ch && i < rec->nchunks; ch = ch->next, i++) {
		rec->iov[i].iov_base = ch->data;
		rec->iov[i].iov_len = ch->len;
	}
	memset(m, 0, sizeof(*m));
	handoff_qid(SMTPCTL_QID_WORKER | rec->lcore, ctl->seq++, m->qid, sizeof(m->qid));
	m->env = &rec->env;
	m->client_port = rec->client_port;
	m->proto = rec->tls_version[0] ? (rec->esmtp ? "ESMTPS" : "SMTPS")
		   : rec->esmtp ? "ESMTP" : "SMTP";
	m->tls_version = rec->tls_version;
	m->tls_cipher = rec->tls_cipher;
	m->mail_params = rec->mail_params;
	m->rcpt_params = rec->rcpt_params;
	m->verdict = &rec->verdict;
	m->rules_version = rec->rules_version;
	m->body = rec->iov;
	m->nbody = i;
	m->size = rec->size;
	m->receive_ms = rec->receive_ms;
	m->scan_ms = rec->scan_ms;
	m->end_ms = now;
	m->done = on_done;
	m->ctx = rec;
	delivery_submit(ctl->delivery, m, now);
}

/* rings_empty - nothing waits on any lcore's ring to control */
static bool rings_empty(const struct smtpctl *ctl)
{
	unsigned w;

	for (w = 0; w < ctl->nworkers; w++)
		if (!rte_ring_empty(ctl->lcs[w]->to_ctrl))
			return false;
	return true;
}

/* ctl_wait - sleep until delivery's sockets, the doorbell or the timeout
 *
 * `sleeping` is set before the rings are looked at once more: an lcore
 * that enqueued before that look is seen by it, one that enqueues after
 * it sees `sleeping` and rings. Each side stores, then a full fence (the
 * sequentially consistent store here, __atomic_thread_fence in
 * ring_bell()), then loads what the other stored, so the two cannot both
 * miss.
 */
static void ctl_wait(struct smtpctl *ctl)
{
	struct epoll_event ev[4];
	uint64_t v;
	int n, i;

	__atomic_store_n(&ctl->bell.sleeping, 1, __ATOMIC_SEQ_CST);
	n = epoll_wait(ctl->epfd, ev, 4, rings_empty(ctl) ? SMTPCTL_WAIT_MS : 0);
	__atomic_store_n(&ctl->bell.sleeping, 0, __ATOMIC_SEQ_CST);
	if (n < 0 && errno != EINTR) {
		fprintf(stderr, "mxgate-dp: control: epoll_wait: %s\n",
			strerror(errno));
		usleep(SMTPCTL_WAIT_MS * 1000);
	}
	for (i = 0; i < n; i++)
		if (ev[i].data.fd == ctl->bell.efd)
			(void)!read(ctl->bell.efd, &v, sizeof(v));
}

/* ctl_main - the control thread: rings in, delivery, rings out */
static void *ctl_main(void *arg)
{
	struct smtpctl *ctl = arg;

	while (!ctl->quit) {
		struct smtpdp_handoff *recs[SMTPCTL_BURST];
		uint64_t now = mono_ms();
		unsigned w, n, i, got = 0;

		for (w = 0; w < ctl->nworkers; w++) {
			n = rte_ring_sc_dequeue_burst(ctl->lcs[w]->to_ctrl, (void **)recs,
						      SMTPCTL_BURST, NULL);
			for (i = 0; i < n; i++)
				submit(ctl, recs[i], now);
			got += n;
		}
		if (got == 0)
			ctl_wait(ctl);
		delivery_run(ctl->delivery, mono_ms());
		ctl->relay_queued = delivery_queued(ctl->delivery);
		smtpdp_tls_control(&ctl->cfg);
		if (ctl->sf)
			sfilter_ctl_poll(ctl->sf, mono_ms());
	}
	return NULL;
}

/* smtp_config_from - the session limits and names from the dp config */
static void smtp_config_from(struct smtpctl *ctl, const struct dpconf *cf)
{
	struct smtpdp_config *c = &ctl->cfg;

	smtp_config_defaults(&c->smtp);
	if (cf->hostname[0])
		snprintf(ctl->hostname, sizeof(ctl->hostname), "%s", cf->hostname);
	else if (gethostname(ctl->hostname, sizeof(ctl->hostname) - 1) != 0
		 || !ctl->hostname[0])
		snprintf(ctl->hostname, sizeof(ctl->hostname), "mxgate");
	c->smtp.hostname = ctl->hostname;
	c->sessions = cf->smtp_sessions;
	relay_config_default(&c->relay);
	snprintf(c->relay.host, sizeof(c->relay.host), "%s", cf->relay_host);
	c->relay.port = cf->relay_port;
	snprintf(c->relay.helo, sizeof(c->relay.helo), "%s", ctl->hostname);
	snprintf(ctl->qdir, sizeof(ctl->qdir), "%s", cf->quarantine);
	c->delivery.quarantine_dir = ctl->qdir;
	c->delivery.hostname = ctl->hostname;
}

/* open_store - the PostgreSQL store for delivery (db = off: none),
 * before delivery exists; the control plane uses it too (smtpctl_store) */
static int open_store(struct smtpctl *ctl, const struct dpconf *cf)
{
	struct pgstore_config pc;
	char err[1024];

	memset(&pc, 0, sizeof(pc));
	pc.conninfo = cf->db;
	pc.datadir = cf->db_dir;
	pc.spool_dir = cf->spool_dir;
	pc.state_dir = cf->state_dir[0] ? cf->state_dir : SMTPCTL_STATE_DIR_DEFAULT;
	pc.node = cf->node[0] ? cf->node : ctl->hostname;
	if ((ctl->store = pgstore_open(&pc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mxgate-dp: message database: %s (db = off runs"
			" without one)\n", err);
		return -1;
	}
	ctl->cfg.delivery.store = ctl->store;
	return 0;
}

/* smtpctl_relay_queued - messages with the relay, for the control plane */
uint64_t smtpctl_relay_queued(const struct smtpctl *ctl)
{
	return ctl->relay_queued;
}

/* smtpctl_store - the store delivery uses, for the control plane's API */
struct pgstore *smtpctl_store(struct smtpctl *ctl)
{
	return ctl->store;
}

/* smtpctl_sfilter - the sender filter, for the control plane's API */
struct sfilter *smtpctl_sfilter(struct smtpctl *ctl)
{
	return ctl ? ctl->sf : NULL;
}

/* smtpctl_tls - the STARTTLS server (NULL: none), for the API's reload */
struct tls_server *smtpctl_tls(struct smtpctl *ctl)
{
	return ctl ? ctl->cfg.tls : NULL;
}

/* smtpctl_rules_start - rule swaps on the lcores (rules_rcu.h): the rules
 * manager, its SIGHUP thread and the pidfile */
static int smtpctl_rules_start(struct smtpctl *ctl, const struct dpconf *cf,
			       unsigned nworkers)
{
	struct rules_rcu_config rc;
	char err[512];

	memset(&rc, 0, sizeof(rc));
	rc.nworkers = nworkers;
	rc.rules = ctl->rules;
	rc.rules_dir = cf->rules;
	/* the control plane's state directory: kept versions, requests */
	rc.state_dir = cf->state_dir[0] ? cf->state_dir : SMTPCTL_STATE_DIR_DEFAULT;
	rc.pidfile = cf->pidfile[0] ? cf->pidfile : NULL;
	rc.bundle_url = cf->rules_bundle_url[0] ? cf->rules_bundle_url : NULL;
	rc.bundle_ca = cf->rules_bundle_ca[0] ? cf->rules_bundle_ca : NULL;
	rc.bundle_key = cf->rules_bundle_key[0] ? cf->rules_bundle_key : NULL;
	rc.bundle_interval_s = cf->rules_bundle_interval;
	rc.log = stdout;
	rc.stop = &ctl->quit;
	if ((ctl->cfg.rules_swap = rules_rcu_start(&rc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mxgate-dp: %s\n", err);
		return -1;
	}
	return 0;
}

/* smtpctl_rulesmgr - the rules manager, for the control plane */
struct rulesmgr *smtpctl_rulesmgr(struct smtpctl *ctl)
{
	return ctl && ctl->cfg.rules_swap ? rules_rcu_manager(ctl->cfg.rules_swap) : NULL;
}

/* smtpctl_create - everything SMTP needs, at start-up (after EAL) */
struct smtpctl *smtpctl_create(const struct dpconf *cf, unsigned nworkers,
			       struct dp_stats_zone *z)
{
	struct smtpctl *ctl;
	struct rules_error err;
	struct epoll_event ev;
	unsigned i;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL
	    || (ctl->lcs = calloc(nworkers, sizeof(*ctl->lcs))) == NULL) {
		fprintf(stderr, "mxgate-dp: smtp: out of memory\n");
		free(ctl);
		return NULL;
	}
	ctl->epfd = -1;
	ctl->bell.efd = -1;
	ctl->nworkers = nworkers;
	smtp_config_from(ctl, cf);
	memset(&err, 0, sizeof(err));
	if ((ctl->rules = rules_load_dir(cf->rules, &err)) == NULL) {
		fprintf(stderr, "mxgate-dp: rule set %s refused: %s%s%.0d%s%s\n",
			cf->rules, err.file, err.line ? ":" : "", err.line,
			err.file[0] ? ": " : "", err.msg);
		goto fail;
	}
	ctl->cfg.rules = ctl->rules;
	ctl->cfg.delivery.rules_version = rules_version(ctl->rules);
	if (smtpctl_rules_start(ctl, cf, nworkers) < 0)
		goto fail;
	/* Not fatal: without it, quarantine verdicts get 451 (delivery
	 * cannot store them), every other message flows. */
	if (mkdir(ctl->qdir, 0700) < 0 && errno != EEXIST)
		fprintf(stderr, "mxgate-dp: warning: create quarantine directory %s: %s;"
			" quarantined mail will be tempfailed\n", ctl->qdir, strerror(errno));
	if (strcmp(cf->log, "-") == 0)
		ctl->log = stdout;
	else if ((ctl->log = fopen(cf->log, "a")) == NULL) {
		fprintf(stderr, "mxgate-dp: open message log %s: %s\n", cf->log,
			strerror(errno));
		goto fail;
	}
	ctl->cfg.delivery.log = ctl->log;
	ctl->chunks = rte_mempool_create(SMTPCTL_CHUNK_POOL, cf->msg_chunks,
					 SMTPDP_CHUNK_SIZE, SMTPDP_CHUNK_CACHE, 0,
					 NULL, NULL, NULL, NULL,
					 (int)rte_socket_id(), 0);
	if (ctl->chunks == NULL) {
		fprintf(stderr, "mxgate-dp: create message chunk pool of %u x %u bytes:"
			" %s\n", cf->msg_chunks, SMTPDP_CHUNK_SIZE,
			rte_strerror(rte_errno));
		goto fail;
	}
	if (smtpdp_tls_setup(&ctl->cfg, cf, nworkers) < 0)
		goto fail;
	for (i = 0; i < nworkers; i++) {
		ctl->lcs[i] = smtpdp_lcore_new(&ctl->cfg, i, ctl->chunks,
					       (int)rte_socket_id(), &z->w[i].smtp);
		if (ctl->lcs[i] == NULL) {
			fprintf(stderr, "mxgate-dp: smtp worker %u: %u session slots,"
				" rings, engine: %s\n", i, ctl->cfg.sessions,
				rte_errno ? rte_strerror(rte_errno) : strerror(errno));
			goto fail;
		}
	}
	if (cf->sender_filter[0]
	    && (ctl->sf = sfilter_dp_setup(cf->sender_filter, ctl->lcs, nworkers, ctl->log, z)) == NULL)
		goto fail;
	if (strcmp(cf->db, "off") != 0 && open_store(ctl, cf) < 0)
		goto fail;
	/* blocks in force come back from the store; new ones are written */
	if (ctl->sf && ctl->store)
		ctl->pstore = profiler_store_start(sfilter_profiler(ctl->sf), ctl->store, stderr);
	if ((ctl->delivery = delivery_new(&ctl->cfg.delivery, &ctl->cfg.relay)) == NULL) {
		fprintf(stderr, "mxgate-dp: set up the relay to %s:%u: %s\n",
			ctl->cfg.relay.host, ctl->cfg.relay.port, strerror(errno));
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = delivery_fd(ctl->delivery);
	if ((ctl->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0
	    || epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, delivery_fd(ctl->delivery), &ev) < 0) {
		fprintf(stderr, "mxgate-dp: control epoll: %s\n", strerror(errno));
		goto fail;
	}
	ev.data.fd = ctl->bell.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ctl->bell.efd < 0
	    || epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, ctl->bell.efd, &ev) < 0) {
		fprintf(stderr, "mxgate-dp: control doorbell (eventfd): %s\n",
			strerror(errno));
		goto fail;
	}
	for (i = 0; i < nworkers; i++)
		ctl->lcs[i]->bell = &ctl->bell;
	printf("mxgate-dp: smtp: rules %s (%zu rules, version %s), relay %s:%u,"
	       " %u sessions of %zu bytes per worker, %u chunks of %u bytes\n", cf->rules,
	       rules_count(ctl->rules), rules_version(ctl->rules), ctl->cfg.relay.host,
	       ctl->cfg.relay.port, ctl->cfg.sessions, sizeof(struct smtpdp_conn),
	       cf->msg_chunks, SMTPDP_CHUNK_SIZE);
	return ctl;
fail:
	smtpctl_stop(ctl);
	return NULL;
}

/* smtpctl_lcore - worker i's SMTP state (its listen_ctx and poll ctx) */
struct smtpdp_lcore *smtpctl_lcore(struct smtpctl *ctl, unsigned i)
{
	return ctl->lcs[i];
}

/* smtpctl_start - the control thread, off the worker cores */
int smtpctl_start(struct smtpctl *ctl)
{
	int ret;

	ret = rte_ctrl_thread_create(&ctl->tid, "mxgate-ctl", NULL, ctl_main, ctl);
	if (ret != 0) {
		fprintf(stderr, "mxgate-dp: start the control thread: %s\n",
			strerror(ret < 0 ? -ret : ret));
		return -1;
	}
	ctl->started = true;
	return 0;
}

/* smtpctl_stop - after the lcores stopped: stop control, free all */
void smtpctl_stop(struct smtpctl *ctl)
{
	unsigned i;

	if (ctl == NULL)
		return;
	if (ctl->started) {
		ctl->quit = 1;
		pthread_join(ctl->tid, NULL);
	}
	/* fails what is still in flight: those clients got no 250 */
	if (ctl->delivery)
		delivery_free(ctl->delivery);
	rulesmgr_attach_store(smtpctl_rulesmgr(ctl), NULL);	/* before the store goes */
	profiler_store_stop(ctl->pstore);	/* before the store and the profiler */
	pgstore_close(ctl->store);	/* flushes the message log */
	sfilter_free(ctl->sf);
	for (i = 0; i < ctl->nworkers; i++) {
		if (ctl->lcs[i] == NULL)
			continue;
		smtpdp_lcore_report(ctl->lcs[i], stdout);
		smtpdp_lcore_free(ctl->lcs[i]);
	}
	smtpdp_tls_shutdown(&ctl->cfg);
	rules_rcu_stop(ctl->cfg.rules_swap);	/* after the lcores' engines */
	rte_mempool_free(ctl->chunks);
	if (ctl->epfd >= 0)
		close(ctl->epfd);
	if (ctl->bell.efd >= 0)
		close(ctl->bell.efd);
	if (ctl->log && ctl->log != stdout)
		fclose(ctl->log);
	if (ctl->rules)
		rules_free(ctl->rules);
	free(ctl->lcs);
	free(ctl);
}
