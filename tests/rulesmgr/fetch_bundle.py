"""fetch_bundle.py - signed rule bundles over HTTPS into a running gateway.

usage: fetch_bundle.py MXGATE MXGATE-FILTER

A local HTTPS server on loopback (python3 http.server + ssl, certificate
from a CA made here) serves bundles made with `mxgate rules sign`. The
gateway (mxgate-filter) fetches on request (`mxgate rules fetch --pidfile`)
and on its schedule (--rules-bundle-interval). Pins:
  * a good bundle is verified and published: its new rule refuses mail;
  * a bad signature, a truncated download, an unreachable server and a
    server whose certificate the CA did not sign each leave the running
    version in force, and the reason is reported (CLI exit 1, daemon log);
  * the scheduled fetch publishes a new bundle without being asked.
"""
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import mxtest  # noqa: E402
from swap_load import Smtp, message, write_rules, Sink, sanitizer_trouble  # noqa: E402


def sh(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def make_pki(d):
    """CA, a server certificate for 127.0.0.1 signed by it, a rogue CA's
    certificate for the same address, and the Ed25519 signing key."""
    cnf = os.path.join(d, "san.cnf")
    with open(cnf, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for ca in ("ca", "rogue"):
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
           "-nodes", "-keyout", f"{d}/{ca}.key", "-out", f"{d}/{ca}.pem", "-days", "2",
           "-subj", f"/CN=test {ca}", check=True)
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", f"{d}/{ca}-srv.key", "-out", f"{d}/{ca}-srv.csr", "-subj", "/CN=127.0.0.1",
           check=True)
        sh("openssl", "x509", "-req", "-in", f"{d}/{ca}-srv.csr", "-CA", f"{d}/{ca}.pem",
           "-CAkey", f"{d}/{ca}.key", "-CAcreateserial", "-out", f"{d}/{ca}-srv.pem",
           "-days", "2", "-extfile", cnf, check=True)
    sh("openssl", "genpkey", "-algorithm", "ed25519", "-out", f"{d}/sign.key", check=True)
    sh("openssl", "pkey", "-in", f"{d}/sign.key", "-pubout", "-out", f"{d}/sign.pub", check=True)


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith("/trunc.bundle") and not self.path.endswith(".sig"):
            body = open(os.path.join(self.directory, "good.bundle"), "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        return super().do_GET()


def serve(d, certfile, keyfile):
    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: Handler(*a, directory=d, **k))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    mxgate, filt = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="mxgate-fetch-")
    bad = []
    f = None
    servers = []
    sink = Sink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    try:
        make_pki(tmp)
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        for n in (1, 2, 3):
            write_rules(os.path.join(tmp, f"r{n}"), n)
        for name, n in (("good", 1), ("next", 2), ("other", 3)):
            r = sh(mxgate, "rules", "sign", os.path.join(tmp, f"r{n}"), "-k",
                   f"{tmp}/sign.key", "-o", os.path.join(www, f"{name}.bundle"))
            if r.returncode != 0:
                mxtest.fail("mxgate rules sign: " + r.stderr)
        # bad signature: good's archive with other's signature
        shutil.copy(os.path.join(www, "good.bundle"), os.path.join(www, "badsig.bundle"))
        shutil.copy(os.path.join(www, "other.bundle.sig"), os.path.join(www, "badsig.bundle.sig"))
        shutil.copy(os.path.join(www, "good.bundle.sig"), os.path.join(www, "trunc.bundle.sig"))
        srv = serve(www, f"{tmp}/ca-srv.pem", f"{tmp}/ca-srv.key")
        rogue = serve(www, f"{tmp}/rogue-srv.pem", f"{tmp}/rogue-srv.key")
        servers = [srv, rogue]
        base = f"https://127.0.0.1:{srv.server_address[1]}"
        rogue_base = f"https://127.0.0.1:{rogue.server_address[1]}"
        dead = mxtest.free_port()

        write_rules(os.path.join(tmp, "r0"), 0)
        state, pidfile = os.path.join(tmp, "state"), os.path.join(tmp, "pid")
        port = mxtest.free_port()
        f = mxtest.Filter(filt, os.path.join(tmp, "r0"), port, sink.server_address[1],
                          threads=2, extra=("--mgmt-listen", "off", "--state-dir", state, "--pidfile", pidfile,
                                            "--rules-bundle-url", base + "/good.bundle",
                                            "--rules-bundle-ca", f"{tmp}/ca.pem",
                                            "--rules-bundle-key", f"{tmp}/sign.pub"))

        def fetch(url=None):
            args = [mxgate, "rules", "fetch"] + ([url] if url else []) + [
                "--pidfile", pidfile, "--state-dir", state]
            return sh(*args, timeout=60)

        def running():
            return open(os.path.join(state, "rules", "history")).read().split("\n")[-2].split()[1]

        def refused(token):
            c = Smtp("127.0.0.1", port)
            code = c.send_msg(message("<probe@test>", f"has {token} here"))
            c.quit()
            return code == 550

        v0 = running()
        r = fetch()
        if r.returncode != 0 or "running" not in r.stdout:
            bad.append(f"good bundle: exit {r.returncode} {r.stdout} {r.stderr}")
        v1 = running()
        if v1 == v0 or not refused("SWAP-1-"):
            bad.append("good bundle: not running after the fetch")
        cases = [("bad signature", base + "/badsig.bundle", "bad signature"),
                 ("truncated download", base + "/trunc.bundle", "truncated"),
                 ("unreachable server", f"https://127.0.0.1:{dead}/good.bundle", "connect"),
                 ("certificate of another CA", rogue_base + "/next.bundle", "certificate"),
                 ("missing bundle", base + "/none.bundle", "404")]
        for what, url, why in cases:
            r = fetch(url)
            if r.returncode != 1 or why not in r.stderr:
                bad.append(f"{what}: exit {r.returncode}, said {r.stderr.strip()!r}, want {why!r}")
            if running() != v1 or not refused("SWAP-1-") or refused("SWAP-2-"):
                bad.append(f"{what}: the running rules changed")
        f.err.seek(0)
        log = f.err.read()
        for why in ("bad signature", "truncated", "connect to"):
            if f"fetch https" not in log or why not in log:
                bad.append(f"daemon log does not report {why!r}")
        f.stop()

        # scheduled: a daemon fetching every second publishes next.bundle
        f.destroy()
        f = mxtest.Filter(filt, os.path.join(tmp, "r0"), port, sink.server_address[1],
                          threads=1, extra=("--mgmt-listen", "off", "--state-dir", state, "--pidfile", pidfile,
                                            "--rules-bundle-url", base + "/next.bundle",
                                            "--rules-bundle-ca", f"{tmp}/ca.pem",
                                            "--rules-bundle-key", f"{tmp}/sign.pub",
                                            "--rules-bundle-interval", "1"))
        end = time.monotonic() + 10
        while time.monotonic() < end and not refused("SWAP-2-"):
            time.sleep(0.2)
        if not refused("SWAP-2-"):
            bad.append("scheduled fetch: next.bundle not running after 10 s")
        f.stop()
        f.err.seek(0)
        if sanitizer_trouble(f.err.read()):
            bad.append("the sanitizer reported a problem in mxgate-filter")
        if bad:
            f.err.seek(0)
            print(f.err.read()[-3000:])
            for b in bad:
                print("FAIL:", b)
            return 1
        print("PASS")
        return 0
    finally:
        if f:
            f.destroy()
        for s in servers:
            s.shutdown()
        sink.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
