/*
 * scan.c - Hyperscan block and stream scanning for one worker
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
 *	See scan.h. The scratch belongs to the worker; the streams belong to
 *	a message (many messages of one worker stream at once: one per SMTP
 *	session in DATA). A message's streams are opened once and reused
 *	with hs_reset_stream() part after part, and the engine keeps them
 *	with the message object it recycles: measured against
 *	hs_open_stream/hs_close_stream per part, reuse avoids one malloc and
 *	free per part and message (see docs/rules.md, "Performance").
 *
 *	Field filter: a block scope (header, envelope) whose every pattern
 *	rule is restricted to a field can only report a rule for a field
 *	named by one of them; scan_on_match() would drop every other match.
 *	So scan_worker_bind() lists those names, and scan_block() skips the
 *	hs_scan of any other field (Received, Date, Message-ID, ...): the
 *	same hits, without a Hyperscan call per header field (the bulk of
 *	the per-message cost of a 2 KB message). A scope with a rule for
 *	any field, or with more than SCAN_FIELDS_MAX names, scans all.
 *
 * DIAGNOSTICS
 *	Every hs_* failure is reported through scan_error() as
 *	"<call> (<scope>): hs error <code>" and errno EIO.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan.h"

#define SCAN_FIELDS_MAX	16	/* names of the field filter of a scope;
				 * more and every field is scanned */

/* The fields a block scope's rules can match; see "Field filter". */
struct scan_fields {
	int     all;		/* some rule matches any field */
	unsigned n;
	const char *name[SCAN_FIELDS_MAX];	/* owned by the rule set */
	size_t  len[SCAN_FIELDS_MAX];
};

struct scan_worker {
	const struct ruleset *rs;
	hs_scratch_t *scratch;
	struct scan_fields fields[SCOPE_COUNT];
	char    err[SCAN_ERROR_MAX];
};

/* What the match callback needs: who to tell, and the field filter. */
struct scan_call {
	const struct ruleset *rs;
	const char *field;
	size_t  field_len;
	scan_hit_fn hit;
	void   *ctx;
};

/* scan_fail - record a Hyperscan failure for scan_error() */
static int scan_fail(struct scan_worker *sw, const char *call, enum scope s,
		     hs_error_t rc)
{
	snprintf(sw->err, sizeof(sw->err), "%s (%s scope): hs error %d",
		 call, scope_name(s), (int) rc);
	errno = rc == HS_NOMEM ? ENOMEM : EIO;
	return -1;
}

/* scan_is_stream_scope - whether s is scanned in streaming mode */
static int scan_is_stream_scope(enum scope s)
{
	return s == SCOPE_BODY || s == SCOPE_ATTACHMENT || s == SCOPE_RAW;
}

/* scan_on_match - Hyperscan callback: filter by field, report the rule */
static int scan_on_match(unsigned int id, unsigned long long from,
			 unsigned long long to, unsigned int flags, void *arg)
{
	struct scan_call *call = arg;
	const struct rule *r = &call->rs->rules[id];

	(void) from;
	(void) to;
	(void) flags;
	if (r->cond.field != NULL
	    && (call->field == NULL
		|| strncasecmp(r->cond.field, call->field,
			       call->field_len) != 0
		|| r->cond.field[call->field_len] != '\0'))
		return 0;
	call->hit(call->ctx, id);
	return 0;
}

/* scan_fields_build - the field filter of every block scope of rs */
static void scan_fields_build(struct scan_worker *sw, const struct ruleset *rs)
{
	memset(sw->fields, 0, sizeof(sw->fields));
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		struct scan_fields *f = &sw->fields[r->scope];
		unsigned k;

		if (r->pattern == NULL || f->all)
			continue;
		if (r->cond.field == NULL || f->n == SCAN_FIELDS_MAX) {
			f->all = 1;
			continue;
		}
		for (k = 0; k < f->n; k++)
			if (strcasecmp(f->name[k], r->cond.field) == 0)
				break;
		if (k == f->n) {
			f->len[f->n] = strlen(r->cond.field);
			f->name[f->n++] = r->cond.field;
		}
	}
}

