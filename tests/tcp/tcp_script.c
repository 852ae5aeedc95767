/*
 * tcp_script.c - packetdrill-like deterministic driver for dp/tcp
 *
 * Usage: tcp_script [-v] script.pkt...   (segment lines: tcp_script_seg.c)
 *
 * Runs each script against a fresh tcp_stack with a virtual clock and no
 * DPDK: "<" lines are injected, ">" lines must match the next segment the
 * stack sent (within TOLERANCE_US of the line's time), app/stat/conns
 * lines drive and inspect the application side. Exit status 0 only if
 * every script passed. Script syntax (one event per line, '//' comments):
 *
 *   config KEY VALUE			before the first timed line
 *					("config app echo": tcp_app_echo serves,
 *					output must echo the input stream)
 *   TIME < [:port] FLAGS seq:end(len) [ack N] [win N] [<opts>] [badcsum]
 *					[corrupt]  (payload bit flipped)
 *   TIME > [:port] FLAGS seq:end(len) [ack N] [win N] [<opts>]
 *   TIME app [:port] read N | write N [accept M] | close | shutdown | abort
 *   TIME app [:port] expect readable N | eof | closed REASON | open | refused
 *   TIME stat COUNTER VALUE  |  TIME conns N  |  TIME tw N
 *
 * TIME is absolute seconds or +relative. FLAGS: S F R P . (ACK). Inbound
 * sequence numbers are literal; inbound ack and all outbound sequence
 * numbers are relative to our ISN on that port (learnt from the SYN-ACK),
 * and so are inbound SACK blocks; outbound ack and SACK blocks are
 * literal. '*' matches anything on a ">"
 * line; "ecr *" on a "<" line echoes our last TSval. Payload bytes are a
 * function of their sequence number, and "app read" checks them, so
 * reassembly errors show up as data errors.
 *
 * Diagnostics: "file:line: what was expected / what was seen" on stderr.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "tcp.h"
#include "tcp_script.h"

#define DEFAULT_PORT	40000
#define MAX_PEERS	64
#define MAX_OUT		4096
#define SCRIPT_MAX_CONNS 64		/* scripts may lower it with config */
#define TOLERANCE_US	10000		/* output timing slack */
#define SEG_MAX		(65536 + 60)

struct out_seg {
    uint8_t *buf;
    size_t  len;
    uint64_t at_us;
};

struct peer {
    uint16_t port;
    int     used, have_iss, have_irs, accepted, closed, refused;
    uint32_t iss, irs, last_tsval;
    struct tcp_conn *conn;
    enum tcp_close_reason why;
    uint64_t read_off, write_off;
    size_t  readable;
    int     eof;
};

struct harness {
    const char *file;
    int     line;
    int     verbose;
    int     failed;
    uint64_t now;
    struct tcp_config cfg;
    struct tcp_stack *st;
    struct out_seg out[MAX_OUT];
    unsigned out_head, out_tail;
    struct peer peers[MAX_PEERS];
    int     refuse;
    int     echo;			/* listener is tcp_app_echo */
    int     filter_port, filter_verdict;
    uint16_t cur_port;
};

/* fail - report a mismatch and mark the script failed */
static void fail(struct harness *, const char *,...)
	__attribute__((format(printf, 2, 3)));

static void
fail(struct harness *h, const char *fmt,...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: ", h->file, h->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    h->failed = 1;
}

/* in_byte - payload byte the client sends at sequence s */
static uint8_t
in_byte(uint32_t s)
{
    return ((uint8_t) ((s * 2654435761U) >> 24));
}

/* out_byte - byte k of what the app writes */
static uint8_t
out_byte(uint64_t k)
{
    return ((uint8_t) (k % 251));
}

