#!/bin/bash
# pg_bench.sh - messages/s of mxgate-filter with PostgreSQL logging on against
# off, in one run; prints a markdown table
#
#	bench/pg_bench.sh BUILD_DIR		(root: PostgreSQL runs as postgres)
#
# All on loopback: smtp-source (one message per connection, $SESSIONS in
# parallel, $N messages of $SIZE bytes per run) -> mxgate-filter (one thread,
# pinned to $SERVER_CPU, default rules) -> smtp-sink. Load generator and
# sink share $CLIENT_CPU. "off" runs mxgate-filter without a store (JSON log
# file only); "on" adds --db: every message's log row also goes through the
# store's queue and batched INSERTs into a PostgreSQL started here (its own
# cluster in a temporary directory, Unix socket only; it runs on whichever
# CPU the kernel gives it, as a deployment's database would). The JSON log
# file is written in both. Off and on alternate, $REPS times each; the table
# gives each run and the medians, and the ratio on/off of the medians.
# Since messages/s on a shared machine moves with everything else running,
# it also gives CPU per message (median), which does not: mxgate-filter's
# (all threads, /proc, bench/smtp_cpu.py) and the PostgreSQL cluster's
# (postmaster and children) over the smtp-source run.
set -u
BUILD=$(cd "${1:?usage: pg_bench.sh BUILD_DIR}" && pwd)
N=${N:-5000}
SIZE=${SIZE:-2048}
SESSIONS=${SESSIONS:-16}
REPS=${REPS:-3}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FILTER=$BUILD/dp/mxgate-filter
PGBIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/mxpg-bench.XXXXXX)
SINK_PID= SRV_PID=

fail() { echo "pg_bench: $*" >&2; exit 1; }
pg() { runuser -u postgres -- "$PGBIN/$1" "${@:2}"; }
cleanup() {
    for p in $SRV_PID $SINK_PID; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -f "$WORK/pg/postmaster.pid" ] && pg pg_ctl -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || fail "run as root (PostgreSQL runs as the postgres user)"
[ -x "$FILTER" ] || fail "no $FILTER"
command -v smtp-source >/dev/null && command -v smtp-sink >/dev/null || fail "needs smtp-source, smtp-sink"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

chmod 755 "$WORK"
mkdir -m 700 "$WORK/pg" && chown postgres: "$WORK/pg"
pg initdb -D "$WORK/pg" -U mxgate -A trust --no-locale -E UTF8 >/dev/null || fail initdb
printf "listen_addresses = ''\nunix_socket_directories = '%s'\n" "$WORK/pg" >> "$WORK/pg/postgresql.conf"
pg pg_ctl -D "$WORK/pg" -l "$WORK/pg/log" -w start >/dev/null || fail "pg_ctl start"
CONNINFO="host=$WORK/pg dbname=postgres user=mxgate"

SINK_PORT=$(free_port)
taskset -c "$CLIENT_CPU" smtp-sink -u nobody 127.0.0.1:$SINK_PORT 1024 >/dev/null 2>&1 &
SINK_PID=$!

# pg_cpu - CPU seconds of the cluster: postmaster and its children
pg_cpu() {
    local pm
    pm=$(head -1 "$WORK/pg/postmaster.pid")
    $PY - "$pm" <<'PY'
import os, sys
pm, tck, total = sys.argv[1], os.sysconf("SC_CLK_TCK"), 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        st = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    f = st[st.rindex(")") + 2:].split()
    if pid == pm or f[1] == pm:
        total += int(f[11]) + int(f[12])
print(f"{total / tck:.3f}")
PY
}

# run MODE - one run; prints "messages/s filter-CPU-us/msg postgres-CPU-us/msg"
run() {
    local mode=$1 port extra=() t0 t1 logged f0 f1 p0 p1
    port=$(free_port)
    [ "$mode" = on ] && extra=(--db "$CONNINFO" --node bench)
    : > "$WORK/filter.log"
    taskset -c "$SERVER_CPU" "$FILTER" -l 127.0.0.1:$port -r 127.0.0.1:$SINK_PORT \
	-R "$ROOT/rules/default" -t 1 -c 2048 -q "$WORK/q" -L "$WORK/filter.log" \
	-H bench.example.net --mgmt-listen off --state-dir "$WORK/state" "${extra[@]}" \
	>/dev/null 2>"$WORK/filter.err" &
    SRV_PID=$!
    for _ in $(seq 1 100); do
	$PY -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
	sleep 0.1
    done
    f0=$($PY "$ROOT/bench/smtp_cpu.py" $SRV_PID all); p0=$(pg_cpu)
    t0=$(date +%s.%N)
    taskset -c "$CLIENT_CPU" smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" \
	-f bench@example.org -t sink@example.net 127.0.0.1:$port >/dev/null 2>"$WORK/source.err" \
	|| { cat "$WORK/source.err" "$WORK/filter.err" >&2; fail "smtp-source ($mode)"; }
    t1=$(date +%s.%N)
    sleep 0.2	# the last batch: at most PGSTORE_BATCH_MS after the last row
    f1=$($PY "$ROOT/bench/smtp_cpu.py" $SRV_PID all); p1=$(pg_cpu)
    kill -TERM $SRV_PID; wait $SRV_PID 2>/dev/null; SRV_PID=
    [ "$(grep -c '"action":"pass"' "$WORK/filter.log")" -ge "$N" ] || fail "$mode: not every message passed"
    if [ "$mode" = on ]; then
	logged=$(psql -X -At "$CONNINFO" -c "SELECT count(*) FROM message_log")
	[ "$logged" -ge "$N" ] || fail "on: $logged rows in message_log after $N messages"
	psql -X -q "$CONNINFO" -c "TRUNCATE message_log" || fail truncate
    fi
    echo "$N $t0 $t1 $f0 $f1 $p0 $p1" | awk '{ printf "%.0f %.0f %.0f", $1 / ($3 - $2),
	($5 - $4) / $1 * 1e6, ($7 - $6) / $1 * 1e6 }'
}

off=() on=() offc=() onc=() offp=() onp=()
for r in $(seq 1 "$REPS"); do
    read -r m c p <<< "$(run off)" || exit 1
    [ -n "$m" ] || exit 1
    off+=("$m"); offc+=("$c"); offp+=("$p")
    read -r m c p <<< "$(run on)" || exit 1
    [ -n "$m" ] || exit 1
    on+=("$m"); onc+=("$c"); onp+=("$p")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mo=$(median "${off[@]}"); mn=$(median "${on[@]}")
co=$(median "${offc[@]}"); cn=$(median "${onc[@]}")
po=$(median "${offp[@]}"); pn=$(median "${onp[@]}")
echo "| database logging | runs (messages/s) | median msg/s | mxgate-filter CPU µs/msg | PostgreSQL CPU µs/msg |"
echo "|---|---|---:|---:|---:|"
echo "| off (JSON log file only) | ${off[*]} | $mo | $co | $po |"
echo "| on (JSON log file + PostgreSQL) | ${on[*]} | $mn | $cn | $pn |"
echo
echo "on/off = $(echo "$mn $mo" | awk '{ printf "%.3f", $1 / $2 }') (msg/s)," \
     "$(echo "$cn $co" | awk '{ printf "%.3f", $1 / $2 }') (mxgate-filter CPU per message);" \
     "$N messages of $SIZE bytes per run, $SESSIONS sessions, mxgate-filter on CPU $SERVER_CPU; medians of $REPS"
