#!/bin/bash
# smtp_bench.sh - SMTP throughput, latency and server CPU per message, in one
# run, for mxgate-dp, mxgate-filter and bare smtp-sink; prints a markdown table
#
#	bench/smtp_bench.sh BUILD_DIR
#
# Topology (tests/dp/lib.sh): client namespace 198.18.0.1 -- veth -- server
# namespace, 198.18.0.2:25 served in turn by
#   (a) mxgate-dp on af_packet, one lcore on $SERVER_CPU, default rules,
#       relaying to smtp-sink on 127.0.0.1:10026 in the server namespace
#   (b) mxgate-filter (kernel sockets, one thread, pinned to $SERVER_CPU),
#       same rules, same smtp-sink downstream, listening on 198.18.0.2:25
#   (c) smtp-sink alone on 198.18.0.2:25, pinned to $SERVER_CPU
# The load generator (smtp-source, one message per connection, $SESSIONS in
# parallel) and the downstream smtp-sink run on $CLIENT_CPU.
#
# Per server and message size (2 KB, 100 KB): messages/s and MB/s from
# smtp-source's wall time; p50/p99 of whole transactions from
# bench/smtp_lat.py (one message at a time, no load); server CPU per message:
# user+sys of the server process (bench/smtp_cpu.py) over the smtp-source
# run, except that mxgate-dp's polling lcore counts only its busy share:
# the lcore thread's CPU time times busy_cycles / (busy_cycles +
# idle_cycles) from the stats memzone (TSC cycles alone would also count
# time the thread sat preempted on a shared core), plus the CPU of its
# other threads (control thread: relay, log). The downstream smtp-sink is not
# counted for anyone. The kernel's receive work for a veth runs in softirq
# on the sending (client) CPU, charged to no server here; mxgate-dp's
# af_packet frames likewise. N2K, N100K, SESSIONS, LAT_N size the run;
# PERF_OUT=FILE records the server CPU with perf during mxgate-dp's run of
# PERF_SIZE (2048) byte messages. REPEAT (1) runs smtp-source that many
# times per server and size: the table shows the medians of msg/s, MB/s
# and CPU per message, and the lowest and highest CPU per message. SERVERS (default "dp filter sink")
# picks which servers run; DP_PMDS (default "af_packet", may add
# "af_xdp") runs mxgate-dp once per PMD, labelled mxgate-dp and
# mxgate-dp-xdp; DP_AFP_EXTRA holds the af_packet options. SYSCALLS=1
# prints each server thread's system calls per message (perf stat on the
# raw_syscalls tracepoint, or the SYSCALL_EVENTS list, during the
# smtp-source run) to stderr.
set -u
BUILD=$(cd "${1:?usage: smtp_bench.sh BUILD_DIR}" && pwd)
N2K=${N2K:-5000}
N100K=${N100K:-1000}
SESSIONS=${SESSIONS:-16}
LAT_N=${LAT_N:-300}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
SERVERS=${SERVERS:-dp filter sink}
REPEAT=${REPEAT:-1}
DP_PMDS=${DP_PMDS:-af_packet}
DP_AFP_EXTRA=${DP_AFP_EXTRA-,framecnt=4096,qdisc_bypass=1}
DP_XDP_EXTRA=${DP_XDP_EXTRA-,busy_budget=0}
DP_BIN=$BUILD/dp/mxgate-dp
FILTER_BIN=$BUILD/dp/mxgate-filter
HERE_B=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE_B/.." && pwd)
RULES=$ROOT/rules/default
. "$ROOT/tests/dp/lib.sh"
dp_require
command -v smtp-source >/dev/null && command -v smtp-sink >/dev/null || fail "needs smtp-source, smtp-sink"
WORK=/tmp/mxsmtp-bench-$TAG
SINK_PID=
SRV_PID=
bench_cleanup() {
    local rc=$?
    for p in $SRV_PID $SINK_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap bench_cleanup EXIT
mkdir -p "$WORK" || fail "work dir"
dp_netns_up || fail "namespaces"
dp_huge_up 512 || fail "hugepages"
in_c sysctl -q -w net.ipv4.ip_local_port_range="10000 65000"
in_c sysctl -q -w net.ipv4.tcp_tw_reuse=1

# the downstream for (a) and (b): accepts everything, on the client's CPU
# (not through in_s: a backgrounded function would give a subshell's PID)
ip netns exec "$NS_S" taskset -c "$CLIENT_CPU" smtp-sink -u nobody 127.0.0.1:10026 1024 >/dev/null 2>&1 &
SINK_PID=$!

# server_cpu KIND PID - "busy idle lcore other": cumulative lcore cycles
# and CPU seconds of the lcore threads and of the other threads (KIND dp),
# or "0 0 0 cpu" for an ordinary process
# The busy share and the lcore's CPU time must cover the same window: the
# counters come from one --stats snapshot (a secondary process that takes a
# few tenths of a second to attach), and the lcore CPU time is read just
# before and just after it and averaged, so that the snapshot sits in the
# middle of the CPU reading. (Reading them apart made the window of the
# CPU time up to a second longer than the counters', which inflated short
# runs, e.g. 100 KB x 200 messages.)
server_cpu() {
    if [ "$1" = dp ]; then
	local a b c
	a=$($PY "$HERE_B/smtp_cpu.py" "$2" lcore)
	c=$(dp_stats | awk '$1 == "busy_cycles" && b == "" { b = $2 } $1 == "idle_cycles" && i == "" { i = $2 }
			    END { print b + 0, i + 0 }')
	b=$($PY "$HERE_B/smtp_cpu.py" "$2" lcore)
	echo "$c $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.6f", (a + b) / 2 }')" \
	     "$($PY "$HERE_B/smtp_cpu.py" "$2" nonlcore)"
    else
	echo "0 0 0 $($PY "$HERE_B/smtp_cpu.py" "$2" all)"
    fi
}

# cpu_used "BEFORE" "AFTER" - server CPU seconds in between: the lcore
# threads' CPU time times their busy share, plus every other thread
cpu_used() {
    echo "$1 $2" | awk '{
	b = $5 - $1; i = $6 - $2; l = $7 - $3; o = $8 - $4
	share = (b + i > 0) ? b / (b + i) : 0
	printf "%.4f %.4f %.4f", l * share + o, l * share, o }'
}