/* scan_field_wanted - whether some rule of scope s may match this field */
static int scan_field_wanted(const struct scan_worker *sw, enum scope s,
			     const char *field, size_t field_len)
{
	const struct scan_fields *f = &sw->fields[s];

	if (f->all)
		return 1;
	if (field == NULL)
		return 0;
	for (unsigned k = 0; k < f->n; k++)
		if (f->len[k] == field_len
		    && (f->name[k][0] | 0x20) == (field[0] | 0x20)
		    && strncasecmp(f->name[k], field, field_len) == 0)
			return 1;
	return 0;
}

/* scan_release - free the scratch */
static void scan_release(struct scan_worker *sw)
{
	if (sw->scratch != NULL)
		(void) hs_free_scratch(sw->scratch);
	sw->scratch = NULL;
	sw->rs = NULL;
}

/* scan_worker_bind - size the scratch for every database of rule set rs */
int scan_worker_bind(struct scan_worker *sw, const struct ruleset *rs)
{
	hs_error_t rc;

	scan_release(sw);
	for (int s = 0; s < SCOPE_COUNT; s++) {
		if (rs->db[s] == NULL)
			continue;
		/* one scratch big enough for every database */
		rc = hs_alloc_scratch(rs->db[s], &sw->scratch);
		if (rc != HS_SUCCESS)
			return scan_fail(sw, "hs_alloc_scratch", s, rc);
	}
	scan_fields_build(sw, rs);
	sw->rs = rs;
	return 0;
}

/* scan_streams_open - one stream per stream scope that has a database */
int scan_streams_open(struct scan_worker *sw, struct scan_streams *ss)
{
	hs_error_t rc;

	memset(ss, 0, sizeof(*ss));
	for (int s = 0; s < SCOPE_COUNT; s++) {
		if (sw->rs->db[s] == NULL || !scan_is_stream_scope(s))
			continue;
		rc = hs_open_stream(sw->rs->db[s], 0, &ss->stream[s]);
		if (rc != HS_SUCCESS) {
			scan_streams_close(ss);
			return scan_fail(sw, "hs_open_stream", s, rc);
		}
	}
	return 0;
}

/* scan_streams_close - close every stream, reporting nothing */
void scan_streams_close(struct scan_streams *ss)
{
	for (int s = 0; s < SCOPE_COUNT; s++) {
		if (ss->stream[s] != NULL)
			(void) hs_close_stream(ss->stream[s], NULL, NULL, NULL);
		ss->stream[s] = NULL;
		ss->dirty[s] = 0;
	}
}

/* scan_worker_new - a scan worker bound to rs */
struct scan_worker *scan_worker_new(const struct ruleset *rs)
{
	struct scan_worker *sw = calloc(1, sizeof(*sw));

	if (sw == NULL)
		return NULL;
	if (scan_worker_bind(sw, rs) < 0) {
		int saved = errno;

		scan_worker_free(sw);
		errno = saved;
		return NULL;
	}
	return sw;
}

/* scan_worker_clone - the same rule set and field filter, a scratch of
 * its own (hs_clone_scratch: no database is walked again) */
struct scan_worker *scan_worker_clone(const struct scan_worker *proto)
{
	struct scan_worker *sw = calloc(1, sizeof(*sw));
	hs_error_t rc;

	if (sw == NULL)
		return NULL;
	memcpy(sw->fields, proto->fields, sizeof(sw->fields));
	sw->rs = proto->rs;
	if (proto->scratch != NULL
	    && (rc = hs_clone_scratch(proto->scratch, &sw->scratch))
	    != HS_SUCCESS) {
		free(sw);
		errno = rc == HS_NOMEM ? ENOMEM : EIO;
		return NULL;
	}
	return sw;
}

