#!/bin/bash
# live_dp_pg.sh - mxgate-dp on its built-in default database: a private
# PostgreSQL it starts itself (db = private, db_dir in a temporary directory)
#
#	tests/pg/live_dp_pg.sh MXGATE-DP	(root; suite 'live')
#
# af_packet on a veth pair in namespaces (tests/dp/lib.sh), a private Postfix
# downstream. A message that scores into quarantine is in the quarantine
# table when the client has its 250, with its message_log row; with the
# private server stopped, such a message gets 451 while clean mail still
# gets 250. Exit 77 (skip) without root, the mxgate-dp build or PostgreSQL.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DP_BIN=${1:-}
TAG=pg$$
PGBIN=/usr/lib/postgresql/15/bin
. "$ROOT/tests/dp/lib.sh"
dp_require
[ -x "$PGBIN/initdb" ] || { echo "skip: no PostgreSQL in $PGBIN"; exit 77; }
WORK=/tmp/mxgate-live-pg-$$
# one private Postfix per build directory (runs from two at once must not
# share it); PrivatePostfix(NAME) lives in /var/tmp/mxgate-pf-NAME
PF_NAME=livepg$(printf '%s' "$(readlink -f "$DP_BIN")" | cksum | cut -c1-8)
PF_ROOT=/var/tmp/mxgate-pf-$PF_NAME
PSQL=(psql -X -At "host=$WORK/pg dbname=mxgate user=mxgate")
cleanup() {
    local rc=$?
    [ -f "$PF_ROOT/etc/main.cf" ] && postfix -c "$PF_ROOT/etc" stop >/dev/null 2>&1
    dp_stop	# stops the private server it started
    [ -f "$WORK/pg/postmaster.pid" ] && runuser -u postgres -- \
	"$PGBIN/pg_ctl" -D "$WORK/pg" stop -m immediate >/dev/null 2>&1
    rm -rf "$WORK" "$PF_ROOT"
    (exit $rc); dp_cleanup
}
trap cleanup EXIT
mkdir -m 755 "$WORK" || fail "work dir"
dp_netns_up || fail "namespaces"
dp_huge_up 256 || fail "hugepages"
ip netns exec "$NS_S" $PY - "$ROOT" "$NS_S" "$PF_NAME" <<'PY' || fail "private Postfix"
import sys
sys.path.insert(0, sys.argv[1] + "/tests/e2e")
from mxtest import PrivatePostfix
PrivatePostfix(sys.argv[3], 10026, netns=sys.argv[2]).start()
PY
dp_start 1 --max-conns 256 --smtp-sessions 64 --msg-chunks 1024 --relay 127.0.0.1:10026 \
    --rules "$ROOT/rules/default" --quarantine "$WORK/quarantine" --log "$WORK/messages.log" \
    --hostname mxgate-dp.example.net --db private --db-dir "$WORK/pg" \
    --spool-dir "$WORK/spool" --node livepg || fail "start mxgate-dp with a private PostgreSQL"

cat > "$WORK/send.py" <<'PY'
import smtplib, sys
host, kind, n = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "phish":
    body = ("Content-Type: text/html\r\n\r\n<html><body>Dear customer, your account has"
            " been suspended.\r\n<a href=\"http://203.0.113.7/secure/login.php?n=" + n +
            "\">verify your account</a>\r\n</body></html>\r\n")
    subject = "Urgent: action required " + n
else:
    body, subject = "\r\nplain words\r\n", "hello " + n
msg = ("From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: " + subject
       + "\r\n" + body).encode()
s = smtplib.SMTP(host, 25, timeout=30)
try:
    s.sendmail("alice@example.org", ["bob@example.net"], msg)
    print("250")
except smtplib.SMTPDataError as e:
    print(e.smtp_code)
s.quit()
PY
send() { in_c $PY "$WORK/send.py" $SERVER_IP "$@"; }

[ "$(send phish 1)" = 250 ] || fail "quarantine with the database up: not 250"
n=$("${PSQL[@]}" -c "SELECT count(*) FROM quarantine WHERE node = 'livepg' AND sender = 'alice@example.org'")
[ "$n" = 1 ] || fail "quarantine table has $n rows at the 250, want 1"
for _ in $(seq 1 50); do
    [ "$("${PSQL[@]}" -c "SELECT count(*) FROM message_log WHERE action = 'quarantine'")" = 1 ] && break
    sleep 0.1
done
[ "$("${PSQL[@]}" -c "SELECT count(*) FROM message_log WHERE action = 'quarantine'")" = 1 ] \
    || fail "no message_log row for the quarantined message"
[ -z "$(ls "$WORK/quarantine" 2>/dev/null)" ] || fail "quarantine also went to the directory"

runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" stop -m fast >/dev/null || fail "stop PostgreSQL"
[ "$(send phish 2)" = 451 ] || fail "quarantine with the database down: not 451"
[ "$(send clean 3)" = 250 ] || fail "clean mail with the database down: not 250"
grep -q '"action":"tempfail".*"reply_code":451' "$WORK/messages.log" || fail "no 451 in the JSON log"
echo "ok: mxgate-dp's private PostgreSQL holds quarantine before the 250; 451 without it"
