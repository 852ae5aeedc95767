/*
 * relay_int.h - private to relay.c, relay_conn.c and relay_xforward.c
 */
#ifndef MX_RELAY_INT_H
#define MX_RELAY_INT_H

#include "relay.h"

#define RELAY_CONNS_MAX		256	/* sanity bound on max_conns */
#define RELAY_EVENTS_BATCH	64	/* epoll events per wait */
#define RELAY_OUT_MAX		(64 * 1024)	/* output buffer per conn */
#define RELAY_IN_MAX		4096	/* reply bytes buffered per conn */
#define RELAY_CMD_LINE_MAX	512	/* RFC 5321 4.5.3.1.4 */
#define RELAY_XFORWARD_ATTR_MAX	255	/* XFORWARD value as sent (xtext):
					 * XFORWARD_README note 1 */
#define RELAY_XFORWARD_ATTRS	7	/* ADDR NAME PORT PROTO SOURCE IDENT
					 * HELO: at most one line each */

enum relay_conn_state {
	RC_CLOSED = 0,
	RC_CONNECTING,
	RC_GREETING,	/* waiting for 220 */
	RC_EHLO,	/* waiting for the EHLO reply */
	RC_IDLE,	/* ready for a transaction */
	RC_TXN,		/* commands out, replies coming back */
	RC_BODY,	/* sending the message */
	RC_DOT,		/* waiting for the reply to "." */
	RC_RSET,	/* after a refused transaction */
	RC_QUIT,
};

/* Commands of one transaction, in the order their replies arrive. */
enum relay_cmd { CMD_XFORWARD, CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_BDAT };

struct relay_caps {
	unsigned pipelining:1, size:1, eightbit:1, smtputf8:1, dsn:1, chunking:1;
	unsigned xf_addr:1, xf_name:1, xf_port:1, xf_helo:1, xf_proto:1,
		 xf_source:1, xf_ident:1;
};

struct relay_job {
	struct relay_job *next;
	relay_done_fn done;
	void *ctx;
	char *client_addr, *client_name, *helo, *from, *proto, *mail_params;
	char *source, *ident;		/* "" when not given */
	char **rcpt, **rcpt_params;
	int *rcpt_code;
	size_t nrcpt;
	uint16_t client_port;
	char *prepend;
	size_t prepend_len;
	const struct iovec *body;
	size_t nbody;
	uint64_t submitted_ms;
};

struct relay_pool;

struct relay_conn {
	struct relay_pool *pool;
	int fd;
	uint32_t events;
	enum relay_conn_state state;
	enum relay_stage stage;
	uint64_t deadline;
	struct relay_caps caps;
	struct relay_job *job;
	/* the transaction's commands: cmds[0..ncmds), replies matched in order */
	enum relay_cmd cmds[RELAY_XFORWARD_ATTRS + RELAY_RCPT_MAX + 2];
	size_t ncmds, nsent, nreplied, rcpt_next_send, rcpt_next_reply;
	size_t rcpt_ok;
	int fail_code;			/* MAIL/XFORWARD refusal, 0 if none */
	char fail_text[RELAY_REPLY_MAX];
	int rcpt_fail_code;		/* first recipient refusal */
	char rcpt_fail_text[RELAY_REPLY_MAX];
	int abandon;			/* 354 for a refused transaction */
	int bdat;			/* body as "BDAT n LAST" (RFC 3030) */
	size_t bdat_len;		/* n: the message as sent, CRLF added */
	/* body progress: prepend, then body iovecs, with dot-stuffing */
	size_t body_iov, body_off, prepend_off;
	int at_line_start;
	char last_byte;
	/* reply being read */
	int reply_code;
	unsigned reply_lines;		/* lines of the reply read so far */
	char reply_text[RELAY_REPLY_MAX];
	size_t in_len;
	char in[RELAY_IN_MAX];
	size_t out_len, out_off;
	char out[RELAY_OUT_MAX];
};

struct relay_pool {
	struct relay_config cfg;
	int epfd;
	uint64_t now_ms;
	struct relay_conn *conns;
	struct relay_job *head, *tail;	/* waiting for a connection */
	size_t nqueued, nactive;
};

void relay_conn_io(struct relay_conn *c, uint32_t events);
void relay_conn_close(struct relay_conn *c, const char *why);
void relay_conn_quit(struct relay_conn *c);
void relay_conn_want(struct relay_conn *c);
void relay_txn_start(struct relay_conn *c);
void relay_job_finish(struct relay_conn *c, int code, const char *text,
		      int local);
int relay_body_fill(struct relay_conn *c);
size_t relay_xforward_line(const struct relay_conn *c, size_t want,
			   char *line, size_t size);

#endif
