#!/bin/bash
# rules_bench.sh BUILD_DIR [filter|dp|both] - rule publishing: time from
# publish to every worker switched, and memory held during a swap, for the
# default rule set and a 10,000-pattern set (bench/gen_rules.py), in
# mxgate-filter (2 threads) and mxgate-dp (2 lcores on af_packet in
# namespaces, root). Tables for docs/benchmarks.md, "Rule publishing".
set -u
BUILD=$(cd "${1:?usage: rules_bench.sh BUILD_DIR [filter|dp|both]}" && pwd)
MODE=${2:-both}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
W=$(mktemp -d /tmp/rules-bench.XXXXXX)
FPID=
cleanup() {
    [ -n "$FPID" ] && kill "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
$PY "$ROOT/bench/gen_rules.py" "$W/large-10k" --literals 10000 >/dev/null || exit 1
SETS="$ROOT/rules/default $W/large-10k"

if [ "$MODE" = filter ] || [ "$MODE" = both ]; then
    echo "### mxgate-filter, 2 threads"
    mkdir -p "$W/f"
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BUILD/dp/mxgate-filter" -l 127.0.0.1:$port -r 127.0.0.1:9 -R "$ROOT/rules/default" -t 2 \
	-q "$W/f/q" -L "$W/f/log" --state-dir "$W/f/state" --pidfile "$W/f/pid" \
	--mgmt-listen off 2>"$W/f/err" &
    FPID=$!
    for _ in $(seq 100); do [ -s "$W/f/pid" ] && break; sleep 0.1; done
    sleep 0.5
    $PY "$ROOT/bench/rules_bench.py" $FPID "$W/f/state" "$W/f/err" $SETS || { tail "$W/f/err"; exit 1; }
    kill $FPID; wait $FPID 2>/dev/null; FPID=
fi

if [ "$MODE" = dp ] || [ "$MODE" = both ]; then
    echo "### mxgate-dp, 2 lcores (af_packet, idle sleep 50 us)"
    DP_BIN="$BUILD/dp/mxgate-dp"
    . "$ROOT/tests/dp/lib.sh"
    dp_require
    trap 'cleanup; dp_cleanup' EXIT
    dp_netns_up || exit 1
    dp_huge_up 256 || exit 1
    dp_start 2 --max-conns 256 --smtp-sessions 64 --msg-chunks 2048 --relay 127.0.0.1:9 \
	--rules "$ROOT/rules/default" --quarantine "$W/dq" --log "$W/dlog" \
	--state-dir "$W/dstate" --pidfile "$W/dpid" --mgmt-listen off || exit 1
    $PY "$ROOT/bench/rules_bench.py" "$(cat "$W/dpid")" "$W/dstate" "$DP_LOG" $SETS || exit 1
    dp_stop
fi
