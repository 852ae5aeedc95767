/*
 * fake_upper.c - a scriptable upper layer for SMTP session tests
 *
 *	See fake_upper.h.
 */
#include <stdlib.h>
#include <string.h>

#include "fake_upper.h"

/* fake_trace_escaped - print bytes with CR, LF, NUL and controls visible */

void fake_trace_escaped(FILE *fp, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r')
			fputs("\\r", fp);
		else if (p[i] == '\n')
			fputs("\\n", fp);
		else if (p[i] == '\\')
			fputs("\\\\", fp);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			fprintf(fp, "\\x%02x", p[i]);
		else
			fputc(p[i], fp);
	}
}

/* trace_start - let the test print pending replies before an event */

static FILE *trace_start(struct fake_upper *f)
{
	if (f->trace && f->before_trace)
		f->before_trace(f);
	return f->trace;
}

/* fake_mail_check - refuse senders containing refuse_mail */

static int fake_mail_check(void *ctx, const struct smtp_txn *t,
			   struct smtp_reply *r)
{
	struct fake_upper *f = ctx;

	if (f->refuse_mail && strstr(t->env.mail_from, f->refuse_mail)) {
		r->code = 550;
		strcpy(r->enhanced, "5.7.1");
		strcpy(r->text, "Sender refused by policy");
		return -1;
	}
	return 0;
}

/* fake_rcpt_check - refuse recipients containing refuse_rcpt */

static int fake_rcpt_check(void *ctx, const struct smtp_txn *t,
			   const struct smtp_rcpt *rcpt, struct smtp_reply *r)
{
	struct fake_upper *f = ctx;

	if (f->refuse_rcpt && strstr(rcpt->addr, f->refuse_rcpt)) {
		r->code = 550;
		strcpy(r->enhanced, "5.1.1");
		strcpy(r->text, "User unknown\r\n250 forged");
		return -1;
	}
	return 0;
}

/* fake_msg_begin - start recording a message */

static int fake_msg_begin(void *ctx, const struct smtp_txn *t)
{
	struct fake_upper *f = ctx;
	size_t i;

	if (f->begin_fail)
		return -1;
	f->begins++;
	f->data_len = 0;
	f->data_total = 0;
	if (trace_start(f)) {
		fprintf(f->trace, "> begin from=<%s>", t->env.mail_from);
		for (i = 0; i < t->env.nrcpt; i++)
			fprintf(f->trace, " to=<%s>", t->env.rcpt[i]);
		fprintf(f->trace, "%s\n", t->bdat ? " bdat" : "");
	}
	return 0;
}

/* fake_msg_data - keep the content */

static int fake_msg_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct fake_upper *f = ctx;
	size_t keep;

	f->data_calls++;
	if (f->data_fail_after && f->data_total + len > f->data_fail_after)
		return -1;
	f->data_total += len;
	keep = FAKE_DATA_CAP - f->data_len < len ? FAKE_DATA_CAP - f->data_len
		: len;
	memcpy(f->data + f->data_len, buf, keep);
	f->data_len += keep;
	return 0;
}

/* fake_msg_end - record, then answer now unless told to hold */

static void fake_msg_end(void *ctx, const struct smtp_txn *t)
{
	struct fake_upper *f = ctx;

	f->ends++;
	f->last_txn = *t;
	snprintf(f->last_from, sizeof(f->last_from), "%s", t->env.mail_from);
	snprintf(f->last_envid, sizeof(f->last_envid), "%s", t->envid);
	f->last_nrcpt = t->env.nrcpt;
	if (t->env.nrcpt) {
		snprintf(f->last_orcpt, sizeof(f->last_orcpt), "%s",
			 t->rcpts[0].orcpt);
		f->last_notify = t->rcpts[0].notify;
	}
	if (trace_start(f)) {
		fprintf(f->trace, "> end %llu octets: ",
			(unsigned long long) f->data_total);
		fake_trace_escaped(f->trace, f->data, f->data_len);
		fputc('\n', f->trace);
	}
	if (!f->hold)
		smtp_session_message_result(f->s, f->result_code, f->result_enh,
					    f->result_text, f->now);
}

/* fake_msg_abort - count */

static void fake_msg_abort(void *ctx)
{
	struct fake_upper *f = ctx;

	f->aborts++;
	if (trace_start(f))
		fprintf(f->trace, "> abort\n");
}

/* fake_session_end - count */

static void fake_session_end(void *ctx, enum smtp_end why)
{
	struct fake_upper *f = ctx;

	f->session_ends++;
	f->why = why;
	if (trace_start(f))
		fprintf(f->trace, "> session end %d\n", (int) why);
}

const struct smtp_ops fake_upper_ops = {
	.mail_check = fake_mail_check,
	.rcpt_check = fake_rcpt_check,
	.msg_begin = fake_msg_begin,
	.msg_data = fake_msg_data,
	.msg_end = fake_msg_end,
	.msg_abort = fake_msg_abort,
	.session_end = fake_session_end,
};

/* fake_upper_init - defaults: accept all, answer 250 at once */

void fake_upper_init(struct fake_upper *f)
{
	memset(f, 0, sizeof(*f));
	f->result_code = 250;
	f->result_enh = "2.0.0";
	f->result_text = "Ok: queued as TEST";
	f->data = malloc(FAKE_DATA_CAP);
	if (f->data == NULL)
		abort();
}

/* fake_upper_free - release the content buffer */

void fake_upper_free(struct fake_upper *f)
{
	free(f->data);
	f->data = NULL;
}
