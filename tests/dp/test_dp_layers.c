/*
 * test_dp_layers.c - unit tests of the data plane's layers without a NIC
 *
 * DESCRIPTION
 *	EAL runs with --no-huge --no-pci --no-shconf; one lcore is set up
 *	with DP_NO_PORT and a capture ring, so each test feeds a frame to
 *	eth_input() and looks at the frames the stack transmitted and at the
 *	counters. Also: steering hash properties and configuration parsing.
 *	Frames are built by hand here, the bytes a wire would carry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "config.h"
#include "dp.h"

#define T_POOL_SIZE	1023
#define T_CAPTURE	64
#define T_US		((198U << 24) | (18U << 16) | 2U)	/* 198.18.0.2 */
#define T_PEER		((198U << 24) | (18U << 16) | 1U)	/* 198.18.0.1 */
#define T_OTHER		((198U << 24) | (18U << 16) | 77U)	/* no ARP entry */

static const struct rte_ether_addr t_mac = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr t_peer_mac = {{0x02, 0, 0, 0, 0, 0x02}};
static struct rte_mempool *t_pool;
static struct rte_ring *t_capture;
static struct dp_lcore *t_lc;
static struct dp_lcore_stats t_stats;
static volatile int t_quit;
static int t_ready;

/* t_frame - an mbuf holding len bytes copied from buf */
static struct rte_mbuf *t_frame(const void *buf, size_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(t_pool);

    assert_non_null(m);
    memcpy(rte_pktmbuf_append(m, (uint16_t) len), buf, len);
    return (m);
}

/* t_eth - Ethernet header from the peer to dst */
static size_t t_eth(uint8_t *p, const struct rte_ether_addr *dst, uint16_t type)
{
    struct rte_ether_hdr *eh = (struct rte_ether_hdr *) p;

    eh->dst_addr = *dst;
    eh->src_addr = t_peer_mac;
    eh->ether_type = rte_cpu_to_be_16(type);
    return (sizeof(*eh));
}

/* t_ip - IPv4 header, checksum filled */
static size_t t_ip(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4len)
{
    struct rte_ipv4_hdr *ih = (struct rte_ipv4_hdr *) p;

    memset(ih, 0, sizeof(*ih));
    ih->version_ihl = RTE_IPV4_VHL_DEF;
    ih->total_length = rte_cpu_to_be_16((uint16_t) (sizeof(*ih) + l4len));
    ih->time_to_live = 64;
    ih->next_proto_id = proto;
    ih->src_addr = rte_cpu_to_be_32(src);
    ih->dst_addr = rte_cpu_to_be_32(dst);
    ih->hdr_checksum = rte_ipv4_cksum(ih);
    return (sizeof(*ih));
}

/* t_ping - an echo request frame from src; returns its length */
static size_t t_ping(uint8_t *buf, uint32_t src, uint16_t seq)
{
    size_t  off = t_eth(buf, &t_mac, RTE_ETHER_TYPE_IPV4);
    struct rte_icmp_hdr *ic;
    const size_t data = 16;

    off += t_ip(buf + off, src, T_US, IPPROTO_ICMP, (uint16_t) (sizeof(*ic) + data));
    ic = (struct rte_icmp_hdr *) (buf + off);
    memset(ic, 0, sizeof(*ic) + data);
    ic->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    ic->icmp_ident = rte_cpu_to_be_16(7);
    ic->icmp_seq_nb = rte_cpu_to_be_16(seq);
    memset(ic + 1, 'p', data);
    ic->icmp_cksum = (uint16_t) ~rte_raw_cksum(ic, sizeof(*ic) + data);
    return (off + sizeof(*ic) + data);
}

