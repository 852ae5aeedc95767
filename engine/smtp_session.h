/*
 * smtp_session.h - transport-agnostic ESMTP server session
 *
 *	void smtp_config_defaults(struct smtp_config *cfg);
 *	int smtp_session_init(struct smtp_session *s,
 *			const struct smtp_config *cfg, const struct smtp_ops *ops,
 *			void *ctx, const char *client_addr, uint16_t port,
 *			uint64_t now_ms);
 *	int smtp_session_refuse(struct smtp_session *s, const char *text);
 *	size_t smtp_session_input(struct smtp_session *s, const uint8_t *buf,
 *			size_t len, uint64_t now_ms);
 *	size_t smtp_session_output(const struct smtp_session *s,
 *			const uint8_t **ptr);
 *	void smtp_session_output_done(struct smtp_session *s, size_t n);
 *	void smtp_session_tick(struct smtp_session *s, uint64_t now_ms);
 *	uint64_t smtp_session_deadline(const struct smtp_session *s);
 *	int smtp_session_message_result(struct smtp_session *s, int code,
 *			const char *enhanced, const char *text, uint64_t now_ms);
 *	bool smtp_session_closing(const struct smtp_session *s);
 *	bool smtp_session_readable(const struct smtp_session *s);
 *	void smtp_session_fini(struct smtp_session *s);
 *	const char *smtp_state_name(enum smtp_state st);
 *
 *	void smtp_session_tls_policy(struct smtp_session *s, bool offer,
 *			bool require);
 *	bool smtp_session_tls_wanted(const struct smtp_session *s);
 *	void smtp_session_tls_done(struct smtp_session *s, const char *version,
 *			const char *cipher, uint64_t now_ms);
 *
 *	void smtp_session_xforward_policy(struct smtp_session *s, bool allow);
 *
 * DESCRIPTION
 *	One struct smtp_session per client connection: bytes in, replies and
 *	events out. No sockets, no threads, no blocking, no allocation: the
 *	caller owns the struct (stack, mempool, array per lcore), time is
 *	passed in, and every buffer is a fixed array inside the struct, so a
 *	connection costs exactly sizeof(struct smtp_session) whatever the
 *	client does. The fields are private to engine/smtp_*.c.
 *
 *	smtp_session_init() checks cfg against the compiled capacities and
 *	queues the 220 greeting. The config, ops and client_addr must outlive
 *	the session.
 *
 *	smtp_session_refuse(), called before the first input, replaces the
 *	greeting with "554 5.7.1 text" (the sender filter's verdict at
 *	connect time); the session then answers every command but QUIT with
 *	503 5.7.1 (RFC 5321 3.1) until the error limit closes it.
 *
 *	smtp_session_input() consumes client bytes and returns how many it
 *	took. It takes fewer than len when it cannot go on: the output
 *	buffer lacks room for one more reply (the client pipelines but does
 *	not read), a message waits for its result, or the session is closing.
 *	The transport keeps the rest and offers it again after draining
 *	output or after smtp_session_message_result(); that is how TCP
 *	backpressure reaches a client (smtp_session_readable() says whether
 *	reading more from the socket makes sense).
 *
 *	smtp_session_output() returns the pending reply bytes; the transport
 *	sends what it can and reports it with smtp_session_output_done().
 *	When smtp_session_closing() is true the transport drains the output
 *	and closes. Whichever way the connection ends (QUIT, timeout, error
 *	limit, peer reset), the transport calls smtp_session_fini() exactly
 *	once: a message in progress is aborted (ops->msg_abort, never
 *	msg_end) and ops->session_end is called.
 *
 *	Events to the layer above, all through ops with the ctx given at init:
 *
 *	mail_check, rcpt_check (optional, NULL accepts): sender filter and
 *	recipient validation. Return 0 to accept, or fill the reply (4xx/5xx)
 *	and return -1.
 *
 *	msg_begin: DATA or the first BDAT of a transaction, envelope ready.
 *	Return -1 when the message cannot be taken (no buffer memory): the
 *	client gets 451 4.3.0; after DATA the transaction stays open, a BDAT
 *	chunk is read and dropped and the transaction ends.
 *
 *	msg_data: the message as received, CRLF line ends, dot-unstuffed,
 *	in chunks as they arrive (never the whole message at once). Return -1
 *	on failure: the session calls msg_abort at once, swallows the rest
 *	of the data and answers 451 4.3.0 at its end.
 *
 *	msg_end: the data ended cleanly. The upper layer scans and relays,
 *	then calls smtp_session_message_result() with the final reply (from
 *	inside msg_end or any time later). Until then the session reads no
 *	further command, so pipelined commands after the end of data wait.
 *
 *	msg_abort: the message in progress is dropped (bad data, size,
 *	RSET/EHLO/QUIT between BDAT chunks, timeout, disconnect). After
 *	msg_end this means "the client is gone or gave up": the relay may
 *	still have delivered, so the client may send it again (a duplicate,
 *	never a loss: RFC 5321 section 6.1).
 *
 *	session_end: called once from smtp_session_fini().
 *
 * STARTTLS (RFC 3207)
 *	The transport calls smtp_session_tls_policy() after init: offer
 *	advertises STARTTLS in EHLO (and needs ops->tls_start), require
 *	refuses MAIL with 530 5.7.0 until TLS is active (the "require TLS
 *	from these networks" option). STARTTLS with an argument gets
 *	501 5.5.4; inside a transaction or once TLS is active 503 5.5.1; when
 *	not offered, or when ops->tls_start returns -1 (no TLS object free),
 *	454 4.7.0. Otherwise the session queues "220 2.0.0 Ready to start
 *	TLS" and enters SMTP_S_TLS: from then on every input byte is taken
 *	and discarded (counted in tls_discarded), never run as a command -
 *	anything the client sent before seeing our 220 is plaintext
 *	injection (CVE-2011-0411). smtp_session_tls_wanted() then tells the
 *	transport to send the 220 in plaintext and start the TLS handshake
 *	with the bytes that arrive after it. The handshake must finish
 *	within timeout_tls_ms (cfg); on expiry the session closes without a
 *	reply (the peer would not understand plaintext any more).
 *	smtp_session_tls_done() ends the handshake: the SMTP state restarts
 *	as after the greeting (a new EHLO is required, STARTTLS is no longer
 *	advertised, a second STARTTLS gets 503), and every transaction
 *	carries the negotiated version and cipher (struct smtp_txn).
 *
 * XFORWARD (Postfix XFORWARD_README)
 *	Off by default: accepting it lets the client name any address as the
 *	client, so the transport turns it on with
 *	smtp_session_xforward_policy() only for trusted peers (the front
 *	Postfix of the content-filter topology). Then EHLO advertises
 *	"XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE" and
 *	"XFORWARD attr=value ..." (names case-insensitive, values xtext,
 *	[UNAVAILABLE] or [TEMPUNAVAIL] for unknown, ADDR an IPv4 address or
 *	"IPv6:" and an IPv6 address) is taken outside a transaction:
 *	250 2.0.0. Inside one 503 5.5.1; without arguments, with an unknown
 *	attribute, bad xtext or a bad value 501 5.5.4 and nothing changes;
 *	when not allowed 550 5.7.0. From the first XFORWARD on, the
 *	transaction's client address, name, port, HELO, protocol, ident and
 *	source are the forwarded ones (unknown, "" or 0, where not given),
 *	for the upper layer's checks, scan, log and relay. As in Postfix's
 *	smtpd they last until the end of the mail transaction: the message
 *	result, RSET, HELO/EHLO and STARTTLS forget them; a refused MAIL
 *	does not (the transaction never started). smtp_xforward.c.
 *
 * PROTOCOL
 *	RFC 5321 commands HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY (252)
 *	HELP, EXPN (502); ESMTP PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES,
 *	CHUNKING (BDAT), SMTPUTF8, DSN. Enhanced codes are on every reply
 *	except the greeting, the HELO/EHLO 250 and the 354 (RFC 2034 section
 *	3). Command lines may end in CRLF or bare LF (commands never reach
 *	the downstream, we regenerate them); message content may not.
 *
 *	Command line limit: cmd_line_max (512, RFC 5321 4.5.3.1.4), plus
 *	cmd_line_ext for MAIL and RCPT after EHLO (the SIZE, BODY, SMTPUTF8
 *	and DSN parameters lengthen them: RFC 1870, 3461, 6531). A longer
 *	line gets 500 5.5.2 and is discarded, never executed.
 *
 * MESSAGE CONTENT
 *	End of data is CRLF "." CRLF and nothing else. Every other spelling
 *	(LF.LF, LF.CRLF, CR.CR, CRLF.CR, CRLF.LF, LF.CR, CR.LF, ...) is
 *	content. A bare CR or bare LF makes the message refused after its
 *	real end with 550 5.6.0 (bare_eol = SMTP_BARE_EOL_REJECT, default),
 *	the connection survives; so does a NUL (550 5.6.0, reject_nul). With
 *	SMTP_BARE_EOL_NORMALISE a bare CR or LF is passed up as CRLF, but a
 *	line after a bare line end is never a dot line: "\n.\n" becomes
 *	content "\r\n.\r\n", which the relay dot-stuffs again. Either way no
 *	downstream sees a boundary we did not see. BDAT content gets the same
 *	checks without dot-unstuffing (we do not offer BINARYMIME).
 *
 *	A content line over text_line_max octets (1000 with CRLF, RFC 5321
 *	4.5.3.1.6) makes the message refused with 550 5.5.2 at its end:
 *	refusing the message, not the command, keeps client and server in
 *	step, and a permanent code stops a retry loop.
 *
 *	Size: MAIL SIZE= above msg_size_max gets 552 5.3.4; data beyond it is
 *	swallowed and the message refused with 552 5.3.4 at its end.
 *	Recipients beyond rcpt_max (or beyond the envelope storage) get
 *	452 4.5.3.
 *
 *	BDAT: the chunk is always read when its size parses, even when the
 *	command is refused, so that its bytes never run as commands. A failed
 *	chunk ends the transaction; BDAT chunks after it get 503 (RFC 3030
 *	section 2). DATA after BDAT is refused with 503 and the transaction
 *	reset.
 *
 * TIMEOUTS
 *	Every timeout is a deadline, not only an idle timer, so that a client
 *	dripping one byte a second cannot hold a session: a command line must
 *	be complete within timeout_cmd_ms (RFC 5321 4.5.3.2.7 server timeout,
 *	5 min; also covers the initial, MAIL and RCPT waits) of the previous
 *	reply. Message content (DATA after the 354, each BDAT chunk) must
 *	see a byte at least every timeout_data_block_ms (3 min, 4.5.3.2.5)
 *	and finish within timeout_data_ms (10 min, 4.5.3.2.6) plus one second
 *	per min_data_rate octets received (Postfix's smtpd_min_data_rate
 *	idea: big messages on slow links pass, drip-feeders do not). A result
 *	that does not come within timeout_result_ms (10 min: the client stops
 *	waiting after its DATA termination timeout) gives 451 4.4.7 and
 *	msg_abort. On any other expiry the client gets 421 4.4.2 and the
 *	session closes. smtp_session_deadline() gives the next expiry for a
 *	timer wheel; smtp_session_tick() and smtp_session_input() act on it.
 *
 *	Sessions end with 421 4.7.0 after errors_max 5xx replies to commands,
 *	or after junk_max NOOP/RSET/VRFY/EXPN/HELP commands without a message
 *	accepted in between (the count restarts at each 2xx message result,
 *	as Postfix's smtpd_junk_command_limit does).
 *
 * DIAGNOSTICS
 *	smtp_session_init() returns -1 with errno EINVAL when cfg exceeds the
 *	compiled capacities (SMTP_*_CAP); smtp_session_refuse() when the
 *	session has already read input or sent more than its greeting. smtp_session_message_result()
 *	returns -1 with errno EINVAL when no message waits for a result (it
 *	was aborted meanwhile: the caller just drops the result).
 */
