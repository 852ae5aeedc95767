#!/bin/bash
# probe_scapy.sh - crafted packets against mxgate-dp; counters must show drops
DP_BIN=$1
. "$(dirname "$0")/lib.sh"
dp_require
$PY -c 'import scapy' 2>/dev/null || { echo "skip: no scapy in $PY"; exit 77; }
dp_netns_up || fail "namespaces"
dp_huge_up 512 || fail "hugepages"
dp_start 1 --max-conns 4096 --syn-backlog 64 || fail "start"
in_c $PY "$HERE/dpclient.py" ping $SERVER_IP 1 >/dev/null || fail "ping"
MAC=$(in_c ip -o neigh show $SERVER_IP | awk '{ print $5 }')
[ -n "$MAC" ] || fail "no neighbour entry for $SERVER_IP"
probe() { timeout 60 ip netns exec "$NS_C" $PY "$HERE/probe.py" "$IF_C" $SERVER_IP "$MAC" "$1" || fail "$1"; }
# counter NAME must grow by at least MIN across the probe
check_grows() {
    local name=$1 before=$2 min=$3 after
    after=$(dp_stat "$name")
    [ $((after - before)) -ge "$min" ] || fail "$name went $before -> $after, want +$min"
    echo "  $name: $before -> $after"
}

c=$(dp_stat drop_ip_csum); probe bad_ip_csum; check_grows drop_ip_csum "$c" 1
c=$(dp_stat tcp_drop_csum); probe bad_tcp_csum; check_grows tcp_drop_csum "$c" 1
c=$(dp_stat tcp_resets_sent); probe closed_port; check_grows tcp_resets_sent "$c" 1
c=$(dp_stat tcp_challenge_acks); probe rst_challenge; check_grows tcp_challenge_acks "$c" 1

c=$(dp_stat tcp_syncookies_sent); probe syn_flood; sleep 1.2; check_grows tcp_syncookies_sent "$c" 1
echo "ok: scapy probes"
