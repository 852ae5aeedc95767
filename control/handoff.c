/*
 * handoff.c - MAIL/RCPT parameters and queue ids for delivery
 *
 *	See handoff.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handoff.h"

/* put - append formatted text at *n, never past size; 0 or -1 (no room) */
static int put(char *buf, size_t size, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (*n + len >= size)
		return -1;
	memcpy(buf + *n, s, len + 1);
	*n += len;
	return 0;
}

/* rcpt_render - one recipient's NOTIFY and ORCPT into buf */
static int rcpt_render(const struct smtp_rcpt *r, char *buf, size_t size,
		       size_t *n)
{
	const char *sep = "";
	int bad = 0;

	if (r->notify) {
		bad |= put(buf, size, n, " NOTIFY=");
		if (r->notify & SMTP_NOTIFY_NEVER)
			bad |= put(buf, size, n, "NEVER");
		if (!(r->notify & SMTP_NOTIFY_NEVER)) {
			if (r->notify & SMTP_NOTIFY_SUCCESS)
				bad |= put(buf, size, n, "SUCCESS"), sep = ",";
			if (r->notify & SMTP_NOTIFY_FAILURE)
				bad |= put(buf, size, n, sep) | put(buf, size, n, "FAILURE"), sep = ",";
			if (r->notify & SMTP_NOTIFY_DELAY)
				bad |= put(buf, size, n, sep) | put(buf, size, n, "DELAY");
		}
	}
	if (r->orcpt && r->orcpt[0])
		bad |= put(buf, size, n, " ORCPT=") | put(buf, size, n, r->orcpt);
	return bad ? -1 : 0;
}

/* handoff_params - MAIL and per-RCPT parameters the downstream sees */
size_t handoff_params(const struct smtp_txn *t, char *mail, size_t mail_size,
		      char *rcpt_buf, size_t rcpt_size, const char **rcpt_params)
{
	size_t n = 0, used = 0, i;

	mail[0] = 0;
	if (t->body == SMTP_BODY_8BITMIME)
		put(mail, mail_size, &n, " BODY=8BITMIME");
	if (t->smtputf8)
		put(mail, mail_size, &n, " SMTPUTF8");
	if (t->ret != SMTP_RET_NONE)
		put(mail, mail_size, &n, t->ret == SMTP_RET_FULL ? " RET=FULL" : " RET=HDRS");
	if (t->envid && t->envid[0] && put(mail, mail_size, &n, " ENVID=") == 0)
		put(mail, mail_size, &n, t->envid);
	for (i = 0; i < t->env.nrcpt && i < SMTP_RCPT_CAP; i++) {
		size_t start = used;

		if (used >= rcpt_size) {
			rcpt_params[i] = "";
			continue;
		}
		rcpt_buf[used] = 0;
		if (rcpt_render(&t->rcpts[i], rcpt_buf, rcpt_size, &used) < 0) {
			used = start;	/* drop a half-rendered recipient */
			rcpt_buf[used] = 0;
		}
		rcpt_params[i] = rcpt_buf + start;
		used++;			/* keep the NUL */
	}
	return used;
}

/* handoff_qid - unique queue id: seconds, microseconds, worker, sequence */
void handoff_qid(unsigned worker, uint64_t seq, char *buf, size_t size)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, size, "%08llX%05lX%02X%03llX",
		 (unsigned long long)ts.tv_sec & 0xffffffffULL,
		 (long)(ts.tv_nsec / 1000) & 0xfffff, worker & 0xff,
		 (unsigned long long)(seq & 0xfff));
}
