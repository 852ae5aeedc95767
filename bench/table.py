#!/usr/bin/env python3
"""table.py engine DEFAULT.json LARGE.json - the engine benchmark as a table.

For each rule set and size class: messages/s and GB/s per core of the
Hyperscan ceiling (a) and the full engine (b), and the ratio (b)/(a);
medians over the repetitions bench/run.sh asks for.
"""
import json
import sys


def load(path):
    """Per size class and kind, the median of the repetitions (or the
    single run when the benchmark was not repeated)."""
    rows = {}
    for b in json.load(open(path))["benchmarks"]:
        agg = b.get("aggregate_name")
        if agg not in (None, "median"):
            continue
        kind, cls = b["name"].split("/")[:2]
        if agg is None and kind in rows.get(cls, {}):
            continue
        rows.setdefault(cls, {})[kind] = b
    return rows


def main():
    if sys.argv[1] != "engine":
        sys.exit("table.py: only 'engine' is known")
    order = ["2k", "50k", "1m", "mixed"]
    print("| rule set | size class | ceiling msg/s | ceiling GB/s | engine msg/s | engine GB/s | engine/ceiling |")
    print("|---|---|---:|---:|---:|---:|---:|")
    extra = []
    for path, name in ((sys.argv[2], "default"), (sys.argv[3], "large")):
        rows = load(path)
        for cls in order:
            if cls not in rows:
                continue
            a, b = rows[cls]["BM_Ceiling"], rows[cls]["BM_Engine"]
            ratio = b["bytes_per_second"] / a["bytes_per_second"]
            print(f"| {name} | {cls} | {a['items_per_second']:,.0f} | {a['bytes_per_second'] / 1e9:.2f} "
                  f"| {b['items_per_second']:,.0f} | {b['bytes_per_second'] / 1e9:.2f} | {ratio:.2f} |")
            extra.append((name, b))
    print()
    seen = set()
    for name, b in extra:
        if name in seen:
            continue
        seen.add(name)
        print(f"- {name}: {b.get('rules', 0):.0f} rules, compile {b.get('compile_ms', 0):.0f} ms, "
              f"Hyperscan stream state {b.get('stream_state_bytes', 0):.0f} bytes per worker")


if __name__ == "__main__":
    main()