/* peer_get - per-client-port state */
static struct peer *
peer_get(struct harness *h, uint16_t port)
{
    int     i;

    for (i = 0; i < MAX_PEERS; i++)
	if (h->peers[i].used && h->peers[i].port == port)
	    return (&h->peers[i]);
    for (i = 0; i < MAX_PEERS; i++)
	if (!h->peers[i].used) {
	    memset(&h->peers[i], 0, sizeof(h->peers[i]));
	    h->peers[i].used = 1;
	    h->peers[i].port = port;
	    return (&h->peers[i]);
	}
    fprintf(stderr, "too many client ports\n");
    exit(2);
}

/* low layer: buffers come from malloc, sent segments queue up */
static void *
h_tx_alloc(void *ctx, size_t len, uint8_t **hdr)
{
    uint8_t *b = malloc(len ? len : 1);

    (void) ctx;
    *hdr = b;
    return (b);
}

/* h_tx_send - queue an output segment with its virtual time */
static void
h_tx_send(void *ctx, void *buf, uint32_t saddr, uint32_t daddr, size_t len)
{
    struct harness *h = ctx;

    if (saddr != SERVER_ADDR || daddr != CLIENT_ADDR)
	fail(h, "segment with wrong addresses");
    if (h->out_tail - h->out_head >= MAX_OUT) {
	free(buf);
	return;
    }
    h->out[h->out_tail % MAX_OUT].buf = buf;
    h->out[h->out_tail % MAX_OUT].len = len;
    h->out[h->out_tail % MAX_OUT].at_us = h->now;
    h->out_tail++;
}

/* h_filter - sender filter hook driven by "config filter_port" */
static int
h_filter(void *ctx, uint32_t saddr, uint16_t sport)
{
    struct harness *h = ctx;

    (void) saddr;
    return (sport == h->filter_port ? h->filter_verdict : TCP_FILTER_ACCEPT);
}


/* a_accept - script app: remember the conn */
static void *
a_accept(void *lctx, struct tcp_conn *c)
{
    struct harness *h = lctx;
    uint32_t a;
    uint16_t port;
    struct peer *p;

    tcp_conn_peer(c, &a, &port);
    p = peer_get(h, port);
    if (h->refuse) {
	p->refused = 1;
	return (0);
    }
    p->conn = c;
    p->accepted = 1;
    p->closed = 0;
    p->eof = 0;
    p->read_off = p->write_off = 0;
    return (p);
}

/* a_data - record readability */
static void
a_data(void *app, struct tcp_conn *c, size_t avail, int eof)
{
    struct peer *p = app;

    (void) c;
    p->readable = avail;
    p->eof |= eof;
}

/* a_writable - nothing: scripts write explicitly */
static void
a_writable(void *app, struct tcp_conn *c, size_t space)
{
    (void) app;
    (void) c;
    (void) space;
}

/* a_closed - record why */
static void
a_closed(void *app, struct tcp_conn *c, enum tcp_close_reason why)
{
    struct peer *p = app;

    (void) c;
    p->closed = 1;
    p->why = why;
    p->conn = 0;
}

static const struct tcp_app_ops script_app = {
    a_accept, a_data, a_writable, a_closed,
};

/* Counter names for "stat" lines. */
#define CTR(n) { #n, offsetof(struct tcp_counters, n) }
static const struct {
    const char *name;
    size_t  off;
}       counters[] = {
    CTR(seg_in), CTR(seg_out), CTR(bytes_in), CTR(bytes_out),
    CTR(drop_csum), CTR(drop_header), CTR(drop_no_listener),
    CTR(drop_out_of_window), CTR(drop_paws), CTR(drop_conn_limit),
    CTR(drop_memory), CTR(drop_filter), CTR(drop_bad_ack), CTR(accepted),
    CTR(refused), CTR(closed_fin), CTR(closed_rst), CTR(closed_timeout),
    CTR(closed_idle), CTR(synrecv_timeout), CTR(retransmits),
    CTR(rto_timeouts), CTR(fast_retransmits), CTR(ooo_segs),
    CTR(ooo_bytes), CTR(dup_segs), CTR(dup_bytes), CTR(challenge_acks),
    CTR(challenge_acks_limited), CTR(rst_in_window_ignored),
    CTR(syncookies_sent), CTR(syncookies_ok), CTR(syncookies_failed),
    CTR(resets_sent), CTR(tw_reuse), CTR(tw_recycled),
    CTR(zero_window_sent), CTR(window_updates), CTR(persist_probes),
    CTR(delayed_acks), CTR(tx_alloc_fail),
};