#ifndef MX_SMTP_SESSION_H
#define MX_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/* Compiled capacities: the configuration may lower them, not raise. */
#define SMTP_CMD_LINE_CAP	1280	/* command line with CRLF */
#define SMTP_RCPT_CAP		128	/* recipients per message */
#define SMTP_ENVELOPE_CAP	8192	/* bytes for rcpt addresses + ORCPT */
#define SMTP_OUT_CAP		4096	/* pending reply bytes */
#define SMTP_REPLY_MAX		512	/* one reply, multi-line included */
#define SMTP_HELO_MAX		255	/* HELO/EHLO argument */
#define SMTP_PATH_MAX		256	/* <path> incl. brackets, 4.5.3.1.3 */
#define SMTP_ENVID_MAX		100	/* DSN ENVID, RFC 3461 4.4 */
#define SMTP_ORCPT_MAX		500	/* DSN ORCPT, RFC 3461 4.2 */
#define SMTP_REPLY_TEXT_MAX	256	/* upper-layer reply text */
#define SMTP_TLS_NAME_MAX	64	/* TLS version or cipher name */
#define SMTP_XF_VALUE_MAX	255	/* XFORWARD value, as sent and decoded
					 * (XFORWARD_README) */
#define SMTP_XF_PROTO_MAX	64	/* XFORWARD PROTO (Postfix smtpd) */
#define SMTP_XF_ADDR_MAX	46	/* bare address, INET6_ADDRSTRLEN */

