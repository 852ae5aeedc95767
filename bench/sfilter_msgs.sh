#!/bin/bash
# sfilter_msgs.sh - messages/s through mxgate-filter with the sender filter
# off and on, same run, loopback (no root, no namespaces)
#
#	bench/sfilter_msgs.sh BUILD_DIR
#
# smtp-source (one message per connection, $SESSIONS in parallel, $N
# messages of $SIZE bytes) -> mxgate-filter (one thread, default rules) ->
# smtp-sink. "on" is a realistic sender filter: a block list of ~1 M
# prefixes (none matching 127.0.0.1), per-address limits, valid recipients,
# one DNSBL zone answered (NXDOMAIN, cached) by a stdlib DNS server, and a
# profiler rule (every message and recipient reported to control). Each
# configuration runs $REPEAT times; the table shows the median.
set -u
BUILD=$(cd "${1:?usage: sfilter_msgs.sh BUILD_DIR}" && pwd)
N=${N:-4000}
SIZE=${SIZE:-2048}
SESSIONS=${SESSIONS:-16}
REPEAT=${REPEAT:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=$(mktemp -d /tmp/sfmsgs.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

SINK=$(port)
smtp-sink -u nobody 127.0.0.1:$SINK 512 >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$SINK) 2>/dev/null && break; sleep 0.1; done
DNS_PORT_FILE=$WORK/dns.port
/usr/bin/python3 -c "
import sys, time
sys.path.insert(0, '$ROOT/tests/sfilter')
import sftest
d = sftest.DnsServer()
open('$DNS_PORT_FILE', 'w').write(str(d.port))
while True: time.sleep(60)
" & PIDS+=($!)
/usr/bin/python3 - "$WORK/block" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        k = random.random()
        if k < 0.70:
            a, l = random.getrandbits(32) & 0xffffff00, 24
        elif k < 0.95:
            a, l = (random.getrandbits(12) << 20 | 0x00000) | random.getrandbits(8), 32
        else:
            l = random.randint(16, 23); a = random.getrandbits(32) & (0xffffffff << (32 - l)) & 0xffffffff
        if a >> 24 == 127:
            continue
        f.write("%d.%d.%d.%d/%d\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, l))
PY
echo "@example.net" > "$WORK/rcpts"
for _ in $(seq 1 50); do [ -s "$DNS_PORT_FILE" ] && break; sleep 0.1; done
cat > "$WORK/on.conf" <<CONF
block_list = $WORK/block
max_conns_per_addr = 1000
conn_rate_per_addr = 1000000
valid_recipients = $WORK/rcpts
dns_resolver = 127.0.0.1:$(cat "$DNS_PORT_FILE")
dnsbl_site = bl.test
profiler_rule = spam 30/30 600 temp 60
reload_check_s = 0
CONF
# the same without the DNSBL and the profiler: lists and limits only
grep -v "^dns\|^profiler" "$WORK/on.conf" > "$WORK/lists.conf"

run() {	# run off|on -> messages/s
    local mode=$1 lport args=() t0 t1
    lport=$(port)
    [ "$mode" != off ] && args=(--sender-filter "$WORK/$mode.conf")
    "$BUILD/dp/mxgate-filter" --listen 127.0.0.1:$lport --relay 127.0.0.1:$SINK \
	--rules "$ROOT/rules/default" --quarantine "$WORK/q" --log /dev/null --threads 1 \
	"${args[@]}" 2>"$WORK/filter.err" & local fp=$!
    for _ in $(seq 1 600); do
	grep -q listening "$WORK/filter.err" && break; sleep 0.1
    done
    t0=$(date +%s.%N)
    if ! smtp-source -s $SESSIONS -m $N -l $SIZE -f a@example.org -t bob@example.net 127.0.0.1:$lport; then
	echo "smtp-source failed ($mode); sink alive: $(kill -0 ${PIDS[0]} 2>/dev/null && echo yes || echo no)" >&2
	echo 0; kill $fp; wait $fp 2>/dev/null; return
    fi
    t1=$(date +%s.%N)
    kill -TERM $fp 2>/dev/null || { echo "mxgate-filter died:" >&2; cat "$WORK/filter.err" >&2; }
    wait $fp 2>/dev/null
    echo "$N $t0 $t1" | awk '{ printf "%.0f\n", $1 / ($3 - $2) }'
}

declare -A R
for i in $(seq 1 "$REPEAT"); do
    for m in ${MODES:-off on}; do R[$m]="${R[$m]:-} $(run $m)"; done
done
median() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "| sender filter | messages/s (median of $REPEAT) | runs |"
echo "|---|---:|---|"
for m in ${MODES:-off on}; do echo "| $m | $(median ${R[$m]}) | ${R[$m]# } |"; done
