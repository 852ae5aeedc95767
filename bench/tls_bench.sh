#!/bin/bash
# tls_bench.sh - STARTTLS cost per core (docs/benchmarks.md, "STARTTLS")
#
#   bench/tls_bench.sh [BUILD_DIR] [RUNS]
#
# Makes an ECDSA P-256 and an RSA-2048 certificate with the openssl command
# (in a temporary directory, removed at exit), then runs build/bench/tls_bench
# RUNS times (default 5) for each: full handshakes per second per core
# (TLS 1.3, TLS 1.2) and MB/s of DATA through TLS 1.3 against plaintext, in
# the same run. Prints every run and the median of each figure.
set -e
BUILD=${1:-build}
RUNS=${2:-5}
BIN=$BUILD/bench/tls_bench
[ -x "$BIN" ] || { echo "tls_bench.sh: build $BIN first (ninja -C $BUILD bench/tls_bench)"; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/ec.key" \
    -out "$TMP/ec.crt" -days 2 -subj /CN=bench.test 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/rsa.key" -out "$TMP/rsa.crt" -days 2 \
    -subj /CN=bench.test 2>/dev/null
echo "# $(openssl version); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for kind in ec rsa; do
    : > "$TMP/$kind.out"
    for r in $(seq 1 "$RUNS"); do
	"$BIN" "$TMP/$kind.crt" "$TMP/$kind.key" 2000 200 | tee -a "$TMP/$kind.out" | sed "s/^/$kind run $r: /"
    done
    echo "## $kind certificate: median of $RUNS runs"
    /usr/bin/python3 -c '
import collections, statistics, sys
v, u = collections.defaultdict(list), {}
for line in open(sys.argv[1]):
    k, x, unit = line.split()
    v[k].append(float(x)); u[k] = unit
for k in sorted(v):
    print("%-36s %10.2f %s" % (k, statistics.median(v[k]), u[k]))
' "$TMP/$kind.out"
done
