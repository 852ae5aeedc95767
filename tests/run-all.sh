#!/usr/bin/env bash
# run-all.sh - every test of mxgate, in every build variant, with one summary
#
#   build/        normal build, warnings as errors: every meson test
#   build-asan/   ASan + UBSan, warnings as errors: every meson test except
#                 the live data-plane suite (DPDK's own memory tricks and
#                 ASan do not mix well; the live suite runs in build/)
#   build-fuzz/   clang + libFuzzer + ASan/UBSan: each fuzz target for
#                 MXGATE_FUZZ_SECONDS (default 45) seconds
#
# The last line is "N passed, N failed" counted over all of the above.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

fuzz_seconds=${MXGATE_FUZZ_SECONDS:-45}
# the live tests raise vm.nr_hugepages as they need; give back what they took
huge_before=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null)
restore_hugepages() {
	[ -n "$huge_before" ] && [ -w /proc/sys/vm/nr_hugepages ] \
		&& echo "$huge_before" > /proc/sys/vm/nr_hugepages 2>/dev/null
	return 0
}
trap restore_hugepages EXIT
passed=0
failed=0
skipped=0
failures=()

# count_log DIR LABEL - add a meson testlog's results to the totals
count_log() {
	local log=$1/meson-logs/testlog.json label=$2
	[ -f "$log" ] || { failed=$((failed + 1)); failures+=("$label: no test log"); return; }
	local out
	out=$(/usr/bin/python3 - "$log" "$label" <<'PY'
import json, sys
p = f = s = 0
bad = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result")
    if res in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif res == "SKIP":
        s += 1
    else:
        f += 1
        bad.append(f"{sys.argv[2]}: {r.get('name')} ({res})")
print(p, f, s)
for b in bad:
    print(b)
PY
)
	local first
	first=$(head -1 <<<"$out")
	read -r p f s <<<"$first"
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	while IFS= read -r l; do [ -n "$l" ] && failures+=("$l"); done < <(tail -n +2 <<<"$out")
}

# setup_build DIR ARGS... - configure and compile, counting a failure
setup_build() {
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" || return 1
}

echo "=== normal build (warnings are errors) ==="
if setup_build build --werror; then
	meson test -C build --print-errorlogs --num-processes 2 || true
	count_log build "build"
else
	failed=$((failed + 1)); failures+=("build: compile")
fi

echo "=== sanitizer build (ASan + UBSan) ==="
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if setup_build build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false -Ddpdk=disabled; then
	meson test -C build-asan --print-errorlogs --num-processes 2 --no-suite live || true
	count_log build-asan "asan"
else
	failed=$((failed + 1)); failures+=("asan: compile")
fi

echo "=== fuzz targets (${fuzz_seconds}s each, ASan + UBSan) ==="
if CC=clang CXX=clang++ setup_build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false; then
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=build-fuzz/corpus-$name
		mkdir -p "$corpus"
		seeds=()
		[ -d "tests/fuzz/seeds/$name" ] && seeds=("tests/fuzz/seeds/$name")
		if "$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -timeout=10 \
			-print_final_stats=0 "$corpus" "${seeds[@]}" >"build-fuzz/$name.log" 2>&1; then
			echo "fuzz $name: ok"
			passed=$((passed + 1))
		else
			echo "fuzz $name: FAILED"; tail -40 "build-fuzz/$name.log"
			failed=$((failed + 1)); failures+=("fuzz: $name")
		fi
	done
else
	failed=$((failed + 1)); failures+=("fuzz: compile")
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "Failures:"
	printf '  %s\n' "${failures[@]}"
fi
[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
