/*
 * config.c - mxgate-dp configuration file and command line
 *
 *	void dpconf_defaults(struct dpconf *cf);
 *	int dpconf_load_file(struct dpconf *cf, const char *path);
 *	int dpconf_set(struct dpconf *cf, const char *key, const char *value);
 *	int dpconf_parse_args(struct dpconf *cf, int argc, char **argv,
 *			int *eal_argc, char ***eal_argv);
 *	void dpconf_usage(FILE *fp, const char *progname);
 *	void dpconf_free_args(char **eal_argv);
 *
 * DESCRIPTION
 *	One table maps each key to its parser, so the file and the flags
 *	accept exactly the same names: `--mtu 1400` is `mtu = 1400`. Flags
 *	use dashes where keys use underscores (`--echo-port`, `echo_port`).
 *
 * DIAGNOSTICS
 *	Unknown keys, malformed values and values out of range are errors
 *	naming the key and value; a file error also names file and line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define DPCONF_LINE_MAX	1024

typedef int (*dpconf_parse_fn)(struct dpconf *, const char *);

struct dpconf_key {
    const char *name;
    dpconf_parse_fn parse;
    const char *arg;		/* for --help */
    const char *help;
};

/* parse_uint - strict decimal in [lo, hi] */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		              unsigned long *out)
{
    char   *end;
    unsigned long v;

    if (!isdigit((unsigned char) *s))
	return (-1);
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != 0 || v < lo || v > hi)
	return (-1);
    *out = v;
    return (0);
}

/* parse_ipv4 - dotted quad to host byte order */
static int parse_ipv4(const char *s, uint32_t *out)
{
    struct in_addr a;

    if (inet_pton(AF_INET, s, &a) != 1)
	return (-1);
    *out = ntohl(a.s_addr);
    return (0);
}

/* parse_str - bounded copy */
static int parse_str(char *dst, const char *s)
{
    if (strlen(s) >= DPCONF_STR_MAX)
	return (-1);
    strcpy(dst, s);
    return (0);
}

/* key_address - "a.b.c.d/len" */
static int key_address(struct dpconf *cf, const char *s)
{
    char    buf[64];
    char   *slash;
    unsigned long len = 24;

    if (strlen(s) >= sizeof(buf))
	return (-1);
    strcpy(buf, s);
    if ((slash = strchr(buf, '/')) != 0) {
	*slash++ = 0;
	if (parse_uint(slash, 1, 32, &len) < 0)
	    return (-1);
    }
    if (parse_ipv4(buf, &cf->addr) < 0)
	return (-1);
    cf->prefix_len = (uint8_t) len;
    return (0);
}

/* key_gateway - next hop for destinations off the prefix */
static int key_gateway(struct dpconf *cf, const char *s)
{
    return (parse_ipv4(s, &cf->gateway));
}

/* key_listen - comma-separated TCP ports handed to the application */
static int key_listen(struct dpconf *cf, const char *s)
{
    char    buf[DPCONF_STR_MAX];
    char   *tok;
    char   *save;
    unsigned long v;

    if (parse_str(buf, s) < 0)
	return (-1);
    cf->nlisten = 0;
    for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(0, ", ", &save)) {
	if (cf->nlisten >= DPCONF_LISTEN_MAX || parse_uint(tok, 1, 65535, &v) < 0)
	    return (-1);
	cf->listen[cf->nlisten++] = (uint16_t) v;
    }
    return (0);
}

#define DPCONF_UINT_KEY(fn, field, lo, hi) \
    static int fn(struct dpconf *cf, const char *s) \
    { \
	unsigned long v; \
	if (parse_uint(s, lo, hi, &v) < 0) \
	    return (-1); \
	cf->field = v; \
	return (0); \
    }

