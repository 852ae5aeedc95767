/*
 * relay.h - hand accepted mail to the downstream MTA (SMTP client)
 *
 *	void relay_config_default(struct relay_config *cfg);
 *	struct relay_pool *relay_pool_new(const struct relay_config *cfg);
 *	int relay_pool_fd(const struct relay_pool *pool);
 *	int relay_pool_submit(struct relay_pool *pool, const struct relay_msg *msg,
 *			relay_done_fn done, void *ctx);
 *	void relay_pool_run(struct relay_pool *pool, uint64_t now_ms);
 *	size_t relay_pool_queued(const struct relay_pool *pool);
 *	void relay_pool_free(struct relay_pool *pool);
 *
 * DESCRIPTION
 *	A relay pool keeps up to cfg->max_conns persistent SMTP client
 *	connections to one downstream (Postfix on 127.0.0.1:10026 by default)
 *	and delivers the messages submitted to it, in submission order per
 *	connection, with PIPELINING and XFORWARD where the downstream offers
 *	them. Nothing blocks: every socket is non-blocking and registered in
 *	the pool's own epoll instance, whose descriptor relay_pool_fd() gives
 *	so that the caller's event loop can wait on it; the caller then calls
 *	relay_pool_run(), which also enforces timeouts (call it at least once
 *	a second).
 *
 *	relay_pool_submit() copies the envelope strings and the prepended
 *	headers; the body iovecs must stay valid until done() is called.
 *	done() is called exactly once per submitted message, from
 *	relay_pool_run() (never from submit), with the downstream's verdict:
 *	its final reply to the end of data when the message was handed on, or
 *	the reply that refused it, or a 451 4.4.x of our own when the
 *	downstream could not be reached or timed out. The relay never claims
 *	success it did not receive from the downstream.
 *
 *	With XFORWARD the downstream learns the original client (ADDR, NAME,
 *	PORT, HELO, PROTO), where the mail came from (SOURCE: LOCAL when the
 *	up-stream MTA said so, else REMOTE) and an IDENT that leads back to a
 *	log line: the up-stream MTA's queue id when it gave one, else ours.
 *	Attributes it did not announce are not sent; values are xtext, at
 *	most RELAY_XFORWARD_ATTR_MAX bytes each as sent, packed into as few
 *	XFORWARD commands of at most RELAY_CMD_LINE_MAX bytes as fit.
 *
 *	The message is sent as received (the body iovecs hold it without
 *	SMTP dot-stuffing: the relay stuffs), preceded by msg->prepend, the
 *	header lines the policy adds.
 *
 * DIAGNOSTICS
 *	relay_pool_new() returns NULL and relay_pool_submit() -1 with errno
 *	set (ENOMEM; EAGAIN when max_queue messages already wait).
 */
#ifndef MX_RELAY_H
#define MX_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "envelope.h"

#define RELAY_HOST_DEFAULT	"127.0.0.1"
#define RELAY_PORT_DEFAULT	10026
#define RELAY_CONNS_DEFAULT	4	/* persistent connections */
#define RELAY_QUEUE_DEFAULT	1024	/* messages waiting for a connection */
#define RELAY_CONNECT_TIMEOUT_MS	(30 * 1000)
#define RELAY_CMD_TIMEOUT_MS	(300 * 1000)	/* RFC 5321 4.5.3.2: 5 min */
#define RELAY_DATA_TIMEOUT_MS	(600 * 1000)	/* ".": 10 min */
#define RELAY_IDLE_TIMEOUT_MS	(60 * 1000)	/* then QUIT */
#define RELAY_REPLY_MAX		512	/* bytes of reply text kept */
#define RELAY_RCPT_MAX		1000	/* recipients per message */

struct relay_config {
	char host[64];			/* numeric IPv4 or IPv6 address */
	uint16_t port;
	char helo[256];			/* our name in EHLO */
	unsigned max_conns;
	unsigned max_queue;
	unsigned connect_timeout_ms;
	unsigned cmd_timeout_ms;
	unsigned data_timeout_ms;
	unsigned idle_timeout_ms;
	int xforward;			/* send XFORWARD when offered */
};

struct relay_msg {
	const struct envelope *env;
	uint16_t client_port;		/* for XFORWARD PORT, 0 = unknown */
	const char *proto;		/* "ESMTP", "SMTP"; XFORWARD PROTO */
	const char *source;		/* XFORWARD SOURCE the up-stream MTA
					 * gave: "LOCAL", "REMOTE"; NULL or
					 * "": REMOTE (a client of our own) */
	const char *ident;		/* XFORWARD IDENT: the up-stream's
					 * queue id; NULL or "": qid */
	const char *qid;		/* our queue id, the IDENT when the
					 * up-stream gave none; NULL or "":
					 * no IDENT */
	const char *mail_params;	/* " BODY=8BITMIME SMTPUTF8 ..." */
	const char *const *rcpt_params;	/* per recipient, NULL or "" */
	const char *prepend;		/* header lines, CRLF-terminated */
	size_t prepend_len;
	const struct iovec *body;	/* the message as received */
	size_t nbody;
};

/* Where a delivery ended. */
enum relay_stage {
	RELAY_STAGE_CONNECT = 0,
	RELAY_STAGE_GREETING,
	RELAY_STAGE_EHLO,
	RELAY_STAGE_XFORWARD,
	RELAY_STAGE_MAIL,
	RELAY_STAGE_RCPT,
	RELAY_STAGE_DATA,
	RELAY_STAGE_DOT,	/* the reply to the end of data */
};

struct relay_result {
	int code;			/* 250, 4xx, 5xx */
	char text[RELAY_REPLY_MAX];	/* "2.0.0 Ok: queued as ABC" */
	enum relay_stage stage;
	int local;			/* 1: our own reply (no downstream
					 * answer, e.g. unreachable) */
	const int *rcpt_code;		/* per recipient RCPT reply code,
					 * 0 when not sent */
	size_t nrcpt;
	uint64_t elapsed_ms;
};

typedef void (*relay_done_fn)(void *ctx, const struct relay_result *res);

struct relay_pool;

void relay_config_default(struct relay_config *cfg);
struct relay_pool *relay_pool_new(const struct relay_config *cfg);
int relay_pool_fd(const struct relay_pool *pool);
int relay_pool_submit(struct relay_pool *pool, const struct relay_msg *msg,
		      relay_done_fn done, void *ctx);
void relay_pool_run(struct relay_pool *pool, uint64_t now_ms);
size_t relay_pool_queued(const struct relay_pool *pool);
void relay_pool_free(struct relay_pool *pool);
const char *relay_stage_name(enum relay_stage stage);

#endif
