/*
 * sfilter_list.h - CIDR list files and the sorted-prefix table
 *
 *	int sflist_parse_file(const char *path, uint8_t value,
 *			struct sflist *out, char *err, size_t errlen);
 *	int sflist_parse_line(const char *line, uint32_t *net, uint8_t *len);
 *	int sflist_merge(const struct sflist *allow, const struct sflist *block,
 *			struct sflist *out);
 *	void sflist_free(struct sflist *l);
 *	extern const struct sfilter_table_ops sfilter_sorted_ops;
 *
 * DESCRIPTION
 *	A list file holds one IPv4 address or CIDR prefix per line
 *	("192.0.2.0/24", "198.51.100.7"); '#' starts a comment, blank lines
 *	are skipped. Host bits set below the prefix are an error (a typo
 *	more often than an intent). sflist_merge() sorts and de-duplicates
 *	both lists into one; where the same prefix is in both, allow wins.
 *	Between different prefixes the longest match wins (an allowed /32
 *	inside a blocked /16 is allowed, and the other way round).
 *
 *	sfilter_sorted_ops is the table used without DPDK: the prefixes cut
 *	the address space into runs of one value (at most 2n + 1 of them),
 *	and a lookup is one binary search over the runs' starts.
 *
 * DIAGNOSTICS
 *	sflist_parse_file() returns -1 with "file:line: reason" in err.
 *	sflist_parse_line() returns 1 for a prefix, 0 for a blank or
 *	comment line, -1 for a malformed one.
 */
#ifndef MX_DP_SFILTER_LIST_H
#define MX_DP_SFILTER_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "sfilter.h"

#define SFLIST_LINE_MAX		256	/* longest line in a list file */
#define SFLIST_ENTRIES_MAX	(16u * 1024 * 1024)	/* per file */

struct sflist {
	struct sfilter_prefix *p;
	size_t n, cap;
};

int sflist_parse_file(const char *path, uint8_t value, struct sflist *out,
		      char *err, size_t errlen);
int sflist_parse_line(const char *line, uint32_t *net, uint8_t *len);
int sflist_add(struct sflist *l, uint32_t net, uint8_t len, uint8_t value);
int sflist_merge(const struct sflist *allow, const struct sflist *block,
		 struct sflist *out);
void sflist_free(struct sflist *l);

#endif