/* scan_worker_scratch_size - bytes of the worker's scratch, 0 if none */
size_t scan_worker_scratch_size(const struct scan_worker *sw)
{
	size_t  n = 0;

	if (sw->scratch == NULL || hs_scratch_size(sw->scratch, &n) != HS_SUCCESS)
		return 0;
	return n;
}

/* scan_worker_free - release everything the worker holds */
void scan_worker_free(struct scan_worker *sw)
{
	if (sw == NULL)
		return;
	scan_release(sw);
	free(sw);
}

/* scan_block - scan one field value, URL or envelope item */
int scan_block(struct scan_worker *sw, enum scope s,
	       const char *field, size_t field_len,
	       const void *buf, size_t len, scan_hit_fn hit, void *ctx)
{
	hs_error_t rc;

	/* most header fields stop here: nothing is set up before */
	if (sw->rs->db[s] == NULL
	    || !scan_field_wanted(sw, s, field, field_len))
		return 0;

	struct scan_call call = { sw->rs, field, field_len, hit, ctx };

	rc = hs_scan(sw->rs->db[s], buf, (unsigned) len, 0, sw->scratch,
		     scan_on_match, &call);
	if (rc != HS_SUCCESS)
		return scan_fail(sw, "hs_scan", s, rc);
	return 0;
}

/* scan_stream - scan the next chunk of the current part or message */
int scan_stream(struct scan_worker *sw, struct scan_streams *ss, enum scope s,
		const void *buf, size_t len, scan_hit_fn hit, void *ctx)
{
	struct scan_call call = { sw->rs, NULL, 0, hit, ctx };
	hs_error_t rc;

	if (sw->rs->db[s] == NULL || len == 0)
		return 0;
	if (ss->stream[s] == NULL)	/* lost in scan_stream_abort */
		return scan_fail(sw, "hs_open_stream", s, HS_NOMEM);
	ss->dirty[s] = 1;
	rc = hs_scan_stream(ss->stream[s], buf, (unsigned) len, 0,
			    sw->scratch, scan_on_match, &call);
	if (rc != HS_SUCCESS)
		return scan_fail(sw, "hs_scan_stream", s, rc);
	return 0;
}

/* scan_stream_end - report end-of-data matches and rewind the stream */
int scan_stream_end(struct scan_worker *sw, struct scan_streams *ss,
		    enum scope s, scan_hit_fn hit, void *ctx)
{
	struct scan_call call = { sw->rs, NULL, 0, hit, ctx };
	hs_error_t rc;

	if (ss->stream[s] == NULL || !ss->dirty[s])
		return 0;
	ss->dirty[s] = 0;
	rc = hs_reset_stream(ss->stream[s], 0, sw->scratch, scan_on_match,
			     &call);
	if (rc != HS_SUCCESS)
		return scan_fail(sw, "hs_reset_stream", s, rc);
	return 0;
}

/* scan_stream_abort - rewind every stream, reporting nothing */
void scan_stream_abort(struct scan_worker *sw, struct scan_streams *ss)
{
	for (int s = 0; s < SCOPE_COUNT; s++) {
		if (ss->stream[s] == NULL || !ss->dirty[s])
			continue;
		ss->dirty[s] = 0;
		/* no scratch: Hyperscan discards pending matches */
		if (hs_reset_stream(ss->stream[s], 0, NULL, NULL, NULL)
		    != HS_SUCCESS) {
			/* a stream we cannot rewind is replaced */
			(void) hs_close_stream(ss->stream[s], NULL, NULL, NULL);
			ss->stream[s] = NULL;
			if (hs_open_stream(sw->rs->db[s], 0, &ss->stream[s])
			    != HS_SUCCESS)
				ss->stream[s] = NULL;
		}
	}
}

/* scan_error - the last failure, "" if none */
const char *scan_error(const struct scan_worker *sw)
{
	return sw->err;
}
