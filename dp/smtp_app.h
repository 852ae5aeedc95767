/*
 * smtp_app.h - SMTP on the data plane: lcore sessions and the handoff
 *
 *	Lcore side (smtp_app.c):
 *	extern const struct tcp_app_ops smtpdp_app;
 *	struct smtpdp_lcore *smtpdp_lcore_new(const struct smtpdp_config *cfg,
 *			unsigned index, struct rte_mempool *chunks, int socket,
 *			struct dp_smtp_counters *ctr);
 *	unsigned smtpdp_poll(void *lcore_ctx, uint64_t now_us);
 *	unsigned smtpdp_drain(void *lcore_ctx, uint64_t now_us);
 *	void smtpdp_lcore_report(const struct smtpdp_lcore *l, FILE *fp);
 *	void smtpdp_lcore_free(struct smtpdp_lcore *l);
 *
 *	Control side (smtp_ctrl.c):
 *	struct smtpctl *smtpctl_create(const struct dpconf *cf,
 *			unsigned nworkers, struct dp_stats_zone *z);
 *	struct smtpdp_lcore *smtpctl_lcore(struct smtpctl *ctl, unsigned i);
 *	int smtpctl_start(struct smtpctl *ctl);
 *	void smtpctl_stop(struct smtpctl *ctl);
 *	struct rulesmgr *smtpctl_rulesmgr(struct smtpctl *ctl);
 *	struct pgstore *smtpctl_store(struct smtpctl *ctl);
 *	uint64_t smtpctl_relay_queued(const struct smtpctl *ctl);
 *	struct sfilter *smtpctl_sfilter(struct smtpctl *ctl);
 *	struct tls_server *smtpctl_tls(struct smtpctl *ctl);
 *
 * DESCRIPTION
 *	Every worker lcore owns a struct smtpdp_lcore: a fixed pool of
 *	session slots (hugepage memory, made at start-up), its engine
 *	worker, and two single-producer single-consumer rings to the
 *	control thread. smtpdp_app is the tcp_app_ops of the SMTP port; its
 *	listen_ctx is the lcore's struct smtpdp_lcore.
 *
 *	Message content goes, as it arrives, into the engine (scanning) and
 *	into chunks from one rte_mempool in hugepage memory shared by the
 *	lcores. At the end of data the lcore fills the slot's handoff record
 *	(envelope, parameters, verdict, chunk list: everything control needs,
 *	nothing pointing into the session) and enqueues it to control;
 *	control relays (syscalls happen there, never on an lcore) and
 *	enqueues the record back with the reply, which smtpdp_poll() gives
 *	the session. A slot whose connection went away meanwhile waits for
 *	its record before it is reused, so the record never dangles.
 *
 *	smtpdp_poll() is the lcore loop's hook (dp_lcore_params.app_poll):
 *	results from control, and the sessions' timeouts every
 *	SMTPDP_TICK_MS. It returns how much it did, so that the loop flushes
 *	TCP after it.
 *
 *	smtpdp_drain() is the loop's shutdown hook (app_drain): new
 *	connections are reset, sessions with nothing at control get
 *	421 4.3.2 and FIN at once, sessions whose message is with control
 *	get its reply first (250 only if Postfix took it), then 421. It
 *	returns how many records are still out; after SMTPDP_SHUTDOWN_WAIT_MS
 *	it gives up and returns 0 (those clients saw no 250: they retry).
 *
 *	smtpctl_create() does the start-up that needs system calls: rule
 *	set, log file, quarantine directory, chunk pool, per-lcore state;
 *	smtpctl_start() starts the control thread (rte_ctrl_thread_create)
 *	and smtpctl_stop() stops it after the lcores have stopped.
 *
 * DIAGNOSTICS
 *	smtpctl_create() returns NULL after printing what failed.
 *	smtpdp_lcore_new() returns NULL with rte_errno or errno set. In the
 *	loop nothing is printed: see struct dp_smtp_counters (stats.h), in
 *	the counters memzone (mxgate-dp --stats).
 */
#ifndef MX_DP_SMTP_APP_H
#define MX_DP_SMTP_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include <rte_common.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "delivery.h"
#include "engine.h"
#include "handoff.h"
#include "relay.h"
#include "sfilter.h"
#include "smtp_session.h"
#include "stats.h"
#include "tcp.h"
#include "tls.h"

