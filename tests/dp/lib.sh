# tests/dp/lib.sh - shared set-up for the live data-plane tests (sourced)
#
#	dp_require		exit 77 (skip) unless root and mxgate-dp built
#	dp_netns_up		two namespaces joined by a veth pair:
#				  $NS_C: Linux client, $IF_C 198.18.0.1/24
#				  $NS_S: mxgate-dp on $IF_S (no address)
#	dp_huge_up PAGES	private hugetlbfs mount in $HUGE_DIR
#	dp_start N [args]	mxgate-dp with N lcores on af_packet, waits ready;
#				  no database (--db off) unless args say --db;
#				  DP_VDEV_EXTRA appends PMD options (",k=v"),
#				  DP_PMD=af_xdp uses net_af_xdp instead
#	dp_stats		print the counters (secondary process)
#	dp_stat NAME		one counter's total
#	dp_cleanup		trap handler: stop, unmount, delete namespaces
#	in_c CMD...		run CMD in the client namespace
#
# The mxgate side sits in its own namespace, so nothing touches the host's
# interfaces or routing. Addresses come from 198.18.0.0/15. Everything is
# named after $$ so parallel runs do not collide; dp_cleanup runs on every
# exit path through the trap. nr_hugepages is only ever raised.

DP_BIN=${DP_BIN:-}
PY=/usr/bin/python3
TAG=${TAG:-$$}
NS_S=mxs$TAG
NS_C=mxc$TAG
IF_S=mxs$TAG
IF_C=mxc$TAG
CLIENT_IP=198.18.0.1
SERVER_IP=198.18.0.2
HUGE_DIR=/tmp/mxdp-huge-$TAG
PREFIX=mxdp$TAG
DP_LOG=/tmp/mxdp-$TAG.log
DP_PID=
DP_VDEV_EXTRA=${DP_VDEV_EXTRA:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dp_require() {
    if [ "$(id -u)" != 0 ]; then echo "skip: needs root"; exit 77; fi
    if [ -z "$DP_BIN" ] || [ ! -x "$DP_BIN" ]; then echo "skip: mxgate-dp not built"; exit 77; fi
    if ! ip netns list >/dev/null 2>&1; then echo "skip: no netns"; exit 77; fi
    trap dp_cleanup EXIT
    trap 'exit 1' INT TERM
}

in_c() { ip netns exec "$NS_C" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

dp_netns_up() {
    ip netns add "$NS_S" && ip netns add "$NS_C" || return 1
    ip link add "$IF_S" type veth peer name "$IF_C" || return 1
    ip link set "$IF_S" netns "$NS_S" && ip link set "$IF_C" netns "$NS_C" || return 1
    in_s ip link set lo up; in_c ip link set lo up
    in_s ip link set "$IF_S" up || return 1
    in_c ip addr add $CLIENT_IP/24 dev "$IF_C" || return 1
    in_c ip link set "$IF_C" up || return 1
    # The kernel would otherwise leave TCP checksums for a NIC to fill in.
    in_c ethtool -K "$IF_C" tx off >/dev/null || return 1
    in_s ethtool -K "$IF_S" tx off rx off >/dev/null 2>&1
    return 0
}

# dp_netns_up_impaired - as dp_netns_up, with a middle namespace $NS_M in
# which impair.py forwards between the two veth pairs (set IMPAIR_ARGS)
NS_M=mxm$TAG
IMPAIR_PID=
dp_netns_up_impaired() {
    ip netns add "$NS_S" && ip netns add "$NS_C" && ip netns add "$NS_M" || return 1
    ip link add "$IF_S" type veth peer name "ma$TAG" || return 1
    ip link add "$IF_C" type veth peer name "mb$TAG" || return 1
    ip link set "$IF_S" netns "$NS_S" && ip link set "$IF_C" netns "$NS_C" || return 1
    ip link set "ma$TAG" netns "$NS_M" && ip link set "mb$TAG" netns "$NS_M" || return 1
    for ns in "$NS_S" "$NS_C" "$NS_M"; do ip netns exec "$ns" ip link set lo up; done
    ip netns exec "$NS_M" ip link set "ma$TAG" up promisc on || return 1
    ip netns exec "$NS_M" ip link set "mb$TAG" up promisc on || return 1
    ip netns exec "$NS_M" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
    in_s ip link set "$IF_S" up || return 1
    in_c ip addr add $CLIENT_IP/24 dev "$IF_C" || return 1
    in_c ip link set "$IF_C" up || return 1
    in_c ethtool -K "$IF_C" tx off >/dev/null || return 1
    return 0
}

# impair_start ARGS... - (re)start the impairing forwarder
impair_start() {
    impair_stop
    ip netns exec "$NS_M" $PY "$HERE/impair.py" "ma$TAG" "mb$TAG" "$@" >/dev/null 2>&1 &
    IMPAIR_PID=$!
    sleep 0.5
    kill -0 "$IMPAIR_PID" 2>/dev/null
}

impair_stop() {
    if [ -n "$IMPAIR_PID" ]; then
	kill -TERM "$IMPAIR_PID" 2>/dev/null
	wait "$IMPAIR_PID" 2>/dev/null
	IMPAIR_PID=
    fi
}

dp_huge_up() {
    local want=$1 have
    have=$(cat /proc/sys/vm/nr_hugepages)
    if [ "$((have))" -lt "$((want))" ]; then echo "$want" > /proc/sys/vm/nr_hugepages; fi
    mkdir -p "$HUGE_DIR" && mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_DIR"
}

# dp_start N [extra mxgate-dp options]
dp_start() {
    local n=$1; shift
    local vdev="net_af_packet0,iface=$IF_S,qpairs=$n"
    : > "$DP_LOG"
    # af_xdp: one queue per lcore, native XDP on the veth (kernel >= 5.x)
    [ "${DP_PMD:-af_packet}" = af_xdp ] && vdev="net_af_xdp0,iface=$IF_S,start_queue=0,queue_count=$n"
    ip netns exec "$NS_S" "$DP_BIN" --vdev "$vdev$DP_VDEV_EXTRA" --lcores "0-$((n - 1))" \
	--address $SERVER_IP/24 --file-prefix "$PREFIX" --idle-sleep-us "${DP_IDLE_SLEEP_US:-50}" --db off "$@" \
	-- --huge-dir "$HUGE_DIR" --log-level=user1:info >>"$DP_LOG" 2>&1 &
    DP_PID=$!
    for _ in $(seq 1 200); do
	if grep -q "mxgate-dp: ready" "$DP_LOG"; then
	    return 0
	fi
	if ! kill -0 "$DP_PID" 2>/dev/null; then
	    echo "mxgate-dp exited during start-up:"; cat "$DP_LOG"; return 1
	fi
	sleep 0.1
    done
    echo "mxgate-dp not ready after 20 s:"; cat "$DP_LOG"; return 1
}

dp_stop() {
    if [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; then
	kill -TERM "$DP_PID"
	for _ in $(seq 1 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DP_PID" 2>/dev/null
	wait "$DP_PID" 2>/dev/null
    fi
    DP_PID=
}

dp_stats() {
    in_s "$DP_BIN" --stats --file-prefix "$PREFIX" -- --huge-dir "$HUGE_DIR" 2>/dev/null
}

# dp_stat NAME - total of one counter (empty if unknown)
dp_stat() {
    dp_stats | awk -v n="$1" '$1 == n { print $2; exit }'
}

dp_cleanup() {
    local rc=$?
    dp_stop
    impair_stop
    # anything a test started inside its namespaces (a downstream started
    # through a shell function, whose $! is the subshell) dies with them:
    # deleting a namespace does not stop its processes
    local ns pids
    for ns in "$NS_M" "$NS_C" "$NS_S"; do
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] && kill $pids 2>/dev/null && sleep 0.2
	pids=$(ip netns pids "$ns" 2>/dev/null)
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
    done
    ip netns del "$NS_M" 2>/dev/null
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    if mountpoint -q "$HUGE_DIR" 2>/dev/null; then
	rm -f "$HUGE_DIR"/* 2>/dev/null
	umount "$HUGE_DIR"
    fi
    rmdir "$HUGE_DIR" 2>/dev/null
    rm -rf "/var/run/dpdk/$PREFIX"
    # A sanitizer build reports into the log; that fails the test.
    if [ "$rc" = 0 ] && grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" "$DP_LOG" 2>/dev/null; then
	echo "FAIL: sanitizer report in the mxgate-dp log"; rc=1
    fi
    if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$DP_LOG" ]; then
	echo "--- mxgate-dp log ($DP_LOG) ---"; tail -40 "$DP_LOG"
    fi
    rm -f "$DP_LOG"
    exit "$rc"
}

fail() { echo "FAIL: $*"; exit 1; }
