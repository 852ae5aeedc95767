#!/usr/bin/python3
"""smtp_live.py - mxgate-dp's SMTP path end to end, run in the client namespace.

Usage (from live_smtp.sh, inside the client namespace):
  smtp_live.py SERVER_NS SERVER_IP PORT MSGLOG SOURCE_ROOT [TEST...]

  client ns: smtplib / swaks / smtp-source ──veth──▶ mxgate-dp (af_packet,
  server ns) ─ control thread ─▶ private Postfix 127.0.0.1:10026 in the
  server ns ─▶ Maildir (read here through the file system)

Each check is a function named like the behaviour it pins; the first
failure exits 1 with what went wrong.
"""
import json
import os
import socket
import subprocess
import sys
import time

ROOT = sys.argv[5]
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from mxtest import PrivatePostfix, fail, smtp_send, strip_added  # noqa: E402

NS_S, SERVER, PORT, MSGLOG = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
RELAY_PORT = 10026
EICAR = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def message(subject, body, extra_headers=""):
    return (f"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\n"
            f"Subject: {subject}\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{abs(hash(subject + body)) % 10**12}@example.org>\r\n"
            f"{extra_headers}\r\n{body}").encode()


def send(msg, rcpts=("bob@example.net",), helo="client.example.org"):
    """One message through mxgate-dp; (code, text) of the reply to DATA."""
    return smtp_send(SERVER, PORT, msg, rcpts, helo)


def swaks(*args):
    """swaks to mxgate-dp; (exit status, the server's reply to the DATA end)."""
    p = subprocess.run(["swaks", "--server", SERVER, "--port", str(PORT), "--from",
                        "alice@example.org", "--to", "bob@example.net",
                        "--helo", "client.example.org", *args],
                       capture_output=True, timeout=60, text=True)
    replies = [l[4:].strip() for l in p.stdout.splitlines() if l.startswith(("<-  ", "<** "))]
    # greeting, EHLO..., MAIL, RCPT, 354, end of data, QUIT: the one before QUIT's 221
    final = [r for r in replies if r[:3] not in ("220", "221", "354") and
             not r.startswith("250-") and not r.startswith("250 2.1.")]
    return p.returncode, final[-1] if final else p.stdout[-500:]


def log_lines():
    try:
        return [json.loads(l) for l in open(MSGLOG) if l.startswith("{")]
    except OSError:
        return []


def wait_count(pf, n, timeout=30.0):
    got = pf.wait_messages(n, timeout=timeout)
    return len(got)


def test_clean_mail_arrives_byte_identical(pf):
    body = "Hello Bob,\r\n.a line with a leading dot\r\n\r\nsee you\r\n"
    msg = message("quarterly numbers", body)
    code, text = send(msg)
    if code != 250 or "queued as" not in text:
        fail(f"clean mail: {code} {text}")
    got = pf.wait_messages(1)
    if len(got) != 1:
        fail(f"{len(got)} messages in the mailbox, want 1\n{pf.log()[-2000:]}")
    want = msg.replace(b"\r\n", b"\n")
    if strip_added(got[0]) != want:
        fail(f"message changed:\nwant {want!r}\ngot  {strip_added(got[0])!r}")
    if b"X-Mxgate: mxgate-dp.example.net; action=pass" not in got[0]:
        fail("our X-Mxgate header is missing:\n" + got[0].decode(errors="replace")[:800])
    if "orig_client=unknown[198.18.0.1]" not in pf.log():
        fail("Postfix did not log XFORWARD's orig_client:\n" + pf.log()[-2000:])
    rc, reply = swaks("--header", "Subject: swaks clean", "--body", "just a note\n")
    if rc != 0 or not reply.startswith("250"):
        fail(f"swaks clean: exit {rc}, {reply}")
    if wait_count(pf, 2) != 2:
        fail("the swaks message did not arrive")
    log = [l for l in log_lines() if l["action"] == "pass"]
    if len(log) != 2 or not log[0]["downstream"].startswith("250"):
        fail(f"log lines: {log}")


def test_eicar_and_gtube_get_5xx_at_data(pf):
    before = len(pf.messages())
    path = "/tmp/mxdp-eicar-%d.com" % os.getpid()
    with open(path, "w") as f:
        f.write(EICAR)
    try:
        rc, reply = swaks("--header", "Subject: eicar", "--attach-type",
                          "application/octet-stream", "--attach", "@" + path,
                          "--body", "see attachment")
    finally:
        os.unlink(path)
    if not reply.startswith("550") or "5.7.1" not in reply:
        fail(f"EICAR by swaks: exit {rc}, {reply}")
    rc, reply = swaks("--header", "Subject: gtube", "--body", GTUBE + "\n")
    if not reply.startswith("550") or "5.7.1" not in reply:
        fail(f"GTUBE by swaks: exit {rc}, {reply}")
    time.sleep(1)
    if len(pf.messages()) != before:
        fail("refused mail reached the mailbox")
    acts = [l["action"] for l in log_lines()][-2:]
    if acts != ["reject", "reject"]:
        fail(f"log actions {acts}")


