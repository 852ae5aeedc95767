"""sftest.py - pieces of the sender-filter end-to-end tests (stdlib only).

Sink          a downstream MTA on loopback that takes every message (250).
DnsServer     an authoritative DNS server on loopback for test zones:
              {"2.0.0.127.bl.test": ["127.0.0.2"], ...}; answers NXDOMAIN
              otherwise; mute=True never answers (a dead resolver).
Daemon        mxgate-filter with a sender-filter file, or mxgate-dp.
talk()        one SMTP conversation from a chosen source address, the
              replies collected as (code, text) tuples.
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, host="127.0.0.1", timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Sink:
    """Downstream MTA: 250 to everything, counts messages."""

    def __init__(self):
        self.port = free_port()
        self.messages = 0
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", self.port))
        self.ls.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        data = False
        try:
            for line in f:
                if data:
                    if line in (b".\r\n", b".\n"):
                        data = False
                        with self.lock:
                            self.messages += 1
                        c.sendall(b"250 2.0.0 queued\r\n")
                    continue
                verb = line[:4].upper()
                if verb in (b"EHLO", b"LHLO"):
                    c.sendall(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    data = True
                    c.sendall(b"354 go\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    break
                else:
                    c.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            pass
        c.close()

    def close(self):
        self.ls.close()


class DnsServer:
    """A-record answers for the names given; NXDOMAIN for the rest."""

    def __init__(self, records=None, mute=False, ttl=300):
        self.records = {k.lower(): v for k, v in (records or {}).items()}
        self.mute = mute
        self.ttl = ttl
        self.queries = 0
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.port = self.s.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                q, peer = self.s.recvfrom(512)
            except OSError:
                return
            self.queries += 1
            if self.mute or len(q) < 17:
                continue
            qid = q[:2]
            pos, labels = 12, []
            while q[pos]:
                n = q[pos]
                labels.append(q[pos + 1:pos + 1 + n].decode())
                pos += 1 + n
            qend = pos + 5
            name = ".".join(labels).lower()
            answers = self.records.get(name, [])
            flags = 0x8180 if answers else 0x8183
            hdr = qid + struct.pack(">HHHHH", flags, 1, len(answers), 0, 0)
            body = q[12:qend]
            for a in answers:
                body += struct.pack(">HHHIH", 0xc00c, 1, 1, self.ttl, 4)
                body += socket.inet_aton(a)
            self.s.sendto(hdr + body, peer)

    def close(self):
        self.s.close()


def reverse(ip, zone):
    return ".".join(reversed(ip.split("."))) + "." + zone


class Conversation:
    """A client connection from src; read() returns (code, text)."""

    def __init__(self, port, src="127.0.0.1", host="127.0.0.1", timeout=10):
        self.s = socket.socket()
        self.s.settimeout(timeout)
        self.s.bind((src, 0))
        self.s.connect((host, port))
        self.f = self.s.makefile("rb")

    def read(self):
        text = []
        while True:
            line = self.f.readline()
            if not line:
                return (None, "closed")
            line = line.decode(errors="replace").rstrip("\r\n")
            text.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return (int(line[:3]), " ".join(text))

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.read()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def talk(port, src, rcpts=("bob@example.net",), sender="alice@example.org",
         body="Subject: test\r\n\r\nhello\r\n", host="127.0.0.1"):
    """A whole transaction; returns the list of (stage, code, text)."""
    out = []
    c = Conversation(port, src, host)
    try:
        code, text = c.read()
        out.append(("greet", code, text))
        if code != 220:
            return out
        out.append(("ehlo",) + c.cmd("EHLO client.example.org"))
        out.append(("mail",) + c.cmd("MAIL FROM:<%s>" % sender))
        if out[-1][1] != 250:
            c.cmd("QUIT")
            return out
        ok = 0
        for r in rcpts:
            out.append(("rcpt",) + c.cmd("RCPT TO:<%s>" % r))
            ok += out[-1][1] == 250
        if ok:
            out.append(("data",) + c.cmd("DATA"))
            c.s.sendall(body.encode() + b".\r\n")
            out.append(("end",) + c.read())
        c.cmd("QUIT")
    finally:
        c.close()
    return out


def codes(conv):
    return [(stage, code) for stage, code, _ in conv]


class Filter:
    """mxgate-filter on 127.0.0.1 with a sender-filter file."""

    def __init__(self, exe, srcdir, tmp, conf_text, sink_port, threads=2):
        self.port = free_port()
        self.conf = os.path.join(tmp, "sfilter.conf")
        self.log = os.path.join(tmp, "filter.log")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.err = open(os.path.join(tmp, "filter.err"), "w")
        self.p = subprocess.Popen(
            [exe, "--listen", "0.0.0.0:%d" % self.port,
             "--relay", "127.0.0.1:%d" % sink_port,
             "--rules", os.path.join(srcdir, "rules", "default"),
             "--quarantine", os.path.join(tmp, "q"), "--log", self.log,
             "--threads", str(threads), "--sender-filter", self.conf],
            stdout=self.err, stderr=self.err)
        if not wait_port(self.port):
            self.stop()
            fail("mxgate-filter did not start: " + open(self.err.name).read())

    def log_lines(self):
        try:
            return open(self.log).read().splitlines()
        except OSError:
            return []

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.err.flush()
        err = open(self.err.name).read()
        ours = any(w in err for w in ("sfilter", "dnsbl", "profiler", "dns.c"))
        if ("ERROR: AddressSanitizer" in err or "runtime error:" in err
                or ("ERROR: LeakSanitizer" in err and ours)):
            print(err[-4000:])
            fail("sanitizer report from mxgate-filter")
