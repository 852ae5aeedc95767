/*
 * mgmt.c - the HTTPS management server: one thread, epoll, TLS
 *
 *	See mgmt.h. A connection goes handshake -> read a request -> answer
 *	-> (keep-alive) read the next one. Everything is non-blocking:
 *	SSL_accept/SSL_read/SSL_write say which direction they wait for and
 *	the connection's epoll interest follows. A client that speaks
 *	plaintext fails the handshake and is closed; nothing is ever answered
 *	outside TLS. Handlers run in this thread; a slow one (a rule set
 *	compile, a release waiting for the downstream) delays the others,
 *	which is acceptable for an operator's port and keeps the code simple.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "mgmt.h"

#define MGMT_BACKLOG		64
#define MGMT_EVENTS		32
#define MGMT_TICK_MS		250	/* idle checks and the stop flag */

enum mconn_state { MC_HANDSHAKE, MC_READ, MC_WRITE };

struct mconn {
	int fd;
	SSL *ssl;
	enum mconn_state state;
	uint32_t events;
	uint64_t last_ms;
	uint64_t deadline_ms;		/* 0: between requests */
	int keep_alive;
	int continued;			/* 100 Continue sent for this request */
	size_t in_off, in_len;
	char in[MGMT_IN_MAX];
	char *out;
	size_t out_len, out_off;
	struct http_request req;
};

struct mgmt {
	struct ctlplane *cp;
	SSL_CTX *ctx;
	int lfd, epfd;
	pthread_t tid;
	volatile int quit;
	unsigned nconns;
	struct mconn *all[MGMT_CONNS_MAX];	/* for idle reaping */
	struct mgmt_tokens tokens;
};

/* mono_ms - monotonic milliseconds */
static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* watch - set the connection's epoll interest */
static void watch(struct mgmt *m, struct mconn *c, uint32_t want)
{
	struct epoll_event ev;

	if (want == c->events)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* conn_close - free everything of one connection */
static void conn_close(struct mgmt *m, struct mconn *c)
{
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl) {
		if (c->state != MC_HANDSHAKE)
			SSL_shutdown(c->ssl);	/* best effort close_notify */
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c->out);
	for (unsigned i = 0; i < m->nconns; i++)
		if (m->all[i] == c) {
			m->all[i] = m->all[m->nconns - 1];
			break;
		}
	free(c);
	m->nconns--;
	ERR_clear_error();
}

/* respond - render the reply to send */
static void respond(struct mconn *c, const struct mgmt_reply *r)
{
	size_t len = 0;
	FILE *fp;

	free(c->out);
	c->out = NULL;
	if ((fp = open_memstream(&c->out, &len)) == NULL) {
		c->keep_alive = 0;
		c->out_len = 0;
		return;
	}
	http_reply(fp, r->status, r->ctype ? r->ctype : "application/json",
		   r->extra, r->body, r->len, c->keep_alive);
	fclose(fp);
	c->out_len = len;
	c->out_off = 0;
	c->state = MC_WRITE;
}

/* error_reply - {"error": why} with a status */
static void error_reply(struct mconn *c, int status, const char *why,
			const char *extra)
{
	struct mgmt_reply r;
	char body[512];
	size_t n = 0;

	n += (size_t)snprintf(body, sizeof(body), "{\"error\":\"");
	for (const char *p = why; *p && n < sizeof(body) - 8; p++) {
		if (*p == '"' || *p == '\\')
			body[n++] = '\\';
		body[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
	}
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}\n");
	memset(&r, 0, sizeof(r));
	r.status = status;
	r.body = body;
	r.len = n;
	r.extra = extra;
	respond(c, &r);
}

