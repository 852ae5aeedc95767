/*
 * handoff.h - what every transport tells delivery about a transaction
 *
 *	size_t handoff_params(const struct smtp_txn *t, char *mail,
 *			size_t mail_size, char *rcpt_buf, size_t rcpt_size,
 *			const char **rcpt_params);
 *	void handoff_qid(unsigned worker, uint64_t seq, char *buf, size_t size);
 *
 * DESCRIPTION
 *	Shared by the kernel-socket mode (dp/sock_msg.c) and the data plane
 *	(dp/smtp_ctrl.c), so that both hand the downstream the same MAIL and
 *	RCPT parameters and both make queue ids the same way.
 *
 *	handoff_params() renders the parameters the downstream must see
 *	again (BODY, SMTPUTF8, RET, ENVID on MAIL; NOTIFY and ORCPT per
 *	recipient, RFC 3461) into mail and, packed one after the other, into
 *	rcpt_buf; rcpt_params[i] points at recipient i's string ("" when it
 *	has none). It returns the bytes of rcpt_buf used. A recipient whose
 *	parameters do not fit gets "" (the envelope storage of the session
 *	bounds them: HANDOFF_RCPT_PARAMS_MAX always suffices).
 *
 *	handoff_qid() makes a queue id unique across workers, processes and
 *	restarts from the wall clock (seconds, microseconds), the worker
 *	number and a per-worker sequence. It reads the clock: call it where
 *	system calls are allowed (never on an lcore).
 *
 * DIAGNOSTICS
 *	None.
 */
#ifndef MX_HANDOFF_H
#define MX_HANDOFF_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_session.h"

#define HANDOFF_MAIL_PARAMS_MAX	160	/* BODY SMTPUTF8 RET ENVID(100) */
/* NOTIFY=SUCCESS,FAILURE,DELAY + " ORCPT=" per recipient, plus the ORCPT
 * values, which share the session's envelope storage */
#define HANDOFF_RCPT_PARAMS_MAX	(SMTP_RCPT_CAP * 48 + SMTP_ENVELOPE_CAP)

size_t handoff_params(const struct smtp_txn *t, char *mail, size_t mail_size,
		      char *rcpt_buf, size_t rcpt_size, const char **rcpt_params);
void handoff_qid(unsigned worker, uint64_t seq, char *buf, size_t size);

#endif
