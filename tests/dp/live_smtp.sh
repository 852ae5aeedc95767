#!/bin/bash
# live_smtp.sh - SMTP through mxgate-dp to a real Postfix: clean mail byte-exact,
# EICAR/GTUBE 5xx at DATA, downstream down 4xx then exactly once, client gone
# mid-DATA relays nothing, 500 messages from smtp-source (tests/dp/smtp_live.py);
# with 1 and 2 lcores; a full chunk pool gives 451 4.3.0, never a drop
DP_BIN=$1
. "$(dirname "$0")/lib.sh"
dp_require
command -v postfix >/dev/null && command -v swaks >/dev/null && command -v smtp-source >/dev/null \
    || { echo "skip: needs postfix, swaks, smtp-source"; exit 77; }
ROOT=$(cd "$HERE/../.." && pwd)
WORK=/tmp/mxdp-smtp-$TAG
MSGLOG=$WORK/messages.log
smtp_cleanup() {
    local rc=$?
    if [ "$rc" != 0 ] && [ -s "$MSGLOG" ]; then echo "--- message log ---"; tail -5 "$MSGLOG"; fi
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap smtp_cleanup EXIT
mkdir -p "$WORK" || fail "work dir"
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
for n in 1 2; do
    : > "$MSGLOG"
    dp_start "$n" --max-conns 256 --smtp-sessions 64 --msg-chunks 2048 \
	--relay 127.0.0.1:10026 --rules "$ROOT/rules/default" --quarantine "$WORK/quarantine" \
	--log "$MSGLOG" --hostname mxgate-dp.example.net || fail "start mxgate-dp with $n lcores"
    echo "--- $n lcore(s)"
    timeout 280 ip netns exec "$NS_C" $PY "$HERE/smtp_live.py" "$NS_S" $SERVER_IP 25 "$MSGLOG" "$ROOT" \
	|| fail "smtp_live.py with $n lcores"
    dp_stop
    grep "smtp worker" "$DP_LOG"
    in_c ip neigh flush dev "$IF_C"
done
: > "$MSGLOG"
dp_start 1 --max-conns 256 --smtp-sessions 64 --msg-chunks 64 \
    --relay 127.0.0.1:10026 --rules "$ROOT/rules/default" --quarantine "$WORK/quarantine" \
    --log "$MSGLOG" --hostname mxgate-dp.example.net || fail "start mxgate-dp, 1 MB chunk pool"
echo "--- 1 lcore, 1 MB of message chunks"
timeout 120 ip netns exec "$NS_C" $PY "$HERE/smtp_live.py" "$NS_S" $SERVER_IP 25 "$MSGLOG" "$ROOT" \
    full_chunk_pool_gives_451_not_a_drop || fail "smtp_live.py, small chunk pool"
dp_stop
grep "smtp worker" "$DP_LOG"
echo "ok: SMTP over the data plane, relayed to Postfix"
