/*
 * delivery.h - carry out a verdict: relay, quarantine, discard; log it
 *
 *	struct delivery *delivery_new(const struct delivery_config *cfg,
 *			const struct relay_config *relay);
 *	int delivery_fd(const struct delivery *d);
 *	void delivery_run(struct delivery *d, uint64_t now_ms);
 *	void delivery_submit(struct delivery *d, struct delivery_msg *m,
 *			uint64_t now_ms);
 *	void delivery_free(struct delivery *d);
 *	size_t delivery_queued(const struct delivery *d);
 *
 * DESCRIPTION
 *	The transport hands over a message whose content has ended and whose
 *	verdict the engine gave. delivery_submit() does what the verdict says
 *	and calls m->done exactly once with the reply the client must get:
 *
 *	pass, tag	relayed to the downstream (tag: "[SPAM] " before the
 *			Subject and an X-Mxgate header); the downstream's 250
 *			becomes our "250 2.0.0 Ok: queued as QID"; its 4xx/5xx
 *			is passed on; unreachable or timed out gives 451 4.4.x.
 *			If the downstream takes some recipients and refuses
 *			others, a temporary refusal of any makes the whole
 *			message 451 (the client retries: a duplicate for the
 *			others, never a loss); permanent refusals of some are
 *			logged and the message is answered 250 (docs/adr/0003).
 *	quarantine	stored durably (quarantine.h, or in PostgreSQL with
 *			cfg->store: pgstore.h) before the 250; a
 *			failure to store gives 451 4.3.0.
 *	discard		250, not relayed, logged.
 *	reject		550 5.7.1 with the verdict's reply text.
 *	tempfail	451 4.7.1.
 *
 *	Every message gets one JSON log line (msglog.h) once its reply is
 *	known; with the up-stream MTA's queue id (m->ident) it carries it as
 *	upstream_qid, and the relay hands it on as XFORWARD IDENT (else our
 *	qid), so that each MTA's log line leads to the one before. A message that came over STARTTLS gets a Received header
 *	naming the protocol and cipher (like Postfix's "with ESMTPS
 *	(version=TLSv1.3 cipher=...)"), which XFORWARD cannot carry; the
 *	downstream writes its own Received line from XFORWARD as usual. m and the iovecs it points to must stay valid until m->done
 *	is called; done may be called from delivery_submit() itself.
 *
 *	The relay's sockets sit in an epoll instance (delivery_fd) that the
 *	caller's loop waits on; delivery_run() does their I/O and timeouts.
 */
#ifndef MX_DELIVERY_H
#define MX_DELIVERY_H

#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "engine.h"
#include "relay.h"

#define DELIVERY_QID_MAX	24
#define DELIVERY_HDR_MAX	2048	/* headers we prepend (Received with TLS,
					 * X-Mxgate, Subject) */

struct pgstore;

struct delivery_config {
	const char *quarantine_dir;	/* where quarantined mail goes */
	FILE *log;			/* JSON lines; NULL: no log */
	const char *rules_version;
	const char *hostname;		/* in our X-Mxgate header */
	struct pgstore *store;		/* PostgreSQL (pgstore.h): every log
					 * row also goes there, quarantine
					 * goes there instead of
					 * quarantine_dir; NULL: files only */
};

struct delivery_reply {
	int code;
	char enhanced[16];
	char text[RELAY_REPLY_MAX];
};

struct delivery_msg;
typedef void (*delivery_done_fn)(void *ctx, struct delivery_msg *m,
				 const struct delivery_reply *r);

struct delivery_msg {
	/* filled by the transport */
	char qid[DELIVERY_QID_MAX];
	const struct envelope *env;
	uint16_t client_port;
	const char *proto;		/* "ESMTP" / "SMTP", "ESMTPS" with TLS */
	const char *source;		/* up-stream MTA's XFORWARD SOURCE:
					 * "LOCAL", "REMOTE"; NULL or "":
					 * none (sent as REMOTE) */
	const char *ident;		/* up-stream MTA's queue id (XFORWARD
					 * IDENT); NULL or "": none (our qid
					 * is sent instead) */
	const char *tls_version;	/* "TLSv1.3"; NULL or "": no TLS */
	const char *tls_cipher;
	const char *rules_version;	/* set the message was scanned with;
					 * NULL: cfg.rules_version */
	const char *mail_params;	/* " BODY=8BITMIME ..." */
	const char *const *rcpt_params;
	const struct verdict *verdict;
	const struct iovec *body;	/* the message as received */
	size_t nbody;
	uint64_t size;
	double receive_ms, scan_ms;
	uint64_t end_ms;		/* when the content ended */
	delivery_done_fn done;
	void *ctx;
	/* private */
	struct delivery *d;
	char hdr[DELIVERY_HDR_MAX];
	char tag[72];			/* " [SPAM]" after "Subject:" */
	struct iovec *iov;		/* body split for the Subject tag */
	size_t niov;
	uint64_t relay_start_ms;
};

struct delivery;

struct delivery *delivery_new(const struct delivery_config *cfg,
			      const struct relay_config *relay);
int delivery_fd(const struct delivery *d);
void delivery_run(struct delivery *d, uint64_t now_ms);
void delivery_submit(struct delivery *d, struct delivery_msg *m,
		     uint64_t now_ms);
void delivery_free(struct delivery *d);
/* messages with the relay: waiting for a connection or being sent */
size_t delivery_queued(const struct delivery *d);

#endif