/* t_arp_request - "who has 198.18.0.2" from the peer */
static size_t t_arp_request(uint8_t *buf)
{
    static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    size_t  off = t_eth(buf, &bcast, RTE_ETHER_TYPE_ARP);
    struct rte_arp_hdr *ah = (struct rte_arp_hdr *) (buf + off);

    memset(ah, 0, sizeof(*ah));
    ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    ah->arp_hlen = RTE_ETHER_ADDR_LEN;
    ah->arp_plen = 4;
    ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    ah->arp_data.arp_sha = t_peer_mac;
    ah->arp_data.arp_sip = rte_cpu_to_be_32(T_PEER);
    ah->arp_data.arp_tip = rte_cpu_to_be_32(T_US);
    return (off + sizeof(*ah));
}

/* t_input - one frame through the stack, transmit queue flushed */
static void t_input(const uint8_t *buf, size_t len)
{
    eth_input(t_lc, t_frame(buf, len));
    tcp_flush(t_lc->tcp);
    eth_tx_flush(t_lc);
}

/* t_sent - next captured frame, or NULL */
static struct rte_mbuf *t_sent(void)
{
    void   *m;

    return (rte_ring_dequeue(t_capture, &m) == 0 ? m : 0);
}

/* t_drain - free everything captured; returns how many */
static unsigned t_drain(void)
{
    struct rte_mbuf *m;
    unsigned n = 0;

    while ((m = t_sent()) != 0) {
	rte_pktmbuf_free(m);
	n++;
    }
    return (n);
}

/* setup - fresh lcore state (and counters) for each test */
static int setup(void **state)
{
    static struct tcp_config tc;
    struct dp_lcore_params p;

    if (t_ready) {
	t_drain();
	dp_lcore_teardown(t_lc);
    }
    memset(&t_stats, 0, sizeof(t_stats));
    tcp_config_defaults(&tc);
    tc.local_addrs[0] = T_US;
    tc.n_local_addrs = 1;
    tc.max_conns = 16;
    tc.rcvbuf = tc.sndbuf = 4096;
    tc.wscale = 0;
    tc.listeners[0].port = 7;
    tc.listeners[0].app = &tcp_app_echo;
    tc.n_listeners = 1;
    memset(&p, 0, sizeof(p));
    p.nworkers = 1;
    p.port_id = DP_NO_PORT;
    p.mac = t_mac;
    p.addr = T_US;
    p.prefix_len = 24;
    p.mtu = 1500;
    p.arp_ttl_s = 300;
    p.tx_drain_us = 100;
    p.pool = t_pool;
    p.stats = &t_stats;
    p.tcp = &tc;
    p.quit = &t_quit;
    if (dp_lcore_setup(t_lc, &p) < 0)
	return (-1);
    t_lc->tx_capture = t_capture;
    t_lc->now_us = 1000000;
    t_ready = 1;
    return (0);
}

/* test_arp_request_for_us_is_answered_and_learned */
static void test_arp_request_for_us_is_answered_and_learned(void **state)
{
    uint8_t buf[128];
    struct rte_mbuf *m;
    const struct rte_arp_hdr *ah;

    t_input(buf, t_arp_request(buf));
    assert_non_null(m = t_sent());
    ah = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
    assert_int_equal(rte_be_to_cpu_16(ah->arp_opcode), RTE_ARP_OP_REPLY);
    assert_memory_equal(&ah->arp_data.arp_sha, &t_mac, RTE_ETHER_ADDR_LEN);
    assert_memory_equal(&ah->arp_data.arp_tha, &t_peer_mac, RTE_ETHER_ADDR_LEN);
    assert_int_equal(rte_be_to_cpu_32(ah->arp_data.arp_sip), T_US);
    rte_pktmbuf_free(m);
    assert_int_equal(t_stats.arp_replies_sent, 1);
    assert_int_equal(t_stats.arp_entries, 1);
}