DPCONF_UINT_KEY(key_mtu, mtu, DPCONF_MTU_MIN, DPCONF_MTU_MAX)
DPCONF_UINT_KEY(key_port_id, port_id, 0, 1023)
DPCONF_UINT_KEY(key_echo_port, echo_port, 0, 65535)
DPCONF_UINT_KEY(key_discard_port, discard_port, 0, 65535)
DPCONF_UINT_KEY(key_rx_desc, rx_desc, 64, 16384)
DPCONF_UINT_KEY(key_tx_desc, tx_desc, 64, 16384)
DPCONF_UINT_KEY(key_mbufs, mbufs, 1023, 4194303)
DPCONF_UINT_KEY(key_mbuf_cache, mbuf_cache, 0, 512)
DPCONF_UINT_KEY(key_arp_ttl, arp_ttl_s, 1, 86400)
DPCONF_UINT_KEY(key_max_conns, max_conns, 1, 4194304)
DPCONF_UINT_KEY(key_syn_backlog, syn_backlog, 1, 1048576)
DPCONF_UINT_KEY(key_tx_drain_us, tx_drain_us, 1, 100000)
DPCONF_UINT_KEY(key_idle_sleep_us, idle_sleep_us, 0, 100000)
DPCONF_UINT_KEY(key_smtp_port, smtp_port, 0, 65535)
DPCONF_UINT_KEY(key_smtp_sessions, smtp_sessions, 1, 1048576)
DPCONF_UINT_KEY(key_msg_chunks, msg_chunks, 64, 16777216)
DPCONF_UINT_KEY(key_rules_bundle_interval, rules_bundle_interval, 0, 604800)

/* key_pidfile - where `mxgate rules` finds our pid */
static int key_pidfile(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->pidfile, s));
}

/* key_rules_bundle_url - https URL of the signed rules bundle */
static int key_rules_bundle_url(struct dpconf *cf, const char *s)
{
    return (strncmp(s, "https://", 8) == 0 ? parse_str(cf->rules_bundle_url, s) : -1);
}

/* key_rules_bundle_ca - CA file the bundle server must chain to */
static int key_rules_bundle_ca(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->rules_bundle_ca, s));
}

/* key_rules_bundle_key - the signer's Ed25519 public key (PEM) */
static int key_rules_bundle_key(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->rules_bundle_key, s));
}

/* key_relay - "A.B.C.D:PORT" of the downstream MTA */
static int key_relay(struct dpconf *cf, const char *s)
{
    const char *colon = strrchr(s, ':');
    uint32_t a;
    unsigned long port;
    char    host[sizeof(cf->relay_host)];

    if (colon == 0 || (size_t) (colon - s) >= sizeof(host))
	return (-1);
    memcpy(host, s, (size_t) (colon - s));
    host[colon - s] = 0;
    if (parse_ipv4(host, &a) < 0 || parse_uint(colon + 1, 1, 65535, &port) < 0)
	return (-1);
    strcpy(cf->relay_host, host);
    cf->relay_port = (uint16_t) port;
    return (0);
}

/* key_rules - rule set directory */
static int key_rules(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->rules, s));
}

/* key_sender_filter - sender filter configuration file */
static int key_sender_filter(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->sender_filter, s));
}

/* DPCONF_STR_KEY - a key that is a bounded string */
#define DPCONF_STR_KEY(fn, field) \
static int fn(struct dpconf *cf, const char *s) { return (parse_str(cf->field, s)); }
DPCONF_STR_KEY(key_mgmt_listen, mgmt_listen)
DPCONF_STR_KEY(key_mgmt_cert, mgmt_cert)
DPCONF_STR_KEY(key_mgmt_key, mgmt_key)
DPCONF_STR_KEY(key_mgmt_tokens, mgmt_tokens)
DPCONF_STR_KEY(key_state_dir, state_dir)

/* key_quarantine - quarantine directory */
static int key_quarantine(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->quarantine, s));
}

/* key_log - JSON message log file */
static int key_log(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->log, s));
}

/* key_db - PostgreSQL: a conninfo, "private" (our own server) or "off" */
static int key_db(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->db, strcmp(s, "private") == 0 ? "" : s));
}

/* key_db_dir - the private PostgreSQL's data directory */
static int key_db_dir(struct dpconf *cf, const char *s)
{
    return (s[0] == '/' ? parse_str(cf->db_dir, s) : -1);
}

/* key_spool_dir - where log rows wait while the database is down */
static int key_spool_dir(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->spool_dir, s));
}

/* key_node - this gateway's name in the shared database */
static int key_node(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->node, s));
}

/* key_hostname - our name in the greeting and the X-Mxgate header */
static int key_hostname(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->hostname, s));
}

/* key_steer_ring - ring size, power of two */
static int key_steer_ring(struct dpconf *cf, const char *s)
{
    unsigned long v;

    if (parse_uint(s, 64, 1UL << 20, &v) < 0 || (v & (v - 1)) != 0)
	return (-1);
    cf->steer_ring = v;
    return (0);
}

/* key_tcp_buf - power of two buffer size in [2048, 8 MB] */
static int key_tcp_buf(uint32_t *field, const char *s)
{
    unsigned long v;

    if (parse_uint(s, 2048, 1UL << 23, &v) < 0 || (v & (v - 1)) != 0)
	return (-1);
    *field = v;
    return (0);
}

