/*
 * main.c - mxgate-dp: DPDK start-up, port set-up, launch of the workers
 *
 *	mxgate-dp [options] [-- EAL options]	(see --help, docs/dp.md)
 *	mxgate-dp --stats [--file-prefix P] [--stats-interval S]
 *
 * DESCRIPTION
 *	Start-up order: configuration; EAL; one mbuf pool; one steering ring
 *	per worker; the counters memzone; the port with one RX/TX queue pair
 *	per worker lcore (RSS on the TCP 4-tuple with a symmetric key when the
 *	device offers it); one TCP stack per worker; then every lcore, the
 *	main one included, runs dp_lcore_main() until SIGINT or SIGTERM.
 *	While the main lcore starts the control plane (store, relay, rules,
 *	management port, a private PostgreSQL) it runs on the control-thread
 *	cores, so that every thread and process it makes inherits those and
 *	not the main lcore's core (docs/dp.md, Threads).
 *	Then each lcore drains its SMTP sessions (smtpdp_drain: 421 4.3.2,
 *	replies for messages already with control, at most
 *	SMTPDP_SHUTDOWN_WAIT_MS), the control thread stops, the port closes.
 *
 *	With --stats the program is a DPDK secondary process: it attaches to
 *	the primary's memzone and mempool, prints the counters and exits
 *	(or repeats every --stats-interval seconds).
 *
 *	When the port is ready, "mxgate-dp: ready ..." is printed on stdout;
 *	test harnesses wait for that line.
 *
 * DIAGNOSTICS
 *	Start-up failures exit through rte_exit() naming the step and the
 *	DPDK error; the exit status is 1. Later errors are counters.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "config.h"
#include "ctlplane.h"
#include "profiler.h"
#include "rulesmgr.h"
#include "dp.h"
#include "smtp_app.h"
#include "sfilter_hooks.h"

#define DP_POOL_NAME		"mxgate_mbufs"
#define DP_RING_NAME_FMT	"mxgate_steer_%u"
#define DP_RSS_KEY_LEN		40

static volatile int dp_quit;

/* What the control plane's hooks read: the counters memzone. */
static struct dp_stats_zone *dp_zone;
static struct smtpctl *dp_smtp;

/* dp_core_stats - ctlplane hook: every lcore's counters, without locks */
static unsigned dp_core_stats(void *ctx, struct ctlplane_core_stats *out,
			      unsigned max)
{
    unsigned n = dp_zone->nworkers < max ? dp_zone->nworkers : max;
    unsigned has = CTLPLANE_HAS_FRAMES | CTLPLANE_HAS_WAKEUPS;

    (void) ctx;
    /* the memzone always holds sender-filter counters; they mean something
     * only when a filter runs */
    if (dp_smtp && smtpctl_sfilter(dp_smtp))
	has |= CTLPLANE_HAS_SFILTER;
    for (unsigned i = 0; i < n; i++) {
	const struct dp_lcore_stats *w = &dp_zone->w[i];

	out[i].core = dp_zone->lcore_id[i];
	out[i].has = has;
	out[i].rx_pkts = w->rx_pkts;
	out[i].rx_bytes = w->rx_bytes;
	out[i].tx_pkts = w->tx_pkts;
	out[i].tx_bytes = w->tx_bytes;
	out[i].drops = w->drop_eth_short + w->drop_eth_type + w->drop_not_for_us
	    + w->drop_multiseg + w->drop_ip_header + w->drop_ip_csum + w->drop_ip_frag
	    + w->drop_ip_ttl + w->drop_ip_proto + w->drop_no_route + w->drop_icmp
	    + w->drop_arp + w->drop_steer_full + w->drop_tx_full + w->drop_no_mbuf;
	out[i].conns = w->tcp_conns;
	out[i].sessions = w->smtp.sessions;
	out[i].sessions_refused = w->smtp.sessions_refused;
	out[i].messages = w->smtp.messages;
	out[i].msg_bytes = w->smtp.msg_bytes;
	out[i].msg_pass = w->smtp.msg_pass;
	out[i].msg_tag = w->smtp.msg_tag;
	out[i].msg_quarantine = w->smtp.msg_quarantine;
	out[i].msg_discard = w->smtp.msg_discard;
	out[i].msg_reject = w->smtp.msg_reject;
	out[i].msg_tempfail = w->smtp.msg_tempfail;
	out[i].msg_delivered = w->smtp.msg_delivered;
	out[i].replies_4xx = w->smtp.replies_4xx;
	out[i].replies_5xx = w->smtp.replies_5xx;
	out[i].busy_cycles = w->busy_cycles;
	out[i].idle_cycles = w->idle_cycles;
	out[i].tx_bursts = w->tx_bursts;
	out[i].tx_cycles = w->tx_cycles;
	out[i].ctl_wakeups = w->smtp.ctl_wakeups;
	sfilter_counters_export(&out[i].sfilter, &w->sfilter);
	metrics_hist_read(&w->smtp.scan_ms, &out[i].scan_ms);
	metrics_hist_read(&w->smtp.total_ms, &out[i].total_ms);
    }
    return (n);
}

