#!/bin/bash
# live_netem.sh - echo byte-exact under loss, reordering, duplication, delay
DP_BIN=$1
MB=${NETEM_MB:-10}
. "$(dirname "$0")/lib.sh"
dp_require
dp_netns_up || fail "namespaces"
dp_huge_up 768 || fail "hugepages"
# qdisc_bypass=0: mxgate's frames go through the veth's qdisc, so netem
# impairs both directions: client egress (our receive path: reassembly,
# duplicates, SACK) and server egress (our retransmissions, NewReno).
DP_VDEV_EXTRA=,qdisc_bypass=0
dp_start 2 --max-conns 256 || fail "start"
while read -r name spec; do
    in_c tc qdisc replace dev "$IF_C" root netem $spec || fail "tc netem $spec (client)"
    in_s tc qdisc replace dev "$IF_S" root netem $spec || fail "tc netem $spec (server)"
    echo "--- $name: netem $spec"
    timeout 280 ip netns exec "$NS_C" $PY "$HERE/dpclient.py" echo $SERVER_IP 7 $((MB * 1000000)) 2 \
	|| fail "echo under $name ($spec)"
done <<'SCEN'
loss1 loss 1%
loss5 loss 5%
reorder delay 5ms reorder 25% 50%
duplicate duplicate 5%
delay20 delay 20ms
mixed delay 20ms loss 2% duplicate 1% reorder 10% 50%
SCEN
in_c tc qdisc del dev "$IF_C" root
in_s tc qdisc del dev "$IF_S" root
rx=$(dp_stat tcp_retransmits); ooo=$(dp_stat tcp_ooo_segs); dup=$(dp_stat tcp_dup_segs)
echo "server counters: retransmits=$rx ooo_segs=$ooo dup_segs=$dup"
echo "ok: byte-exact under netem impairments"
