#!/usr/bin/python3
"""rules_bench.py PID STATE_DIR DAEMON_LOG SET_DIR [SET_DIR...] - rule publishing cost.

For every rule set directory: REPEAT publishes through the operator's path
(request file + SIGHUP, as `mxgate rules publish --pidfile`), alternating the
set with and without one extra rule so that each publish is a new version
that compiles the whole set. Per publish, from the daemon's log:
  compile   parse + Hyperscan compile in control (ms)
  prepare   one engine generation per worker: scratch grown for the new
            databases, cloned per worker, message objects made (ms)
  switched  publish -> every worker runs the new set for new messages
            (mxgate-dp: rte_rcu_qsbr check over all lcores) (ms)
  freed     publish -> no message open on the old set; old set freed (ms)
the Hyperscan bytes of the new set (databases, scratch per worker), and
from /proc/PID/status: resident memory before the publish, the peak
during it (VmHWM, reset through /proc/PID/clear_refs before each publish)
and after. Prints one table row per set (medians).
"""
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time

REPEAT = int(os.environ.get("REPEAT", "5"))
REPLY_TIMEOUT = 300


def status_kb(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def publish(pid, state, d):
    rq, rp = os.path.join(state, "rules", "request"), os.path.join(state, "rules", "reply")
    if os.path.exists(rp):
        os.unlink(rp)
    with open(rq + ".tmp", "w") as f:
        f.write(f"publish {d}\n")
    os.rename(rq + ".tmp", rq)
    os.kill(pid, signal.SIGHUP)
    end = time.monotonic() + REPLY_TIMEOUT
    while time.monotonic() < end:
        if os.path.exists(rp):
            return open(rp).read().strip()
        time.sleep(0.005)
    return None


def main():
    pid, state, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    tmp = tempfile.mkdtemp(prefix="rules-bench-")
    print("| rule set | rules | compile ms | prepare ms | all workers switched ms |"
          " old set freed ms | databases KB | scratch KB per worker | RSS before MB |"
          " peak during swap MB | RSS after MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for k, src in enumerate(sys.argv[4:]):
            variants = []
            for v in range(2):
                d = os.path.join(tmp, f"set{k}-{v}")
                shutil.copytree(src, d)
                if v:
                    with open(os.path.join(d, "zz-bench.rules"), "w") as f:
                        f.write("rule BENCH_SWAP\n  scope body\n  literal BENCH-SWAP-TOKEN\n"
                                "  action reject\nend\n")
                variants.append(d)
            rows = []
            publish(pid, state, variants[1])	# warm: first publish of this set
            for i in range(REPEAT):
                d = variants[i % 2]
                before = status_kb(pid, "VmRSS")
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")
                mark = os.path.getsize(log)
                r = publish(pid, state, d)
                if r is None or not r.startswith("ok "):
                    sys.exit(f"publish {d}: {r!r}")
                time.sleep(0.05)
                peak = status_kb(pid, "VmHWM")
                after = status_kb(pid, "VmRSS")
                with open(log) as f:
                    f.seek(mark)
                    text = f.read()
                p = re.search(r"published \S+ \((\d+) rules\) in [\d.]+ ms \(compile ([\d.]+) ms", text)
                s = re.search(r"switched in ([\d.]+) ms, old set freed after ([\d.]+) ms"
                              r" \(generations made in ([\d.]+) ms; new set: databases (\d+) KB,"
                              r" scratch (\d+) KB", text)
                if not p or not s:
                    sys.exit(f"no publish lines in the log after {d}:\n{text}")
                rows.append((int(p.group(1)), float(p.group(2)), float(s.group(3)),
                             float(s.group(1)), float(s.group(2)), int(s.group(4)),
                             int(s.group(5)), before / 1024, peak / 1024, after / 1024))
            med = [statistics.median(c) for c in zip(*rows)]
            print(f"| {os.path.basename(src.rstrip('/'))} | {rows[0][0]} | {med[1]:.1f} |"
                  f" {med[2]:.2f} | {med[3]:.2f} | {med[4]:.2f} | {med[5]:.0f} |"
                  f" {med[6]:.0f} | {med[7]:.0f} | {med[8]:.0f} | {med[9]:.0f} |")
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
