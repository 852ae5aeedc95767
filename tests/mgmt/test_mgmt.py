"""test_mgmt.py - the HTTPS management port of a real mxgate-filter.

usage: test_mgmt.py MXGATE_FILTER MXGATE SOURCE_ROOT SCENARIO

Each scenario starts mxgate-filter (loopback ports of its own, a private
state directory) relaying to a small SMTP sink in this process, and talks
to the management port with the real clients: curl, openssl s_client and
the mxgate command-line tool.

  auth       missing, malformed and wrong bearer tokens get 401 with
             WWW-Authenticate; a token added while running works at once
  routes     every route with good and bad input (400, 404, 405, 411,
             413, 503), quarantine show/raw/release/delete
  tls        TLS 1.1 refused, TLS 1.2 and 1.3 accepted, plaintext never
             answered; the self-signed certificate is 0600, made once and
             reused at the next start
  metrics    /metrics parses as Prometheus text; counters and histograms
             are consistent with the mail sent
  sfilter    with a sender filter (block list, pregreet test, valid
             recipients): mxgate_sfilter_refusals_total{reason} equal the
             refusals provoked, the API's per-core "sfilter" object agrees;
             no frame, cycle, TX-burst or wake-up metric in socket mode;
             rx/tx bytes at least what the test's clients sent and read
  cli        mxgate status / quarantine / messages, tables and --json,
             and what it says when the gateway is not there
  store      with PostgreSQL (a throw-away cluster): message search with
             every filter, quarantine from the store, release and delete,
             audit rows, mxgate_db_* metrics; a second gateway on the same
             database releases the first one's quarantined message
"""
import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from mxtest import Filter, fail, free_port, wait_port  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from promtext import (FRAME_FAMILIES, SFILTER_FAMILIES, SFILTER_REASONS,  # noqa: E402
                      metric_sum, parse_prometheus)

FILTER, MXGATE, ROOT, SCENARIO = sys.argv[1:5]
RULES = os.path.join(ROOT, "rules", "default")

PHISH = ("From: alice@example.org\r\nTo: bob@example.net\r\n"
         "Subject: Urgent: action required\r\nContent-Type: text/html\r\n\r\n"
         "<html><body>Dear customer, your account has been suspended.\r\n"
         '<a href="http://203.0.113.7/secure/login.php">verify your account</a>\r\n'
         "</body></html>\r\n")
CLEAN = ("From: alice@example.org\r\nTo: bob@example.net\r\nSubject: lunch\r\n\r\n"
         "See you at noon.\r\n")


class Sink:
    """A minimal SMTP server: every message it is given, with its envelope."""

    def __init__(self):
        self.port = free_port()
        self.msgs = []
        self.lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(16)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        mail, rcpt = None, []
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    c.sendall(b"250-sink\r\n250 8BITMIME\r\n")
                elif cmd == b"MAIL":
                    mail, rcpt = line.decode().split(":", 1)[1].strip(), []
                    c.sendall(b"250 ok\r\n")
                elif cmd == b"RCPT":
                    rcpt.append(line.decode().split(":", 1)[1].strip())
                    c.sendall(b"250 ok\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go\r\n")
                    data = b""
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b""):
                            break
                        data += l[1:] if l.startswith(b"..") else l
                    with self.lock:
                        self.msgs.append((mail, rcpt, data))
                    c.sendall(b"250 2.0.0 Ok: queued as SINK%d\r\n" % len(self.msgs))
                elif cmd == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        finally:
            c.close()

    def close(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)   # wakes the accept()
        except OSError:
            pass
        self.srv.close()