/* test_echo_request_is_answered_once_the_peer_is_known */
static void test_echo_request_is_answered_once_the_peer_is_known(void **state)
{
    uint8_t buf[256];
    struct rte_mbuf *m;
    const struct rte_ipv4_hdr *ih;
    const struct rte_icmp_hdr *ic;
    const struct rte_ether_hdr *eh;

    t_input(buf, t_arp_request(buf));
    t_drain();
    t_input(buf, t_ping(buf, T_PEER, 3));
    assert_non_null(m = t_sent());
    eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    assert_memory_equal(&eh->dst_addr, &t_peer_mac, RTE_ETHER_ADDR_LEN);
    ih = (const struct rte_ipv4_hdr *) (eh + 1);
    assert_int_equal(rte_raw_cksum(ih, sizeof(*ih)), 0xffff);
    assert_int_equal(rte_be_to_cpu_32(ih->dst_addr), T_PEER);
    ic = (const struct rte_icmp_hdr *) (ih + 1);
    assert_int_equal(ic->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
    assert_int_equal(rte_be_to_cpu_16(ic->icmp_seq_nb), 3);
    assert_int_equal(rte_raw_cksum(ic, rte_be_to_cpu_16(ih->total_length) - sizeof(*ih)), 0xffff);
    rte_pktmbuf_free(m);
    assert_int_equal(t_stats.icmp_echo_replies, 1);
}

/* test_reply_to_unknown_peer_waits_for_arp_within_bound */
static void test_reply_to_unknown_peer_waits_for_arp_within_bound(void **state)
{
    uint8_t buf[256];
    struct rte_mbuf *m;
    const struct rte_arp_hdr *ah;
    int     i;

    for (i = 0; i < ARP_PENDING_MAX + 2; i++)
	t_input(buf, t_ping(buf, T_OTHER, (uint16_t) i));
    /* One request out, the replies held, the excess dropped. */
    assert_non_null(m = t_sent());
    ah = rte_pktmbuf_mtod_offset(m, const struct rte_arp_hdr *, RTE_ETHER_HDR_LEN);
    assert_int_equal(rte_be_to_cpu_16(ah->arp_opcode), RTE_ARP_OP_REQUEST);
    assert_int_equal(rte_be_to_cpu_32(ah->arp_data.arp_tip), T_OTHER);
    rte_pktmbuf_free(m);
    assert_null(t_sent());
    assert_int_equal(t_stats.arp_pending_drop, 2);
    assert_int_equal(rte_mempool_in_use_count(t_pool), ARP_PENDING_MAX);
    /* No answer: retried, then the held packets are dropped. */
    for (i = 0; i <= ARP_RETRIES; i++) {
	t_lc->now_us += ARP_RETRY_US;
	arp_timer(t_lc, t_lc->now_us);
	eth_tx_flush(t_lc);
    }
    assert_int_equal(t_drain(), ARP_RETRIES - 1);
    assert_int_equal(t_stats.arp_pending_drop, 2 + ARP_PENDING_MAX);
    assert_int_equal(rte_mempool_in_use_count(t_pool), 0);
}

/* test_bad_ip_checksum_is_dropped_and_counted */
static void test_bad_ip_checksum_is_dropped_and_counted(void **state)
{
    uint8_t buf[256];
    size_t  len = t_ping(buf, T_PEER, 1);

    buf[RTE_ETHER_HDR_LEN + offsetof(struct rte_ipv4_hdr, hdr_checksum)] ^= 0x55;
    t_input(buf, len);
    assert_null(t_sent());
    assert_int_equal(t_stats.drop_ip_csum, 1);
    assert_int_equal(rte_mempool_in_use_count(t_pool), 0);
}

/* test_fragments_are_dropped_and_counted */
static void test_fragments_are_dropped_and_counted(void **state)
{
    uint8_t buf[256];
    size_t  len = t_ping(buf, T_PEER, 1);
    struct rte_ipv4_hdr *ih = (struct rte_ipv4_hdr *) (buf + RTE_ETHER_HDR_LEN);

    ih->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
    ih->hdr_checksum = 0;
    ih->hdr_checksum = rte_ipv4_cksum(ih);
    t_input(buf, len);
    assert_null(t_sent());
    assert_int_equal(t_stats.drop_ip_frag, 1);
}

/* test_frames_for_other_hosts_are_not_ours */
static void test_frames_for_other_hosts_are_not_ours(void **state)
{
    static const struct rte_ether_addr other = {{0x02, 0, 0, 0, 0, 0x99}};
    uint8_t buf[256];
    size_t  len = t_ping(buf, T_PEER, 1);
    struct rte_ipv4_hdr *ih = (struct rte_ipv4_hdr *) (buf + RTE_ETHER_HDR_LEN);

    memcpy(buf, &other, sizeof(other));
    t_input(buf, len);
    memcpy(buf, &t_mac, sizeof(t_mac));
    ih->dst_addr = rte_cpu_to_be_32(T_OTHER);
    ih->hdr_checksum = 0;
    ih->hdr_checksum = rte_ipv4_cksum(ih);
    t_input(buf, len);
    assert_null(t_sent());
    assert_int_equal(t_stats.drop_not_for_us, 2);
}

/* test_ethernet_padding_is_trimmed_before_tcp */
static void test_ethernet_padding_is_trimmed_before_tcp(void **state)
{
    uint8_t buf[128];
    size_t  off;
    struct rte_tcp_hdr *th;
    const struct rte_tcp_hdr *rth;
    struct rte_mbuf *m;

    t_input(buf, t_arp_request(buf));
    t_drain();
    /* A bare SYN is 54 bytes; the wire pads it to 60. */
    memset(buf, 0, sizeof(buf));
    off = t_eth(buf, &t_mac, RTE_ETHER_TYPE_IPV4);
    off += t_ip(buf + off, T_PEER, T_US, IPPROTO_TCP, sizeof(*th));
    th = (struct rte_tcp_hdr *) (buf + off);
    th->src_port = rte_cpu_to_be_16(40000);
    th->dst_port = rte_cpu_to_be_16(7);
    th->sent_seq = rte_cpu_to_be_32(1000);
    th->data_off = (sizeof(*th) / 4) << 4;
    th->tcp_flags = RTE_TCP_SYN_FLAG;
    th->rx_win = rte_cpu_to_be_16(65535);
    th->cksum = rte_ipv4_udptcp_cksum((const struct rte_ipv4_hdr *) (buf + RTE_ETHER_HDR_LEN), th);
    t_input(buf, 60);
    assert_non_null(m = t_sent());
    rth = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
				  RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr));
    assert_int_equal(rth->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
    assert_int_equal(rte_be_to_cpu_32(rth->recv_ack), 1001);
    rte_pktmbuf_free(m);
}

