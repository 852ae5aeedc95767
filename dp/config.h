/*
 * config.h - mxgate-dp start-up configuration
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
 *	The data plane is configured from an optional file of `key = value`
 *	lines (docs/dp.md lists every key with its default) and from
 *	command-line flags, which override the file. Everything after a
 *	bare `--` on the command line is handed to the DPDK EAL untouched;
 *	the convenience keys `vdev`, `pci`, `lcores` and `file_prefix` are
 *	turned into EAL arguments as well.
 *
 *	dpconf_parse_args() builds the EAL argument vector (program name
 *	first, NULL-terminated) in *eal_argc and *eal_argv; dpconf_free_args()
 *	releases it. EAL reorders the vector it parses: give it a copy.
 *
 * DIAGNOSTICS
 *	All functions return 0, or -1 after printing what was wrong (file,
 *	line, key, value) to stderr. dpconf_parse_args() returns 1 when the
 *	caller should exit successfully (after --help).
 */
#ifndef MX_DP_CONFIG_H
#define MX_DP_CONFIG_H

#include <stdint.h>
#include <stdio.h>

/* Defaults and bounds, each documented in docs/dp.md. */
#define DPCONF_MTU_DEFAULT	1500
#define DPCONF_MTU_MIN		576
#define DPCONF_MTU_MAX		9000
#define DPCONF_LISTEN_MAX	16	/* listening ports besides echo/discard */
#define DPCONF_EAL_ARGS_MAX	64
#define DPCONF_RX_DESC_DEFAULT	1024
#define DPCONF_TX_DESC_DEFAULT	1024
#define DPCONF_MBUFS_DEFAULT	16383	/* per worker lcore */
#define DPCONF_MBUF_CACHE_DEFAULT 256
#define DPCONF_STEER_RING_DEFAULT 1024	/* entries, power of two */
#define DPCONF_ARP_TTL_DEFAULT	300	/* seconds a resolved entry lives */
#define DPCONF_MAX_CONNS_DEFAULT 16384	/* TCP connections per lcore */
#define DPCONF_TCP_BUF_DEFAULT	65536	/* receive and send buffer per connection */
#define DPCONF_SYN_BACKLOG_DEFAULT 1024	/* half-open connections before SYN cookies */
#define DPCONF_TX_DRAIN_US_DEFAULT 100	/* max wait before a partial tx burst goes */
#define DPCONF_STR_MAX		256
#define DPCONF_TLS_KEYS_MAX	16	/* tls_* settings, checked by control/tls.c */
#define DPCONF_TLS_VALUE_MAX	512
#define DPCONF_SMTP_PORT_DEFAULT 25	/* SMTP listener, 0 off */
#define DPCONF_RELAY_HOST_DEFAULT "127.0.0.1"	/* downstream MTA */
#define DPCONF_RELAY_PORT_DEFAULT 10026
#define DPCONF_QUARANTINE_DEFAULT "/var/lib/mxgate/quarantine"
#define DPCONF_LOG_DEFAULT	"-"	/* JSON message log: stdout */
#define DPCONF_SMTP_SESSIONS_DEFAULT 1024	/* session slots per lcore */
#define DPCONF_MSG_CHUNKS_DEFAULT 4096	/* 16 KB message chunks, all lcores */
#define DPCONF_DB_DEFAULT	""	/* "": private PostgreSQL, "off": none */
#define DPCONF_DB_DIR_DEFAULT	"/var/lib/mxgate/pg"	/* its data directory */
#ifndef MX_DEFAULT_RULES_DIR
#define MX_DEFAULT_RULES_DIR	"/usr/share/mxgate/rules"
#endif