/* dp_relay_state - ctlplane hook: messages with control, not answered */
static void dp_relay_state(void *ctx, struct ctlplane_relay_state *out)
{
    const struct dpconf *cf = ctx;
    uint64_t handed = 0, answered = 0;

    for (unsigned i = 0; i < dp_zone->nworkers; i++) {
	const struct dp_smtp_counters *c = &dp_zone->w[i].smtp;

	handed += c->messages;
	answered += c->msg_pass + c->msg_tag + c->msg_quarantine + c->msg_discard
	    + c->msg_reject + c->msg_tempfail;
    }
    snprintf(out->addr, sizeof(out->addr), "%s:%u", cf->relay_host, cf->relay_port);
    out->reachable = -1;	/* the control plane probes */
    out->queued = dp_smtp ? smtpctl_relay_queued(dp_smtp) : 0;
    out->in_flight = handed > answered ? handed - answered : 0;
}

/* dp_blocks_json - ctlplane hook: the IP Profiler's blocks */
static int dp_blocks_json(void *ctx, char **json)
{
    (void) ctx;			/* the hooks' ctx is the config */
    return (profiler_blocks_json(sfilter_profiler(smtpctl_sfilter(dp_smtp)), json));
}

/* dp_unblock - ctlplane hook: DELETE /api/v1/blocks/ADDR */
static int dp_unblock(void *ctx, uint32_t addr)
{
    (void) ctx;
    return (profiler_unblock(sfilter_profiler(smtpctl_sfilter(dp_smtp)), addr));
}

/* dp_tls_reload - ctlplane hook: POST /api/v1/tls/reload */
static int dp_tls_reload(void *ctx, unsigned *generation, char *err, size_t errlen)
{
    struct tls_server *ts = smtpctl_tls(dp_smtp);

    (void) ctx;
    if (tls_reload(ts, err, errlen) < 0) {
	printf("mxgate-dp: TLS reload (API) refused, keeping the old certificate: %s\n", err);
	fflush(stdout);
	return (-1);
    }
    *generation = tls_generation(ts);
    printf("mxgate-dp: TLS reloaded (API, generation %u)\n", *generation);
    fflush(stdout);
    return (0);
}

/* dp_ctlplane - store, rules manager and management port, as configured */
static struct ctlplane *dp_ctlplane(const struct dpconf *cf, unsigned nworkers,
				    struct smtpctl *smtp)
{
    static struct ctlplane_hooks hooks;
    static const char *kv[2 * CTLPLANE_CONFIG_KEYS_MAX + 1];
    static char relay[80], addr[32];
    struct ctlplane_config cc;
    struct ctlplane *cp;
    char    err[512];
    unsigned n = 0;

