#!/usr/bin/python3
"""smtp_lat.py - per-transaction SMTP latency, one connection per message.

  smtp_lat.py SERVER PORT SIZE COUNT

Sends COUNT messages of SIZE bytes one after the other, each on a new
connection (as smtp-source does in bench/smtp_bench.sh), and times each
whole transaction: connect, greeting, EHLO, MAIL, RCPT, DATA, content,
the reply to the final dot, QUIT. Prints "p50_ms p99_ms failures". The
load is one message at a time, so this is latency without queueing; the
throughput figures come from smtp-source.
"""
import socket
import sys
import time

SERVER, PORT, SIZE, COUNT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
LINE = 78	# content line length, CRLF excluded


def body(size):
    head = b"From: <bench@example.org>\r\nTo: <sink@example.net>\r\nSubject: latency\r\n\r\n"
    line = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 3)[:LINE] + b"\r\n"
    n = max(0, size - len(head)) // len(line) + 1
    return head + line * n + b".\r\n"


def reply(f):
    while True:
        l = f.readline()
        if not l:
            raise OSError("connection closed")
        if l[3:4] != b"-":
            return int(l[:3])


def one(msg):
    t0 = time.perf_counter()
    s = socket.create_connection((SERVER, PORT), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    try:
        if reply(f) != 220:
            return None
        for cmd, want in ((b"EHLO lat.example.org\r\n", 250),
                          (b"MAIL FROM:<bench@example.org>\r\n", 250),
                          (b"RCPT TO:<sink@example.net>\r\n", 250), (b"DATA\r\n", 354)):
            s.sendall(cmd)
            if reply(f) != want:
                return None
        s.sendall(msg)
        if reply(f) != 250:
            return None
        s.sendall(b"QUIT\r\n")
        reply(f)
        return time.perf_counter() - t0
    finally:
        s.close()


def main():
    msg = body(SIZE)
    lat, bad = [], 0
    for _ in range(COUNT):
        try:
            t = one(msg)
        except OSError:
            t = None
        if t is None:
            bad += 1
        else:
            lat.append(t * 1000)
    lat.sort()
    if not lat:
        print("0 0", COUNT)
        return
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print(f"{p(0.50):.3f} {p(0.99):.3f} {bad}")


main()
