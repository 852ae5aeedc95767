#!/usr/bin/python3
"""smtp_cpu.py - CPU seconds a server process has used.

  smtp_cpu.py PID all        the whole process, every thread
  smtp_cpu.py PID nonlcore   every thread except DPDK lcores (the main
                             thread, which runs lcore 0, and lcore-worker-*)
  smtp_cpu.py PID lcore      only those

For mxgate-dp the lcores' CPU time is scaled by their busy share
(bench/smtp_bench.sh): a polling lcore's own CPU time is 100 % whatever
the load. Reads the scheduler's run time of each thread in nanoseconds
(/proc/PID/task/TID/schedstat, first field): utime + stime from .../stat
are sampled at the clock tick (10 ms), too coarse for runs of a few
tenths of a CPU second. Both include the softirq work a thread's own
system calls run (this kernel has no IRQ time accounting).
"""
import os
import sys

pid, mode = sys.argv[1], sys.argv[2]
total = 0
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        run_ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
    except (OSError, ValueError, IndexError):
        continue
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    lcore = tid == pid or comm.startswith("lcore-worker")
    if (mode == "nonlcore" and lcore) or (mode == "lcore" and not lcore):
        continue
    total += run_ns
print(f"{total / 1e9:.6f}")