/* RFC and house defaults, used by smtp_config_defaults(). */
#define SMTP_DEF_CMD_LINE_MAX	512		/* RFC 5321 4.5.3.1.4 */
#define SMTP_DEF_CMD_LINE_EXT	(SMTP_CMD_LINE_CAP - 512)
#define SMTP_DEF_TEXT_LINE_MAX	1000		/* RFC 5321 4.5.3.1.6 */
#define SMTP_DEF_RCPT_MAX	100		/* RFC 5321 4.5.3.1.8 */
#define SMTP_DEF_MSG_SIZE_MAX	(50u * 1024 * 1024)
#define SMTP_DEF_ERRORS_MAX	20		/* Postfix hard_error_limit */
#define SMTP_DEF_JUNK_MAX	100		/* Postfix junk_command_limit */
#define SMTP_DEF_TIMEOUT_CMD	(5 * 60 * 1000)	/* 4.5.3.2.7 */
#define SMTP_DEF_TIMEOUT_BLOCK	(3 * 60 * 1000)	/* 4.5.3.2.5 */
#define SMTP_DEF_TIMEOUT_DATA	(10 * 60 * 1000) /* 4.5.3.2.6 */
#define SMTP_DEF_TIMEOUT_RESULT	(10 * 60 * 1000) /* 4.5.3.2.6 */
#define SMTP_DEF_MIN_DATA_RATE	500		/* octets/s, Postfix */
#define SMTP_DEF_TIMEOUT_TLS	(60 * 1000)	/* STARTTLS handshake */

