/*
 * tcp_bench.c - in-process benchmark of dp/tcp (no kernel, no DPDK)
 *
 * Usage: tcp_bench [seconds-per-test [data-connections [seg|segoff|conn]]]
 *
 * Plays clients directly into tcp_input on one core and reports:
 *   - TSC cycles per in-order 1460-byte data segment, including the ACKs
 *     we send (every second segment, as the delayed-ACK rule says), with
 *     software checksums and with checksum offload flags;
 *   - payload Gb/s for the same loop;
 *   - connection set-ups plus teardowns per second (SYN, SYN-ACK, ACK,
 *     FIN, FIN-ACK, ACK: the client closes first, so no TIME_WAIT here).
 * The generator's own work (sequence numbers, incremental checksums) is
 * inside the timed loop, so figures are slightly pessimistic.
 *
 * Diagnostics: exits 1 if the stack cannot be created or a connection
 * does not come up.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "tcp.h"
#include "../tests/tcp/tcp_refsum.h"

#define CLIENT		0xc6120002U
#define SERVER		0xc6120001U
#define NCONN_MAX	64		/* parallel data connections, at most */
#define NCONN_DEF	16
#define SEG_PAYLOAD	1460
#define BURST		32		/* segments per tcp_flush, like an RX burst */
#define PER_CONN	2		/* consecutive segments per conn in a burst */
#define DEF_SECONDS	2.0

struct bench {
    uint8_t txbuf[2048];
    uint32_t last_seq;			/* our seq in the last segment sent */
    uint64_t sent;
};

/* b_alloc - one static buffer: tx_send consumes synchronously */
static void *
b_alloc(void *ctx, size_t len, uint8_t **hdr)
{
    struct bench *b = ctx;

    (void) len;
    *hdr = b->txbuf;
    return (b->txbuf);
}

/* b_send - remember our sequence number (for the handshakes) */
static void
b_send(void *ctx, void *buf, uint32_t saddr, uint32_t daddr, size_t len)
{
    struct bench *b = ctx;
    const uint8_t *s = buf;

    (void) saddr;
    (void) daddr;
    (void) len;
    b->last_seq = (uint32_t) s[4] << 24 | s[5] << 16 | s[6] << 8 | s[7];
    b->sent++;
}

/* wall - monotonic seconds */
static double
wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* cpu - seconds of CPU this process used: the machine may be shared, and
 * "per core" figures must not count time we were not running */
static double
cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* tsc_hz - TSC ticks per second, measured against the monotonic clock */
static double
tsc_hz(void)
{
    static double hz;
    double  w0, w1;
    uint64_t t0;

    if (hz > 0)
	return (hz);
    w0 = wall();
    t0 = __rdtsc();
    do
	w1 = wall();
    while (w1 - w0 < 0.2);
    hz = (double) (__rdtsc() - t0) / (w1 - w0);
    return (hz);
}

/* csum_full - checksum of a client segment with the pseudo-header */
static uint16_t
csum_full(const uint8_t *seg, size_t len)
{
    return tcp_refsum(CLIENT, SERVER, seg, len);
}

/* hdr - fill a 20-byte client header */
static void
hdr(uint8_t *s, uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags)
{
    int     i;

    s[0] = (uint8_t) (sport >> 8);
    s[1] = (uint8_t) sport;
    s[2] = 0;
    s[3] = 25;
    for (i = 0; i < 4; i++) {
	s[4 + i] = (uint8_t) (seq >> (24 - 8 * i));
	s[8 + i] = (uint8_t) (ack >> (24 - 8 * i));
    }
    s[12] = 5 << 4;
    s[13] = flags;
    s[14] = 0xff;
    s[15] = 0xff;
    s[16] = s[17] = s[18] = s[19] = 0;
}

/* sum16 - plain ones'-complement partial sum of a byte range */
static uint32_t
sum16(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    size_t  i;

    for (i = 0; i + 1 < len; i += 2)
	sum += (uint32_t) p[i] << 8 | p[i + 1];
    return (sum);
}

/* put_csum_pay - checksum with a precomputed payload sum (cheap for the
 * generator, so the figure is the stack's, not the client's) */
