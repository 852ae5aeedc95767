/*
 * relay.c - hand accepted mail to the downstream MTA (SMTP client)
 *
 *	See relay.h for the interface. Inside: a pool of connections, each a
 *	small state machine (connect, greeting, EHLO, idle, transaction,
 *	body, end of data), a FIFO of messages waiting for a connection, and
 *	one epoll instance over all sockets.
 *
 *	A transaction is a list of commands (XFORWARD..., MAIL, RCPT..., DATA)
 *	sent all at once when the downstream offers PIPELINING (RFC 2920:
 *	DATA ends the group) and one at a time otherwise; the replies are
 *	matched to the commands in order. The body follows a 354 and is
 *	dot-stuffed on the way out (relay_body_fill); to a downstream that
 *	also offers CHUNKING the commands end with "BDAT n LAST" and the
 *	message follows in the same write, as it is (relay_conn.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evwatch.h"
#include "netaddr.h"
#include "relay_int.h"

/* relay_stage_name - a stage, for replies and logs */
const char *relay_stage_name(enum relay_stage stage)
{
	static const char *const names[] = {
		"connect", "greeting", "EHLO", "XFORWARD", "MAIL FROM",
		"RCPT TO", "DATA", "end of data",
	};

	return (unsigned)stage < sizeof(names) / sizeof(names[0])
	       ? names[stage] : "?";
}

/* relay_config_default - 127.0.0.1:10026, RFC 5321 timeouts */
void relay_config_default(struct relay_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->host, sizeof(cfg->host), "%s", RELAY_HOST_DEFAULT);
	cfg->port = RELAY_PORT_DEFAULT;
	if (gethostname(cfg->helo, sizeof(cfg->helo)) != 0 || !cfg->helo[0])
		snprintf(cfg->helo, sizeof(cfg->helo), "mxgate");
	cfg->helo[sizeof(cfg->helo) - 1] = 0;
	cfg->max_conns = RELAY_CONNS_DEFAULT;
	cfg->max_queue = RELAY_QUEUE_DEFAULT;
	cfg->connect_timeout_ms = RELAY_CONNECT_TIMEOUT_MS;
	cfg->cmd_timeout_ms = RELAY_CMD_TIMEOUT_MS;
	cfg->data_timeout_ms = RELAY_DATA_TIMEOUT_MS;
	cfg->idle_timeout_ms = RELAY_IDLE_TIMEOUT_MS;
	cfg->xforward = 1;
}

/* relay_pool_new - a pool with no connection open yet */
struct relay_pool *relay_pool_new(const struct relay_config *cfg)
{
	struct relay_pool *pool;
	unsigned i;

