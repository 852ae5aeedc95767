/*
 * fake_upper.h - a scriptable upper layer for SMTP session tests
 *
 *	void fake_upper_init(struct fake_upper *f);
 *	void fake_upper_free(struct fake_upper *f);
 *	void fake_trace_escaped(FILE *fp, const uint8_t *p, size_t n);
 *	extern const struct smtp_ops fake_upper_ops;
 *
 * DESCRIPTION
 *	Records every event a session sends up (with the content of the
 *	current message, up to FAKE_DATA_CAP octets) and answers: checks
 *	refuse addresses containing refuse_mail/refuse_rcpt, msg_begin and
 *	msg_data fail on request, and msg_end answers at once with result_*
 *	unless hold is set (the test then calls smtp_session_message_result
 *	itself). trace, when set, gets one line per event (golden tests).
 */
#ifndef MX_FAKE_UPPER_H
#define MX_FAKE_UPPER_H

#include <stdio.h>

#include "smtp_session.h"

#define FAKE_DATA_CAP	(4u * 1024 * 1024)

struct fake_upper {
	struct smtp_session *s;
	uint64_t now;
	FILE *trace;
	void (*before_trace)(struct fake_upper *f);	/* e.g. print replies */
	void *user;

	/* behaviour */
	bool hold;
	int result_code;
	const char *result_enh;
	const char *result_text;
	bool begin_fail;
	size_t data_fail_after;	/* fail msg_data past this many octets, 0 never */
	const char *refuse_mail;
	const char *refuse_rcpt;

	/* record */
	unsigned begins, ends, aborts, session_ends, data_calls;
	enum smtp_end why;
	uint8_t *data;
	size_t data_len;	/* current/last message content kept */
	uint64_t data_total;	/* octets of the current/last message */
	char last_from[SMTP_PATH_MAX + 1];
	size_t last_nrcpt;
	struct smtp_txn last_txn;	/* copy at msg_end, pointers stale */
	char last_envid[SMTP_ENVID_MAX + 1];
	char last_orcpt[SMTP_ORCPT_MAX + 1];
	unsigned last_notify;
};

void fake_upper_init(struct fake_upper *f);
void fake_upper_free(struct fake_upper *f);
void fake_trace_escaped(FILE *fp, const uint8_t *p, size_t n);
extern const struct smtp_ops fake_upper_ops;

#endif