/* test_steering_owner_is_symmetric_and_spread */
static void test_steering_owner_is_symmetric_and_spread(void **state)
{
    unsigned count[4] = {0};
    uint32_t a, b;
    uint16_t pa, pb;
    unsigned i, o;

    srand(1);
    for (i = 0; i < 40000; i++) {
	a = (uint32_t) rand();
	b = (uint32_t) rand();
	pa = (uint16_t) rand();
	pb = (uint16_t) rand();
	o = steer_owner(a, b, pa, pb, 4);
	assert_true(o < 4);
	assert_int_equal(o, steer_owner(b, a, pb, pa, 4));
	count[o]++;
    }
    for (i = 0; i < 4; i++)
	assert_in_range(count[i], 9000, 11000);
    assert_int_equal(steer_owner(a, b, pa, pb, 1), 0);
}

/* test_config_flags_override_the_file */
static void test_config_flags_override_the_file(void **state)
{
    char    path[] = "/tmp/dpconf-XXXXXX";
    char   *argv[] = {"mxgate-dp", "--config", path, "--mtu=1300", "--echo-port", "70",
	"--vdev", "net_null0", "--", "--no-huge", 0};
    struct dpconf cf;
    char  **eal;
    int     n, fd;
    const char text[] = "# test\nmtu = 1400\necho_port = 7\ndiscard_port = 0\n"
	"address = 198.18.5.5/16\n";

    assert_true((fd = mkstemp(path)) >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t) sizeof(text) - 1);
    close(fd);
    dpconf_defaults(&cf);
    assert_int_equal(dpconf_parse_args(&cf, 10, argv, &n, &eal), 0);
    unlink(path);
    assert_int_equal(cf.mtu, 1300);
    assert_int_equal(cf.echo_port, 70);
    assert_int_equal(cf.discard_port, 0);
    assert_int_equal(cf.addr, (198U << 24) | (18U << 16) | (5U << 8) | 5U);
    assert_int_equal(cf.prefix_len, 16);
    /* program, --vdev X, --no-pci (a vdev alone never probes PCI), --no-huge */
    assert_int_equal(n, 5);
    assert_string_equal(eal[1], "--vdev");
    assert_string_equal(eal[3], "--no-pci");
    assert_string_equal(eal[4], "--no-huge");
    dpconf_free_args(eal);
}

