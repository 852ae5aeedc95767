#!/usr/bin/python3
"""smtp_shutdown.py - what SMTP clients see when mxgate is stopped.

Usage (from tests/dp/live_smtp_shutdown.sh, inside the client namespace,
and from tests/e2e/test_filter_shutdown.py for mxgate-filter):
  smtp_shutdown.py SERVER_IP PORT PID CASE

  answered_then_421   downstream answers within the shutdown wait: the
                      client whose message was with control gets its 250,
                      then 421 4.3.2; an idle client gets 421 4.3.2 at once
  not_answered_421    downstream slower than the wait: the client gets
                      421 4.3.2 for its message, never a 250 (mxgate-dp)
  not_answered_451    the same, answered 451 4.3.2 then 421 4.3.2
                      (mxgate-filter)

All: a connection opened after SIGTERM is refused, and the server exits
(checked by the caller). The first failure exits 1.
"""
import os
import signal
import socket
import sys
import threading
import time

SERVER, PORT, DP_PID, CASE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
SHUTDOWN_WAIT_S = 10	# SMTPDP_SHUTDOWN_WAIT_MS, SOCK_SHUTDOWN_WAIT_MS


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


class Client:
    def __init__(self):
        self.s = socket.create_connection((SERVER, PORT), timeout=30)
        self.f = self.s.makefile("rb")
        self.reply()

    def reply(self):
        """One whole reply: (code, last line); (0, '') at EOF."""
        while True:
            l = self.f.readline()
            if not l:
                return 0, ""
            if l[3:4] != b"-":
                return int(l[:3]), l.decode(errors="replace").strip()

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.reply()

    def rest(self):
        """Replies until EOF."""
        out = []
        while True:
            code, text = self.reply()
            if code == 0:
                return out
            out.append(text)


def start_message(c):
    for line, want in (("EHLO client.example.org", 250), ("MAIL FROM:<alice@example.org>", 250),
                       ("RCPT TO:<bob@example.net>", 250), ("DATA", 354)):
        code, text = c.cmd(line)
        if code != want:
            fail(f"{line}: {text}")
    c.s.sendall(b"Subject: in flight at shutdown\r\n\r\nhello\r\n.\r\n")


def main():
    idle = Client()
    if idle.cmd("EHLO idle.example.org")[0] != 250:
        fail("EHLO")
    busy = Client()
    start_message(busy)
    time.sleep(0.5)	# the message is with control, waiting for the downstream
    t0 = time.monotonic()
    os.kill(DP_PID, signal.SIGTERM)
    got = {}
    th = threading.Thread(target=lambda: got.setdefault("busy", busy.rest()))
    th.start()
    idle_replies = idle.rest()
    if time.monotonic() - t0 > 2:
        fail(f"the idle session waited {time.monotonic() - t0:.1f} s for its 421")
    if len(idle_replies) != 1 or not idle_replies[0].startswith("421 4.3.2"):
        fail(f"idle session at shutdown: {idle_replies}, want one 421 4.3.2 then close")
    time.sleep(0.3)
    try:
        late = Client()
        fail(f"a connection after SIGTERM was greeted: {late.rest()}")
    except OSError:
        pass
    th.join(SHUTDOWN_WAIT_S + 10)
    dt = time.monotonic() - t0
    replies = got.get("busy")
    if replies is None:
        fail("the client with a message in flight got no answer and no close")
    if any(r.startswith("250") for r in replies) and CASE.startswith("not_answered"):
        fail(f"250 for a message the downstream never took: {replies}")
    if CASE == "answered_then_421":
        want = ["250", "421 4.3.2"]
        if dt > SHUTDOWN_WAIT_S:
            fail(f"{dt:.1f} s to answer, the downstream answered after ~2 s")
    else:
        want = ["421 4.3.2"] if CASE == "not_answered_421" else ["451 4.3.2", "421 4.3.2"]
        if dt < SHUTDOWN_WAIT_S - 1:
            fail(f"gave up after {dt:.1f} s, before the {SHUTDOWN_WAIT_S} s wait")
    if len(replies) != len(want) or not all(r.startswith(w) for r, w in zip(replies, want)):
        fail(f"message in flight at shutdown: {replies}, want {want} then close")
    print(f"ok {CASE}: idle {idle_replies}, in flight {replies} after {dt:.1f} s")


main()
