#!/usr/bin/env python3
"""test_filter_shutdown.py - SIGTERM to mxgate-filter with sessions open.

Usage: test_filter_shutdown.py MXGATE_FILTER SOURCE_ROOT CASE

  client ─▶ mxgate-filter :P1 ─▶ smtp-sink :P2 (answers DATA after -w s)

CASE answered_then_421: smtp-sink answers within the 10 s shutdown wait;
the client whose message was in relay gets the downstream's 250, then
421 4.3.2. CASE not_answered_451: smtp-sink is slower; the client gets
451 4.3.2 and 421 4.3.2, never a 250. Both: an idle session gets 421 at
once, a new connection is refused, the filter exits. The client side is
tests/dp/smtp_shutdown.py, shared with mxgate-dp's live test.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxtest import Filter, fail, free_port, wait_port  # noqa: E402

FILTER, ROOT, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
DELAY = {"answered_then_421": 2, "not_answered_451": 25}[CASE]
EXIT_WAIT_S = 15


def main():
    sink_bin = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(sink_bin):
        print("skip: no smtp-sink")
        sys.exit(77)
    sink_port, port = free_port(), free_port()
    user = ["-u", "nobody"] if os.getuid() == 0 else []
    sink = subprocess.Popen([sink_bin, *user, "-w", str(DELAY), f"127.0.0.1:{sink_port}", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    f = None
    try:
        if not wait_port(sink_port):
            fail("smtp-sink did not start")
        f = Filter(FILTER, os.path.join(ROOT, "rules", "default"), port, sink_port, threads=1)
        p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "dp", "smtp_shutdown.py"),
                            "127.0.0.1", str(port), str(f.proc.pid), CASE], timeout=60)
        if p.returncode != 0:
            fail(f"smtp_shutdown.py {CASE}")
        try:
            f.proc.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            fail(f"mxgate-filter still running {EXIT_WAIT_S} s after the client's answer")
        print(f"ok {CASE}: mxgate-filter exited {f.proc.returncode}")
    finally:
        if f:
            f.destroy()
        sink.terminate()
        sink.wait()


main()
