#ifndef MXGATE_TCP_H
#define MXGATE_TCP_H

/*
 * tcp.h - per-core user-space TCP (server side), no DPDK types
 *
 * One struct tcp_stack per lcore, shared nothing, passed explicitly. The
 * layer below (IPv4 over DPDK, or the test harness) feeds validated IPv4
 * payloads in with tcp_input() and drives time with tcp_timers_run(); TCP
 * hands finished segments down through struct tcp_lower_ops. The layer
 * above (SMTP, echo, discard) is a struct tcp_app_ops chosen per listening
 * port.
 *
 * Exported functions:
 *
 *   struct tcp_stack *tcp_stack_create(const struct tcp_config *cfg,
 *                                      const struct tcp_lower_ops *lower,
 *                                      uint64_t now_us);
 *	Allocates every table and buffer up front (start-up only); NULL and
 *	errno on failure (EINVAL bad config, ENOMEM).
 *   void tcp_stack_destroy(struct tcp_stack *st);
 *   void tcp_config_defaults(struct tcp_config *cfg);
 *	Fills every limit with its TCP_DEF_* default; no address, no port.
 *
 *   void tcp_input(struct tcp_stack *st, uint32_t saddr, uint32_t daddr,
 *                  const uint8_t *seg, size_t len, unsigned flags,
 *                  uint64_t now_us);
 *	One TCP segment (header + payload, IP header stripped), addresses in
 *	host byte order. flags: TCP_IN_CSUM_GOOD when the NIC verified the
 *	checksum. The caller still owns seg after return: payload is copied.
 *   void tcp_flush(struct tcp_stack *st);
 *	Sends the ACKs and data that input of this burst made pending. Call
 *	once after each RX burst (and after app calls made outside callbacks).
 *   void tcp_timers_run(struct tcp_stack *st, uint64_t now_us);
 *	Expires due timers; cheap when nothing is due. now_us is monotonic.
 *
 *   size_t tcp_send(struct tcp_conn *c, const void *buf, size_t len);
 *	Copies into the bounded send buffer; returns bytes accepted (may be
 *	short or 0: wait for the writable callback).
 *   size_t tcp_send_space(const struct tcp_conn *c);
 *   size_t tcp_recv(struct tcp_conn *c, void *buf, size_t len);
 *	Copies out and consumes; consuming opens the receive window.
 *   size_t tcp_peek(const struct tcp_conn *c, struct tcp_iov iov[2]);
 *	Zero-copy view of the readable bytes (two spans: the ring may wrap).
 *   void tcp_consume(struct tcp_conn *c, size_t n);
 *   void tcp_shutdown(struct tcp_conn *c);
 *	FIN after the queued data; receiving continues.
 *   void tcp_close(struct tcp_conn *c);
 *	Graceful: FIN after queued data, then the app is detached: no more
 *	callbacks for c and c must not be used again. Unread input is
 *	discarded and, as RFC 9293 says, answered with RST.
 *   void tcp_abort(struct tcp_conn *c);
 *	RST now; the closed callback is NOT called; c is gone on return.
 *   void tcp_conn_peer(const struct tcp_conn *c, uint32_t *addr,
 *                      uint16_t *port);
 *   void tcp_conn_local(const struct tcp_conn *c, uint32_t *addr,
 *                       uint16_t *port);
 *   void tcp_conn_set_app(struct tcp_conn *c, void *app_conn);
 *   const struct tcp_counters *tcp_stack_counters(const struct tcp_stack *);
 *   uint32_t tcp_stack_conn_count(const struct tcp_stack *st);
 *
 * Callbacks (struct tcp_app_ops) run inside tcp_input/tcp_timers_run and
 * may call any app function above on their own connection, including
 * tcp_close/tcp_abort; after tcp_abort or tcp_close the callback must not
 * touch c again.
 *
 * Diagnostics: none printed in the fast path; every drop is counted in
 * struct tcp_counters. tcp_stack_create reports a bad configuration by
 * errno only.
 */

#include <stddef.h>
#include <stdint.h>

