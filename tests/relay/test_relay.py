#!/usr/bin/env python3
"""test_relay.py - the relay against a real Postfix smtp-sink on loopback.

Usage: test_relay.py RELAY_SEND_BINARY TEST_NAME

Each test starts its own smtp-sink (Postfix's test SMTP server) on a free
loopback port with the options that make it behave as the case needs, runs
relay_send, and checks what the client was told and what the server got.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from mxtest import fail, free_port, wait_port  # noqa: E402

RELAY_SEND, NAME = sys.argv[1], sys.argv[2]
SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


class Sink:
    """An smtp-sink that dumps each transaction into a private directory."""

    def __init__(self, *opts):
        self.dir = tempfile.mkdtemp(prefix="mxgate-sink-")
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        args = [SINK]
        if os.geteuid() == 0:
            args += ["-u", "postfix"]
        args += ["-d", os.path.join(self.dir, "%M."), *opts, f"127.0.0.1:{self.port}", "100"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not wait_port(self.port, timeout=5):
            fail("smtp-sink did not start: " + self.proc.stderr.read().decode(errors="replace"))

    def dumps(self):
        out = []
        for f in sorted(os.listdir(self.dir)):
            out.append(open(os.path.join(self.dir, f), "rb").read())
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


def relay(port, files, rcpts=("bob@example.net",), conns=2, timeout=60, extra=(),
          name="client.example.org", helo="helo.example.org"):
    args = [RELAY_SEND, "-p", str(port), "-c", str(conns), "-f", "alice@example.org",
            "-x", "198.18.0.2", "-n", name, "-H", helo, *extra]
    for r in rcpts:
        args += ["-r", r]
    p = subprocess.run(args + list(files), capture_output=True, timeout=timeout)
    res = [json.loads(l) for l in p.stdout.decode().splitlines()]
    if len(res) != len(files):
        fail(f"{len(files)} messages submitted, {len(res)} results: {p.stderr.decode()}")
    return p.returncode, res


def message_file(d, name, body):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(body)
    return path


MSG = (b"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: relay test\r\n\r\n"
       b".a line that starts with a dot\r\n..and one with two\r\n.\r\nnot the end\r\n"
       b"last line without CRLF")


def body_of(dump):
    """What the sink received after our prepended header. smtp-sink dumps
    with LF line ends, the dot-stuffing removed and one empty line after
    each message."""
    i = dump.index(b"X-Mxgate: relayed\n")
    if not dump.endswith(b"\n\n"):
        fail("dump does not end with the sink's separator line")
    return dump[i + len(b"X-Mxgate: relayed\n"):-1]


def test_delivers_byte_exact_with_dots():
    sink = Sink()
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f], rcpts=("bob@example.net", "carol@example.net"))
        if rc != 0 or res[0]["code"] != 250 or res[0]["rcpt_codes"] != [250, 250]:
            fail(f"not delivered: {res}")
        dumps = sink.dumps()
        if len(dumps) != 1:
            fail(f"{len(dumps)} transactions at the sink, want 1")
        got = body_of(dumps[0])
        want = MSG.replace(b"\r\n", b"\n") + b"\n"  # the relay ends the last line
        if got != want:
            fail(f"body changed in transit:\nwant {want!r}\ngot  {got!r}")
        if b"X-Rcpt-Args: <carol@example.net>" not in dumps[0]:
            fail("second recipient missing")
    finally:
        sink.stop()


def test_downstream_down_gives_local_451():
    port = free_port()      # nobody listens here
    with tempfile.TemporaryDirectory() as d:
        f = message_file(d, "m.eml", MSG)
        rc, res = relay(port, [f, f])
    for r in res:
        if r["code"] != 451 or not r["local"] or r["stage"] != "connect" \
                or not r["text"].startswith("4.4.1"):
            fail(f"want a local 451 4.4.1 at connect, got {r}")


def test_refused_recipients_pass_the_downstream_reply():
    sink = Sink("-f", "RCPT")
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f], rcpts=("a@example.net", "b@example.net"))
        r = res[0]
        if r["code"] // 100 != 5 or r["local"] or r["stage"] not in ("DATA", "RCPT TO") \
                or any(c // 100 != 5 for c in r["rcpt_codes"]):
            fail(f"want the downstream's 5xx for the recipients, got {r}")
        if sink.dumps():
            fail("a message reached the sink although every recipient was refused")
    finally:
        sink.stop()


def test_soft_refusal_of_data_is_4xx():
    sink = Sink("-r", "DATA")
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f])
        r = res[0]
        if r["code"] // 100 != 4 or r["local"] or rc == 0:
            fail(f"want the downstream's 4xx, got {r}")
    finally:
        sink.stop()


def test_without_pipelining():
    sink = Sink("-p")
    try:
        with tempfile.TemporaryDirectory() as d:
            files = [message_file(d, f"m{i}.eml", MSG) for i in range(5)]
            rc, res = relay(sink.port, files, rcpts=("a@example.net", "b@example.net"), conns=1)
        if rc != 0 or any(r["code"] != 250 for r in res):
            fail(f"not all delivered without PIPELINING: {res}")
        if len(sink.dumps()) != 5:
            fail(f"{len(sink.dumps())} transactions at the sink, want 5")
    finally:
        sink.stop()


def test_disconnect_at_end_of_data_is_not_success():
    sink = Sink("-q", ".")
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f])
        r = res[0]
        if r["code"] != 451 or not r["local"] or r["stage"] != "end of data":
            fail(f"a lost connection at '.' must be a local 451, got {r}")
    finally:
        sink.stop()


def test_many_messages_reuse_connections():
    sink = Sink("-c")
    try:
        with tempfile.TemporaryDirectory() as d:
            files = [message_file(d, f"m{i}.eml", MSG + f"\r\nmessage {i}\r\n".encode())
                     for i in range(200)]
            t0 = time.monotonic()
            rc, res = relay(sink.port, files, conns=4)
            secs = time.monotonic() - t0
        if rc != 0 or any(r["code"] != 250 for r in res):
            fail("not every message delivered")
        dumps = sink.dumps()
        if len(dumps) != 200:
            fail(f"{len(dumps)} transactions at the sink, want 200")
        bodies = sorted(body_of(x) for x in dumps)
        if len(set(bodies)) != 200:
            fail("duplicate or lost messages")
        print(f"200 messages over 4 connections in {secs:.2f}s")
    finally:
        sink.stop()


class ChunkSink:
    """A minimal ESMTP server offering PIPELINING and CHUNKING (smtp-sink
    offers no CHUNKING): records each transaction's verb (DATA or BDAT),
    BDAT arguments and raw message bytes; refuse_rcpt answers RCPT 550.
    With xforward (the attribute names to announce, as Postfix's smtpd
    does after "XFORWARD") it takes XFORWARD and keeps, per transaction,
    the XFORWARD command lines that came before its MAIL (smtp-sink
    takes XFORWARD but does not dump it). Replies to pipelined commands
    leave together, as Postfix's do."""

    def __init__(self, refuse_rcpt=False, xforward=None):
        import socket
        import threading
        self.refuse_rcpt = refuse_rcpt
        self.xforward = xforward
        self.xf_txns = []
        self.txns = []
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        import threading
        while not self.stopping:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        buf = b""
        out = []
        rcpts = 0
        xf_lines = []

        def reply(text):
            out.append(text)

        def more():
            # like Postfix's smtpd: replies wait while pipelined input is
            # pending and leave together before the server blocks
            nonlocal buf
            if out:
                conn.sendall(b"".join(out))
                out.clear()
            data = conn.recv(65536)
            if not data:
                raise EOFError
            buf += data

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                more()
            ln, buf = buf.split(b"\r\n", 1)
            return ln

        def take(n):
            nonlocal buf
            while len(buf) < n:
                more()
            out, buf = buf[:n], buf[n:]
            return out

        try:
            reply(b"220 chunk-sink ESMTP\r\n")
            while True:
                cmd = line()
                verb = cmd.split(b" ", 1)[0].upper()
                if verb == b"EHLO":
                    xf = f"250-XFORWARD {self.xforward}\r\n".encode() if self.xforward else b""
                    reply(b"250-chunk-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                          + xf + b"250 CHUNKING\r\n")
                elif verb == b"XFORWARD" and self.xforward:
                    xf_lines.append(cmd.decode())
                    reply(b"250 2.0.0 Ok\r\n")
                elif verb == b"MAIL":
                    rcpts = 0
                    self.xf_txns.append(xf_lines)
                    xf_lines = []
                    reply(b"250 2.1.0 Ok\r\n")
                elif verb == b"RCPT":
                    if self.refuse_rcpt:
                        reply(b"550 5.1.1 no such user\r\n")
                    else:
                        rcpts += 1
                        reply(b"250 2.1.5 Ok\r\n")
                elif verb == b"BDAT":
                    args = cmd.split()
                    data = take(int(args[1]))
                    self.txns.append(("BDAT", cmd.decode(), data))
                    if rcpts == 0:
                        reply(b"554 5.5.1 no valid recipients\r\n")
                    else:
                        reply(b"250 2.0.0 Ok: queued\r\n")
                elif verb == b"DATA":
                    self.txns.append(("DATA", cmd.decode(), b""))
                    reply(b"503 5.5.1 this sink wants BDAT\r\n")
                elif verb == b"RSET":
                    reply(b"250 2.0.0 Ok\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"".join(out) + b"221 2.0.0 Bye\r\n")
                    break
                else:
                    reply(b"250 Ok\r\n")
        except (EOFError, OSError):
            pass
        conn.close()

    def stop(self):
        self.stopping = True
        self.srv.close()


def test_chunking_sends_bdat_with_the_message_as_is():
    sink = ChunkSink()
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f], rcpts=("bob@example.net", "carol@example.net"))
        if rc != 0 or res[0]["code"] != 250 or res[0]["rcpt_codes"] != [250, 250]:
            fail(f"not delivered: {res}")
        if len(sink.txns) != 1 or sink.txns[0][0] != "BDAT":
            fail(f"want one BDAT transaction, got {sink.txns}")
        verb, cmd, data = sink.txns[0]
        if cmd != f"BDAT {len(data)} LAST":
            fail(f"BDAT line {cmd!r} for {len(data)} bytes")
        # no dot-stuffing, no end-of-data line; the last line gets its CRLF
        if not data.endswith(MSG + b"\r\n"):
            fail(f"message changed in transit: {data[-120:]!r}")
    finally:
        sink.stop()