struct dpconf {
    uint32_t addr;		/* our IPv4 address, host byte order */
    uint8_t prefix_len;		/* on-link prefix */
    uint32_t gateway;		/* 0: none (on-link peers only) */
    uint16_t mtu;
    uint16_t port_id;		/* DPDK ethdev port */
    uint16_t listen[DPCONF_LISTEN_MAX];
    int nlisten;
    uint16_t echo_port;		/* 0: disabled */
    uint16_t discard_port;	/* 0: disabled */
    uint16_t rx_desc;
    uint16_t tx_desc;
    uint32_t mbufs;
    uint32_t mbuf_cache;
    uint32_t steer_ring;
    uint32_t arp_ttl_s;
    uint32_t max_conns;
    uint32_t tcp_rcvbuf;
    uint32_t tcp_sndbuf;
    uint32_t syn_backlog;
    uint32_t tx_drain_us;
    uint32_t idle_sleep_us;
    int stats_mode;		/* --stats: secondary process printing counters */
    int stats_interval;		/* --stats-interval seconds, 0: print once */
    char lcores[DPCONF_STR_MAX];	/* EAL -l list, empty: EAL default */
    char vdev[DPCONF_STR_MAX];	/* EAL --vdev, empty: none */
    char pci[DPCONF_STR_MAX];	/* EAL -a, empty: none */
    char file_prefix[DPCONF_STR_MAX]; /* EAL --file-prefix, empty: default */
    /* SMTP (dp/smtp_app.c, dp/smtp_ctrl.c) */
    uint16_t smtp_port;		/* 0: no SMTP listener */
    char relay_host[64];	/* numeric address of the downstream MTA */
    uint16_t relay_port;
    char rules[DPCONF_STR_MAX];	/* rule set directory */
    char quarantine[DPCONF_STR_MAX];	/* quarantine directory */
    char log[DPCONF_STR_MAX];	/* JSON message log, "-": stdout */
    char hostname[DPCONF_STR_MAX];	/* greeting and headers, empty: host name */
    uint32_t smtp_sessions;	/* session slots per lcore */
    uint32_t msg_chunks;	/* message chunks, shared by the lcores */
    /* control plane (control/ctlplane.h); empty: its default */
    char mgmt_listen[DPCONF_STR_MAX];
    char mgmt_cert[DPCONF_STR_MAX];
    char mgmt_key[DPCONF_STR_MAX];
    char mgmt_tokens[DPCONF_STR_MAX];
    char state_dir[DPCONF_STR_MAX];
    /* tls_* keys as given: control/tls.c parses them at SMTP set-up */
    struct {
	char key[32];
	char value[DPCONF_TLS_VALUE_MAX];
    } tls[DPCONF_TLS_KEYS_MAX];
    int ntls;
    char db[DPCONF_STR_MAX];	/* PostgreSQL conninfo; "": private, "off" */
    char db_dir[DPCONF_STR_MAX];	/* private server's data directory */
    char spool_dir[DPCONF_STR_MAX];	/* message log spool */
    char node[DPCONF_STR_MAX];	/* our name in the database, "": hostname */
    char sender_filter[DPCONF_STR_MAX];	/* docs/sender-filter.md, empty: off */
    /* rule publishing (dp/rules_rcu.h, docs/adr/0010-rule-publishing.md) */
    char pidfile[DPCONF_STR_MAX];	/* for `mxgate rules`, empty: none */
    char rules_bundle_url[DPCONF_STR_MAX];	/* signed bundle, empty: none */
    char rules_bundle_ca[DPCONF_STR_MAX];	/* its server's CA file */
    char rules_bundle_key[DPCONF_STR_MAX];	/* Ed25519 public key, PEM */
    uint32_t rules_bundle_interval;	/* seconds between fetches, 0: asked */
};

extern void dpconf_defaults(struct dpconf *);
extern int dpconf_load_file(struct dpconf *, const char *);
extern int dpconf_set(struct dpconf *, const char *, const char *);
extern int dpconf_parse_args(struct dpconf *, int, char **, int *, char ***);
extern void dpconf_usage(FILE *, const char *);
extern void dpconf_free_args(char **);

#endif
