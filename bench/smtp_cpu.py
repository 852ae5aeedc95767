#!/usr/bin/python3
"""smtp_cpu.py - CPU seconds (user + system) a server process has used.

  smtp_cpu.py PID all        the whole process, every thread
  smtp_cpu.py PID nonlcore   every thread except DPDK lcores (the main
                             thread, which runs lcore 0, and lcore-worker-*)
  smtp_cpu.py PID lcore      only those

For mxgate-dp the lcores' CPU time is scaled by their busy share
(bench/smtp_bench.sh): a polling lcore's own CPU time is 100 % whatever
the load. Reads /proc/PID/task/TID/stat (fields 14 and 15, clock ticks).
"""
import os
import sys

pid, mode = sys.argv[1], sys.argv[2]
tck = os.sysconf("SC_CLK_TCK")
total = 0
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        stat = open(f"/proc/{pid}/task/{tid}/stat").read()
    except OSError:
        continue
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    lcore = tid == pid or comm.startswith("lcore-worker")
    if (mode == "nonlcore" and lcore) or (mode == "lcore" and not lcore):
        continue
    total += int(fields[11]) + int(fields[12])	# utime, stime
print(f"{total / tck:.3f}")