def test_chunking_refused_recipients_pass_the_downstream_reply():
    sink = ChunkSink(refuse_rcpt=True)
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f, f], rcpts=("a@example.net",), conns=1)
        for r in res:
            if r["code"] != 550 or r["local"] or r["rcpt_codes"] != [550]:
                fail(f"want the downstream's 550 for the recipient, got {r}")
    finally:
        sink.stop()


def test_chunking_many_messages_on_one_connection():
    # up to ~280 KB each: bodies larger than the output buffer (RELAY_OUT_MAX)
    sink = ChunkSink()
    try:
        with tempfile.TemporaryDirectory() as d:
            files = [message_file(d, f"m{i}.eml", MSG + f"\r\nmessage {i}".encode() * (i * 400))
                     for i in range(60)]
            rc, res = relay(sink.port, files, conns=1)
        if rc != 0 or any(r["code"] != 250 for r in res):
            fail(f"not every message delivered: {[r for r in res if r['code'] != 250][:2]}")
        if len(sink.txns) != 60 or any(t[0] != "BDAT" for t in sink.txns):
            fail(f"{len(sink.txns)} transactions, want 60 BDAT")
        for verb, cmd, data in sink.txns:
            if int(cmd.split()[1]) != len(data):
                fail(f"{cmd} carried {len(data)} bytes")
    finally:
        sink.stop()

