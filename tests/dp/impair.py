#!/usr/bin/python3
"""impair.py - a user-space netem: forward Ethernet frames between two
interfaces with loss, duplication, reordering and delay.

  impair.py IF_A IF_B [loss=P] [dup=P] [reorder=P] [delay=MS] [seed=N]

Runs in a middle namespace between the client and mxgate-dp (the test
kernels here have no sch_netem). Every frame read on one interface is
written to the other after `delay` ms; with probability `loss` it is
dropped, with `dup` it is sent twice, with `reorder` it is held back an
extra 2*delay+5 ms so that later frames overtake it. Impairments apply
to both directions. SIGTERM ends it.
"""
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    a, b = sys.argv[1], sys.argv[2]
    opt = {"loss": 0.0, "dup": 0.0, "reorder": 0.0, "delay": 0.0, "seed": 1}
    for kv in sys.argv[3:]:
        k, v = kv.split("=")
        opt[k] = float(v)
    rnd = random.Random(int(opt["seed"]))
    delay = opt["delay"] / 1000.0
    socks = {}
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        s.setblocking(False)
        socks[name] = s
    other = {socks[a].fileno(): socks[b], socks[b].fileno(): socks[a]}
    byfd = {socks[a].fileno(): socks[a], socks[b].fileno(): socks[b]}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    heap = []
    seq = 0
    poller = select.poll()
    for s in socks.values():
        poller.register(s, select.POLLIN)
    print("impair: ready", flush=True)
    while not stop:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, out, frame = heapq.heappop(heap)
            try:
                out.send(frame)
            except OSError:
                pass            # full: that is loss too
        timeout = 50 if not heap else max(0, (heap[0][0] - now) * 1000)
        for fd, _ in poller.poll(timeout):
            s = byfd[fd]
            for _ in range(64):
                try:
                    frame, addr = s.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                if rnd.random() < opt["loss"]:
                    continue
                copies = 2 if rnd.random() < opt["dup"] else 1
                t = time.monotonic() + delay
                if rnd.random() < opt["reorder"]:
                    t += 2 * delay + 0.005
                for _ in range(copies):
                    seq += 1
                    heapq.heappush(heap, (t, seq, other[fd], frame))
    return 0


if __name__ == "__main__":
    sys.exit(main())
