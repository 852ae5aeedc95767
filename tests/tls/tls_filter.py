#!/usr/bin/env python3
"""tls_filter.py - STARTTLS in socket mode (mxgate-filter), real clients.

Usage: tls_filter.py MXGATE_FILTER SOURCE_ROOT TEST_NAME

Certificates are made by the test with the openssl command in a temporary
directory (no key is committed): a valid EC P-256 self-signed one, a second
one for the reload test, and an expired one (openssl ca with fixed dates).
Everything runs on loopback; downstream is a private Postfix (mxtest.py)
where delivery matters, else a port nobody listens on.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from mxtest import Filter, PrivatePostfix, fail, free_port  # noqa: E402
sys.path.insert(0, HERE)
from tlslib import WORK, Client, make_cert, make_expired_cert, s_client, tls_args  # noqa: E402

FILTER, ROOT, NAME = sys.argv[1], sys.argv[2], sys.argv[3]
RULES = os.path.join(ROOT, "rules", "default")


def sink_port():
    """A downstream port where nothing listens: MAIL is never delivered."""
    return free_port()


def test_swaks_tls_delivers_with_esmtps_received():
    cert, key = make_cert("mx", "mx.test")
    down = free_port()
    pf = PrivatePostfix("tls-swaks", down)
    pf.start()
    f = Filter(FILTER, RULES, free_port(), down, threads=1, extra=tls_args(cert, key))
    try:
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{f.port}", "--tls",
                            "--from", "alice@example.org", "--to", "bob@example.net",
                            "--header", "Subject: swaks over TLS", "--helo", "client.example.org"],
                           capture_output=True, text=True, timeout=30)
        out = p.stdout
        if p.returncode != 0 or "TLS started with cipher TLSv1.3" not in out \
                or "<~  250 2.0.0 Ok: queued as" not in out:
            fail("swaks --tls: rc %d\n%s%s" % (p.returncode, out, p.stderr))
        msgs = pf.wait_messages(1)
        if len(msgs) != 1:
            fail("message not delivered:\n" + pf.log())
        m = msgs[0].decode(errors="replace")
        if not re.search(r"Received: from client\.example\.org \(127\.0\.0\.1\)\r?\n\tby "
                         r"mxgate-test\.example\.net \(mxgate\) with ESMTPS \(version=TLSv1\.3 "
                         r"cipher=TLS_[A-Z0-9_]+\)", m):
            fail("no Received header with ESMTPS and the cipher:\n" + m[:1500])
        log = f.log()
        if len(log) != 1 or log[0].get("tls", {}).get("version") != "TLSv1.3" \
                or not log[0]["tls"].get("cipher", "").startswith("TLS_"):
            fail("message log lacks tls version/cipher: %r" % log)
    finally:
        f.destroy()
        pf.destroy()


def test_openssl_s_client_tls12_and_tls13():
    cert, key = make_cert("mx", "mx.test")
    f = Filter(FILTER, RULES, free_port(), sink_port(), threads=1, extra=tls_args(cert, key))
    try:
        out = s_client(f.port, "-tls1_3")
        if not re.search(r"New, TLSv1\.3, Cipher is TLS_", out) or "CN = mx.test" not in out:
            fail("s_client -tls1_3:\n" + out)
        # after the handshake: a fresh EHLO answered without STARTTLS (s_client
        # prints only what it saw in TLS), a second STARTTLS refused
        if "250 CHUNKING" not in out or "250-STARTTLS" in out:
            fail("EHLO after the handshake:\n" + out)
        if "503 5.5.1 Error: TLS already active" not in out or "221 2.0.0 Bye" not in out:
            fail("second STARTTLS not refused with 503:\n" + out)
        out = s_client(f.port, "-tls1_2")
        if not re.search(r"New, TLSv1\.2, Cipher is ECDHE-", out):
            fail("s_client -tls1_2 (want TLSv1.2 with an ECDHE cipher):\n" + out)
        out = s_client(f.port, "-tls1_1")
        if re.search(r"New, TLSv1\.1, Cipher is [A-Z]", out):
            fail("TLS 1.1 accepted:\n" + out)
    finally:
        f.destroy()
    f = Filter(FILTER, RULES, free_port(), sink_port(), threads=1,
               extra=tls_args(cert, key, "--tls-min-version", "TLSv1.3"))
    try:
        out = s_client(f.port, "-tls1_2")
        if re.search(r"New, TLSv1\.2, Cipher is [A-Z]", out):
            fail("TLS 1.2 accepted with --tls-min-version TLSv1.3:\n" + out)
    finally:
        f.destroy()


def test_starttls_injection_is_discarded():
    cert, key = make_cert("mx", "mx.test")
    f = Filter(FILTER, RULES, free_port(), sink_port(), threads=1, extra=tls_args(cert, key))
    try:
        c = Client(f.port)
        if "STARTTLS" not in c.cmd("EHLO client.test"):
            fail("STARTTLS not advertised")
        # one write: the RSET was sent before the client could see our 220
        c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
        r = c.reply()
        if r != "220 2.0.0 Ready to start TLS":
            fail("STARTTLS reply: %r" % r)
        if not c.nothing_more():
            fail("plaintext after the 220: %r" % c.buf)
        c.starttls()
        if not c.nothing_more():
            fail("the injected commands were answered after the handshake: %r" % c.buf)
        r = c.cmd("MAIL FROM:<a@example.org>")
        if not r.startswith("503 5.5.1"):
            fail("MAIL after the handshake without EHLO: %r (want 503: state reset)" % r)
        r = c.cmd("EHLO client.test")
        if "STARTTLS" in r or "PIPELINING" not in r:
            fail("EHLO after TLS: %r" % r)
        c.close()
        # the same with the injection arriving as a separate segment after
        # STARTTLS: it reaches the TLS layer as garbage and the handshake fails
        c = Client(f.port)
        c.cmd("EHLO client.test")
        c.send(b"STARTTLS\r\n")
        c.send(b"RSET\r\n")
        r = c.reply()
        if r != "220 2.0.0 Ready to start TLS":
            fail("STARTTLS reply: %r" % r)
        try:
            c.starttls()
            if not c.nothing_more():
                fail("answer after injected bytes: %r" % c.buf)
        except (ssl.SSLError, OSError, EOFError):
            pass	# the injected bytes broke the handshake: closed cleanly
        c.close()
    finally:
        f.destroy()


def start_refused(extra):
    lp = free_port()
    p = subprocess.run([FILTER, "-l", f"127.0.0.1:{lp}", "-r", f"127.0.0.1:{sink_port()}",
                        "-R", RULES, "-t", "1", "-q", os.path.join(WORK, "q"),
                        "-L", os.path.join(WORK, "log"), *extra],
                       capture_output=True, text=True, timeout=20)
    return p.returncode, p.stderr


def test_bad_certificates_refused_at_start():
    cert, key = make_cert("mx", "mx.test")
    cert2, key2 = make_cert("other", "other.test")
    old, oldkey = make_expired_cert()
    junk = os.path.join(WORK, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    cases = [
        (tls_args(old, oldkey), f"tls_cert {old}: certificate expired on Jan  2 00:00:00 2020 GMT"),
        (tls_args(cert, key2), f"tls_key {key2}: key does not match the certificate in "
                               f"tls_cert {cert}"),
        (tls_args(os.path.join(WORK, "missing.crt"), key),
         f"tls_cert {WORK}/missing.crt: cannot read: No such file or directory"),
        (tls_args(junk, key), f"tls_cert {junk}: not a PEM certificate"),
        (tls_args(cert, junk), f"tls_key {junk}: not a PEM private key"),
        (("--tls-key", key), "--tls-key needs --tls-cert"),
    ]
    for extra, want in cases:
        rc, err = start_refused(extra)
        if rc != 2 or want not in err:
            fail(f"{extra}: rc {rc}, want 2 and {want!r}; stderr:\n{err}")
        if "listening" in err:
            fail(f"{extra}: started anyway:\n{err}")


def test_handshake_flood_keeps_sessions_served():
    cert, key = make_cert("mx", "mx.test")
    down = free_port()
    pf = PrivatePostfix("tls-flood", down)
    pf.start()
    f = Filter(FILTER, RULES, free_port(), down, threads=1,
               extra=tls_args(cert, key, "--tls-sessions", "8",
                              "--tls-handshake-timeout", "2"))
    try:
        est = Client(f.port)
        est.cmd("EHLO client.test")
        est.cmd("STARTTLS")
        est.starttls()
        est.cmd("EHLO client.test")
        refused = [0]
        stop = time.monotonic() + 4.0

        def flood(kind):
            while time.monotonic() < stop:
                try:
                    c = Client(f.port, timeout=5)
                    c.cmd("EHLO flood.test")
                    r = c.cmd("STARTTLS")
                    if r.startswith("454"):
                        refused[0] += 1
                    elif kind == 1:
                        c.send(os.urandom(300))	# garbage handshake
                        time.sleep(0.05)
                    elif kind == 2:
                        c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    elif kind == 3:
                        time.sleep(2.5)	# stall until the handshake timeout
                    c.close()
                except (OSError, EOFError):
                    pass

        threads = [threading.Thread(target=flood, args=(k % 4,)) for k in range(24)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        # the established session is served during the flood
        t0 = time.monotonic()
        r = est.message("during the flood")
        if not r.startswith("250 2.0.0"):
            fail("established TLS session not served during the flood: %r" % r)
        elapsed = time.monotonic() - t0
        # and a new TLS session can still complete (retrying a 454)
        ok = False
        for _ in range(50):
            c = Client(f.port)
            c.cmd("EHLO new.test")
            if c.cmd("STARTTLS").startswith("220"):
                c.starttls()
                ok = c.cmd("EHLO new.test").startswith("250")
                c.close()
                break
            c.close()
            time.sleep(0.1)
        for t in threads:
            t.join()
        if not ok:
            fail("no new TLS session during the flood")
        r = est.message("after the flood")
        if not r.startswith("250 2.0.0"):
            fail("established TLS session not served after the flood: %r" % r)
        est.cmd("QUIT")
        est.close()
        if len(pf.wait_messages(2)) != 2:
            fail("messages not delivered")
        print(f"flood: message answered in {elapsed:.3f}s during the flood; "
              f"{refused[0]} STARTTLS got 454 (pool of 8)")
    finally:
        rc = f.stop()
        f.err.seek(0)
        err = f.err.read()
        f.destroy()
        pf.destroy()
    m = re.search(r"tls worker 0: starttls (\d+) handshakes (\d+) failed (\d+) abandoned (\d+)"
                  r" no_slot (\d+)", err)
    if rc != 0 or not m:
        fail("no TLS counters at exit (rc %s):\n%s" % (rc, err))
    print(m.group(0))
    if int(m.group(3)) == 0 or int(m.group(4)) == 0:
        fail("failed and abandoned handshakes were not counted: " + m.group(0))


def test_postfix_tls_client_encrypt():
    cert, key = make_cert("mx", "mx.test")
    p1, p2, p3 = free_port(), free_port(), free_port()
    pf = PrivatePostfix("tls-client", p1, filter_port=p2, reinject_port=p3,
                        extra_main="smtp_tls_security_level = encrypt\nsmtp_tls_loglevel = 1\n")
    pf.start()
    f = Filter(FILTER, RULES, p2, p3, threads=1, extra=tls_args(cert, key))
    try:
        p = subprocess.run(["swaks", "--server", f"127.0.0.1:{p1}", "--from",
                            "alice@example.org", "--to", "bob@example.net", "--header",
                            "Subject: via postfix with TLS"], capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            fail("swaks to postfix: " + p.stdout + p.stderr)
        msgs = pf.wait_messages(1)
        if len(msgs) != 1:
            fail("not delivered through the TLS content filter:\n" + pf.log())
        if not re.search(r"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: "
                         r"TLSv1\.3" % p2, pf.log()):
            fail("Postfix did not use TLS to mxgate-filter:\n" + pf.log())
        m = msgs[0].decode(errors="replace")
        if "with ESMTPS (version=TLSv1.3" not in m:
            fail("no TLS Received header:\n" + m[:1500])
    finally:
        f.destroy()
        pf.destroy()


def peer_cn(port):
    out = s_client(port, stdin="QUIT\r\n")
    m = re.search(r"subject=CN = (\S+)", out)
    return m.group(1) if m else out


def test_sighup_reloads_certificate_keeps_sessions():
    cert, key = make_cert("a", "a.test")
    live_crt, live_key = os.path.join(WORK, "live.crt"), os.path.join(WORK, "live.key")
    shutil.copy(cert, live_crt)
    shutil.copy(key, live_key)
    down = free_port()
    pf = PrivatePostfix("tls-reload", down)
    pf.start()
    f = Filter(FILTER, RULES, free_port(), down, threads=2, extra=tls_args(live_crt, live_key))
    try:
        if peer_cn(f.port) != "a.test":
            fail("first certificate not served")
        est = Client(f.port)
        est.cmd("EHLO client.test")
        est.cmd("STARTTLS")
        est.starttls()
        est.cmd("EHLO client.test")
        cert2, key2 = make_cert("b", "b.test")
        shutil.copy(cert2, live_crt)
        shutil.copy(key2, live_key)
        f.proc.send_signal(signal.SIGHUP)
        time.sleep(0.8)
        cns = {peer_cn(f.port) for _ in range(4)}	# both threads
        if cns != {"b.test"}:
            fail("after SIGHUP: %r" % cns)
        r = est.message("kept across the reload")
        if not r.startswith("250 2.0.0"):
            fail("session opened before the reload broke: %r" % r)
        # a broken pair is refused and the running certificate stays
        shutil.copy(key, live_key)
        f.proc.send_signal(signal.SIGHUP)
        time.sleep(0.8)
        if peer_cn(f.port) != "b.test":
            fail("a refused reload changed the certificate")
        f.err.seek(0)
        err = f.err.read()
        if "TLS reloaded (generation 2)" not in err or "TLS reload refused, keeping the old " \
                f"certificate: tls_key {live_key}: key does not match" not in err:
            fail("reload messages:\n" + err)
        est.cmd("QUIT")
        est.close()
    finally:
        f.destroy()
        pf.destroy()


def test_required_tls_networks_get_530():
    cert, key = make_cert("mx", "mx.test")
    f = Filter(FILTER, RULES, free_port(), sink_port(), threads=1,
               extra=tls_args(cert, key, "--tls-require-nets", "198.18.0.0/15,127.0.0.0/8"))
    try:
        c = Client(f.port)
        c.cmd("EHLO client.test")
        r = c.cmd("MAIL FROM:<a@example.org>")
        if r != "530 5.7.0 Must issue a STARTTLS command first":
            fail("plaintext MAIL from a listed network: %r" % r)
        c.cmd("STARTTLS")
        c.starttls()
        c.cmd("EHLO client.test")
        r = c.cmd("MAIL FROM:<a@example.org>")
        if not r.startswith("250"):
            fail("MAIL after STARTTLS: %r" % r)
        c.close()
    finally:
        f.destroy()
    f = Filter(FILTER, RULES, free_port(), sink_port(), threads=1,
               extra=tls_args(cert, key, "--tls-require-nets", "198.18.0.0/15"))
    try:
        c = Client(f.port)
        c.cmd("EHLO client.test")
        r = c.cmd("MAIL FROM:<a@example.org>")
        if not r.startswith("250"):
            fail("plaintext MAIL from an unlisted network: %r" % r)
        c.close()
    finally:
        f.destroy()


def fake_downstream(port, seen):
    """One SMTP session that offers XFORWARD and records the commands."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)

    def run():
        c, _ = srv.accept()
        f = c.makefile("rwb")

        def say(x):
            f.write(x.encode() + b"\r\n")
            f.flush()
        say("220 fake ESMTP")
        data = False
        for line in f:
            cmd = line.decode(errors="replace").rstrip("\r\n")
            if data:
                if cmd == ".":
                    data = False
                    say("250 2.0.0 queued")
                continue
            seen.append(cmd)
            u = cmd.upper()
            if u.startswith("EHLO"):
                say("250-fake\r\n250-PIPELINING\r\n250-XFORWARD NAME ADDR PROTO HELO SOURCE PORT"
                    "\r\n250 8BITMIME")
            elif u.startswith("DATA"):
                say("354 go")
                data = True
            elif u.startswith("QUIT"):
                say("221 bye")
                break
            else:
                say("250 ok")
        c.close()
        srv.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_xforward_proto_is_esmtps_after_starttls():
    cert, key = make_cert("mx", "mx.test")
    down, seen = free_port(), []
    t = fake_downstream(down, seen)
    f = Filter(FILTER, RULES, free_port(), down, threads=1, extra=tls_args(cert, key))
    try:
        c = Client(f.port)
        c.cmd("EHLO client.test")
        c.cmd("STARTTLS")
        c.starttls()
        c.cmd("EHLO client.test")
        r = c.message("xforward")
        if not r.startswith("250 2.0.0"):
            fail("message: %r" % r)
        c.close()
        f.stop()
        t.join(5)
        xf = [x for x in seen if x.startswith("XFORWARD") and "PROTO=" in x]
        if not xf or "PROTO=ESMTPS" not in xf[0]:
            fail("downstream saw %r" % seen)
    finally:
        f.destroy()


def test_shutdown_tells_tls_sessions_421_encrypted():
    cert, key = make_cert("mx", "mx.test")
    f = Filter(FILTER, RULES, free_port(), sink_port(), threads=1, extra=tls_args(cert, key))
    try:
        c = Client(f.port)
        c.cmd("EHLO client.test")
        c.cmd("STARTTLS")
        c.starttls()
        c.cmd("EHLO client.test")
        f.proc.send_signal(signal.SIGTERM)
        r = c.reply()	# decrypted: a plaintext 421 would break the TLS record layer
        if not r.startswith("421 4.3.2"):
            fail("reply at shutdown: %r" % r)
        c.close()
    finally:
        f.destroy()


try:
    fn = globals().get("test_" + NAME)
    if fn is None:
        fail("unknown test " + NAME)
    fn()
    print("ok:", NAME)
finally:
    shutil.rmtree(WORK, ignore_errors=True)
