#!/usr/bin/env python3
"""test_filter.py - socket mode (mxgate-filter) with a real Postfix.

Usage: test_filter.py MXGATE_FILTER SOURCE_ROOT TEST_NAME

Topology of the content-filter tests, all on loopback:
  client ─▶ Postfix :P1 ─content_filter▶ mxgate-filter :P2 ─▶ Postfix :P3 ─▶ Maildir
Direct tests talk to mxgate-filter themselves, so that they see its reply
to DATA:  client ─▶ mxgate-filter :P2 ─▶ Postfix :P3 ─▶ Maildir
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mxtest import Filter, PrivatePostfix, fail, free_port, smtp_send, strip_added  # noqa: E402

FILTER, ROOT, NAME = sys.argv[1], sys.argv[2], sys.argv[3]
RULES = os.path.join(ROOT, "rules", "default")
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(subject, body, extra_headers=""):
    return (f"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
            f"Subject: {subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash(subject + body)) % 10**12}@example.org>\r\n"
            f"{extra_headers}\r\n{body}").encode()


def send(port, msg, rcpts=("bob@example.net",), helo="client.example.org"):
    return smtp_send("127.0.0.1", port, msg, rcpts, helo)


class Setup:
    """Direct: mxgate-filter relaying to a private Postfix."""

    def __init__(self, name, rules=RULES, start_postfix=True, extra=()):
        self.p_filter, self.p_down = free_port(), free_port()
        self.pf = PrivatePostfix(name, self.p_down)
        if start_postfix:
            self.pf.start()
        self.f = Filter(FILTER, rules, self.p_filter, self.p_down, extra=extra)

    def destroy(self):
        self.f.destroy()
        self.pf.destroy()


def test_clean_mail_arrives_byte_identical():
    st = Setup("clean")
    try:
        body = "Hello Bob,\r\n.a line with a leading dot\r\n\r\nsee you\r\n"
        msg = message("quarterly numbers", body)
        code, text = send(st.p_filter, msg)
        if code != 250 or "queued as" not in text:
            fail(f"clean mail: {code} {text}")
        got = st.pf.wait_messages(1)
        if len(got) != 1:
            fail(f"{len(got)} messages in the mailbox, want 1\n{st.pf.log()}")
        want = msg.replace(b"\r\n", b"\n")
        if strip_added(got[0]) != want:
            fail(f"message changed:\nwant {want!r}\ngot  {strip_added(got[0])!r}")
        if b"X-Mxgate: mxgate-test.example.net; action=pass" not in got[0]:
            fail("our X-Mxgate header is missing")
        if "orig_client=" not in st.pf.log():
            fail("Postfix did not log XFORWARD's orig_client:\n" + st.pf.log()[-2000:])
        log = st.f.log()
        if len(log) != 1 or log[0]["action"] != "pass" or not log[0]["downstream"].startswith("250"):
            fail(f"log line: {log}")
    finally:
        st.destroy()


def test_eicar_and_gtube_refused_at_data():
    st = Setup("refuse")
    try:
        eicar = message("test", "see attachment\r\n", "") 
        eicar = (b"From: a@example.org\r\nTo: bob@example.net\r\nSubject: eicar\r\n"
                 b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
                 b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\n"
                 b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                 + __import__("base64").encodebytes(EICAR.encode()).replace(b"\n", b"\r\n")
                 + b"--x--\r\n")
        code, text = send(st.p_filter, eicar)
        if code != 550 or "5.7.1" not in text or "EICAR" not in text:
            fail(f"EICAR: {code} {text}")
        code, text = send(st.p_filter, message("gtube", GTUBE + "\r\n"))
        if code != 550 or "5.7.1" not in text:
            fail(f"GTUBE: {code} {text}")
        time.sleep(1)
        if st.pf.messages():
            fail("refused mail reached the mailbox")
        acts = [l["action"] for l in st.f.log()]
        if acts != ["reject", "reject"]:
            fail(f"log actions {acts}")
    finally:
        st.destroy()


def test_downstream_down_then_back_exactly_once():
    st = Setup("down", start_postfix=False)
    try:
        msg = message("retry me", "this one must arrive once\r\n")
        code, text = send(st.p_filter, msg)
        if code != 451 or "4.4.1" not in text:
            fail(f"downstream down: want 451 4.4.1, got {code} {text}")
        st.pf.start()
        code, text = send(st.p_filter, msg)
        if code != 250:
            fail(f"after restart: {code} {text}")
        got = st.pf.wait_messages(1)
        time.sleep(1)
        got = st.pf.messages()
        if len(got) != 1 or strip_added(got[0]) != msg.replace(b"\r\n", b"\n"):
            fail(f"{len(got)} copies arrived, want exactly 1")
    finally:
        st.destroy()


def test_quarantine_is_stored_before_250():
    st = Setup("quar")
    try:
        body = ("<html><body>Dear customer, your account has been suspended.\r\n"
                '<a href="http://203.0.113.7/secure/login.php">verify your account</a>\r\n'
                "</body></html>\r\n")
        msg = message("Urgent: action required", body, "Content-Type: text/html\r\n")
        code, text = send(st.p_filter, msg)
        m = re.search(r"queued as (\w+)", text)
        if code != 250 or not m:
            fail(f"quarantine: {code} {text}")
        qid = m.group(1)
        stored = os.path.join(st.f.qdir, qid + ".eml")
        if not os.path.exists(stored) or open(stored, "rb").read() != msg:
            fail("quarantined copy missing or different")
        time.sleep(1)
        if st.pf.messages():
            fail("quarantined mail was delivered")
        if st.f.log()[0]["action"] != "quarantine":
            fail(f"log: {st.f.log()}")
    finally:
        st.destroy()


def test_tag_discard_and_tempfail_actions():
    rules = tempfile.mkdtemp(prefix="mxgate-rules-")
    try:
        for f in os.listdir(RULES):
            shutil.copy(os.path.join(RULES, f), rules)
        with open(os.path.join(rules, "99-test.rules"), "w") as f:
            f.write("rule TEST_TAG\n  scope body\n  literal tag-this-message-please\n  score 6\nend\n\n"
                    "rule TEST_DISCARD\n  scope body\n  literal discard-this-message-please\n"
                    "  score 0\n  action discard\nend\n\n"
                    "rule TEST_TEMPFAIL\n  scope body\n  literal defer-this-message-please\n"
                    "  score 0\n  action tempfail\nend\n")
        st = Setup("actions", rules=rules)
        try:
            code, _ = send(st.p_filter, message("weekly report", "tag-this-message-please\r\n"))
            if code != 250:
                fail(f"tag: {code}")
            got = st.pf.wait_messages(1)
            if not got or b"Subject: [SPAM] weekly report" not in got[0]:
                fail(f"tagged subject missing: {got[:1]}")
            code, _ = send(st.p_filter, message("nothing", "discard-this-message-please\r\n"))
            if code != 250:
                fail(f"discard: {code}")
            code, text = send(st.p_filter, message("later", "defer-this-message-please\r\n"))
            if code != 451:
                fail(f"tempfail: {code} {text}")
            time.sleep(1)
            if len(st.pf.messages()) != 1:
                fail(f"{len(st.pf.messages())} messages delivered, want only the tagged one")
            acts = [l["action"] for l in st.f.log()]
            if acts != ["tag", "discard", "tempfail"]:
                fail(f"log actions {acts}")
        finally:
            st.destroy()
    finally:
        shutil.rmtree(rules, ignore_errors=True)


def test_content_filter_topology():
    p_in, p_filter, p_back = free_port(), free_port(), free_port()
    pf = PrivatePostfix("topo", p_in, filter_port=p_filter, reinject_port=p_back)
    pf.start()
    f = Filter(FILTER, RULES, p_filter, p_back)
    try:
        msgs = [message(f"note {i}", f"message number {i}\r\n") for i in range(20)]
        for m in msgs:
            code, text = send(p_in, m)
            if code != 250:
                fail(f"Postfix :{p_in} refused: {code} {text}")
        code, text = send(p_in, message("gtube", GTUBE + "\r\n"))
        if code != 250:
            fail("Postfix front end should queue the GTUBE message first")
        got = pf.wait_messages(20, timeout=60)
        time.sleep(2)
        got = pf.messages()
        if len(got) != 20:
            fail(f"{len(got)} messages arrived, want 20\n{pf.log()[-3000:]}")
        bodies = sorted(strip_added(g) for g in got)
        if bodies != sorted(m.replace(b"\r\n", b"\n") for m in msgs):
            fail("delivered messages differ from the sent ones")
        if any(b"X-Mxgate:" not in g for g in got):
            fail("a message bypassed mxgate")
        log = pf.log()
        if not re.search(r"status=bounced.*5\.7\.1", log):
            fail("the GTUBE message was not refused by mxgate (no bounce with 5.7.1 in the log)")
        acts = sorted(l["action"] for l in f.log())
        if acts.count("pass") != 20 or acts.count("reject") != 1:
            fail(f"mxgate log actions: {acts}")
    finally:
        f.destroy()
        pf.destroy()


def test_smtp_source_load():
    st = Setup("load")
    try:
        n = 300
        p = subprocess.run(["smtp-source", "-c", "-l", "2048", "-m", str(n), "-s", "10",
                            "-f", "alice@example.org", "-t", "bob@example.net",
                            f"127.0.0.1:{st.p_filter}"], capture_output=True, timeout=300)
        if p.returncode != 0:
            fail(f"smtp-source: {p.stderr.decode(errors='replace')}")
        got = st.pf.wait_messages(n, timeout=120)
        if len(got) != n:
            fail(f"{len(got)} of {n} messages arrived")
        acts = [l["action"] for l in st.f.log()]
        if len(acts) != n or set(acts) != {"pass"}:
            fail(f"log: {len(acts)} lines, actions {set(acts)}")
    finally:
        st.destroy()


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}
if NAME not in TESTS:
    fail(f"unknown test {NAME}; known: {', '.join(TESTS)}")
if os.geteuid() != 0:
    print("SKIP: needs root for a private Postfix")
    sys.exit(77)
TESTS[NAME]()
print("ok")
