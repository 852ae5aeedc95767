#!/usr/bin/python3
"""smtp_loss.py - many messages through mxgate-dp on a lossy link, each one
delivered exactly once with the right SHA-256. Run in the client namespace.

Usage (from tests/dp/live_smtp_loss.sh):
  smtp_loss.py SERVER_NS SERVER_IP PORT SOURCE_ROOT COUNT CONNS DEADLINE_S

COUNT messages, each with a unique Message-ID and a unique random body
(500 B to 8 KB, so that most span several segments), go out over CONNS
parallel SMTP connections (smtplib, up to PER_SESSION messages each, then
a new connection). The SHA-256 of every message is recorded as sent. A 4xx
reply, or a connection that breaks, puts the message back in the queue
(retried later on another connection). At the end the private Postfix's
Maildir must hold every Message-ID exactly once, and the SHA-256 of each,
after strip_added() removes the headers Postfix and mxgate add, must be
the recorded one.

A message whose connection broke after its content was sent (no reply
seen) may legitimately arrive twice if the retry also succeeds: SMTP
cannot tell (RFC 1047). Such duplicates are printed and counted apart;
any other duplicate, any missing message and any digest mismatch fail.
"""
import hashlib
import os
import queue
import random
import smtplib
import sys
import threading
import time

ROOT = sys.argv[4]
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from mxtest import PrivatePostfix, fail, strip_added  # noqa: E402

NS_S, SERVER, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
COUNT, CONNS, DEADLINE = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
RELAY_PORT = 10026
PER_SESSION = 50	# messages per connection before a new one
BODY_MIN, BODY_MAX = 500, 8000
RETRY_PAUSE_S = 0.2	# after a 4xx or a broken connection
TOKEN = "%08x" % random.getrandbits(32)


def make(i, rnd):
    """Message i: unique id and body; (bytes as sent, digest as stored)."""
    n = rnd.randint(BODY_MIN, BODY_MAX)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,"
    text = "".join(rnd.choice(alphabet) for _ in range(n))
    lines = [text[k:k + 76] for k in range(0, n, 76)]
    # a leading dot on some lines: dot-stuffing has to survive loss too
    lines = ["." + l if rnd.random() < 0.05 else l for l in lines]
    # a plain first line: random text must not open with a file magic
    # ("MZ", "#!") that the rules rightly refuse
    lines.insert(0, f"Hello Bob, this is message {i}.")
    msg = (f"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
           f"Subject: loss test {i}\r\nMessage-ID: <loss-{i}-{TOKEN}@example.org>\r\n"
           f"\r\n" + "\r\n".join(lines) + "\r\n").encode()
    return msg, hashlib.sha256(msg.replace(b"\r\n", b"\n")).hexdigest()


class Run:
    def __init__(self):
        rnd = random.Random(int(TOKEN, 16))
        self.msgs = [make(i, rnd) for i in range(COUNT)]
        self.todo = queue.Queue()
        for i in range(COUNT):
            self.todo.put(i)
        self.lock = threading.Lock()
        self.done = 0
        self.retries_4xx = 0
        self.broken = 0
        self.ambiguous = set()
        self.errors = []
        self.end = time.monotonic() + DEADLINE

    def result(self, i, ok, why=None, ambiguous=False):
        with self.lock:
            if ok:
                self.done += 1
                return
            if why == "4xx":
                self.retries_4xx += 1
            else:
                self.broken += 1
            if ambiguous:
                self.ambiguous.add(i)
        time.sleep(RETRY_PAUSE_S)
        self.todo.put(i)

    def worker(self):
        s, sent = None, 0
        while time.monotonic() < self.end and not self.errors:
            with self.lock:
                if self.done >= COUNT:
                    break
            try:
                i = self.todo.get(timeout=0.5)
            except queue.Empty:
                continue
            msg = self.msgs[i][0]
            stage = "connect"
            try:
                if s is None or sent >= PER_SESSION:
                    if s is not None:
                        try:
                            s.quit()
                        except (smtplib.SMTPException, OSError):
                            pass
                    s, sent = None, 0
                    s = smtplib.SMTP(SERVER, PORT, local_hostname="loss.example.org",
                                     timeout=60)
                    s.ehlo("loss.example.org")
                stage = "envelope"
                code, text = s.mail("alice@example.org")
                if code == 250:
                    code, text = s.rcpt("bob@example.net")
                if code == 250:
                    stage = "data"
                    code, text = s.data(msg)
                sent += 1
                if code == 250:
                    self.result(i, True)
                elif code // 100 == 4:
                    s.rset()
                    self.result(i, False, "4xx")
                else:
                    self.errors.append(f"message {i}: {code} {text!r}")
            except smtplib.SMTPDataError as e:
                if e.smtp_code // 100 == 4:
                    self.result(i, False, "4xx")
                else:
                    self.errors.append(f"message {i}: {e.smtp_code} {e.smtp_error!r}")
            except (smtplib.SMTPException, OSError) as e:
                s = None
                self.result(i, False, f"{stage}: {e}", ambiguous=stage == "data")
        if s is not None:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass


def check(pf, run):
    want = {f"<loss-{i}-{TOKEN}@example.org>": run.msgs[i][1] for i in range(COUNT)}
    seen = {}
    bad = []
    for m in pf.messages():
        body = strip_added(m)
        mid = None
        for l in body.split(b"\n\n", 1)[0].split(b"\n"):
            if l.lower().startswith(b"message-id:"):
                mid = l.split(b":", 1)[1].strip().decode()
        if mid not in want:
            continue
        seen[mid] = seen.get(mid, 0) + 1
        if hashlib.sha256(body).hexdigest() != want[mid]:
            bad.append(mid)
    missing = [m for m in want if m not in seen]
    dups = {m: n for m, n in seen.items() if n > 1}
    amb = {f"<loss-{i}-{TOKEN}@example.org>" for i in run.ambiguous}
    plain_dups = {m: n for m, n in dups.items() if m not in amb}
    return missing, bad, dups, plain_dups


def main():
    pf = PrivatePostfix("dploss", RELAY_PORT, netns=NS_S,
                        extra_main="default_process_limit = 200\n")
    try:
        pf.start()
        run = Run()
        t0 = time.monotonic()
        threads = [threading.Thread(target=run.worker) for _ in range(CONNS)]
        for t in threads:
            t.start()
        last = 0
        while any(t.is_alive() for t in threads):
            time.sleep(0.2)
            if run.done // 1000 != last // 1000:
                print(f"  {run.done} accepted after {time.monotonic() - t0:.0f} s", flush=True)
                last = run.done
        dt = time.monotonic() - t0
        if run.errors:
            fail("; ".join(run.errors[:5]))
        if run.done != COUNT:
            fail(f"only {run.done} of {COUNT} messages accepted within {DEADLINE:.0f} s")
        print(f"{COUNT} messages accepted in {dt:.1f} s ({COUNT / dt:.0f} msg/s) over {CONNS}"
              f" connections; retried after 4xx: {run.retries_4xx}, after a broken"
              f" connection: {run.broken} ({len(run.ambiguous)} after their content)",
              flush=True)
        pf.wait_messages(COUNT, timeout=max(60.0, run.end - time.monotonic()))
        time.sleep(2)	# a late duplicate would show up now
        missing, bad, dups, plain_dups = check(pf, run)
        if dups:
            print(f"duplicates: {len(dups)} ({len(dups) - len(plain_dups)} after a broken"
                  f" connection, SMTP cannot avoid those)")
        if missing or bad or plain_dups:
            fail(f"{len(missing)} missing (e.g. {missing[:3]}), {len(bad)} with a wrong"
                 f" SHA-256 (e.g. {bad[:3]}), {len(plain_dups)} duplicated without cause"
                 f" (e.g. {list(plain_dups)[:3]})")
        print(f"ok: all {COUNT} messages in the Maildir exactly once with their SHA-256")
    finally:
        pf.destroy()


main()
