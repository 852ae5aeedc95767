"""two_nodes.py - two gateways, one PostgreSQL: a rule set published on
either node is running on the other within seconds.

usage: two_nodes.py MXGATE MXGATE-FILTER

A throw-away PostgreSQL (initdb + pg_ctl as the postgres user, Unix socket
only), two mxgate-filter instances (nodes a and b, two ports, their own
state directories) with --db on it. Pins:
  * publish on a (`mxgate rules publish --pidfile`): b runs the same version
    within FOLLOW_S seconds, its new rule refusing mail there;
  * publish on b: a follows;
  * rollback on a: b follows back;
  * the two versions are rows of the store (rule_versions).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import mxtest  # noqa: E402
from swap_load import Smtp, message, write_rules, Sink, sanitizer_trouble  # noqa: E402

PGBIN = "/usr/lib/postgresql/15/bin"
FOLLOW_S = 10


class Postgres:
    """initdb into top/pg, Unix socket in the data directory, as postgres."""

    def __init__(self, top):
        self.data = os.path.join(top, "pg")
        self.conninfo = f"host={self.data} dbname=postgres user=mxgate"
        os.makedirs(self.data, mode=0o700)
        shutil.chown(self.data, "postgres", "postgres")
        self.pg("initdb", "-D", self.data, "-U", "mxgate", "-A", "trust", "--no-locale",
                "-E", "UTF8")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.data}'\n")
        self.pg("pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "log"), "-w", "start")

    def pg(self, prog, *args):
        p = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, prog), *args],
                           capture_output=True, cwd="/")
        if p.returncode != 0:
            mxtest.fail(f"{prog}: {p.stdout.decode()}{p.stderr.decode()}")

    def query(self, sql):
        p = subprocess.run(["psql", "-X", "-At", self.conninfo, "-c", sql], capture_output=True)
        return p.stdout.decode().strip() if p.returncode == 0 else "ERROR " + p.stderr.decode()

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, "pg_ctl"),
                        "-D", self.data, "-m", "immediate", "-w", "stop"], capture_output=True,
                       cwd="/")


class Node:
    def __init__(self, name, filt, rules, top, pg, sink):
        self.name = name
        self.state = os.path.join(top, f"state-{name}")
        self.pidfile = os.path.join(top, f"pid-{name}")
        self.port = mxtest.free_port()
        self.f = mxtest.Filter(filt, rules, self.port, sink.server_address[1], threads=2,
                               extra=("--db", pg.conninfo, "--node", name, "--mgmt-listen", "off",
                                      "--state-dir", self.state, "--pidfile", self.pidfile))
        end = time.monotonic() + 10
        while time.monotonic() < end and "store: following" not in self.err():
            time.sleep(0.05)

    def err(self):
        self.f.err.seek(0)
        return self.f.err.read()

    def running(self):
        lines = open(os.path.join(self.state, "rules", "history")).read().split("\n")
        return lines[-2].split()[1]

    def refuses(self, token):
        c = Smtp("127.0.0.1", self.port)
        code = c.send_msg(message(f"<{self.name}-{token}@test>", f"has {token} here"))
        c.quit()
        return code == 550


def cli(mxgate, node, *args):
    r = subprocess.run([mxgate, "rules", *args, "--pidfile", node.pidfile, "--state-dir",
                        node.state], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        mxtest.fail(f"mxgate rules {' '.join(args)} on {node.name}: {r.stderr}")
    return r.stdout.split()[-1]


def follows(node, version):
    end = time.monotonic() + FOLLOW_S
    while time.monotonic() < end:
        if node.running() == version:
            return time.monotonic() - (end - FOLLOW_S)
        time.sleep(0.02)
    return None


def main():
    mxgate, filt = sys.argv[1], sys.argv[2]
    if os.getuid() != 0:
        print("skip: needs root (PostgreSQL runs as the postgres user)")
        return 77
    if not os.path.exists(os.path.join(PGBIN, "initdb")):
        print("skip: no PostgreSQL 15 server binaries")
        return 77
    top = tempfile.mkdtemp(prefix="mxgate-2nodes-")
    os.chmod(top, 0o755)
    pg = Postgres(top)
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    nodes, bad = [], []
    try:
        for n in range(4):
            write_rules(os.path.join(top, f"r{n}"), n)
        a = Node("a", filt, os.path.join(top, "r0"), top, pg, sink)
        b = Node("b", filt, os.path.join(top, "r0"), top, pg, sink)
        nodes = [a, b]
        v1 = cli(mxgate, a, "publish", os.path.join(top, "r1"))
        t = follows(b, v1)
        if t is None or not b.refuses("SWAP-1-"):
            bad.append(f"b does not run {v1} published on a (runs {b.running()})")
        else:
            print(f"b followed a's publish in {t * 1000:.0f} ms")
        v2 = cli(mxgate, b, "publish", os.path.join(top, "r2"))
        t = follows(a, v2)
        if t is None or not a.refuses("SWAP-2-"):
            bad.append(f"a does not run {v2} published on b (runs {a.running()})")
        else:
            print(f"a followed b's publish in {t * 1000:.0f} ms")
        vr = cli(mxgate, a, "rollback")
        if vr != v1 or follows(b, v1) is None or b.refuses("SWAP-2-"):
            bad.append(f"rollback on a to {vr}: b runs {b.running()}, want {v1}")
        rows = pg.query("select count(*) from rule_versions")
        if rows.startswith("ERROR") or int(rows) != 2:
            rows = pg.query("select table_name from information_schema.tables"
                            " where table_name like 'rule%'")
            bad.append(f"rule versions in the store: {rows!r}")
        for node in nodes:
            node.f.stop()
            if sanitizer_trouble(node.err()):
                bad.append(f"node {node.name}: sanitizer report")
        if bad:
            for node in nodes:
                print(f"--- node {node.name}\n" + node.err()[-2000:])
            for x in bad:
                print("FAIL:", x)
            return 1
        print("PASS")
        return 0
    finally:
        for node in nodes:
            node.f.destroy()
        sink.shutdown()
        pg.stop()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