#define SMTPDP_PORT_DEFAULT	25
#define SMTPDP_SESSIONS_DEFAULT	1024	/* session slots per lcore */
#define SMTPDP_CHUNKS_DEFAULT	4096	/* message chunks, all lcores */
#define SMTPDP_CHUNK_SIZE	16384	/* one chunk, header included */
#define SMTPDP_CHUNK_CACHE	32	/* mempool cache per lcore */
#define SMTPDP_MATCH_MAX	32	/* verdict matches copied for the log */
#define SMTPDP_POLICY_MAX	64	/* policy name copied for the log */
#define SMTPDP_VERSION_MAX	24	/* rule set version copied for the log */
#define SMTPDP_TICK_MS		100	/* session timeout scan interval */
#define SMTPDP_RESULT_BURST	32	/* results taken per loop iteration */
#define SMTPDP_ADDR_MAX		16	/* "255.255.255.255" */
#define SMTPDP_SHUTDOWN_WAIT_MS	10000	/* shutdown: wait for control's replies */

/* A piece of message content; the chunks of a message form a list. */
struct smtpdp_chunk {
	struct smtpdp_chunk *next;
	uint32_t len;
	uint8_t data[SMTPDP_CHUNK_SIZE - 16];
};

/* Shared start-up configuration, read-only after start. */
struct smtpdp_config {
	struct smtp_config smtp;
	const struct ruleset *rules;		/* the start-up set */
	struct rules_rcu *rules_swap;	/* rule swaps (rules_rcu.h); NULL: none */
	uint32_t sessions;		/* slots per lcore */
	struct relay_config relay;
	struct delivery_config delivery;
	struct tls_server *tls;		/* NULL: no STARTTLS (dp/tls_dp.c) */
};

/*
 * What control needs to carry out a verdict: copies only, so that the
 * session may move on (or go away) while control works on it.
 */
struct smtpdp_handoff {
	unsigned lcore;			/* whose record */
	struct rte_ring *home;		/* that lcore's result ring */
	struct smtpdp_chunk *head;	/* content, as received */
	uint32_t nchunks;
	uint64_t size;
	struct envelope env;
	uint16_t client_port;
	bool esmtp;
	char client_addr[SMTPDP_ADDR_MAX];
	char helo[SMTP_HELO_MAX + 1];
	char mail_from[SMTP_PATH_MAX + 1];
	const char *rcpt[SMTP_RCPT_CAP];
	char rcpt_buf[SMTP_ENVELOPE_CAP];
	char mail_params[HANDOFF_MAIL_PARAMS_MAX];
	char tls_version[SMTP_TLS_NAME_MAX];	/* "" without STARTTLS */
	char tls_cipher[SMTP_TLS_NAME_MAX];
	const char *rcpt_params[SMTP_RCPT_CAP];
	char rcpt_param_buf[HANDOFF_RCPT_PARAMS_MAX];
	struct verdict verdict;
	struct verdict_match matches[SMTPDP_MATCH_MAX];
	/* copies: the rule set may be freed (a swap) before control logs */
	char policy[SMTPDP_POLICY_MAX];
	char rules_version[SMTPDP_VERSION_MAX];
	double receive_ms, scan_ms;
	uint64_t end_us;		/* lcore clock at the handoff */
	/* control's */
	struct delivery_msg dm;
	struct iovec *iov;
	/* control to lcore */
	struct delivery_reply reply;
};

/* One client connection's slot. */
struct smtpdp_conn {
	struct smtpdp_lcore *lc;
	struct tcp_conn *c;		/* NULL once TCP is gone */
	uint32_t index;
	bool in_use;
	bool live;			/* session initialised, not fini'd */
	bool eof;			/* peer sent FIN */
	bool pumping;
	bool msg_failed;		/* engine or chunk failure: 451 */
	bool pending;			/* record is with control */
	bool abandoned;			/* session gave up on that record */
	bool tls_engaged;		/* 220 sent: the connection carries TLS */
	bool tls_done;			/* handshake finished */
	bool tls_shut;			/* close_notify queued */
	struct tls_conn *tls;		/* reserved at STARTTLS (tls_dp.c) */
	struct engine_msg *em;
	struct envelope env;		/* the engine's view during DATA */
	struct smtpdp_chunk *head, *tail;
	uint32_t nchunks;
	uint64_t size;
	uint64_t first_byte_us;
	uint16_t reply_col;		/* column in the reply line being sent */
	char reply_class;		/* its first digit */
	char addr[SMTPDP_ADDR_MAX];
	struct sfilter_conn sf;		/* sender filter (dp/sfilter.h) */
	struct smtp_session sess;
	struct smtpdp_handoff rec;
};

