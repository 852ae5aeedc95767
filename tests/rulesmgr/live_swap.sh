#!/bin/bash
# live_swap.sh - 20 rule swaps on mxgate-dp (af_packet, 2 lcores, namespaces)
# under continuous SMTP load: zero failed sessions, zero lost messages, each
# new rule refusing mail that starts after its swap, a message in progress
# ending on its own set, the version in every log row (tests/rulesmgr/
# swap_load.py, data-plane variant), with smtp-source sending beside it. Swaps go through the operator's path:
# request file + SIGHUP to the pidfile, as `mxgate rules publish --pidfile`.
DP_BIN=$1
SWAPS=${2:-20}
. "$(dirname "$0")/../dp/lib.sh"
dp_require
WORK=/tmp/mxdp-swap-$TAG
SINK_PORT=10026
SINK_PID=
swap_cleanup() {
    local rc=$?
    if [ "$rc" != 0 ]; then echo "--- mxgate-dp log ---"; tail -30 "$DP_LOG"; fi
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
    [ "$rc" != 0 ] && [ -f "$WORK/sink.ids" ] && sort "$WORK/sink.ids" | uniq -c | sort -rn | head -3
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap swap_cleanup EXIT
mkdir -p "$WORK/s0" || fail "work dir"
cat > "$WORK/s0/10-swap.rules" <<'RULES'
rule BASE_TOKEN
  scope body
  literal BASE-TOKEN
  action reject
end
RULES
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
: > "$WORK/sink.ids"
ip netns exec "$NS_S" $PY "$HERE/../rulesmgr/swap_load.py" sink $SINK_PORT "$WORK/sink.ids" &
SINK_PID=$!
dp_start 2 --max-conns 256 --smtp-sessions 64 --msg-chunks 2048 \
    --relay 127.0.0.1:$SINK_PORT --rules "$WORK/s0" --quarantine "$WORK/quarantine" \
    --log "$WORK/messages.log" --hostname mxgate-dp.example.net \
    --state-dir "$WORK/state" --pidfile "$WORK/pid" --mgmt-listen off || fail "start mxgate-dp"
# Postfix's smtp-source beside the Python load: SRC_MSGS messages over 2
# parallel sessions while the swaps run; each must reach the sink once.
SRC_MSGS=400
ip netns exec "$NS_C" timeout 150 smtp-source -s 2 -m $SRC_MSGS -l 2048 -f a@example.org \
    -t b@example.net $SERVER_IP:25 >"$WORK/smtp-source.out" 2>&1 &
SRC_PID=$!
timeout 150 ip netns exec "$NS_C" $PY "$HERE/../rulesmgr/swap_load.py" dp $SERVER_IP 25 \
    "$WORK/state" "$WORK/pid" "$WORK" "$SWAPS" "$WORK/sink.ids" "$WORK/messages.log" \
    || fail "swap_load.py on the data plane"
wait $SRC_PID || fail "smtp-source: $(tail -3 "$WORK/smtp-source.out")"
got=$(grep -cv '^<\(load\|before\|after\|inflight\|broken\)-' "$WORK/sink.ids")
[ "$got" = "$SRC_MSGS" ] || fail "smtp-source sent $SRC_MSGS messages, the downstream got $got"
dup=$(sort "$WORK/sink.ids" | uniq -d | wc -l)
[ "$dup" = 0 ] || fail "$dup messages reached the downstream twice"
n=$(grep -c "rules: published " "$DP_LOG")
[ "$n" = "$SWAPS" ] || fail "$n 'rules: published' lines in the daemon log, want $SWAPS"
grep "workers switched" "$DP_LOG" | tail -3
dp_stop
grep "smtp worker" "$DP_LOG"
echo "ok: $SWAPS rule swaps on the data plane under load"
