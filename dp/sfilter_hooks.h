/*
 * sfilter_hooks.h - the sender filter's hooks in the two transports
 *
 *	Socket mode (dp/sfilter_sock.c; c is a struct sock_conn *):
 *	struct sfilter *sfilter_sock_start(const char *path, FILE *log);
 *	void sfilter_sock_open(struct sock_conn *c);
 *	int sfilter_sock_gate(struct sock_conn *c);
 *	void sfilter_sock_close(struct sock_conn *c);
 *	void sfilter_sock_msg_done(struct sock_conn *c, const struct smtp_txn *t);
 *	int sfilter_sock_mail_check(void *ctx, const struct smtp_txn *t,
 *			struct smtp_reply *r);
 *	int sfilter_sock_rcpt_check(void *ctx, const struct smtp_txn *t,
 *			const struct smtp_rcpt *rcpt, struct smtp_reply *r);
 *
 *	Data plane (dp/sfilter_dp.c; s is a struct smtpdp_conn *):
 *	bool sfilter_dp_open(struct smtpdp_conn *s, uint32_t addr);
 *	int sfilter_dp_gate(struct smtpdp_conn *s);
 *	void sfilter_dp_close(struct smtpdp_conn *s);
 *	void sfilter_dp_msg_done(struct smtpdp_conn *s, const struct verdict *v,
 *			const struct envelope *env);
 *	int sfilter_dp_mail_check(void *ctx, const struct smtp_txn *t,
 *			struct smtp_reply *r);
 *	int sfilter_dp_rcpt_check(void *ctx, const struct smtp_txn *t,
 *			const struct smtp_rcpt *rcpt, struct smtp_reply *r);
 *	int sfilter_dp_syn(void *app_ctx, uint32_t saddr, uint16_t sport);
struct sfilter *sfilter_dp_setup(const char *path, struct smtpdp_lcore **lcs,
				 unsigned nworkers, FILE *log,
				 struct dp_stats_zone *z);
 *	struct sfilter *sfilter_dp_setup(const char *path,
 *			struct smtpdp_lcore **lcs, unsigned nworkers, FILE *log,
 *			struct dp_stats_zone *z);
 *	extern const struct sfilter_table_ops sfilter_lpm_ops;
extern const struct sfilter_table_ops sfilter_rte_lpm_ops;
 *	extern const struct sfilter_table_ops sfilter_rte_lpm_ops;
 *
 * DESCRIPTION
 *	One-line hooks for the transports' files (owned by others): every
 *	decision is here and in dp/sfilter.c. The gate functions return
 *	SFILTER_HOOK_GO (carry on), SFILTER_HOOK_WAIT (greeting held: return
 *	from the pump) or SFILTER_HOOK_CLOSE (the refusal line was sent:
 *	close the connection). Without a sender filter configured every
 *	hook is a no-op.
 */
#ifndef MX_DP_SFILTER_HOOKS_H
#define MX_DP_SFILTER_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sfilter.h"

#define SFILTER_HOOK_GO		0
#define SFILTER_HOOK_WAIT	1
#define SFILTER_HOOK_CLOSE	2

struct sock_conn;
struct smtpdp_conn;
struct smtpdp_lcore;
struct dp_stats_zone;

struct sfilter *sfilter_sock_start(const char *path, FILE *log);
void sfilter_sock_open(struct sock_conn *c);
int sfilter_sock_gate(struct sock_conn *c);
void sfilter_sock_close(struct sock_conn *c);
void sfilter_sock_msg_done(struct sock_conn *c, const struct smtp_txn *t);
int sfilter_sock_mail_check(void *ctx, const struct smtp_txn *t,
			    struct smtp_reply *r);
int sfilter_sock_rcpt_check(void *ctx, const struct smtp_txn *t,
			    const struct smtp_rcpt *rcpt, struct smtp_reply *r);

bool sfilter_dp_open(struct smtpdp_conn *s, uint32_t addr);
int sfilter_dp_gate(struct smtpdp_conn *s);
void sfilter_dp_close(struct smtpdp_conn *s);
void sfilter_dp_msg_done(struct smtpdp_conn *s, const struct verdict *v,
			 const struct envelope *env);
int sfilter_dp_mail_check(void *ctx, const struct smtp_txn *t,
			  struct smtp_reply *r);
int sfilter_dp_rcpt_check(void *ctx, const struct smtp_txn *t,
			  const struct smtp_rcpt *rcpt, struct smtp_reply *r);
int sfilter_dp_syn(void *app_ctx, uint32_t saddr, uint16_t sport);
struct sfilter *sfilter_dp_setup(const char *path, struct smtpdp_lcore **lcs,
				 unsigned nworkers, FILE *log,
				 struct dp_stats_zone *z);
extern const struct sfilter_table_ops sfilter_lpm_ops;
extern const struct sfilter_table_ops sfilter_rte_lpm_ops;

#endif
