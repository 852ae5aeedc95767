#!/usr/bin/env python3
"""test_pg_filter.py - mxgate-filter with its PostgreSQL store, end to end.

Usage: test_pg_filter.py MXGATE_FILTER SOURCE_ROOT

A PostgreSQL started here (initdb + pg_ctl as the postgres user, Unix socket
in a temporary directory), a private Postfix downstream, and mxgate-filter
with --db pointing at that server:

  * a message that scores into quarantine is in the quarantine table, byte
    for byte, at the moment the client reads its 250;
  * its message log row reaches the message_log table;
  * with PostgreSQL stopped, such a message gets 451 (never 250 and lost),
    while clean mail still flows; the clean message's log row, spooled
    meanwhile, is in the table once PostgreSQL is back.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FILTER, ROOT = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from mxtest import Filter, PrivatePostfix, fail, free_port, smtp_send  # noqa: E402

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
        f = Filter(FILTER, RULES, p_filter, p_down,
                   extra=("--db", pg.conninfo, "--node", "e2e", "--mgmt-listen", "off",
                          "--state-dir", os.path.join(top, "state")))
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

        # database down: quarantine gets 451, clean mail still 250
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
        if len(pf.wait_messages(1)) != 1:
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
