#!/usr/bin/python3
"""tls_dp.py - mxgate-dp's STARTTLS, run in the client namespace (tls_dp.sh).

Usage: tls_dp.py SERVER_NS SERVER_IP PORT MSGLOG SOURCE_ROOT DP_PID WORK

  client ns: swaks / openssl / Python ssl ──veth──▶ mxgate-dp (af_packet,
  server ns, --tls-sessions 16, --tls-handshake-timeout 2) ─ control ─▶
  private Postfix 127.0.0.1:10026 in the server ns ─▶ Maildir
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

ROOT = sys.argv[5]
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tls"))
from mxtest import PrivatePostfix, fail  # noqa: E402
from tlslib import Client, s_client  # noqa: E402

NS_S, SERVER, PORT, MSGLOG = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
DP_PID, WORK = int(sys.argv[6]), sys.argv[7]


def log_lines():
    try:
        return [json.loads(l) for l in open(MSGLOG) if l.startswith("{")]
    except OSError:
        return []


def swaks_tls_is_relayed_with_tls_header(pf):
    p = subprocess.run(["swaks", "--server", SERVER, "--port", str(PORT), "--tls",
                        "--from", "alice@example.org", "--to", "bob@example.net",
                        "--helo", "client.example.org", "--header", "Subject: dp tls"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or "TLS started with cipher TLSv1.3" not in p.stdout \
            or "<~  250 2.0.0 Ok: queued as" not in p.stdout:
        fail("swaks --tls: rc %d\n%s%s" % (p.returncode, p.stdout, p.stderr))
    msgs = pf.wait_messages(1)
    if len(msgs) != 1:
        fail("not delivered:\n" + pf.log())
    m = msgs[0].decode(errors="replace")
    if not re.search(r"Received: from client\.example\.org \(198\.18\.0\.1\)\r?\n\tby "
                     r"mxgate-dp\.example\.net \(mxgate\) with ESMTPS \(version=TLSv1\.3 "
                     r"cipher=TLS_", m):
        fail("no Received header with ESMTPS:\n" + m[:1200])
    log = log_lines()
    if not log or log[-1].get("tls", {}).get("version") != "TLSv1.3":
        fail("log line without tls: %r" % log[-1:])


def s_client_tls12_and_no_starttls_after():
    out = s_client(PORT, "-tls1_2", host=SERVER)
    if not re.search(r"New, TLSv1\.2, Cipher is ECDHE-", out) or "250 CHUNKING" not in out \
            or "250-STARTTLS" in out or "503 5.5.1 Error: TLS already active" not in out:
        fail("s_client -tls1_2:\n" + out)


def injection_is_discarded():
    c = Client(PORT, host=SERVER)
    c.cmd("EHLO client.test")
    c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
    if c.reply() != "220 2.0.0 Ready to start TLS":
        fail("STARTTLS reply")
    if not c.nothing_more():
        fail("plaintext after the 220: %r" % c.buf)
    c.starttls()
    if not c.nothing_more():
        fail("injected commands answered after the handshake: %r" % c.buf)
    if not c.cmd("MAIL FROM:<a@example.org>").startswith("503 5.5.1"):
        fail("state not reset by the handshake")
    c.close()


def flood_keeps_established_session(pf, before):
    est = Client(PORT, host=SERVER)
    est.cmd("EHLO client.test")
    est.cmd("STARTTLS")
    est.starttls()
    est.cmd("EHLO client.test")
    stop = time.monotonic() + 3.0
    count = [0, 0]

    def flood(kind):
        while time.monotonic() < stop:
            try:
                c = Client(PORT, timeout=5, host=SERVER)
                c.cmd("EHLO flood.test")
                r = c.cmd("STARTTLS")
                count[0] += 1
                if r.startswith("454"):
                    count[1] += 1
                elif kind == 1:
                    c.send(os.urandom(300))
                elif kind == 2:
                    time.sleep(2.5)	# stall past the handshake timeout
                c.close()
            except (OSError, EOFError):
                pass

    threads = [threading.Thread(target=flood, args=(k % 3,)) for k in range(24)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    t0 = time.monotonic()
    r = est.message("during the flood")
    took = time.monotonic() - t0
    for t in threads:
        t.join()
    if not r.startswith("250 2.0.0"):
        fail("established session not served during the flood: %r" % r)
    est.cmd("QUIT")
    est.close()
    if len(pf.wait_messages(before + 1)) != before + 1:
        fail("flood: message not delivered")
    print(f"flood: {count[0]} STARTTLS, {count[1]} got 454 (pool 16); the established "
          f"session's message took {took:.3f}s")


def peer_cn():
    out = s_client(PORT, stdin="QUIT\r\n", host=SERVER)
    m = re.search(r"subject=CN = (\S+)", out)
    return m.group(1) if m else out


def sighup_reload_keeps_sessions(pf, before):
    if peer_cn() != "mx.test":
        fail("first certificate")
    est = Client(PORT, host=SERVER)
    est.cmd("EHLO client.test")
    est.cmd("STARTTLS")
    est.starttls()
    est.cmd("EHLO client.test")
    shutil.copy(os.path.join(WORK, "other.crt"), os.path.join(WORK, "live.crt"))
    shutil.copy(os.path.join(WORK, "other.key"), os.path.join(WORK, "live.key"))
    os.kill(DP_PID, signal.SIGHUP)
    time.sleep(0.5)
    if peer_cn() != "other.test":
        fail("certificate not reloaded on SIGHUP")
    r = est.message("across the reload")
    if not r.startswith("250 2.0.0"):
        fail("session from before the reload: %r" % r)
    est.cmd("QUIT")
    est.close()
    if len(pf.wait_messages(before + 1)) != before + 1:
        fail("reload: message not delivered")


def shutdown_421_is_encrypted():
    c = Client(PORT, host=SERVER)
    c.cmd("EHLO client.test")
    c.cmd("STARTTLS")
    c.starttls()
    c.cmd("EHLO client.test")
    os.kill(DP_PID, signal.SIGTERM)
    r = c.reply()	# a plaintext 421 would break the TLS record layer
    if not r.startswith("421 4.3.2"):
        fail("reply at shutdown: %r" % r)
    c.close()


pf = PrivatePostfix("dp-tls", 10026, netns=NS_S)
pf.start()
try:
    swaks_tls_is_relayed_with_tls_header(pf)
    s_client_tls12_and_no_starttls_after()
    injection_is_discarded()
    flood_keeps_established_session(pf, 1)
    sighup_reload_keeps_sessions(pf, 2)
    shutdown_421_is_encrypted()
    print("ok: tls_dp.py")
finally:
    pf.destroy()
