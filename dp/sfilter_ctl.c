/*
 * sfilter_ctl.c - the sender filter, control side: lists, DNSBL, the
 *	profiler, the refusal log, table swaps
 *
 *	See sfilter.h. Everything here runs on one control thread (the
 *	caller of sfilter_ctl_poll(), or the thread sfilter_thread_start()
 *	makes), which may call the kernel and allocate.
 *
 *	Swaps: a reload builds a new generation (list table, recipient set)
 *	beside the running one, publishes its pointer and retires the old
 *	one with a snapshot of every reader's quiescent count; it is freed
 *	once every count moved (each reader finished the loop iteration it
 *	might have been using it in). rte_rcu_qsbr does the same for DPDK
 *	threads; this one also serves the socket workers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sfilter_int.h"
#include "sfilter_list.h"

#define SF_EVENTS_BURST		256	/* events taken per reader and pass */
#define SF_UNBLOCK_BURST	64
#define SF_LOG_LINE_MAX		768

static const char *const sf_reason_names[SF_R_COUNT] = {
	"blocklist", "conn_limit", "rate_limit", "profiler", "dnsbl",
	"pregreet", "unknown_rcpt",
};

static const char *const sf_stage_names[SF_S_COUNT] = {
	"syn", "connect", "mail", "rcpt",
};

/* mono_ms - control's clock */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* pow2_at_least - table sizes are powers of two */
static size_t pow2_at_least(size_t n)
{
	size_t p = SF_PROBE;

	while (p < n)
		p <<= 1;
	return p;
}

/* gen_free - a generation nobody reads any more */
static void gen_free(struct sfilter *sf, struct sf_gen *g)
{
	if (g == NULL)
		return;
	if (g->table)
		sf->tops->destroy(g->table);
	sf_rcptset_free(g->rcpts);
	free(g);
}

/* file_mtime - for the reload check; zero when absent */
static struct timespec file_mtime(const char *path)
{
	struct stat st;
	struct timespec none = { 0, 0 };

	if (path[0] == 0 || stat(path, &st) < 0)
		return none;
	return st.st_mtim;
}

/* gen_build - lists and recipients from the files */
static struct sf_gen *gen_build(struct sfilter *sf, char *err, size_t errlen)
{
	const struct sfilter_conf *c = &sf->conf;
	struct sflist allow = { 0 }, block = { 0 }, all = { 0 };
	struct sf_gen *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sf->mtime[0] = file_mtime(c->allow_list);
	sf->mtime[1] = file_mtime(c->block_list);
	sf->mtime[2] = file_mtime(c->recipients);
	if ((c->allow_list[0] && sflist_parse_file(c->allow_list, SFILTER_LIST_ALLOW,
						   &allow, err, errlen) < 0)
	    || (c->block_list[0] && sflist_parse_file(c->block_list, SFILTER_LIST_BLOCK,
						      &block, err, errlen) < 0))
		goto fail;
	if (sflist_merge(&allow, &block, &all) < 0) {
		snprintf(err, errlen, "lists: out of memory");
		goto fail;
	}
	g->nallow = allow.n;
	g->nblock = block.n;
	if ((c->allow_list[0] || c->block_list[0])
	    && (g->table = sf->tops->build(all.p, all.n, err, errlen)) == NULL)
		goto fail;
	if (c->recipients[0] && (g->rcpts = sf_rcptset_load(c->recipients, err, errlen)) == NULL)
		goto fail;
	sflist_free(&allow);
	sflist_free(&block);
	sflist_free(&all);
	return g;
fail:
	sflist_free(&allow);
	sflist_free(&block);
	sflist_free(&all);
	gen_free(sf, g);
	return NULL;
}

/* retire_run - free retired generations every reader has moved past */
static void retire_run(struct sfilter *sf, bool all)
{
	for (unsigned k = 0; k < SF_RETIRED_MAX; k++) {
		struct sf_retired *t = &sf->retired[k];
		bool done = true;

		if (t->gen == NULL)
			continue;
		/* a count of 0 at retirement: that reader had not started, so
		 * it cannot hold the old pointer */
		for (unsigned i = 0; i < sf->nreaders && !all; i++)
			if (t->qs[i] != 0
			    && __atomic_load_n(&sf->readers[i].qs, __ATOMIC_ACQUIRE) == t->qs[i])
				done = false;
		if (!done)
			continue;
		gen_free(sf, t->gen);
		free(t->qs);
		t->gen = NULL;
		t->qs = NULL;
	}
}