/* config_set - "config KEY VALUE" */
static void
config_set(struct harness *h, const char *key, const char *val)
{
    struct tcp_config *c = &h->cfg;
    unsigned long v = strtoul(val, 0, 0);
    double  sec = atof(val);

    if (!strcmp(key, "max_conns"))
	c->max_conns = (uint32_t) v;
    else if (!strcmp(key, "syn_backlog"))
	c->syn_backlog = (uint32_t) v;
    else if (!strcmp(key, "rcvbuf"))
	c->rcvbuf = (uint32_t) v;
    else if (!strcmp(key, "sndbuf"))
	c->sndbuf = (uint32_t) v;
    else if (!strcmp(key, "ooo_segs"))
	c->ooo_segs = (uint32_t) v;
    else if (!strcmp(key, "ooo_bytes"))
	c->ooo_bytes = (uint32_t) v;
    else if (!strcmp(key, "tw_max"))
	c->tw_max = (uint32_t) v;
    else if (!strcmp(key, "max_retries"))
	c->max_retries = (uint32_t) v;
    else if (!strcmp(key, "synack_retries"))
	c->synack_retries = (uint32_t) v;
    else if (!strcmp(key, "idle"))
	c->idle_us = (uint64_t) (sec * 1e6);
    else if (!strcmp(key, "time_wait"))
	c->time_wait_us = (uint64_t) (sec * 1e6);
    else if (!strcmp(key, "fin_wait2"))
	c->fin_wait2_us = (uint64_t) (sec * 1e6);
    else if (!strcmp(key, "challenge_acks"))
	c->challenge_acks = (uint32_t) v;
    else if (!strcmp(key, "init_cwnd"))
	c->init_cwnd = (uint8_t) v;
    else if (!strcmp(key, "mss"))
	c->mss = (uint16_t) v;
    else if (!strcmp(key, "wscale"))
	c->wscale = (uint8_t) v;
    else if (!strcmp(key, "cookies"))
	c->flags |= v ? TCP_CFG_ALWAYS_COOKIES : 0;
    else if (!strcmp(key, "app"))
	h->echo = !strcmp(val, "echo");
    else if (!strcmp(key, "refuse"))
	h->refuse = (int) v;
    else if (!strcmp(key, "filter_port"))
	h->filter_port = (int) v;
    else if (!strcmp(key, "filter_verdict"))
	h->filter_verdict = (int) v;
    else
	fail(h, "unknown config key %s", key);
}

/* stack_start - create the stack once the config is complete */
static void
stack_start(struct harness *h)
{
    struct tcp_lower_ops lo = {h, h_tx_alloc, h_tx_send, h_filter};

    h->cfg.local_addrs[0] = SERVER_ADDR;
    h->cfg.n_local_addrs = 1;
    h->cfg.listeners[0].port = SERVER_PORT;
    h->cfg.listeners[0].app = h->echo ? &tcp_app_echo : &script_app;
    h->cfg.listeners[0].listen_ctx = h;
    h->cfg.n_listeners = 1;
    h->cfg.flags |= TCP_CFG_NO_TS_OFFSET;
    h->st = tcp_stack_create(&h->cfg, &lo, h->now);
    if (h->st == 0) {
	perror("tcp_stack_create");
	exit(2);
    }
}

/* advance - run timers tick by tick up to t */
static void
advance(struct harness *h, uint64_t t)
{
    while (h->now < t) {
	uint64_t step = h->cfg.tick_us;

	h->now = h->now + step < t ? h->now + step : t;
	tcp_timers_run(h->st, h->now);
    }
}

