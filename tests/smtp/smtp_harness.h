/*
 * smtp_harness.h - drive one SMTP session in a test, with a virtual clock
 *
 *	struct harness *harness_new(void);
 *	void harness_open(struct harness *h);
 *	struct harness *harness_opened(struct harness *h);
 *	size_t harness_feed(struct harness *h, const void *buf, size_t len);
 *	size_t harness_feed_bytewise(struct harness *h, const void *buf,
 *			size_t len);
 *	size_t harness_say(struct harness *h, const char *str);
 *	const char *harness_take(struct harness *h);
 *	void harness_free(struct harness *h);
 *
 * DESCRIPTION
 *	harness_new() gives default config (hostname "mx.test") and a fake
 *	upper layer; tests change h->cfg or h->f before harness_open(),
 *	which starts the session at h->f.now and drains the greeting;
 *	harness_opened() also says EHLO and forgets the replies, for tests
 *	that start past the greeting.
 *	harness_feed() offers bytes until the session stops taking them,
 *	draining replies after every call into h->out; it returns how many
 *	were taken. harness_take() returns the replies gathered since the
 *	last take and forgets them.
 */
#ifndef MX_SMTP_HARNESS_H
#define MX_SMTP_HARNESS_H

#include "fake_upper.h"

#define HARNESS_OUT_CAP	(256 * 1024)

struct harness {
	struct smtp_config cfg;
	struct fake_upper f;
	struct smtp_session s;
	bool no_drain;		/* let output pile up (backpressure tests) */
	size_t out_len;
	char out[HARNESS_OUT_CAP];
	char taken[HARNESS_OUT_CAP];
};

struct harness *harness_new(void);
void harness_open(struct harness *h);
struct harness *harness_opened(struct harness *h);
void harness_drain(struct harness *h);
size_t harness_feed(struct harness *h, const void *buf, size_t len);
size_t harness_feed_bytewise(struct harness *h, const void *buf, size_t len);
size_t harness_say(struct harness *h, const char *str);
const char *harness_take(struct harness *h);
void harness_free(struct harness *h);

#endif