class Gateway:
    """mxgate-filter with its management port on a free loopback port."""

    def __init__(self, state=None, extra=()):
        self.extra = tuple(extra)
        self.sink = Sink()
        self.state = state or tempfile.mkdtemp(prefix="mxgate-mgmt-")
        self.mport = free_port()
        self.url = f"https://127.0.0.1:{self.mport}"
        self.smtp = free_port()
        self.f = Filter(FILTER, RULES, self.smtp, self.sink.port,
                        extra=("--state-dir", self.state,
                               "--mgmt-listen", f"127.0.0.1:{self.mport}") + self.extra)
        if not wait_port(self.mport):
            fail("management port did not open: " + self.stderr())
        self.cert = os.path.join(self.state, "mgmt-cert.pem")
        self.token = self.add_token("test")

    def stderr(self):
        self.f.err.flush()
        self.f.err.seek(0)
        return self.f.err.read()

    def add_token(self, name):
        r = subprocess.run([MXGATE, "token", "add", name, "--state-dir", self.state],
                           capture_output=True, text=True)
        if r.returncode != 0 or not re.fullmatch(r"[0-9a-f]{64}\n", r.stdout):
            fail(f"mxgate token add: {r.returncode} {r.stdout!r} {r.stderr}")
        return r.stdout.strip()

    def curl(self, method, path, token="default", body=None, headers=(), raw=False):
        """(status, headers text, body) of one curl request."""
        args = ["curl", "-sS", "--max-time", "60", "--cacert", self.cert, "-X", method,
                "-D", "-", "-o", "-"]
        if token == "default":
            token = self.token
        if token is not None:
            args += ["-H", f"Authorization: Bearer {token}"]
        for h in headers:
            args += ["-H", h]
        if body is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", body]
        r = subprocess.run(args + [self.url + path], capture_output=True)
        if r.returncode != 0:
            fail(f"curl {method} {path}: exit {r.returncode}: {r.stderr.decode()}")
        head, _, rest = r.stdout.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        return status, head.decode(), rest if raw else rest.decode()

    def json(self, method, path, want=200, **kw):
        st, head, body = self.curl(method, path, **kw)
        if st != want:
            fail(f"{method} {path}: {st}, want {want}: {body}")
        try:
            return json.loads(body)
        except ValueError:
            fail(f"{method} {path}: not JSON: {body!r}")

    def send(self, msg, rcpts=("bob@example.net",)):
        import smtplib
        s = smtplib.SMTP("127.0.0.1", self.smtp, timeout=30)
        try:
            s.sendmail("alice@example.org", list(rcpts), msg.encode())
            return s.noop()
        finally:
            s.quit()

    def quarantined(self):
        return sorted(n[:-4] for n in os.listdir(self.f.qdir) if n.endswith(".eml"))

    def restart(self):
        self.f.stop()
        self.f = Filter(FILTER, RULES, self.smtp, self.sink.port,
                        extra=("--state-dir", self.state,
                               "--mgmt-listen", f"127.0.0.1:{self.mport}") + self.extra)
        if not wait_port(self.mport):
            fail("management port did not reopen: " + self.stderr())

    def destroy(self):
        self.f.stop()
        err = self.stderr()
        self.f.destroy()
        self.sink.close()
        shutil.rmtree(self.state, ignore_errors=True)
        # an ASan/UBSan build reports here (CI builds with both)
        if re.search(r"ERROR: (Address|Leak)Sanitizer|runtime error:", err):
            fail("sanitizer report from mxgate-filter:\n" + err)


def expect(cond, what):
    if not cond:
        fail(what)


def test_auth():
    g = Gateway()
    try:
        st, head, body = g.curl("GET", "/api/v1/status", token=None)
        expect(st == 401 and 'WWW-Authenticate: Bearer realm="mxgate"' in head,
               f"no token: {st} {head}")
        st, head, body = g.curl("GET", "/api/v1/status", token="0" * 64)
        expect(st == 401 and 'error="invalid_token"' in head, f"wrong token: {st} {head}")
        st, head, _ = g.curl("GET", "/metrics", token=None)
        expect(st == 401, f"/metrics without a token: {st}")
        st, head, _ = g.curl("GET", "/api/v1/status", token=None,
                             headers=("Authorization: Basic dGVzdDp0ZXN0",))
        expect(st == 401, f"Basic auth: {st}")
        st, _, _ = g.curl("GET", "/api/v1/status", token=g.token[:-1])
        expect(st == 401, f"truncated token: {st}")
        st, _, _ = g.curl("DELETE", "/api/v1/quarantine/X1", token=None)
        expect(st == 401, f"mutating call without a token: {st}")
        # a token added while the gateway runs works at once
        t2 = g.add_token("second")
        g.json("GET", "/api/v1/status", token=t2)
        g.json("GET", "/api/v1/status")
        mode = stat.S_IMODE(os.stat(os.path.join(g.state, "tokens")).st_mode)
        expect(mode == 0o600, f"tokens file mode {oct(mode)}")
        expect(g.token not in open(os.path.join(g.state, "tokens")).read(),
               "a token is stored in clear")
    finally:
        g.destroy()