/* Limits: every one has a documented default and a tcp_config field. */
#define TCP_MAX_LOCAL_ADDRS	8	/* local IPv4 addresses per stack */
#define TCP_MAX_LISTENERS	16	/* listening ports per stack */
#define TCP_DEF_MAX_CONNS	16384	/* connections per core (all states) */
#define TCP_DEF_SYN_BACKLOG	1024	/* SYN-RECEIVED conns before cookies */
#define TCP_DEF_RCVBUF		65536	/* receive ring per conn, bytes */
#define TCP_DEF_SNDBUF		65536	/* send ring per conn, bytes */
#define TCP_DEF_OOO_BYTES	65536	/* out-of-order bytes held per conn */
#define TCP_DEF_OOO_SEGS	32	/* out-of-order holes tracked per conn */
#define TCP_DEF_TW_MAX		8192	/* TIME_WAIT records; oldest recycled */
#define TCP_DEF_MSS		1460	/* our MSS (1500 MTU) */
#define TCP_DEF_TICK_US		1000	/* timer wheel granularity */
#define TCP_DEF_RTO_MIN_US	200000	/* RFC 6298 says 1 s; Linux uses 200 ms */
#define TCP_DEF_RTO_MAX_US	60000000 /* backoff ceiling */
#define TCP_DEF_RTO_INIT_US	1000000	/* before any RTT sample (RFC 6298) */
#define TCP_DEF_MAX_RETRIES	8	/* RTO expiries in a row before give-up */
#define TCP_DEF_SYNACK_RETRIES	4	/* SYN-ACK retransmits before drop */
#define TCP_DEF_DELACK_US	40000	/* delayed ACK */
#define TCP_DEF_IDLE_US		300000000 /* idle timeout (SMTP: 5 min) */
#define TCP_DEF_TIME_WAIT_US	60000000 /* 2*MSL */
#define TCP_DEF_FIN_WAIT2_US	60000000 /* orphaned FIN-WAIT-2 */
#define TCP_DEF_PERSIST_MIN_US	200000	/* first zero-window probe */
#define TCP_DEF_CHALLENGE_ACKS	1000	/* RFC 5961 challenge ACKs per second */
#define TCP_DEF_WSCALE		7	/* our window scale shift */
#define TCP_DEF_INIT_CWND	10	/* segments (RFC 6928) */

/* tcp_input flags */
#define TCP_IN_CSUM_GOOD	0x1	/* NIC verified the TCP checksum */

/* tcp_config.flags */
#define TCP_CFG_TX_CSUM_OFFLOAD	0x1	/* write pseudo-header sum only */
#define TCP_CFG_NO_TS_OFFSET	0x2	/* TSval = ms clock (deterministic tests) */
#define TCP_CFG_NO_TIMESTAMPS	0x4	/* never negotiate RFC 7323 TS */
#define TCP_CFG_NO_SACK		0x8	/* never negotiate SACK */
#define TCP_CFG_ALWAYS_COOKIES	0x10	/* answer every SYN with a cookie */

struct tcp_stack;
struct tcp_conn;

struct tcp_iov {
    const uint8_t *base;
    size_t  len;
};

enum tcp_close_reason {
    TCP_CLOSE_FIN,			/* orderly: both FINs exchanged */
    TCP_CLOSE_RST,			/* peer reset */
    TCP_CLOSE_TIMEOUT,			/* retransmission give-up */
    TCP_CLOSE_IDLE,			/* idle timeout */
    TCP_CLOSE_ABORT,			/* stack-side abort (memory, shutdown) */
};

/* Connection states; TIME_WAIT is a separate small record, not a conn. */
enum tcp_state {
    TCP_ST_CLOSED,
    TCP_ST_SYN_RECEIVED,
    TCP_ST_ESTABLISHED,
    TCP_ST_CLOSE_WAIT,
    TCP_ST_LAST_ACK,
    TCP_ST_FIN_WAIT_1,
    TCP_ST_FIN_WAIT_2,
    TCP_ST_CLOSING,
    TCP_ST_TIME_WAIT,
    TCP_ST_COUNT,
};

/* The layer below: supplied at create time. */
struct tcp_lower_ops {
    void   *ctx;
    /* Buffer with room for len bytes of TCP header + payload, headroom for
     * IPv4/Ethernet left to the lower layer. NULL: counted, retried later. */
    void   *(*tx_alloc) (void *ctx, size_t len, uint8_t **tcp_hdr_out);
    /* Hand a filled buffer to IPv4 output; addresses in host byte order. */
    void    (*tx_send) (void *ctx, void *buf, uint32_t saddr, uint32_t daddr,
			           size_t len);
    /* Sender filter at SYN time: TCP_FILTER_*. NULL = accept all. */
    int     (*syn_filter) (void *ctx, uint32_t saddr, uint16_t sport);
};