/* sfilter_reload - new lists and recipients; the old ones stay on error */
int sfilter_reload(struct sfilter *sf, char *err, size_t errlen)
{
	struct sf_gen *g, *old;
	struct sf_retired *slot = NULL;
	unsigned k;

	retire_run(sf, false);
	for (k = 0; k < SF_RETIRED_MAX && slot == NULL; k++)
		if (sf->retired[k].gen == NULL)
			slot = &sf->retired[k];
	if (slot == NULL) {
		snprintf(err, errlen, "previous lists still in use by a reader");
		return -1;
	}
	if ((slot->qs = calloc(sf->nreaders + 1, sizeof(uint64_t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((g = gen_build(sf, err, errlen)) == NULL) {
		free(slot->qs);
		slot->qs = NULL;
		return -1;
	}
	for (k = 0; k < sf->nreaders; k++)
		slot->qs[k] = __atomic_load_n(&sf->readers[k].qs, __ATOMIC_ACQUIRE);
	old = __atomic_exchange_n(&sf->gen, g, __ATOMIC_ACQ_REL);
	slot->gen = old;
	return 0;
}

/* log_line - one JSON line to the message log */
static void log_line(struct sfilter *sf, const char *body)
{
	char line[SF_LOG_LINE_MAX], ts[32];
	struct timeval tv;
	struct tm tm;
	int n;

	if (sf->log == NULL)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\",%s}\n", ts,
		     (long)(tv.tv_usec / 1000), body);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	pthread_mutex_lock(&sf->log_lock);
	fwrite(line, 1, (size_t)n, sf->log);
	fflush(sf->log);
	pthread_mutex_unlock(&sf->log_lock);
}

/* ip_str - dotted quad */
static void ip_str(uint32_t addr, char *out, size_t len)
{
	struct in_addr a = { .s_addr = htonl(addr) };

	inet_ntop(AF_INET, &a, out, (socklen_t)len);
}

/* json_text - copy with quotes and backslashes escaped */
static void json_text(char *out, size_t len, const char *s)
{
	size_t k = 0;

	for (; *s && k + 2 < len; s++) {
		if (*s == '"' || *s == '\\')
			out[k++] = '\\';
		out[k++] = (unsigned char)*s < ' ' ? ' ' : *s;
	}
	out[k] = 0;
}

/* log_refusal - "sender_refused": client, stage, reason, reply */
static void log_refusal(struct sfilter *sf, const struct sf_event *ev)
{
	struct smtp_reply rep;
	char ip[INET_ADDRSTRLEN], text[2 * SMTP_REPLY_TEXT_MAX], body[SF_LOG_LINE_MAX];
	char extra[128] = "";

	if (ev->reason >= SF_R_COUNT || ev->stage >= SF_S_COUNT)
		return;
	ip_str(ev->addr, ip, sizeof(ip));
	sf_reply(&sf->conf, ev, &rep);
	json_text(text, sizeof(text), rep.text);
	if (ev->reason == SF_R_DNSBL && ev->b >= 0 && (unsigned)ev->b < sf->conf.dnsbl.nzones) {
		char ans[INET_ADDRSTRLEN];

		ip_str(ev->answer, ans, sizeof(ans));
		snprintf(extra, sizeof(extra), ",\"zone\":\"%s\",\"answer\":\"%s\"",
			 sf->conf.dnsbl.zones[ev->b].name, ans);
	}
	if (ev->stage == SF_S_SYN)
		snprintf(body, sizeof(body), "\"event\":\"sender_refused\",\"client\":\"%s\","
			 "\"stage\":\"syn\",\"reason\":\"%s\",\"action\":\"%s\"", ip,
			 sf_reason_names[ev->reason],
			 sf->conf.block_action == SF_BLOCK_RST ? "rst" : "drop");
	else
		snprintf(body, sizeof(body), "\"event\":\"sender_refused\",\"client\":\"%s\","
			 "\"stage\":\"%s\",\"reason\":\"%s\"%s,\"reply\":\"%d %s %s\"", ip,
			 sf_stage_names[ev->stage], sf_reason_names[ev->reason], extra,
			 rep.code, rep.enhanced, text);
	log_line(sf, body);
}

/* ent_slot - addr's entry for writing: its own, an empty or a stale one */
static struct sf_addrent *ent_slot(struct sfilter *sf, uint32_t addr, uint64_t now)
{
	size_t h = sf_hash(addr);
	struct sf_addrent *victim = NULL;
	uint64_t best = UINT64_MAX;

	for (unsigned i = 0; i < SF_PROBE; i++) {
		struct sf_addrent *e = &sf->addrs[(h + i) & sf->addrs_mask];
		uint64_t keep;

		if (e->addr == addr)
			return e;
		if (e->addr == 0)
			keep = 0;
		else if (e->block == SF_BLOCKED_PERM)
			continue;	/* never evicted */
		else {
			keep = e->dnsbl_until > now ? e->dnsbl_until : 1;
			if (e->block_until > keep)
				keep = e->block_until;
			if (e->pregreet_until > keep)
				keep = e->pregreet_until;
			if (keep <= now)
				keep = 1;
		}
		if (keep < best) {
			best = keep;
			victim = e;
		}
	}
	return victim;
}

/* ent_begin - open addr's entry for writing (sequence odd) */
static struct sf_addrent *ent_begin(struct sfilter *sf, uint32_t addr, uint64_t now)
{
	struct sf_addrent *e = ent_slot(sf, addr, now);

	if (e == NULL)
		return NULL;
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (e->addr != addr) {
		uint32_t seq = e->seq;

		memset(e, 0, sizeof(*e));
		e->seq = seq;
		e->addr = addr;
		e->dnsbl_reply = e->dnsbl_zone = e->block_rule = -1;
	}
	return e;
}

/* ent_end - publish the entry (sequence even) */
static void ent_end(struct sf_addrent *e)
{
	__atomic_store_n(&e->seq, e->seq + 1, __ATOMIC_RELEASE);
}

/* ent_find - control's own read of addr's entry */
static struct sf_addrent *ent_find(struct sfilter *sf, uint32_t addr)
{
	size_t h = sf_hash(addr);

	for (unsigned i = 0; i < SF_PROBE; i++) {
		struct sf_addrent *e = &sf->addrs[(h + i) & sf->addrs_mask];

		if (e->addr == addr)
			return e;
	}
	return NULL;
}

/* dnsbl_done - a lookup finished: into the address table */
static void dnsbl_done(void *ctx, uint32_t addr, const struct dnsbl_result *res)
{
	struct sfilter *sf = ctx;
	uint64_t now = mono_ms();
	struct sf_addrent *e = ent_begin(sf, addr, now);

	if (e == NULL)
		return;
	e->dnsbl = res->listed ? SF_DNSBL_LISTED : SF_DNSBL_CLEAN;
	e->dnsbl_score = res->score;
	e->dnsbl_zone = (int16_t)res->zone;
	e->dnsbl_reply = (int16_t)res->reply;
	e->dnsbl_answer = res->answer;
	e->dnsbl_until = now + (uint64_t)res->ttl_s * 1000;
	ent_end(e);
}

/* dns_wanted - a reader saw a new address: look it up once */
static void dns_wanted(struct sfilter *sf, uint32_t addr, uint64_t now)
{
	struct sf_addrent *e = ent_find(sf, addr);

	if (e && e->dnsbl != SF_DNSBL_NONE && e->dnsbl_until > now)
		return;	/* asked already, or cached */
	if ((e = ent_begin(sf, addr, now)) == NULL)
		return;
	e->dnsbl = SF_DNSBL_PENDING;
	e->dnsbl_until = now + sf->conf.dnsbl.timeout_ms;
	ent_end(e);
	if (dnsbl_lookup(sf->dnsbl, addr, now) < 0) {
		struct dnsbl_result r = { .zone = -1, .reply = -1,
					  .ttl_s = sf->conf.dnsbl.ttl_min_s };

		dnsbl_done(sf, addr, &r);	/* not listed: mail flows */
	}
}

/* profiled - a message or recipient outcome; a block may start */
static void profiled(struct sfilter *sf, const struct sf_event *ev, uint64_t now)
{
	struct profiler_block b;
	struct sf_addrent *e;
	char ip[INET_ADDRSTRLEN], body[SF_LOG_LINE_MAX], spec[160];
	const struct profiler_rule *ru;

	if (sf->prof == NULL
	    || profiler_record(sf->prof, ev->addr, ev->kind == SF_EV_RCPT, ev->flags,
			       now, &b) != 1)
		return;
	if ((e = ent_begin(sf, ev->addr, now)) != NULL) {
		e->block = b.permanent ? SF_BLOCKED_PERM : SF_BLOCKED_TEMP;
		e->block_until = b.until_ms;
		e->block_rule = (int16_t)b.rule;
		ent_end(e);
	}
	ru = profiler_rule_get(sf->prof, b.rule);
	ip_str(ev->addr, ip, sizeof(ip));
	json_text(spec, sizeof(spec), ru ? ru->spec : "");
	snprintf(body, sizeof(body), "\"event\":\"profiler_block\",\"client\":\"%s\","
		 "\"rule\":\"%s\",\"hits\":%u,\"permanent\":%s,\"duration_s\":%lld", ip,
		 spec, b.hits, b.permanent ? "true" : "false",
		 b.permanent ? -1LL : (long long)((b.until_ms - now) / 1000));
	log_line(sf, body);
}

/* unblocks - blocks the API removed: clear them for the readers */
static void unblocks(struct sfilter *sf, uint64_t now)
{
	uint32_t addrs[SF_UNBLOCK_BURST];
	size_t n = profiler_take_unblocked(sf->prof, addrs, SF_UNBLOCK_BURST);

	for (size_t i = 0; i < n; i++) {
		struct sf_addrent *e = ent_find(sf, addrs[i]);
		char ip[INET_ADDRSTRLEN], body[128];

		if (e == NULL || (e = ent_begin(sf, addrs[i], now)) == NULL)
			continue;
		e->block = SF_BLOCKED_NONE;
		e->block_until = 0;
		ent_end(e);
		ip_str(addrs[i], ip, sizeof(ip));
		snprintf(body, sizeof(body), "\"event\":\"profiler_unblock\",\"client\":\"%s\"", ip);
		log_line(sf, body);
	}
}

/* restores - blocks read back from the store (profiler_store.h): to the
 * readers, as if they had just fired */
static void restores(struct sfilter *sf, uint64_t now)
{
	struct profiler_block b[SF_UNBLOCK_BURST];
	size_t n = profiler_take_restored(sf->prof, b, SF_UNBLOCK_BURST);

	for (size_t i = 0; i < n; i++) {
		struct sf_addrent *e = ent_begin(sf, b[i].addr, now);

		if (e == NULL)
			continue;
		e->block = b[i].permanent ? SF_BLOCKED_PERM : SF_BLOCKED_TEMP;
		e->block_until = b[i].until_ms;
		e->block_rule = (int16_t)b[i].rule;
		ent_end(e);
	}
}

/* event - one reader event */
static void event(struct sfilter *sf, const struct sf_event *ev, uint64_t now)
{
	struct sf_addrent *e;

	switch (ev->kind) {
	case SF_EV_DNS:
		if (sf->dnsbl)
			dns_wanted(sf, ev->addr, now);
		break;
	case SF_EV_PREGREET_PASS:
		if ((e = ent_begin(sf, ev->addr, now)) != NULL) {
			e->pregreet_until = now + (uint64_t)sf->conf.pregreet_pass_s * 1000;
			ent_end(e);
		}
		break;
	case SF_EV_MSG:
	case SF_EV_RCPT:
		profiled(sf, ev, now);
		break;
	case SF_EV_REFUSE:
		log_refusal(sf, ev);
		break;
	default:
		break;
	}
}

/* reload_check - list files changed: reload (a bad file keeps the old) */
static void reload_check(struct sfilter *sf, uint64_t now)
{
	const struct sfilter_conf *c = &sf->conf;
	const char *paths[3] = { c->allow_list, c->block_list, c->recipients };
	char err[512], body[SF_LOG_LINE_MAX], esc[600];
	bool changed = false;

	if (c->reload_check_s == 0 || now < sf->next_reload_ms)
		return;
	sf->next_reload_ms = now + (uint64_t)c->reload_check_s * 1000;
	for (int i = 0; i < 3; i++) {
		struct timespec m = file_mtime(paths[i]);

		if (m.tv_sec != sf->mtime[i].tv_sec || m.tv_nsec != sf->mtime[i].tv_nsec)
			changed = true;
	}
	if (!changed)
		return;
	if (sfilter_reload(sf, err, sizeof(err)) < 0) {
		json_text(esc, sizeof(esc), err);
		snprintf(body, sizeof(body), "\"event\":\"sender_filter_reload\","
			 "\"result\":\"refused\",\"error\":\"%s\"", esc);
		for (int i = 0; i < 3; i++)
			sf->mtime[i] = file_mtime(paths[i]);	/* not again until it changes */
	} else {
		const struct sf_gen *g = sf->gen;

		snprintf(body, sizeof(body), "\"event\":\"sender_filter_reload\","
			 "\"result\":\"ok\",\"allow\":%zu,\"block\":%zu", g->nallow, g->nblock);
	}
	log_line(sf, body);
}

/* sfilter_ctl_poll - one control pass: events, DNS answers, swaps */
void sfilter_ctl_poll(struct sfilter *sf, uint64_t now_ms)
{
	(void)now_ms;	/* one clock for every entry: control's own */
	uint64_t now = mono_ms();

	__atomic_store_n(&sf->now_ms, now, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < sf->nreaders; i++) {
		struct sf_ring *q = &sf->readers[i].ring;
		uint32_t head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
		uint32_t tail = q->tail;
		unsigned n = 0;

		while (tail != head && n++ < SF_EVENTS_BURST) {
			event(sf, &q->ev[tail & (SF_RING_SIZE - 1)], now);
			tail++;
		}
		__atomic_store_n(&q->tail, tail, __ATOMIC_RELEASE);
	}
	if (sf->dnsbl)
		dnsbl_run(sf->dnsbl, now, dnsbl_done, sf);
	if (sf->prof) {
		unblocks(sf, now);
		restores(sf, now);
	}
	reload_check(sf, now);
	retire_run(sf, false);
}

/* sfilter_ctl_fd - readable when DNS answers wait, -1 without DNSBL */
int sfilter_ctl_fd(const struct sfilter *sf)
{
	return sf->dnsbl ? dnsbl_fd(sf->dnsbl) : -1;
}

/* sfilter_reader - reader i (lcore or socket worker i) */
struct sfilter_reader *sfilter_reader(struct sfilter *sf, unsigned i)
{
	return i < sf->nreaders ? &sf->readers[i] : NULL;
}

/* sfilter_profiler - for the management API (control/profiler.h) */
struct profiler *sfilter_profiler(struct sfilter *sf)
{
	return sf ? sf->prof : NULL;
}

/* sfilter_create - configuration, tables, DNSBL socket, profiler */
struct sfilter *sfilter_create(const char *conf_path, unsigned nreaders,
			       FILE *log, const struct sfilter_table_ops *tops,
			       char *err, size_t errlen)
{
	struct sfilter *sf = calloc(1, sizeof(*sf));
	struct sf_gen *g;

	if (sf == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sf->epfd = -1;
	pthread_mutex_init(&sf->log_lock, NULL);
	sf->tops = tops ? tops : &sfilter_sorted_ops;
	sf->log = log;
	snprintf(sf->conf_path, sizeof(sf->conf_path), "%s", conf_path);
	if (sfconf_load(&sf->conf, conf_path, err, errlen) < 0)
		goto fail;
	sf->nreaders = nreaders;
	sf->addrs_mask = pow2_at_least(sf->conf.addrs_size) - 1;
	sf->limits_mask = pow2_at_least(sf->conf.limits_size) - 1;
	sf->readers = aligned_alloc(64, ((nreaders ? nreaders : 1) * sizeof(*sf->readers) + 63) / 64 * 64);
	sf->addrs = calloc(sf->addrs_mask + 1, sizeof(*sf->addrs));
	sf->limits = calloc(sf->limits_mask + 1, sizeof(*sf->limits));
	if (sf->readers == NULL || sf->addrs == NULL || sf->limits == NULL) {
		snprintf(err, errlen, "tables of %zu and %zu entries: out of memory",
			 sf->addrs_mask + 1, sf->limits_mask + 1);
		goto fail;
	}
	memset(sf->readers, 0, nreaders * sizeof(*sf->readers));
	for (unsigned i = 0; i < nreaders; i++) {
		sf->readers[i].sf = sf;
		sf->readers[i].id = i;
		sf->readers[i].ctr = &sf->readers[i].own;
	}
	if ((g = gen_build(sf, err, errlen)) == NULL)
		goto fail;
	sf->gen = g;
	if (sf->conf.dnsbl.nzones && (sf->dnsbl = dnsbl_new(&sf->conf.dnsbl, err, errlen)) == NULL)
		goto fail;
	if (sf->conf.nrules && (sf->prof = profiler_new(sf->conf.rules, sf->conf.nrules,
							sf->conf.profiler_addrs)) == NULL) {
		snprintf(err, errlen, "profiler: out of memory");
		goto fail;
	}
	if (sf->prof)	/* read by profiler_store (several gateways) */
		profiler_set_share_blocks(sf->prof, sf->conf.profiler_share_blocks != 0);
	sf->now_ms = mono_ms();
	sf->next_reload_ms = sf->now_ms + (uint64_t)sf->conf.reload_check_s * 1000;
	return sf;
fail:
	sfilter_free(sf);
	return NULL;
}

/* ctl_thread - socket mode's control thread: DNS fd and a short tick */
static void *ctl_thread(void *arg)
{
	struct sfilter *sf = arg;
	struct epoll_event ev;

	while (!sf->quit) {
		if (sf->epfd >= 0 && epoll_wait(sf->epfd, &ev, 1, SF_CTL_WAIT_MS) < 0
		    && errno != EINTR)
			usleep(SF_CTL_WAIT_MS * 1000);
		else if (sf->epfd < 0)
			usleep(SF_CTL_WAIT_MS * 1000);
		sfilter_ctl_poll(sf, 0);
	}
	return NULL;
}

/* sfilter_thread_start - control as a thread of its own (socket mode) */
int sfilter_thread_start(struct sfilter *sf)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (sf->dnsbl) {
		if ((sf->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0
		    || epoll_ctl(sf->epfd, EPOLL_CTL_ADD, dnsbl_fd(sf->dnsbl), &ev) < 0)
			return -1;
	}
	if ((rc = pthread_create(&sf->tid, NULL, ctl_thread, sf)) != 0) {
		errno = rc;
		return -1;
	}
	sf->started = true;
	return 0;
}

/* sfilter_set_report - where sfilter_free() prints the totals */
void sfilter_set_report(struct sfilter *sf, FILE *fp)
{
	sf->report = fp;
}

/* sfilter_report - every reader's counters summed, one line */
void sfilter_report(const struct sfilter *sf, FILE *fp)
{
	struct sfilter_counters t;
	uint64_t *sum = (uint64_t *)&t;
	size_t k, n = sizeof(t) / sizeof(uint64_t);

	memset(&t, 0, sizeof(t));
	for (unsigned i = 0; i < sf->nreaders; i++) {
		const uint64_t *c = (const uint64_t *)sf->readers[i].ctr;

		for (k = 0; k < n; k++)
			sum[k] += c[k];
	}
	fprintf(fp, "sender filter: syn_dropped %llu syn_reset %llu refused_block %llu"
		" refused_conns %llu refused_rate %llu refused_profiler %llu"
		" refused_dnsbl %llu refused_pregreet %llu rcpt_unknown %llu allowed %llu"
		" dnsbl_queries %llu held %llu events_lost %llu limits_full %llu"
		" refusals_unlogged %llu\n",
		(unsigned long long)t.syn_dropped, (unsigned long long)t.syn_reset,
		(unsigned long long)t.refused_block, (unsigned long long)t.refused_conns,
		(unsigned long long)t.refused_rate, (unsigned long long)t.refused_profiler,
		(unsigned long long)t.refused_dnsbl, (unsigned long long)t.refused_pregreet,
		(unsigned long long)t.rcpt_unknown, (unsigned long long)t.allowed,
		(unsigned long long)t.dnsbl_queries, (unsigned long long)t.held,
		(unsigned long long)t.events_lost, (unsigned long long)t.limits_full,
		(unsigned long long)t.refusals_unlogged);
}

/* sfilter_free - after the readers stopped */
void sfilter_free(struct sfilter *sf)
{
	if (sf == NULL)
		return;
	if (sf->started) {
		sf->quit = 1;
		pthread_join(sf->tid, NULL);
	}
	if (sf->gen && sf->addrs && sf->limits) {
		sf->conf.reload_check_s = 0;
		sfilter_ctl_poll(sf, 0);	/* the last refusals get logged */
		if (sf->report)
			sfilter_report(sf, sf->report);
	}
	retire_run(sf, true);
	gen_free(sf, sf->gen);
	dnsbl_free(sf->dnsbl);
	profiler_free(sf->prof);
	if (sf->epfd >= 0)
		close(sf->epfd);
	free(sf->readers);
	free(sf->addrs);
	free(sf->limits);
	pthread_mutex_destroy(&sf->log_lock);
	free(sf);
}
