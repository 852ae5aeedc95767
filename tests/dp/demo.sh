#!/bin/bash
# demo.sh - mxgate's main job on the built-in default, end to end, then clean up
#
#	tests/dp/demo.sh [MXGATE-DP] [RULES-DIR]	(root; ./mxgate.sh run calls it)
#
# Sets up hugepages, a veth pair between a client namespace (198.18.0.1) and
# a server namespace where mxgate-dp drives its end with DPDK (net_af_packet,
# 198.18.0.2:25) and a private Postfix listens on 127.0.0.1:10026 as the
# downstream. Sends one clean message and one carrying the EICAR test file
# with swaks, prints what the client was told, the message Postfix delivered
# and mxgate's JSON log lines and the same rows in the message log table of
# the private PostgreSQL mxgate-dp started (the built-in default), asks the
# HTTPS management port for status and the message log (`mxgate status`,
# `mxgate messages`), then removes everything it made.
# MXGATE_DEMO_KEEP=1 keeps it running after the two messages until Enter, so
# that you can send your own (the command is printed).
# Exit status: 0 when the clean mail was delivered and EICAR refused with 5xx.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DP_BIN=${1:-$ROOT/build/dp/mxgate-dp}
RULES=${2:-$ROOT/rules/default}
TAG=demo$$
. "$HERE/lib.sh"
dp_require
for p in postfix swaks; do
    command -v $p >/dev/null || { echo "demo: $p is not installed (./mxgate.sh setup)"; exit 1; }
done
WORK=/tmp/mxgate-demo-$$
PF_ROOT=/var/tmp/mxgate-pf-demo
demo_cleanup() {
    local rc=$?
    [ -f "$PF_ROOT/etc/main.cf" ] && postfix -c "$PF_ROOT/etc" stop >/dev/null 2>&1
    dp_stop	# mxgate-dp stops its private PostgreSQL; if it could not:
    [ -f "$WORK/pg/postmaster.pid" ] && runuser -u postgres -- \
	/usr/lib/postgresql/15/bin/pg_ctl -D "$WORK/pg" stop -m immediate >/dev/null 2>&1
    rm -rf "$WORK" "$PF_ROOT"
    (exit $rc); dp_cleanup
}
trap demo_cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

mkdir -p "$WORK"
say "network: namespaces $NS_C (client 198.18.0.1) and $NS_S (mxgate-dp 198.18.0.2), veth pair"
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
say "downstream: private Postfix on 127.0.0.1:10026 inside $NS_S, delivering to $PF_ROOT/mail/box/"
ip netns exec "$NS_S" $PY - "$ROOT" "$NS_S" <<'EOF' || fail "private Postfix"
import sys
sys.path.insert(0, sys.argv[1] + "/tests/e2e")
from mxtest import PrivatePostfix
PrivatePostfix("demo", 10026, netns=sys.argv[2]).start()
EOF
MXGATE=$(dirname "$DP_BIN")/../control/mxgate
say "management token: $MXGATE token add demo --tokens $WORK/tokens (shown once)"
mkdir -p "$WORK/state"
TOKEN=$("$MXGATE" token add demo --tokens "$WORK/tokens") || fail "token"
say "mxgate-dp: 1 lcore on af_packet, rules $RULES, HTTPS management on 127.0.0.1:8445"
dp_start 1 --max-conns 256 --smtp-sessions 64 --msg-chunks 1024 \
    --relay 127.0.0.1:10026 --rules "$RULES" --quarantine "$WORK/quarantine" \
    --log "$WORK/messages.log" --hostname mxgate-demo.example.net \
    --db private --db-dir "$WORK/pg" --spool-dir "$WORK/spool" \
    --state-dir "$WORK/state" --mgmt-listen 127.0.0.1:8445 --mgmt-tokens "$WORK/tokens" \
    || fail "start mxgate-dp"
grep "mxgate-dp: \(smtp\|ready\)" "$DP_LOG"

send() {
    local what=$1; shift
    say "$what: swaks --server 198.18.0.2 --to bob@example.net $*"
    in_c swaks --server $SERVER_IP --from alice@example.org --to bob@example.net \
	--helo client.example.org "$@" 2>&1 | grep -E '^(<-|<\*\*|->|\*\*\*) ' | grep -v '^-> [^.A-Z]' \
	| grep -vE '^(<-|->)  ?(Date|To|From|Subject|Message-Id|X-Mailer|MIME|Content|This|--|$)'
}
send "a clean message" --header "Subject: hello from the demo" --body "Hi Bob, this one should arrive."
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$WORK/eicar.com"
send "a message with the EICAR test file" --header "Subject: see attachment" \
    --attach-type application/octet-stream --attach @"$WORK/eicar.com" --body "see attachment"

if [ "${MXGATE_DEMO_KEEP:-0}" = 1 ]; then
    say "mxgate-dp stays up: send your own mail from the client namespace, e.g."
    echo "  ip netns exec $NS_C swaks --server $SERVER_IP --to bob@example.net --body 'hello'"
    echo "  (the log: $WORK/messages.log, the mailbox: $PF_ROOT/mail/box/new/)"
    echo "  ip netns exec $NS_S $MXGATE status --token $TOKEN --state-dir $WORK/state"
    read -r -p "press Enter to stop and clean up " _
fi
ok=1
for _ in $(seq 1 50); do
    ls "$PF_ROOT"/mail/box/new/* >/dev/null 2>&1 && break
    sleep 0.1
done
say "what Postfix delivered ($PF_ROOT/mail/box/new/):"
n=$(ls "$PF_ROOT"/mail/box/new/ 2>/dev/null | wc -l)
for f in "$PF_ROOT"/mail/box/new/*; do [ -f "$f" ] && sed -n '/^X-Mxgate/p;/^Subject/p' "$f"; done
echo "$n message(s)"
[ "$n" = 1 ] || ok=0
say "mxgate's message log (one JSON line per message):"
cat "$WORK/messages.log"
grep -q '"action":"pass".*"reply_code":250' "$WORK/messages.log" || ok=0
grep -q '"action":"reject".*"reply_code":550' "$WORK/messages.log" || ok=0
say "the same in PostgreSQL (private server in $WORK/pg, table message_log):"
sleep 0.5	# the writer batches rows for up to 50 ms
psql -X "host=$WORK/pg dbname=mxgate user=mxgate" -c "SELECT to_char(logged_at, 'HH24:MI:SS.MS') AS time,
    qid, sender, recipients, action, score, reply_code, rules_version FROM message_log ORDER BY id" || ok=0
[ "$(psql -X -At "host=$WORK/pg dbname=mxgate user=mxgate" -c "SELECT count(*) FROM message_log")" = 2 ] || ok=0
say "the management API (HTTPS, bearer token): mxgate status; mxgate messages"
api() { ip netns exec "$NS_S" "$MXGATE" "$@" --token "$TOKEN" --state-dir "$WORK/state"; }
api status || ok=0
api messages || ok=0
dp_stop
say "shutting down: $(grep 'smtp worker' "$DP_LOG")"
if [ $ok = 1 ]; then
    echo
    echo "demo: the clean message was relayed to Postfix (250 after Postfix took it);"
    echo "demo: the EICAR message was refused at DATA with 550 5.7.1. Cleaning up."
    exit 0
fi
echo "demo: FAILED (see above)"
exit 1
