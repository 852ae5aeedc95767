/*
 * sfilter_int.h - private to dp/sfilter*.c: configuration, shared tables
 *
 *	int sfconf_load(struct sfilter_conf *c, const char *path, char *err,
 *			size_t errlen);
 *	void sfconf_defaults(struct sfilter_conf *c);
 *	void sf_reply(const struct sfilter_conf *c, const struct sf_event *ev,
 *			struct smtp_reply *out);
 *	struct sf_rcptset *sf_rcptset_load(const char *path, char *err,
 *			size_t errlen);
 *	bool sf_rcptset_has(const struct sf_rcptset *s, const char *addr);
 *	void sf_rcptset_free(struct sf_rcptset *s);
 */
#ifndef MX_DP_SFILTER_INT_H
#define MX_DP_SFILTER_INT_H

#include <pthread.h>
#include <sys/stat.h>

#include "dnsbl.h"
#include "profiler.h"
#include "sfilter.h"

/* Defaults, each documented in docs/sender-filter.md. */
#define SF_PATH_MAX		256
#define SF_CONN_RATE_WINDOW_S	60
#define SF_LIMITS_SIZE_DEFAULT	65536	/* addresses counted at once */
#define SF_ADDRS_SIZE_DEFAULT	65536	/* DNSBL/profiler/pregreet entries */
#define SF_DNSBL_BUDGET_MS	100	/* greeting waits at most this */
#define SF_PREGREET_PASS_S	86400	/* a client that waited is trusted */
#define SF_BOUNCE_RCPTS		2	/* null sender to this many: bounce */
#define SF_VIRUS_PREFIX		"virus"	/* rule ids that mean a virus */
#define SF_RELOAD_CHECK_S	5	/* list files' mtime looked at */
#define SF_PROBE		8	/* slots probed per address */
#define SF_RING_SIZE		4096	/* events per reader, power of two */
#define SF_RETIRED_MAX		8	/* old generations waiting for grace */
#define SF_CTL_WAIT_MS		10	/* control thread's epoll timeout */
#define SF_BLOCK_TEXT		"Access denied"
#define SF_LOG_PER_S		200	/* refusal lines per reader per second */

enum sf_block_action { SF_BLOCK_GREET = 0, SF_BLOCK_DROP, SF_BLOCK_RST };

struct sfilter_conf {
	char allow_list[SF_PATH_MAX];
	char block_list[SF_PATH_MAX];
	enum sf_block_action block_action;
	char block_text[SFILTER_TEXT_MAX];
	unsigned max_conns;		/* per address, 0: no limit */
	unsigned conn_rate;		/* per address per window, 0: none */
	unsigned conn_rate_window_s;
	unsigned limits_size;
	unsigned addrs_size;
	char recipients[SF_PATH_MAX];
	struct dnsbl_config dnsbl;
	unsigned dnsbl_budget_ms;
	unsigned pregreet_delay_ms;	/* 0: no pregreet test */
	unsigned pregreet_pass_s;
	struct profiler_rule rules[PROFILER_RULES_MAX];
	unsigned nrules;
	unsigned bounce_rcpts;
	char virus_prefix[32];
	unsigned profiler_addrs;
	int profiler_share_blocks;	/* other nodes' blocks apply (default 1) */
	unsigned reload_check_s;
};

/* Reasons, stages: the log's words (sf_reason_names in sfilter_ctl.c). */
enum sf_reason {
	SF_R_BLOCKLIST = 0, SF_R_CONNS, SF_R_RATE, SF_R_PROFILER, SF_R_DNSBL,
	SF_R_PREGREET, SF_R_UNKNOWN_RCPT, SF_R_COUNT
};
enum sf_stage { SF_S_SYN = 0, SF_S_CONNECT, SF_S_MAIL, SF_S_RCPT, SF_S_COUNT };

enum sf_event_kind {
	SF_EV_DNS = 1,		/* look addr up */
	SF_EV_PREGREET_PASS,
	SF_EV_MSG,		/* flags: PROFILER_F_* */
	SF_EV_RCPT,
	SF_EV_REFUSE,		/* log it */
};