static void
put_csum_pay(uint8_t *s, size_t len, uint32_t pay_sum)
{
    uint32_t sum = (CLIENT >> 16) + (CLIENT & 0xffff) + (SERVER >> 16)
    + (SERVER & 0xffff) + 6 + (uint32_t) len + pay_sum;

    s[16] = s[17] = 0;
    sum += sum16(s, 20);
    while (sum >> 16)
	sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    s[16] = (uint8_t) (sum >> 8);
    s[17] = (uint8_t) sum;
}

/* put_csum - store a fresh checksum */
static void
put_csum(uint8_t *s, size_t len)
{
    uint16_t c;

    s[16] = s[17] = 0;
    c = csum_full(s, len);
    s[16] = (uint8_t) (c >> 8);
    s[17] = (uint8_t) c;
}

/* make_stack - discard service on port 25 */
static struct tcp_stack *
make_stack(struct bench *b, unsigned flags)
{
    struct tcp_config cfg;
    struct tcp_lower_ops lo = {b, b_alloc, b_send, 0};
    struct tcp_stack *st;

    tcp_config_defaults(&cfg);
    cfg.max_conns = 1024;
    cfg.tw_max = 1024;
    cfg.local_addrs[0] = SERVER;
    cfg.n_local_addrs = 1;
    cfg.listeners[0].port = 25;
    cfg.listeners[0].app = &tcp_app_discard;
    cfg.n_listeners = 1;
    cfg.flags = flags;
    if ((st = tcp_stack_create(&cfg, &lo, 1)) == 0) {
	perror("tcp_stack_create");
	exit(1);
    }
    return (st);
}

/* seg_bench - the in-order data path */
static void
seg_bench(double seconds, int offload, int nconn)
{
    struct bench b;
    struct tcp_stack *st;
    static uint8_t seg[NCONN_MAX][20 + SEG_PAYLOAD];
    uint32_t seq[NCONN_MAX], iss[NCONN_MAX];
    unsigned in_flags = offload ? TCP_IN_CSUM_GOOD : 0;
    uint64_t now = 1, nseg = 0, t0, t1, acks0;
    uint32_t pay_sum;
    double  w0, w1, hz, c0, c1;
    int     i, k;

    memset(&b, 0, sizeof(b));
    st = make_stack(&b, offload ? TCP_CFG_TX_CSUM_OFFLOAD : 0);
    for (i = 0; i < nconn; i++) {
	uint16_t port = (uint16_t) (10000 + i);

	seq[i] = 1000u * (uint32_t) i + 0xfffff000u;	/* wraps early */
	hdr(seg[i], port, seq[i], 0, 0x02);
	put_csum(seg[i], 20);
	tcp_input(st, CLIENT, SERVER, seg[i], 20, 0, now);
	tcp_flush(st);
	iss[i] = b.last_seq;
	seq[i]++;
	hdr(seg[i], port, seq[i], iss[i] + 1, 0x10);
	put_csum(seg[i], 20);
	tcp_input(st, CLIENT, SERVER, seg[i], 20, 0, now);
	tcp_flush(st);
	memset(seg[i] + 20, 'm', SEG_PAYLOAD);
    }
    if (tcp_stack_counters(st)->accepted != (uint64_t) nconn) {
	fprintf(stderr, "tcp_bench: connections did not come up\n");
	exit(1);
    }
    pay_sum = sum16(seg[0] + 20, SEG_PAYLOAD);
    acks0 = b.sent;
    c0 = cpu();
    w0 = wall();
    t0 = __rdtsc();
    do {
	for (k = 0; k < 1000; k++) {
	    int     j;

	    for (j = 0; j < BURST; j++) {
		i = (j / PER_CONN) % nconn;
		hdr(seg[i], (uint16_t) (10000 + i), seq[i], iss[i] + 1, 0x10);
		if (!offload)
		    put_csum_pay(seg[i], 20 + SEG_PAYLOAD, pay_sum);
		tcp_input(st, CLIENT, SERVER, seg[i], 20 + SEG_PAYLOAD,
			  in_flags, now);
		seq[i] += SEG_PAYLOAD;
	    }
	    tcp_flush(st);
	    now += 10;
	    tcp_timers_run(st, now);
	    nseg += BURST;
	}
	w1 = wall();
    } while (w1 - w0 < seconds);
    t1 = __rdtsc();
    c1 = cpu();
    hz = tsc_hz();
    printf("in-order 1460B segments (%s checksums): %.0f cycles/segment "
	   "(%.0f wall), %.2f Gb/s payload per core, %.2f ACKs/segment, "
	   "%.2f Mseg/s\n", offload ? "offloaded" : "software",
	   (c1 - c0) * hz / (double) nseg, (double) (t1 - t0) / (double) nseg,
	   (double) nseg * SEG_PAYLOAD * 8 / (c1 - c0) / 1e9,
	   (double) (b.sent - acks0) / (double) nseg,
	   (double) nseg / (c1 - c0) / 1e6);
    if (tcp_stack_counters(st)->bytes_in != (uint64_t) nseg * SEG_PAYLOAD)
	printf("  WARNING: %llu bytes accepted of %llu sent\n",
	       (unsigned long long) tcp_stack_counters(st)->bytes_in,
	       (unsigned long long) nseg * SEG_PAYLOAD);
    (void) hz;
    tcp_stack_destroy(st);
}

