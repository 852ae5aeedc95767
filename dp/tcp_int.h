#ifndef MXGATE_TCP_INT_H
#define MXGATE_TCP_INT_H

/*
 * tcp_int.h - private types shared by the tcp_*.c files
 *
 * Not for use outside dp/tcp_*.c and their unit tests. Index space: conns
 * are 0..max_conns-1, TIME_WAIT records max_conns..max_conns+tw_max-1; the
 * hash chains and timer wheel use these indices, so no pointers need
 * fixing up and TIME_WAIT records stay 40 bytes.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "tcp.h"

#define TCP_NIL			UINT32_MAX	/* end of an index list */
#define TCP_REASS_MAX		32	/* hard ceiling on tcp_config.ooo_segs */
#define TCP_SACK_MAX		4	/* blocks per segment (3 with TS) */
#define TCP_HDR_LEN		20
#define TCP_OPT_MAX		40
#define TCP_DUPACK_THRESH	3	/* RFC 5681 fast retransmit */
#define TCP_COOKIE_MAX_AGE	2	/* cookie counter periods (64 s each) */
#define TCP_COOKIE_PERIOD_US	64000000ULL
#define TCP_PERSIST_MAX_US	60000000 /* zero-window probe interval cap */
#define TCP_ISN_CLOCK_SHIFT	2	/* ISN advances once per 4 us (RFC 6528) */
#define TCP_MIN_MSS		536	/* RFC 9293 default / floor */
#define TCP_TS_OPTLEN		12	/* timestamp option, NOP-padded (RFC 7323) */
#define TCP_WHEEL_SLOTS		4096	/* wheel horizon = slots * tick */

/* Header flags */
#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_PSH	0x08
#define TH_ACK	0x10
#define TH_URG	0x20

/* Sequence space comparison with wraparound (RFC 1982 style). */
#define SEQ_LT(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b)	((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)
#define SEQ_MAX(a, b)	(SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b)	(SEQ_LT(a, b) ? (a) : (b))

/* Parsed options of one segment. */
struct tcp_opts {
    uint16_t mss;
    uint8_t wscale;
    uint8_t has_mss:1, has_ws:1, has_ts:1, sack_ok:1;
    uint8_t nsack;			/* SACK blocks in sack[] */
    uint32_t tsval, tsecr;
    uint32_t sack[TCP_SACK_MAX][2];
};

/* Parsed segment header, host byte order. */
struct tcp_seg {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t win;
    uint8_t flags;
    const uint8_t *data;
    uint32_t len;			/* payload bytes */
    uint8_t placed;			/* payload already in the receive ring */
    struct tcp_opts opt;
};

/* Out-of-order ranges beyond rcv_nxt; the bytes live in the receive ring. */
struct tcp_reass {
    uint8_t n;
    uint8_t recent;			/* index of the range touched last */
    uint32_t bytes;
    struct {
	uint32_t start, end;
    }       r[TCP_REASS_MAX];
};

/* Timer wheel node; one per conn and per TIME_WAIT record. */
struct tcp_tnode {
    uint32_t prev, next;
    uint64_t expire_tick;
    uint32_t slot;			/* TCP_NIL when not linked */
};

struct tcp_wheel {
    uint32_t *slots;			/* head index per slot */
    uint32_t mask;
    uint64_t tick_us;
    uint64_t cur_tick;
    struct tcp_tnode *nodes;
};

/* Conn flags */
#define TCF_TS		0x0001	/* timestamps negotiated */
#define TCF_SACK	0x0002	/* SACK-permitted negotiated */
#define TCF_WS		0x0004	/* window scaling negotiated */
#define TCF_ACK_NOW	0x0008	/* an ACK must go out at flush */
#define TCF_PENDING	0x0010	/* on the stack's pending list */
#define TCF_FIN_QUEUED	0x0020	/* app asked for FIN after data */
#define TCF_FIN_SENT	0x0040	/* our FIN has a sequence number */
#define TCF_DETACHED	0x0080	/* app called tcp_close: no callbacks */
#define TCF_DEAD	0x0100	/* freed while in a callback */
#define TCF_WANT_WRITE	0x0200	/* tcp_send came back short */
#define TCF_RECOVERY	0x0400	/* NewReno fast recovery */
#define TCF_RTT_TIMING	0x0800	/* timing one segment (no TS) */
#define TCF_ZERO_WIN	0x1000	/* we advertised a small/zero window */
#define TCF_FIN_RCVD	0x2000	/* peer FIN processed (in order) */
#define TCF_OOO_FIN	0x4000	/* peer FIN seen beyond a hole */
#define TCF_EOF_TOLD	0x8000	/* app saw eof */