# measure LABEL KIND PID - both sizes against 198.18.0.2:25
measure() {
    local label=$1 kind=$2 pid=$3 size n c0 c1 t0 t1 lat p0 sc_pid rep lines
    for size in 2048 102400; do
	n=$N2K; [ "$size" = 102400 ] && n=$N100K
	lines=
	for rep in $(seq 1 "$REPEAT"); do
	[ "$kind" = dp ] && p0="$(dp_stat rx_pkts) $(dp_stat tx_pkts) $(dp_stat loops) $(dp_stat busy_cycles) $(dp_stat tx_bursts) $(dp_stat tx_cycles)"
	c0=$(server_cpu "$kind" "$pid"); t0=$(date +%s.%N)
	if [ -n "${PERF_OUT:-}" ] && [ "$kind" = dp ] && [ "$size" = "${PERF_SIZE:-2048}" ]; then
	    perf record -q -C "$SERVER_CPU" -o "$PERF_OUT" -- sleep 2 >/dev/null 2>&1 &
	fi
	if [ -n "${SYSCALLS:-}" ]; then
	    perf stat -e "${SYSCALL_EVENTS:-raw_syscalls:sys_enter}" --per-thread -p "$pid" -x, -o "$WORK/sc" &
	    sc_pid=$!
	    sleep 0.2
	fi
	in_c taskset -c "$CLIENT_CPU" smtp-source -s "$SESSIONS" -m "$n" -l "$size" \
	    -f bench@example.org -t sink@example.net $SERVER_IP:25 >/dev/null 2>"$WORK/source.err" \
	    || { cat "$WORK/source.err" >&2; fail "smtp-source against $label"; }
	t1=$(date +%s.%N); c1=$(server_cpu "$kind" "$pid")
	if [ -n "${SYSCALLS:-}" ]; then
	    kill -INT "$sc_pid"; wait "$sc_pid" 2>/dev/null
	    awk -F, -v l="$label" -v s="$size" -v n="$n" '$1 != "" && $1 !~ /^#/ && $2 > 0 {
		printf "%s %d B: thread %s: %.1f %s per message\n", l, s, $1, $2 / n, $4 }' "$WORK/sc" >&2
	fi
	txs=0
	[ "$kind" = dp ] && p1="$(dp_stat rx_pkts) $(dp_stat tx_pkts) $(dp_stat loops) $(dp_stat busy_cycles) $(dp_stat tx_bursts) $(dp_stat tx_cycles) $(dp_stat tsc_hz)" &&
	    txs=$(echo "$p0 $p1" | awk '{ print ($10 > $4) ? ($12 - $6) / ($10 - $4) : 0 }')
	[ "$kind" = dp ] && echo "$p0 $p1" |
	    awk -v l="$label" -v s="$size" -v n="$n" '{ us = 1e6 / $13
		printf "%s %d B: per message %.1f frames in, %.1f out, %.1f loops; lcore busy %.1f us (TSC), of which %.1f us in %.1f TX bursts (tsc_hz %.0f)\n",
		    l, s, ($7-$1)/n, ($8-$2)/n, ($9-$3)/n, ($10-$4)/n*us, ($12-$6)/n*us, ($11-$5)/n, $13 }' >&2
	lines="$lines$label $size $n $t0 $t1 $(cpu_used "$c0" "$c1") $(awk -v a="$(cpu_used "$c0" "$c1")" -v x="$txs" 'BEGIN { split(a, f, " "); printf "%.4f", f[2] * x }')
