/*
 * profiler_store.h - IP Profiler blocks kept in PostgreSQL
 *
 *	struct profiler_store *profiler_store_start(struct profiler *p,
 *			struct pgstore *s, FILE *diag);
 *	void profiler_store_stop(struct profiler_store *ps);
 *
 * DESCRIPTION
 *	profiler_store_start() LISTENs on PGSTORE_BLOCKS_CHANNEL, reads
 *	the blocks in force from the store (every node's, or with the
 *	profiler's share setting off only this node's) into the profiler
 *	(profiler_restore; the sender filter's control thread publishes
 *	them to the readers at its next pass), then becomes the profiler's
 *	observer: each new block is queued (never waiting, so the control
 *	thread that records events is not slowed by the database) and a
 *	thread of its own writes it (pgstore_block_put, which NOTIFYs). A
 *	block restored at start is not written again. Removal is the
 *	management API's business (pgstore_block_remove, on the API
 *	thread, which NOTIFYs too).
 *
 *	Other gateways on the same database (notifications from another
 *	node name): for a block, the same thread reads that address's rows
 *	in force and applies the other nodes' ones like a restore (time
 *	left from the database's expires, permanent stays permanent, the
 *	stored rule text as reason); for a removal, it lifts the block
 *	(profiler_unblock) unless a row is still in force. With share off
 *	(profiler_share_blocks = no) other nodes' blocks are ignored but
 *	removals still lift: DELETE marks every node's rows removed, this
 *	node's too. After the listener lost its connection and LISTENs
 *	again (pgstore_listen_catchup), it reads every block in force and
 *	every address removed since its last full read (plus
 *	PROFILER_STORE_CATCHUP_SLACK_MS) and does the same. Each applied
 *	block and each lift is one line on diag naming the node.
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
 *	retried (the block is still in force in memory). More than
 *	PROFILER_STORE_NOTICES notifications waiting turn into one full
 *	read; a failed read is reported and made up at the next reconnect.
 */
#ifndef MX_CONTROL_PROFILER_STORE_H
#define MX_CONTROL_PROFILER_STORE_H

#include <stdio.h>

#define PROFILER_STORE_QUEUE	1024	/* blocks waiting to be written */
#define PROFILER_STORE_REPORT_S	60	/* "queue full" said at most this often */
#define PROFILER_STORE_NOTICES	256	/* other nodes' notices waiting */
#define PROFILER_STORE_CATCHUP_SLACK_MS	10000	/* removals read back before
						 * the last full read */

struct profiler;
struct pgstore;
struct profiler_store;

struct profiler_store *profiler_store_start(struct profiler *p, struct pgstore *s,
					    FILE *diag);
void profiler_store_stop(struct profiler_store *ps);

#endif
