/*
 * spool.h - a bounded on-disk spool of text lines (log rows the database
 *	could not take)
 *
 *	struct spool *spool_open(const char *dir, uint64_t max_bytes,
 *			char *err, size_t errlen);
 *	size_t spool_append(struct spool *sp, char *const *lines, size_t n);
 *	int spool_next(struct spool *sp, char **buf, size_t *len,
 *			uint64_t *id);
 *	int spool_done(struct spool *sp, uint64_t id);
 *	uint64_t spool_bytes(const struct spool *sp);
 *	void spool_close(struct spool *sp);
 *
 * DESCRIPTION
 *	The spool is a directory of append-only files DIR/spool-N.jsonl,
 *	one line per row, oldest N first. It is used by one thread only.
 *
 *	spool_open() creates DIR (and its parents) if needed and picks up
 *	the files a previous run left there (they are replayed first).
 *
 *	spool_append() appends the lines (each without its newline) to the
 *	current file and fsyncs it once: when it returns, those lines
 *	survive a crash. It appends as many lines as fit under max_bytes,
 *	in order, and returns how many; the caller counts the rest as lost.
 *	A file is closed and a new one begun after SPOOL_FILE_MAX bytes.
 *
 *	spool_next() hands out the oldest file whole (malloc'd, *id names
 *	it) and returns 1, or 0 when the spool is empty; the current file is
 *	sealed first, so later appends go to a new file. A torn last line
 *	(a crash during a write) has no newline: the reader skips it.
 *	spool_done() deletes file id once its rows are safely elsewhere.
 *	A crash between the two replays the file again: the rows' consumer
 *	must ignore duplicates.
 *
 * DIAGNOSTICS
 *	spool_open() returns NULL with err filled; spool_append() returns
 *	fewer than n with errno set (ENOSPC when the bound was reached);
 *	spool_next() and spool_done() return -1 with errno.
 */
#ifndef MX_SPOOL_H
#define MX_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_FILE_MAX	(4U << 20)	/* bytes per file before a new one */

struct spool;

struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err,
			 size_t errlen);
size_t spool_append(struct spool *sp, char *const *lines, size_t n);
int spool_next(struct spool *sp, char **buf, size_t *len, uint64_t *id);
int spool_done(struct spool *sp, uint64_t id);
uint64_t spool_bytes(const struct spool *sp);
void spool_close(struct spool *sp);

#endif
