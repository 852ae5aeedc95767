/*
 * profiler_store.h - IP Profiler blocks kept in PostgreSQL
 *
 *	struct profiler_store *profiler_store_start(struct profiler *p,
 *			struct pgstore *s, FILE *diag);
 *	void profiler_store_stop(struct profiler_store *ps);
 *
 * DESCRIPTION
 *	profiler_store_start() reads the blocks in force from the store
 *	(every node's: pgstore_blocks_active) into the profiler
 *	(profiler_restore; the sender filter's control thread publishes
 *	them to the readers at its next pass), then becomes the profiler's
 *	observer: each new block is queued (never waiting, so the control
 *	thread that records events is not slowed by the database) and a
 *	thread of its own writes it (pgstore_block_put). A block restored
 *	at start is not written again. Removal is the management API's
 *	business (pgstore_block_remove, on the API thread).
 *
 *	profiler_store_stop() stops observing, writes what is queued and
 *	joins the thread; call it before the profiler and the store go.
 *
 * DIAGNOSTICS
 *	profiler_store_start() returns NULL (after saying why on diag)
 *	only when out of memory or no thread can be made; a store that
 *	cannot be read at start is reported and the blocks start empty.
 *	A full queue (PROFILER_STORE_QUEUE) drops the row and says so once
 *	per PROFILER_STORE_REPORT_S; a failed write is reported, not
 *	retried (the block is still in force in memory).
 */
#ifndef MX_CONTROL_PROFILER_STORE_H
#define MX_CONTROL_PROFILER_STORE_H

#include <stdio.h>

#define PROFILER_STORE_QUEUE	1024	/* blocks waiting to be written */
#define PROFILER_STORE_REPORT_S	60	/* "queue full" said at most this often */

struct profiler;
struct pgstore;
struct profiler_store;

struct profiler_store *profiler_store_start(struct profiler *p, struct pgstore *s,
					    FILE *diag);
void profiler_store_stop(struct profiler_store *ps);

#endif