    ctlplane_config_default(&cc);
    snprintf(relay, sizeof(relay), "%s:%u", cf->relay_host, cf->relay_port);
    snprintf(addr, sizeof(addr), "%u.%u.%u.%u/%u", cf->addr >> 24, cf->addr >> 16 & 255,
	     cf->addr >> 8 & 255, cf->addr & 255, cf->prefix_len);
    kv[n++] = "address"; kv[n++] = addr;
    kv[n++] = "relay"; kv[n++] = relay;
    kv[n++] = "rules"; kv[n++] = cf->rules;
    kv[n++] = "quarantine"; kv[n++] = cf->quarantine;
    kv[n++] = "log"; kv[n++] = cf->log;
    kv[n++] = "db"; kv[n++] = strcmp(cf->db, "off") == 0 ? "off" : cf->db[0] ? "(conninfo)" : "private";
    kv[n] = NULL;
    cc.daemon = "mxgate-dp";
#ifdef MX_VERSION
    cc.version = MX_VERSION;
#endif
    cc.mgmt_listen = cf->mgmt_listen[0] ? cf->mgmt_listen : NULL;
    cc.mgmt_cert = cf->mgmt_cert[0] ? cf->mgmt_cert : NULL;
    cc.mgmt_key = cf->mgmt_key[0] ? cf->mgmt_key : NULL;
    cc.mgmt_tokens = cf->mgmt_tokens[0] ? cf->mgmt_tokens : NULL;
    if (cf->state_dir[0])
	cc.state_dir = cf->state_dir;
    cc.pg = smtp ? smtpctl_store(smtp) : NULL;	/* delivery's, opened first */
    cc.node = cf->node[0] ? cf->node : NULL;
    cc.rules_dir = cf->rules;
    cc.quarantine_dir = cf->quarantine;
    cc.relay_host = cf->relay_host;
    cc.relay_port = cf->relay_port;
    cc.relay_helo = cf->hostname[0] ? cf->hostname : NULL;
    cc.workers = nworkers;
    cc.config_kv = kv;
    hooks.ctx = (void *) cf;
    hooks.core_stats = dp_core_stats;
    hooks.relay_state = dp_relay_state;
    if (smtp && sfilter_profiler(smtpctl_sfilter(smtp))) {
	hooks.blocks_json = dp_blocks_json;
	hooks.unblock = dp_unblock;
    }
    if (smtp && smtpctl_tls(smtp))
	hooks.tls_reload = dp_tls_reload;
    if ((cp = ctlplane_start(&cc, &hooks, err, sizeof(err))) == NULL)
	rte_exit(EXIT_FAILURE, "start the control plane: %s\n", err);
    return (cp);
}

/* dp_ctl_probe - rte_ctrl_thread_create body: note the cores it was given */
static void *dp_ctl_probe(void *arg)
{
    rte_cpuset_t *set = arg;

    if (pthread_getaffinity_np(pthread_self(), sizeof(*set), set) != 0)
	CPU_ZERO(set);
    return (NULL);
}

/* dp_ctl_cpuset - the cores DPDK gives its control threads */
static void dp_ctl_cpuset(rte_cpuset_t *set)
{
    pthread_t tid;
    int     ret;

    /*
     * EAL keeps the set (the cores no lcore uses, or the main lcore's when
     * none is free) to itself; a control thread of its own reports it, so
     * that our threads and DPDK's always agree.
     */
    CPU_ZERO(set);
    if ((ret = rte_ctrl_thread_create(&tid, "mxgate-cpus", NULL, dp_ctl_probe, set)) != 0)
	rte_exit(EXIT_FAILURE, "create a control thread to learn the control cores: %s\n",
		 strerror(ret < 0 ? -ret : ret));
    if ((ret = pthread_join(tid, NULL)) != 0)
	rte_exit(EXIT_FAILURE, "join the control-core probe thread: %s\n", strerror(ret));
    if (CPU_COUNT(set) == 0)
	rte_exit(EXIT_FAILURE, "the control threads' CPU affinity is unknown or empty\n");
}

