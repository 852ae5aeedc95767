#!/bin/bash
# live_conns.sh - 1,000 concurrent connections; 10,000 sequential ones after
# which the connection table and the mempool are back where they started
DP_BIN=$1
. "$(dirname "$0")/lib.sh"
dp_require
dp_netns_up || fail "namespaces"
dp_huge_up 768 || fail "hugepages"
in_c sysctl -q -w net.ipv4.ip_local_port_range="10000 65000"
in_c sysctl -q -w net.ipv4.tcp_tw_reuse=1
ulimit -n 8192
dp_start 2 --max-conns 1200 || fail "start"
sleep 1
conns0=$(dp_stat tcp_conns); pool0=$(dp_stat mempool_in_use)
echo "before: conns=$conns0 mempool_in_use=$pool0"
timeout 120 ip netns exec "$NS_C" $PY "$HERE/dpclient.py" concurrent $SERVER_IP 7 1000 || fail "1000 concurrent"
timeout 400 ip netns exec "$NS_C" $PY "$HERE/dpclient.py" sequential $SERVER_IP 7 10000 || fail "10000 sequential"
# Connections the client closed first end in TIME_WAIT on the client, not
# here; ours close by LAST_ACK. Give the last ACKs a moment.
for _ in $(seq 1 50); do
    conns=$(dp_stat tcp_conns)
    [ "$conns" = "$conns0" ] && break
    sleep 0.2
done
pool=$(dp_stat mempool_in_use)
echo "after: conns=$conns mempool_in_use=$pool accepted=$(dp_stat tcp_accepted)"
[ "$conns" = "$conns0" ] || fail "connection table: $conns, started at $conns0"
# Per-lcore mempool caches may hold a few more or fewer mbufs than before.
slack=$((2 * 256 + 64))
diff=$((pool - pool0)); diff=${diff#-}
[ "$diff" -le "$slack" ] || fail "mempool in use $pool, started at $pool0 (slack $slack)"
echo "ok: 1000 concurrent, 10000 sequential, table and mempool back to start"
