/*
 * smtp_speed - how fast one SMTP session parses, without I/O or scanning
 *
 *	smtp_speed [message-octets [messages]]
 *
 * DESCRIPTION
 *	Runs messages transactions (EHLO once, then MAIL, RCPT, DATA with a
 *	message of message-octets in 78-octet lines, some dot-stuffed, then
 *	the dot) through one session in 16 KB writes, with an upper layer
 *	that only counts. Prints messages/s, content MB/s and ns per message
 *	of this thread's CPU time. Not a test: a figure for the benchmarks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp_session.h"

#define SPEED_WRITE	16384

struct counter {
	struct smtp_session *s;
	uint64_t octets, ends;
};

static int sp_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct counter *c = ctx;

	c->octets += len;
	return 0;
}

static void sp_end(void *ctx, const struct smtp_txn *t)
{
	struct counter *c = ctx;

	c->ends++;
	smtp_session_message_result(c->s, 250, "2.0.0", "Ok", 0);
}

static const struct smtp_ops speed_ops = {
	.msg_data = sp_data,
	.msg_end = sp_end,
};

/* feed - all of buf, draining replies as a transport would */
static void feed(struct smtp_session *s, const uint8_t *buf, size_t len)
{
	const uint8_t *p;
	size_t off = 0, n, step;

	while (off < len) {
		step = len - off < SPEED_WRITE ? len - off : SPEED_WRITE;
		n = smtp_session_input(s, buf + off, step, 0);
		off += n;
		smtp_session_output_done(s, smtp_session_output(s, &p));
		if (n == 0) {
			fprintf(stderr, "smtp_speed: session stalled\n");
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 2048;
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	static struct smtp_session s;
	struct smtp_config cfg;
	struct counter c = { &s, 0, 0 };
	struct timespec t0, t1;
	const char *head = "MAIL FROM:<sender@example.test> SIZE=100000\r\n"
		"RCPT TO:<rcpt@example.test>\r\nDATA\r\n";
	uint8_t *msg;
	size_t len = 0, i;
	double secs;
	unsigned long k;

	msg = malloc(size + strlen(head) + 200);
	if (msg == NULL)
		return 1;
	memcpy(msg, head, strlen(head));
	len = strlen(head);
	for (i = 0; len < strlen(head) + size; i++) {
		if (i % 80 == 78) {
			msg[len++] = '\r';
		} else if (i % 80 == 79) {
			msg[len++] = '\n';
		} else if (i % 800 == 0) {
			msg[len++] = '.';	/* a stuffed dot now and then */
		} else {
			msg[len++] = (uint8_t) ('a' + i % 26);
		}
	}
	memcpy(msg + len, "\r\n.\r\n", 5);
	len += 5;

	smtp_config_defaults(&cfg);
	cfg.junk_max = 1000000;
	if (smtp_session_init(&s, &cfg, &speed_ops, &c, "198.18.0.2", 1, 0) < 0)
		return 1;
	feed(&s, (const uint8_t *) "EHLO speed.test\r\n", 17);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (k = 0; k < count; k++)
		feed(&s, msg, len);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	secs = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (c.ends != count) {
		fprintf(stderr, "smtp_speed: %llu of %lu messages ended\n",
			(unsigned long long) c.ends, count);
		return 1;
	}
	printf("%zu-octet messages: %lu in %.3f s CPU: %.0f msg/s, "
	       "%.0f MB/s content, %.0f ns/msg\n", size, count, secs,
	       count / secs, c.octets / secs / 1e6, secs * 1e9 / count);
	free(msg);
	return 0;
}
