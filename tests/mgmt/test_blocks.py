"""test_blocks.py - IP Profiler blocks and TLS reload through the management API.

usage: test_blocks.py MXGATE_FILTER MXGATE SOURCE_ROOT SCENARIO

A real mxgate-filter on loopback (clients from 127.0.9.x), its management
port on a free port, curl and the mxgate tool as clients.

  blocks      a profiler block (GTUBE from a spam 1/1 perm rule) appears in
              GET /api/v1/blocks and `mxgate blocks`; 401 without a token;
              DELETE removes it and the client sends again; 404, 400, 405
  blocks_pg   with a throw-away PostgreSQL: the block's ip_blocks row, the
              block survives a restart (read back, refused at greeting),
              DELETE marks the row removed by the token's name, and the next
              start has no block
  blocks_share            two gateways on one throw-away PostgreSQL: A's
              profiler block is refused by B within 5 s without a restart
              (NOTIFY), and `mxgate blocks remove` on A lets the address
              into B again within 5 s; both delays printed
  blocks_share_off        B with profiler_share_blocks = no keeps accepting
              what A blocked, live and after a restart
  blocks_share_reconnect  B's listener backend terminated
              (pg_terminate_backend) and kept out (its role NOLOGIN) while
              A blocks one address and removes another: B sees neither;
              once B may connect again it reads the blocks back, refuses
              the first and lets the second in
  tls_reload  POST /api/v1/tls/reload with a new good pair: new sessions
              see its subject (openssl s_client -starttls smtp); a bad pair
              (key of another certificate) is 409 and the old one stays
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "sfilter"))
from mxtest import Filter, fail, free_port, wait_port  # noqa: E402
from sftest import Sink, codes, talk  # noqa: E402

FILTER, MXGATE, ROOT, SCENARIO = sys.argv[1:5]
RULES = os.path.join(ROOT, "rules", "default")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SPAM = "Subject: buy\r\n\r\n%s\r\n" % GTUBE
RULE = "spam 1/1 600 perm"
PGBIN = "/usr/lib/postgresql/15/bin"


def expect(cond, what):
    if not cond:
        fail(what)


class Gateway:
    """mxgate-filter with a sender filter and a management port."""

    def __init__(self, top, sink, extra=(), state=None, smtp=None, mport=None, conf=()):
        self.top, self.sink, self.extra = top, sink, tuple(extra)
        self.conf_lines = tuple(conf)
        self.state = state or tempfile.mkdtemp(prefix="state-", dir=top)
        self.conf = os.path.join(self.state, "sfilter.conf")
        with open(self.conf, "w") as f:
            f.write("profiler_rule = %s\n" % RULE)
            f.writelines(line + "\n" for line in self.conf_lines)
        self.smtp = smtp or free_port()
        self.mport = mport or free_port()
        self.url = "https://127.0.0.1:%d" % self.mport
        self.f = Filter(FILTER, RULES, self.smtp, sink.port, extra=(
            "--state-dir", self.state, "--mgmt-listen", "127.0.0.1:%d" % self.mport,
            "--sender-filter", self.conf) + self.extra)
        if not wait_port(self.mport):
            fail("management port did not open: " + self.stderr())
        self.cert = os.path.join(self.state, "mgmt-cert.pem")
        tok = os.path.join(self.state, "tokens")
        if os.path.exists(tok) and hasattr(self, "token"):
            return
        r = subprocess.run([MXGATE, "token", "add", "test", "--state-dir", self.state],
                           capture_output=True, text=True)
        expect(r.returncode == 0, "mxgate token add: " + r.stderr)
        self.token = r.stdout.strip()

    def stderr(self):
        self.f.err.flush()
        self.f.err.seek(0)
        return self.f.err.read()

    def restart(self):
        """The same gateway (state, ports, token) started again."""
        token = self.token
        self.f.destroy()
        g = Gateway.__new__(Gateway)
        g.token = token
        Gateway.__init__(g, self.top, self.sink, self.extra, self.state, self.smtp, self.mport,
                         self.conf_lines)
        return g

    def curl(self, method, path, token="default"):
        args = ["curl", "-sS", "--max-time", "20", "--cacert", self.cert, "-X", method,
                "-o", "-", "-w", "\n%{http_code}"]
        if token == "default":
            token = self.token
        if token:
            args += ["-H", "Authorization: Bearer " + token]
        r = subprocess.run(args + [self.url + path], capture_output=True, text=True)
        expect(r.returncode == 0, "curl %s %s: %s" % (method, path, r.stderr))
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def json(self, method, path, want=200):
        code, body = self.curl(method, path)
        expect(code == want, "%s %s: %d, want %d: %s" % (method, path, code, want, body))
        return json.loads(body)

    def mx(self, *args, want=0):
        r = subprocess.run([MXGATE, *args, "--url", self.url, "--token", self.token,
                            "--cacert", self.cert], capture_output=True, text=True)
        expect(r.returncode == want, "mxgate %s: exit %d, want %d: %s%s"
               % (" ".join(args), r.returncode, want, r.stdout, r.stderr))
        return r.stdout

    def wait_block(self, addr, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(b["addr"] == addr for b in self.json("GET", "/api/v1/blocks")):
                return True
            time.sleep(0.1)
        return False

    def destroy(self):
        self.f.destroy()


def block_one(g, addr):
    """GTUBE from addr: refused, and the profiler blocks addr."""
    c = talk(g.smtp, addr, body=SPAM)
    expect(codes(c)[-1][1] >= 500, "GTUBE not refused: %r" % c)
    expect(g.wait_block(addr), "no block for %s in GET /api/v1/blocks" % addr)


def scenario_blocks(top, sink):
    g = Gateway(top, sink)
    try:
        expect(g.json("GET", "/api/v1/blocks") == [], "blocks at start")
        block_one(g, "127.0.9.1")
        b = [x for x in g.json("GET", "/api/v1/blocks") if x["addr"] == "127.0.9.1"][0]
        expect(b["permanent"] and b["rule"] == RULE and b["hits"] == 1, "block: %r" % b)
        c = talk(g.smtp, "127.0.9.1")
        expect(codes(c) == [("greet", 554)], "blocked client not refused: %r" % c)
        expect(g.curl("GET", "/api/v1/blocks", token=None)[0] == 401, "no token: not 401")
        expect(g.curl("DELETE", "/api/v1/blocks/127.0.9.1", token="0" * 64)[0] == 401,
               "wrong token: not 401")
        out = g.mx("blocks")
        expect(re.search(r"^127\.0\.9\.1\s+perm\s", out, re.M), "mxgate blocks: %r" % out)
        expect(json.loads(g.mx("blocks", "list", "--json"))[0]["addr"] == "127.0.9.1",
               "mxgate blocks --json")
        expect(g.curl("DELETE", "/api/v1/blocks/not-an-address")[0] == 400, "bad address")
        expect(g.curl("POST", "/api/v1/blocks")[0] == 405, "POST /blocks")
        expect(g.curl("GET", "/api/v1/blocks/127.0.9.1")[0] == 405, "GET /blocks/ADDR")
        r = g.json("DELETE", "/api/v1/blocks/127.0.9.1")
        expect(r["removed"] and r["in_memory"], "DELETE: %r" % r)
        expect(g.curl("DELETE", "/api/v1/blocks/127.0.9.1")[0] == 404, "second DELETE")
        expect(g.json("GET", "/api/v1/blocks") == [], "block still listed")
        time.sleep(0.2)   # the sender filter's control pass clears the readers
        c = talk(g.smtp, "127.0.9.1")
        expect(codes(c)[-1] == ("end", 250), "unblocked client cannot send: %r" % c)
        block_one(g, "127.0.9.3")
        g.mx("blocks", "remove", "127.0.9.3")
        g.mx("blocks", "remove", "127.0.9.3", want=1)
        expect(g.json("GET", "/api/v1/blocks") == [], "mxgate blocks remove")
        expect(g.curl("POST", "/api/v1/tls/reload")[0] == 503, "TLS reload without TLS")
        expect("audit: actor=test action=blocks.remove" in g.stderr(), "no audit line")
    finally:
        g.destroy()


class Postgres:
    """A throw-away cluster in TOP/pg (Unix socket only), run as postgres."""

    def __init__(self, top):
        self.data = os.path.join(top, "pg")
        self.conninfo = "host=%s dbname=postgres user=mxgate" % self.data
        os.makedirs(self.data, mode=0o700)
        shutil.chown(self.data, "postgres", "postgres")
        self.run("initdb", "-D", self.data, "-U", "mxgate", "-A", "trust", "--no-locale",
                 "-E", "UTF8")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\n" % self.data)
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "log"), "-w", "start")

    def run(self, prog, *args):
        p = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, prog), *args],
                           capture_output=True, cwd="/")
        if p.returncode != 0:
            fail("%s: %s%s" % (prog, p.stdout.decode(), p.stderr.decode()))

    def query(self, sql):
        p = subprocess.run(["psql", "-X", "-At", self.conninfo, "-c", sql], capture_output=True)
        if p.returncode != 0:
            fail("psql %s: %s" % (sql, p.stderr.decode()))
        return p.stdout.decode().strip()

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, "pg_ctl"), "-D",
                        self.data, "-m", "immediate", "-w", "stop"], capture_output=True, cwd="/")


def scenario_blocks_pg(top, sink):
    if os.geteuid() != 0 or shutil.which("runuser") is None \
            or not os.path.exists(os.path.join(PGBIN, "initdb")):
        print("skip: the throw-away PostgreSQL needs root and PostgreSQL 15")
        sys.exit(77)
    pg = Postgres(top)
    g = None
    try:
        g = Gateway(top, sink, extra=("--db", pg.conninfo, "--node", "n1"))
        block_one(g, "127.0.9.2")
        sql = ("SELECT kind || ' ' || node || ' ' || reason FROM ip_blocks"
               " WHERE addr = '127.0.9.2' AND removed_at IS NULL")
        end = time.monotonic() + 10
        while time.monotonic() < end and not pg.query(sql):
            time.sleep(0.1)
        expect(pg.query(sql) == "perm n1 " + RULE, "ip_blocks row: %r" % pg.query(sql))
        g = g.restart()
        expect(any(b["addr"] == "127.0.9.2" for b in g.json("GET", "/api/v1/blocks")),
               "block not read back after a restart")
        time.sleep(0.2)   # published to the workers at the control pass
        c = talk(g.smtp, "127.0.9.2")
        expect(codes(c) == [("greet", 554)], "restored block not in force: %r" % c)
        r = g.json("DELETE", "/api/v1/blocks/127.0.9.2")
        expect(r["in_memory"] and r["db_rows"] == 1, "DELETE: %r" % r)
        row = pg.query("SELECT removed_by, removed_at IS NOT NULL FROM ip_blocks"
                       " WHERE addr = '127.0.9.2'")
        expect(row == "test|t", "row not marked removed: %r" % row)
        audit = pg.query("SELECT actor || ' ' || action FROM audit_log")
        expect("test blocks.remove" in audit, "audit rows: %r" % audit)
        g = g.restart()
        expect(g.json("GET", "/api/v1/blocks") == [], "removed block came back")
        c = talk(g.smtp, "127.0.9.2")
        expect(codes(c)[-1] == ("end", 250), "removed block still refuses: %r" % c)
    finally:
        if g:
            g.destroy()
        pg.stop()


def need_pg():
    if os.geteuid() != 0 or shutil.which("runuser") is None \
            or not os.path.exists(os.path.join(PGBIN, "initdb")):
        print("skip: the throw-away PostgreSQL needs root and PostgreSQL 15")
        sys.exit(77)


def refused(g, addr):
    return codes(talk(g.smtp, addr)) == [("greet", 554)]


def accepted(g, addr):
    return codes(talk(g.smtp, addr))[-1] == ("end", 250)


def within(cond, timeout, step=0.05):
    """Seconds until cond() held, None when it did not within timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    return None