enum smtp_bare_eol {
	SMTP_BARE_EOL_REJECT = 0,	/* message refused, 550 5.6.0 */
	SMTP_BARE_EOL_NORMALISE,	/* passed up as CRLF */
};

struct smtp_config {
	const char *hostname;		/* in greeting and EHLO */
	size_t cmd_line_max;
	size_t cmd_line_ext;		/* extra for MAIL/RCPT after EHLO */
	size_t text_line_max;
	size_t rcpt_max;
	uint64_t msg_size_max;
	unsigned errors_max;
	unsigned junk_max;
	uint64_t timeout_cmd_ms;
	uint64_t timeout_data_block_ms;
	uint64_t timeout_data_ms;
	uint64_t timeout_result_ms;
	uint64_t min_data_rate;		/* octets/s, 0 = no credit */
	uint64_t timeout_tls_ms;	/* STARTTLS 220 to handshake done */
	enum smtp_bare_eol bare_eol;
	bool reject_nul;
};

/* Where a session is; SMTP_S_DATA and SMTP_S_BDAT read message bytes. */
enum smtp_state {
	SMTP_S_INIT = 0,	/* greeted, no HELO/EHLO yet */
	SMTP_S_HELO,		/* no transaction */
	SMTP_S_MAIL,		/* MAIL accepted, no recipient yet */
	SMTP_S_RCPT,		/* at least one recipient */
	SMTP_S_DATA,		/* reading DATA content */
	SMTP_S_BDAT,		/* reading a BDAT chunk */
	SMTP_S_WAIT,		/* message ended, waiting for its result */
	SMTP_S_TLS,		/* STARTTLS 220 queued, handshake to come */
	SMTP_S_CLOSING,		/* last reply queued */
	SMTP_S_CLOSED,		/* smtp_session_fini() done */
	SMTP_S_COUNT
};

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };
enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