/* handle - a complete request: authenticate, route, answer */
static void handle(struct mgmt *m, struct mconn *c)
{
	struct mgmt_reply r;
	char actor[MGMT_TOKEN_NAME_MAX];
	const char *auth = http_header(&c->req, "authorization");

	c->keep_alive = c->req.keep_alive;
	if (!mgmt_token_check(&m->tokens, auth, actor, sizeof(actor))) {
		error_reply(c, 401, auth ? "wrong bearer token" : "bearer token required",
			    auth ? "WWW-Authenticate: Bearer realm=\"mxgate\", error=\"invalid_token\"\r\n"
				 : "WWW-Authenticate: Bearer realm=\"mxgate\"\r\n");
		return;
	}
	memset(&r, 0, sizeof(r));
	if (mgmt_api(m->cp, &c->req, actor, &r) < 0 || r.status == 0) {
		free(r.body);
		error_reply(c, 500, "internal error (see the daemon's log)", NULL);
		return;
	}
	respond(c, &r);
	free(r.body);
}

/* parse_input - feed buffered bytes to the parser; answer when complete */
static void parse_input(struct mgmt *m, struct mconn *c)
{
	size_t used = http_parse(&c->req, c->in + c->in_off, c->in_len - c->in_off);

	c->in_off += used;
	if (c->in_off == c->in_len)
		c->in_off = c->in_len = 0;
	if (c->req.state == HTTP_BODY && !c->continued) {
		const char *e = http_header(&c->req, "expect");
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		/* curl waits a second for this before sending a body; a
		 * write that would block is skipped: the client goes on anyway */
		c->continued = 1;
		if (e && strcasecmp(e, "100-continue") == 0
		    && SSL_write(c->ssl, cont, sizeof(cont) - 1) <= 0)
			ERR_clear_error();
	}
	if (c->req.state == HTTP_ERROR || c->req.state == HTTP_DONE)
		c->deadline_ms = 0;
	if (c->req.state == HTTP_ERROR) {
		c->keep_alive = 0;
		error_reply(c, c->req.status, c->req.error, NULL);
	} else if (c->req.state == HTTP_DONE) {
		handle(m, c);
	}
}

/* step - make all the progress the connection allows; 0 keep, -1 close */
static int step(struct mgmt *m, struct mconn *c)
{
	for (;;) {
		int n = 0, e;

		switch (c->state) {
		case MC_HANDSHAKE:
			if ((n = SSL_accept(c->ssl)) == 1) {
				c->state = MC_READ;
				c->deadline_ms = 0;
				http_request_init(&c->req);
				continue;
			}
			break;
		case MC_READ:
			if (c->in_off < c->in_len) {
				parse_input(m, c);
				if (c->state != MC_READ)
					continue;
			}
			if (c->in_off) {
				memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
				c->in_len -= c->in_off;
				c->in_off = 0;
			}
			n = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof(c->in) - c->in_len));
			if (n > 0) {
				if (c->deadline_ms == 0)	/* a request begins */
					c->deadline_ms = c->last_ms + MGMT_REQUEST_MS;
				c->in_len += (size_t)n;
				parse_input(m, c);
				continue;
			}
			break;
		case MC_WRITE:
			if (c->out_off == c->out_len) {
				if (!c->keep_alive)
					return -1;
				free(c->out);
				c->out = NULL;
				c->out_len = c->out_off = 0;
				c->state = MC_READ;
				c->continued = 0;
				http_request_init(&c->req);
				continue;
			}
			n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
			if (n > 0) {
				c->out_off += (size_t)n;
				continue;
			}
			break;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ) {
			watch(m, c, EPOLLIN);
			return 0;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			watch(m, c, EPOLLOUT);
			return 0;
		}
		return -1;	/* closed, protocol error, plaintext client */
	}
}

