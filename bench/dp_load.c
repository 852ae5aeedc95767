/*
 * dp_load.c - TCP load generator and kernel reference server for the
 * data-plane benchmark (bench/dp_bench.sh)
 *
 *	dp_load serve PORT_ECHO PORT_DISCARD
 *	dp_load stream ADDR PORT CONNS SECONDS
 *	dp_load echo ADDR PORT CONNS SECONDS
 *	dp_load connrate ADDR PORT PARALLEL SECONDS
 *
 * DESCRIPTION
 *	serve: the Linux kernel's own TCP as the reference: one epoll thread
 *	with an echo and a discard listener, the same services mxgate-dp has
 *	built in.
 *
 *	stream: CONNS connections write to a discard service for SECONDS;
 *	prints payload Mbit/s. echo: CONNS connections each keep
 *	DPLOAD_ECHO_WINDOW bytes in flight through an echo service; prints
 *	Mbit/s each way. connrate: PARALLEL connections at a time do
 *	connect, 1-byte round trip, close; prints connections per second.
 *
 *	One thread, non-blocking sockets, epoll: the client costs little so
 *	the figures are the server's (within the limits of sharing cores).
 *	Output is one line `dp_load MODE VALUE UNIT`.
 *
 * DIAGNOSTICS
 *	Exits 1 with the failing call and errno; a connection that errs
 *	during the run is counted and reported, not fatal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DPLOAD_BUF		65536
#define DPLOAD_ECHO_WINDOW	(256 * 1024)	/* bytes in flight per echo conn */
#define DPLOAD_MAX_EVENTS	256
#define DPLOAD_MAX_CONNS	65536
#define DPLOAD_BACKLOG		4096

enum dpload_role {
    ROLE_LISTEN_ECHO = 1,
    ROLE_LISTEN_DISCARD,
    ROLE_ECHO,
    ROLE_DISCARD,
    ROLE_CLIENT,
};

struct dpload_conn {
    int     fd;
    int     role;
    long long sent;
    long long rcvd;
    int     connected;
};

static char dpload_buf[DPLOAD_BUF];
static volatile sig_atomic_t dpload_stop;

/* on_term - leave the server loop */
static void on_term(int sig)
{
    dpload_stop = 1;
}

/* die - report the failed call and exit */
static void die(const char *what)
{
    fprintf(stderr, "dp_load: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* now_s - monotonic seconds */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* listener - non-blocking listening socket on PORT */
static int listener(int port)
{
    struct sockaddr_in sa;
    int     fd, one = 1;

    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
	die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) port);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
	die("bind");
    if (listen(fd, DPLOAD_BACKLOG) < 0)
	die("listen");
    return (fd);
}

/* watch - add fd to epoll with its conn */
static void watch(int ep, struct dpload_conn *c, unsigned events)
{
    struct epoll_event ev;

    ev.events = events;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
	die("epoll_ctl add");
}

/* serve - kernel echo and discard server */
static int serve(int echo_port, int discard_port)
{
    struct epoll_event evs[DPLOAD_MAX_EVENTS];
    struct dpload_conn le = {0}, ld = {0}, *c, *n;
    int     ep, i, k, fd;
    ssize_t r;

    if ((ep = epoll_create1(0)) < 0)
	die("epoll_create1");
    le.fd = listener(echo_port);
    le.role = ROLE_LISTEN_ECHO;
    ld.fd = listener(discard_port);
    ld.role = ROLE_LISTEN_DISCARD;
    watch(ep, &le, EPOLLIN);
    watch(ep, &ld, EPOLLIN);
    printf("dp_load: serving echo %d discard %d\n", echo_port, discard_port);
    fflush(stdout);
    signal(SIGTERM, on_term);
    while (!dpload_stop) {
	if ((k = epoll_wait(ep, evs, DPLOAD_MAX_EVENTS, -1)) < 0) {
	    if (errno == EINTR)
		continue;
	    die("epoll_wait");
	}
	for (i = 0; i < k; i++) {
	    c = evs[i].data.ptr;
	    if (c->role == ROLE_LISTEN_ECHO || c->role == ROLE_LISTEN_DISCARD) {
		while ((fd = accept4(c->fd, 0, 0, SOCK_NONBLOCK)) >= 0) {
		    if ((n = calloc(1, sizeof(*n))) == 0)
			die("calloc");
		    n->fd = fd;
		    n->role = c->role == ROLE_LISTEN_ECHO ? ROLE_ECHO : ROLE_DISCARD;
		    watch(ep, n, EPOLLIN);
		}
		continue;
	    }
	    /* Echo writes back what it read; a full send buffer blocks here,
	     * which is the flow control a simple echo server has. */
	    while ((r = read(c->fd, dpload_buf, sizeof(dpload_buf))) > 0) {
		if (c->role == ROLE_ECHO) {
		    ssize_t off = 0, w;
		    int     fl = fcntl(c->fd, F_GETFL);

		    fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
		    while (off < r && (w = write(c->fd, dpload_buf + off, r - off)) > 0)
			off += w;
		    fcntl(c->fd, F_SETFL, fl);
		}
	    }
	    if (r == 0 || (r < 0 && errno != EAGAIN)) {
		close(c->fd);
		free(c);
	    }
	}
    }
    return (0);
}

/* client_connect - non-blocking connect */
static int client_connect(const struct sockaddr_in *sa)
{
    int     fd, one = 1;

    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
	die("socket");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) < 0 && errno != EINPROGRESS)
	die("connect");
    return (fd);
}