XF_ALL = "NAME ADDR PORT PROTO HELO IDENT SOURCE"    # what Postfix's smtpd announces


def xtext_decode(v):
    """RFC 3461 xtext to bytes."""
    out, i = b"", 0
    while i < len(v):
        if v[i] == "+":
            out += bytes([int(v[i + 1:i + 3], 16)])
            i += 3
        else:
            out += v[i].encode()
            i += 1
    return out


def xforward_attrs(lines):
    """The attributes of one transaction's XFORWARD lines (name -> xtext),
    failing on what Postfix's smtpd would refuse: a command over 512 bytes
    with its CRLF, a value over 255, an attribute given twice."""
    attrs = {}
    for l in lines:
        if len(l) + 2 > 512:
            fail(f"XFORWARD line of {len(l) + 2} bytes: {l[:80]}...")
        for tok in l.split(" ")[1:]:
            k, v = tok.split("=", 1)
            if k in attrs:
                fail(f"{k} sent twice: {lines}")
            if len(v) > 255:
                fail(f"{k} value of {len(v)} bytes")
            attrs[k] = v
    return attrs


def xforward_of(extra=(), announce=XF_ALL, **kw):
    """Relay one message to a ChunkSink that announces `announce`; the
    XFORWARD attributes (name -> xtext) and lines its transaction got."""
    sink = ChunkSink(xforward=announce)
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f], extra=extra, **kw)
        if rc != 0 or res[0]["code"] != 250:
            fail(f"not delivered: {res}")
        if len(sink.xf_txns) != 1:
            fail(f"{len(sink.xf_txns)} transactions at the sink, want 1")
        lines = sink.xf_txns[0]
    finally:
        sink.stop()
    return xforward_attrs(lines), lines


def test_xforward_source_local_is_passed_through():
    attrs, lines = xforward_of(("-S", "LOCAL", "-I", "4Xq1Zk2ABCz", "-Q", "mx0000001"))
    if attrs.get("SOURCE") != "LOCAL":
        fail(f"the up-stream's SOURCE=LOCAL was not passed on: {lines}")
    if len(lines) != 1:
        fail(f"short values in one XFORWARD line, got {lines}")
    for want in ("ADDR", "NAME", "PORT", "PROTO", "HELO"):
        if want not in attrs:
            fail(f"{want} missing: {lines}")


