#!/bin/bash
# live_sfilter.sh - the sender filter on mxgate-dp over af_packet: clients
# from several source addresses (extra addresses on the client veth) meet
# the block list at SYN (RST), an allowlist inside it, the concurrent
# connection limit (421) and a DNSBL listing (550 at MAIL) answered by a
# stdlib DNS server in mxgate-dp's namespace; then the sfilter_* counters.
# A second run drops blocked SYNs silently and holds the greeting for the
# pregreet test (a client that talks first is refused).
DP_BIN=$1
. "$(dirname "$0")/../dp/lib.sh"
dp_require
SF=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SF/../.." && pwd)
WORK=/tmp/mxsf-live-$TAG
SERVE_PID=
sf_cleanup() {
    local rc=$?
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
    if [ "$rc" != 0 ] && [ -s "$WORK/messages.log" ]; then
	echo "--- message log ---"; tail -10 "$WORK/messages.log"
    fi
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap sf_cleanup EXIT
mkdir -p "$WORK" || fail "work dir"
dp_netns_up || fail "namespaces"
for i in 10 11 20 21 22; do in_c ip addr add 198.18.0.$i/24 dev "$IF_C" || fail "address .$i"; done
dp_huge_up 256 || fail "hugepages"
SINK_PORT=10026
DNS_PORT=5353
ip netns exec "$NS_S" $PY "$SF/live_serve.py" $SINK_PORT $DNS_PORT > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 50); do grep -q ready "$WORK/serve.log" && break; sleep 0.1; done
grep -q ready "$WORK/serve.log" || fail "sink and DNS server did not start"
echo "198.18.0.8/29" > "$WORK/block"
echo "198.18.0.11" > "$WORK/allow"
cat > "$WORK/sfilter.conf" <<CONF
block_list = $WORK/block
allow_list = $WORK/allow
block_action = rst
max_conns_per_addr = 1
dns_resolver = 127.0.0.1:$DNS_PORT
dnsbl_site = bl.test
dnsbl_budget_ms = 300
CONF
dp_start 2 --max-conns 256 --smtp-sessions 64 --msg-chunks 256 \
    --relay 127.0.0.1:$SINK_PORT --rules "$ROOT/rules/default" --quarantine "$WORK/q" \
    --log "$WORK/messages.log" --sender-filter "$WORK/sfilter.conf" || fail "start mxgate-dp"
timeout 60 ip netns exec "$NS_C" $PY "$SF/live_client.py" $SERVER_IP || fail "clients"
for c in sfilter_syn_reset sfilter_allowed sfilter_refused_conns sfilter_refused_dnsbl; do
    v=$(dp_stat $c)
    echo "$c $v"
    [ "${v:-0}" -ge 1 ] || fail "counter $c is ${v:-missing}"
done
grep -q '"reason":"blocklist"' "$WORK/messages.log" || fail "no blocklist line in the log"
grep -q '"reason":"dnsbl"' "$WORK/messages.log" || fail "no dnsbl line in the log"
dp_stop
in_c ip neigh flush dev "$IF_C"

# second run: silent drop at SYN, and the pregreet test on the lcores
cat > "$WORK/sfilter2.conf" <<CONF
block_list = $WORK/block
allow_list = $WORK/allow
block_action = drop
pregreet_delay_ms = 300
CONF
dp_start 1 --max-conns 256 --smtp-sessions 64 --msg-chunks 256 \
    --relay 127.0.0.1:$SINK_PORT --rules "$ROOT/rules/default" --quarantine "$WORK/q" \
    --log "$WORK/messages.log" --sender-filter "$WORK/sfilter2.conf" || fail "start mxgate-dp (2)"
timeout 60 ip netns exec "$NS_C" $PY "$SF/live_client2.py" $SERVER_IP || fail "clients (2)"
for c in sfilter_syn_dropped sfilter_refused_pregreet sfilter_held; do
    v=$(dp_stat $c)
    echo "$c $v"
    [ "${v:-0}" -ge 1 ] || fail "counter $c is ${v:-missing}"
done
grep -q '"reason":"pregreet"' "$WORK/messages.log" || fail "no pregreet line in the log"
dp_stop
echo "ok: sender filter on the data plane"
