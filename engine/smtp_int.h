/*
 * smtp_int.h - private interface between the engine/smtp_*.c files
 *
 *	smtp_session.c: replies, output buffer, timers, transaction reset
 *	smtp_cmd.c:	the command table, MAIL/RCPT/BDAT handling
 *	smtp_addr.c:	path and ESMTP parameter syntax
 *	smtp_xforward.c: the XFORWARD command and its attributes
 *	smtp_data.c:	DATA and BDAT content: dot-unstuffing, line ends,
 *			limits, streaming to ops->msg_data
 *
 *	Nothing here is for transports: they use smtp_session.h only.
 */
#ifndef MX_SMTP_INT_H
#define MX_SMTP_INT_H

#include "smtp_session.h"

/* Room kept free beyond one reply so a final 421 always fits. */
#define SMTP_OUT_RESERVE	128

/* smtp_session.c */
void smtp_reply(struct smtp_session *s, int code, const char *enh,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void smtp_reply_error(struct smtp_session *s, int code, const char *enh,
		      const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void smtp_out_printf(struct smtp_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smtp_close(struct smtp_session *s, enum smtp_end why);
void smtp_msg_abort(struct smtp_session *s);
void smtp_txn_reset(struct smtp_session *s);
void smtp_txn_undo_mail(struct smtp_session *s);
void smtp_cmd_deadline(struct smtp_session *s, uint64_t now_ms);
void smtp_text_clean(char *dst, size_t size, const char *src);

/* Out-of-sequence refusals, shared by commands and discarded chunks. */
#define SMTP_SEQ_NEED_HELO	1
#define SMTP_SEQ_NEED_MAIL	2
#define SMTP_SEQ_NEED_RCPT	3
#define SMTP_SEQ_NO_VALID_RCPT	4

/* smtp_addr.c */
enum { SMTP_ADDR_OK = 0, SMTP_ADDR_SYNTAX = -1, SMTP_ADDR_NEEDS_UTF8 = -2 };
int smtp_parse_path(char *p, char *out, size_t size, char **rest);
int smtp_addr_check(const char *a, bool utf8, bool is_rcpt);
char *smtp_next_param(char **rest, char **val);
int smtp_parse_size(const char *v, uint64_t *out);
bool smtp_xtext_valid(const char *v, size_t max, bool utf8);
int smtp_notify_parse(char *v, unsigned *out);
bool smtp_orcpt_valid(const char *v, bool utf8);

/* smtp_cmd.c */
void smtp_cmd_line(struct smtp_session *s, size_t wire_len, uint64_t now_ms);
void smtp_sequence_error(struct smtp_session *s, int seq);

/* smtp_xforward.c */
int smtp_xforward_check(struct smtp_session *s, char *args);
void smtp_xforward_proceed(struct smtp_session *s, char *args);
void smtp_xforward_reset(struct smtp_session *s);
void smtp_xforward_apply(struct smtp_session *s);

/* smtp_data.c */
void smtp_data_start(struct smtp_session *s, bool fresh, uint64_t now_ms);
size_t smtp_data_input(struct smtp_session *s, const uint8_t *buf,
		       size_t len, uint64_t now_ms);
size_t smtp_bdat_input(struct smtp_session *s, const uint8_t *buf,
		       size_t len, uint64_t now_ms);
void smtp_bdat_chunk_end(struct smtp_session *s, uint64_t now_ms);

#endif
