#!/usr/bin/python3
"""probe.py - scapy probes against mxgate-dp, run in the client namespace.

  probe.py IFACE SERVER_IP SERVER_MAC CASE

CASE is one of:
  bad_ip_csum      IPv4 header checksum wrong: no answer
  bad_tcp_csum     SYN with a wrong TCP checksum: no answer
  closed_port      SYN to a port nobody listens on: RST|ACK, ack = seq + 1
  rst_challenge    in-window RST with inexact sequence: challenge ACK, the
                   connection survives; out-of-window RST: ignored
  syn_flood        a burst of SYNs from unreachable sources: SYN cookies
                   (checked by the caller's counters), and an established
                   connection keeps working during and after

Exit 0 when the stack behaved, 1 with a message otherwise. The counters
that show the drops are checked by probe_scapy.sh.
"""
import random
import socket
import sys
import time

from scapy.all import (IP, TCP, ICMP, Ether, AsyncSniffer, conf, sendp,  # noqa: E402
                       srp1)

conf.verb = 0
WAIT = 1.5


def die(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def eth(mac):
    return Ether(dst=mac)


def bad_ip_csum(iface, ip, mac):
    p = eth(mac) / IP(dst=ip, chksum=0x1234) / ICMP(id=77, seq=1)
    if srp1(p, iface=iface, timeout=WAIT) is not None:
        die("answer to an IPv4 header with a bad checksum")


def bad_tcp_csum(iface, ip, mac):
    p = eth(mac) / IP(dst=ip) / TCP(sport=41000, dport=7, flags="S", seq=1000, chksum=0xdead)
    if srp1(p, iface=iface, timeout=WAIT) is not None:
        die("answer to a SYN with a bad TCP checksum")


def closed_port(iface, ip, mac):
    p = eth(mac) / IP(dst=ip) / TCP(sport=41001, dport=9999, flags="S", seq=5000)
    r = srp1(p, iface=iface, timeout=WAIT)
    if r is None or TCP not in r:
        die("no answer to a SYN to a closed port")
    t = r[TCP]
    if not (t.flags & 0x04) or t.ack != 5001:
        die("closed port answered flags=%s ack=%d, want RST with ack 5001" % (t.flags, t.ack))


def connect_and_learn(iface, ip):
    """Kernel connection to echo; returns (socket, sport, rcv_nxt of server)."""
    sn = AsyncSniffer(iface=iface, filter="tcp and port 7", store=True)
    sn.start()
    time.sleep(0.3)
    s = socket.create_connection((ip, 7), timeout=5)
    s.sendall(b"hello\n")
    if s.recv(16) != b"hello\n":
        die("echo before the probe failed")
    time.sleep(0.3)
    pkts = sn.stop()
    sport = s.getsockname()[1]
    nxt = None
    for p in pkts:
        if TCP in p and p[IP].dst == ip and p[TCP].sport == sport:
            end = p[TCP].seq + len(p[TCP].payload) + (1 if p[TCP].flags & 0x03 else 0)
            nxt = end
    if nxt is None:
        die("did not see our own segments")
    return s, sport, nxt


def echo_ok(s, what):
    s.sendall(b"still there\n")
    got = b""
    while len(got) < 12:
        d = s.recv(64)
        if not d:
            die("connection closed after %s" % what)
        got += d
    if got != b"still there\n":
        die("bad echo after %s" % what)


def rst_challenge(iface, ip, mac):
    s, sport, nxt = connect_and_learn(iface, ip)
    src = s.getsockname()[0]
    flt = "tcp and src host %s and src port 7 and dst port %d" % (ip, sport)
    sn = AsyncSniffer(iface=iface, filter=flt, store=True)
    sn.start()
    time.sleep(0.3)
    sendp(eth(mac) / IP(src=src, dst=ip) / TCP(sport=sport, dport=7, flags="R",
                                               seq=(nxt + 100) & 0xffffffff), iface=iface)
    time.sleep(WAIT)
    pkts = sn.stop()
    acks = [p for p in pkts if TCP in p and p[TCP].flags & 0x10 and not p[TCP].flags & 0x04
            and p[TCP].ack == nxt]
    if not acks:
        die("no challenge ACK (ack %d) for an in-window RST" % nxt)
    echo_ok(s, "an in-window RST")
    sn = AsyncSniffer(iface=iface, filter=flt, store=True)
    sn.start()
    time.sleep(0.3)
    sendp(eth(mac) / IP(src=src, dst=ip) / TCP(sport=sport, dport=7, flags="R",
                                               seq=(nxt + (1 << 30)) & 0xffffffff), iface=iface)
    time.sleep(WAIT)
    pkts = sn.stop()
    if [p for p in pkts if TCP in p]:
        die("answer to an out-of-window RST: %s" % pkts[0].summary())
    echo_ok(s, "an out-of-window RST")
    s.close()


def syn_flood(iface, ip, mac, count=2000):
    s, sport, _ = connect_and_learn(iface, ip)
    # Sources in 198.19.0.0/16: off the server's prefix and it has no
    # gateway, so its SYN-ACKs go nowhere and nobody answers them with RST;
    # the half-open connections stay until the backlog is full.
    flood = [eth(mac) / IP(src="198.19.%d.%d" % (i >> 8 & 255, i & 255), dst=ip) /
             TCP(sport=random.randint(1024, 65535), dport=7, flags="S",
                 seq=random.getrandbits(32))
             for i in range(count)]
    sendp(flood, iface=iface)
    echo_ok(s, "a SYN flood")
    t = socket.create_connection((ip, 7), timeout=5)
    echo_ok(t, "a SYN flood (new connection)")
    t.close()
    s.close()


def main():
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    iface, ip, mac, case = sys.argv[1:]
    {"bad_ip_csum": bad_ip_csum, "bad_tcp_csum": bad_tcp_csum,
     "closed_port": closed_port, "rst_challenge": rst_challenge,
     "syn_flood": syn_flood}[case](iface, ip, mac)
    print("ok: " + case, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