/* conn_bench - set-up and teardown rate */
static void
conn_bench(double seconds, int offload)
{
    struct bench b;
    struct tcp_stack *st;
    uint8_t s[20];
    unsigned in_flags = offload ? TCP_IN_CSUM_GOOD : 0;
    uint64_t now = 1, n = 0, t0, t1;
    uint32_t port = 0;
    double  w0, w1, c0, c1;

    memset(&b, 0, sizeof(b));
    st = make_stack(&b, offload ? TCP_CFG_TX_CSUM_OFFLOAD : 0);
    c0 = cpu();
    w0 = wall();
    t0 = __rdtsc();
    do {
	int     k;

	for (k = 0; k < 1000; k++) {
	    uint16_t sport = (uint16_t) (1024 + port++ % 60000);
	    uint32_t cseq = port * 7919u, iss;

	    hdr(s, sport, cseq, 0, 0x02);
	    if (!offload)
		put_csum(s, 20);
	    tcp_input(st, CLIENT, SERVER, s, 20, in_flags, now);
	    tcp_flush(st);
	    iss = b.last_seq;
	    hdr(s, sport, cseq + 1, iss + 1, 0x10);
	    if (!offload)
		put_csum(s, 20);
	    tcp_input(st, CLIENT, SERVER, s, 20, in_flags, now);
	    hdr(s, sport, cseq + 1, iss + 1, 0x11);
	    if (!offload)
		put_csum(s, 20);
	    tcp_input(st, CLIENT, SERVER, s, 20, in_flags, now);
	    tcp_flush(st);
	    hdr(s, sport, cseq + 2, iss + 2, 0x10);
	    if (!offload)
		put_csum(s, 20);
	    tcp_input(st, CLIENT, SERVER, s, 20, in_flags, now);
	    tcp_flush(st);
	    n++;
	}
	now += 100;
	tcp_timers_run(st, now);
	w1 = wall();
    } while (w1 - w0 < seconds);
    t1 = __rdtsc();
    c1 = cpu();
    printf("connection set-up + teardown (%s checksums): %.0f conns/s per "
	   "core, %.0f cycles/conn (%.0f wall), %u conns left open\n",
	   offload ? "offloaded" : "software", (double) n / (c1 - c0),
	   (c1 - c0) * tsc_hz() / (double) n, (double) (t1 - t0) / (double) n,
	   tcp_stack_conn_count(st));
    tcp_stack_destroy(st);
}

/* main - run each measurement */
int
main(int argc, char **argv)
{
    double  sec = argc > 1 ? atof(argv[1]) : DEF_SECONDS;
    int     nconn = argc > 2 ? atoi(argv[2]) : NCONN_DEF;
    const char *only = argc > 3 ? argv[3] : "";

    if (nconn < 1 || nconn > NCONN_MAX)
	nconn = NCONN_DEF;
    printf("tcp_bench: %d data connections, bursts of %d segments\n",
	   nconn, BURST);
    if (strcmp(only, "conn")) {
	if (strcmp(only, "segoff"))
	    seg_bench(sec, 0, nconn);
	seg_bench(sec, 1, nconn);
    }
    if (strncmp(only, "seg", 3)) {
	conn_bench(sec, 0);
	conn_bench(sec, 1);
    }
    return (0);
}
