/*
 * smtp_harness.c - drive one SMTP session in a test, with a virtual clock
 *
 *	See smtp_harness.h.
 */
#include <stdlib.h>
#include <string.h>

#include "smtp_harness.h"

/* harness_new - defaults, fake upper layer, nothing started */

struct harness *harness_new(void)
{
	struct harness *h = calloc(1, sizeof(*h));

	if (h == NULL)
		abort();
	smtp_config_defaults(&h->cfg);
	h->cfg.hostname = "mx.test";
	fake_upper_init(&h->f);
	h->f.s = &h->s;
	return h;
}

/* harness_drain - move pending replies into h->out */

void harness_drain(struct harness *h)
{
	const uint8_t *p;
	size_t n = smtp_session_output(&h->s, &p);

	if (n > HARNESS_OUT_CAP - 1 - h->out_len)
		n = HARNESS_OUT_CAP - 1 - h->out_len;
	memcpy(h->out + h->out_len, p, n);
	h->out_len += n;
	h->out[h->out_len] = 0;
	smtp_session_output_done(&h->s, n);
}

/* harness_open - start the session and drain the greeting */

void harness_open(struct harness *h)
{
	if (smtp_session_init(&h->s, &h->cfg, &fake_upper_ops, &h->f,
			      "198.18.0.2", 40000, h->f.now) < 0)
		abort();
	harness_drain(h);
}

/* harness_opened - a session past EHLO, replies taken */
struct harness *harness_opened(struct harness *h)
{
	harness_open(h);
	harness_say(h, "EHLO client.test\r\n");
	harness_take(h);
	return h;
}

/* harness_feed - offer bytes until all are taken or the session stops */

size_t harness_feed(struct harness *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t off = 0, n;

	while (off < len) {
		n = smtp_session_input(&h->s, p + off, len - off, h->f.now);
		if (!h->no_drain)
			harness_drain(h);
		off += n;
		if (n == 0)
			break;
	}
	return off;
}

/* harness_feed_bytewise - one input call per byte */

size_t harness_feed_bytewise(struct harness *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (harness_feed(h, p + i, 1) != 1)
			break;
	return i;
}

/* harness_say - feed a string */

size_t harness_say(struct harness *h, const char *str)
{
	return harness_feed(h, str, strlen(str));
}

/* harness_take - replies since the last take */

const char *harness_take(struct harness *h)
{
	memcpy(h->taken, h->out, h->out_len + 1);
	h->out_len = 0;
	h->out[0] = 0;
	return h->taken;
}

/* harness_free - end the session if needed, release */

void harness_free(struct harness *h)
{
	if (h == NULL)
		return;
	fake_upper_free(&h->f);
	free(h);
}