/* dp_main_affinity - move the main lcore's thread to a set of cores */
static void dp_main_affinity(const rte_cpuset_t *set, const char *what)
{
    int     ret;

    if ((ret = pthread_setaffinity_np(pthread_self(), sizeof(*set), set)) != 0)
	rte_exit(EXIT_FAILURE, "set the main lcore thread's CPU affinity to %s: %s\n",
		 what, strerror(ret));
}

/* dp_signal - ask every lcore to leave its loop */
static void dp_signal(int sig)
{
    dp_quit = 1;
}

/* dp_stats_mode - secondary process: print the counters */
static int dp_stats_mode(const struct dpconf *cf)
{
    const struct dp_stats_zone *z;
    struct rte_mempool *pool;

    if ((z = dpstats_attach()) == 0)
	return (1);
    pool = rte_mempool_lookup(z->pool_name);
    for (;;) {
	if (dpstats_print(stdout, z, pool) < 0)
	    return (1);
	if (cf->stats_interval <= 0 || dp_quit)
	    return (0);
	sleep((unsigned) cf->stats_interval);
	if (dp_quit)
	    return (0);
	fputc('\n', stdout);
    }
}

/* dp_port_setup - one RX/TX queue pair per worker, started */
static void dp_port_setup(const struct dpconf *cf, unsigned nworkers,
			          struct rte_mempool *pool)
{
    static uint8_t rss_key[DP_RSS_KEY_LEN];
    struct rte_eth_dev_info info;
    struct rte_eth_conf conf;
    struct rte_eth_rxconf rxq;
    struct rte_eth_txconf txq;
    uint16_t port = cf->port_id;
    uint16_t nrxd = cf->rx_desc, ntxd = cf->tx_desc;
    unsigned q;
    int     ret;
    int     socket;

    if (!rte_eth_dev_is_valid_port(port))
	rte_exit(EXIT_FAILURE, "port %u: no such port (%u available; give --vdev or --pci)\n",
		 port, rte_eth_dev_count_avail());
    if ((ret = rte_eth_dev_info_get(port, &info)) != 0)
	rte_exit(EXIT_FAILURE, "port %u: get device info: %s\n", port, rte_strerror(-ret));
    if (nworkers > info.max_rx_queues || nworkers > info.max_tx_queues)
	rte_exit(EXIT_FAILURE, "port %u (%s): %u workers need as many queue pairs, device "
		 "has %u rx / %u tx (af_packet: add qpairs=%u to the vdev)\n",
		 port, info.driver_name, nworkers, info.max_rx_queues,
		 info.max_tx_queues, nworkers);
    memset(&conf, 0, sizeof(conf));
    conf.rxmode.mtu = cf->mtu;
    if (nworkers > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_NONFRAG_IPV4_TCP)) {
	/* 0x6d5a repeated makes Toeplitz symmetric: both directions agree. */
	for (q = 0; q < DP_RSS_KEY_LEN; q += 2) {
	    rss_key[q] = 0x6d;
	    rss_key[q + 1] = 0x5a;
	}
	conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf.rx_adv_conf.rss_conf.rss_key = rss_key;
	conf.rx_adv_conf.rss_conf.rss_key_len = DP_RSS_KEY_LEN;
	conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads
	    & (RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_TCP);
	printf("mxgate-dp: port %u: RSS on the TCP 4-tuple\n", port);
    } else if (nworkers > 1) {
	printf("mxgate-dp: port %u (%s) offers no TCP RSS: software steering only\n",
	       port, info.driver_name);
    }
    conf.rxmode.offloads = info.rx_offload_capa
	& (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
    if ((ret = rte_eth_dev_configure(port, nworkers, nworkers, &conf)) != 0)
	rte_exit(EXIT_FAILURE, "port %u: configure %u queue pairs, mtu %u: %s\n",
		 port, nworkers, cf->mtu, rte_strerror(-ret));
    if ((ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrxd, &ntxd)) != 0)
	rte_exit(EXIT_FAILURE, "port %u: adjust descriptors %u/%u: %s\n",
		 port, nrxd, ntxd, rte_strerror(-ret));
    socket = rte_eth_dev_socket_id(port);
    if (socket < 0)
	socket = (int) rte_socket_id();
    rxq = info.default_rxconf;
    rxq.offloads = conf.rxmode.offloads;
    txq = info.default_txconf;
    for (q = 0; q < nworkers; q++) {
	if ((ret = rte_eth_rx_queue_setup(port, q, nrxd, socket, &rxq, pool)) != 0)
	    rte_exit(EXIT_FAILURE, "port %u: set up rx queue %u (%u desc): %s\n",
		     port, q, nrxd, rte_strerror(-ret));
	if ((ret = rte_eth_tx_queue_setup(port, q, ntxd, socket, &txq)) != 0)
	    rte_exit(EXIT_FAILURE, "port %u: set up tx queue %u (%u desc): %s\n",
		     port, q, ntxd, rte_strerror(-ret));
    }
    if ((ret = rte_eth_dev_set_mtu(port, cf->mtu)) != 0)
	printf("mxgate-dp: port %u: set mtu %u: %s (continuing)\n",
	       port, cf->mtu, rte_strerror(-ret));
    if ((ret = rte_eth_dev_start(port)) != 0)
	rte_exit(EXIT_FAILURE, "port %u: start: %s\n", port, rte_strerror(-ret));
}