/* accept_all - new TCP connections become TLS handshakes */
static void accept_all(struct mgmt *m, uint64_t now)
{
	for (;;) {
		struct epoll_event ev;
		struct mconn *c;
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (m->nconns >= MGMT_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_ms = now;
		c->deadline_ms = now + MGMT_REQUEST_MS;	/* the handshake */
		c->state = MC_HANDSHAKE;
		if ((c->ssl = SSL_new(m->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
			ERR_clear_error();
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		c->events = EPOLLIN;
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			SSL_free(c->ssl);
			close(fd);
			free(c);
			continue;
		}
		m->all[m->nconns++] = c;
	}
}

/* reap_idle - close connections silent for MGMT_IDLE_MS, or whose
 * handshake or request is not complete by its deadline */
static void reap_idle(struct mgmt *m, uint64_t now)
{
	unsigned i = 0;

	while (i < m->nconns) {
		const struct mconn *c = m->all[i];

		if (now - c->last_ms > MGMT_IDLE_MS
		    || (c->deadline_ms && now > c->deadline_ms))
			conn_close(m, m->all[i]);	/* moves the last into i */
		else
			i++;
	}
}

/* loop - the management thread */
static void *loop(void *arg)
{
	struct mgmt *m = arg;
	struct epoll_event ev[MGMT_EVENTS];
	uint64_t last_reap = mono_ms();

	while (!m->quit) {
		int n = epoll_wait(m->epfd, ev, MGMT_EVENTS, MGMT_TICK_MS);
		uint64_t now = mono_ms();

		for (int i = 0; i < n; i++) {
			struct mconn *c = ev[i].data.ptr;

			if (c == NULL) {
				accept_all(m, now);
				continue;
			}
			c->last_ms = now;
			if (step(m, c) < 0)
				conn_close(m, c);
		}
		if (now - last_reap >= MGMT_TICK_MS) {
			reap_idle(m, now);
			last_reap = now;
		}
	}
	while (m->nconns)
		conn_close(m, m->all[0]);
	return NULL;
}

/* listen_on - bind "ADDR:PORT" or "[v6]:PORT" */
static int listen_on(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char host[64];
	const char *colon = strrchr(spec, ':');
	size_t hl;
	long port;
	char *end;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (colon == NULL || (hl = (size_t)(colon - spec)) == 0 || hl >= sizeof(host))
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		goto bad;
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		memcpy(host, spec + 1, hl - 2);
		host[hl - 2] = 0;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		memcpy(host, spec, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "management port %s: socket: %s", spec, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, MGMT_BACKLOG) < 0) {
		snprintf(err, errlen, "management port: bind/listen %s: %s", spec,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
bad:
	snprintf(err, errlen, "mgmt_listen wants ADDR:PORT with a numeric address,"
		 " not '%s'", spec);
	return -1;
}

/* mgmt_start - bind, TLS context, thread */
struct mgmt *mgmt_start(struct ctlplane *cp, char *err, size_t errlen)
{
	struct epoll_event ev;
	struct mgmt *m;
	int rc;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "management port: out of memory");
		return NULL;
	}
	m->cp = cp;
	m->lfd = m->epfd = -1;
	snprintf(m->tokens.path, sizeof(m->tokens.path), "%s", cp->tokens_path);
	if (mgmt_tls_context(cp, &m->ctx, err, errlen) < 0)
		goto fail;
	if ((m->lfd = listen_on(cp->listen, err, errlen)) < 0)
		goto fail;
	if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "management port: epoll_create1: %s", strerror(errno));
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->lfd, &ev) < 0) {
		snprintf(err, errlen, "management port: epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	if ((rc = pthread_create(&m->tid, NULL, loop, m)) != 0) {
		snprintf(err, errlen, "management port: start thread: %s", strerror(rc));
		goto fail;
	}
	pthread_setname_np(m->tid, "mxgate-mgmt");
	return m;
fail:
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->lfd >= 0)
		close(m->lfd);
	SSL_CTX_free(m->ctx);
	free(m);
	return NULL;
}

/* mgmt_stop - end the thread, close everything */
void mgmt_stop(struct mgmt *m)
{
	if (m == NULL)
		return;
	m->quit = 1;
	pthread_join(m->tid, NULL);
	close(m->epfd);
	close(m->lfd);
	SSL_CTX_free(m->ctx);
	free(m);
}