LIVE_S = 5.0     # the brief: another node follows within 5 s


def two_gateways(top, sink, pg, b_conf=(), b_user="mxgate"):
    a = Gateway(top, sink, extra=("--db", pg.conninfo, "--node", "gw-a"))
    b = Gateway(top, sink, extra=("--db", pg.conninfo.replace("user=mxgate", "user=" + b_user),
                                  "--node", "gw-b"), conf=b_conf)
    return a, b


def scenario_blocks_share(top, sink):
    need_pg()
    pg = Postgres(top)
    a = b = None
    try:
        a, b = two_gateways(top, sink, pg)
        addr = "127.0.9.11"
        expect(accepted(b, addr), "B refuses %s before any block" % addr)
        t0 = time.monotonic()
        block_one(a, addr)
        d = within(lambda: refused(b, addr), LIVE_S)
        expect(d is not None, "B still accepts %s %.0f s after A blocked it: %s"
               % (addr, LIVE_S, b.stderr()[-2000:]))
        print("B refuses A's block after %.3f s (%.3f s after A's block was listed)"
              % (time.monotonic() - t0, d))
        got = [x for x in b.json("GET", "/api/v1/blocks") if x["addr"] == addr]
        expect(got and got[0]["permanent"] and got[0]["rule"] == RULE,
               "B's block of %s: %r" % (addr, got))
        expect(re.search(r"block of %s from node gw-a applied \(%s, permanent\)"
                         % (re.escape(addr), re.escape(RULE)), b.stderr()),
               "no 'applied' line on B: %s" % b.stderr()[-2000:])
        t0 = time.monotonic()
        a.mx("blocks", "remove", addr)
        d = within(lambda: accepted(b, addr), LIVE_S)
        expect(d is not None, "B still refuses %s %.0f s after the removal on A"
               % (addr, LIVE_S))
        print("B lets %s in %.3f s after `mxgate blocks remove` on A" % (addr, d))
        expect("block of %s lifted (removed on node gw-a)" % addr in b.stderr(),
               "no 'lifted' line on B")
        expect(b.json("GET", "/api/v1/blocks") == [], "B still lists a block")
        # the other way round, through DELETE on B: A follows too
        addr = "127.0.9.12"
        block_one(b, addr)
        expect(within(lambda: refused(a, addr), LIVE_S) is not None, "A did not follow B")
        b.json("DELETE", "/api/v1/blocks/" + addr)
        expect(within(lambda: accepted(a, addr), LIVE_S) is not None,
               "A did not follow B's DELETE")
    finally:
        for g in (a, b):
            if g:
                g.destroy()
        pg.stop()


