/*
 * quarantine.h - keep quarantined messages durably (local directory)
 *
 *	int quarantine_store(const char *dir, const char *qid,
 *			const char *meta_json, const struct iovec *iov,
 *			size_t niov, char *err, size_t errlen);
 *
 * DESCRIPTION
 *	quarantine_store() writes the message (the iovecs, as received) to
 *	DIR/QID.eml and its metadata (one JSON object) to DIR/QID.json, each
 *	through a temporary file that is fsync()ed and renamed, then fsyncs
 *	the directory: when it returns 0 the message survives a crash, and
 *	only then may the client be told 250. The control-plane issue moves
 *	quarantine to PostgreSQL; this is the local store it replaces.
 *
 * DIAGNOSTICS
 *	Returns -1 and fills err (what was attempted, on which path, and
 *	strerror) on any failure; nothing half-written is left under the
 *	final names.
 */
#ifndef MX_QUARANTINE_H
#define MX_QUARANTINE_H

#include <stddef.h>
#include <sys/uio.h>

int quarantine_store(const char *dir, const char *qid, const char *meta_json,
		     const struct iovec *iov, size_t niov, char *err,
		     size_t errlen);

#endif
