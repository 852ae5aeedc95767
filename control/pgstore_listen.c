/*
 * pgstore_listen.c - LISTEN/NOTIFY: the store's listener thread
 *
 *	int pgstore_listen(struct pgstore *s, const char *channel,
 *			void (*cb)(void *ctx, const char *payload), void *ctx);
 *	int pgstore_listen_catchup(struct pgstore *s, const char *channel,
 *			void (*cb)(void *ctx, const char *payload), void *ctx);
 *	int pgstore_unlisten(struct pgstore *s, const char *channel,
 *			void (*cb)(void *ctx, const char *payload), void *ctx);
 *	void pgstore_listener_stop(struct pgstore *s);
 *
 * DESCRIPTION
 *	The first pgstore_listen() starts a thread with its own connection
 *	that LISTENs on every registered channel and calls their callbacks
 *	with each notification's payload. After an outage it reconnects
 *	every PGSTORE_RECONNECT_MS and LISTENs again; notifications sent
 *	while it was disconnected are lost (PostgreSQL does not keep them),
 *	so a consumer that must not miss a change also re-reads the state
 *	now and then (e.g. pgstore_rules_get(NULL) for the active rules).
 *
 *	pgstore_listen() returns once the LISTEN is in place (a notification
 *	sent after it returns reaches cb), or after PGSTORE_LISTEN_WAIT_MS
 *	when the database is down.
 *
 *	pgstore_listen_catchup() registers the same way and also tells cb
 *	of every gap: cb(ctx, NULL) on the listener thread once the LISTEN
 *	is in place again on a new connection after the old one was lost,
 *	or first in place when pgstore_listen_catchup() gave up waiting for
 *	it. Whatever changed during the gap is then to be read back; what
 *	changes after that call is notified.
 *
 *	pgstore_unlisten() removes what pgstore_listen(channel, cb, ctx)
 *	added; when it returns, cb is not running and will not be called
 *	again with ctx (called from a callback itself, it cannot wait for
 *	that callback to end). The LISTEN itself stays until the connection
 *	is closed: notifications for a channel nobody wants are dropped.
 *
 *	Channel names are SQL identifiers made of [a-z0-9_], at most
 *	63 bytes: they are put into the LISTEN command as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgstore_int.h"

/* channel_ok - a plain lower-case identifier */
static int channel_ok(const char *ch)
{
	size_t n = strlen(ch);

	return n > 0 && n < sizeof(((struct pgstore_channel *)0)->name)
	       && strspn(ch, "abcdefghijklmnopqrstuvwxyz0123456789_") == n
	       && !(ch[0] >= '0' && ch[0] <= '9');
}

/* dispatch - every pending notification to its channel's callbacks */
static void dispatch(struct pgstore *s, PGconn *c)
{
	PGnotify *n;
	size_t i;

	while ((n = PQnotifies(c)) != NULL) {
		struct pgstore_channel hit[PGSTORE_CHANNELS_MAX];
		size_t nhit = 0;

		/* callbacks run without the lock (they may call the store);
		 * pgstore_unlisten() waits for dispatching to drop to 0 */
		pthread_mutex_lock(&s->llock);
		for (i = 0; i < s->nchannels; i++)
			if (strcmp(s->channels[i].name, n->relname) == 0)
				hit[nhit++] = s->channels[i];
		s->ldispatching = nhit > 0;
		pthread_mutex_unlock(&s->llock);
		for (i = 0; i < nhit; i++)
			hit[i].cb(hit[i].ctx, n->extra);
		pthread_mutex_lock(&s->llock);
		s->ldispatching = 0;
		pthread_cond_broadcast(&s->lcond);
		pthread_mutex_unlock(&s->llock);
		PQfreemem(n);
	}
}

/* catch_up - tell the catch-up channels LISTENed again of their gap */
static void catch_up(struct pgstore *s)
{
	struct pgstore_channel hit[PGSTORE_CHANNELS_MAX];
	size_t i, nhit = 0;

	pthread_mutex_lock(&s->llock);
	for (i = 0; i < s->nchannels; i++)
		if (s->channels[i].resync && s->channels[i].listening) {
			s->channels[i].resync = 0;
			hit[nhit++] = s->channels[i];
		}
	s->ldispatching = nhit > 0;
	pthread_mutex_unlock(&s->llock);
	if (nhit == 0)
		return;
	for (i = 0; i < nhit; i++)
		hit[i].cb(hit[i].ctx, NULL);
	pthread_mutex_lock(&s->llock);
	s->ldispatching = 0;
	pthread_cond_broadcast(&s->lcond);
	pthread_mutex_unlock(&s->llock);
}