/* dp_tcp_config - what every worker's TCP stack is created with */
static void dp_tcp_config(const struct dpconf *cf, struct tcp_config *tc)
{
    int     i;

    tcp_config_defaults(tc);
    tc->local_addrs[0] = cf->addr;
    tc->n_local_addrs = 1;
    tc->max_conns = cf->max_conns;
    tc->rcvbuf = cf->tcp_rcvbuf;
    tc->sndbuf = cf->tcp_sndbuf;
    tc->syn_backlog = cf->syn_backlog;
    /* The MSS option counts no TCP options; TCP itself leaves room for the
     * timestamp in the segments it sends (tcp_in.c, conn_setup). */
    tc->mss = (uint16_t) (cf->mtu - sizeof(struct rte_ipv4_hdr) - sizeof(struct rte_tcp_hdr));
    if (cf->echo_port) {
	tc->listeners[tc->n_listeners].port = cf->echo_port;
	tc->listeners[tc->n_listeners++].app = &tcp_app_echo;
    }
    if (cf->discard_port) {
	tc->listeners[tc->n_listeners].port = cf->discard_port;
	tc->listeners[tc->n_listeners++].app = &tcp_app_discard;
    }
    /* SMTP on smtp_port and on every `listen` port; each lcore's
     * listen_ctx is filled in when its stack is made. */
    for (i = -1; i < cf->nlisten; i++) {
	uint16_t port = i < 0 ? cf->smtp_port : cf->listen[i];

	if (port == 0)
	    continue;
	if (tc->n_listeners >= TCP_MAX_LISTENERS)
	    rte_exit(EXIT_FAILURE, "SMTP port %u: more than %d listening ports\n",
		     port, TCP_MAX_LISTENERS);
	tc->listeners[tc->n_listeners].port = port;
	tc->listeners[tc->n_listeners++].app = &smtpdp_app;
    }
    if (getrandom(tc->secret, sizeof(tc->secret), 0) != (ssize_t) sizeof(tc->secret))
	rte_exit(EXIT_FAILURE, "getrandom for the TCP ISN/cookie secret: %s\n",
		 strerror(errno));
}