def test_routes():
    g = Gateway()
    try:
        s = g.json("GET", "/api/v1/status")
        for k in ("daemon", "version", "uptime_s", "workers", "rules_version", "downstream", "db"):
            expect(k in s, f"status lacks {k}: {s}")
        expect(s["workers"] == 2 and s["daemon"] == "mxgate-filter", f"status: {s}")
        expect(s["downstream"]["reachable"] is True
               and s["downstream"]["addr"] == f"127.0.0.1:{g.sink.port}", f"downstream: {s}")
        st = g.json("GET", "/api/v1/stats")
        expect(len(st["cores"]) == 2, f"stats: {st}")
        cfg = g.json("GET", "/api/v1/config")
        expect(cfg.get("mgmt_listen") == f"127.0.0.1:{g.mport}", f"config: {cfg}")
        # wrong method, unknown path
        code, head, body = g.curl("POST", "/api/v1/status", body="{}")
        expect(code == 405 and "Allow: GET" in head, f"POST status: {code} {head}")
        expect(g.curl("GET", "/api/v1/nothing")[0] == 404, "unknown API path")
        expect(g.curl("GET", "/index.html")[0] == 404, "unknown path")
        expect(g.curl("GET", "/api/v1/quarantine/X1/frobnicate")[0] == 404, "unknown sub-path")
        # malformed input
        for q in ("action=maybe", "limit=0", "limit=x", "since=yesterday", "sender=%zz"):
            code, _, body = g.curl("GET", "/api/v1/messages?" + q)
            expect(code == 400 and "error" in json.loads(body), f"messages?{q}: {code} {body}")
        code, _, body = g.curl("GET", "/api/v1/messages?sender=a%40b.example&limit=5")
        expect(code == 503 and "PostgreSQL" in body, f"messages without a store: {code} {body}")
        expect(g.curl("GET", "/api/v1/quarantine/bad%20qid")[0] == 400, "malformed qid")
        expect(g.curl("GET", "/api/v1/quarantine/..")[0] in (400, 404), "qid ..")
        expect(g.curl("GET", "/api/v1/quarantine/NOSUCHQID")[0] == 404, "unknown qid")
        code, _, _ = g.curl("POST", "/api/v1/rules/publish",
                            headers=("Transfer-Encoding: chunked",), body="{}")
        expect(code == 411, f"chunked body: {code}")
        code, _, _ = g.curl("POST", "/api/v1/rules/publish",
                            headers=("Content-Length: 99999999",), body="")
        expect(code == 413, f"huge body: {code}")
        # rules
        r = g.json("GET", "/api/v1/rules")
        expect(r.get("version") == s["rules_version"], f"rules: {r}")
        for body in ("{", '{"dir": 5}', '{"dir": "relative/path"}', '["/x"]', '{"dir":"/x"} junk'):
            code, _, out = g.curl("POST", "/api/v1/rules/publish", body=body)
            expect(code == 400, f"publish {body!r}: {code} {out}")
        # curl sends Expect: 100-continue with a body over 1 KB, then waits
        # a second unless the server says 100 Continue
        t0 = time.monotonic()
        code, _, out = g.curl("POST", "/api/v1/rules/publish",
                              body=json.dumps({"dir": "r" * 3000}))
        expect(code == 400 and time.monotonic() - t0 < 0.9, f"big body: {code}, "
               f"{time.monotonic() - t0:.2f} s")
        code, _, out = g.curl("POST", "/api/v1/rules/publish", body='{"dir": "/nonexistent"}')
        expect(code in (422, 503), f"publish of a missing dir: {code} {out}")
        for body in ('{"url": "http://127.0.0.1/b"}', '{"url": 3', '[1]'):
            code, _, out = g.curl("POST", "/api/v1/rules/fetch", body=body)
            expect(code == 400, f"fetch {body!r}: {code} {out}")
        code, _, out = g.curl("POST", "/api/v1/rules/fetch",
                              body=json.dumps({"url": f"https://127.0.0.1:{free_port()}/b"}))
        expect(code == (502 if s.get("rules_manager") else 503), f"fetch, nobody there: {code} {out}")
        expect(g.json("GET", "/api/v1/status")["rules_version"] == s["rules_version"],
               "a failed fetch changed the rules")
        if s.get("rules_manager"):
            newrules = tempfile.mkdtemp(prefix="mxgate-rules-")
            for n in os.listdir(RULES):
                shutil.copy(os.path.join(RULES, n), newrules)
            with open(os.path.join(newrules, "99-test.rules"), "a") as fp:
                fp.write('\nrule MGMT_TEST_TOKEN\n  scope body\n  regex /mgmt-api-publish-token/\n'
                         '  score 1\n  description "published through the API"\nend\n')
            code, _, out = g.curl("POST", "/api/v1/rules/publish",
                                  body=json.dumps({"dir": newrules}))
            shutil.rmtree(newrules, ignore_errors=True)
            if code == 200:
                v = json.loads(out)["version"]
                expect(g.json("GET", "/api/v1/status")["rules_version"] == v,
                       "published version not running")
                g.json("POST", "/api/v1/rules/rollback", body="")
                expect(g.json("GET", "/api/v1/status")["rules_version"] == s["rules_version"],
                       "rollback did not restore the first version")
            else:
                expect(code == 422, f"publish: {code} {out}")
        else:
            expect(g.curl("POST", "/api/v1/rules/rollback")[0] == 503, "rollback without manager")
        # quarantine: two messages in, one released, one deleted
        g.send(PHISH)
        g.send(PHISH, rcpts=("bob@example.net", "carol@example.net"))
        qids = g.quarantined()
        expect(len(qids) == 2, f"quarantined: {qids}")
        lst = g.json("GET", "/api/v1/quarantine")
        expect(sorted(m["qid"] for m in lst) == qids, f"list: {lst}")
        expect(len(g.json("GET", "/api/v1/quarantine?limit=1")) == 1, "limit=1")
        meta = g.json("GET", f"/api/v1/quarantine/{qids[0]}")
        expect(meta["qid"] == qids[0] and meta["action"] == "quarantine", f"meta: {meta}")
        code, head, raw = g.curl("GET", f"/api/v1/quarantine/{qids[0]}?raw=1", raw=True)
        expect(code == 200 and "message/rfc822" in head
               and raw == open(os.path.join(g.f.qdir, qids[0] + ".eml"), "rb").read(),
               f"raw: {code} {head}")
        expect(b"Dear customer" in raw, "raw message content")
        expect(g.curl("GET", f"/api/v1/quarantine/{qids[0]}?raw=2")[0] == 400, "raw=2")
        expect(g.curl("PUT", f"/api/v1/quarantine/{qids[0]}", body="{}")[0] == 405, "PUT")
        expect(g.curl("GET", f"/api/v1/quarantine/{qids[1]}/release")[0] == 405, "GET release")
        n_before = len(g.sink.msgs)
        rel = g.json("POST", f"/api/v1/quarantine/{qids[1]}/release", body="")
        expect(rel["released"] is True and rel["accepted"] == 2, f"release: {rel}")
        expect(len(g.sink.msgs) == n_before + 1, "released message did not reach the sink")
        mail, rcpt, data = g.sink.msgs[-1]
        expect(mail == "<alice@example.org>" and
               rcpt == ["<bob@example.net>", "<carol@example.net>"], f"envelope {mail} {rcpt}")
        expect(data.endswith(raw.split(b"\r\n\r\n", 1)[1]) and b"Dear customer" in data,
               "released bytes differ from the quarantined ones")
        expect(g.curl("GET", f"/api/v1/quarantine/{qids[1]}")[0] == 404, "released still listed")
        expect(g.curl("POST", f"/api/v1/quarantine/{qids[1]}/release")[0] == 404,
               "second release")
        g.json("DELETE", f"/api/v1/quarantine/{qids[0]}")
        expect(g.curl("DELETE", f"/api/v1/quarantine/{qids[0]}")[0] == 404, "second delete")
        expect(g.quarantined() == [], "quarantine not empty")
        # every mutating call was audited (no store: the daemon's log)
        err = g.stderr()
        for act in ("quarantine.release", "quarantine.delete"):
            expect(f"actor=test action={act}" in err, f"audit {act} missing: {err}")
        # release to a downstream that is down: 502, message kept
        g.send(PHISH)
        q3 = g.quarantined()[0]
        g.sink.close()
        code, _, out = g.curl("POST", f"/api/v1/quarantine/{q3}/release")
        expect(code == 502 and q3 in g.quarantined(), f"release, downstream down: {code} {out}")
    finally:
        g.destroy()


