#!/bin/bash
# sfilter_dp_msgs.sh - mxgate-dp with the sender filter off and on: messages/s
# and lcore busy cycles per message, same run (root: namespaces, hugepages)
#
#	bench/sfilter_dp_msgs.sh BUILD_DIR
#
# tests/dp/lib.sh topology: smtp-source in the client namespace (one 2 KB
# message per connection, $SESSIONS in parallel, $N messages) -> mxgate-dp
# (af_packet, one lcore on $SERVER_CPU) -> smtp-sink in the server
# namespace. "on": the block list of ~1 M prefixes (rte_fib), per-address
# limits, valid recipients, one DNSBL zone (stdlib DNS server, cached) and a
# profiler rule; MODES="off lists dnsbl profiler rcpts on" runs the parts.
# CPU per message as bench/smtp_bench.sh counts it: the lcore thread's CPU
# time times its busy share (busy_cycles / (busy + idle) from the stats
# memzone), and the other threads' (control: relay, sender filter) CPU
# time: steadier than messages/s on a shared machine. Medians of $REPEAT.
set -u
BUILD=$(cd "${1:?usage: sfilter_dp_msgs.sh BUILD_DIR}" && pwd)
N=${N:-4000}
SIZE=${SIZE:-2048}
SESSIONS=${SESSIONS:-16}
REPEAT=${REPEAT:-3}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
DP_BIN=$BUILD/dp/mxgate-dp
HERE_B=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE_B/.." && pwd)
. "$ROOT/tests/dp/lib.sh"
dp_require
command -v smtp-source >/dev/null && command -v smtp-sink >/dev/null || fail "needs smtp-source, smtp-sink"
WORK=/tmp/mxsf-bench-$TAG
SINK_PID=
DNS_PID=
bench_cleanup() {
    local rc=$?
    for p in $SINK_PID $DNS_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap bench_cleanup EXIT
mkdir -p "$WORK" || fail "work dir"
dp_netns_up || fail "namespaces"
dp_huge_up 512 || fail "hugepages"
in_c sysctl -q -w net.ipv4.ip_local_port_range="10000 65000"
in_c sysctl -q -w net.ipv4.tcp_tw_reuse=1
ip netns exec "$NS_S" taskset -c "$CLIENT_CPU" smtp-sink -u nobody 127.0.0.1:10026 1024 >/dev/null 2>&1 &
SINK_PID=$!
ip netns exec "$NS_S" $PY -c "
import sys, time
sys.path.insert(0, '$ROOT/tests/sfilter')
import sftest, socket, threading
d = sftest.DnsServer()
d.s.close()
d.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
d.s.bind(('127.0.0.1', 5353))
threading.Thread(target=d._serve, daemon=True).start()
while True: time.sleep(60)
" & DNS_PID=$!
$PY - "$WORK/block" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        k = random.random()
        if k < 0.70:
            a, l = random.getrandbits(32) & 0xffffff00, 24
        elif k < 0.95:
            a, l = random.getrandbits(12) << 20 | random.getrandbits(8), 32
        else:
            l = random.randint(16, 23)
            a = random.getrandbits(32) & (0xffffffff << (32 - l)) & 0xffffffff
        if a >> 17 == 198 << 7 | 18 >> 1:	# keep 198.18.0.0/15 (the test net) out
            continue
        f.write("%d.%d.%d.%d/%d\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, l))
PY
echo "@example.net" > "$WORK/rcpts"
cat > "$WORK/on.conf" <<CONF
block_list = $WORK/block
max_conns_per_addr = 1000
conn_rate_per_addr = 1000000
valid_recipients = $WORK/rcpts
dns_resolver = 127.0.0.1:5353
dnsbl_site = bl.test
profiler_rule = spam 30/30 600 temp 60
reload_check_s = 0
CONF
# parts of it, to see what costs (MODES="off lists dnsbl profiler on")
grep "^block\|^max_conns\|^conn_rate\|^reload" "$WORK/on.conf" > "$WORK/lists.conf"
grep "^dns\|^reload" "$WORK/on.conf" > "$WORK/dnsbl.conf"
grep "^profiler\|^reload" "$WORK/on.conf" > "$WORK/profiler.conf"
grep "^valid\|^reload" "$WORK/on.conf" > "$WORK/rcpts.conf"

snap() {	# busy idle lcore_cpu_s other_cpu_s delivered
    echo "$(dp_stat busy_cycles) $(dp_stat idle_cycles) $($PY "$HERE_B/smtp_cpu.py" "$DP_PID" lcore)" \
	 "$($PY "$HERE_B/smtp_cpu.py" "$DP_PID" nonlcore) $(dp_stat smtp_msg_delivered)"
}

run() {	# run MODE -> "msgs/s lcore_us/msg control_us/msg"
    local args=() s0 s1 t0 t1
    [ "$1" != off ] && args=(--sender-filter "$WORK/$1.conf")
    DP_IDLE_SLEEP_US=0 DP_VDEV_EXTRA=,framecnt=4096 dp_start 1 --lcores "$SERVER_CPU" \
	--max-conns 2048 --smtp-sessions 512 --msg-chunks 4096 --relay 127.0.0.1:10026 \
	--rules "$ROOT/rules/default" --quarantine "$WORK/q" --log /dev/null \
	"${args[@]}" >&2 || fail "start mxgate-dp ($1)"
    # warm: ARP, the DNSBL answer
    in_c smtp-source -m 20 -s 4 -l "$SIZE" -f bench@example.org -t sink@example.net \
	$SERVER_IP:25 >/dev/null 2>&1
    s0=$(snap); t0=$(date +%s.%N)
    in_c taskset -c "$CLIENT_CPU" smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" \
	-f bench@example.org -t sink@example.net $SERVER_IP:25 >/dev/null 2>"$WORK/source.err" \
	|| { cat "$WORK/source.err" >&2; fail "smtp-source ($1)"; }
    t1=$(date +%s.%N); s1=$(snap)
    dp_stop
    in_c ip neigh flush dev "$IF_C"
    echo "$N $t0 $t1 $s0 $s1" | awk '{
	n = $1; b = $9 - $4; i = $10 - $5; l = $11 - $6; o = $12 - $7; d = $13 - $8
	if (d < n) { print "delivered " d " of " n > "/dev/stderr"; exit 1 }
	share = (b + i > 0) ? b / (b + i) : 0
	printf "%.0f %.1f %.1f\n", n / ($3 - $2), l * share * 1e6 / n, o * 1e6 / n }'
}

declare -A M C O
for i in $(seq 1 "$REPEAT"); do
    for m in ${MODES:-off on}; do
	read -r mps cyc oth < <(run $m)
	M[$m]="${M[$m]:-} $mps"; C[$m]="${C[$m]:-} $cyc"; O[$m]="${O[$m]:-} $oth"
    done
done
median() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "| sender filter | messages/s | lcore CPU µs/message | control thread CPU µs/message | runs: msgs/s; lcore µs |"
echo "|---|---:|---:|---:|---|"
for m in ${MODES:-off on}; do
    echo "| $m | $(median ${M[$m]}) | $(median ${C[$m]}) | $(median ${O[$m]}) | ${M[$m]# }; ${C[$m]# } |"
done