/* main - start-up, run, orderly shutdown */
int     main(int argc, char **argv)
{
    struct dpconf cf;
    struct tcp_config tc;
    struct dp_lcore_params p;
    struct dp_lcore *lcs;
    struct dp_stats_zone *z;
    struct rte_mempool *pool;
    struct rte_ring **rings;
    struct rte_ether_addr mac;
    char    name[RTE_RING_NAMESIZE];
    char  **eal_argv;
    char   *eal_copy[DPCONF_EAL_ARGS_MAX];
    int     eal_argc;
    unsigned nworkers, i, lcore, k;
    unsigned data_room;
    struct smtpctl *smtp = 0;
    struct ctlplane *cp = 0;
    rte_cpuset_t ctl_cpus, main_cpus;
    int     ret;

    dpconf_defaults(&cf);
    if ((ret = dpconf_parse_args(&cf, argc, argv, &eal_argc, &eal_argv)) != 0)
	return (ret > 0 ? 0 : 1);
    /* EAL rewrites the vector it is given: hand it a copy, free ours. */
    memcpy(eal_copy, eal_argv, sizeof(eal_copy));
    signal(SIGINT, dp_signal);
    signal(SIGTERM, dp_signal);
    if ((ret = rte_eal_init(eal_argc, eal_copy)) < 0)
	rte_exit(EXIT_FAILURE, "EAL initialisation: %s\n", rte_strerror(rte_errno));
    if (cf.stats_mode) {
	ret = dp_stats_mode(&cf);
	rte_eal_cleanup();
	dpconf_free_args(eal_argv);
	return (ret);
    }
    /*
     * Threads made with pthread_create() and processes forked from here
     * inherit this thread's affinity, the main lcore's core: the store's
     * writer and listener, the management port, the rule follower and a
     * private PostgreSQL would all compete with its polling loop. Until the
     * lcores start, this thread runs on the control cores instead.
     */
    main_cpus = rte_lcore_cpuset(rte_get_main_lcore());
    dp_ctl_cpuset(&ctl_cpus);
    dp_main_affinity(&ctl_cpus, "the control cores");
    nworkers = rte_lcore_count();
    if (nworkers > DP_MAX_WORKERS)
	rte_exit(EXIT_FAILURE, "%u lcores, at most %d workers\n", nworkers, DP_MAX_WORKERS);

    data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
    if ((unsigned) cf.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + RTE_PKTMBUF_HEADROOM > data_room)
	data_room = cf.mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + RTE_PKTMBUF_HEADROOM;
    pool = rte_pktmbuf_pool_create(DP_POOL_NAME, cf.mbufs * nworkers, cf.mbuf_cache, 0,
				   (uint16_t) data_room, (int) rte_socket_id());
    if (pool == 0)
	rte_exit(EXIT_FAILURE, "create mbuf pool of %u x %u bytes: %s\n",
		 cf.mbufs * nworkers, data_room, rte_strerror(rte_errno));
    rings = rte_zmalloc("mxgate_rings", nworkers * sizeof(*rings), 0);
    lcs = rte_zmalloc("mxgate_lcores", nworkers * sizeof(*lcs), RTE_CACHE_LINE_SIZE);
    if (rings == 0 || lcs == 0)
	rte_exit(EXIT_FAILURE, "allocate state for %u workers\n", nworkers);
    for (i = 0; i < nworkers; i++) {
	snprintf(name, sizeof(name), DP_RING_NAME_FMT, i);
	rings[i] = rte_ring_create(name, cf.steer_ring, (int) rte_socket_id(), RING_F_SC_DEQ);
	if (rings[i] == 0)
	    rte_exit(EXIT_FAILURE, "create steering ring %s (%u entries): %s\n",
		     name, cf.steer_ring, rte_strerror(rte_errno));
    }
    if ((z = dpstats_create(nworkers)) == 0)
	rte_exit(EXIT_FAILURE, "create counters memzone\n");
    snprintf(z->pool_name, sizeof(z->pool_name), "%s", DP_POOL_NAME);
    dpstats_telemetry_register();

    dp_port_setup(&cf, nworkers, pool);
    if ((ret = rte_eth_macaddr_get(cf.port_id, &mac)) != 0)
	rte_exit(EXIT_FAILURE, "port %u: get MAC address: %s\n", cf.port_id,
		 rte_strerror(-ret));
    dp_tcp_config(&cf, &tc);
    for (k = 0; k < tc.n_listeners; k++)
	if (tc.listeners[k].app == &smtpdp_app && smtp == 0
	    && (smtp = smtpctl_create(&cf, nworkers, z)) == 0)
	    rte_exit(EXIT_FAILURE, "set up SMTP (rules, log, chunk pool, sessions)\n");

    i = 0;
    RTE_LCORE_FOREACH(lcore) {
	memset(&p, 0, sizeof(p));
	p.index = i;
	p.nworkers = nworkers;
	p.port_id = cf.port_id;
	p.queue_id = (uint16_t) i;
	p.mac = mac;
	p.addr = cf.addr;
	p.prefix_len = cf.prefix_len;
	p.gateway = cf.gateway;
	p.mtu = cf.mtu;
	p.arp_ttl_s = cf.arp_ttl_s;
	p.tx_drain_us = cf.tx_drain_us;
	p.idle_sleep_us = cf.idle_sleep_us;
	p.pool = pool;
	p.rings = rings;
	p.stats = &z->w[i];
	p.tcp = &tc;
	p.quit = &dp_quit;
	if (smtp) {
	    for (k = 0; k < tc.n_listeners; k++)
		if (tc.listeners[k].app == &smtpdp_app)
		    tc.listeners[k].listen_ctx = smtpctl_lcore(smtp, i);
	    p.app_poll = smtpdp_poll;
	    p.app_drain = smtpdp_drain;
	    p.app_ctx = smtpctl_lcore(smtp, i);
	    p.syn_filter = sfilter_dp_syn;
	}
	z->lcore_id[i] = lcore;
	if (dp_lcore_setup(&lcs[i], &p) < 0)
	    rte_exit(EXIT_FAILURE, "set up worker %u on lcore %u\n", i, lcore);
	i++;
    }
    printf("mxgate-dp: ready port %u mac " RTE_ETHER_ADDR_PRT_FMT
	   " address %u.%u.%u.%u/%u workers %u echo %u discard %u smtp %u\n",
	   cf.port_id, RTE_ETHER_ADDR_BYTES(&mac), cf.addr >> 24, cf.addr >> 16 & 255,
	   cf.addr >> 8 & 255, cf.addr & 255, cf.prefix_len, nworkers,
	   cf.echo_port, cf.discard_port, smtp ? cf.smtp_port : 0);
    fflush(stdout);
    if (smtp && smtpctl_start(smtp) < 0)
	rte_exit(EXIT_FAILURE, "start the SMTP control thread\n");
    dp_zone = z;
    dp_smtp = smtp;
    cp = dp_ctlplane(&cf, nworkers, smtp);
    if (smtp) {		/* the API publishes through our rules manager */
	ctlplane_set_rules(cp, smtpctl_rulesmgr(smtp));
	/* with a database, rule versions are shared with the other gateways */
	rulesmgr_attach_store(smtpctl_rulesmgr(smtp), smtpctl_store(smtp));
    }

    dp_main_affinity(&main_cpus, "the main lcore's");
    i = 1;
    RTE_LCORE_FOREACH_WORKER(lcore) {
	if ((ret = rte_eal_remote_launch(dp_lcore_main, &lcs[i], lcore)) != 0)
	    rte_exit(EXIT_FAILURE, "launch worker %u on lcore %u: %s\n", i, lcore,
		     rte_strerror(-ret));
	i++;
    }
    dp_lcore_main(&lcs[0]);
    rte_eal_mp_wait_lcore();
    ctlplane_stop(cp);

    for (i = 0; i < nworkers; i++) {
	dpstats_publish_tcp(lcs[i].stats, tcp_stack_counters(lcs[i].tcp),
			    tcp_stack_conn_count(lcs[i].tcp));
	dp_lcore_teardown(&lcs[i]);
    }
    smtpctl_stop(smtp);
    if ((ret = rte_eth_dev_stop(cf.port_id)) != 0)
	printf("mxgate-dp: port %u: stop: %s\n", cf.port_id, rte_strerror(-ret));
    rte_eth_dev_close(cf.port_id);
    printf("mxgate-dp: stopped\n");
    rte_eal_cleanup();
    dpconf_free_args(eal_argv);
    return (0);
}