def tls_try(port, version):
    """openssl s_client with one protocol version; (handshake ok, output)."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-" + version,
            "-cipher", "DEFAULT:@SECLEVEL=0"]
    r = subprocess.run(args, input=b"", capture_output=True, timeout=30)
    out = (r.stdout + r.stderr).decode(errors="replace")
    return ("Cipher is (NONE)" not in out and r.returncode == 0
            and re.search(r"New, TLSv1\.[0-3], Cipher is", out) is not None), out


def test_tls():
    g = Gateway()
    try:
        ok, out = tls_try(g.mport, "tls1_1")
        expect(not ok, "TLS 1.1 was accepted:\n" + out)
        # the server's alert 70, not a client that would not even try
        expect("alert protocol version" in out, "TLS 1.1 refused for another reason:\n" + out)
        for v in ("tls1_2", "tls1_3"):
            ok, out = tls_try(g.mport, v)
            expect(ok, f"{v} refused:\n{out}")
        # plaintext HTTP is never answered in plaintext
        s = socket.create_connection(("127.0.0.1", g.mport), timeout=10)
        s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            got = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            got = b""
        s.close()
        expect(not got.startswith(b"HTTP/"), f"plaintext answered: {got[:80]!r}")
        expect(g.curl("GET", "/api/v1/status")[0] == 200, "still serving after junk")
        # the certificate: 0600, verifies for 127.0.0.1, made once and reused
        for n in ("mgmt-cert.pem", "mgmt-key.pem"):
            mode = stat.S_IMODE(os.stat(os.path.join(g.state, n)).st_mode)
            expect(mode == 0o600, f"{n} mode {oct(mode)}")
        ctx = ssl.create_default_context(cafile=g.cert)
        with socket.create_connection(("127.0.0.1", g.mport)) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                der = t.getpeercert(binary_form=True)
        before = hashlib.sha256(open(g.cert, "rb").read()).hexdigest()
        mtime = os.stat(g.cert).st_mtime_ns
        expect(hashlib.sha256(der).hexdigest() ==
               hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(g.cert).read())).hexdigest(),
               "served certificate is not the state dir's")
        g.restart()
        expect(hashlib.sha256(open(g.cert, "rb").read()).hexdigest() == before
               and os.stat(g.cert).st_mtime_ns == mtime, "certificate re-made at restart")
        expect("created a self-signed" not in g.stderr(), "second start made a certificate")
        expect(g.curl("GET", "/api/v1/status")[0] == 200, "after restart")
    finally:
        g.destroy()


def test_metrics():
    g = Gateway()
    try:
        g.send(CLEAN)
        g.send(PHISH)
        st, head, text = g.curl("GET", "/metrics")
        expect(st == 200 and "text/plain; version=0.0.4" in head, f"metrics: {st} {head}")
        types, s = parse_prometheus(text)
        for name, typ in (("mxgate_sessions_total", "counter"),
                          ("mxgate_messages_total", "counter"),
                          ("mxgate_connections", "gauge"),
                          ("mxgate_rx_bytes_total", "counter"),
                          ("mxgate_tx_bytes_total", "counter"),
                          ("mxgate_scan_duration_seconds", "histogram"),
                          ("mxgate_end_to_end_duration_seconds", "histogram"),
                          ("mxgate_relay_queue_depth", "gauge"),
                          ("mxgate_db_up", "gauge")):
            expect(types.get(name) == typ, f"{name}: type {types.get(name)}, want {typ}")

        def total(name, **want):
            return sum(v for (n, l), v in s.items()
                       if n == name and all((k, x) in l for k, x in want.items()))
        # socket mode has no frames: no family that would read 0 when busy
        for name in FRAME_FAMILIES + SFILTER_FAMILIES:
            expect(name not in types, f"{name} in socket mode without a sender filter")
        expect(total("mxgate_rx_bytes_total") >= len(CLEAN) + len(PHISH)
               and total("mxgate_tx_bytes_total") > 0, f"socket bytes\n{text}")
        # the harness's port probe is a session too
        expect(total("mxgate_sessions_total") >= 2, f"sessions_total\n{text}")
        expect(total("mxgate_messages_received_total") == 2, "messages_received_total")
        expect(total("mxgate_messages_total", action="quarantine") == 1, "quarantine count")
        expect(total("mxgate_messages_total", action="pass") == 1, "pass count")
        expect(total("mxgate_messages_delivered_total") == 2, "delivered")
        for h in ("mxgate_scan_duration_seconds", "mxgate_end_to_end_duration_seconds"):
            buckets = sorted(((float("inf") if dict(l)["le"] == "+Inf" else float(dict(l)["le"])), v)
                             for (n, l), v in s.items() if n == h + "_bucket")
            expect(len(buckets) >= 2 and all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])),
                   f"{h} buckets not cumulative: {buckets}")
            expect(buckets[-1][0] == float("inf") and buckets[-1][1] == s[(h + "_count", frozenset())]
                   == 2, f"{h}: +Inf bucket and count")
            expect(s[(h + "_sum", frozenset())] >= 0, f"{h}_sum")
        expect(s[("mxgate_db_up", frozenset())] == 0, "db_up without a store")
        expect(s[("mxgate_downstream_up", frozenset())] == 1, "downstream_up")
        st = g.json("GET", "/api/v1/status")
        expect(s.get(("mxgate_rules_info", frozenset({("version", st["rules_version"])}))) == 1,
               "mxgate_rules_info")
    finally:
        g.destroy()


class Client:
    """One SMTP connection from a chosen loopback source that counts the
    bytes it sends and reads (what the gateway's sockets saw)."""

    def __init__(self, port, src):
        self.sent = self.got = 0
        self.s = socket.socket()
        self.s.settimeout(10)
        self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", port))
        self.f = self.s.makefile("rb")

    def send(self, data):
        self.s.sendall(data)
        self.sent += len(data)

    def reply(self):
        """(code, text) of one reply, (None, '') at EOF."""
        text = []
        while True:
            line = self.f.readline()
            self.got += len(line)
            if not line:
                return None, ""
            text.append(line[4:].decode(errors="replace").strip())
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), " ".join(text)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.f.close()
        self.s.close()


