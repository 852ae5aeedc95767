#!/bin/bash
# live_mgmt_dp.sh - the management port of mxgate-dp (af_packet in network
# namespaces): per-lcore counters and the lcore-side latency histograms in
# /api/v1/stats and /metrics match the mail sent; TX bursts, their cycles
# (within busy) and control wake-ups exported; the sender filter's
# refusals (an unknown recipient) by reason; quarantine release through
# the control plane's relay; CLI status against the data plane.
#
# usage: live_mgmt_dp.sh MXGATE_DP MXGATE (suite 'live'; exit 77 = skipped)
DP_BIN=$1
MXGATE=$2
. "$(dirname "$0")/../dp/lib.sh"
dp_require
command -v swaks >/dev/null && command -v smtp-sink >/dev/null && command -v curl >/dev/null \
    || { echo "skip: needs swaks, smtp-sink, curl"; exit 77; }
ROOT=$(cd "$HERE/../.." && pwd)
WORK=/tmp/mxdp-mgmt-$TAG
SINK_PID=
mgmt_cleanup() {
    local rc=$?
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap mgmt_cleanup EXIT
mkdir -p "$WORK/state" || fail "work dir"
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
# the downstream, on the server namespace's loopback (the control thread's side)
ip netns exec "$NS_S" smtp-sink -u nobody -c 127.0.0.1:10026 50 >/dev/null 2>&1 &
SINK_PID=$!
in_s $PY -c '
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", 10026), timeout=1).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)' || fail "smtp-sink did not start"
# a sender filter whose only refusal here is an unknown recipient
printf 'bob@example.net\n' > "$WORK/rcpts"
printf 'valid_recipients = %s\n' "$WORK/rcpts" > "$WORK/sfilter.conf"
dp_start 1 --max-conns 256 --smtp-sessions 64 --msg-chunks 512 \
    --relay 127.0.0.1:10026 --rules "$ROOT/rules/default" --quarantine "$WORK/q" \
    --log "$WORK/log" --hostname mxgate-dp.example.net \
    --state-dir "$WORK/state" --mgmt-listen 127.0.0.1:8445 \
    --sender-filter "$WORK/sfilter.conf" || fail "start mxgate-dp"
for _ in $(seq 1 50); do grep -q "management port https" "$DP_LOG" && break; sleep 0.1; done
TOKEN=$("$MXGATE" token add live --state-dir "$WORK/state" 2>/dev/null) || fail "token add"
api() { in_s curl -sS --cacert "$WORK/state/mgmt-cert.pem" -H "Authorization: Bearer $TOKEN" "$@"; }

for i in 1 2 3; do
    out=$(in_c swaks -s $SERVER_IP -p 25 -f a@example.org -t bob@example.net \
	--header "Subject: clean $i" --body "hello $i" 2>&1) || fail "clean message $i: $out"
done
in_c swaks -s $SERVER_IP -p 25 -f a@example.org -t bob@example.net \
    --header "Subject: Urgent: action required" --add-header "Content-Type: text/html" \
    --body '<html><body>Dear customer, your account has been suspended.
<a href="http://203.0.113.7/secure/login.php">verify your account</a></body></html>' \
    >/dev/null || fail "phishing message"

out=$(in_c swaks -s $SERVER_IP -p 25 -f a@example.org -t nobody@example.net 2>&1)
echo "$out" | grep -q '^<\*\* *550 5\.1\.1' || fail "unknown recipient not refused: $out"

stats=$(api https://127.0.0.1:8445/api/v1/stats) || fail "GET stats"
echo "$stats" | $PY -c '
import json, sys
s = json.load(sys.stdin)
c = s["cores"][0]
assert s["workers"] == 1, s
assert c["messages_received"] == 4, c
assert c["messages_by_action"]["pass"] == 3 and c["messages_by_action"]["quarantine"] == 1, c
assert c["scan_ms_count"] == 4 and c["total_ms_count"] == 4, c
assert c["rx_packets"] > 0 and c["tx_packets"] > 0 and c["sessions"] >= 4, c
assert c["tx_bursts"] > 0 and c["tx_cycles"] <= c["busy_cycles"], c
assert c["control_wakeups"] >= 1, c
assert c["sfilter"]["refusals"]["rcpt_unknown"] == 1, c
assert sum(c["sfilter"]["refusals"].values()) == 1, c
' || fail "per-lcore stats: $stats"
metrics=$(api https://127.0.0.1:8445/metrics) || fail "GET /metrics"
# the checker the socket-mode tests use (tests/mgmt/promtext.py)
echo "$metrics" | PYTHONPATH="$HERE/../mgmt" $PY -c '
import sys
from promtext import FRAME_FAMILIES, SFILTER_FAMILIES, metric_sum, parse_prometheus
types, s = parse_prometheus(sys.stdin.read())
for f in FRAME_FAMILIES + SFILTER_FAMILIES:
    assert types.get(f) == "counter", (f, types.get(f))
assert metric_sum(s, "mxgate_tx_bursts_total") > 0, "tx bursts"
assert metric_sum(s, "mxgate_tx_cycles_total") <= metric_sum(s, "mxgate_busy_cycles_total"), "tx cycles"
assert metric_sum(s, "mxgate_control_wakeups_total") >= 1, "control wake-ups"
assert metric_sum(s, "mxgate_sfilter_refusals_total", reason="rcpt_unknown") == 1, "rcpt_unknown"
assert metric_sum(s, "mxgate_sfilter_refusals_total") == 1, "other refusals"
' || fail "metrics: tx bursts, wake-ups, sender filter: $metrics"
echo "$metrics" | grep -q '^mxgate_messages_total{core="0",action="quarantine"} 1$' \
    || fail "metrics: quarantine count"
echo "$metrics" | grep -q '^mxgate_end_to_end_duration_seconds_count{} 4$' \
    || fail "metrics: end-to-end histogram count"
echo "$metrics" | grep -q '^mxgate_scan_duration_seconds_bucket{le="+Inf"} 4$' \
    || fail "metrics: scan histogram"
qid=$(ls "$WORK/q" | sed -n 's/\.eml$//p' | head -1)
[ -n "$qid" ] || fail "nothing quarantined"
out=$(in_s env MXGATE_URL=https://127.0.0.1:8445 MXGATE_TOKEN="$TOKEN" \
    MXGATE_STATE_DIR="$WORK/state" "$MXGATE" quarantine release "$qid" 2>&1) \
    || fail "release: $out"
echo "$out"
[ ! -e "$WORK/q/$qid.eml" ] || fail "released message still in the quarantine"
in_s env MXGATE_URL=https://127.0.0.1:8445 MXGATE_TOKEN="$TOKEN" \
    MXGATE_STATE_DIR="$WORK/state" "$MXGATE" status || fail "mxgate status"
dp_stop
echo "ok: management port of mxgate-dp"
