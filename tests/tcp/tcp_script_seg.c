/*
 * tcp_script_seg.c - segment lines of the TCP script harness: parse,
 * build options, render what the stack sent, compare with wildcards
 *
 * See tcp_script.h for the exported functions; tcp_script.c for the
 * script language.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_script.h"

/* script_opts_render - outbound options in script notation */
void
script_opts_render(const uint8_t *p, size_t n, char *out, size_t outsz,
	            uint32_t *tsval)
{
    size_t  i = 0, o = 0;

    out[0] = 0;
    while (i < n && o + 64 < outsz) {
	uint8_t k = p[i], l = (k > 1 && i + 1 < n) ? p[i + 1] : 1;
	const char *sep = o ? "," : "";

	if (k == 0)
	    o += (size_t) snprintf(out + o, outsz - o, "%seol", sep);
	else if (k == 1)
	    o += (size_t) snprintf(out + o, outsz - o, "%snop", sep);
	else if (k == 2 && l == 4)
	    o += (size_t) snprintf(out + o, outsz - o, "%smss %u", sep,
				   p[i + 2] << 8 | p[i + 3]);
	else if (k == 3 && l == 3)
	    o += (size_t) snprintf(out + o, outsz - o, "%swscale %u", sep,
				   p[i + 2]);
	else if (k == 4 && l == 2)
	    o += (size_t) snprintf(out + o, outsz - o, "%ssackOK", sep);
	else if (k == 8 && l == 10) {
	    uint32_t v = (uint32_t) p[i + 2] << 24 | p[i + 3] << 16
	    | p[i + 4] << 8 | p[i + 5];
	    uint32_t e = (uint32_t) p[i + 6] << 24 | p[i + 7] << 16
	    | p[i + 8] << 8 | p[i + 9];

	    *tsval = v;
	    o += (size_t) snprintf(out + o, outsz - o, "%sTS val %u ecr %u",
				   sep, v, e);
	} else if (k == 5 && l >= 10) {
	    unsigned b;

	    o += (size_t) snprintf(out + o, outsz - o, "%ssack", sep);
	    for (b = 0; b + 8 <= (unsigned) l - 2; b += 8) {
		const uint8_t *q = p + i + 2 + b;

		o += (size_t) snprintf(out + o, outsz - o, " %u:%u",
				       (uint32_t) q[0] << 24 | q[1] << 16
				       | q[2] << 8 | q[3],
				       (uint32_t) q[4] << 24 | q[5] << 16
				       | q[6] << 8 | q[7]);
	    }
	} else
	    o += (size_t) snprintf(out + o, outsz - o, "%s?%u", sep, k);
	if (k <= 1)
	    i++;
	else
	    i += l ? l : 1;
    }
}

/* script_tokens_match - compare option strings token by token, '*' wildcard */
int
script_tokens_match(const char *want, const char *got)
{
    char    a[LINE_MAX_LEN], b[LINE_MAX_LEN];
    char   *sa, *sb, *ta, *tb;

    snprintf(a, sizeof(a), "%s", want);
    snprintf(b, sizeof(b), "%s", got);
    ta = strtok_r(a, " ,", &sa);
    tb = strtok_r(b, " ,", &sb);
    while (ta && tb) {
	if (strcmp(ta, "*") && strcmp(ta, tb))
	    return (0);
	ta = strtok_r(0, " ,", &sa);
	tb = strtok_r(0, " ,", &sb);
    }
    return (ta == 0 && tb == 0);
}

/* script_flags_str - flags in script notation */
void
script_flags_str(uint8_t f, char *out)
{
    char   *o = out;

    if (f & 0x02)
	*o++ = 'S';
    if (f & 0x01)
	*o++ = 'F';
    if (f & 0x04)
	*o++ = 'R';
    if (f & 0x08)
	*o++ = 'P';
    if (f & 0x10)
	*o++ = '.';
    *o = 0;
}

/* parse_flags - script flags to header bits */
static int
parse_flags(const char *s)
{
    int     f = 0;

    for (; *s; s++)
	switch (*s) {
	case 'S': f |= 0x02; break;
	case 'F': f |= 0x01; break;
	case 'R': f |= 0x04; break;
	case 'P': f |= 0x08; break;
	case '.': f |= 0x10; break;
	default: return (-1);
	}
    return (f);
}


