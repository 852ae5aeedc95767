/*
 * scan.h - Hyperscan scanning for one worker, private to engine/
 *
 *	struct scan_worker *scan_worker_new(const struct ruleset *rs);
 *	int scan_worker_bind(struct scan_worker *sw, const struct ruleset *rs);
 *	struct scan_worker *scan_worker_clone(const struct scan_worker *proto);
 *	size_t scan_worker_scratch_size(const struct scan_worker *sw);
 *	void scan_worker_free(struct scan_worker *sw);
 *	int scan_block(struct scan_worker *sw, enum scope s,
 *			const char *field, size_t field_len,
 *			const void *buf, size_t len, scan_hit_fn hit, void *ctx);
 *	int scan_streams_open(struct scan_worker *sw, struct scan_streams *ss);
 *	void scan_streams_close(struct scan_streams *ss);
 *	int scan_stream(struct scan_worker *sw, struct scan_streams *ss,
 *			enum scope s, const void *buf, size_t len,
 *			scan_hit_fn hit, void *ctx);
 *	int scan_stream_end(struct scan_worker *sw, struct scan_streams *ss,
 *			enum scope s, scan_hit_fn hit, void *ctx);
 *	void scan_stream_abort(struct scan_worker *sw, struct scan_streams *ss);
 *	const char *scan_error(const struct scan_worker *sw);
 *
 * DESCRIPTION
 *	A scan worker owns one Hyperscan scratch, allocated for every
 *	database of its rule set; scan_worker_clone() makes another worker
 *	for the same set with hs_clone_scratch (a rule swap prepares one per
 *	thread that way, off the data path). A message owns a struct scan_streams: one
 *	open stream per stream scope (body, attachment, raw), so that any
 *	number of messages of one worker can be in progress at once (one per
 *	SMTP session in DATA). Streams are never closed between parts:
 *	scan_stream_end() reports end-of-data matches and resets the stream
 *	in place (hs_reset_stream), and the engine recycles a message's
 *	streams with the message, so steady-state scanning allocates nothing.
 *
 *	scan_block() scans one header field value, URL or envelope item; a
 *	rule restricted to a field (header name, envelope field) is reported
 *	only when field matches it, without regard to case.
 *
 *	hit() is called with the rule index for every match; a rule is
 *	reported at most once per block or per stream (HS_FLAG_SINGLEMATCH).
 *	A scope without a database is accepted and scans nothing.
 *
 * DIAGNOSTICS
 *	Functions returning int return 0, or -1 with errno set (ENOMEM,
 *	EIO for a Hyperscan failure) and a message for scan_error() naming
 *	the hs_* call and its error code.
 */
#ifndef MX_SCAN_H
#define MX_SCAN_H

#include <stddef.h>

#include "ruleset.h"

#define SCAN_ERROR_MAX	160	/* bytes of the last error message */

typedef void (*scan_hit_fn)(void *ctx, unsigned rule);

struct scan_worker;

/* The Hyperscan streams of one message. */
struct scan_streams {
	hs_stream_t *stream[SCOPE_COUNT];	/* stream scopes only */
	unsigned char dirty[SCOPE_COUNT];	/* data since last reset */
};

struct scan_worker *scan_worker_new(const struct ruleset *rs);
int scan_worker_bind(struct scan_worker *sw, const struct ruleset *rs);
struct scan_worker *scan_worker_clone(const struct scan_worker *proto);
size_t scan_worker_scratch_size(const struct scan_worker *sw);
void scan_worker_free(struct scan_worker *sw);
int scan_block(struct scan_worker *sw, enum scope s,
	       const char *field, size_t field_len,
	       const void *buf, size_t len, scan_hit_fn hit, void *ctx);
int scan_streams_open(struct scan_worker *sw, struct scan_streams *ss);
void scan_streams_close(struct scan_streams *ss);
int scan_stream(struct scan_worker *sw, struct scan_streams *ss, enum scope s,
		const void *buf, size_t len, scan_hit_fn hit, void *ctx);
int scan_stream_end(struct scan_worker *sw, struct scan_streams *ss,
		    enum scope s, scan_hit_fn hit, void *ctx);
void scan_stream_abort(struct scan_worker *sw, struct scan_streams *ss);
const char *scan_error(const struct scan_worker *sw);

#endif