def test_xforward_source_is_remote_by_default():
    for extra in ((), ("-S", "REMOTE"), ("-S", "")):
        attrs, lines = xforward_of(extra)
        if attrs.get("SOURCE") != "REMOTE":
            fail(f"with {extra}: want SOURCE=REMOTE, got {lines}")


def test_xforward_ident_is_the_upstream_queue_id():
    attrs, lines = xforward_of(("-I", "4Xq1Zk2ABCz", "-Q", "mx0000001"))
    if attrs.get("IDENT") != "4Xq1Zk2ABCz":
        fail(f"want the up-stream's queue id as IDENT, got {lines}")


def test_xforward_ident_is_our_qid_without_upstream():
    for extra in (("-Q", "mx0000001"), ("-I", "", "-Q", "mx0000001"),
                  ("-I", "[UNAVAILABLE]", "-Q", "mx0000001")):
        attrs, lines = xforward_of(extra)
        if attrs.get("IDENT") != "mx0000001":
            fail(f"with {extra}: want our qid as IDENT, got {lines}")
    attrs, lines = xforward_of(())
    if "IDENT" in attrs:
        fail(f"IDENT without any queue id: {lines}")


def test_xforward_no_ident_or_source_when_not_announced():
    attrs, lines = xforward_of(("-S", "LOCAL", "-I", "4Xq1Zk2ABCz", "-Q", "mx0000001"),
                               announce="NAME ADDR PORT PROTO HELO SOURCE")
    if "IDENT" in attrs or attrs.get("SOURCE") != "LOCAL" or len(lines) != 1:
        fail(f"IDENT not announced: want SOURCE only, in one line, got {lines}")
    attrs, lines = xforward_of(("-S", "LOCAL", "-I", "4Xq1Zk2ABCz"), announce="NAME ADDR")
    if sorted(attrs) != ["ADDR", "NAME"] or len(lines) != 1:
        fail(f"only NAME and ADDR announced, want them in one line, got {lines}")


def test_xforward_values_are_xtext_encoded():
    odd = "q+1=2 \u00e9\t"
    attrs, lines = xforward_of(("-I", odd, "-Q", "mx0000001"), helo="odd helo+")
    if attrs.get("IDENT") != "q+2B1+3D2+20+C3+A9+09":
        fail(f"IDENT not xtext: {lines}")
    if xtext_decode(attrs["IDENT"]) != odd.encode():
        fail("IDENT does not decode to the up-stream's value")
    if attrs.get("HELO") != "odd+20helo+2B":
        fail(f"HELO not xtext: {lines}")


def test_xforward_long_values_split_within_postfix_limits():
    name, helo, ident = "n" * 300 + ".example", "h" * 300, "a" + "+" * 200
    attrs, lines = xforward_of(("-S", "LOCAL", "-I", ident, "-Q", "mx0000001"),
                               name=name, helo=helo)
    if len(lines) < 3:
        fail(f"three long values in {len(lines)} lines")
    if sorted(attrs) != sorted(XF_ALL.split()):
        fail(f"attributes lost: {sorted(attrs)}")
    # cut at 255 bytes as sent, never inside a +XX
    if attrs["NAME"] != "n" * 255 or attrs["HELO"] != "h" * 255:
        fail("long NAME/HELO not cut at 255 bytes")
    if attrs["IDENT"] != "a" + "+2B" * 84:
        fail(f"long IDENT: {attrs['IDENT'][:40]}... ({len(attrs['IDENT'])} bytes)")


def test_xforward_long_values_without_pipelining():
    # smtp-sink announces XFORWARD; without PIPELINING each XFORWARD line
    # waits for its reply before the next
    sink = Sink("-p")
    try:
        with tempfile.TemporaryDirectory() as d:
            f = message_file(d, "m.eml", MSG)
            rc, res = relay(sink.port, [f, f], conns=1, name="n" * 300, helo="h" * 300,
                            extra=("-S", "LOCAL", "-I", "+" * 200, "-Q", "mx0000001"))
        if rc != 0 or any(r["code"] != 250 for r in res):
            fail(f"not delivered: {res}")
        if len(sink.dumps()) != 2:
            fail(f"{len(sink.dumps())} transactions at the sink, want 2")
    finally:
        sink.stop()


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}
if NAME not in TESTS:
    fail(f"unknown test {NAME}; known: {', '.join(TESTS)}")
TESTS[NAME]()
print("ok")