/* script_parse_pkt - the part of a segment line after the direction */
int
script_parse_pkt(char *s, uint16_t def_port, struct pkt_line *pl)
{
    char   *lt, *tok, *save;

    memset(pl, 0, sizeof(*pl));
    pl->port = def_port;
    pl->dport = SERVER_PORT;
    if ((lt = strchr(s, '<')) != 0) {
	char   *gt = strrchr(lt, '>');

	if (gt == 0)
	    return (-1);
	*gt = 0;
	snprintf(pl->opts, sizeof(pl->opts), "%s", lt + 1);
	pl->has_opts = 1;
	*lt = 0;
    }
    tok = strtok_r(s, " \t", &save);
    if (tok && tok[0] == ':') {
	char   *d = strchr(tok, '>');

	pl->port = (uint16_t) atoi(tok + 1);
	if (d)
	    pl->dport = (uint16_t) atoi(d + 1);
	tok = strtok_r(0, " \t", &save);
    }
    if (tok == 0 || (pl->flags = parse_flags(tok)) < 0)
	return (-1);
    tok = strtok_r(0, " \t", &save);
    if (tok == 0)
	return (-1);
    if (tok[0] == '*')
	pl->seq_any = 1;
    else if (sscanf(tok, "%u:%u(%u)", &pl->seq, &pl->end, &pl->len) != 3)
	return (-1);
    while ((tok = strtok_r(0, " \t", &save)) != 0) {
	char   *v;

	if (!strcmp(tok, "badcsum")) {
	    pl->badcsum = 1;
	    continue;
	}
	if (!strcmp(tok, "corrupt")) {
	    pl->corrupt = 1;
	    continue;
	}
	v = strtok_r(0, " \t", &save);
	if (v == 0)
	    return (-1);
	if (!strcmp(tok, "ack")) {
	    pl->has_ack = 1;
	    pl->ack_any = v[0] == '*';
	    pl->ack = (uint32_t) strtoul(v, 0, 10);
	} else if (!strcmp(tok, "win")) {
	    pl->has_win = 1;
	    pl->win_any = v[0] == '*';
	    pl->win = (uint32_t) strtoul(v, 0, 10);
	} else
	    return (-1);
    }
    return (0);
}

/* script_build_opts - inbound option text to bytes; -1 if unknown */
int
script_build_opts(const char *text, uint32_t echo_tsval, uint32_t sack_base,
	              uint8_t *o)
{
    char    buf[LINE_MAX_LEN], *item, *save;
    size_t  n = 0;

    snprintf(buf, sizeof(buf), "%s", text);
    for (item = strtok_r(buf, ",", &save); item;
	 item = strtok_r(0, ",", &save)) {
	unsigned a, b;
	char    ecr[32];

	while (isspace((unsigned char) *item))
	    item++;
	if (!strncmp(item, "nop", 3))
	    o[n++] = 1;
	else if (!strncmp(item, "eol", 3))
	    o[n++] = 0;
	else if (sscanf(item, "mss %u", &a) == 1) {
	    o[n++] = 2, o[n++] = 4, o[n++] = (uint8_t) (a >> 8);
	    o[n++] = (uint8_t) a;
	} else if (sscanf(item, "wscale %u", &a) == 1) {
	    o[n++] = 3, o[n++] = 3, o[n++] = (uint8_t) a;
	} else if (!strncmp(item, "sackOK", 6)) {
	    o[n++] = 4, o[n++] = 2;
	} else if (sscanf(item, "TS val %u ecr %31s", &a, ecr) == 2) {
	    b = ecr[0] == '*' ? echo_tsval : (unsigned) strtoul(ecr, 0, 10);
	    o[n++] = 8, o[n++] = 10;
	    o[n++] = (uint8_t) (a >> 24), o[n++] = (uint8_t) (a >> 16);
	    o[n++] = (uint8_t) (a >> 8), o[n++] = (uint8_t) a;
	    o[n++] = (uint8_t) (b >> 24), o[n++] = (uint8_t) (b >> 16);
	    o[n++] = (uint8_t) (b >> 8), o[n++] = (uint8_t) b;
	} else if (!strncmp(item, "sack", 4)) {
	    char   *q = item + 4;
	    size_t  start = n;
	    int     used;

	    o[n++] = 5, o[n++] = 2;
	    while (sscanf(q, " %u:%u%n", &a, &b, &used) == 2) {
		uint32_t v[2] = {a + sack_base, b + sack_base};
		int     k;

		for (k = 0; k < 2; k++) {
		    o[n++] = (uint8_t) (v[k] >> 24);
		    o[n++] = (uint8_t) (v[k] >> 16);
		    o[n++] = (uint8_t) (v[k] >> 8);
		    o[n++] = (uint8_t) v[k];
		}
		o[start + 1] += 8;
		q += used;
	    }
	} else
	    return (-1);
	if (n > 36)
	    break;
    }
    while (n % 4)
	o[n++] = 1;
    return ((int) n);
}

/* script_csum16 - internet checksum for the injected segments */
uint16_t
script_csum16(const uint8_t *seg, size_t len)
{
    uint32_t sum = 0;
    size_t  i;

    sum += (CLIENT_ADDR >> 16) + (CLIENT_ADDR & 0xffff);
    sum += (SERVER_ADDR >> 16) + (SERVER_ADDR & 0xffff);
    sum += 6 + (uint32_t) len;
    for (i = 0; i + 1 < len; i += 2)
	sum += (uint32_t) seg[i] << 8 | seg[i + 1];
    if (len & 1)
	sum += (uint32_t) seg[len - 1] << 8;
    while (sum >> 16)
	sum = (sum & 0xffff) + (sum >> 16);
    return ((uint16_t) ~sum);
}

