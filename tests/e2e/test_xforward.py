#!/usr/bin/env python3
"""test_xforward.py - XFORWARD from the front Postfix into mxgate-filter.

Usage: test_xforward.py MXGATE_FILTER SOURCE_ROOT TEST_NAME

  client 127.0.0.2 ─▶ Postfix :P1 ─content_filter (XFORWARD)▶ mxgate-filter :P2
                   ─XFORWARD▶ Postfix :P3 ─▶ Maildir

original_client_reaches_log_rules_and_downstream: a message sent from
127.0.0.2 to the front Postfix arrives in the mailbox with 127.0.0.2 (not
127.0.0.1, the front Postfix's address towards mxgate) in mxgate's log
line and in the downstream Postfix's Received: header, and an envelope
rule on client-addr fires for it (and not for a client on 127.0.0.3).
The downstream Postfix logs it as orig_client= and, with the front
Postfix's queue id that mxgate passed on as XFORWARD IDENT, as
orig_queue_id= (mxgate's log line has the same id as upstream_qid), and
keeps it in the queue file; its own Received: header names the connection it took the mail on
(mxgate, 127.0.0.1), as Postfix's smtpd does for every after-queue
XFORWARD (only smtpd_proxy_filter writes the forwarded client there), so
the message's Received: chain names 127.0.0.2 through the front Postfix's
line and nowhere names the front Postfix as the client.

only_trusted_networks_may_forward: mxgate-filter --xforward-nets
127.0.0.1/32 offers XFORWARD to 127.0.0.1 but not to 127.0.0.2, which
gets 550 5.7.0 and is logged as itself; --xforward-nets none offers it to
nobody.

Every address is on loopback (127.0.0.0/8 is local on Linux, so a client
can bind 127.0.0.2 without a namespace).
"""
import os
import re
import shutil
import smtplib
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxtest import Filter, PrivatePostfix, fail, free_port  # noqa: E402

FILTER, ROOT, NAME = sys.argv[1], sys.argv[2], sys.argv[3]
RULES = os.path.join(ROOT, "rules", "default")
REAL_CLIENT = "127.0.0.2"
OTHER_CLIENT = "127.0.0.3"


def message(subject, body):
    return (f"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
            f"Subject: {subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash(subject + body)) % 10**12}@example.org>\r\n"
            f"\r\n{body}").encode()


def send_from(addr, port, msg, helo):
    """Send one message from source address addr; (code, text, our port)."""
    s = smtplib.SMTP(local_hostname=helo, timeout=60, source_address=(addr, 0))
    try:
        s.connect("127.0.0.1", port)
        sport = s.sock.getsockname()[1]
        s.ehlo(helo)
        code, text = s.mail("alice@example.org")
        if code != 250:
            return code, text.decode(), sport
        s.rcpt("bob@example.net")
        code, text = s.data(msg)
        return code, text.decode(), sport
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode(), sport
    finally:
        try:
            s.quit()
        except Exception:
            pass