def sfilter_scrape(g):
    """(types, samples, text) of /metrics, checked as Prometheus text."""
    st, _, text = g.curl("GET", "/metrics")
    expect(st == 200, f"/metrics: {st}")
    types, s = parse_prometheus(text)
    return types, s, text


def test_sfilter():
    tmp = tempfile.mkdtemp(prefix="mxgate-mgmt-sf-")
    block, rcpts, conf = (os.path.join(tmp, n) for n in ("block", "rcpts", "sfilter.conf"))
    open(block, "w").write("127.0.1.0/24\n")
    open(rcpts, "w").write("bob@example.net\n")
    open(conf, "w").write(f"block_list = {block}\nvalid_recipients = {rcpts}\n"
                          "pregreet_delay_ms = 300\npregreet_pass_s = 60\n")
    g = Gateway(extra=("--sender-filter", conf))
    try:
        # two blocked clients: 554 instead of the greeting (written as the
        # connection closes, outside any session: counted in tx bytes too)
        refused_got = 0
        for src in ("127.0.1.2", "127.0.1.3"):
            c = Client(g.smtp, src)
            code, text = c.reply()
            expect(code == 554, f"blocked {src} got {code} {text}")
            refused_got += c.got
            c.close()
        # a talker: speaks before the (held) greeting
        c = Client(g.smtp, "127.0.7.1")
        c.send(b"EHLO bot.example\r\n")
        code, text = c.reply()
        expect(code == 554 and "before the greeting" in text, f"pregreet: {code} {text}")
        refused_got += c.got
        c.close()
        # a patient client: one unknown recipient, one message; every byte
        # it sent was read by the session (QUIT answered)
        c = Client(g.smtp, "127.0.9.1")
        expect(c.reply()[0] == 220, "patient client not greeted")
        expect(c.cmd("EHLO client.example.org")[0] == 250, "EHLO")
        expect(c.cmd("MAIL FROM:<alice@example.org>")[0] == 250, "MAIL")
        code, text = c.cmd("RCPT TO:<nobody@example.net>")
        expect(code == 550 and text.startswith("5.1.1"), f"unknown rcpt: {code} {text}")
        expect(c.cmd("RCPT TO:<bob@example.net>")[0] == 250, "RCPT bob")
        expect(c.cmd("DATA")[0] == 354, "DATA")
        c.send(CLEAN.encode() + b".\r\n")
        expect(c.reply()[0] == 250, "message not accepted")
        expect(c.cmd("QUIT")[0] == 221, "QUIT")
        c.close()
        want = {"block": 2, "pregreet": 1, "rcpt_unknown": 1}
        end = time.time() + 5
        while True:
            types, s, text = sfilter_scrape(g)
            got = {r: metric_sum(s, "mxgate_sfilter_refusals_total", reason=r)
                   for r in SFILTER_REASONS}
            if all(got[r] == want.get(r, 0) for r in SFILTER_REASONS) or time.time() > end:
                break
            time.sleep(0.1)
        expect(all(got[r] == want.get(r, 0) for r in SFILTER_REASONS),
               f"refusals by reason {got}, want {want}\n{text}")
        for name in SFILTER_FAMILIES:
            expect(types.get(name) == "counter", f"{name}: type {types.get(name)}")
        expect(metric_sum(s, "mxgate_sfilter_held_total") >= 2, "held greetings\n" + text)
        # one sample per worker and reason, each labelled
        expect(len([k for k in s if k[0] == "mxgate_sfilter_refusals_total"])
               == 2 * len(SFILTER_REASONS), "refusal samples per core\n" + text)
        for name in FRAME_FAMILIES:
            expect(name not in types and not any(k[0] == name for k in s),
                   f"{name} exported in socket mode\n{text}")
        expect(metric_sum(s, "mxgate_rx_bytes_total") >= c.sent,
               f"rx bytes {metric_sum(s, 'mxgate_rx_bytes_total')} < {c.sent} sent")
        expect(metric_sum(s, "mxgate_tx_bytes_total") >= c.got + refused_got,
               f"tx bytes {metric_sum(s, 'mxgate_tx_bytes_total')} < {c.got} + {refused_got} read")
        st = g.json("GET", "/api/v1/stats")
        api = {r: sum(core["sfilter"]["refusals"][r] for core in st["cores"])
               for r in SFILTER_REASONS}
        expect(api == got, f"API refusals {api} != metrics {got}")
        for core in st["cores"]:
            for k in ("rx_packets", "tx_packets", "drops", "busy_cycles", "tx_bursts",
                      "control_wakeups"):
                expect(k not in core, f"API has {k} in socket mode: {core}")
            for k in ("allowed", "dnsbl_queries", "held", "events_lost", "limits_full",
                      "refusals_unlogged"):
                expect(k in core["sfilter"], f"API sfilter lacks {k}: {core}")
        expect(sum(core["rx_bytes"] for core in st["cores"]) >= c.sent, "API rx_bytes")
    finally:
        g.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def test_cli():
    g = Gateway()
    env = dict(os.environ, MXGATE_URL=g.url, MXGATE_STATE_DIR=g.state, MXGATE_TOKEN=g.token)

    def mx(*args, want=0, env_=None):
        r = subprocess.run([MXGATE, *args], capture_output=True, text=True, env=env_ or env,
                           timeout=60)
        if r.returncode != want:
            fail(f"mxgate {' '.join(args)}: exit {r.returncode}, want {want}:\n"
                 f"{r.stdout}{r.stderr}")
        return r.stdout + r.stderr
    try:
        out = mx("status")
        expect(re.search(r"daemon\s+mxgate-filter", out) and "rules" in out, out)
        js = json.loads(mx("status", "--json"))
        expect(js["workers"] == 2, f"status --json: {js}")
        g.send(PHISH)
        out = mx("quarantine", "list")
        qid = g.quarantined()[0]
        expect(qid in out and "quarantine" in out and "(1)" in out, out)
        expect(json.loads(mx("quarantine", "list", "--json"))[0]["qid"] == qid, "list --json")
        expect("Dear customer" in mx("quarantine", "show", qid, "--raw"), "show --raw")
        out = mx("quarantine", "release", qid)
        expect(f"released {qid}" in out, out)
        out = mx("quarantine", "delete", qid, want=1)
        expect("404" in out, out)
        out = mx("messages", "--sender", "alice@example.org", want=1)
        expect("503" in out and "PostgreSQL" in out, out)
        out = mx("status", env_=dict(env, MXGATE_TOKEN="nope"), want=1)
        expect("401" in out and "token" in out, out)
        out = mx("status", "--url", f"https://127.0.0.1:{free_port()}", want=2)
        expect("is the gateway running" in out, out)
        out = mx("status", "--cacert", "/etc/ssl/certs/ca-certificates.crt", want=2)
        expect("certificate" in out, out)
        mx("status", "--insecure", "--cacert", "/nonexistent")
    finally:
        g.destroy()


