"""tlslib.py - shared pieces of the STARTTLS tests (tls_filter.py, tls_dp.py).

make_cert(), make_expired_cert()  certificates made with the openssl command
                                  in WORK (a temporary directory)
Client                            a line-oriented SMTP client that can
                                  switch to TLS (Python's ssl) mid-stream
s_client()                        openssl s_client -starttls smtp
"""
import os
import socket
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from mxtest import fail  # noqa: E402

WORK = tempfile.mkdtemp(prefix="mxgate-tls-")


def openssl(*args):
    p = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=WORK)
    if p.returncode != 0:
        fail("openssl " + " ".join(args) + ": " + p.stderr)
    return p.stdout


def make_cert(name, cn):
    """A self-signed EC certificate valid for two days: NAME.crt, NAME.key."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
            "-subj", f"/CN={cn}")
    return os.path.join(WORK, f"{name}.crt"), os.path.join(WORK, f"{name}.key")


def make_expired_cert():
    """Valid only on 1 January 2020: openssl ca with explicit dates."""
    with open(os.path.join(WORK, "ca.cnf"), "w") as f:
        f.write("[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\n"
                "serial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n")
    open(os.path.join(WORK, "index.txt"), "w").close()
    with open(os.path.join(WORK, "serial"), "w") as f:
        f.write("01\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "old.key", "-out", "old.csr", "-subj", "/CN=old.test")
    openssl("ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "old.key",
            "-in", "old.csr", "-out", "old.crt", "-startdate", "20200101000000Z",
            "-enddate", "20200102000000Z")
    return os.path.join(WORK, "old.crt"), os.path.join(WORK, "old.key")


def tls_args(cert, key, *more):
    return ("--tls-cert", cert, "--tls-key", key, *more)


class Client:
    """A line-oriented SMTP client that can switch to TLS mid-stream."""

    def __init__(self, port, timeout=10.0, host="127.0.0.1"):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One whole reply (multi-line included) as text."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("closed; got " + repr(b"".join(lines) + self.buf))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"\r\n".join(lines).decode()

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def nothing_more(self, wait=0.5):
        """True when the server sends nothing within wait seconds."""
        if self.buf:
            return False
        self.s.settimeout(wait)
        try:
            data = self.s.recv(4096)
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        finally:
            self.s.settimeout(10.0)
        self.buf += data
        return False

    def starttls(self, version=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if version:
            ctx.minimum_version = ctx.maximum_version = version
        self.s = ctx.wrap_socket(self.s, server_hostname="mx.test")
        return self.s

    def message(self, subject):
        r = self.cmd("MAIL FROM:<alice@example.org>")
        if not r.startswith("250"):
            return r
        r = self.cmd("RCPT TO:<bob@example.net>")
        if not r.startswith("250"):
            return r
        r = self.cmd("DATA")
        if not r.startswith("354"):
            return r
        self.send(f"From: alice@example.org\r\nTo: bob@example.net\r\nSubject: {subject}\r\n"
                  f"\r\nhello over TLS\r\n.\r\n")
        return self.reply()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def s_client(port, *opts, stdin="EHLO client.test\r\nSTARTTLS\r\nQUIT\r\n", host="127.0.0.1"):
    p = subprocess.run(["openssl", "s_client", "-connect", f"{host}:{port}",
                        "-starttls", "smtp", "-crlf", "-ign_eof", *opts],
                       input=stdin.replace("\r\n", "\n"), capture_output=True, text=True,
                       timeout=20)
    return p.stdout + p.stderr
