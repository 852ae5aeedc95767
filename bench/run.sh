#!/usr/bin/env bash
# bench/run.sh - build a release variant and run the benchmarks, printing
# tables of ratios measured in the same run on the same machine.
#
#   bench/run.sh [engine]     engine vs its Hyperscan ceiling (issue 2)
#
# Environment: BENCH_REPS (repetitions per benchmark, default 5: the table
#              shows their medians, because this class of machine is shared
#              and a single run can be off by 2x),
#              BENCH_OUT (directory for corpus, rules and JSON; default
#              build-bench/bench-out)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

what=${1:-engine}
out=${BENCH_OUT:-build-bench/bench-out}

if [ ! -f build-bench/build.ninja ]; then
	meson setup build-bench --buildtype=release -Db_ndebug=true >/dev/null
fi
ninja -C build-bench >/dev/null
mkdir -p "$out"

# engine - both rule sets, every size class, ceiling and engine
engine() {
	[ -d "$out/corpus" ] || /usr/bin/python3 bench/gen_corpus.py "$out/corpus"
	rm -rf "$out/rules-large"
	/usr/bin/python3 bench/gen_rules.py "$out/rules-large"
	for set in default large; do
		local dir=rules/default
		[ $set = large ] && dir=$out/rules-large
		echo "== rule set: $set ($dir)" >&2
		taskset -c 1 build-bench/bench/engine_bench --corpus "$out/corpus" \
			--rules "$dir" --benchmark_format=json \
			--benchmark_repetitions="${BENCH_REPS:-5}" \
			--benchmark_report_aggregates_only=true \
			--benchmark_out="$out/engine-$set.json" \
			--benchmark_out_format=json >/dev/null
	done
	/usr/bin/python3 bench/table.py engine "$out/engine-default.json" "$out/engine-large.json"
}

case "$what" in
engine) engine ;;
*) echo "bench/run.sh: unknown benchmark '$what' (try: engine)" >&2; exit 2 ;;
esac