def test_downstream_down_gives_4xx_then_retry_arrives_once(pf):
    before = len(pf.messages())
    pf.stop()
    msg = message("retry me", "this one must arrive once\r\n")
    code, text = send(msg)
    if code // 100 != 4 or "4.4." not in text:
        pf.start()
        fail(f"downstream down: want 451 4.4.x, got {code} {text}")
    pf.start()
    code, text = send(msg)
    if code != 250:
        fail(f"after restart: {code} {text}")
    pf.wait_messages(before + 1)
    time.sleep(1)
    got = pf.messages()
    copies = [g for g in got if strip_added(g) == msg.replace(b"\r\n", b"\n")]
    if len(got) != before + 1 or len(copies) != 1:
        fail(f"{len(copies)} copies arrived, want exactly 1")


def test_client_gone_mid_data_relays_nothing(pf):
    before, nlog = len(pf.messages()), len(log_lines())
    s = socket.create_connection((SERVER, PORT), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO client.example.org\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    s.sendall(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
    for _ in range(3):
        f.readline()
    s.sendall(b"Subject: half\r\n\r\nthis message never ends\r\n" * 50)
    time.sleep(0.3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()	# RST: gone for good
    time.sleep(2)
    if len(pf.messages()) != before:
        fail("a message from a client that vanished mid-DATA was delivered")
    if len(log_lines()) != nlog:
        fail(f"a log line for an unfinished message: {log_lines()[nlog:]}")
    code, _ = send(message("still alive", "after the vanished client\r\n"))
    if code != 250:
        fail(f"mxgate-dp after a vanished client: {code}")
    pf.wait_messages(before + 1)


def test_500_messages_from_smtp_source_all_arrive(pf):
    before = len(pf.messages())
    n = 500
    t0 = time.monotonic()
    p = subprocess.run(["smtp-source", "-c", "-l", "2048", "-m", str(n), "-s", "10",
                        "-f", "alice@example.org", "-t", "bob@example.net",
                        f"{SERVER}:{PORT}"], capture_output=True, timeout=240)
    dt = time.monotonic() - t0
    if p.returncode != 0:
        fail(f"smtp-source: {p.stderr.decode(errors='replace')[-1000:]}")
    got = wait_count(pf, before + n, timeout=120)
    if got != before + n:
        fail(f"{got - before} of {n} messages arrived")
    print(f"smtp-source: {n} messages of 2 KB in 10 sessions: {dt:.2f} s, {n / dt:.0f} msg/s")


def test_full_chunk_pool_gives_451_not_a_drop(pf):
    """Run against mxgate-dp started with a 1 MB chunk pool (msg_chunks 64)."""
    before = len(pf.messages())
    big = message("too big for the pool", ("x" * 998 + "\r\n") * 2100)
    code, text = send(big)
    if code != 451 or "4.3.0" not in text:
        fail(f"2 MB message with a 1 MB chunk pool: want 451 4.3.0, got {code} {text}")
    small = message("fits", "the chunks of the big one came back\r\n")
    code, text = send(small)
    if code != 250:
        fail(f"small message after the pool ran dry: {code} {text}")
    if pf.wait_messages(before + 1) and len(pf.messages()) != before + 1:
        fail(f"{len(pf.messages()) - before} messages arrived, want only the small one")


TESTS = [test_clean_mail_arrives_byte_identical, test_eicar_and_gtube_get_5xx_at_data,
         test_downstream_down_gives_4xx_then_retry_arrives_once,
         test_client_gone_mid_data_relays_nothing,
         test_500_messages_from_smtp_source_all_arrive]


ALL = TESTS + [test_full_chunk_pool_gives_451_not_a_drop]


def main():
    pf = PrivatePostfix("dpsmtp", RELAY_PORT, netns=NS_S)
    try:
        pf.start()
        only = sys.argv[6:]
        for t in ALL if only else TESTS:
            if only and t.__name__[5:] not in only:
                continue
            t0 = time.monotonic()
            t(pf)
            print(f"ok {t.__name__} ({time.monotonic() - t0:.1f} s)", flush=True)
    finally:
        pf.destroy()


main()
