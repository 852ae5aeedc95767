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

/*
 * Prefixes nest or are disjoint, so the address space cuts into runs of
 * one value: starts[i] begins a run of values[i] that lasts until
 * starts[i + 1]. A lookup is one binary search over the run starts,
 * whatever the mix of prefix lengths.
 */
struct sorted_table {
	uint32_t *starts;
	uint8_t *values;
	size_t n;
};

struct open_prefix {
	uint64_t end;		/* last address + 1 */
	uint8_t value;
};

/* by_start - address order; the shorter (enclosing) prefix first */
static int by_start(const void *a, const void *b)
{
	const struct sfilter_prefix *x = a, *y = b;

	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return (int)x->len - (int)y->len;
}

/* run_emit - value from pos on; merges with the previous run */
static void run_emit(struct sorted_table *t, uint64_t pos, uint8_t value)
{
	if (pos > UINT32_MAX)
		return;
	if (t->n && t->starts[t->n - 1] == (uint32_t)pos) {
		t->values[t->n - 1] = value;
		if (t->n > 1 && t->values[t->n - 2] == value)
			t->n--;
		return;
	}
	if (t->n && t->values[t->n - 1] == value)
		return;
	t->starts[t->n] = (uint32_t)pos;
	t->values[t->n] = value;
	t->n++;
}

/* sorted_build - the runs of the merged (unique) prefixes */
static void *sorted_build(const struct sfilter_prefix *p, size_t n, char *err,
			  size_t errlen)
{
	struct sorted_table *t = calloc(1, sizeof(*t));
	struct sfilter_prefix *q = NULL;
	struct open_prefix stack[SFLIST_LENGTHS + 1];
	unsigned depth = 0;
	size_t i;

	/* each prefix opens one run and closes at most one: 2n + 1 */
	if (t == NULL || (t->starts = malloc((2 * n + 1) * sizeof(uint32_t))) == NULL
	    || (t->values = malloc(2 * n + 1)) == NULL
	    || (n && (q = malloc(n * sizeof(*q))) == NULL)) {
		snprintf(err, errlen, "prefix table of %zu entries: out of memory", n);
		if (t) {
			free(t->starts);
			free(t->values);
		}
		free(t);
		return NULL;
	}
	if (n)
		memcpy(q, p, n * sizeof(*q));
	qsort(q, n, sizeof(*q), by_start);
	run_emit(t, 0, SFILTER_LIST_NONE);
	for (i = 0; i <= n; i++) {
		uint64_t start = i < n ? q[i].net : (uint64_t)UINT32_MAX + 1;

		/* close the prefixes that end before this one starts */
		while (depth && stack[depth - 1].end <= start) {
			uint64_t end = stack[--depth].end;

			run_emit(t, end, depth ? stack[depth - 1].value : SFILTER_LIST_NONE);
		}
		if (i == n)
			break;
		stack[depth].end = (uint64_t)q[i].net + ((uint64_t)1 << (32 - q[i].len));
		stack[depth].value = q[i].value;
		depth++;	/* nested at most 33 deep: /0 ... /32 */
		run_emit(t, q[i].net, q[i].value);
	}
	free(q);
	return t;
}

/* sorted_lookup - the value of the run holding addr */
static int sorted_lookup(const void *table, uint32_t addr)
{
	const struct sorted_table *t = table;
	size_t lo = 0, hi = t->n;

	/* the last start <= addr; starts[0] is 0, so there is one */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->starts[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return t->values[lo];
}

/* sorted_destroy - free a table */
static void sorted_destroy(void *table)
{
	struct sorted_table *t = table;

	if (t == NULL)
		return;
	free(t->starts);
	free(t->values);
	free(t);
}

const struct sfilter_table_ops sfilter_sorted_ops = {
	.build = sorted_build,
	.lookup = sorted_lookup,
	.destroy = sorted_destroy,
};