/* key_tcp_rcvbuf - receive buffer per connection */
static int key_tcp_rcvbuf(struct dpconf *cf, const char *s)
{
    return (key_tcp_buf(&cf->tcp_rcvbuf, s));
}

/* key_tcp_sndbuf - send buffer per connection */
static int key_tcp_sndbuf(struct dpconf *cf, const char *s)
{
    return (key_tcp_buf(&cf->tcp_sndbuf, s));
}

/* key_lcores - EAL lcore list */
static int key_lcores(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->lcores, s));
}

/* key_vdev - EAL virtual device */
static int key_vdev(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->vdev, s));
}

/* key_pci - EAL allowed PCI device */
static int key_pci(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->pci, s));
}

/* key_file_prefix - EAL shared-memory namespace */
static int key_file_prefix(struct dpconf *cf, const char *s)
{
    return (parse_str(cf->file_prefix, s));
}

static const struct dpconf_key dpconf_keys[] = {
    {"address", key_address, "A.B.C.D/LEN", "our IPv4 address and prefix (198.18.0.2/24)"},
    {"gateway", key_gateway, "A.B.C.D", "next hop for off-prefix peers (none)"},
    {"mtu", key_mtu, "N", "IP MTU of the port (1500)"},
    {"listen", key_listen, "P[,P..]", "TCP ports for the SMTP application (none)"},
    {"echo_port", key_echo_port, "P", "built-in echo service port, 0 off (7)"},
    {"discard_port", key_discard_port, "P", "built-in discard service port, 0 off (9)"},
    {"lcores", key_lcores, "LIST", "worker lcores, EAL -l syntax (EAL default)"},
    {"vdev", key_vdev, "ARGS", "virtual device, e.g. net_af_packet0,iface=veth1 (none)"},
    {"pci", key_pci, "BDF", "PCI device to use, e.g. 0000:03:00.0 (all bound)"},
    {"file_prefix", key_file_prefix, "NAME", "EAL shared-memory prefix (rte)"},
    {"port_id", key_port_id, "N", "ethdev port to drive (0)"},
    {"rx_desc", key_rx_desc, "N", "RX descriptors per queue (1024)"},
    {"tx_desc", key_tx_desc, "N", "TX descriptors per queue (1024)"},
    {"mbufs", key_mbufs, "N", "packet buffers per worker lcore (16383)"},
    {"mbuf_cache", key_mbuf_cache, "N", "per-lcore mempool cache (256)"},
    {"steer_ring", key_steer_ring, "N", "steering ring entries per lcore, power of 2 (1024)"},
    {"arp_ttl", key_arp_ttl, "SECONDS", "lifetime of a resolved ARP entry (300)"},
    {"max_conns", key_max_conns, "N", "TCP connections per lcore, preallocated (16384)"},
    {"tcp_rcvbuf", key_tcp_rcvbuf, "BYTES", "receive buffer per connection, power of 2 (65536)"},
    {"tcp_sndbuf", key_tcp_sndbuf, "BYTES", "send buffer per connection, power of 2 (65536)"},
    {"syn_backlog", key_syn_backlog, "N", "half-open connections per lcore before SYN cookies (1024)"},
    {"tx_drain_us", key_tx_drain_us, "US", "longest a partial TX burst waits (100)"},
    {"idle_sleep_us", key_idle_sleep_us, "US", "sleep when idle, for shared cores; 0 busy-polls (0)"},
    {"smtp_port", key_smtp_port, "P", "SMTP listener port, 0 off (25)"},
    {"relay", key_relay, "A.B.C.D:P", "downstream MTA for accepted mail (127.0.0.1:10026)"},
    {"rules", key_rules, "DIR", "rule set directory ($MXGATE_RULES or the built-in default)"},
    {"quarantine", key_quarantine, "DIR", "quarantine directory (/var/lib/mxgate/quarantine)"},
    {"log", key_log, "FILE", "JSON message log, - for stdout (-)"},
    {"hostname", key_hostname, "NAME", "name in the greeting and X-Mxgate header (host name)"},
    {"smtp_sessions", key_smtp_sessions, "N", "SMTP session slots per lcore, preallocated (1024)"},
    {"sender_filter", key_sender_filter, "FILE", "sender filter configuration, docs/sender-filter.md (none)"},
    {"msg_chunks", key_msg_chunks, "N", "16 KB message buffer chunks shared by the lcores (4096)"},
    {"pidfile", key_pidfile, "FILE", "our pid, for `mxgate rules` (none)"},
    {"rules_bundle_url", key_rules_bundle_url, "URL", "https URL of the signed rules bundle (none)"},
    {"rules_bundle_ca", key_rules_bundle_ca, "FILE", "CA the bundle server must chain to (none)"},
    {"rules_bundle_key", key_rules_bundle_key, "FILE", "Ed25519 public key (PEM) of the bundle signer (none)"},
    {"rules_bundle_interval", key_rules_bundle_interval, "S", "seconds between bundle fetches, 0: on request (0)"},
    {"mgmt_listen", key_mgmt_listen, "A.B.C.D:P", "HTTPS management API, off for none (127.0.0.1:8445)"},
    {"mgmt_cert", key_mgmt_cert, "FILE", "its PEM certificate (self-signed in state_dir)"},
    {"mgmt_key", key_mgmt_key, "FILE", "its PEM key (state_dir/mgmt-key.pem)"},
    {"mgmt_tokens", key_mgmt_tokens, "FILE", "hashed bearer tokens (state_dir/tokens)"},
    {"state_dir", key_state_dir, "DIR", "certificates, tokens, rule versions (/var/lib/mxgate)"},
    {"db", key_db, "CONNINFO", "PostgreSQL conninfo, private (own server) or off (private)"},
    {"db_dir", key_db_dir, "DIR", "private PostgreSQL data directory (/var/lib/mxgate/pg)"},
    {"spool_dir", key_spool_dir, "DIR", "message log spool while the database is down (state_dir/spool)"},
    {"node", key_node, "NAME", "this gateway's name in the database (host name)"},
    {0, 0, 0, 0},
};

