"""live_client.py SERVER - clients from several source addresses against
mxgate-dp (run in the client namespace); prints PASS or FAIL lines."""
import errno
import os
import socket
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sftest import Conversation, codes, fail, talk  # noqa: E402

server = sys.argv[1]
port = 25

# block list with block_action = rst: the SYN is answered with RST
try:
    Conversation(port, "198.18.0.10", server, timeout=3).read()
    fail("blocked 198.18.0.10 was let in")
except OSError as e:
    if e.errno != errno.ECONNREFUSED:
        fail("blocked 198.18.0.10: expected a reset, got %r" % e)
print("ok: block list at SYN: RST")

# allowlisted inside the blocked /29
c = talk(port, "198.18.0.11", host=server)
if codes(c)[-1] != ("end", 250):
    fail("allowlisted 198.18.0.11 inside a blocked prefix: %r" % c)
print("ok: allowlist wins over the block list")

# concurrent connections per address: the second one gets 421
a = Conversation(port, "198.18.0.20", server)
if a.read()[0] != 220:
    fail("first connection of 198.18.0.20 not greeted")
b = Conversation(port, "198.18.0.20", server)
code, text = b.read()
if code != 421 or not text.startswith("4.7.0"):
    fail("second connection of 198.18.0.20: %r %r" % (code, text))
b.close()
a.cmd("QUIT")
a.close()
print("ok: concurrent connections per address: 421 4.7.0")

# DNSBL: listed address refused at MAIL, others pass
c = talk(port, "198.18.0.21", host=server)
if ("mail", 550) not in codes(c):
    fail("listed 198.18.0.21 not refused at MAIL: %r" % c)
c = talk(port, "198.18.0.22", host=server)
if codes(c)[-1] != ("end", 250):
    fail("unlisted 198.18.0.22 refused: %r" % c)
print("ok: DNSBL verdict at MAIL")
print("PASS")