/* listen_new - LISTEN on every channel not yet LISTENed on this
 * connection; -1 on failure */
static int listen_new(struct pgstore *s, PGconn *c)
{
	for (;;) {
		char sql[96], name[sizeof(s->channels[0].name)];
		PGresult *r;
		size_t i;
		int ok;

		pthread_mutex_lock(&s->llock);
		for (i = 0; i < s->nchannels && s->channels[i].listening; i++)
			;
		if (i == s->nchannels) {
			pthread_mutex_unlock(&s->llock);
			return 0;
		}
		snprintf(name, sizeof(name), "%s", s->channels[i].name);
		pthread_mutex_unlock(&s->llock);
		snprintf(sql, sizeof(sql), "LISTEN %s", name);
		r = pgstore_exec_timed(c, sql, 0, NULL, NULL, NULL, 0,
				       PGSTORE_QUERY_TIMEOUT_MS);
		ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			fprintf(stderr, "mxgate: pgstore: %s: %s", sql,
				r ? PQresultErrorMessage(r) : "no answer\n");
		PQclear(r);
		if (!ok)
			return -1;
		/* every entry of that channel is served now */
		pthread_mutex_lock(&s->llock);
		for (i = 0; i < s->nchannels; i++)
			if (strcmp(s->channels[i].name, name) == 0)
				s->channels[i].listening = 1;
		pthread_cond_broadcast(&s->lcond);
		pthread_mutex_unlock(&s->llock);
	}
}

/* not_listening - after a connection was lost, everything again */
static void not_listening(struct pgstore *s)
{
	size_t i;

	pthread_mutex_lock(&s->llock);
	for (i = 0; i < s->nchannels; i++) {
		/* what is sent until the next LISTEN is lost */
		if (s->channels[i].listening && s->channels[i].catchup)
			s->channels[i].resync = 1;
		s->channels[i].listening = 0;
	}
	pthread_mutex_unlock(&s->llock);
}

/* listener_main - the listener thread */
static void *listener_main(void *arg)
{
	struct pgstore *s = arg;
	PGconn *c = NULL;
	char err[512], buf[64];
	int said = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->lwake[0], .events = POLLIN },
				       { .fd = -1, .events = POLLIN } };

		if (c == NULL) {
			not_listening(s);
			if ((c = pgstore_connect(s, NULL, err, sizeof(err))) == NULL
			    && !said++)
				fprintf(stderr, "mxgate: pgstore: listener: %s\n", err);
		}
		if (c && listen_new(s, c) < 0) {
			PQfinish(c);
			c = NULL;
		}
		if (c) {
			said = 0;
			p[1].fd = PQsocket(c);
			dispatch(s, c);	/* read with a LISTEN's answer */
			catch_up(s);
		}
		if (poll(p, 2, c ? -1 : PGSTORE_RECONNECT_MS) < 0 && errno != EINTR)
			break;
		/* a new channel, or the write end closed: stop */
		if (p[0].revents && read(s->lwake[0], buf, sizeof(buf)) == 0)
			break;
		if (c && p[1].revents) {
			/* a terminated backend's FATAL may be read before the
			 * end of the stream: the status says it is gone */
			if (!PQconsumeInput(c) || PQstatus(c) == CONNECTION_BAD) {
				fprintf(stderr, "mxgate: pgstore: listener lost its"
					" connection: %s", PQerrorMessage(c));
				PQfinish(c);
				c = NULL;
				continue;
			}
			dispatch(s, c);
		}
	}
	if (c)
		PQfinish(c);
	return NULL;
}

/* all_listening - every registered channel is LISTENed (llock held) */
static int all_listening(const struct pgstore *s)
{
	for (size_t i = 0; i < s->nchannels; i++)
		if (!s->channels[i].listening)
			return 0;
	return 1;
}