"
	sleep 0.5
	done
	lat=$(in_c taskset -c "$CLIENT_CPU" $PY "$HERE_B/smtp_lat.py" $SERVER_IP 25 "$size" "$LAT_N")
	printf '%s' "$lines" | sed "s/\$/ $lat/"
	sleep 1
    done
}

# run_dp PMD LABEL - (a) mxgate-dp on one PMD
run_dp() {
    local extra=$DP_AFP_EXTRA deliv
    [ "$1" = af_xdp ] && extra=$DP_XDP_EXTRA
    DP_PMD=$1 DP_IDLE_SLEEP_US=${BENCH_IDLE_SLEEP_US:-0} DP_VDEV_EXTRA=$extra dp_start 1 --lcores "$SERVER_CPU" \
	--max-conns 2048 --smtp-sessions 512 --msg-chunks 4096 --relay 127.0.0.1:10026 \
	--rules "$RULES" --quarantine "$WORK/q" --log "$WORK/dp.log" \
	--hostname mxgate-dp.example.net || fail "start mxgate-dp ($1)"
    sleep 0.5
    measure "$2" dp "$DP_PID" >> "$WORK/raw_dp"
    deliv=$(dp_stat smtp_msg_delivered)
    dp_stop
    [ "${deliv:-0}" -ge $((N2K + N100K)) ] || fail "$2 delivered $deliv of $((N2K + N100K)) (+ latency runs)"
    in_c ip neigh flush dev "$IF_C"
}

: > "$WORK/raw_dp"
: > "$WORK/raw_k"
case " $SERVERS " in *" dp "*)
    for pmd in $DP_PMDS; do
	label=mxgate-dp; [ "$pmd" = af_xdp ] && label=mxgate-dp-xdp
	run_dp "$pmd" "$label"
    done
esac

# (b) mxgate-filter, and (c) smtp-sink, on the kernel's TCP
if [ "$SERVERS" != dp ]; then
    in_s ip addr add $SERVER_IP/24 dev "$IF_S" || fail "server address"
    in_s ethtool -K "$IF_S" tx off >/dev/null 2>&1
fi
case " $SERVERS " in *" filter "*)
    ip netns exec "$NS_S" taskset -c "$SERVER_CPU" "$FILTER_BIN" -l $SERVER_IP:25 -r 127.0.0.1:10026 -R "$RULES" \
	-t 1 -c 2048 -q "$WORK/q" -L "$WORK/filter.log" -H mxgate-filter.example.net \
	>/dev/null 2>"$WORK/filter.err" &
    SRV_PID=$!
    # compiling the rules takes seconds on a loaded machine
    for _ in $(seq 1 300); do
	grep -q "listening on" "$WORK/filter.err" 2>/dev/null && break
	kill -0 $SRV_PID 2>/dev/null || break
	sleep 0.1
    done
    grep -q "listening on" "$WORK/filter.err" || { cat "$WORK/filter.err"; fail "start mxgate-filter"; }
    measure mxgate-filter proc "$SRV_PID" >> "$WORK/raw_k"
    kill -TERM $SRV_PID; wait $SRV_PID 2>/dev/null; SRV_PID=
    relayed=$(grep -c '"action":"pass"' "$WORK/filter.log")
    [ "$relayed" -ge $((N2K + N100K)) ] || fail "mxgate-filter passed $relayed of $((N2K + N100K))"
