#!/usr/bin/env python3
"""test_pg_filter.py - mxgate-filter with its PostgreSQL store, end to end.

Usage: test_pg_filter.py MXGATE_FILTER SOURCE_ROOT [MXGATE]

A PostgreSQL started here (initdb + pg_ctl as the postgres user, Unix socket
in a temporary directory), a private Postfix downstream, and mxgate-filter
with --db pointing at that server:

  * a message that scores into quarantine is in the quarantine table, byte
    for byte, at the moment the client reads its 250;
  * its message log row reaches the message_log table;
  * with PostgreSQL stopped, such a message gets 451 (never 250 and lost),
    while clean mail still flows; the clean message's log row, spooled
    meanwhile, is in the table once PostgreSQL is back;
  * (with MXGATE, the command-line tool) a message sent from 127.0.0.1 (in
    the default --xforward-nets) after XFORWARD IDENT=ABC123, as the front
    Postfix of a content filter sends it, is found by that queue id through
    GET /api/v1/messages?upstream_qid=ABC123 (curl) and
    `mxgate messages --upstream-qid ABC123`, and not by --qid ABC123.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FILTER, ROOT = sys.argv[1], sys.argv[2]
MXGATE = sys.argv[3] if len(sys.argv) > 3 else None
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from mxtest import (Filter, PrivatePostfix, fail, free_port, smtp_send,  # noqa: E402
                    wait_port)

PGBIN = "/usr/lib/postgresql/15/bin"
RULES = os.path.join(ROOT, "rules", "default")


def message(subject, body, extra_headers=""):
    return (f"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
            f"Subject: {subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash(subject + body)) % 10**12}@example.org>\r\n"
            f"{extra_headers}\r\n{body}").encode()


def phishing(n):
    """Scores into quarantine with the default rules (see test_filter.py)."""
    body = ("<html><body>Dear customer, your account has been suspended.\r\n"
            f'<a href="http://203.0.113.7/secure/login.php?n={n}">verify your account</a>\r\n'
            "</body></html>\r\n")
    return message(f"Urgent: action required {n}", body, "Content-Type: text/html\r\n")


class Postgres:
    """A throw-away cluster in DIR/pg, Unix socket only, run as postgres."""

    def __init__(self, top):
        self.data = os.path.join(top, "pg")
        self.conninfo = f"host={self.data} dbname=postgres user=mxgate"
        self.run("initdb", "-D", self.data, "-U", "mxgate", "-A", "trust",
                 "--no-locale", "-E", "UTF8", mkdir=True)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.data}'\n")

    def run(self, prog, *args, mkdir=False):
        if mkdir:
            os.makedirs(self.data, mode=0o700)
            shutil.chown(self.data, "postgres", "postgres")
        p = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, prog),
                            *args], capture_output=True, cwd="/")
        if p.returncode != 0:
            fail(f"{prog} {' '.join(args)}: {p.stdout.decode()}{p.stderr.decode()}")

    def start(self):
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "log"), "-w", "start")

    def stop(self):
        self.run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def query(self, sql):
        p = subprocess.run(["psql", "-X", "-At", self.conninfo, "-c", sql],
                           capture_output=True)
        if p.returncode != 0:
            fail(f"psql {sql}: {p.stderr.decode()}")
        return p.stdout.decode().strip()

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))


def send_forwarded(port, ident, msg):
    """One message after XFORWARD IDENT=ident; (code, text) of the end of data."""
    import smtplib
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="front.example.org", timeout=60)
    try:
        s.ehlo("front.example.org")
        code, text = s.docmd("XFORWARD", f"IDENT={ident}")
        if code != 250:
            fail(f"XFORWARD IDENT from 127.0.0.1: {code} {text.decode()}")
        s.mail("alice@example.org")
        s.rcpt("bob@example.net")
        code, text = s.data(msg)
        return code, text.decode()
    finally:
        s.quit()


class Api:
    """curl and the mxgate tool against the filter's management port."""

    def __init__(self, state, port):
        self.state, self.url = state, f"https://127.0.0.1:{port}"
        self.cert = os.path.join(state, "mgmt-cert.pem")
        r = subprocess.run([MXGATE, "token", "add", "pgtest", "--state-dir", state],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"mxgate token add: {r.returncode} {r.stderr}")
        self.token = r.stdout.strip()

    def get(self, path):
        r = subprocess.run(["curl", "-sS", "--max-time", "30", "--cacert", self.cert,
                            "-H", f"Authorization: Bearer {self.token}", self.url + path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"curl {path}: {r.stderr}")
        try:
            return json.loads(r.stdout)
        except ValueError:
            fail(f"GET {path}: not JSON: {r.stdout!r}")

    def cli(self, *args):
        r = subprocess.run([MXGATE, "messages", "--url", self.url, "--token", self.token,
                            "--cacert", self.cert, *args], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"mxgate messages {' '.join(args)}: {r.returncode} {r.stderr}")
        return r.stdout


def check_upstream_qid(pg, api, p_filter):
    """A message with the front Postfix's queue id is found by it."""
    code, text = send_forwarded(p_filter, "ABC123", message("forwarded", "words\r\n"))
    m = re.search(r"queued as (\w+)", text)
    if code != 250 or not m:
        fail(f"message after XFORWARD IDENT: {code} {text}")
    qid = m.group(1)
    if not wait_for(lambda: pg.query(
            f"SELECT upstream_qid FROM message_log WHERE qid = '{qid}'") == "ABC123", 5):
        fail(f"message_log row of {qid} without upstream_qid ABC123: " + pg.query(
            f"SELECT coalesce(upstream_qid, 'NULL') FROM message_log WHERE qid = '{qid}'"))
    rows = api.get("/api/v1/messages?upstream_qid=ABC123")
    if [(r["qid"], r["upstream_qid"]) for r in rows] != [(qid, "ABC123")]:
        fail(f"GET /api/v1/messages?upstream_qid=ABC123: {rows}")
    if api.get("/api/v1/messages?upstream_qid=ABC12") != []:
        fail("upstream_qid matched a prefix")
    if api.get("/api/v1/messages?qid=ABC123") != []:
        fail("qid=ABC123 matched the upstream queue id")
    mine = api.get(f"/api/v1/messages?qid={qid}")
    if len(mine) != 1 or mine[0].get("upstream_qid") != "ABC123":
        fail(f"GET /api/v1/messages?qid={qid}: {mine}")
    out = api.cli("--upstream-qid", "ABC123")
    if "upstream qid" not in out or not re.search(rf"{qid}\s+ABC123\s", out) \
            or "(1)" not in out:
        fail(f"mxgate messages --upstream-qid ABC123:\n{out}")
    # the default table does not grow a column that says nothing
    out = api.cli("--action", "quarantine")
    if "upstream qid" in out or "(1)" not in out:
        fail(f"mxgate messages --action quarantine:\n{out}")


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def main():
    top = tempfile.mkdtemp(prefix="mxgate-pg-e2e-")
    os.chmod(top, 0o755)
    pg = Postgres(top)
    pg.start()
    p_filter, p_down = free_port(), free_port()
    # one private Postfix per build directory: runs of this test from two
    # build directories at once must not share (and stop) each other's
    pf = PrivatePostfix("pgf" + hashlib.sha1(os.path.abspath(FILTER).encode()).hexdigest()[:8],
                        p_down)
    f = None
    try:
        pf.start()
        p_mgmt = free_port() if MXGATE else None
        f = Filter(FILTER, RULES, p_filter, p_down,
                   extra=("--db", pg.conninfo, "--node", "e2e", "--mgmt-listen",
                          f"127.0.0.1:{p_mgmt}" if p_mgmt else "off",
                          "--state-dir", os.path.join(top, "state")))
        if p_mgmt and not wait_port(p_mgmt):
            fail("management port did not open")
        # quarantine: in the table when the client reads 250
        msg = phishing(1)
        code, text = smtp_send("127.0.0.1", p_filter, msg)
        m = re.search(r"queued as (\w+)", text)
        if code != 250 or not m:
            fail(f"quarantine with the database up: {code} {text}")
        qid = m.group(1)
        got = pg.query(f"SELECT encode(message, 'hex') FROM quarantine WHERE qid = '{qid}'")
        if bytes.fromhex(got) != msg:
            fail(f"quarantine row of {qid} missing or different at the 250: {got[:80]!r}")
        if pg.query(f"SELECT node || ' ' || sender FROM quarantine WHERE qid = '{qid}'") \
                != "e2e alice@example.org":
            fail("quarantine row's node and sender")
        if not wait_for(lambda: pg.query(
                f"SELECT action FROM message_log WHERE qid = '{qid}'") == "quarantine", 5):
            fail(f"no message_log row for {qid}")
        if os.path.exists(os.path.join(f.qdir, qid + ".eml")):
            fail("with a store, quarantine must not also go to the directory")
        if MXGATE:
            check_upstream_qid(pg, Api(os.path.join(top, "state"), p_mgmt), p_filter)
            if len(pf.wait_messages(1)) != 1:
                fail("the forwarded message did not arrive downstream")

        # database down: quarantine gets 451, clean mail still 250
        delivered = len(pf.messages())
        pg.stop()
        t0 = time.time()
        code, text = smtp_send("127.0.0.1", p_filter, phishing(2))
        if code != 451:
            fail(f"quarantine with the database down: {code} {text}, want 451")
        if time.time() - t0 > 5:
            fail(f"451 took {time.time() - t0:.1f} s")
        code, text = smtp_send("127.0.0.1", p_filter, message("hello", "plain words\r\n"))
        m = re.search(r"queued as (\w+)", text)
        if code != 250 or not m:
            fail(f"clean mail with the database down: {code} {text}")
        clean = m.group(1)
        if len(pf.wait_messages(delivered + 1)) != delivered + 1:
            fail("clean mail did not arrive while the database was down")

        # back: the spooled row is replayed, once
        pg.start()
        if not wait_for(lambda: pg.query(
                f"SELECT count(*) FROM message_log WHERE qid = '{clean}'") == "1", 15):
            fail(f"log row of {clean} not replayed from the spool")
        tempfails = pg.query("SELECT count(*) FROM message_log WHERE action = 'tempfail'")
        if tempfails != "1":
            fail(f"{tempfails} tempfail rows, want 1 (the 451)")
        if pg.query("SELECT count(*) FROM quarantine") != "1":
            fail("a message refused with 451 is in the quarantine table")
    except BaseException:
        # what the daemon and the downstream said, before they are removed
        if f:
            f.err.seek(0)
            print("--- mxgate-filter stderr ---\n" + f.err.read()[-3000:])
            print("--- message log ---\n" + "\n".join(str(l) for l in f.log()[-10:]))
        print("--- Postfix log ---\n" + pf.log()[-2000:])
        raise
    finally:
        if f:
            f.destroy()
        pf.destroy()
        if pg.running():
            pg.stop()
        shutil.rmtree(top, ignore_errors=True)


if not os.access(os.path.join(PGBIN, "initdb"), os.X_OK):
    print(f"SKIP: no PostgreSQL in {PGBIN}")
    sys.exit(77)
if os.geteuid() != 0:
    print("SKIP: needs root for a private Postfix and PostgreSQL's user")
    sys.exit(77)
main()
print("ok")