def chat(addr, port, lines):
    """A raw session from addr: the EHLO reply, then one reply per line."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(addr, 0))
    f = s.makefile("rb")

    def reply():
        out = []
        while True:
            l = f.readline().decode()
            out.append(l)
            if len(l) < 4 or l[3] != "-":
                return "".join(out)
    try:
        reply()                                   # greeting
        s.sendall(b"EHLO probe.example\r\n")
        got = [reply()]
        for l in lines:
            s.sendall(l.encode() + b"\r\n")
            got.append(reply())
        return got
    finally:
        s.close()


def received_headers(msg):
    head = msg.split(b"\n\n", 1)[0].decode(errors="replace")
    unfolded = re.sub(r"\n[ \t]+", " ", head)
    return [l for l in unfolded.split("\n") if l.lower().startswith("received:")]


def test_original_client_reaches_log_rules_and_downstream():
    rules = tempfile.mkdtemp(prefix="mxgate-rules-")
    p_in, p_filter, p_back = free_port(), free_port(), free_port()
    pf = f = None
    try:
        for name in os.listdir(RULES):
            shutil.copy(os.path.join(RULES, name), rules)
        with open(os.path.join(rules, "99-xforward.rules"), "w") as out:
            out.write("rule TEST_REAL_CLIENT\n  scope envelope\n  field client-addr\n"
                      f"  regex /^{re.escape(REAL_CLIENT)}$/\n  score 0\n  action tag\nend\n")
        pf = PrivatePostfix("xfwd", p_in, filter_port=p_filter, reinject_port=p_back)
        pf.start()
        f = Filter(FILTER, rules, p_filter, p_back)
        code, text, _ = send_from(REAL_CLIENT, p_in, message("from afar", "hello\r\n"),
                                      "laptop.example.org")
        if code != 250:
            fail(f"front Postfix refused the message from {REAL_CLIENT}: {code} {text}")
        code, text, _ = send_from(OTHER_CLIENT, p_in, message("from next door", "hi\r\n"),
                                  "desk.example.org")
        if code != 250:
            fail(f"front Postfix refused the message from {OTHER_CLIENT}: {code} {text}")
        got = pf.wait_messages(2, timeout=60)
        if len(got) != 2:
            fail(f"{len(got)} messages arrived, want 2\n{pf.log()[-3000:]}")
        afar = [m for m in got if b"from afar" in m]
        near = [m for m in got if b"from next door" in m]
        if len(afar) != 1 or len(near) != 1:
            fail("the two messages did not arrive once each")
        # Received: downstream (from mxgate), then the front Postfix's
        rec = received_headers(afar[0])
        if len(rec) != 2 or f"laptop.example.org (unknown [{REAL_CLIENT}])" not in rec[1]:
            fail(f"Received chain does not name {REAL_CLIENT}: {rec}")
        if "from mxgate-test.example.net" not in rec[0]:
            fail(f"downstream Received is not from mxgate: {rec[0]}")
        # the downstream Postfix took mxgate's XFORWARD: the original
        # client, not the front Postfix, is its orig_client
        qid = re.search(r"with E?SMTP id (\w+)", rec[0]).group(1)
        lines = [l for l in pf.log().splitlines() if f"{qid}: client=" in l]
        if not lines or f"orig_client=unknown[{REAL_CLIENT}]" not in lines[0]:
            fail(f"downstream log for {qid}: {lines}\n{pf.log()[-3000:]}")
        # the front Postfix's queue id for this message, from its own log
        # line (the connection from REAL_CLIENT, no orig_ fields) and its
        # Received line; the downstream logs it as orig_queue_id= (mxgate
        # passed the front's XFORWARD IDENT on) and so does mxgate
        front = [m.group(1) for m in re.finditer(
            rf"(\w+): client=[^\s,]*\[{re.escape(REAL_CLIENT)}\]\s*$", pf.log(), re.M)]
        front_rec = re.search(r"with E?SMTP id (\w+)", rec[1]).group(1)
        if front != [front_rec]:
            fail(f"front Postfix queue id: log {front}, Received {front_rec}")
        if f"orig_queue_id={front_rec}," not in lines[0]:
            fail(f"downstream log for {qid} lacks orig_queue_id={front_rec}: {lines[0]}")
        # the envelope rule saw the real client: tagged, the other not
        if b"Subject: [SPAM] from afar" not in afar[0]:
            fail("the client-addr rule did not fire for the forwarded client")
        if b"[SPAM]" in near[0]:
            fail("the client-addr rule fired for the other client")
        log = {l["helo"]: l for l in f.log()}
        la = log.get("laptop.example.org")
        ln = log.get("desk.example.org")
        if la is None or ln is None:
            fail(f"mxgate log lines lack the forwarded HELOs: {f.log()}")
        if la["client"] != REAL_CLIENT:
            fail(f"mxgate log: client {la['client']}, want {REAL_CLIENT}")
        if la.get("upstream_qid") != front_rec:
            fail(f"mxgate log: upstream_qid {la.get('upstream_qid')}, want {front_rec}")
        if not ln.get("upstream_qid") or ln["upstream_qid"] == front_rec:
            fail(f"mxgate log for {OTHER_CLIENT}: upstream_qid {ln.get('upstream_qid')}")
        if la["action"] != "tag" or "TEST_REAL_CLIENT" not in str(la["rules"]):
            fail(f"mxgate log: action {la['action']} rules {la['rules']}")
        if ln["client"] != OTHER_CLIENT or ln["action"] != "pass":
            fail(f"mxgate log for {OTHER_CLIENT}: {ln}")
    finally:
        if f:
            f.destroy()
        if pf:
            pf.destroy()
        shutil.rmtree(rules, ignore_errors=True)


def test_only_trusted_networks_may_forward():
    p_filter, p_down = free_port(), free_port()
    pf = PrivatePostfix("xfwd-trust", p_down)
    pf.start()
    f = Filter(FILTER, RULES, p_filter, p_down, extra=("--xforward-nets", "127.0.0.1/32"))
    g = None
    try:
        trusted = chat("127.0.0.1", p_filter, ["XFORWARD ADDR=198.18.0.7"])
        if "XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE" not in trusted[0]:
            fail(f"XFORWARD not offered to 127.0.0.1: {trusted[0]}")
        if not trusted[1].startswith("250 2.0.0"):
            fail(f"XFORWARD from 127.0.0.1: {trusted[1]}")
        forger = chat("127.0.0.2", p_filter, ["XFORWARD ADDR=198.18.0.7",
                                              "MAIL FROM:<alice@example.org>",
                                              "RCPT TO:<bob@example.net>", "DATA",
                                              "Subject: forged\r\n\r\nx\r\n."])
        if "XFORWARD" in forger[0]:
            fail(f"XFORWARD offered to 127.0.0.2: {forger[0]}")
        if not forger[1].startswith("550 5.7.0"):
            fail(f"XFORWARD from 127.0.0.2 not refused: {forger[1]}")
        if not forger[-1].startswith("250"):
            fail(f"message after the refused XFORWARD: {forger[-1]}")
        time.sleep(0.5)
        log = f.log()
        if len(log) != 1 or log[0]["client"] != "127.0.0.2":
            fail(f"the forger's message must be logged as 127.0.0.2: {log}")
        f.destroy()
        f = None
        g = Filter(FILTER, RULES, p_filter, p_down, extra=("--xforward-nets", "none"))
        nobody = chat("127.0.0.1", p_filter, ["XFORWARD ADDR=198.18.0.7"])
        if "XFORWARD" in nobody[0] or not nobody[1].startswith("550 5.7.0"):
            fail(f"--xforward-nets none still offers XFORWARD: {nobody}")
    finally:
        if f:
            f.destroy()
        if g:
            g.destroy()
        pf.destroy()


TESTS = {n[5:]: fn for n, fn in globals().items() if n.startswith("test_")}
if NAME not in TESTS:
    fail(f"unknown test {NAME}; known: {', '.join(TESTS)}")
if os.geteuid() != 0:
    print("SKIP: needs root for a private Postfix")
    sys.exit(77)
TESTS[NAME]()
print("ok")
