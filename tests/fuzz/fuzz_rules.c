/*
 * fuzz_rules.c - libFuzzer target: arbitrary text into the rule loader
 *
 *	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 *
 * DESCRIPTION
 *	Any byte string must be either accepted (and then freed cleanly) or
 *	refused with a file, a line within the text and a NUL-terminated
 *	reason; never a crash, leak or undefined behaviour. Hyperscan
 *	compile time grows with pattern size, so inputs are capped at
 *	FUZZ_RULES_MAX bytes to keep executions fast.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define FUZZ_RULES_MAX	4096	/* bytes of rule text per execution */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
