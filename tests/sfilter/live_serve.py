"""live_serve.py SINK_PORT DNS_PORT - the sink and the DNS zones, run in
mxgate-dp's namespace (its control thread relays and resolves there)."""
import sys
import time
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sftest  # noqa: E402

sink_port, dns_port = int(sys.argv[1]), int(sys.argv[2])
sftest.free_port = lambda: sink_port
sink = sftest.Sink()
dns = sftest.DnsServer({sftest.reverse("198.18.0.21", "bl.test"): ["127.0.0.2"]})
# rebind the DNS server on the port the configuration names
dns.s.close()
import socket  # noqa: E402
import threading  # noqa: E402
dns.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.s.bind(("127.0.0.1", dns_port))
threading.Thread(target=dns._serve, daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