/* inject - build and feed one client segment */
static void
inject(struct harness *h, struct pkt_line *pl)
{
    static uint8_t seg[SEG_MAX];
    struct peer *p = peer_get(h, pl->port);
    size_t  olen, len, i;
    uint32_t ack = pl->ack;
    uint16_t sum;

    if (pl->flags & 0x02) {
	p->irs = pl->seq;
	p->have_irs = 1;
    }
    if (pl->has_ack && p->have_iss)
	ack += p->iss;
    olen = 0;
    if (pl->has_opts) {
	int     n = script_build_opts(pl->opts, p->last_tsval,
				      p->have_iss ? p->iss : 0, seg + 20);

	if (n < 0)
	    fail(h, "bad option in '%s'", pl->opts);
	else
	    olen = (size_t) n;
    }
    len = 20 + olen + pl->len;
    seg[0] = (uint8_t) (pl->port >> 8);
    seg[1] = (uint8_t) pl->port;
    seg[2] = (uint8_t) (pl->dport >> 8);
    seg[3] = (uint8_t) pl->dport;
    for (i = 0; i < 4; i++) {
	seg[4 + i] = (uint8_t) (pl->seq >> (24 - 8 * i));
	seg[8 + i] = (uint8_t) (ack >> (24 - 8 * i));
    }
    seg[12] = (uint8_t) (((20 + olen) / 4) << 4);
    seg[13] = (uint8_t) pl->flags;
    seg[14] = (uint8_t) ((pl->has_win ? pl->win : 65535) >> 8);
    seg[15] = (uint8_t) (pl->has_win ? pl->win : 65535);
    seg[16] = seg[17] = seg[18] = seg[19] = 0;
    for (i = 0; i < pl->len; i++)
	seg[20 + olen + i] = in_byte(pl->seq + (uint32_t) i);
    sum = script_csum16(seg, len);
    seg[16] = (uint8_t) (sum >> 8);
    seg[17] = (uint8_t) sum;
    if (pl->badcsum)
	seg[17] ^= 0x5a;
    if (pl->corrupt && pl->len)
	seg[20 + olen + pl->len / 2] ^= 0x01;
    tcp_input(h->st, CLIENT_ADDR, SERVER_ADDR, seg, len, 0, h->now);
    tcp_flush(h->st);
}

/* describe - one output segment in script notation (for messages) */
static void
describe(struct harness *h, const struct out_seg *o, char *buf, size_t sz)
{
    const uint8_t *s = o->buf;
    uint16_t dport = (uint16_t) (s[2] << 8 | s[3]);
    struct peer *p = peer_get(h, dport);
    uint32_t seq = (uint32_t) s[4] << 24 | s[5] << 16 | s[6] << 8 | s[7];
    uint32_t ack = (uint32_t) s[8] << 24 | s[9] << 16 | s[10] << 8 | s[11];
    size_t  doff = (size_t) (s[12] >> 4) * 4;
    uint32_t plen = (uint32_t) (o->len - doff), rel;
    char    fl[8], opts[LINE_MAX_LEN];

    script_flags_str(s[13], fl);
    script_opts_render(s + 20, doff - 20, opts, sizeof(opts), &p->last_tsval);
    rel = seq - (p->have_iss ? p->iss : 0);
    snprintf(buf, sz, "%.3f > :%u %s %u:%u(%u) ack %u win %u <%s>",
	     o->at_us / 1e6, dport, fl, rel, rel + plen, plen, ack,
	     s[14] << 8 | s[15], opts);
}