PGBIN = "/usr/lib/postgresql/15/bin"


class Postgres:
    """A throw-away cluster in TOP/pg (Unix socket only), run as postgres."""

    def __init__(self, top):
        self.data = os.path.join(top, "pg")
        self.conninfo = f"host={self.data} dbname=postgres user=mxgate"
        os.makedirs(self.data, mode=0o700)
        shutil.chown(self.data, "postgres", "postgres")
        self.run("initdb", "-D", self.data, "-U", "mxgate", "-A", "trust", "--no-locale",
                 "-E", "UTF8")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{self.data}'\n")
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.data, "log"), "-w", "start")

    def run(self, prog, *args):
        p = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, prog), *args],
                           capture_output=True, cwd="/")
        if p.returncode != 0:
            fail(f"{prog}: {p.stdout.decode()}{p.stderr.decode()}")

    def query(self, sql):
        p = subprocess.run(["psql", "-X", "-At", self.conninfo, "-c", sql], capture_output=True)
        if p.returncode != 0:
            fail(f"psql {sql}: {p.stderr.decode()}")
        return p.stdout.decode().strip()

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(PGBIN, "pg_ctl"), "-D",
                        self.data, "-m", "immediate", "-w", "stop"], capture_output=True, cwd="/")


def test_store():
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        print("skip: the throw-away PostgreSQL needs root (runuser -u postgres)")
        sys.exit(77)
    top = tempfile.mkdtemp(prefix="mxgate-mgmt-pg-")
    os.chmod(top, 0o755)
    pg = Postgres(top)
    g = None
    try:
        g = Gateway(extra=("--db", pg.conninfo, "--node", "mgmt"))
        s = g.json("GET", "/api/v1/status")
        expect(s["db"]["open"], f"status db: {s['db']}")
        g.send(CLEAN)
        g.send(PHISH, rcpts=("bob@example.net", "carol@example.net"))
        g.send(PHISH)
        end = time.time() + 15
        while time.time() < end and len(g.json("GET", "/api/v1/messages")) < 3:
            time.sleep(0.1)
        rows = g.json("GET", "/api/v1/messages")
        expect(len(rows) == 3, f"messages: {rows}")
        expect(g.json("GET", "/api/v1/status")["db"]["connected"], "db not connected")
        q = g.json("GET", "/api/v1/messages?action=quarantine&sender=alice%40example.org")
        expect(len(q) == 2 and all(r["action"] == "quarantine" for r in q), f"filtered: {q}")
        expect(len(g.json("GET", "/api/v1/messages?action=pass")) == 1, "action=pass")
        expect(len(g.json("GET", "/api/v1/messages?recipient=carol%40example.net")) == 1,
               "recipient filter")
        future = int(time.time() * 1000) + 3600 * 1000
        expect(g.json("GET", f"/api/v1/messages?since={future}") == [], "since in the future")
        expect(len(g.json("GET", "/api/v1/messages?until=2100-01-01T00:00:00Z&limit=2")) == 2,
               "until + limit")
        lst = g.json("GET", "/api/v1/quarantine")
        qids = sorted(m["qid"] for m in lst)
        expect(len(qids) == 2, f"quarantine list from the store: {lst}")
        expect(g.quarantined() == [], "quarantine went to the directory, not the store")
        expect(len(g.json("GET", "/api/v1/quarantine?recipient=carol%40example.net")) == 1,
               "quarantine filtered by recipient")
        expect(g.curl("GET", "/api/v1/quarantine?action=nope")[0] == 400, "quarantine ?action=nope")
        code, head, raw = g.curl("GET", f"/api/v1/quarantine/{qids[0]}?raw=1", raw=True)
        expect(code == 200 and b"Dear customer" in raw, f"raw from the store: {code}")
        two = [r["qid"] for r in q if len(r["recipients"]) == 2][0]
        rel = g.json("POST", f"/api/v1/quarantine/{two}/release", body="")
        expect(rel["accepted"] == 2 and len(g.sink.msgs) == 2, f"release: {rel}")
        other = [x for x in qids if x != two][0]
        g.json("DELETE", f"/api/v1/quarantine/{other}")
        expect(g.json("GET", "/api/v1/quarantine") == [], "quarantine not empty")
        expect(g.curl("GET", f"/api/v1/quarantine/{two}")[0] == 404, "released still there")
        audit = pg.query("SELECT actor || ' ' || action FROM audit_log ORDER BY 1")
        for want in ("test quarantine.release", "test quarantine.delete"):
            expect(want in audit, f"audit rows: {audit!r}")
        # a second gateway on the same database sees and releases the
        # first one's quarantine (through its own downstream)
        g2 = Gateway(extra=("--db", pg.conninfo, "--node", "mgmt2"))
        try:
            g.send(PHISH)
            end = time.time() + 10
            while time.time() < end and not g2.json("GET", "/api/v1/quarantine"):
                time.sleep(0.1)
            lst = g2.json("GET", "/api/v1/quarantine")
            expect(len(lst) == 1 and lst[0]["node"] == "mgmt", f"node 2 list: {lst}")
            g2.json("POST", f"/api/v1/quarantine/{lst[0]['qid']}/release", body="")
            expect(len(g2.sink.msgs) == 1 and b"Dear customer" in g2.sink.msgs[0][2],
                   "release from the other node did not reach its downstream")
            expect(g.json("GET", "/api/v1/quarantine") == [], "node 1 still lists it")
        finally:
            g2.destroy()
        types, samples = parse_prometheus(g.curl("GET", "/metrics")[2])
        expect(samples[("mxgate_db_up", frozenset())] == 1, "mxgate_db_up")
        expect(samples[("mxgate_db_rows_total", frozenset({("outcome", "logged")}))] >= 3,
               "db rows logged")
    finally:
        if g:
            g.destroy()
        pg.stop()
        shutil.rmtree(top, ignore_errors=True)


SCENARIOS = {"store": test_store, "auth": test_auth, "routes": test_routes, "tls": test_tls,
             "metrics": test_metrics, "cli": test_cli, "sfilter": test_sfilter}

if __name__ == "__main__":
    SCENARIOS[SCENARIO]()
    print("ok", SCENARIO)