struct tcp_conn {
    /* lookup */
    uint32_t hnext;
    uint32_t raddr, laddr;
    uint16_t rport, lport;
    uint8_t state;
    uint8_t snd_ws, rcv_ws;
    uint8_t dupacks;
    uint32_t flags;
    uint16_t mss;			/* what we send */
    uint16_t rcv_mss;			/* what we expect (for delayed ACK) */
    struct tcp_stack *st;
    /* receive side */
    uint32_t irs, rcv_nxt, rcv_read, rcv_adv;
    uint32_t rcv_unacked;		/* in-order bytes since our last ACK */
    uint32_t ooo_fin_seq;
    uint32_t ts_recent, ts_off;
    uint8_t *rbuf;
    /* send side */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_end;
    uint32_t snd_wnd, max_snd_wnd, snd_wl1, snd_wl2;
    uint32_t cwnd, ssthresh, recover, bytes_acked;
    uint32_t rexmit_nxt;		/* SACK recovery: next hole to resend */
    uint8_t *sbuf;
    /* RTT / timers */
    uint32_t srtt_us, rttvar_us, rto_us;
    uint32_t rtt_seq;
    uint8_t retries, persist_shift;
    uint64_t rtt_start_us;
    uint64_t t_rto, t_delack, t_persist, t_close;
    uint64_t last_rx_us;
    uint32_t pnext;			/* pending list */
    /* above */
    const struct tcp_app_ops *app;
    void   *app_conn;
    uint32_t in_cb;
    struct tcp_reass reass;		/* what we received out of order */
    struct tcp_reass sacked;		/* what the peer SACKed of ours */
};

/* TIME_WAIT record: everything needed to ACK a retransmitted FIN. */
struct tcp_tw {
    uint32_t hnext;
    uint32_t raddr, laddr;
    uint16_t rport, lport;
    uint32_t snd_nxt, rcv_nxt;
    uint32_t ts_recent, ts_off;
    uint64_t expire_us;
    uint8_t live, ts_ok, rcv_ws;
};

struct tcp_stack {
    struct tcp_config cfg;
    struct tcp_lower_ops lower;
    uint64_t now_us;
    struct tcp_conn *conns;
    uint32_t *free_conns;
    uint32_t n_free;
    uint32_t n_synrecv;
    uint32_t *buckets;
    uint32_t bucket_mask;
    struct tcp_tw *tw;
    uint32_t tw_head, tw_tail;		/* FIFO: expiry order = creation order */
    struct tcp_wheel wheel;
    uint32_t pending;			/* head of conns needing output */
    uint64_t hash_key;			/* from cfg.secret, aligned */
    uint64_t chack_epoch;		/* challenge ACK rate-limit second */
    uint32_t chack_count;
    struct tcp_counters ctr;
    uint8_t *mem_bufs;
} __attribute__((aligned(64)));

/* tcp_conn.c */
struct tcp_conn *tcp_conn_lookup(struct tcp_stack *, uint32_t saddr,
				         uint16_t sport, uint32_t daddr,
				         uint16_t dport, struct tcp_tw **twp);
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *, const struct tcp_seg *);
void    tcp_conn_free(struct tcp_conn *);
void    tcp_conn_set_state(struct tcp_conn *, int state);
void    tcp_conn_pending(struct tcp_conn *);
int     tcp_conn_notify_closed(struct tcp_conn *, enum tcp_close_reason);
int     tcp_conn_notify_data(struct tcp_conn *);
int     tcp_conn_notify_writable(struct tcp_conn *);
void    tcp_conn_to_time_wait(struct tcp_conn *);
struct tcp_tw *tcp_tw_lookup(struct tcp_stack *, uint32_t, uint16_t,
			             uint32_t, uint16_t);
void    tcp_tw_kill(struct tcp_stack *, struct tcp_tw *);
void    tcp_tw_expire(struct tcp_stack *);
uint32_t tcp_rcv_space(const struct tcp_conn *);
uint32_t tcp_readable(const struct tcp_conn *);
const struct tcp_listener *tcp_listener_find(const struct tcp_stack *,
					             uint16_t port);

