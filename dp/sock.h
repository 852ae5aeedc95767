/*
 * sock.h - kernel-socket transport: the content-filter mode
 *
 *	void sock_config_default(struct sock_config *cfg);
 *	int sock_run(const struct sock_config *cfg, volatile int *stop);
 *
 * DESCRIPTION
 *	The classic after-queue content filter: Postfix :25 ─content_filter▶
 *	mxgate :10025 ─▶ Postfix :10026. sock_run() starts cfg->threads
 *	worker threads, each with its own listening socket (SO_REUSEPORT, so
 *	the kernel spreads connections), epoll loop, engine worker, SMTP
 *	sessions and relay pool: shared nothing, like the lcores of the data
 *	plane, and the same session, engine and delivery code. It returns
 *	when *stop becomes non-zero (a signal handler sets it), after the
 *	sessions in progress were told 421 and closed.
 *
 *	Message content is kept in memory (chunks of SOCK_CHUNK bytes) from
 *	the first byte until the downstream answered; cfg->mem_max bounds it
 *	per thread: beyond, new messages get 451 4.3.0 and the client retries
 *	later. Nothing is acknowledged before the downstream took it.
 *
 *	Clients in cfg->xforward_nets (SOCK_XFORWARD_NETS_DEFAULT: the
 *	front Postfix on loopback) are offered XFORWARD, so the engine,
 *	the log and the downstream see the original client, not Postfix.
 *
 * DIAGNOSTICS
 *	sock_run() returns 0 after a clean stop, -1 with a message on stderr
 *	when start-up failed (address in use, rules, thread creation).
 */
#ifndef MX_SOCK_H
#define MX_SOCK_H

#include <stdint.h>
#include <stdio.h>

#include "delivery.h"
#include "relay.h"
#include "smtp_session.h"
#include "sock_nets.h"

#define SOCK_LISTEN_DEFAULT	"127.0.0.1"
#define SOCK_PORT_DEFAULT	10025
#define SOCK_CONNS_DEFAULT	512	/* sessions per thread */
#define SOCK_MEM_DEFAULT	(256u * 1024 * 1024)	/* content bytes per thread */
#define SOCK_CHUNK		(64 * 1024)	/* message buffer chunk */
#define SOCK_IN_MAX		(16 * 1024)	/* unconsumed client bytes */
#define SOCK_BACKLOG		512
#define SOCK_THREADS_MAX	64
#define SOCK_XFORWARD_NETS_DEFAULT "127.0.0.0/8"	/* the front Postfix */

struct ruleset;
struct rules_sock;
struct sfilter;
struct ctlplane_core_stats;
struct tls_server;

struct sock_config {
	char listen[64];		/* numeric address */
	uint16_t port;
	unsigned threads;		/* 0: one per online CPU */
	unsigned max_conns;		/* per thread */
	uint64_t mem_max;		/* message bytes in memory per thread */
	const struct ruleset *rules;
	struct smtp_config smtp;
	struct relay_config relay;
	struct delivery_config delivery;
	struct rules_sock *rules_swap;	/* rule swaps (rules_sock.h); NULL: none */
	struct sfilter *sfilter;	/* NULL: no sender filter (dp/sfilter.h) */
	struct tls_server *tls;		/* NULL: no STARTTLS (tls.h) */
	struct sock_nets xforward_nets;	/* clients whose XFORWARD names the
					 * client (docs/postfix.md) */
	struct ctlplane_core_stats *stats; /* NULL, or one per thread, written
					 * only by that thread (ctlplane.h) */
	FILE *log_diag;			/* start-up and error messages */
};

void sock_config_default(struct sock_config *cfg);
int sock_run(const struct sock_config *cfg, volatile int *stop);

#endif
