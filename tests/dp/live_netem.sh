#!/bin/bash
# live_netem.sh - echo byte-exact under loss, reordering, duplication, delay
#
# The impairments come from impair.py in a middle namespace (a user-space
# netem: these kernels may lack sch_netem), in both directions, so both our
# receive path (reassembly, duplicates, SACK) and our send path
# (retransmission, NewReno) are exercised.
DP_BIN=$1
MB=${NETEM_MB:-2}	# per case; NETEM_MB=4 or more for a longer run
. "$(dirname "$0")/lib.sh"
dp_require
dp_netns_up_impaired || fail "namespaces"
dp_huge_up 768 || fail "hugepages"
impair_start || fail "impair.py"
dp_start 2 --max-conns 256 || fail "start"
while read -r name spec; do
    echo "--- $name: $spec"
    impair_start $spec || fail "impair.py $spec"
    # RTO backoff after repeated losses may legitimately pause for tens of
    # seconds: only a longer silence is a stall.
    DPCLIENT_STALL_S=90 timeout 280 ip netns exec "$NS_C" $PY "$HERE/dpclient.py" echo $SERVER_IP 7 $((MB * 1000000)) 2 \
	|| { dp_stats | awk '$2 != 0'; fail "echo under $name ($spec)"; }
done <<'SCEN'
loss1 loss=0.01
loss5 loss=0.05
reorder reorder=0.1 delay=2
duplicate dup=0.05
delay20 delay=20
mixed delay=20 loss=0.02 dup=0.01 reorder=0.05
SCEN
impair_stop
rx=$(dp_stat tcp_retransmits); ooo=$(dp_stat tcp_ooo_segs); dup=$(dp_stat tcp_dup_segs)
rto=$(dp_stat tcp_rto_timeouts); fr=$(dp_stat tcp_fast_retransmits)
echo "server counters: retransmits=$rx rto_timeouts=$rto fast_retransmits=$fr ooo_segs=$ooo dup_segs=$dup"
[ "${rx:-0}" -gt 0 ] && [ "${ooo:-0}" -gt 0 ] && [ "${dup:-0}" -gt 0 ] \
    || fail "impairments did not reach the stack"
echo "ok: byte-exact under loss, reordering, duplication and delay"