/* dpconf_defaults - documented defaults */
void    dpconf_defaults(struct dpconf *cf)
{
    memset(cf, 0, sizeof(*cf));
    cf->addr = (198U << 24) | (18U << 16) | 2U;	/* 198.18.0.2 */
    cf->prefix_len = 24;
    cf->mtu = DPCONF_MTU_DEFAULT;
    cf->echo_port = 7;
    cf->discard_port = 9;
    cf->rx_desc = DPCONF_RX_DESC_DEFAULT;
    cf->tx_desc = DPCONF_TX_DESC_DEFAULT;
    cf->mbufs = DPCONF_MBUFS_DEFAULT;
    cf->mbuf_cache = DPCONF_MBUF_CACHE_DEFAULT;
    cf->steer_ring = DPCONF_STEER_RING_DEFAULT;
    cf->arp_ttl_s = DPCONF_ARP_TTL_DEFAULT;
    cf->max_conns = DPCONF_MAX_CONNS_DEFAULT;
    cf->tcp_rcvbuf = DPCONF_TCP_BUF_DEFAULT;
    cf->tcp_sndbuf = DPCONF_TCP_BUF_DEFAULT;
    cf->syn_backlog = DPCONF_SYN_BACKLOG_DEFAULT;
    cf->tx_drain_us = DPCONF_TX_DRAIN_US_DEFAULT;
    cf->smtp_port = DPCONF_SMTP_PORT_DEFAULT;
    strcpy(cf->relay_host, DPCONF_RELAY_HOST_DEFAULT);
    cf->relay_port = DPCONF_RELAY_PORT_DEFAULT;
    if (getenv("MXGATE_RULES") && strlen(getenv("MXGATE_RULES")) < sizeof(cf->rules))
	strcpy(cf->rules, getenv("MXGATE_RULES"));
    else
	strcpy(cf->rules, MX_DEFAULT_RULES_DIR);
    strcpy(cf->quarantine, DPCONF_QUARANTINE_DEFAULT);
    strcpy(cf->log, DPCONF_LOG_DEFAULT);
    cf->smtp_sessions = DPCONF_SMTP_SESSIONS_DEFAULT;
    cf->msg_chunks = DPCONF_MSG_CHUNKS_DEFAULT;
    strcpy(cf->db, DPCONF_DB_DEFAULT);
    strcpy(cf->db_dir, DPCONF_DB_DIR_DEFAULT);
    cf->spool_dir[0] = 0;	/* state_dir/spool */
}

