/*
 * scan_report.h - `mxgate scan`: stream files through the engine, print
 *
 *	struct scan_run *scan_run_new(const struct ruleset *rs,
 *			const struct scan_options *so);
 *	int scan_run_file(struct scan_run *run, const char *path);
 *	void scan_run_free(struct scan_run *run);
 *
 * DESCRIPTION
 *	scan_run_file() reads path ("-" for standard input) in fixed-size
 *	blocks and feeds the engine as it reads, so memory does not grow with
 *	the message. It prints the verdict (text, or one JSON line) and
 *	returns SCAN_FILE_CLEAN, SCAN_FILE_FLAGGED or SCAN_FILE_ERROR; errors
 *	are also printed (to stderr, and as {"file":..,"error":..} in JSON).
 */
#ifndef MX_SCAN_REPORT_H
#define MX_SCAN_REPORT_H

#include "engine.h"

enum { SCAN_FILE_CLEAN = 0, SCAN_FILE_FLAGGED = 1, SCAN_FILE_ERROR = 2 };

struct scan_options {
	int json;
	int verbose;
	long chunk;		/* -1 whole blocks, 0 random, N fixed */
	unsigned seed;		/* for random chunk sizes */
	struct envelope env;
};

struct scan_run;

struct scan_run *scan_run_new(const struct ruleset *rs,
			      const struct scan_options *so);
int scan_run_file(struct scan_run *run, const char *path);
void scan_run_free(struct scan_run *run);

#endif
