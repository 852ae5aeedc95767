#!/usr/bin/python3
"""dpclient.py - Linux-side client for the live mxgate-dp tests.

  ping ADDR COUNT [SIZE]          ICMP echo over a raw socket; all must answer
  echo ADDR PORT BYTES [CONNS]    stream BYTES (random) through the echo
                                  service on CONNS parallel connections,
                                  check SHA-256 of what comes back
  concurrent ADDR PORT N          hold N connections open at once, one
                                  round trip on each, then close all
  sequential ADDR PORT N          N connect / round trip / close in a row
  discard ADDR PORT BYTES CONNS SECS  throughput to a discard service (bench)

Exit 0 on success, 1 with a message on the first failure. Every socket
operation has a timeout, so a broken stack fails the test instead of
hanging it.
"""
import hashlib
import os
import selectors
import socket
import struct
import sys
import threading
import time

TIMEOUT = float(os.environ.get("DPCLIENT_STALL_S", "30"))  # no progress for this long fails
CHUNK = 65536


def die(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def icmp_sum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def do_ping(addr, count, size=56):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2.0)
    ident = os.getpid() & 0xFFFF
    for seq in range(count):
        payload = os.urandom(size)
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, icmp_sum(hdr + payload), ident, seq) + payload
        s.sendto(pkt, (addr, 0))
        deadline = time.time() + 2.0
        while True:
            if time.time() > deadline:
                die("no echo reply for seq %d" % seq)
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                die("no echo reply for seq %d" % seq)
            ihl = (data[0] & 15) * 4
            t, code, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if t == 0 and rid == ident and rseq == seq:
                if data[ihl + 8:] != payload:
                    die("echo reply payload differs for seq %d" % seq)
                if icmp_sum(data[ihl:]) != 0:
                    die("echo reply checksum bad for seq %d" % seq)
                break
        time.sleep(0.05)
    print("ping: %d/%d answered" % (count, count))


def echo_one(addr, port, nbytes, result, idx):
    """Send nbytes of random data, read them back, compare digests."""
    try:
        s = socket.create_connection((addr, port), timeout=TIMEOUT)
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        seed = hashlib.sha256(b"%d" % idx).digest()
        block = (seed * (CHUNK // len(seed) + 1))[:CHUNK]
        block = bytes(os.urandom(CHUNK))
        hs, hr = hashlib.sha256(), hashlib.sha256()
        sent = recvd = 0
        last = time.time()
        while recvd < nbytes:
            if time.time() - last > TIMEOUT:
                raise RuntimeError("stalled at sent %d received %d" % (sent, recvd))
            for key, ev in sel.select(timeout=1.0):
                if ev & selectors.EVENT_WRITE and sent < nbytes:
                    n = min(CHUNK, nbytes - sent)
                    off = sent % CHUNK
                    chunk = (block[off:] + block[:off])[:n]
                    k = s.send(chunk)
                    hs.update(chunk[:k])
                    sent += k
                    last = time.time()
                    if sent == nbytes:
                        s.shutdown(socket.SHUT_WR)
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    d = s.recv(CHUNK * 4)
                    if not d:
                        raise RuntimeError("EOF after %d of %d bytes" % (recvd, nbytes))
                    hr.update(d)
                    recvd += len(d)
                    last = time.time()
        s.setblocking(True)
        s.settimeout(TIMEOUT)
        if s.recv(1) != b"":
            raise RuntimeError("data after the echoed bytes")
        s.close()
        if hs.digest() != hr.digest():
            raise RuntimeError("SHA-256 differs")
        result[idx] = None
    except Exception as e:  # noqa: BLE001 - reported as a test failure
        result[idx] = "%s: %s" % (type(e).__name__, e)


def do_echo(addr, port, nbytes, conns=1):
    per = nbytes // conns
    result = [0] * conns
    t0 = time.time()
    threads = [threading.Thread(target=echo_one, args=(addr, port, per, result, i))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.time() - t0
    for i, r in enumerate(result):
        if r is not None:
            die("connection %d: %s" % (i, r))
    print("echo: %d bytes on %d connections byte-exact in %.2f s (%.1f Mbit/s each way)"
          % (per * conns, conns, dt, per * conns * 8 / dt / 1e6), flush=True)


def do_concurrent(addr, port, n):
    socks = []
    for i in range(n):
        try:
            s = socket.create_connection((addr, port), timeout=TIMEOUT)
        except OSError as e:
            die("connect %d of %d: %s" % (i, n, e))
        socks.append(s)
    for i, s in enumerate(socks):
        s.sendall(b"hello %d\n" % i)
    for i, s in enumerate(socks):
        want = b"hello %d\n" % i
        got = b""
        while len(got) < len(want):
            d = s.recv(64)
            if not d:
                die("connection %d closed early" % i)
            got += d
        if got != want:
            die("connection %d echoed %r" % (i, got))
    for s in socks:
        s.close()
    print("concurrent: %d connections open at once, all echoed" % n)


def do_sequential(addr, port, n):
    t0 = time.time()
    for i in range(n):
        try:
            s = socket.create_connection((addr, port), timeout=TIMEOUT)
            s.sendall(b"x")
            if s.recv(1) != b"x":
                die("connection %d: bad echo" % i)
            s.shutdown(socket.SHUT_WR)
            if s.recv(1) != b"":
                die("connection %d: no FIN" % i)
            s.close()
        except OSError as e:
            die("connection %d of %d: %s" % (i, n, e))
    dt = time.time() - t0
    print("sequential: %d connections in %.2f s (%.0f/s)" % (n, dt, n / dt))


def discard_one(addr, port, secs, out, idx):
    s = socket.create_connection((addr, port), timeout=TIMEOUT)
    buf = b"\0" * CHUNK
    n = 0
    end = time.time() + secs
    while time.time() < end:
        n += s.send(buf)
    s.close()
    out[idx] = n


def do_discard(addr, port, conns, secs):
    out = [0] * conns
    threads = [threading.Thread(target=discard_one, args=(addr, port, secs, out, i))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(out)
    print("discard: %d bytes in %.1f s = %.1f Mbit/s" % (total, secs, total * 8 / secs / 1e6))


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    cmd, addr = argv[1], argv[2]
    a = [int(x) for x in argv[3:]]
    if cmd == "ping":
        do_ping(addr, *a)
    elif cmd == "echo":
        do_echo(addr, *a)
    elif cmd == "concurrent":
        do_concurrent(addr, *a)
    elif cmd == "sequential":
        do_sequential(addr, *a)
    elif cmd == "discard":
        do_discard(addr, *a)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