#define TCP_FILTER_ACCEPT	0
#define TCP_FILTER_DROP		1	/* silently */
#define TCP_FILTER_RST		2

/* The layer above: one per listening port. */
struct tcp_app_ops {
    /* New established connection; return the per-connection app pointer,
     * or NULL to refuse (the connection is reset). */
    void   *(*accept) (void *listen_ctx, struct tcp_conn *c);
    /* avail bytes are readable; eof: the peer sent FIN and all data
     * before it is in avail (called with avail 0 on a bare FIN). */
    void    (*data) (void *app_conn, struct tcp_conn *c, size_t avail, int eof);
    /* Send space was freed (only after tcp_send came back short). */
    void    (*writable) (void *app_conn, struct tcp_conn *c, size_t space);
    /* Connection gone; c is invalid after return. */
    void    (*closed) (void *app_conn, struct tcp_conn *c,
		               enum tcp_close_reason why);
};

struct tcp_listener {
    uint16_t port;
    const struct tcp_app_ops *app;
    void   *listen_ctx;
};

struct tcp_config {
    uint32_t local_addrs[TCP_MAX_LOCAL_ADDRS];	/* host byte order */
    unsigned n_local_addrs;		/* 0: accept any destination */
    struct tcp_listener listeners[TCP_MAX_LISTENERS];
    unsigned n_listeners;
    uint32_t max_conns;			/* TCP_DEF_MAX_CONNS */
    uint32_t syn_backlog;		/* TCP_DEF_SYN_BACKLOG */
    uint32_t rcvbuf;			/* TCP_DEF_RCVBUF, power of two */
    uint32_t sndbuf;			/* TCP_DEF_SNDBUF, power of two */
    uint32_t ooo_bytes;			/* TCP_DEF_OOO_BYTES */
    uint32_t ooo_segs;			/* TCP_DEF_OOO_SEGS */
    uint32_t tw_max;			/* TCP_DEF_TW_MAX */
    uint16_t mss;			/* TCP_DEF_MSS */
    uint8_t wscale;			/* TCP_DEF_WSCALE */
    uint8_t init_cwnd;			/* TCP_DEF_INIT_CWND */
    uint32_t tick_us;			/* TCP_DEF_TICK_US */
    uint32_t rto_min_us;		/* TCP_DEF_RTO_MIN_US */
    uint32_t rto_max_us;		/* TCP_DEF_RTO_MAX_US */
    uint32_t rto_init_us;		/* TCP_DEF_RTO_INIT_US */
    uint32_t max_retries;		/* TCP_DEF_MAX_RETRIES */
    uint32_t synack_retries;		/* TCP_DEF_SYNACK_RETRIES */
    uint32_t delack_us;			/* TCP_DEF_DELACK_US */
    uint64_t idle_us;			/* TCP_DEF_IDLE_US, 0 = never */
    uint64_t time_wait_us;		/* TCP_DEF_TIME_WAIT_US */
    uint64_t fin_wait2_us;		/* TCP_DEF_FIN_WAIT2_US */
    uint32_t persist_min_us;		/* TCP_DEF_PERSIST_MIN_US */
    uint32_t challenge_acks;		/* TCP_DEF_CHALLENGE_ACKS per second */
    unsigned flags;			/* TCP_CFG_* */
    uint8_t secret[16];			/* ISN and SYN-cookie key; same on
					 * every lcore is fine */
    /* Start-up allocator (NULL: aligned_alloc/free), e.g. NUMA-local. */
    void   *(*mem_alloc) (void *mem_ctx, size_t size, size_t align);
    void    (*mem_free) (void *mem_ctx, void *p);
    void   *mem_ctx;
};