/*
 * The control thread's doorbell. Control sets `sleeping` before it waits
 * in the kernel (and looks at the rings once more after setting it); the
 * lcore that then posts a record clears it and writes the eventfd. So an
 * lcore makes that one system call only when control is asleep, at most
 * once per sleep, and a record never waits for control's timeout.
 */
struct smtpdp_bell {
	int sleeping;			/* atomics only */
	int efd;			/* eventfd, in control's epoll set */
};

struct smtpdp_lcore {
	unsigned index;
	struct smtpdp_bell *bell;	/* NULL: control polls (tests) */
	const struct smtpdp_config *cfg;
	struct engine_worker *engine;
	struct rte_mempool *chunks;
	struct rte_ring *to_ctrl;	/* records: lcore -> control */
	struct rte_ring *from_ctrl;	/* records: control -> lcore */
	uint64_t now_us;
	uint64_t next_tick_ms;
	struct smtpdp_conn *conns;
	uint32_t *free_slots;
	uint32_t nfree;
	bool closing;			/* shutdown: draining */
	uint64_t drain_end_us;
	struct dp_smtp_counters *ctr;	/* in the counters memzone */
	struct tls_worker *tls;		/* NULL: no STARTTLS */
	struct sfilter_reader *sf;	/* NULL: no sender filter */
} __rte_cache_aligned;

struct dpconf;
struct smtpctl;

extern const struct tcp_app_ops smtpdp_app;
struct smtpdp_lcore *smtpdp_lcore_new(const struct smtpdp_config *cfg,
				      unsigned index, struct rte_mempool *chunks,
				      int socket, struct dp_smtp_counters *ctr);
unsigned smtpdp_poll(void *lcore_ctx, uint64_t now_us);
unsigned smtpdp_drain(void *lcore_ctx, uint64_t now_us);
void smtpdp_lcore_report(const struct smtpdp_lcore *l, FILE *fp);
void smtpdp_lcore_free(struct smtpdp_lcore *l);

struct smtpctl *smtpctl_create(const struct dpconf *cf, unsigned nworkers,
			       struct dp_stats_zone *z);
struct smtpdp_lcore *smtpctl_lcore(struct smtpctl *ctl, unsigned i);
struct pgstore *smtpctl_store(struct smtpctl *ctl);
uint64_t smtpctl_relay_queued(const struct smtpctl *ctl);
int smtpctl_start(struct smtpctl *ctl);
void smtpctl_stop(struct smtpctl *ctl);
struct rulesmgr *smtpctl_rulesmgr(struct smtpctl *ctl);
struct sfilter *smtpctl_sfilter(struct smtpctl *ctl);
struct tls_server *smtpctl_tls(struct smtpctl *ctl);

/* tls_dp.c: STARTTLS on the lcore, set-up and reload in control */
int smtpdp_tls_start(void *ctx);
void smtpdp_tls_policy(struct smtpdp_conn *s);
bool smtpdp_tls_engage(struct smtpdp_conn *s);
int smtpdp_tls_pump(struct smtpdp_conn *s);
void smtpdp_tls_record(struct smtpdp_conn *s, const struct smtp_txn *t);
void smtpdp_tls_release(struct smtpdp_conn *s);
bool smtpdp_tls_bye(struct smtpdp_conn *s, const char *text, size_t n);
int smtpdp_tls_setup(struct smtpdp_config *cfg, const struct dpconf *cf,
		     unsigned nworkers);
void smtpdp_tls_control(struct smtpdp_config *cfg);
void smtpdp_tls_shutdown(struct smtpdp_config *cfg);

#endif
