"""swap_load.py - 20 rule swaps under continuous SMTP load.

usage: swap_load.py sock MXGATE-FILTER [SWAPS]
       swap_load.py sink PORT FILE      (the downstream, one Message-Id a line)
       swap_load.py dp HOST PORT STATE_DIR PIDFILE WORKDIR SWAPS SINKFILE MSGLOG
       (live_swap.sh runs the data-plane variant: mxgate-dp in a namespace)

Pins, for the daemon's rule publishing (docs/adr/0010-rule-publishing.md):
  * zero failed sessions and zero lost messages while the rule set is
    swapped SWAPS times under load: every clean message answered 250 reaches
    the downstream exactly once; no session sees anything but 250/221;
  * each new rule takes effect for messages that start after its swap:
    swap i adds a rule rejecting token "SWAP-i-"; a message carrying it,
    started after the swap, is refused 550, and one sent before is not;
  * a message in progress during a swap ends on the rule set it began with
    (it carries the token of the swap being published, and passes), and the
    swap completes only after it ended;
  * the running version is in every message's log row.

The downstream is a small SMTP sink in this process (threads on loopback);
swaps go through the operator's path: a request in state_dir/rules/request
and SIGHUP (what `mxgate rules publish` does), answered in state_dir/rules/reply.
"""
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import mxtest  # noqa: E402

LOAD_CLIENTS = 3          # sessions sending in a loop
MSGS_PER_SESSION = 5      # messages per session before QUIT
SWAP_REPLY_TIMEOUT = 20   # seconds for a publish to answer
SMTP_SOURCE_MSGS = 400    # sent by smtp-source beside the swaps (socket mode)


class Sink(socketserver.ThreadingTCPServer):
    """Downstream MTA: accepts everything, records each message's Message-Id."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.lock = threading.Lock()
        self.got = {}
        super().__init__(("127.0.0.1", 0), SinkHandler)


class FileSink:
    """The counts of a sink in another namespace, from its file."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    @property
    def got(self):
        counts = {}
        with open(self.path) as f:
            for line in f:
                counts[line.strip()] = counts.get(line.strip(), 0) + 1
        return counts