/* bulk - stream (discard) or echo load on CONNS connections */
static int bulk(const struct sockaddr_in *sa, int conns, double secs, int echo)
{
    struct epoll_event evs[DPLOAD_MAX_EVENTS];
    struct dpload_conn *cs;
    long long total_sent = 0, total_rcvd = 0;
    double  t0, t_end;
    int     ep, i, k, errors = 0;
    ssize_t r;

    if ((cs = calloc((size_t) conns, sizeof(*cs))) == 0 || (ep = epoll_create1(0)) < 0)
	die("set-up");
    for (i = 0; i < conns; i++) {
	cs[i].fd = client_connect(sa);
	cs[i].role = ROLE_CLIENT;
	watch(ep, &cs[i], EPOLLIN | EPOLLOUT);
    }
    t0 = now_s();
    t_end = t0 + secs;
    while (now_s() < t_end) {
	if ((k = epoll_wait(ep, evs, DPLOAD_MAX_EVENTS, 100)) < 0)
	    die("epoll_wait");
	for (i = 0; i < k; i++) {
	    struct dpload_conn *c = evs[i].data.ptr;

	    if (c->fd < 0)
		continue;
	    if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
		errors++;
		close(c->fd);
		c->fd = -1;
		continue;
	    }
	    if (evs[i].events & EPOLLIN) {
		while ((r = read(c->fd, dpload_buf, sizeof(dpload_buf))) > 0)
		    c->rcvd += r;
	    }
	    if (evs[i].events & EPOLLOUT) {
		while (!echo || c->sent - c->rcvd < DPLOAD_ECHO_WINDOW) {
		    if ((r = write(c->fd, dpload_buf, sizeof(dpload_buf))) <= 0)
			break;
		    c->sent += r;
		}
	    }
	}
    }
    secs = now_s() - t0;
    for (i = 0; i < conns; i++) {
	total_sent += cs[i].sent;
	total_rcvd += cs[i].rcvd;
	if (cs[i].fd >= 0)
	    close(cs[i].fd);
    }
    if (echo)
	printf("dp_load echo %.1f Mbit/s (received, %d conns, %d errors)\n",
	       total_rcvd * 8 / secs / 1e6, conns, errors);
    else
	printf("dp_load stream %.1f Mbit/s (sent, %d conns, %d errors)\n",
	       total_sent * 8 / secs / 1e6, conns, errors);
    return (errors ? 1 : 0);
}

/* connrate - connect, 1-byte echo, close; PARALLEL at a time */
static int connrate(const struct sockaddr_in *sa, int parallel, double secs)
{
    struct epoll_event evs[DPLOAD_MAX_EVENTS];
    struct dpload_conn *cs;
    long long done = 0;
    double  t0, t_end;
    int     ep, i, k, errors = 0;
    char    b;

    if ((cs = calloc((size_t) parallel, sizeof(*cs))) == 0 || (ep = epoll_create1(0)) < 0)
	die("set-up");
    for (i = 0; i < parallel; i++) {
	cs[i].fd = client_connect(sa);
	watch(ep, &cs[i], EPOLLOUT | EPOLLIN);
    }
    t0 = now_s();
    t_end = t0 + secs;
    while (now_s() < t_end) {
	if ((k = epoll_wait(ep, evs, DPLOAD_MAX_EVENTS, 100)) < 0)
	    die("epoll_wait");
	for (i = 0; i < k; i++) {
	    struct dpload_conn *c = evs[i].data.ptr;
	    int     finished = 0;

	    if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
		errors++;
		finished = 1;
	    } else if (!c->connected && (evs[i].events & EPOLLOUT)) {
		c->connected = 1;
		if (write(c->fd, "x", 1) != 1) {
		    errors++;
		    finished = 1;
		} else {
		    struct epoll_event ev = {.events = EPOLLIN,.data.ptr = c};

		    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	    } else if (evs[i].events & EPOLLIN) {
		if (read(c->fd, &b, 1) == 1)
		    done++;
		else
		    errors++;
		finished = 1;
	    }
	    if (finished) {
		/* Linger 0 would test RST handling, not close: close normally. */
		close(c->fd);
		c->fd = client_connect(sa);
		c->connected = 0;
		watch(ep, c, EPOLLOUT | EPOLLIN);
	    }
	}
    }
    secs = now_s() - t0;
    printf("dp_load connrate %.0f conn/s (%d parallel, %d errors)\n",
	   done / secs, parallel, errors);
    return (0);
}

/* main - dispatch on mode */
int     main(int argc, char **argv)
{
    struct sockaddr_in sa;

    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 && strcmp(argv[1], "serve") == 0)
	return (serve(atoi(argv[2]), atoi(argv[3])));
    if (argc != 6) {
	fprintf(stderr, "usage: dp_load serve ECHO_PORT DISCARD_PORT\n"
		"       dp_load stream|echo|connrate ADDR PORT CONNS SECONDS\n");
	return (2);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t) atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
	fprintf(stderr, "dp_load: bad address %s\n", argv[2]);
	return (2);
    }
    if (atoi(argv[4]) < 1 || atoi(argv[4]) > DPLOAD_MAX_CONNS) {
	fprintf(stderr, "dp_load: connections must be 1..%d\n", DPLOAD_MAX_CONNS);
	return (2);
    }
    if (strcmp(argv[1], "stream") == 0)
	return (bulk(&sa, atoi(argv[4]), atof(argv[5]), 0));
    if (strcmp(argv[1], "echo") == 0)
	return (bulk(&sa, atoi(argv[4]), atof(argv[5]), 1));
    if (strcmp(argv[1], "connrate") == 0)
	return (connrate(&sa, atoi(argv[4]), atof(argv[5])));
    fprintf(stderr, "dp_load: unknown mode %s\n", argv[1]);
    return (2);
}