/* listen_add - register cb for channel, wait for the LISTEN */
static int listen_add(struct pgstore *s, const char *channel,
		      void (*cb)(void *ctx, const char *payload), void *ctx,
		      int catchup)
{
	struct pgstore_channel *ch;
	int rc = 0, e;

	if (!channel_ok(channel) || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&s->llock);
	if (s->nchannels == PGSTORE_CHANNELS_MAX) {
		pthread_mutex_unlock(&s->llock);
		errno = ENOSPC;
		return -1;
	}
	ch = &s->channels[s->nchannels++];
	snprintf(ch->name, sizeof(ch->name), "%s", channel);
	ch->cb = cb;
	ch->ctx = ctx;
	ch->listening = 0;
	ch->catchup = catchup;
	ch->resync = 0;
	for (size_t i = 0; i + 1 < s->nchannels; i++)	/* already LISTENed */
		if (strcmp(s->channels[i].name, channel) == 0
		    && s->channels[i].listening)
			ch->listening = 1;
	if (!s->listener_started) {
		if (pipe2(s->lwake, O_CLOEXEC | O_NONBLOCK) < 0) {
			rc = -1;
		} else if ((e = pthread_create(&s->listener, NULL, listener_main,
					       s)) != 0) {
			close(s->lwake[0]);
			close(s->lwake[1]);
			s->lwake[0] = s->lwake[1] = -1;
			errno = e;
			rc = -1;
		} else {
			s->listener_started = 1;
		}
		if (rc < 0)
			s->nchannels--;
	} else if (write(s->lwake[1], "c", 1) < 0 && errno != EAGAIN) {
		rc = -1;
	}
	/* notifications sent after we return must reach cb: wait for the
	 * LISTEN, unless the database is down (it follows on reconnect) */
	if (rc == 0) {
		uint64_t until = pgstore_now_ms() + PGSTORE_LISTEN_WAIT_MS;
		struct timespec ts = { .tv_sec = (time_t)(until / 1000),
			.tv_nsec = (long)(until % 1000) * 1000000 };

		while (!all_listening(s)
		       && pthread_cond_timedwait(&s->lcond, &s->llock, &ts) == 0)
			;
		/* not in place yet: the caller's read may miss what comes
		 * before it is (the entry may have moved: find it again) */
		for (size_t i = 0; catchup && i < s->nchannels; i++) {
			ch = &s->channels[i];
			if (ch->cb == cb && ch->ctx == ctx && !ch->listening
			    && strcmp(ch->name, channel) == 0)
				ch->resync = 1;
		}
	}
	pthread_mutex_unlock(&s->llock);
	return rc;
}

/* pgstore_listen - call cb for each NOTIFY on channel */
int pgstore_listen(struct pgstore *s, const char *channel,
		   void (*cb)(void *ctx, const char *payload), void *ctx)
{
	return listen_add(s, channel, cb, ctx, 0);
}

/* pgstore_listen_catchup - pgstore_listen(), and cb(ctx, NULL) after gaps */
int pgstore_listen_catchup(struct pgstore *s, const char *channel,
			   void (*cb)(void *ctx, const char *payload), void *ctx)
{
	return listen_add(s, channel, cb, ctx, 1);
}

/* pgstore_unlisten - no more calls of cb with ctx for channel */
int pgstore_unlisten(struct pgstore *s, const char *channel,
		     void (*cb)(void *ctx, const char *payload), void *ctx)
{
	size_t i, k, removed = 0;

	pthread_mutex_lock(&s->llock);
	for (i = k = 0; i < s->nchannels; i++) {
		struct pgstore_channel *ch = &s->channels[i];

		if (strcmp(ch->name, channel) == 0 && ch->cb == cb && ch->ctx == ctx) {
			removed++;
			continue;
		}
		s->channels[k++] = *ch;
	}
	s->nchannels = k;
	/* a callback copied before the removal may still be running */
	if (s->listener_started && !pthread_equal(pthread_self(), s->listener))
		while (s->ldispatching)
			pthread_cond_wait(&s->lcond, &s->llock);
	pthread_mutex_unlock(&s->llock);
	if (removed == 0) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* pgstore_listener_stop - end the thread (closing the pipe wakes it) */
void pgstore_listener_stop(struct pgstore *s)
{
	pthread_mutex_lock(&s->llock);
	if (!s->listener_started) {
		pthread_mutex_unlock(&s->llock);
		return;
	}
	close(s->lwake[1]);
	s->lwake[1] = -1;
	pthread_mutex_unlock(&s->llock);
	pthread_join(s->listener, NULL);
	close(s->lwake[0]);
	s->lwake[0] = -1;
	s->listener_started = 0;
}
