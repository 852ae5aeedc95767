#!/bin/bash
# live_echo.sh - 100 MB through the echo service, SHA-256 checked, 1 and 2 lcores
DP_BIN=$1
MB=${ECHO_MB:-100}
. "$(dirname "$0")/lib.sh"
dp_require
dp_netns_up || fail "namespaces"
dp_huge_up 768 || fail "hugepages"
for n in 1 2; do
    dp_start "$n" --max-conns 256 || fail "start with $n lcores"
    timeout 240 ip netns exec "$NS_C" $PY "$HERE/dpclient.py" echo $SERVER_IP 7 $((MB * 1000000)) 1 \
	|| fail "echo of $MB MB with $n lcores"
    timeout 240 ip netns exec "$NS_C" $PY "$HERE/dpclient.py" echo $SERVER_IP 7 $((MB * 1000000 / 4)) 8 \
	|| fail "echo on 8 connections with $n lcores"
    if [ "$n" = 2 ]; then
	steer=$(dp_stat steer_in)
	echo "steered between lcores: ${steer:-0} packets"
    fi
    dp_stop
    in_c ip neigh flush dev "$IF_C"
done
echo "ok: echo byte-exact with 1 and 2 lcores"