	if (cfg->max_conns == 0 || cfg->max_conns > RELAY_CONNS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		return NULL;
	pool->cfg = *cfg;
	if ((pool->conns = calloc(cfg->max_conns, sizeof(*pool->conns))) == NULL)
		goto fail;
	for (i = 0; i < cfg->max_conns; i++) {
		pool->conns[i].fd = -1;
		pool->conns[i].pool = pool;
	}
	if ((pool->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail;
	return pool;
fail:
	free(pool->conns);
	free(pool);
	return NULL;
}

/* relay_pool_fd - the epoll descriptor the caller's loop waits on */
int relay_pool_fd(const struct relay_pool *pool)
{
	return pool->epfd;
}

/* relay_pool_queued - messages waiting for or in delivery */
size_t relay_pool_queued(const struct relay_pool *pool)
{
	return pool->nqueued + pool->nactive;
}

/* job_free - release a job's copies */
static void job_free(struct relay_job *job)
{
	free(job);
}

/* strsize - bytes to copy s with its NUL; NULL counts as "" */
static size_t strsize(const char *s)
{
	return s ? strlen(s) + 1 : 1;
}

/* copy_str - copy s (NULL as "") to *p, advance *p, return the copy */
static char *copy_str(char **p, const char *s)
{
	char *dst = *p;
	size_t n = strsize(s) - 1;

	if (n)
		memcpy(dst, s, n);
	dst[n] = 0;
	*p += n + 1;
	return dst;
}

/* ident_of - the IDENT to send: the up-stream's queue id, unless it gave
 * none or said it had none (XFORWARD's "[UNAVAILABLE]"), else ours */
static const char *ident_of(const struct relay_msg *msg)
{
	const char *up = msg->ident;

	if (up && *up && strcasecmp(up, "[UNAVAILABLE]") != 0
	    && strcasecmp(up, "[TEMPUNAVAIL]") != 0)
		return up;
	return msg->qid;
}

/* job_new - one allocation holding the job and copies of every string */
static struct relay_job *job_new(const struct relay_msg *msg)
{
	const struct envelope *env = msg->env;
	size_t need = sizeof(struct relay_job), i;
	struct relay_job *job;
	char *p;

	need += strsize(env->client_addr) + strsize(env->client_name)
		+ strsize(env->helo) + strsize(env->mail_from)
		+ strsize(msg->proto) + strsize(msg->mail_params)
		+ strsize(msg->source) + strsize(ident_of(msg))
		+ msg->prepend_len + 1;
	need += env->nrcpt * (2 * sizeof(char *) + sizeof(int));
	for (i = 0; i < env->nrcpt; i++)
		need += strsize(env->rcpt[i])
			+ strsize(msg->rcpt_params ? msg->rcpt_params[i] : NULL);
	if ((job = calloc(1, need)) == NULL)
		return NULL;
	p = (char *)(job + 1);
	job->rcpt = (char **)p;
	p += env->nrcpt * sizeof(char *);
	job->rcpt_params = (char **)p;
	p += env->nrcpt * sizeof(char *);
	job->rcpt_code = (int *)p;
	p += env->nrcpt * sizeof(int);
	job->client_addr = copy_str(&p, env->client_addr);
	job->client_name = copy_str(&p, env->client_name);
	job->helo = copy_str(&p, env->helo);
	job->from = copy_str(&p, env->mail_from);
	job->proto = copy_str(&p, msg->proto);
	job->mail_params = copy_str(&p, msg->mail_params);
	job->source = copy_str(&p, msg->source);
	job->ident = copy_str(&p, ident_of(msg));
	for (i = 0; i < env->nrcpt; i++) {
		job->rcpt[i] = copy_str(&p, env->rcpt[i]);
		job->rcpt_params[i] = copy_str(&p, msg->rcpt_params ? msg->rcpt_params[i] : NULL);
	}
	memcpy(p, msg->prepend ? msg->prepend : "", msg->prepend_len);
	job->prepend = p;
	job->prepend_len = msg->prepend_len;
	job->nrcpt = env->nrcpt;
	job->client_port = msg->client_port;
	job->body = msg->body;
	job->nbody = msg->nbody;
	return job;
}

/* relay_pool_submit - queue one message for delivery */
int relay_pool_submit(struct relay_pool *pool, const struct relay_msg *msg,
		      relay_done_fn done, void *ctx)
{
	struct relay_job *job;

	if (msg->env->nrcpt == 0 || msg->env->nrcpt > RELAY_RCPT_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (pool->nqueued >= pool->cfg.max_queue) {
		errno = EAGAIN;
		return -1;
	}
	if ((job = job_new(msg)) == NULL)
		return -1;
	job->done = done;
	job->ctx = ctx;
	job->submitted_ms = pool->now_ms;
	if (pool->tail)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pool->nqueued++;
	return 0;
}

/* job_finish - report a job's outcome exactly once, and forget it */
void relay_job_finish(struct relay_conn *c, int code, const char *text,
		      int local)
{
	struct relay_job *job = c->job;
	struct relay_result res;

	if (job == NULL)
		return;
	memset(&res, 0, sizeof(res));
	res.code = code;
	snprintf(res.text, sizeof(res.text), "%s", text);
	res.stage = c->stage;
	res.local = local;
	res.rcpt_code = job->rcpt_code;
	res.nrcpt = job->nrcpt;
	res.elapsed_ms = c->pool->now_ms - job->submitted_ms;
	c->job = NULL;
	c->pool->nactive--;
	job->done(job->ctx, &res);
	job_free(job);
}

/* relay_conn_close - drop the socket; fail a job still on it */
void relay_conn_close(struct relay_conn *c, const char *why)
{
	char text[RELAY_REPLY_MAX];

	if (c->job) {
		snprintf(text, sizeof(text), "4.4.2 downstream %s:%u: %s during %s",
			 c->pool->cfg.host, c->pool->cfg.port, why,
			 relay_stage_name(c->stage));
		relay_job_finish(c, 451, text, 1);
	}
	if (c->fd >= 0) {
		epoll_ctl(c->pool->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = RC_CLOSED;
	c->out_len = c->out_off = 0;
	c->in_len = 0;
}

/* relay_conn_want - keep epoll interest in step with the output buffer */
void relay_conn_want(struct relay_conn *c)
{
	uint32_t want = EPOLLIN;

	if (c->state == RC_CONNECTING || c->out_off < c->out_len
	    || c->state == RC_BODY)
		want |= EPOLLOUT;
	ev_watch(c->pool->epfd, c->fd, c, &c->events, want);
}

/* conn_open - start a non-blocking connect to the downstream */
static int conn_open(struct relay_conn *c)
{
	const struct relay_config *cfg = &c->pool->cfg;
	struct sockaddr_storage ss;
	struct epoll_event ev;
	socklen_t sl;
	int one = 1, fd;

	if (netaddr_parse(cfg->host, cfg->port, &ss, &sl) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(c->pool->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	c->fd = fd;
	c->events = ev.events;
	c->state = RC_CONNECTING;
	c->stage = RELAY_STAGE_CONNECT;
	c->deadline = c->pool->now_ms + cfg->connect_timeout_ms;
	c->in_len = c->out_len = c->out_off = 0;
	memset(&c->caps, 0, sizeof(c->caps));
	return 0;
}

/* dispatch - give queued jobs to idle connections, opening as needed */
static void dispatch(struct relay_pool *pool)
{
	unsigned i;

	for (i = 0; i < pool->cfg.max_conns && pool->head; i++) {
		struct relay_conn *c = &pool->conns[i];

		if (c->job != NULL)
			continue;
		if (c->state != RC_IDLE && c->state != RC_CLOSED)
			continue;	/* still greeting or saying EHLO */
		struct relay_job *job = pool->head;

		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->nqueued--;
		pool->nactive++;
		job->next = NULL;
		c->job = job;
		if (c->state == RC_CLOSED) {
			if (conn_open(c) < 0) {
				char text[RELAY_REPLY_MAX];

				c->stage = RELAY_STAGE_CONNECT;
				snprintf(text, sizeof(text),
					 "4.4.1 downstream %s:%u unreachable: %s",
					 pool->cfg.host, pool->cfg.port,
					 strerror(errno));
				relay_job_finish(c, 451, text, 1);
			}
			continue;	/* the transaction starts after EHLO */
		}
		relay_txn_start(c);
	}
}

/* check_timeouts - a connection past its deadline fails its job */
static void check_timeouts(struct relay_pool *pool)
{
	unsigned i;

	for (i = 0; i < pool->cfg.max_conns; i++) {
		struct relay_conn *c = &pool->conns[i];

		if (c->state == RC_CLOSED || pool->now_ms < c->deadline)
			continue;
		if (c->state == RC_IDLE) {
			relay_conn_quit(c);
			continue;
		}
		relay_conn_close(c, "timed out");
	}
}

/* relay_pool_run - do all pending I/O, timeouts and dispatching */
void relay_pool_run(struct relay_pool *pool, uint64_t now_ms)
{
	struct epoll_event evs[RELAY_EVENTS_BATCH];
	int n, i;

	pool->now_ms = now_ms;
	dispatch(pool);
	while ((n = epoll_wait(pool->epfd, evs, RELAY_EVENTS_BATCH, 0)) > 0) {
		for (i = 0; i < n; i++)
			relay_conn_io(evs[i].data.ptr, evs[i].events);
		dispatch(pool);
		if (n < RELAY_EVENTS_BATCH)
			break;
	}
	check_timeouts(pool);
	dispatch(pool);
}

/* relay_pool_free - close everything; queued jobs get a local 451 */
void relay_pool_free(struct relay_pool *pool)
{
	unsigned i;

	if (pool == NULL)
		return;
	for (i = 0; i < pool->cfg.max_conns; i++)
		if (pool->conns[i].fd >= 0 || pool->conns[i].job)
			relay_conn_close(&pool->conns[i], "relay shut down");
	while (pool->head) {
		struct relay_job *job = pool->head;
		struct relay_result res;

		pool->head = job->next;
		memset(&res, 0, sizeof(res));
		res.code = 451;
		snprintf(res.text, sizeof(res.text),
			 "4.3.0 relay shut down before delivery");
		res.local = 1;
		res.rcpt_code = job->rcpt_code;
		res.nrcpt = job->nrcpt;
		job->done(job->ctx, &res);
		job_free(job);
	}
	close(pool->epfd);
	free(pool->conns);
	free(pool);
}
