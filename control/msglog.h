/*
 * msglog.h - one JSON line per message: what was decided, and why
 *
 *	void msglog_write(FILE *out, const struct msglog_entry *e);
 *
 * DESCRIPTION
 *	Writes e as one JSON object on one line and flushes it: time (UTC,
 *	RFC 3339 with milliseconds), qid, upstream_qid (only when the
 *	up-stream MTA gave its queue id), client (address, port, HELO),
 *	sender, recipients, size, action, score, the rules that matched (id,
 *	scope, part), the reply the client got, the downstream's reply when
 *	there was one, the rule set version and timings in milliseconds
 *	(receive: first to last byte of content; scan: the engine's end of
 *	message; relay: hand-off to the downstream's reply; total: end of
 *	data to the client's reply), and "tls":{"version","cipher"} when
 *	the client used STARTTLS. Lines are written whole with one
 *	fwrite so that threads sharing a log file do not interleave.
 */
#ifndef MX_MSGLOG_H
#define MX_MSGLOG_H

#include <stdint.h>
#include <stdio.h>

#include "engine.h"

struct msglog_entry {
	const char *qid;
	const char *upstream_qid;	/* the up-stream MTA's (XFORWARD
					 * IDENT); NULL or "": none */
	const struct envelope *env;
	uint16_t client_port;
	uint64_t size;
	const struct verdict *verdict;	/* NULL when the message failed
					 * before a verdict */
	const char *action;		/* what was done: the verdict's action,
					 * or "tempfail" for our own failures */
	int reply_code;			/* what the client was told */
	const char *reply_text;
	const char *downstream;		/* downstream reply, NULL if none */
	const char *rules_version;
	const char *note;		/* extra explanation, NULL if none */
	const char *tls_version;	/* "TLSv1.3"; NULL or "": plaintext */
	const char *tls_cipher;
	double receive_ms, scan_ms, relay_ms, total_ms;
};

void msglog_write(FILE *out, const struct msglog_entry *e);

#endif
