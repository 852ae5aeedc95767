#!/bin/bash
# tls_dp.sh - STARTTLS in mxgate-dp (af_packet in namespaces, tests/dp/lib.sh):
# swaks --tls relayed to a real Postfix with the TLS Received header and log,
# openssl s_client TLS 1.2, the injection case, a handshake flood beside an
# established session, SIGHUP reload without dropping it (tls_dp.py); an
# expired or mismatched certificate refused at start with a clear error.
# Certificates are made here with the openssl command (no key committed).
DP_BIN=$1
[ -n "$DP_BIN" ] && DP_BIN=$(readlink -f "$DP_BIN")
. "$(dirname "$0")/../dp/lib.sh"
dp_require
command -v postfix >/dev/null && command -v swaks >/dev/null && command -v openssl >/dev/null \
    || { echo "skip: needs postfix, swaks, openssl"; exit 77; }
ROOT=$(cd "$HERE/../.." && pwd)
TLSHERE=$ROOT/tests/tls
WORK=/tmp/mxdp-tls-$TAG
MSGLOG=$WORK/messages.log
tls_cleanup() {
    local rc=$?
    if [ "$rc" != 0 ] && [ -s "$MSGLOG" ]; then echo "--- message log ---"; tail -5 "$MSGLOG"; fi
    rm -rf "$WORK"
    (exit $rc); dp_cleanup
}
trap tls_cleanup EXIT
mkdir -p "$WORK" || fail "work dir"
cd "$WORK" || fail "work dir"
ec() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" 2>/dev/null; }
ec mx mx.test && ec other other.test && cp mx.crt live.crt && cp mx.key live.key \
    || fail "openssl req"
# expired: openssl ca with fixed dates
printf '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' > ca.cnf
: > index.txt; echo 01 > serial
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout old.key \
    -out old.csr -subj /CN=old.test 2>/dev/null \
    && openssl ca -batch -config ca.cnf -selfsign -keyfile old.key -in old.csr -out old.crt \
	-startdate 20200101000000Z -enddate 20200102000000Z >/dev/null 2>&1 || fail "openssl ca"
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
COMMON=(--max-conns 512 --smtp-sessions 256 --msg-chunks 1024 --relay 127.0.0.1:10026
	--rules "$ROOT/rules/default" --quarantine "$WORK/quarantine" --log "$MSGLOG"
	--hostname mxgate-dp.example.net)

echo "--- refused at start"
refused() {	# refused CRT KEY EXPECTED-TEXT
    if dp_start 1 "${COMMON[@]}" --tls-cert "$WORK/$1" --tls-key "$WORK/$2" >/dev/null; then
	fail "started with $1/$2"
    fi
    DP_PID=
    grep -qF "mxgate-dp: TLS refused: $3" "$DP_LOG" \
	|| { cat "$DP_LOG"; fail "no clear error for $1/$2 (want: $3)"; }
    grep "TLS refused" "$DP_LOG"
}
refused old.crt old.key "tls_cert $WORK/old.crt: certificate expired on Jan  2 00:00:00 2020 GMT"
refused mx.crt other.key "tls_key $WORK/other.key: key does not match the certificate in tls_cert $WORK/mx.crt"

echo "--- 1 lcore, STARTTLS"
dp_start 1 "${COMMON[@]}" --tls-cert "$WORK/live.crt" --tls-key "$WORK/live.key" \
    --tls-sessions 16 --tls-handshake-timeout 2 || fail "start mxgate-dp with TLS"
timeout 100 ip netns exec "$NS_C" $PY "$TLSHERE/tls_dp.py" "$NS_S" $SERVER_IP 25 "$MSGLOG" \
    "$ROOT" "$DP_PID" "$WORK" || fail "tls_dp.py"
dp_stop
grep "tls worker" "$DP_LOG" || fail "no TLS counters at exit"
echo "ok: STARTTLS on the data plane"