def scenario_blocks_share_off(top, sink):
    need_pg()
    pg = Postgres(top)
    a = b = None
    try:
        a, b = two_gateways(top, sink, pg, b_conf=("profiler_share_blocks = no",))
        addr = "127.0.9.13"
        block_one(a, addr)
        # what the shared path takes (blocks_share) and more
        time.sleep(2 * 1.0)
        expect(accepted(b, addr), "B (profiler_share_blocks = no) refuses A's block")
        expect(b.json("GET", "/api/v1/blocks") == [], "B lists A's block")
        b = b.restart()
        expect(b.json("GET", "/api/v1/blocks") == [], "B read A's block at start")
        expect(accepted(b, addr), "B refuses A's block after a restart")
        # its own blocks still come back at its start
        block_one(b, "127.0.9.14")
        sql = "SELECT count(*) FROM ip_blocks WHERE node = 'gw-b' AND removed_at IS NULL"
        expect(within(lambda: pg.query(sql) == "1", 10) is not None, "B's row not written")
        b = b.restart()
        expect(any(x["addr"] == "127.0.9.14" for x in b.json("GET", "/api/v1/blocks")),
               "B's own block not read back")
    finally:
        for g in (a, b):
            if g:
                g.destroy()
        pg.stop()


def scenario_blocks_share_reconnect(top, sink):
    need_pg()
    pg = Postgres(top)
    a = b = None
    try:
        # B logs in as its own role so that its backends can be told apart
        pg.query("CREATE ROLE mxgate_b LOGIN SUPERUSER")
        a, b = two_gateways(top, sink, pg, b_user="mxgate_b")
        addr = "127.0.9.15"
        block_one(a, addr)      # A's query connection is up from now on
        expect(within(lambda: refused(b, addr), LIVE_S) is not None, "B did not follow")
        listen = ("SELECT pid FROM pg_stat_activity WHERE usename = 'mxgate_b'"
                  " AND query LIKE 'LISTEN %'")
        pid = pg.query(listen)
        expect(pid and "\n" not in pid, "B's listener backend: %r" % pid)
        # a gap: B's listener is gone and cannot come back for now
        pg.query("ALTER ROLE mxgate_b NOLOGIN")
        expect(pg.query("SELECT pg_terminate_backend(%s)" % pid) == "t", "terminate")
        expect(within(lambda: "listener lost its connection" in b.stderr(), 5) is not None,
               "B did not see its listener's connection go")
        old, addr = addr, "127.0.9.16"
        block_one(a, addr)
        a.mx("blocks", "remove", old)
        time.sleep(1.5)
        expect(accepted(b, addr), "B refused %s without a listener: the test has no gap"
               % addr)
        expect(refused(b, old), "B let %s in without a listener: the test has no gap" % old)
        pg.query("ALTER ROLE mxgate_b LOGIN")
        d = within(lambda: refused(b, addr), LIVE_S)
        expect(d is not None, "B does not refuse %s %.0f s after it may reconnect: %s"
               % (addr, LIVE_S, b.stderr()[-2000:]))
        print("B applies the block it missed %.3f s after it may reconnect" % d)
        expect("block of %s from node gw-a applied after reconnect" % addr in b.stderr(),
               "no catch-up line on B")
        expect(within(lambda: accepted(b, old), LIVE_S) is not None,
               "B still refuses %s, removed while it was not listening" % old)
        expect("block of %s lifted (removed by test, after reconnect)" % old in b.stderr(),
               "no catch-up 'lifted' line on B")
        expect(pg.query(listen) not in ("", pid), "B's listener is not back")
        # and it follows live again
        a.mx("blocks", "remove", addr)
        expect(within(lambda: accepted(b, addr), LIVE_S) is not None,
               "B does not follow a removal after its reconnect")
    finally:
        for g in (a, b):
            if g:
                g.destroy()
        pg.stop()