/* Per-stack counters: plain fields, single writer (the owning lcore). */
struct tcp_counters {
    uint64_t seg_in;			/* segments handed to tcp_input */
    uint64_t seg_out;			/* segments sent (incl. ACK, RST) */
    uint64_t bytes_in;			/* payload bytes accepted in order */
    uint64_t bytes_out;			/* payload bytes sent (incl. rexmit) */
    uint64_t drop_csum;			/* bad TCP checksum */
    uint64_t drop_header;		/* short, bad offset, bad options, bad
					 * flag combination */
    uint64_t drop_no_listener;		/* SYN/segment to no listener or
					 * foreign address (RST sent if
					 * allowed) */
    uint64_t drop_out_of_window;	/* unacceptable seq (ACK sent) */
    uint64_t drop_paws;			/* RFC 7323 PAWS rejections */
    uint64_t drop_conn_limit;		/* SYN refused: max_conns reached */
    uint64_t drop_memory;		/* tx_alloc failed / OOO queue full */
    uint64_t drop_filter;		/* SYN refused by the sender filter */
    uint64_t drop_bad_ack;		/* ACK for data never sent, bad cookie */
    uint64_t conn_state[TCP_ST_COUNT];	/* gauges: conns in each state;
					 * TIME_WAIT counts records */
    uint64_t accepted;			/* connections reaching ESTABLISHED */
    uint64_t refused;			/* accept callback returned NULL */
    uint64_t closed_fin;		/* orderly closes */
    uint64_t closed_rst;		/* closes by peer RST */
    uint64_t closed_timeout;		/* retransmission give-ups */
    uint64_t closed_idle;		/* idle timeouts */
    uint64_t synrecv_timeout;		/* SYN-RECEIVED given up */
    uint64_t retransmits;		/* segments retransmitted */
    uint64_t rto_timeouts;		/* RTO expiries */
    uint64_t fast_retransmits;		/* 3-dupACK retransmits */
    uint64_t ooo_segs;			/* out-of-order segments queued */
    uint64_t ooo_bytes;			/* out-of-order bytes queued */
    uint64_t dup_segs;			/* segments entirely already received */
    uint64_t dup_bytes;			/* duplicate payload bytes */
    uint64_t challenge_acks;		/* RFC 5961 challenge ACKs sent */
    uint64_t challenge_acks_limited;	/* suppressed by the rate limit */
    uint64_t rst_in_window_ignored;	/* RST outside the window */
    uint64_t syncookies_sent;		/* SYN-ACKs carrying a cookie */
    uint64_t syncookies_ok;		/* cookies validated: conn created */
    uint64_t syncookies_failed;		/* ACKs with a bad cookie */
    uint64_t resets_sent;		/* RST segments sent */
    uint64_t tw_reuse;			/* TIME_WAIT reused by a new SYN */
    uint64_t tw_recycled;		/* oldest TIME_WAIT dropped for room */
    uint64_t zero_window_sent;		/* ACKs advertising window 0 */
    uint64_t window_updates;		/* window updates after zero window */
    uint64_t persist_probes;		/* zero-window probes sent */
    uint64_t delayed_acks;		/* ACKs sent by the delayed-ACK timer */
    uint64_t tx_alloc_fail;		/* tx_alloc returned NULL */
};

struct tcp_stack *tcp_stack_create(const struct tcp_config *cfg,
			             const struct tcp_lower_ops *lower,
				           uint64_t now_us);
void    tcp_stack_destroy(struct tcp_stack *st);
void    tcp_config_defaults(struct tcp_config *cfg);

void    tcp_input(struct tcp_stack *st, uint32_t saddr, uint32_t daddr,
		          const uint8_t *seg, size_t len, unsigned flags,
		          uint64_t now_us);
void    tcp_flush(struct tcp_stack *st);
void    tcp_timers_run(struct tcp_stack *st, uint64_t now_us);

size_t  tcp_send(struct tcp_conn *c, const void *buf, size_t len);
size_t  tcp_send_space(const struct tcp_conn *c);
size_t  tcp_recv(struct tcp_conn *c, void *buf, size_t len);
size_t  tcp_peek(const struct tcp_conn *c, struct tcp_iov iov[2]);
void    tcp_consume(struct tcp_conn *c, size_t n);
void    tcp_shutdown(struct tcp_conn *c);
void    tcp_close(struct tcp_conn *c);
void    tcp_abort(struct tcp_conn *c);
void    tcp_conn_peer(const struct tcp_conn *c, uint32_t *addr, uint16_t *port);
void    tcp_conn_local(const struct tcp_conn *c, uint32_t *addr, uint16_t *port);
void    tcp_conn_set_app(struct tcp_conn *c, void *app_conn);
enum tcp_state tcp_conn_state(const struct tcp_conn *c);

const struct tcp_counters *tcp_stack_counters(const struct tcp_stack *st);
uint32_t tcp_stack_conn_count(const struct tcp_stack *st);

/* Ready-made services (tcp_apps.c) for tests and benchmarks. */
extern const struct tcp_app_ops tcp_app_echo;	/* echoes; FIN -> FIN */
extern const struct tcp_app_ops tcp_app_discard;	/* reads and drops */

#endif
