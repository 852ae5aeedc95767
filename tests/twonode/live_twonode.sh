#!/bin/bash
# live_twonode.sh - two mxgate-dp gateways, one PostgreSQL
#
#	tests/twonode/live_twonode.sh MXGATE-DP MXGATE	(root; suite 'live')
#
# Nodes a and b: each mxgate-dp on af_packet in its own server namespace,
# with its own veth pair to one client namespace (a: 198.18.0.2, b:
# 198.18.1.2), its own EAL file prefix, state_dir, spool and management
# port, its own downstream (smtp-sink on the namespace's loopback, every
# message dumped to a file), and `db = <conninfo>` of one throw-away
# PostgreSQL the test starts (Unix socket only: a socket path is reachable
# from every network namespace). Pins:
#   * every thread but the lcore's runs on the control cores, never on the
#     lcore's core (/proc/PID/task/*/status, Cpus_allowed_list);
#   * a rule set published through a's management API is running on b
#     within FOLLOW_S seconds: b rejects a message with its new token (and
#     accepted the same message before the publish);
#   * the message log holds rows from both nodes (node column);
#   * a message quarantined by a is listed by b's API and released from b:
#     it arrives at b's downstream;
#   * the audit log names the node of each change (publish a, release b).
# Exit 77 (skip) without root, mxgate-dp, PostgreSQL, smtp-sink or curl.
# TWONODE_KEEP=1 keeps the work directory (logs, database) for a look.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DP_BIN=${1:-}
MXGATE=${2:-}
TAG=2n$$
PGBIN=/usr/lib/postgresql/15/bin
FOLLOW_S=5		# the issue's "within seconds", as a bound
NODE_MEM_MB=160		# EAL -m per node: two primaries share the hugepages
HUGE_SPARE_PAGES=256	# free 2 MB pages beyond what both nodes preallocate
NODES="a b"
. "$ROOT/tests/dp/lib.sh"
dp_require
[ -x "$PGBIN/initdb" ] || { echo "skip: no PostgreSQL in $PGBIN"; exit 77; }
[ -x "$MXGATE" ] || { echo "skip: mxgate not built"; exit 77; }
command -v smtp-sink >/dev/null && command -v curl >/dev/null \
    || { echo "skip: needs smtp-sink and curl"; exit 77; }

WORK=/tmp/mxgate-twonode-$$
# no query of the test may hang it on an overloaded server
PSQL=(timeout 30 psql -X -At "host=$WORK/pg dbname=mxgate user=mxgate")
declare -A NS IFS_ IFC SUBNET PID SINK LCPU TOKEN
NS[a]=mxa$TAG; NS[b]=mxb$TAG
IFS_[a]=sa$TAG; IFS_[b]=sb$TAG
IFC[a]=ca$TAG; IFC[b]=cb$TAG
SUBNET[a]=198.18.0; SUBNET[b]=198.18.1
# node b's lcore on the second CPU when there is one: each node then has
# a control core that is not its lcore's
LCPU[a]=0
LCPU[b]=$(( $(nproc) > 1 ? 1 : 0 ))