/* tcp_syncookie.c */
uint64_t tcp_siphash(const uint8_t key[16], const uint32_t *w, unsigned nw);
uint32_t tcp_isn(const struct tcp_stack *, uint32_t saddr, uint16_t sport,
		         uint32_t daddr, uint16_t dport, uint64_t now_us);
uint32_t tcp_ts_offset(const struct tcp_stack *, uint32_t saddr,
		               uint16_t sport, uint32_t daddr, uint16_t dport);
uint32_t tcp_cookie_make(const uint8_t key[16], uint32_t saddr,
			         uint16_t sport, uint32_t daddr, uint16_t dport,
			         uint32_t client_isn, uint64_t now_us,
			         uint16_t mss, uint16_t *mss_out);
int     tcp_cookie_check(const uint8_t key[16], uint32_t saddr,
			         uint16_t sport, uint32_t daddr, uint16_t dport,
			         uint32_t client_isn, uint32_t cookie,
			         uint64_t now_us, uint16_t *mss_out);
uint32_t tcp_cookie_ts_encode(uint32_t ts_now, int wscale, int sack_ok);
void    tcp_cookie_ts_decode(uint32_t tsecr, int *wscale, int *sack_ok);

/* tcp_reass.c */
void    tcp_reass_init(struct tcp_reass *);
void    tcp_reass_trim(struct tcp_reass *, uint32_t below);
int     tcp_reass_add(struct tcp_reass *, uint32_t start, uint32_t end,
		              unsigned max_ranges);
uint32_t tcp_reass_pull(struct tcp_reass *, uint32_t rcv_nxt);
unsigned tcp_reass_sack(const struct tcp_reass *, uint32_t blocks[][2],
			        unsigned max);

/* tcp_timer.c */
void    tcp_wheel_init(struct tcp_wheel *, uint32_t *slots, uint32_t nslots,
		               struct tcp_tnode *nodes, uint32_t nnodes,
		               uint64_t tick_us, uint64_t now_us);
void    tcp_wheel_add(struct tcp_wheel *, uint32_t idx, uint64_t expire_us);
void    tcp_wheel_del(struct tcp_wheel *, uint32_t idx);
typedef void (*tcp_wheel_fn) (void *arg, uint32_t idx, uint64_t now_us);
void    tcp_wheel_run(struct tcp_wheel *, uint64_t now_us, tcp_wheel_fn,
		              void *arg);
void    tcp_timer_arm(struct tcp_conn *, uint64_t *field, uint64_t at_us);
void    tcp_timer_rearm(struct tcp_conn *);

/* tcp_out.c */
void    tcp_output(struct tcp_conn *);
void    tcp_send_ack(struct tcp_conn *);
void    tcp_send_challenge_ack(struct tcp_conn *);
void    tcp_send_synack(struct tcp_conn *);
void    tcp_send_cookie_synack(struct tcp_stack *, const struct tcp_seg *,
			               uint32_t cookie, uint16_t mss);
void    tcp_send_rst_for(struct tcp_stack *, const struct tcp_seg *);
void    tcp_send_rst(struct tcp_conn *);
void    tcp_send_tw_ack(struct tcp_stack *, const struct tcp_tw *);
void    tcp_retransmit(struct tcp_conn *);
int     tcp_send_data(struct tcp_conn *, uint32_t seq, uint32_t n, int fin);
void    tcp_send_probe(struct tcp_conn *);
uint32_t tcp_ts_now(const struct tcp_stack *, uint32_t ts_off);

/* tcp_recovery.c */
void    tcp_recovery_ack(struct tcp_conn *, uint32_t acked);
void    tcp_recovery_dupack(struct tcp_conn *);
void    tcp_sack_update(struct tcp_conn *, const struct tcp_seg *);
uint32_t tcp_sack_skip(const struct tcp_conn *, uint32_t seq, uint32_t *limit);

/* tcp_cksum.c */
uint16_t tcp_cksum(uint32_t saddr, uint32_t daddr, const uint8_t *seg,
		           size_t len);
uint16_t tcp_cksum_copy(uint32_t saddr, uint32_t daddr, const uint8_t *seg,
			        size_t len, size_t doff, uint8_t *ring,
			        uint32_t mask, uint32_t pos);
uint16_t tcp_cksum_pseudo(uint32_t saddr, uint32_t daddr, size_t len);

/* tcp_in.c */
int     tcp_parse(struct tcp_seg *, const uint8_t *seg, size_t len);

#endif