class SinkHandler(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile
        w.write(b"220 sink ESMTP\r\n")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                w.write(b"250-sink\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
            elif verb == b"DATA":
                w.write(b"354 go\r\n")
                w.flush()
                mid = None
                while True:
                    l = self.rfile.readline()
                    if not l or l == b".\r\n":
                        break
                    if l.lower().startswith(b"message-id:"):
                        mid = l.split(b":", 1)[1].strip().decode()
                if not l:
                    return
                with self.server.lock:
                    self.server.got[mid] = self.server.got.get(mid, 0) + 1
                    if getattr(self.server, "out", None):
                        self.server.out.write(f"{mid}\n")
                        self.server.out.flush()
                w.write(b"250 2.0.0 queued\r\n")
            elif verb == b"QUIT":
                w.write(b"221 bye\r\n")
                w.flush()
                return
            else:
                w.write(b"250 ok\r\n")
            w.flush()


def sanitizer_trouble(err):
    """Sanitizer reports in a daemon's stderr that concern rule publishing:
    any memory error or undefined behaviour, and leaks and data races whose
    stacks go through the rules manager, the swap or the engine (others
    belong to other tests)."""
    if "ERROR: AddressSanitizer" in err or "runtime error:" in err:
        return True
    for block in err.split("leak of ")[1:]:
        stack = block.split("\n\n")[0]
        if re.search(r"rules|bundle|engine_|scan_worker|rulesmgr", stack):
            return True
    for block in err.split("WARNING: ThreadSanitizer")[1:]:
        report = block.split("SUMMARY: ThreadSanitizer")[0]
        if re.search(r"rules_|bundle|engine_|scan_worker|rulesmgr|rms_", report):
            return True
    return False


def message(mid, body):
    return (f"From: a@example.org\r\nTo: b@example.net\r\nSubject: swap test\r\n"
            f"Message-Id: {mid}\r\n\r\n{body}\r\n").encode()


class Smtp:
    """A minimal client that reports every reply (smtplib hides some)."""

    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=30)
        self.f = self.s.makefile("rb")
        self.expect(220)
        self.cmd(b"EHLO client.example.org", 250)

    def reply(self):
        lines = []
        while True:
            l = self.f.readline()
            if not l:
                raise OSError("connection closed")
            lines.append(l)
            if l[3:4] != b"-":
                return int(l[:3]), b"".join(lines).decode(errors="replace")

    def expect(self, code):
        c, t = self.reply()
        if c != code:
            raise OSError(f"expected {code}, got {t!r}")
        return t

    def cmd(self, line, code):
        self.s.sendall(line + b"\r\n")
        return self.expect(code)

    def begin(self):
        self.cmd(b"MAIL FROM:<a@example.org>", 250)
        self.cmd(b"RCPT TO:<b@example.net>", 250)
        self.cmd(b"DATA", 354)

    def send_msg(self, msg):
        """One message; the final reply's code."""
        self.begin()
        self.s.sendall(msg + b".\r\n")
        return self.reply()[0]

    def quit(self):
        try:
            self.cmd(b"QUIT", 221)
        finally:
            self.s.close()


class Load:
    """LOAD_CLIENTS threads sending clean messages until stopped."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.accepted = []      # Message-Ids answered 250
        self.failures = []
        self.sessions = 0
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(LOAD_CLIENTS)]
        for t in self.threads:
            t.start()

    def run(self, k):
        n = 0
        while not self.stop.is_set():
            try:
                c = Smtp(self.host, self.port)
                for _ in range(MSGS_PER_SESSION):
                    n += 1
                    mid = f"<load-{k}-{n}@test>"
                    code = c.send_msg(message(mid, f"clean load message {k} {n}\r\nSWAP-0- is not a token"))
                    if code != 250:
                        with self.lock:
                            self.failures.append(f"{mid}: {code}")
                    else:
                        with self.lock:
                            self.accepted.append(mid)
                c.quit()
                with self.lock:
                    self.sessions += 1
            except OSError as e:
                with self.lock:
                    self.failures.append(f"session of client {k}: {e}")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def write_rules(d, n):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "10-swap.rules"), "w") as f:
        f.write("rule BASE_TOKEN\n  scope body\n  literal BASE-TOKEN\n  action reject\nend\n")
        for i in range(1, n + 1):
            f.write(f"rule SWAP_{i}\n  scope body\n  literal SWAP-{i}-\n  action reject\n"
                    f"  description \"swap {i}\"\nend\n")


class Publisher:
    """The operator's path: request file + SIGHUP, answer in the reply file."""

    def __init__(self, state_dir, pid_of):
        self.state = state_dir
        self.pid_of = pid_of

    def request(self, line):
        rq = os.path.join(self.state, "rules", "request")
        rp = os.path.join(self.state, "rules", "reply")
        if os.path.exists(rp):
            os.unlink(rp)
        with open(rq + ".tmp", "w") as f:
            f.write(line + "\n")
        os.rename(rq + ".tmp", rq)
        os.kill(self.pid_of(), signal.SIGHUP)

    def reply(self):
        rp = os.path.join(self.state, "rules", "reply")
        end = time.monotonic() + SWAP_REPLY_TIMEOUT
        while time.monotonic() < end:
            if os.path.exists(rp):
                return open(rp).read().strip()
            time.sleep(0.01)
        return None


def run_swaps(host, port, state_dir, pid_of, rules_root, swaps, sink, log_rows):
    """The scenario; returns a list of failures (empty: pass)."""
    bad = []
    pub = Publisher(state_dir, pid_of)
    load = Load(host, port)
    probes = {}                 # Message-Id -> expected version
    swap_ms = []
    try:
        time.sleep(0.5)
        for i in range(1, swaps + 1):
            d = os.path.join(rules_root, f"s{i}")
            write_rules(d, i)
            token = f"SWAP-{i}-"
            # before: the token passes
            c = Smtp(host, port)
            code = c.send_msg(message(f"<before-{i}@test>", f"has {token} early"))
            c.quit()
            if code != 250:
                bad.append(f"swap {i}: a message with {token} before the swap got {code}")
            if i == swaps // 2:
                # a refused set changes nothing and says where
                broken = os.path.join(rules_root, "broken")
                write_rules(broken, i)
                with open(os.path.join(broken, "10-swap.rules"), "a") as f:
                    f.write("rule BROKEN\n  scope body\n  regex (unclosed\nend\n")
                pub.request(f"publish {broken}")
                r = pub.reply() or ""
                if not r.startswith("error ") or "10-swap.rules:" not in r:
                    bad.append(f"a broken set was answered {r!r}, not 'error FILE:LINE: ...'")
                c = Smtp(host, port)
                code = c.send_msg(message(f"<broken-{i}@test>", f"has {token} still"))
                c.quit()
                if code != 250:
                    bad.append(f"after a refused set, a message with {token} got {code}")
            # every 5th swap: a message in progress while it is published
            inflight = None
            if i % 5 == 0:
                inflight = Smtp(host, port)
                inflight.begin()
                inflight.s.sendall(message(f"<inflight-{i}@test>", f"begun before swap {i}: {token}"))
            t0 = time.monotonic()
            pub.request(f"publish {d}")
            if inflight is not None:
                time.sleep(0.3)
                rp = os.path.join(state_dir, "rules", "reply")
                if os.path.exists(rp):
                    bad.append(f"swap {i}: published while a message of the old set was open")
                inflight.s.sendall(b".\r\n")
                code = inflight.reply()[0]
                inflight.quit()
                if code != 250:
                    bad.append(f"swap {i}: the message in progress got {code}, not 250 (old set)")
            r = pub.reply()
            swap_ms.append((time.monotonic() - t0) * 1000)
            if r is None or not r.startswith("ok "):
                bad.append(f"swap {i}: publish answered {r!r}")
                continue
            version = r.split()[1]
            c = Smtp(host, port)
            code = c.send_msg(message(f"<after-{i}@test>", f"has {token} late"))
            c.quit()
            if code != 550:
                bad.append(f"swap {i}: a message with {token} after the swap got {code}, not 550")
            probes[f"<after-{i}@test>"] = version
    finally:
        load.finish()
    time.sleep(0.5)
    bad += [f"load: {f}" for f in load.failures]
    with sink.lock:
        got = dict(sink.got)
        for mid in load.accepted:
            n = got.get(mid, 0)
            if n != 1:
                bad.append(f"{mid}: answered 250 but reached the downstream {n} times")
    rows = log_rows()
    seen = {}
    for row in rows:
        mid = row.get("message_id") or ""
        seen.setdefault(row.get("qid"), row)
    # the log has no Message-Id: match probes by their order of rejection
    rejects = [r for r in rows if r.get("action") == "reject"]
    want = list(probes.values())
    got = [r.get("rules_version") for r in rejects]
    if got != want:
        bad.append(f"log rows of the probes name versions {got}, want {want}")
    print(f"swaps {swaps}: sessions {load.sessions}, messages accepted {len(load.accepted)},"
          f" publish-to-switched ms: min {min(swap_ms):.1f} median"
          f" {sorted(swap_ms)[len(swap_ms) // 2]:.1f} max {max(swap_ms):.1f}")
    return bad


def log_rows(path):
    try:
        return [json.loads(l) for l in open(path)]
    except OSError:
        return []


def main_sink(port, path):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    sink = Sink.__new__(Sink)
    sink.lock = threading.Lock()
    sink.got = {}
    sink.out = open(path, "a")
    socketserver.ThreadingTCPServer.__init__(sink, ("127.0.0.1", port), SinkHandler)
    sink.serve_forever()


def main_dp(host, port, state, pidfile, work, swaps, sinkfile, msglog):
    def pid_of():
        return int(open(pidfile).read())
    bad = run_swaps(host, port, state, pid_of, work, swaps, FileSink(sinkfile),
                    lambda: log_rows(msglog))
    for b in bad:
        print("FAIL:", b)
    print("PASS" if not bad else "FAILED")
    return 1 if bad else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "sink":
        return main_sink(int(sys.argv[2]), sys.argv[3])
    if len(sys.argv) == 10 and sys.argv[1] == "dp":
        a = sys.argv
        return main_dp(a[2], int(a[3]), a[4], a[5], a[6], int(a[7]), a[8], a[9])
    if len(sys.argv) < 3 or sys.argv[1] != "sock":
        print(__doc__)
        return 2
    binary = sys.argv[2]
    swaps = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    tmp = tempfile.mkdtemp(prefix="mxgate-swap-")
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    rules0 = os.path.join(tmp, "s0")
    write_rules(rules0, 0)
    state = os.path.join(tmp, "state")
    pidfile = os.path.join(tmp, "pid")
    port = mxtest.free_port()
    f = mxtest.Filter(binary, rules0, port, sink.server_address[1], threads=2,
                      extra=("--mgmt-listen", "off", "--state-dir", state, "--pidfile", pidfile))
    try:
        src = None
        if shutil.which("smtp-source"):
            # Postfix's load generator beside ours: each message once downstream
            src = subprocess.Popen(["smtp-source", "-s", "2", "-m", str(SMTP_SOURCE_MSGS),
                                    "-l", "2048", "-f", "a@example.org", "-t", "b@example.net",
                                    f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        bad = run_swaps("127.0.0.1", port, state, lambda: f.proc.pid, tmp, swaps, sink,
                        f.log)
        if src is not None:
            _, serr = src.communicate(timeout=120)
            if src.returncode != 0:
                bad.append(f"smtp-source: {serr.decode()[-300:]}")
            with sink.lock:
                theirs = [m for m in sink.got if not re.match(
                    r"<(load|before|after|inflight|broken)-", m or "")]
                n = sum(sink.got[m] for m in theirs)
            if n != SMTP_SOURCE_MSGS or len(theirs) != n:
                bad.append(f"smtp-source sent {SMTP_SOURCE_MSGS} messages, the downstream"
                           f" got {n} ({len(theirs)} different)")
        f.stop()
        f.err.seek(0)
        err = f.err.read()
        if sanitizer_trouble(err):
            bad.append("the sanitizer reported a problem in mxgate-filter")
        published = err.count("rules: published ")
        if published != swaps:
            bad.append(f"daemon log has {published} 'rules: published' lines, want {swaps}")
        if bad:
            print(err[-3000:])
            for b in bad:
                print("FAIL:", b)
            return 1
        print("PASS")
        return 0
    finally:
        f.destroy()
        sink.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