/* dpconf_set - apply one key */
int     dpconf_set(struct dpconf *cf, const char *key, const char *value)
{
    const struct dpconf_key *k;

    if (strncmp(key, "tls_", 4) == 0) {	/* STARTTLS: checked by control/tls.c */
	if (cf->ntls == DPCONF_TLS_KEYS_MAX || strlen(key) >= sizeof(cf->tls[0].key)
	    || strlen(value) >= sizeof(cf->tls[0].value)) {
	    fprintf(stderr, "mxgate-dp: too many or too long tls_* settings (%s)\n", key);
	    return (-1);
	}
	strcpy(cf->tls[cf->ntls].key, key);
	strcpy(cf->tls[cf->ntls++].value, value);
	return (0);
    }
    for (k = dpconf_keys; k->name; k++) {
	if (strcmp(k->name, key) == 0) {
	    if (k->parse(cf, value) < 0) {
		fprintf(stderr, "mxgate-dp: bad value for %s: \"%s\" (want %s)\n",
			key, value, k->arg);
		return (-1);
	    }
	    return (0);
	}
    }
    fprintf(stderr, "mxgate-dp: unknown configuration key \"%s\"\n", key);
    return (-1);
}

/* trim - strip leading and trailing white space in place */
static char *trim(char *s)
{
    char   *e;

    while (isspace((unsigned char) *s))
	s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char) e[-1]))
	*--e = 0;
    return (s);
}

/* dpconf_load_file - apply `key = value` lines; # starts a comment */
int     dpconf_load_file(struct dpconf *cf, const char *path)
{
    FILE   *fp;
    char    line[DPCONF_LINE_MAX];
    char   *p, *eq;
    int     lineno = 0;
    int     ret = 0;

    if ((fp = fopen(path, "r")) == 0) {
	fprintf(stderr, "mxgate-dp: open configuration %s: %s\n", path, strerror(errno));
	return (-1);
    }
    while (fgets(line, sizeof(line), fp)) {
	lineno++;
	if ((p = strchr(line, '#')) != 0)
	    *p = 0;
	p = trim(line);
	if (*p == 0)
	    continue;
	if ((eq = strchr(p, '=')) == 0) {
	    fprintf(stderr, "mxgate-dp: %s:%d: expected key = value\n", path, lineno);
	    ret = -1;
	    break;
	}
	*eq = 0;
	if (dpconf_set(cf, trim(p), trim(eq + 1)) < 0) {
	    fprintf(stderr, "mxgate-dp: %s:%d: in this line\n", path, lineno);
	    ret = -1;
	    break;
	}
    }
    fclose(fp);
    return (ret);
}

/* dpconf_usage - --help text, generated from the key table */
void    dpconf_usage(FILE *fp, const char *prog)
{
    const struct dpconf_key *k;
    char    flag[64];
    char   *d;

    fprintf(fp,
	    "usage: %s [options] [-- EAL options]\n"
	    "\n"
	    "Kernel-bypass SMTP data plane. One RX/TX queue pair per lcore;\n"
	    "TCP flows are steered in software to their owner lcore.\n"
	    "\n"
	    "  -c, --config FILE       read key = value lines (flags override)\n"
	    "      --stats             attach as a secondary process, print counters\n"
	    "      --stats-interval S  with --stats: repeat every S seconds\n"
	    "  -h, --help              this text\n", prog);
    for (k = dpconf_keys; k->name; k++) {
	snprintf(flag, sizeof(flag), "--%s %s", k->name, k->arg);
	for (d = flag; *d && *d != ' '; d++)
	    if (*d == '_')
		*d = '-';
	fprintf(fp, "      %-22s %s\n", flag, k->help);
    }
    fprintf(fp, "      %-22s %s\n", "--tls-cert FILE ...", "STARTTLS: tls_cert, tls_key,"
	    " tls_ciphers, tls_ciphersuites, tls_min_version, tls_sessions,"
	    " tls_handshake_timeout, tls_require_nets (docs/tls.md)");
    fprintf(fp,
	    "\n"
	    "Examples:\n"
	    "  %s --vdev net_af_packet0,iface=veth1,qpairs=2 --lcores 0-1 \\\n"
	    "      --address 198.18.0.2/24 --echo-port 7\n"
	    "  %s --pci 0000:03:00.0 --lcores 2-5 --address 192.0.2.10/24 \\\n"
	    "      --gateway 192.0.2.1 --listen 25 -- --huge-dir /mnt/huge\n"
	    "  %s --stats --file-prefix mxgate\n"
	    "\n"
	    "With af_packet, qpairs= must equal the number of lcores.\n"
	    "Configuration keys and counters: docs/dp.md\n", prog, prog, prog);
}

