#!/usr/bin/python3
"""make_seeds.py - seed inputs for fuzz_frames (records: u16le len|0x8000, frame).

Run from this directory: writes arp, ping, syn, handshake-ish and
fragment seeds. Our side is 198.18.0.2 (MAC forced by the record flag).
"""
import struct
from scapy.all import ARP, ICMP, IP, TCP, Ether, Raw

PEER_MAC = "02:00:00:00:00:02"
US, PEER = "198.18.0.2", "198.18.0.1"


def rec(frames):
    out = b""
    for f in frames:
        b = bytes(f)
        out += struct.pack("<H", len(b) | 0x8000) + b
    return out


def eth():
    return Ether(src=PEER_MAC, dst="02:00:00:00:00:01")


seeds = {
    "arp_request": [Ether(src=PEER_MAC, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=PEER_MAC, psrc=PEER, pdst=US)],
    "ping": [eth() / IP(src=PEER, dst=US) / ICMP(id=1, seq=1) / Raw(b"x" * 32)],
    "syn_echo": [eth() / IP(src=PEER, dst=US) /
                 TCP(sport=40000, dport=7, flags="S", seq=1000,
                     options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)),
                              ("NOP", None), ("WScale", 7)])],
    "syn_ack_data": [eth() / IP(src=PEER, dst=US) / TCP(sport=40001, dport=7, flags="S", seq=5),
                     eth() / IP(src=PEER, dst=US) / TCP(sport=40001, dport=7, flags="A", seq=6, ack=1),
                     eth() / IP(src=PEER, dst=US) / TCP(sport=40001, dport=7, flags="PA", seq=6, ack=1) /
                     Raw(b"hello"),
                     eth() / IP(src=PEER, dst=US) / TCP(sport=40001, dport=7, flags="R", seq=20)],
    "syn_closed": [eth() / IP(src=PEER, dst=US) / TCP(sport=40002, dport=25, flags="S", seq=9)],
    "fragment": [eth() / IP(src=PEER, dst=US, flags="MF", frag=0) / Raw(b"y" * 24)],
    "offlink": [eth() / IP(src="203.0.113.9", dst=US) / ICMP(id=2, seq=2)],
}
for name, frames in seeds.items():
    with open(name, "wb") as fp:
        fp.write(rec(frames))
