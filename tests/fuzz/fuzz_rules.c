/*
 * fuzz_rules.c - libFuzzer target: arbitrary text into the rule loader
 *
 *	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * DESCRIPTION
 *	Any byte string must be either accepted (and then freed cleanly) or
 *	refused with a file, a line within the text and a NUL-terminated
 *	reason; never a crash, leak or undefined behaviour. An accepted set
 *	also scans a small message covering every scope through the engine,
 *	so that whatever rules and conditions the fuzzer invents are
 *	evaluated. Hyperscan
 *	compile time grows with pattern size, so inputs are capped at
 *	FUZZ_RULES_MAX bytes to keep executions fast.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "rules.h"

#define FUZZ_RULES_MAX	4096	/* bytes of rule text per execution */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_message[] =
	"From: Winner <w@example.org>\r\nSubject: =?utf-8?q?you_have_won?=\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	"--b\r\nContent-Type: text/html\r\n\r\n<a href=http://198.51.100.7/"
	"login.php>x</a> verify your account\r\n"
	"--b\r\nContent-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-Disposition: attachment; filename=\"a.pdf.exe\"\r\n\r\n"
	"TVqQAAMAAAAEAAAA//8AALgAAAA=\r\n--b--\r\n";

/* fuzz_scan - one message through the engine under an accepted set */
static void fuzz_scan(const struct ruleset *rs)
{
	static const char *const rcpt[] = {"a@example.net", "b@example.com"};
	const struct envelope env = {"198.51.100.7", "", "localhost",
				     "s@example.org", rcpt, 2};
	struct engine_worker *w = engine_worker_new(rs);
	struct engine_msg *m;
	struct verdict v;

	if (w == NULL)
		return;
	if ((m = engine_msg_begin(w, rs, &env)) != NULL) {
		if (engine_msg_feed(m, fuzz_message, sizeof(fuzz_message) - 1)
		    == 0 && engine_msg_end(m, &v) == 0) {
			if ((unsigned) v.action >= ACT_COUNT)
				abort();
			verdict_free(&v);
		}
		engine_msg_free(m);
	}
	engine_worker_free(w);
}

/* LLVMFuzzerTestOneInput - load, check the outcome, free */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules_error err;
	struct ruleset *rs;
	size_t  lines = 1;

	if (size > FUZZ_RULES_MAX)
		return 0;
	rs = rules_load_buffer("fuzz.rules", (const char *) data, size, &err);
	if (rs != NULL) {
		(void) rules_count(rs);
		if (strlen(rules_version(rs)) != 16)
			abort();
		fuzz_scan(rs);
		rules_free(rs);
		return 0;
	}
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (err.line < 0 || (size_t) err.line > lines
	    || memchr(err.msg, '\0', sizeof(err.msg)) == NULL
	    || err.msg[0] == '\0')
		abort();
	return 0;
}