/* expect_out - match the next output segment against a ">" line */
static void
expect_out(struct harness *h, struct pkt_line *pl, uint64_t t)
{
    struct out_seg *o;
    const uint8_t *s;
    struct peer *p;
    uint32_t seq, ack, plen, rel, i;
    size_t  doff;
    char    got[2 * LINE_MAX_LEN], opts[LINE_MAX_LEN];

    while (h->out_head == h->out_tail && h->now < t + TOLERANCE_US)
	advance(h, h->now + h->cfg.tick_us);
    if (h->out_head == h->out_tail) {
	fail(h, "expected a segment, none was sent");
	return;
    }
    o = &h->out[h->out_head++ % MAX_OUT];
    s = o->buf;
    p = peer_get(h, (uint16_t) (s[2] << 8 | s[3]));
    seq = (uint32_t) s[4] << 24 | s[5] << 16 | s[6] << 8 | s[7];
    if ((s[13] & 0x02) && (s[13] & 0x10)) {
	p->iss = seq;
	p->have_iss = 1;
    }
    describe(h, o, got, sizeof(got));
    if (h->verbose)
	fprintf(stderr, "%s:%d: got %s\n", h->file, h->line, got);
    ack = (uint32_t) s[8] << 24 | s[9] << 16 | s[10] << 8 | s[11];
    doff = (size_t) (s[12] >> 4) * 4;
    plen = (uint32_t) (o->len - doff);
    if ((s[13] & 0x02) && (s[13] & 0x10)) {
	p->iss = seq;
	p->have_iss = 1;
    }
    rel = seq - (p->have_iss ? p->iss : 0);
    script_opts_render(s + 20, doff - 20, opts, sizeof(opts), &p->last_tsval);
    if (p->port != pl->port
	|| (s[13] & 0x3f) != pl->flags
	|| (!pl->seq_any && (rel != pl->seq || plen != pl->len))
	|| (pl->has_ack && !pl->ack_any && ack != pl->ack)
	|| (pl->has_win && !pl->win_any
	    && (uint32_t) (s[14] << 8 | s[15]) != pl->win)
	|| (pl->has_opts && !script_tokens_match(pl->opts, opts)))
	fail(h, "segment mismatch; got %s", got);
    else if (o->at_us + TOLERANCE_US < t || o->at_us > t + TOLERANCE_US)
	fail(h, "segment at wrong time; got %s", got);
    if (script_csum16(o->buf, o->len) != 0)
	fail(h, "bad checksum on output; got %s", got);
    /* Data must be the app's byte stream at that offset, retransmits too. */
    for (i = 0; i < plen; i++)
	if (s[doff + i] != (h->echo ? in_byte(p->irs + rel + i)
			    : out_byte((uint64_t) (rel - 1 + i)))) {
	    fail(h, "payload byte %u wrong; got %s", i, got);
	    break;
	}
    free(o->buf);
}