/* DSN NOTIFY bits; none set means the parameter was absent. */
#define SMTP_NOTIFY_NEVER	0x01
#define SMTP_NOTIFY_SUCCESS	0x02
#define SMTP_NOTIFY_FAILURE	0x04
#define SMTP_NOTIFY_DELAY	0x08

struct smtp_rcpt {
	const char *addr;	/* without <>, as received */
	const char *orcpt;	/* "rfc822;xtext" as received, "" if none */
	unsigned notify;	/* SMTP_NOTIFY_* */
};

/* One transaction as the layer above sees it; valid until its result. */
struct smtp_txn {
	struct envelope env;	/* client_addr, helo, mail_from, rcpt */
	const struct smtp_rcpt *rcpts;	/* env.nrcpt entries, DSN params */
	uint16_t client_port;
	bool esmtp;		/* EHLO rather than HELO */
	bool smtputf8;		/* MAIL ... SMTPUTF8 */
	bool bdat;		/* content came by BDAT */
	enum smtp_body body;	/* MAIL BODY= */
	enum smtp_ret ret;	/* MAIL RET= */
	const char *envid;	/* MAIL ENVID= xtext, "" if none */
	uint64_t size_declared;	/* MAIL SIZE=, 0 if none */
	uint64_t size;		/* content octets passed up so far */
	const char *tls_version;	/* "TLSv1.3", "" without TLS */
	const char *tls_cipher;		/* "TLS_AES_256_GCM_SHA384", "" */
	bool xforward;		/* client attributes came by XFORWARD */
	const char *proto;	/* XFORWARD PROTO, "" if none */
	const char *ident;	/* XFORWARD IDENT (up-stream queue id), "" */
	const char *source;	/* XFORWARD SOURCE: "LOCAL", "REMOTE", "" */
};

/* Client attributes given by XFORWARD; "" or 0 when unknown. */
struct smtp_xforward {
	bool seen;		/* an XFORWARD since the last reset */
	uint16_t port;
	char addr[SMTP_XF_ADDR_MAX];
	char name[SMTP_XF_VALUE_MAX + 1];
	char helo[SMTP_XF_VALUE_MAX + 1];
	char proto[SMTP_XF_PROTO_MAX + 1];
	char ident[SMTP_XF_VALUE_MAX + 1];
	char source[8];
};

struct smtp_reply {
	int code;			/* 4xx or 5xx */
	char enhanced[16];		/* "5.1.1" */
	char text[SMTP_REPLY_TEXT_MAX];	/* one line, no CR/LF */
};

enum smtp_end {
	SMTP_END_QUIT = 0,	/* client said QUIT */
	SMTP_END_TIMEOUT,
	SMTP_END_ERRORS,	/* errors_max or junk_max reached */
	SMTP_END_DISCONNECT,	/* connection gone without QUIT */
};

struct smtp_ops {
	int (*mail_check)(void *ctx, const struct smtp_txn *t,
			  struct smtp_reply *r);
	int (*rcpt_check)(void *ctx, const struct smtp_txn *t,
			  const struct smtp_rcpt *rcpt, struct smtp_reply *r);
	int (*msg_begin)(void *ctx, const struct smtp_txn *t);
	int (*msg_data)(void *ctx, const uint8_t *buf, size_t len);
	void (*msg_end)(void *ctx, const struct smtp_txn *t);
	void (*msg_abort)(void *ctx);
	void (*session_end)(void *ctx, enum smtp_end why);
	int (*tls_start)(void *ctx);	/* STARTTLS accepted: reserve TLS
					 * state; -1 gives 454 4.7.0 */
};

/* Why a message fails while its content streams in (answered at end). */
enum smtp_fail {
	SMTP_FAIL_NONE = 0,
	SMTP_FAIL_SIZE,
	SMTP_FAIL_BARE_EOL,
	SMTP_FAIL_NUL,
	SMTP_FAIL_LINE,
	SMTP_FAIL_UPPER,
	SMTP_FAIL_SEQUENCE,	/* BDAT read only to be discarded */
};

