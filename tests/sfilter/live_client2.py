"""live_client2.py SERVER - second mxgate-dp run: block list with
block_action = drop, and the pregreet test (run in the client namespace)."""
import os
import socket
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sftest import Conversation, codes, fail, talk  # noqa: E402

server = sys.argv[1]
port = 25

# dropped SYNs: the connection attempt times out
s = socket.socket()
s.settimeout(1.5)
s.bind(("198.18.0.10", 0))
try:
    s.connect((server, port))
    fail("blocked 198.18.0.10 connected despite block_action = drop")
except socket.timeout:
    pass
except OSError as e:
    fail("blocked 198.18.0.10: expected silence, got %r" % e)
finally:
    s.close()
print("ok: block list at SYN: dropped")

# a client that talks first is refused
c = Conversation(port, "198.18.0.20", server)
c.s.sendall(b"EHLO bot.example\r\n")
code, text = c.read()
if code != 554 or "before the greeting" not in text:
    fail("pregreet client got %r %r" % (code, text))
c.close()
print("ok: pregreet client refused 554")

# a patient client waits for the delayed greeting and sends mail
t0 = time.monotonic()
c = talk(port, "198.18.0.22", host=server)
if codes(c)[-1] != ("end", 250):
    fail("patient client refused: %r" % c)
if time.monotonic() - t0 < 0.3:
    fail("greeting not delayed")
print("ok: patient client greeted after the delay")
print("PASS")