/* app_cmd - "app [:port] ..." */
static void
app_cmd(struct harness *h, char *rest)
{
    char   *save, *verb, *arg, *arg2, *arg3;
    struct peer *p;
    uint16_t port = h->cur_port;

    verb = strtok_r(rest, " \t", &save);
    if (verb && verb[0] == ':') {
	port = (uint16_t) atoi(verb + 1);
	verb = strtok_r(0, " \t", &save);
    }
    h->cur_port = port;
    p = peer_get(h, port);
    arg = strtok_r(0, " \t", &save);
    arg2 = strtok_r(0, " \t", &save);
    arg3 = strtok_r(0, " \t", &save);
    if (verb == 0) {
	fail(h, "app: missing verb");
	return;
    }
    if (!strcmp(verb, "expect")) {
	if (arg == 0)
	    fail(h, "app expect: what?");
	else if (!strcmp(arg, "readable")) {
	    struct tcp_iov iov[2];
	    size_t  n = p->conn ? tcp_peek(p->conn, iov) : 0;

	    if (arg2 == 0 || n != strtoul(arg2, 0, 10))
		fail(h, "readable is %zu", n);
	} else if (!strcmp(arg, "eof")) {
	    if (!p->eof)
		fail(h, "no eof reported");
	} else if (!strcmp(arg, "open")) {
	    if (!p->accepted || p->closed)
		fail(h, "conn is not open (accepted %d closed %d)",
		     p->accepted, p->closed);
	} else if (!strcmp(arg, "refused")) {
	    if (!p->refused)
		fail(h, "conn was not refused");
	} else if (!strcmp(arg, "closed")) {
	    static const char *why[] = {"fin", "rst", "timeout", "idle",
	    "abort"};

	    if (!p->closed)
		fail(h, "conn is not closed");
	    else if (arg2 && strcmp(arg2, why[p->why]))
		fail(h, "closed by %s, not %s", why[p->why], arg2);
	} else
	    fail(h, "app expect %s: unknown", arg);
	return;
    }
    if (p->conn == 0) {
	fail(h, "app %s: no open conn on port %u", verb, port);
	return;
    }
    if (!strcmp(verb, "read")) {
	size_t  want = arg ? strtoul(arg, 0, 10) : 0, got, i;
	uint8_t *buf = malloc(want + 1);

	got = tcp_recv(p->conn, buf, want);
	if (got != want)
	    fail(h, "read %zu bytes, wanted %zu", got, want);
	for (i = 0; i < got; i++)
	    if (buf[i] != in_byte(p->irs + 1 + (uint32_t) (p->read_off + i))) {
		fail(h, "read: byte %zu of the stream is wrong",
		     (size_t) (p->read_off + i));
		break;
	    }
	p->read_off += got;
	free(buf);
    } else if (!strcmp(verb, "write")) {
	size_t  n = arg ? strtoul(arg, 0, 10) : 0, i, got;
	size_t  want = (arg2 && !strcmp(arg2, "accept") && arg3)
	    ? strtoul(arg3, 0, 10) : n;
	uint8_t *buf = malloc(n + 1);

	for (i = 0; i < n; i++)
	    buf[i] = out_byte(p->write_off + i);
	got = tcp_send(p->conn, buf, n);
	if (got != want)
	    fail(h, "write accepted %zu, wanted %zu", got, want);
	p->write_off += got;
	free(buf);
    } else if (!strcmp(verb, "close")) {
	tcp_close(p->conn);
	p->conn = 0;
    } else if (!strcmp(verb, "shutdown")) {
	tcp_shutdown(p->conn);
    } else if (!strcmp(verb, "abort")) {
	tcp_abort(p->conn);
	p->conn = 0;
    } else
	fail(h, "app %s: unknown", verb);
    tcp_flush(h->st);
}

/* stat_cmd - "stat NAME VALUE": compare a counter */
static void
stat_cmd(struct harness *h, char *rest)
{
    char    name[64];
    unsigned long long want;
    size_t  i;

    if (sscanf(rest, "%63s %llu", name, &want) != 2) {
	fail(h, "stat: NAME VALUE");
	return;
    }
    for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
	if (!strcmp(counters[i].name, name)) {
	    const uint64_t *v = (const void *) ((const char *)
				tcp_stack_counters(h->st) + counters[i].off);

	    if (*v != want)
		fail(h, "counter %s is %llu, not %llu", name,
		     (unsigned long long) *v, want);
	    return;
	}
    fail(h, "stat: no counter %s", name);
}

/* no_pending_output - nothing may be sent that the script did not expect */
static void
no_pending_output(struct harness *h)
{
    char    got[2 * LINE_MAX_LEN];

    while (h->out_head != h->out_tail) {
	struct out_seg *o = &h->out[h->out_head++ % MAX_OUT];

	describe(h, o, got, sizeof(got));
	fail(h, "unexpected segment %s", got);
	free(o->buf);
    }
}