/* Private: the fields belong to engine/smtp_*.c. */
struct smtp_session {
	const struct smtp_config *cfg;
	const struct smtp_ops *ops;
	void *ctx;
	enum smtp_state state;
	enum smtp_end end_why;
	bool ended;		/* session_end called */
	bool msg_open;		/* msg_begin done, no end/abort yet */
	bool overflow;		/* discarding the rest of a long line */
	bool esmtp;		/* EHLO was used */
	bool refused;		/* 554 greeting: only QUIT is accepted */
	bool tls_offer;		/* STARTTLS advertised and accepted */
	bool tls_require;	/* MAIL needs TLS first (530 5.7.0) */
	bool tls_active;	/* handshake done */
	bool xf_allow;		/* XFORWARD advertised and accepted */
	uint64_t tls_discarded;	/* plaintext octets after STARTTLS */
	char tls_version[SMTP_TLS_NAME_MAX];
	char tls_cipher[SMTP_TLS_NAME_MAX];
	uint16_t client_port;
	const char *env_client;

	/* timers */
	uint64_t deadline_ms;	/* total deadline of the current phase */
	uint64_t idle_ms;	/* content: last byte + block timeout */
	uint64_t data_start_ms;
	uint64_t data_raw;	/* content octets read in this phase */

	/* counters */
	unsigned errors;
	unsigned junk;

	/* command line being read */
	size_t line_len;
	char line[SMTP_CMD_LINE_CAP + 1];

	/* content: DATA/BDAT stream state (smtp_data.c) */
	int dstate;
	size_t text_line;	/* octets of the current content line */
	enum smtp_fail fail;
	uint64_t bdat_left;	/* octets left in this BDAT chunk */
	bool bdat_last;
	enum smtp_state bdat_resume;	/* state after a discarded chunk */
	int bdat_refusal;	/* SMTP_SEQ_* reply for a discarded chunk */
	size_t rcpt_refused;	/* RCPTs refused in this transaction */

	/* transaction */
	struct smtp_txn txn;
	char helo[SMTP_HELO_MAX + 1];
	char mail_from[SMTP_PATH_MAX + 1];
	char envid[SMTP_ENVID_MAX + 1];
	struct smtp_xforward xf;
	const char *rcpt_ptr[SMTP_RCPT_CAP];
	struct smtp_rcpt rcpt[SMTP_RCPT_CAP];
	size_t env_used;
	char env_buf[SMTP_ENVELOPE_CAP];

	/* replies waiting for the transport */
	size_t out_head;
	size_t out_tail;
	uint8_t out[SMTP_OUT_CAP];
};

void smtp_config_defaults(struct smtp_config *cfg);
int smtp_session_init(struct smtp_session *s, const struct smtp_config *cfg,
		      const struct smtp_ops *ops, void *ctx,
		      const char *client_addr, uint16_t port, uint64_t now_ms);
int smtp_session_refuse(struct smtp_session *s, const char *text);
size_t smtp_session_input(struct smtp_session *s, const uint8_t *buf,
			  size_t len, uint64_t now_ms);
size_t smtp_session_output(const struct smtp_session *s, const uint8_t **ptr);
void smtp_session_output_done(struct smtp_session *s, size_t n);
void smtp_session_tick(struct smtp_session *s, uint64_t now_ms);
uint64_t smtp_session_deadline(const struct smtp_session *s);
int smtp_session_message_result(struct smtp_session *s, int code,
				const char *enhanced, const char *text,
				uint64_t now_ms);
bool smtp_session_closing(const struct smtp_session *s);
bool smtp_session_readable(const struct smtp_session *s);
void smtp_session_fini(struct smtp_session *s);
const char *smtp_state_name(enum smtp_state st);
void smtp_session_tls_policy(struct smtp_session *s, bool offer, bool require);
bool smtp_session_tls_wanted(const struct smtp_session *s);
void smtp_session_tls_done(struct smtp_session *s, const char *version,
			   const char *cipher, uint64_t now_ms);
void smtp_session_xforward_policy(struct smtp_session *s, bool allow);

#endif