/* test_config_rejects_unknown_keys_and_bad_values */
static void test_config_rejects_unknown_keys_and_bad_values(void **state)
{
    struct dpconf cf;

    dpconf_defaults(&cf);
    assert_int_equal(dpconf_set(&cf, "no_such_key", "1"), -1);
    assert_int_equal(dpconf_set(&cf, "mtu", "100"), -1);
    assert_int_equal(dpconf_set(&cf, "mtu", "15x"), -1);
    assert_int_equal(dpconf_set(&cf, "steer_ring", "1000"), -1);
    assert_int_equal(dpconf_set(&cf, "address", "198.18.0.300/24"), -1);
    assert_int_equal(dpconf_set(&cf, "tcp_rcvbuf", "65537"), -1);
    assert_int_equal(cf.mtu, DPCONF_MTU_DEFAULT);
}

/* main - EAL without hardware, then the tests */
int     main(void)
{
    static char *eal[] = {"test_dp_layers", "--no-huge", "--no-pci", "--no-shconf",
	"-m", "128", "-l", "0", "--no-telemetry", "--log-level=*:error", 0};
    const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup(test_arp_request_for_us_is_answered_and_learned, setup),
	cmocka_unit_test_setup(test_echo_request_is_answered_once_the_peer_is_known, setup),
	cmocka_unit_test_setup(test_reply_to_unknown_peer_waits_for_arp_within_bound, setup),
	cmocka_unit_test_setup(test_bad_ip_checksum_is_dropped_and_counted, setup),
	cmocka_unit_test_setup(test_fragments_are_dropped_and_counted, setup),
	cmocka_unit_test_setup(test_frames_for_other_hosts_are_not_ours, setup),
	cmocka_unit_test_setup(test_ethernet_padding_is_trimmed_before_tcp, setup),
	cmocka_unit_test(test_steering_owner_is_symmetric_and_spread),
	cmocka_unit_test(test_config_flags_override_the_file),
	cmocka_unit_test(test_config_rejects_unknown_keys_and_bad_values),
    };

    if (rte_eal_init((int) (sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
	fprintf(stderr, "test_dp_layers: EAL without hugepages failed: skipped\n");
	return (77);
    }
    t_pool = rte_pktmbuf_pool_create("t_mbufs", T_POOL_SIZE, 0, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    t_capture = rte_ring_create("t_capture", T_CAPTURE, SOCKET_ID_ANY, 0);
    t_lc = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*t_lc));
    if (t_pool == 0 || t_capture == 0 || t_lc == 0)
	return (1);
    memset(t_lc, 0, sizeof(*t_lc));
    return (cmocka_run_group_tests(tests, 0, 0));
}
