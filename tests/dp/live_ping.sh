#!/bin/bash
# live_ping.sh - ARP and ICMP echo through mxgate-dp on af_packet, 1 and 2 lcores
DP_BIN=$1
. "$(dirname "$0")/lib.sh"
dp_require
dp_netns_up || fail "namespaces"
dp_huge_up 512 || fail "hugepages"
for n in 1 2; do
    dp_start "$n" --max-conns 256 || fail "start with $n lcores"
    in_c $PY "$HERE/dpclient.py" ping $SERVER_IP 5 || fail "ping with $n lcores"
    in_c $PY "$HERE/dpclient.py" ping $SERVER_IP 3 1400 || fail "large ping with $n lcores"
    replies=$(dp_stat icmp_echo_replies)
    [ "${replies:-0}" -ge 8 ] || fail "icmp_echo_replies=$replies, want >= 8"
    dp_stop
    in_c ip neigh flush dev "$IF_C"
done
echo "ok: ping answered with 1 and 2 lcores"
