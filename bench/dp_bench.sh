#!/bin/bash
# dp_bench.sh - the same client load against the Linux kernel's TCP and
# against mxgate-dp, through the same veth pair; prints a markdown table
#
#	bench/dp_bench.sh BUILD_DIR [SECONDS]
#
# Topology (tests/dp/lib.sh): client namespace 198.18.0.1 -- veth --
# server namespace. First the kernel serves 198.18.0.2 there (bench/dp_load
# serve: epoll echo + discard), then the address is removed and mxgate-dp
# serves it on af_packet, one lcore. The client (dp_load) is pinned to CPU
# $CLIENT_CPU, the server to $SERVER_CPU. Root only. Note: the kernel
# server's receive processing runs in softirq on the client's CPU (veth),
# mxgate-dp does all its work on its own core; see docs/benchmarks.md.
# DP_BENCH_ARGS overrides mxgate-dp's options (buffers, connections).
set -u
BUILD=$(cd "${1:?usage: dp_bench.sh BUILD_DIR [SECONDS]}" && pwd)
SECS=${2:-10}
# The kernel autotunes its buffers to megabytes; give mxgate-dp windows of
# comparable size (its default of 64 KB per connection limits bulk loads).
DP_BENCH_ARGS=${DP_BENCH_ARGS:---max-conns 1024 --tcp-rcvbuf 524288 --tcp-sndbuf 524288}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
DP_BIN=$BUILD/dp/mxgate-dp
LOAD=$BUILD/bench/dp_load
. "$(dirname "$0")/../tests/dp/lib.sh"
dp_require
[ -x "$LOAD" ] || fail "no $LOAD"
dp_netns_up || fail "namespaces"
dp_huge_up 768 || fail "hugepages"
in_c sysctl -q -w net.ipv4.ip_local_port_range="10000 65000"
in_c sysctl -q -w net.ipv4.tcp_tw_reuse=1
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# run_loads LABEL - the three loads against whoever serves 198.18.0.2
run_loads() {
    local label=$1
    for spec in "stream 9 8" "echo 7 8" "connrate 7 32"; do
	set -- $spec
	v=$(in_c taskset -c "$CLIENT_CPU" "$LOAD" "$1" $SERVER_IP "$2" "$3" "$SECS" | awk '{ print $3 }')
	echo "$label $1 ${v:-0}"
	sleep 1
    done
}

# Kernel reference
in_s ip addr add $SERVER_IP/24 dev "$IF_S"
in_s ethtool -K "$IF_S" tx off >/dev/null 2>&1
ip netns exec "$NS_S" taskset -c "$SERVER_CPU" "$LOAD" serve 7 9 >/dev/null &
KPID=$!
sleep 0.5
K=$(run_loads kernel)
kill "$KPID"; wait "$KPID" 2>/dev/null
in_s ip addr flush dev "$IF_S"
in_c ip neigh flush dev "$IF_C"

# mxgate-dp, one busy-polling lcore on SERVER_CPU
DP_VDEV_EXTRA=,framecnt=4096 DP_IDLE_SLEEP_US=0 dp_start 1 --lcores "$SERVER_CPU" $DP_BENCH_ARGS || fail "start mxgate-dp"
sleep 0.5
M=$(run_loads mxgate)
dp_stop

printf '%s\n%s\n' "$K" "$M" | awk '
    { v[$1 " " $2] = $3 }
    END {
	split("stream echo connrate", t, " ")
	unit["stream"] = "Mbit/s"; unit["echo"] = "Mbit/s"; unit["connrate"] = "conn/s"
	what["stream"] = "8 conns to discard, payload"
	what["echo"] = "8 conns through echo, received"
	what["connrate"] = "32 parallel connect/1 B echo/close"
	print "| load | unit | Linux kernel | mxgate-dp | ratio |"
	print "|---|---|---:|---:|---:|"
	for (i = 1; i <= 3; i++) {
	    k = v["kernel " t[i]]; m = v["mxgate " t[i]]
	    printf "| %s | %s | %.0f | %.0f | %.2f |\n", what[t[i]], unit[t[i]], k, m, (k > 0 ? m / k : 0)
	}
    }'