def make_pair(d, cn):
    cert, key = os.path.join(d, cn + ".crt"), os.path.join(d, cn + ".key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=" + cn, "-keyout", key, "-out", cert], capture_output=True)
    expect(r.returncode == 0, "openssl req: " + r.stderr.decode())
    return cert, key


def subject(port):
    r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect",
                        "127.0.0.1:%d" % port, "-brief"], input=b"QUIT\r\n",
                       capture_output=True, timeout=20)
    m = re.search(r"Peer certificate: .*CN\s*=\s*([\w.-]+)", r.stderr.decode())
    expect(m, "s_client: no peer certificate: %s" % r.stderr.decode()[-800:])
    return m.group(1)


def scenario_tls_reload(top, sink):
    cert, key = os.path.join(top, "tls.crt"), os.path.join(top, "tls.key")
    c1, k1 = make_pair(top, "first.test")
    c2, k2 = make_pair(top, "second.test")
    shutil.copy(c1, cert)
    shutil.copy(k1, key)
    g = Gateway(top, sink, extra=("--tls-cert", cert, "--tls-key", key))
    try:
        expect(subject(g.smtp) == "first.test", "first certificate")
        expect(g.curl("POST", "/api/v1/tls/reload", token=None)[0] == 401, "no token")
        expect(g.curl("GET", "/api/v1/tls/reload")[0] == 405, "GET tls/reload")
        shutil.copy(c2, cert)
        shutil.copy(k2, key)
        r = g.json("POST", "/api/v1/tls/reload")
        expect(r["reloaded"] and r["generation"] >= 1, "reload: %r" % r)
        expect(subject(g.smtp) == "second.test", "new sessions do not see the new certificate")
        shutil.copy(k1, key)          # a key that is not the certificate's
        code, body = g.curl("POST", "/api/v1/tls/reload")
        expect(code == 409 and "error" in json.loads(body), "bad pair: %d %s" % (code, body))
        expect(subject(g.smtp) == "second.test", "a refused reload changed the certificate")
        shutil.copy(k2, key)
        out = g.mx("tls", "reload")
        expect("reloaded" in out, "mxgate tls reload: %r" % out)
        c = talk(g.smtp, "127.0.9.5")
        expect(codes(c)[-1] == ("end", 250), "plain mail after reloads: %r" % c)
        err = g.stderr()
        expect("audit: actor=test action=tls.reload.refused" in err, "no refusal audit")
    finally:
        g.destroy()


SCENARIOS = {"blocks": scenario_blocks, "blocks_pg": scenario_blocks_pg,
             "blocks_share": scenario_blocks_share,
             "blocks_share_off": scenario_blocks_share_off,
             "blocks_share_reconnect": scenario_blocks_share_reconnect,
             "tls_reload": scenario_tls_reload}

if __name__ == "__main__":
    top = tempfile.mkdtemp(prefix="mxgate-blocks-")
    os.chmod(top, 0o755)
    sink = Sink()
    try:
        SCENARIOS[SCENARIO](top, sink)
    finally:
        sink.close()
        shutil.rmtree(top, ignore_errors=True)
    print("ok", SCENARIO)
