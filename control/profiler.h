/*
 * profiler.h - the IP Profiler: per-address behaviour windows and blocks
 *
 *	struct profiler *profiler_new(const struct profiler_rule *rules,
 *			size_t nrules, size_t max_addrs);
 *	int profiler_rule_parse(const char *spec, struct profiler_rule *out);
 *	int profiler_record(struct profiler *p, uint32_t addr, bool rcpt,
 *			unsigned flags, uint64_t now_ms,
 *			struct profiler_block *fired);
 *	int profiler_blocked(struct profiler *p, uint32_t addr, uint64_t now_ms,
 *			struct profiler_block *out);
 *	int profiler_blocks_json(struct profiler *p, char **json);
 *	int profiler_unblock(struct profiler *p, uint32_t addr);
 *	size_t profiler_take_unblocked(struct profiler *p, uint32_t *out,
 *			size_t max);
 *	int profiler_restore(struct profiler *p, uint32_t addr, bool permanent,
 *			uint64_t until_ms, unsigned hits, const char *reason);
 *	size_t profiler_take_restored(struct profiler *p,
 *			struct profiler_block *out, size_t max);
 *	void profiler_set_observer(struct profiler *p,
 *			void (*cb)(void *ctx, const struct profiler_block *b),
 *			void *ctx);
 *	void profiler_set_share_blocks(struct profiler *p, bool share);
 *	bool profiler_share_blocks(struct profiler *p);
 *	void profiler_free(struct profiler *p);
 *
 * DESCRIPTION
 *	Events come from the lcores (each records what its own sessions
 *	saw; control merges them here, since one address's connections land
 *	on many cores): a finished message (flags PROFILER_F_SPAM,
 *	PROFILER_F_VIRUS, PROFILER_F_BOUNCE) or a recipient
 *	(PROFILER_F_UNKNOWN). Per address the last PROFILER_M_MAX messages
 *	and recipients are kept with their time.
 *
 *	A rule "KIND N/M WINDOW_S temp|perm [DURATION_S]" fires when, of the
 *	last M messages (recipients for unknown_rcpt) seen within WINDOW_S
 *	seconds, at least N had KIND; the address is then blocked: temp for
 *	DURATION_S (4xx), perm until removed (5xx). KIND is spam, virus,
 *	bounce or unknown_rcpt.
 *
 *	Management API (thread-safe; control/mgmt may call these):
 *	profiler_blocks_json() gives a malloc'd JSON array of the blocks in
 *	force: [{"addr":"192.0.2.7","rule":"spam 3/5 600 temp 300",
 *	"permanent":false,"remaining_s":287,"hits":3}]; profiler_unblock()
 *	removes one (1 removed, 0 none); the control thread then clears it
 *	on the lcores (profiler_take_unblocked()).
 *
 *	Persistence (control/profiler_store.h, when a PostgreSQL store is
 *	configured): the observer set with profiler_set_observer() is called
 *	on the recording thread, under the profiler's lock, for every block
 *	that starts: it must be quick and must not call the profiler
 *	(profiler_store queues the row). Once profiler_set_observer(p,
 *	NULL, NULL) returned, no call is in flight.
 *	profiler_restore() puts a block read back from the store in force
 *	(until_ms on this module's monotonic clock; a configured rule with
 *	the same text as reason becomes its rule, else rule is -1) without
 *	calling the observer; the control thread publishes it to the
 *	readers with profiler_take_restored(); profiler_store also applies
 *	other gateways' blocks this way, live, and lifts their removals
 *	with profiler_unblock(). profiler_set_share_blocks() (the sender
 *	filter's profiler_share_blocks; default true) says whether other
 *	nodes' blocks apply here; profiler_share_blocks() reads it.
 *	Times in the JSON and in blocks are monotonic milliseconds
 *	(CLOCK_MONOTONIC).
 *
 * DIAGNOSTICS
 *	profiler_new() returns NULL when out of memory; profiler_rule_parse()
 *	-1 for a malformed rule.
 */
#ifndef MX_CONTROL_PROFILER_H
#define MX_CONTROL_PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROFILER_M_MAX		32	/* messages (recipients) kept per address */
#define PROFILER_RULES_MAX	16
#define PROFILER_BLOCKS_MAX	4096	/* blocks in force at once */
#define PROFILER_ADDRS_DEFAULT	16384	/* addresses with windows */
#define PROFILER_REASON_MAX	80	/* a rule's text, a block's reason */

#define PROFILER_F_SPAM		0x01
#define PROFILER_F_VIRUS	0x02
#define PROFILER_F_BOUNCE	0x04
#define PROFILER_F_UNKNOWN	0x08

enum profiler_kind {
	PROFILER_SPAM = 0,
	PROFILER_VIRUS,
	PROFILER_BOUNCE,
	PROFILER_UNKNOWN_RCPT,
	PROFILER_KINDS
};

struct profiler_rule {
	enum profiler_kind kind;
	unsigned n, m;
	uint64_t window_ms;
	bool permanent;
	uint64_t duration_ms;	/* temp blocks */
	char spec[PROFILER_REASON_MAX];	/* as configured, for logs and the API */
};

struct profiler_block {
	uint32_t addr;
	int rule;		/* index, -1: restored, rule no longer configured */
	bool permanent;
	uint64_t until_ms;	/* temp: end of block */
	unsigned hits;
	char reason[PROFILER_REASON_MAX];	/* the rule's spec */
};

struct profiler;

int profiler_rule_parse(const char *spec, struct profiler_rule *out);
struct profiler *profiler_new(const struct profiler_rule *rules, size_t nrules,
			      size_t max_addrs);
int profiler_record(struct profiler *p, uint32_t addr, bool rcpt, unsigned flags,
		    uint64_t now_ms, struct profiler_block *fired);
int profiler_blocked(struct profiler *p, uint32_t addr, uint64_t now_ms,
		     struct profiler_block *out);
int profiler_blocks_json(struct profiler *p, char **json);
int profiler_unblock(struct profiler *p, uint32_t addr);
size_t profiler_take_unblocked(struct profiler *p, uint32_t *out, size_t max);
int profiler_restore(struct profiler *p, uint32_t addr, bool permanent,
		     uint64_t until_ms, unsigned hits, const char *reason);
size_t profiler_take_restored(struct profiler *p, struct profiler_block *out,
			      size_t max);
void profiler_set_observer(struct profiler *p,
			   void (*cb)(void *ctx, const struct profiler_block *b),
			   void *ctx);
void profiler_set_share_blocks(struct profiler *p, bool share);
bool profiler_share_blocks(struct profiler *p);
const struct profiler_rule *profiler_rule_get(const struct profiler *p, int i);
void profiler_free(struct profiler *p);

#endif
