/*
 * sfilter_list.c - CIDR list files and the sorted-prefix table
 *
 *	See sfilter_list.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfilter_list.h"

#define SFLIST_LENGTHS		33	/* /0 .. /32 */
#define SFLIST_GROW_MIN		64

/* prefix_mask - netmask of a prefix length, host byte order */
static uint32_t prefix_mask(unsigned len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

/* sflist_parse_line - one line: 1 prefix, 0 nothing, -1 malformed */
int sflist_parse_line(const char *line, uint32_t *net, uint8_t *len)
{
	char buf[SFLIST_LINE_MAX];
	char *p, *end, *slash;
	struct in_addr a;
	unsigned long plen = 32;
	size_t n;

	p = (char *)line;
	while (isspace((unsigned char)*p))
		p++;
	n = strcspn(p, "#");
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0)
		return 0;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = 0;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = 0;
		if (!isdigit((unsigned char)*slash))
			return -1;
		errno = 0;
		plen = strtoul(slash, &end, 10);
		if (errno || *end || plen > 32)
			return -1;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*net = ntohl(a.s_addr);
	if (*net & ~prefix_mask((unsigned)plen))
		return -1;	/* host bits set: a typo, not an intent */
	*len = (uint8_t)plen;
	return 1;
}

/* sflist_add - append one prefix */
int sflist_add(struct sflist *l, uint32_t net, uint8_t len, uint8_t value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : SFLIST_GROW_MIN;
		struct sfilter_prefix *p = realloc(l->p, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		l->p = p;
		l->cap = cap;
	}
	l->p[l->n].net = net;
	l->p[l->n].len = len;
	l->p[l->n].value = value;
	l->n++;
	return 0;
}

/* sflist_parse_file - every prefix of a list file */
int sflist_parse_file(const char *path, uint8_t value, struct sflist *out,
		      char *err, size_t errlen)
{
	char line[SFLIST_LINE_MAX + 2];
	unsigned lineno = 0;
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp)) {
		uint32_t net;
		uint8_t len;
		int k;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes",
				 path, lineno, SFLIST_LINE_MAX);
			rc = -1;
			break;
		}
		line[strcspn(line, "\r\n")] = 0;
		if ((k = sflist_parse_line(line, &net, &len)) < 0) {
			snprintf(err, errlen, "%s:%u: not an IPv4 address or CIDR"
				 " prefix (host bits must be zero): '%.60s'",
				 path, lineno, line);
			rc = -1;
			break;
		}
		if (k == 0)
			continue;
		if (out->n >= SFLIST_ENTRIES_MAX || sflist_add(out, net, len, value) < 0) {
			snprintf(err, errlen, "%s:%u: too many entries (max %u) or"
				 " out of memory", path, lineno, SFLIST_ENTRIES_MAX);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(fp);
	return rc;
}

/* prefix_cmp - by length, then network, then value (allow first) */
static int prefix_cmp(const void *a, const void *b)
{
	const struct sfilter_prefix *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return (int)x->value - (int)y->value;
}

/* sflist_merge - both lists sorted into one, duplicates dropped */
int sflist_merge(const struct sflist *allow, const struct sflist *block,
		 struct sflist *out)
{
	size_t i, j = 0, n = allow->n + block->n;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	if ((out->p = malloc(n * sizeof(*out->p))) == NULL)
		return -1;
	if (allow->n)
		memcpy(out->p, allow->p, allow->n * sizeof(*out->p));
	if (block->n)
		memcpy(out->p + allow->n, block->p, block->n * sizeof(*out->p));
	qsort(out->p, n, sizeof(*out->p), prefix_cmp);
	/* SFILTER_LIST_ALLOW < SFILTER_LIST_BLOCK: the first of equal
	 * prefixes is the allow entry, which wins */
	for (i = 0; i < n; i++) {
		if (j && out->p[j - 1].len == out->p[i].len
		    && out->p[j - 1].net == out->p[i].net)
			continue;
		out->p[j++] = out->p[i];
	}
	out->n = out->cap = j;
	return 0;
}

/* sflist_free - release the array */
void sflist_free(struct sflist *l)
{
	free(l->p);
	memset(l, 0, sizeof(*l));
}

/* ---- the sorted-prefix table (no DPDK) ---- */

struct sorted_table {
	struct sfilter_prefix *p;	/* sorted by length, then network */
	size_t start[SFLIST_LENGTHS];	/* first index of each length */
	size_t count[SFLIST_LENGTHS];
	uint8_t lens[SFLIST_LENGTHS];	/* lengths present, longest first */
	unsigned nlens;
};

/* sorted_build - copy the merged (sorted, unique) prefixes */
static void *sorted_build(const struct sfilter_prefix *p, size_t n, char *err,
			  size_t errlen)
{
	struct sorted_table *t = calloc(1, sizeof(*t));
	size_t i;
	int len;

	if (t == NULL || (n && (t->p = malloc(n * sizeof(*p))) == NULL)) {
		snprintf(err, errlen, "prefix table of %zu entries: out of memory", n);
		free(t);
		return NULL;
	}
	if (n)
		memcpy(t->p, p, n * sizeof(*p));
	for (i = 0; i < n; i++) {
		if (t->count[p[i].len]++ == 0)
			t->start[p[i].len] = i;
	}
	for (len = 32; len >= 0; len--)
		if (t->count[len])
			t->lens[t->nlens++] = (uint8_t)len;
	return t;
}

/* sorted_lookup - longest matching prefix's value */
static int sorted_lookup(const void *table, uint32_t addr)
{
	const struct sorted_table *t = table;
	unsigned k;

	for (k = 0; k < t->nlens; k++) {
		unsigned len = t->lens[k];
		uint32_t key = addr & prefix_mask(len);
		const struct sfilter_prefix *base = t->p + t->start[len];
		size_t lo = 0, hi = t->count[len];

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (base[mid].net == key)
				return base[mid].value;
			if (base[mid].net < key)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return SFILTER_LIST_NONE;
}

/* sorted_destroy - free a table */
static void sorted_destroy(void *table)
{
	struct sorted_table *t = table;

	if (t == NULL)
		return;
	free(t->p);
	free(t);
}

const struct sfilter_table_ops sfilter_sorted_ops = {
	.build = sorted_build,
	.lookup = sorted_lookup,
	.destroy = sorted_destroy,
};
