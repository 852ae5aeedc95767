#!/bin/bash
# live_smtp_shutdown.sh - SIGTERM to mxgate-dp with SMTP sessions open: idle
# sessions get 421 4.3.2 and FIN; a message already with control gets the
# downstream's answer first (250 only if it took the mail) and then 421;
# when the downstream takes longer than the shutdown wait (10 s) the client
# gets 421, never a 250; new connections are refused; mxgate-dp exits.
# The downstream is smtp-sink delaying its DATA reply (-w), so that the
# message is provably in relay when the signal arrives.
DP_BIN=$1
. "$(dirname "$0")/lib.sh"
dp_require
command -v smtp-sink >/dev/null || { echo "skip: needs smtp-sink (postfix)"; exit 77; }
ROOT=$(cd "$HERE/../.." && pwd)
WORK=/tmp/mxdp-shut-$TAG
SINK_PID=
sink_stop() {
    if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; fi
    SINK_PID=
}
shut_cleanup() {
    local rc=$?
    sink_stop
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap shut_cleanup EXIT
mkdir -p "$WORK" || fail "work dir"
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
while read -r case delay; do
    echo "--- $case (downstream answers DATA after $delay s)"
    sink_stop
    # not through in_s: a backgrounded function's $! is a subshell, and
    # the sink would outlive the test
    ip netns exec "$NS_S" smtp-sink -u nobody -w "$delay" 127.0.0.1:10026 64 >/dev/null 2>&1 &
    SINK_PID=$!
    sleep 0.3
    kill -0 "$SINK_PID" 2>/dev/null || fail "smtp-sink did not start"
    dp_start 1 --max-conns 64 --smtp-sessions 16 --msg-chunks 256 \
	--relay 127.0.0.1:10026 --rules "$ROOT/rules/default" --quarantine "$WORK/q" \
	--log "$WORK/messages.log" --hostname mxgate-dp.example.net || fail "start mxgate-dp"
    pid=$DP_PID
    timeout 60 ip netns exec "$NS_C" $PY "$HERE/smtp_shutdown.py" $SERVER_IP 25 "$pid" "$case" \
	|| fail "$case"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && fail "mxgate-dp still running 15 s after the client's answer"
    wait "$pid" 2>/dev/null
    DP_PID=
    grep -q "mxgate-dp: stopped" "$DP_LOG" || fail "no orderly stop"
    grep "smtp worker" "$DP_LOG"
    in_c ip neigh flush dev "$IF_C"
done <<'CASES'
answered_then_421 2
not_answered_421 25
CASES
echo "ok: shutdown answers every session, 250 only for mail handed on"
