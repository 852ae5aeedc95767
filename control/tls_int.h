/*
 * tls_int.h - private to control/tls.c and control/tls_conn.c
 *
 *	The server's per-worker mailbox: control stores a freshly built
 *	SSL_CTX (with one reference) in pending; the worker takes it in
 *	tls_worker_refresh() and drops its reference to the old one.
 */
#ifndef MX_TLS_INT_H
#define MX_TLS_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>

#include <openssl/ssl.h>

#include "tls.h"

struct tls_net {
	uint32_t addr;		/* host byte order, masked */
	uint32_t mask;
};

struct tls_slot {
	_Atomic(SSL_CTX *) pending;
};

struct tls_server {
	struct tls_config cfg;
	unsigned nworkers;
	struct tls_slot *slots;
	pthread_mutex_t lock;	/* one reload at a time */
	atomic_uint generation;
	struct tls_net nets[TLS_NETS_MAX];
	unsigned nnets;
};

#endif
