#!/bin/bash
# live_tap.sh - the same stack on net_tap: the kernel side of the tap is the
# client, both inside one namespace the test creates
DP_BIN=$1
. "$(dirname "$0")/lib.sh"
dp_require
[ -e /dev/net/tun ] || { echo "skip: no /dev/net/tun"; exit 77; }
ip netns add "$NS_S" || fail "namespace"
dp_huge_up 512 || fail "hugepages"
TAP=mxt$TAG
: > "$DP_LOG"
ip netns exec "$NS_S" "$DP_BIN" --vdev "net_tap0,iface=$TAP" --lcores 0 \
    --address $SERVER_IP/24 --file-prefix "$PREFIX" --max-conns 256 \
    -- --huge-dir "$HUGE_DIR" >>"$DP_LOG" 2>&1 &
DP_PID=$!
for _ in $(seq 1 100); do grep -q "mxgate-dp: ready" "$DP_LOG" && break; sleep 0.1; done
grep -q "mxgate-dp: ready" "$DP_LOG" || fail "not ready"
in_s ip addr add $CLIENT_IP/24 dev "$TAP" || fail "address on tap"
in_s ip link set "$TAP" up
in_s ethtool -K "$TAP" tx off >/dev/null 2>&1
in_s $PY "$HERE/dpclient.py" ping $SERVER_IP 3 || fail "ping over tap"
timeout 120 ip netns exec "$NS_S" $PY "$HERE/dpclient.py" echo $SERVER_IP 7 10000000 2 || fail "echo over tap"
echo "ok: net_tap ping and echo"