twonode_cleanup() {
    local rc=$? n
    trap - EXIT
    for n in $NODES; do
	if [ -n "${PID[$n]}" ] && kill -0 "${PID[$n]}" 2>/dev/null; then
	    kill -TERM "${PID[$n]}"
	    for _ in $(seq 1 50); do kill -0 "${PID[$n]}" 2>/dev/null || break; sleep 0.1; done
	    kill -KILL "${PID[$n]}" 2>/dev/null
	    wait "${PID[$n]}" 2>/dev/null
	fi
	[ -n "${SINK[$n]}" ] && kill "${SINK[$n]}" 2>/dev/null
	ip netns del "${NS[$n]}" 2>/dev/null
	rm -rf "/var/run/dpdk/mx2$n$TAG"
    done
    ip netns del "$NS_C" 2>/dev/null
    [ -f "$WORK/pg/postmaster.pid" ] && runuser -u postgres -- \
	"$PGBIN/pg_ctl" -D "$WORK/pg" stop -m immediate >/dev/null 2>&1
    if mountpoint -q "$HUGE_DIR" 2>/dev/null; then
	rm -f "$HUGE_DIR"/* 2>/dev/null
	umount "$HUGE_DIR"
    fi
    rmdir "$HUGE_DIR" 2>/dev/null
    for n in $NODES; do
	if [ "$rc" = 0 ] && grep -q "ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:" \
	    "$WORK/dp-$n.log" 2>/dev/null; then
	    echo "FAIL: sanitizer report in node $n's log"; rc=1
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -s "$WORK/dp-$n.log" ]; then
	    echo "--- node $n ($WORK/dp-$n.log) ---"; tail -30 "$WORK/dp-$n.log"
	    echo "--- node $n: message log ---"; tail -5 "$WORK/msg-$n.log" 2>/dev/null
	fi
    done
    [ -n "${TWONODE_KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
    exit "$rc"
}
trap twonode_cleanup EXIT
in_n() { local n=$1; shift; ip netns exec "${NS[$n]}" "$@"; }

# --- the namespaces: one client, two servers -------------------------------
mkdir -m 755 "$WORK" || fail "work dir"
ip netns add "$NS_C" || fail "client namespace"
in_c ip link set lo up
for n in $NODES; do
    ip netns add "${NS[$n]}" || fail "namespace of node $n"
    ip link add "${IFS_[$n]}" type veth peer name "${IFC[$n]}" || fail "veth of node $n"
    ip link set "${IFS_[$n]}" netns "${NS[$n]}" && ip link set "${IFC[$n]}" netns "$NS_C" \
	|| fail "move veth of node $n"
    in_n $n ip link set lo up
    in_n $n ip link set "${IFS_[$n]}" up || fail "link up, node $n"
    in_n $n ethtool -K "${IFS_[$n]}" tx off rx off >/dev/null 2>&1
    in_c ip addr add "${SUBNET[$n]}.1/24" dev "${IFC[$n]}" || fail "client address for $n"
    in_c ip link set "${IFC[$n]}" up || fail "client link for $n"
    # the kernel would otherwise leave TCP checksums for a NIC to fill in
    in_c ethtool -K "${IFC[$n]}" tx off >/dev/null || fail "checksum offload off for $n"
done

# --- hugepages: enough free for both primaries ------------------------------
# other tests may be taking pages meanwhile: leave HUGE_SPARE_PAGES extra
need=$(( 2 * NODE_MEM_MB / 2 + HUGE_SPARE_PAGES ))
free_pages=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
have=$(cat /proc/sys/vm/nr_hugepages)
[ "$free_pages" -lt "$need" ] && echo $(( have + need - free_pages )) > /proc/sys/vm/nr_hugepages
mkdir -p "$HUGE_DIR" && mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_DIR" || fail "hugetlbfs"

# --- one PostgreSQL for both ------------------------------------------------
pg() { runuser -u postgres -- "$PGBIN/$1" "${@:2}"; }
install -d -m 700 -o postgres -g postgres "$WORK/pg" || fail "pg dir"
( cd / && pg initdb -D "$WORK/pg" -U mxgate -A trust --no-locale -E UTF8 >"$WORK/initdb.log" 2>&1 ) \
    || { cat "$WORK/initdb.log"; fail "initdb"; }
printf "listen_addresses = ''\nunix_socket_directories = '%s'\n" "$WORK/pg" >>"$WORK/pg/postgresql.conf"
( cd / && pg pg_ctl -D "$WORK/pg" -l "$WORK/pg/log" -w start >/dev/null ) || fail "pg_ctl start"
psql -X -q "host=$WORK/pg dbname=postgres user=mxgate" -c "CREATE DATABASE mxgate" \
    || fail "create database"
CONNINFO="host=$WORK/pg dbname=mxgate user=mxgate"

# --- the downstreams --------------------------------------------------------
for n in $NODES; do
    mkdir -m 777 "$WORK/sink-$n" || fail "sink dir"
    ip netns exec "${NS[$n]}" smtp-sink -u nobody -d "$WORK/sink-$n/%H%M%S." -c 127.0.0.1:10026 50 \
	>/dev/null 2>&1 &
    SINK[$n]=$!
done

# --- the gateways -----------------------------------------------------------
for n in $NODES; do
    mkdir -p "$WORK/state-$n" || fail "state dir"
    cat >"$WORK/dp-$n.conf" <<EOF
vdev = net_af_packet0,iface=${IFS_[$n]},qpairs=1
lcores = ${LCPU[$n]}
address = ${SUBNET[$n]}.2/24
file_prefix = mx2$n$TAG
idle_sleep_us = 50
max_conns = 256
smtp_sessions = 64
msg_chunks = 512
mbufs = 4095
relay = 127.0.0.1:10026
rules = $ROOT/rules/default
quarantine = $WORK/q-$n
log = $WORK/msg-$n.log
hostname = $n.mxgate.example.net
state_dir = $WORK/state-$n
mgmt_listen = 127.0.0.1:8445
db = $CONNINFO
spool_dir = $WORK/spool-$n
node = $n
EOF
    # the first start makes the schema; the second then finds it
    ip netns exec "${NS[$n]}" "$DP_BIN" --config "$WORK/dp-$n.conf" -- --huge-dir "$HUGE_DIR" -m $NODE_MEM_MB \
	--log-level=user1:info >"$WORK/dp-$n.log" 2>&1 &
    PID[$n]=$!
    # the lcore's own line last: by then the control plane runs
    for _ in $(seq 1 200); do
	grep -q "store: following" "$WORK/dp-$n.log" && grep -q "management port https" \
	    "$WORK/dp-$n.log" && grep -q "worker 0 on lcore" "$WORK/dp-$n.log" && break
	kill -0 "${PID[$n]}" 2>/dev/null || fail "node $n exited during start-up"
	sleep 0.1
    done
    grep -q "store: following" "$WORK/dp-$n.log" || fail "node $n does not follow the store"
    grep -q "mxgate-dp: ready" "$WORK/dp-$n.log" || fail "node $n not ready"
    TOKEN[$n]=$("$MXGATE" token add live --state-dir "$WORK/state-$n" 2>/dev/null) \
	|| fail "token for node $n"
done
api() {
    local n=$1; shift
    in_n $n curl -sS --max-time 60 --cacert "$WORK/state-$n/mgmt-cert.pem" \
	-H "Authorization: Bearer ${TOKEN[$n]}" "$@"
}

# --- control threads off the lcore's core -----------------------------------
# every thread but the main one (the lcore) must run on cores without an
# lcore; the main one on its lcore's core alone
for n in $NODES; do
    $PY - "${PID[$n]}" "${LCPU[$n]}" "$n" <<'PY' || fail "node $n: thread affinity"
import glob, os, sys
pid, lcpu, node = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def cpus(text):
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out

bad, ctl = [], {}
for d in glob.glob(f"/proc/{pid}/task/*"):
    tid = os.path.basename(d)
    name = open(d + "/comm").read().strip()
    allowed = next(l.split()[1] for l in open(d + "/status") if l.startswith("Cpus_allowed_list"))
    if tid == pid:
        if cpus(allowed) != {lcpu}:
            bad.append(f"lcore thread {tid} on {allowed}, want {lcpu}")
    elif os.cpu_count() > 1 and lcpu in cpus(allowed):
        bad.append(f"thread {tid} ({name}) on {allowed}, shares the lcore's core {lcpu}")
    else:
        ctl[allowed] = ctl.get(allowed, 0) + 1
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"node {node}: lcore thread on cpu {lcpu}; other threads: "
      + ", ".join(f"{c} on {a}" for a, c in ctl.items()))
PY
done

# --- a client ----------------------------------------------------------------
cat >"$WORK/send.py" <<'PY'
import smtplib, sys
host, kind, token = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "phish":
    body = ("Content-Type: text/html\r\n\r\n<html><body>Dear customer, your account has"
            " been suspended.\r\n<a href=\"http://203.0.113.7/secure/login.php?n=" + token +
            "\">verify your account</a>\r\n</body></html>\r\n")
    subject = "Urgent: action required " + token
else:
    body, subject = "\r\nplain words " + token + "\r\n", "hello " + token
msg = ("From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: " + subject
       + "\r\n" + body).encode()
s = smtplib.SMTP(host, 25, timeout=30)
try:
    s.sendmail("alice@example.org", ["bob@example.net"], msg)
    print("250")
except smtplib.SMTPDataError as e:
    print(e.smtp_code)
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
s.quit()
PY
send() { local n=$1; shift; in_c $PY "$WORK/send.py" "${SUBNET[$n]}.2" "$@"; }

RULE_TOKEN=TWONODE-RULE-$$
[ "$(send a clean first-a)" = 250 ] || fail "clean message to a: not 250"
[ "$(send b clean "$RULE_TOKEN")" = 250 ] || fail "b refused the token before any publish"

# --- publish on a, running on b ---------------------------------------------
mkdir -p "$WORK/rules-1" && cp "$ROOT"/rules/default/* "$WORK/rules-1/" || fail "rule dir"
printf 'rule TWONODE_TOKEN\n  scope body\n  literal %s\n  action reject\n  description "two-node test"\nend\n' \
    "$RULE_TOKEN" >"$WORK/rules-1/90-twonode.rules"
t0=$(date +%s%N)
out=$(in_n a env MXGATE_URL=https://127.0.0.1:8445 MXGATE_TOKEN="${TOKEN[a]}" \
    MXGATE_STATE_DIR="$WORK/state-a" "$MXGATE" rules publish "$WORK/rules-1" 2>&1) \
    || fail "publish on a: $out"
t_pub=$(date +%s%N)
version=$(echo "$out" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' | tail -1)
[ -n "$version" ] || version=$(echo "$out" | tail -1 | awk '{ print $NF }')
version_b=
end=$(( t_pub + FOLLOW_S * 1000000000 ))
while [ "$(date +%s%N)" -lt "$end" ]; do
    version_b=$(api b https://127.0.0.1:8445/api/v1/status | $PY -c \
	'import json, sys; print(json.load(sys.stdin)["rules_version"])' 2>/dev/null)
    [ "$version_b" = "$version" ] && break
    sleep 0.02
done
t_follow=$(date +%s%N)
if [ "$version_b" != "$version" ]; then
    # the store's own verdict, when it has one (a database too slow to
    # answer within its timeouts on an overloaded machine)
    grep -h "not shared with the other nodes\|no answer in time" "$WORK/dp-a.log"
    fail "b runs ${version_b:-?}, not $version published on a ($out)"
fi
[ "$(send b clean "$RULE_TOKEN")" = 550 ] || fail "b does not reject the new rule's token"
[ "$(send a clean "$RULE_TOKEN")" = 550 ] || fail "a does not reject the new rule's token"
echo "publish on a: $(( (t_pub - t0) / 1000000 )) ms; b running $version" \
     "$(( (t_follow - t_pub) / 1000000 )) ms later"

# --- quarantined on a, listed and released by b -----------------------------
Q_TOKEN=TWONODE-Q-$$
# A quarantine verdict waits for its row in the database; on a loaded
# machine that can take longer than its timeout, and the answer is then
# 451: retry as a sending MTA would (never a 250 without the row)
for try in 1 2 3; do
    code=$(send a phish "$Q_TOKEN")
    [ "$code" = 451 ] || break
    echo "quarantine on a: 451 (database slower than its timeout), try $try"
    sleep 1
done
[ "$code" = 250 ] || fail "phishing message to a: $code, not 250"
list=$(api b "https://127.0.0.1:8445/api/v1/quarantine?sender=alice@example.org") \
    || fail "quarantine list on b"
qid=$(echo "$list" | $PY -c '
import json, sys
rows = [r for r in json.load(sys.stdin) if r.get("node") == "a"]
print(rows[0]["qid"] if rows else "")' 2>/dev/null)
[ -n "$qid" ] || fail "b does not list a's quarantined message: $list"
rel=$(api b -X POST "https://127.0.0.1:8445/api/v1/quarantine/$qid/release") \
    || fail "release on b"
echo "$rel" | grep -q '"released": *true' || fail "release from b: $rel"
for _ in $(seq 1 50); do
    grep -lqa "$Q_TOKEN" "$WORK"/sink-b/* 2>/dev/null && break
    sleep 0.1
done
grep -lqa "$Q_TOKEN" "$WORK"/sink-b/* 2>/dev/null || fail "released message not at b's downstream"
! grep -lqa "$Q_TOKEN" "$WORK"/sink-a/* 2>/dev/null || fail "quarantined message reached a's downstream"
[ "$("${PSQL[@]}" -c "SELECT count(*) FROM quarantine WHERE qid = '$qid' AND released_at IS NOT NULL")" = 1 ] \
    || fail "quarantine row $qid not marked released"

# --- one message log, one audit log, rows named after their node ------------
for _ in $(seq 1 50); do
    nodes=$("${PSQL[@]}" -c "SELECT string_agg(DISTINCT node, ',') FROM message_log")
    [ "$nodes" = "a,b" ] && break
    sleep 0.1
done
[ "$nodes" = "a,b" ] || fail "message log nodes: '$nodes', want a,b"
rows=$("${PSQL[@]}" -c "SELECT node || ':' || action FROM message_log ORDER BY node, action" | tr '\n' ' ')
echo "message log: $rows"
for want in "a:pass" "a:reject" "a:quarantine" "b:pass" "b:reject"; do
    case " $rows" in *" $want "*) ;; *) fail "no $want row in the message log ($rows)";; esac
done
audit=$("${PSQL[@]}" -c "SELECT action || '@' || node FROM audit_log ORDER BY id" | tr '\n' ' ')
echo "audit log: $audit"
case " $audit" in *" rules.publish@a "*) ;; *) fail "no rules.publish row by node a";; esac
case " $audit" in *" quarantine.release@b "*) ;; *) fail "no quarantine.release row by node b";; esac

for n in $NODES; do
    kill -TERM "${PID[$n]}"
    wait "${PID[$n]}" || fail "node $n exited with status $?"
    PID[$n]=
done
echo "ok: two mxgate-dp nodes on one PostgreSQL"