/* run_script - one file; 0 on success */
static int
run_script(const char *file, int verbose)
{
    struct harness *h = calloc(1, sizeof(*h));
    FILE   *fp = fopen(file, "r");
    char    line[LINE_MAX_LEN];
    uint64_t t = 0;
    int     rc;

    if (fp == 0) {
	perror(file);
	free(h);
	return (1);
    }
    h->file = file;
    h->verbose = verbose;
    h->cur_port = DEFAULT_PORT;
    h->filter_port = -1;
    tcp_config_defaults(&h->cfg);
    h->cfg.max_conns = SCRIPT_MAX_CONNS;
    h->cfg.tw_max = SCRIPT_MAX_CONNS;
    while (fgets(line, sizeof(line), fp)) {
	char   *s = line, *c, *rest;
	double  v;

	h->line++;
	if ((c = strstr(s, "//")) != 0)
	    *c = 0;
	while (isspace((unsigned char) *s))
	    s++;
	c = s + strlen(s);
	while (c > s && isspace((unsigned char) c[-1]))
	    *--c = 0;
	if (*s == 0)
	    continue;
	if (!strncmp(s, "config ", 7)) {
	    char    key[64], val[64];

	    if (h->st)
		fail(h, "config after the first event");
	    else if (sscanf(s + 7, "%63s %63s", key, val) != 2)
		fail(h, "config KEY VALUE");
	    else
		config_set(h, key, val);
	    continue;
	}
	if (h->st == 0)
	    stack_start(h);
	v = strtod(s[0] == '+' ? s + 1 : s, &rest);
	if (rest == s || rest == s + 1) {
	    fail(h, "line must start with a time");
	    break;
	}
	t = (s[0] == '+' ? t : 0) + (uint64_t) (v * 1e6 + 0.5);
	while (isspace((unsigned char) *rest))
	    rest++;
	if (rest[0] == '>') {
	    struct pkt_line pl;

	    if (t > h->now)
		advance(h, t);
	    if (script_parse_pkt(rest + 1, h->cur_port, &pl) < 0) {
		fail(h, "cannot parse segment line");
	    } else {
		h->cur_port = pl.port;
		expect_out(h, &pl, t);
	    }
	    if (h->now > t)
		t = h->now;
	    continue;
	}
	advance(h, t);
	no_pending_output(h);
	if (rest[0] == '<') {
	    struct pkt_line pl;

	    if (script_parse_pkt(rest + 1, h->cur_port, &pl) < 0) {
		fail(h, "cannot parse segment line");
	    } else {
		h->cur_port = pl.port;
		inject(h, &pl);
	    }
	} else if (!strncmp(rest, "app ", 4)) {
	    app_cmd(h, rest + 4);
	} else if (!strncmp(rest, "stat ", 5)) {
	    stat_cmd(h, rest + 5);
	} else if (!strncmp(rest, "conns ", 6)) {
	    uint32_t n = (uint32_t) strtoul(rest + 6, 0, 10);

	    if (tcp_stack_conn_count(h->st) != n)
		fail(h, "%u conns, not %u", tcp_stack_conn_count(h->st), n);
	} else if (!strncmp(rest, "tw ", 3)) {
	    uint64_t n = strtoull(rest + 3, 0, 10);
	    uint64_t got = tcp_stack_counters(h->st)
		->conn_state[TCP_ST_TIME_WAIT];

	    if (got != n)
		fail(h, "%llu TIME_WAIT records, not %llu",
		     (unsigned long long) got, (unsigned long long) n);
	} else {
	    fail(h, "unknown event '%s'", rest);
	}
	if (h->failed && !verbose)
	    break;
    }
    if (!h->failed && h->st)
	no_pending_output(h);
    fclose(fp);
    rc = h->failed;
    if (h->st) {
	no_pending_output(h);
	tcp_stack_destroy(h->st);
    }
    free(h);
    return (rc);
}

/* main - run every script named; report each */
int
main(int argc, char **argv)
{
    int     i, verbose = 0, bad = 0, n = 0;

    for (i = 1; i < argc; i++) {
	if (!strcmp(argv[i], "-v")) {
	    verbose = 1;
	    continue;
	}
	n++;
	if (run_script(argv[i], verbose)) {
	    printf("FAIL %s\n", argv[i]);
	    bad++;
	} else {
	    printf("ok   %s\n", argv[i]);
	}
    }
    printf("%d/%d scripts passed\n", n - bad, n);
    return (bad ? 1 : 0);
}