esac

case " $SERVERS " in *" sink "*)
    ip netns exec "$NS_S" taskset -c "$SERVER_CPU" smtp-sink -u nobody $SERVER_IP:25 1024 >/dev/null 2>&1 &
    SRV_PID=$!
    sleep 0.5
    measure smtp-sink proc "$SRV_PID" >> "$WORK/raw_k"
    kill $SRV_PID; wait $SRV_PID 2>/dev/null; SRV_PID=
esac

cat "$WORK/raw_dp" "$WORK/raw_k" > "$WORK/raw"
echo "raw: label size n t0 t1 cpu_s lcore_busy_s other_threads_s lcore_tx_s p50_ms p99_ms lat_failures"
cat "$WORK/raw"
echo
awk '
    # med - median of the values v[1..k] (sorted in place)
    function med(v, k,   i, j, t) {
	for (i = 2; i <= k; i++)
	    for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    {
	n = $3; wall = $5 - $4; cpu = $6
	key = $1 " " $2
	if (!(key in cnt)) { keys[++nk] = key; lbl[key] = $1; sz[key] = $2; p50[key] = $10; p99[key] = $11 }
	k = ++cnt[key]
	mps[key, k] = n / wall; mbs[key, k] = n * $2 / wall / 1e6; us[key, k] = cpu / n * 1e6
	lc[key, k] = $7 / n * 1e6; ot[key, k] = $8 / n * 1e6; tx[key, k] = $9 / n * 1e6
    }
    END {
	print "| server | message | msg/s | MB/s | p50 ms | p99 ms | server CPU µs/msg | (lowest–highest) | msgs per server CPU-s |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nk; i++) {
	    key = keys[i]; k = cnt[key]
	    for (j = 1; j <= k; j++) { a[j] = mps[key, j]; b[j] = mbs[key, j]; c[j] = us[key, j] }
	    m1 = med(a, k); m2 = med(b, k); m3 = med(c, k)
	    per[key] = m3 > 0 ? 1e6 / m3 : 0
	    printf "| %s | %d KB | %.0f | %.1f | %.2f | %.2f | %.0f | %.0f–%.0f | %.0f |\n",
		   lbl[key], sz[key] / 1024, m1, m2, p50[key], p99[key], m3, c[1], c[k], per[key]
	    if (lbl[key] ~ /^mxgate-dp/) {
		for (j = 1; j <= k; j++) { a[j] = lc[key, j]; b[j] = tx[key, j]; c[j] = ot[key, j] }
		split_line[key] = sprintf("| %s | %d KB | %.0f | %.0f | %.0f | %.0f |", lbl[key], sz[key] / 1024,
		    med(a, k), med(b, k), med(a, k) - med(b, k), med(c, k))
	    }
	}
	print ""
	print "| mxgate-dp | message | lcore busy µs/msg | of which TX burst (sendto) | lcore without TX | control threads µs/msg |"
	print "|---|---|---:|---:|---:|---:|"
	for (i = 1; i <= nk; i++)
	    if (keys[i] in split_line)
		print split_line[keys[i]]
	print ""
	print "| message | mxgate-dp ÷ mxgate-filter (target ≥ 3) | mxgate-dp ÷ smtp-sink (target ≥ 2) |"
	print "|---|---:|---:|"
	split("2048 102400", szs, " ")
	split("mxgate-dp mxgate-dp-xdp", lb, " ")
	for (i = 1; i <= 2; i++)
	    for (k = 1; k <= 2; k++) {
		d = per[lb[k] " " szs[i]]; f = per["mxgate-filter " szs[i]]; s = per["smtp-sink " szs[i]]
		if (d > 0)
		    printf "| %d KB%s | %.2f | %.2f |\n", szs[i] / 1024, (k == 2 ? " (af_xdp)" : ""),
			   (f > 0 ? d / f : 0), (s > 0 ? d / s : 0)
	    }
    }' "$WORK/raw"