/* eal_push - append one EAL argument */
static int eal_push(char **v, int *n, const char *s)
{
    if (*n >= DPCONF_EAL_ARGS_MAX - 1) {
	fprintf(stderr, "mxgate-dp: too many EAL arguments (max %d)\n",
		DPCONF_EAL_ARGS_MAX);
	return (-1);
    }
    if ((v[(*n)++] = strdup(s)) == 0) {
	fprintf(stderr, "mxgate-dp: out of memory building EAL arguments\n");
	return (-1);
    }
    v[*n] = 0;
    return (0);
}

/* dpconf_parse_args - flags into cf, EAL arguments into a fresh vector */
int     dpconf_parse_args(struct dpconf *cf, int argc, char **argv,
			          int *eal_argc, char ***eal_argv)
{
    char  **v;
    char    key[64];
    char   *d;
    int     n = 0;
    int     i;
    int     dashdash = argc;

    if ((v = calloc(DPCONF_EAL_ARGS_MAX, sizeof(*v))) == 0) {
	fprintf(stderr, "mxgate-dp: out of memory for EAL arguments\n");
	return (-1);
    }
    for (i = 1; i < argc; i++) {
	if (strcmp(argv[i], "--") == 0) {
	    dashdash = i;
	    break;
	}
    }
    /* The configuration file first, so that flags override it. */
    for (i = 1; i < dashdash; i++) {
	if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
	    && i + 1 < dashdash) {
	    if (dpconf_load_file(cf, argv[i + 1]) < 0)
		return (-1);
	}
    }
    for (i = 1; i < dashdash; i++) {
	const char *a = argv[i];
	const char *val;

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
	    dpconf_usage(stdout, argv[0]);
	    return (1);
	}
	if (strcmp(a, "--stats") == 0) {
	    cf->stats_mode = 1;
	    continue;
	}
	if (strncmp(a, "--", 2) != 0) {
	    fprintf(stderr, "mxgate-dp: unexpected argument \"%s\" (try --help)\n", a);
	    return (-1);
	}
	/* --key=value or --key value */
	snprintf(key, sizeof(key), "%s", a + 2);
	if ((d = strchr(key, '=')) != 0) {
	    *d = 0;
	    val = strchr(a, '=') + 1;
	} else if (i + 1 < dashdash) {
	    val = argv[++i];
	} else {
	    fprintf(stderr, "mxgate-dp: %s needs a value (try --help)\n", a);
	    return (-1);
	}
	for (d = key; *d; d++)
	    if (*d == '-')
		*d = '_';
	if (strcmp(key, "config") == 0)
	    continue;
	if (strcmp(key, "stats_interval") == 0) {
	    cf->stats_interval = atoi(val);
	    continue;
	}
	if (dpconf_set(cf, key, val) < 0)
	    return (-1);
    }
    if (eal_push(v, &n, argv[0]) < 0)
	return (-1);
    if (cf->lcores[0] && (eal_push(v, &n, "-l") < 0 || eal_push(v, &n, cf->lcores) < 0))
	return (-1);
    if (!cf->stats_mode && cf->vdev[0] && (eal_push(v, &n, "--vdev") < 0 || eal_push(v, &n, cf->vdev) < 0))
	return (-1);
    if (!cf->stats_mode && cf->pci[0] && (eal_push(v, &n, "-a") < 0 || eal_push(v, &n, cf->pci) < 0))
	return (-1);
    /* A virtual device alone must not make EAL grab the host's PCI NICs. */
    if (!cf->stats_mode && cf->vdev[0] && !cf->pci[0] && eal_push(v, &n, "--no-pci") < 0)
	return (-1);
    if (cf->file_prefix[0] && (eal_push(v, &n, "--file-prefix") < 0
			       || eal_push(v, &n, cf->file_prefix) < 0))
	return (-1);
    if (cf->stats_mode && (eal_push(v, &n, "--proc-type=secondary") < 0
			   || eal_push(v, &n, "--no-pci") < 0
			   || eal_push(v, &n, "--no-telemetry") < 0
			   || eal_push(v, &n, "--log-level=lib.eal:error") < 0))
	return (-1);
    for (i = dashdash + 1; i < argc; i++)
	if (eal_push(v, &n, argv[i]) < 0)
	    return (-1);
    *eal_argc = n;
    *eal_argv = v;
    return (0);
}

/* dpconf_free_args - release the vector dpconf_parse_args() built */
void    dpconf_free_args(char **v)
{
    char  **p;

    for (p = v; p && *p; p++)
	free(*p);
    free(v);
}