struct sf_event {
	uint32_t addr;
	uint8_t kind;
	uint8_t reason;		/* SF_EV_REFUSE */
	uint8_t stage;
	uint8_t flags;		/* PROFILER_F_* */
	int16_t a, b;		/* dnsbl: reply, zone; profiler: rule, perm */
	uint32_t answer;	/* dnsbl answer */
};

/* One address's control-written facts; read under its sequence lock. */
struct sf_addrent {
	uint32_t seq;		/* odd while control writes */
	uint32_t addr;		/* 0: empty */
	uint8_t dnsbl;		/* SF_DNSBL_* */
	uint8_t block;		/* SF_BLOCK_* */
	int16_t dnsbl_reply;	/* -1: default text */
	int16_t dnsbl_zone;
	int16_t block_rule;
	int32_t dnsbl_score;
	uint32_t dnsbl_answer;
	uint64_t dnsbl_until;	/* control clock */
	uint64_t block_until;
	uint64_t pregreet_until;
};

#define SF_DNSBL_NONE		0
#define SF_DNSBL_PENDING	1
#define SF_DNSBL_CLEAN		2
#define SF_DNSBL_LISTED		3

#define SF_BLOCKED_NONE		0
#define SF_BLOCKED_TEMP		1
#define SF_BLOCKED_PERM		2

/* Connections per address: written by every reader with atomics. */
struct sf_limit {
	uint32_t addr;
	uint32_t conns;
	uint32_t rate_start_s;
	uint32_t rate_count;
};

struct sf_ring {
	uint32_t head __attribute__((aligned(64)));	/* reader writes */
	uint32_t tail __attribute__((aligned(64)));	/* control writes */
	struct sf_event ev[SF_RING_SIZE];
};

struct sf_rcptset;

/* What a reload replaces, swapped as one pointer. */
struct sf_gen {
	void *table;			/* tops, NULL: no lists */
	struct sf_rcptset *rcpts;	/* NULL: every recipient valid */
	size_t nallow, nblock;
};

struct sfilter_reader {
	struct sfilter *sf;
	unsigned id;
	struct sfilter_counters *ctr;
	struct sfilter_counters own;
	uint64_t log_sec;	/* second of the refusal-log budget */
	unsigned logged;	/* refusals logged in that second */
	uint64_t qs __attribute__((aligned(64)));	/* quiescent count */
	struct sf_ring ring;
};

struct sf_retired {
	struct sf_gen *gen;
	uint64_t *qs;		/* readers' counts at retirement */
};

struct sfilter {
	struct sfilter_conf conf;
	const struct sfilter_table_ops *tops;
	struct sf_gen *gen;		/* published: atomic pointer */
	struct sf_retired retired[SF_RETIRED_MAX];
	struct sf_addrent *addrs;
	size_t addrs_mask;
	struct sf_limit *limits;
	size_t limits_mask;
	uint64_t now_ms;		/* control clock, published */
	struct sfilter_reader *readers;
	unsigned nreaders;
	FILE *log;
	FILE *report;			/* totals at sfilter_free(), NULL: none */
	pthread_mutex_t log_lock;
	struct dnsbl *dnsbl;
	struct profiler *prof;
	char conf_path[SF_PATH_MAX];
	struct timespec mtime[3];	/* allow, block, recipients */
	uint64_t next_reload_ms;
	pthread_t tid;
	bool started;
	volatile int quit;
	int epfd;
};

void sfconf_defaults(struct sfilter_conf *c);
int sfconf_load(struct sfilter_conf *c, const char *path, char *err, size_t errlen);
void sf_reply(const struct sfilter_conf *c, const struct sf_event *ev,
	      struct smtp_reply *out);
size_t sf_hash(uint32_t a);
struct sf_rcptset *sf_rcptset_load(const char *path, char *err, size_t errlen);
bool sf_rcptset_has(const struct sf_rcptset *s, const char *addr);
void sf_rcptset_free(struct sf_rcptset *s);

#endif
