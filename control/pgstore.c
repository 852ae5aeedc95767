/*
 * pgstore.c - the PostgreSQL store (stub: every call fails for now)
 *
 *	See pgstore.h.
 */
#include <errno.h>
#include <stdio.h>

#include "pgstore.h"

/* pgstore_open - not yet implemented */
struct pgstore *pgstore_open(const struct pgstore_config *cfg, char *err,
			     size_t errlen)
{
	snprintf(err, errlen, "pgstore: not implemented yet");
	errno = ENOSYS;
	return NULL;
}

/* pgstore_close - nothing to do yet */
void pgstore_close(struct pgstore *s) { }

/* pgstore_log - stub */
int pgstore_log(struct pgstore *s, const struct msglog_entry *e) { return -1; }

/* pgstore_quarantine_put - stub */
int pgstore_quarantine_put(struct pgstore *s, const char *qid,
			   const char *meta_json, const struct iovec *iov,
			   size_t niov, char *err, size_t errlen)
{
	snprintf(err, errlen, "pgstore: not implemented yet");
	return -1;
}

/* pgstore_quarantine_list - stub */
int pgstore_quarantine_list(struct pgstore *s, const struct pgstore_query *q,
			    char **json) { return -1; }

/* pgstore_quarantine_get - stub */
int pgstore_quarantine_get(struct pgstore *s, const char *qid, char **msg,
			   size_t *len, char **meta_json) { return -1; }

/* pgstore_quarantine_delete - stub */
int pgstore_quarantine_delete(struct pgstore *s, const char *qid,
			      const char *actor) { return -1; }

/* pgstore_messages_search - stub */
int pgstore_messages_search(struct pgstore *s, const struct pgstore_query *q,
			    char **json) { return -1; }

/* pgstore_audit - stub */
int pgstore_audit(struct pgstore *s, const char *actor, const char *action,
		  const char *detail_json) { return -1; }

/* pgstore_rules_put - stub */
int pgstore_rules_put(struct pgstore *s, const char *version, const void *blob,
		      size_t len, const char *actor) { return -1; }

/* pgstore_rules_get - stub */
int pgstore_rules_get(struct pgstore *s, const char *version, void **blob,
		      size_t *len, char *version_out, size_t vlen) { return -1; }

/* pgstore_rules_set_active - stub */
int pgstore_rules_set_active(struct pgstore *s, const char *version,
			     const char *actor) { return -1; }

/* pgstore_listen - stub */
int pgstore_listen(struct pgstore *s, const char *channel,
		   void (*cb)(void *ctx, const char *payload), void *ctx) { return -1; }

/* pgstore_stats - stub */
int pgstore_stats(struct pgstore *s, struct pgstore_stats *st) { return -1; }
