/*
 * fuzz_frames.c - libFuzzer target: arbitrary Ethernet frames into the
 * data plane's input path (eth, arp, ip, icmp, steering decision, tcp)
 *
 *	int LLVMFuzzerInitialize(int *argc, char ***argv);
 *	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * DESCRIPTION
 *	No NIC: EAL starts with --no-huge --no-pci --no-shconf, one lcore is
 *	set up with DP_NO_PORT, so what the stack transmits is built in full
 *	(ARP, ICMP, TCP through ip_output and eth_output) and then freed.
 *
 *	An input is a sequence of records: a 16-bit little-endian length
 *	whose top bit asks for the frame's destination MAC to be replaced by
 *	ours (so the fuzzer reaches IPv4 and TCP without guessing the MAC),
 *	then that many frame bytes. One input can thus open a connection and
 *	send data on it. The virtual clock advances FUZZ_STEP_US per frame
 *	and the TCP timers run every FUZZ_TIMER_EVERY frames. The TCP stack
 *	lives across inputs, like a real one under attack.
 *
 *	After each input the mempool must hold every mbuf again except those
 *	the ARP cache legitimately keeps pending: a leak aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dp.h"

#define FUZZ_POOL_SIZE		4095
#define FUZZ_STEP_US		1000
#define FUZZ_TIMER_EVERY	8
#define FUZZ_MAX_CONNS		64
#define FUZZ_DEST_OURS		0x8000
#define FUZZ_LEN_MASK		0x7fff

int     LLVMFuzzerInitialize(int *, char ***);
int     LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dp_lcore *fuzz_lc;
static struct dp_lcore_stats fuzz_stats;
static struct rte_mempool *fuzz_pool;
static volatile int fuzz_quit;
static uint64_t fuzz_now_us;

/* fuzz_fatal - start-up failure */
static void fuzz_fatal(const char *what)
{
    fprintf(stderr, "fuzz_frames: %s: %s\n", what, rte_strerror(rte_errno));
    abort();
}

/* LLVMFuzzerInitialize - EAL without hardware, one NIC-less lcore */
int     LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char *eal[] = {"fuzz_frames", "--no-huge", "--no-pci", "--no-shconf",
	"-m", "256", "-l", "0", "--no-telemetry", "--log-level=*:error", 0};
    static struct tcp_config tc;
    struct dp_lcore_params p;
    struct rte_ether_addr mac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};

    if (rte_eal_init((int) (sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0)
	fuzz_fatal("EAL initialisation");
    fuzz_pool = rte_pktmbuf_pool_create("fuzz_mbufs", FUZZ_POOL_SIZE, 0, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (fuzz_pool == 0)
	fuzz_fatal("create mbuf pool");
    tcp_config_defaults(&tc);
    tc.local_addrs[0] = (198U << 24) | (18U << 16) | 2U;
    tc.n_local_addrs = 1;
    tc.max_conns = FUZZ_MAX_CONNS;
    tc.syn_backlog = FUZZ_MAX_CONNS / 2;
    tc.rcvbuf = tc.sndbuf = 4096;
    tc.wscale = 0;
    tc.listeners[0].port = 7;
    tc.listeners[0].app = &tcp_app_echo;
    tc.listeners[1].port = 9;
    tc.listeners[1].app = &tcp_app_discard;
    tc.n_listeners = 2;
    memset(&p, 0, sizeof(p));
    p.nworkers = 1;
    p.port_id = DP_NO_PORT;
    p.mac = mac;
    p.addr = tc.local_addrs[0];
    p.prefix_len = 24;
    p.gateway = (198U << 24) | (18U << 16) | 254U;
    p.mtu = 1500;
    p.arp_ttl_s = 300;
    p.tx_drain_us = 100;
    p.pool = fuzz_pool;
    p.stats = &fuzz_stats;
    p.tcp = &tc;
    p.quit = &fuzz_quit;
    if ((fuzz_lc = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*fuzz_lc))) == 0)
	abort();
    if (dp_lcore_setup(fuzz_lc, &p) < 0)
	abort();
    return (0);
}

/* fuzz_pending - mbufs the ARP cache holds for unresolved next hops */
static unsigned fuzz_pending(const struct dp_lcore *lc)
{
    unsigned s, w, n = 0;

    for (s = 0; s < ARP_CACHE_SETS; s++)
	for (w = 0; w < ARP_CACHE_WAYS; w++)
	    n += lc->arp.set[s][w].npending;
    return (n);
}

/* LLVMFuzzerTestOneInput - frames in, everything they cause, then check */
int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dp_lcore *lc = fuzz_lc;
    struct rte_ether_hdr *eh;
    struct rte_mbuf *m;
    unsigned frames = 0;
    uint16_t rec, len;
    char   *dst;

    while (size >= 2) {
	rec = (uint16_t) (data[0] | data[1] << 8);
	data += 2;
	size -= 2;
	len = rec & FUZZ_LEN_MASK;
	if (len > size)
	    len = (uint16_t) size;
	if ((m = rte_pktmbuf_alloc(fuzz_pool)) == 0)
	    abort();			/* leaked: the pool never runs dry */
	if (len > rte_pktmbuf_tailroom(m))
	    len = rte_pktmbuf_tailroom(m);
	dst = rte_pktmbuf_append(m, len);
	memcpy(dst, data, len);
	data += len;
	size -= len;
	if ((rec & FUZZ_DEST_OURS) && len >= sizeof(*eh)) {
	    eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	    rte_ether_addr_copy(&lc->mac, &eh->dst_addr);
	}
	fuzz_now_us += FUZZ_STEP_US;
	lc->now_us = fuzz_now_us;
	eth_input(lc, m);
	tcp_flush(lc->tcp);
	if (++frames % FUZZ_TIMER_EVERY == 0) {
	    tcp_timers_run(lc->tcp, fuzz_now_us);
	    arp_timer(lc, fuzz_now_us);
	}
	eth_tx_flush(lc);
    }
    tcp_flush(lc->tcp);
    eth_tx_flush(lc);
    if (rte_mempool_in_use_count(fuzz_pool) != fuzz_pending(lc)) {
	fprintf(stderr, "fuzz_frames: %u mbufs in use, ARP holds %u\n",
		rte_mempool_in_use_count(fuzz_pool), fuzz_pending(lc));
	abort();
    }
    return (0);
}
