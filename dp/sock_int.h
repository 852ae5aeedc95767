/*
 * sock_int.h - private to dp/sock_*.c
 */
#ifndef MX_SOCK_INT_H
#define MX_SOCK_INT_H

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "engine.h"
#include "sfilter.h"
#include "sock.h"

struct sock_worker;

/* The content of one message, as received, in fixed-size chunks. */
struct sock_msgbuf {
	struct iovec *iov;	/* one per chunk; the last may be partial */
	size_t niov, cap;
	uint64_t size;
};

struct sock_conn {
	struct sock_worker *w;
	int fd;			/* -1 once the socket is closed */
	uint32_t events;	/* epoll interest */
	bool in_use;
	bool delivering;	/* delivery owns dm until its done() */
	bool msg_failed;	/* engine or memory failure: 451 at end */
	bool pumping;		/* inside sock_conn_pump() */
	bool tls_engaged;	/* 220 sent: the socket carries TLS */
	bool tls_done;		/* handshake finished */
	bool tls_shut;		/* close_notify queued */
	struct tls_conn *tls;	/* reserved at STARTTLS (tls_sock.c) */
	struct smtp_session sess;
	char addr[INET6_ADDRSTRLEN];
	uint16_t port;
	struct sfilter_conn sf;	/* sender filter (dp/sfilter.h) */
	/* client bytes read but not yet taken by the session */
	size_t in_off, in_len;
	uint8_t in[SOCK_IN_MAX];
	/* the message in progress */
	struct engine_msg *em;
	struct sock_msgbuf buf;
	struct verdict verdict;
	struct delivery_msg dm;
	struct envelope env;	/* copy of the txn's, for delivery */
	char mail_params[160];
	const char *rcpt_params[SMTP_RCPT_CAP];
	char rcpt_param_buf[SMTP_RCPT_CAP][SMTP_ORCPT_MAX + 40];
	uint64_t first_byte_ms, begin_ms;
};

struct sock_worker {
	unsigned id;
	const struct sock_config *cfg;
	int epfd, lfd;
	struct engine_worker *engine;
	struct delivery *delivery;
	struct sfilter_reader *sf;	/* NULL: no sender filter */
	struct tls_worker *tls;	/* NULL: no STARTTLS */
	struct sock_conn *conns;
	unsigned nconns;	/* in use */
	uint64_t mem_used;	/* message bytes held */
	uint64_t seq;		/* queue id sequence */
	uint64_t now_ms;
	volatile int *stop;
	int rc;
};

extern const struct smtp_ops sock_smtp_ops;

uint64_t sock_now_ms(void);
void sock_send_last(struct sock_worker *w, int fd, const char *text, size_t len);
void sock_conn_pump(struct sock_conn *c);
void sock_msg_release(struct sock_conn *c);

/* tls_sock.c */
extern volatile sig_atomic_t sock_tls_reload_requested;
int sock_tls_start(void *ctx);
void sock_tls_policy(struct sock_conn *c);
bool sock_tls_engage(struct sock_conn *c);
int sock_tls_pump(struct sock_conn *c);
void sock_tls_release(struct sock_conn *c);
bool sock_tls_bye(struct sock_conn *c, const char *first, const char *last);
int sock_tls_worker_init(struct sock_worker *w);
void sock_tls_worker_tick(struct sock_worker *w);
void sock_tls_worker_fini(struct sock_worker *w);

#endif
