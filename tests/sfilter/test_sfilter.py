"""test_sfilter.py FILTER_EXE SRCDIR CASE - sender filter end to end.

mxgate-filter listens on 0.0.0.0:PORT, clients connect from 127.0.0.x
(every loopback address is ours: many sources for free), a stdlib sink
plays the downstream MTA and a stdlib DNS server the DNSBL zones.
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sftest import (Conversation, DnsServer, Filter, Sink, codes, fail,  # noqa: E402
                    reverse, talk)

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def refusals(f, reason=None):
    out = []
    for line in f.log_lines():
        e = json.loads(line)
        if e.get("event") == "sender_refused" and (reason is None or e["reason"] == reason):
            out.append(e)
    return out


def expect(cond, what, f=None):
    if not cond:
        if f:
            print("\n".join(f.log_lines()[-20:]))
        fail(what)


def wait_log(f, pred, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(pred(json.loads(line)) for line in f.log_lines()):
            return True
        time.sleep(0.05)
    return False


def case_lists_and_reload(exe, src, tmp, sink):
    block = os.path.join(tmp, "block")
    allow = os.path.join(tmp, "allow")
    open(block, "w").write("# test blocks\n127.0.1.0/24\n")
    open(allow, "w").write("127.0.1.7  # inside the blocked /24\n")
    f = Filter(exe, src, tmp, "block_list = %s\nallow_list = %s\nreload_check_s = 1\n"
               % (block, allow), sink.port)
    try:
        c = talk(f.port, "127.0.1.2")
        expect(codes(c) == [("greet", 554)] and "5.7.1" in c[0][2],
               "blocked address not refused at greeting: %r" % c, f)
        c = talk(f.port, "127.0.1.7")
        expect(codes(c)[-1] == ("end", 250), "allowlisted address inside a block"
               " not accepted: %r" % c, f)
        c = talk(f.port, "127.0.2.1")
        expect(codes(c)[-1] == ("end", 250), "unlisted address refused: %r" % c, f)
        expect(wait_log(f, lambda e: e.get("reason") == "blocklist"
                        and e["client"] == "127.0.1.2" and e["stage"] == "connect"
                        and e["reply"].startswith("554 5.7.1")),
               "no blocklist refusal in the log", f)
        # a bad line: the running lists stay
        time.sleep(1.1)
        open(block, "w").write("127.0.1.0/24\n127.0.2.1/24\n")
        expect(wait_log(f, lambda e: e.get("event") == "sender_filter_reload"
                        and e["result"] == "refused" and ":2:" in e["error"]),
               "bad list line not reported with file:line", f)
        c = talk(f.port, "127.0.1.3")
        expect(codes(c) == [("greet", 554)], "lists lost after a bad reload: %r" % c, f)
        # a good file is picked up
        time.sleep(1.1)
        open(block, "w").write("127.0.2.0/24\n")
        expect(wait_log(f, lambda e: e.get("event") == "sender_filter_reload"
                        and e["result"] == "ok"), "good list not reloaded", f)
        c = talk(f.port, "127.0.2.1")
        expect(codes(c) == [("greet", 554)], "reloaded block not applied: %r" % c, f)
        c = talk(f.port, "127.0.1.3")
        expect(codes(c)[-1] == ("end", 250), "old block still applied: %r" % c, f)
    finally:
        f.stop()


def case_limits(exe, src, tmp, sink):
    f = Filter(exe, src, tmp, "max_conns_per_addr = 2\nconn_rate_per_addr = 5\n"
               "conn_rate_window_s = 60\n", sink.port)
    try:
        held = [Conversation(f.port, "127.0.3.1") for _ in range(2)]
        for h in held:
            expect(h.read()[0] == 220, "first two connections not greeted", f)
        c = Conversation(f.port, "127.0.3.1")
        code, text = c.read()
        expect(code == 421 and text.startswith("4.7.0"),
               "third concurrent connection got %r %r" % (code, text), f)
        expect(c.read()[0] is None, "421 not followed by close", f)
        c.close()
        other = talk(f.port, "127.0.3.2")
        expect(codes(other)[-1] == ("end", 250), "other address limited: %r" % other, f)
        for h in held:
            h.cmd("QUIT")
            h.close()
        time.sleep(0.3)
        # four connections so far from .1 (2 held, 1 refused... counted),
        # the rate limit of 5 per minute refuses the sixth
        got = []
        for _ in range(3):
            c = Conversation(f.port, "127.0.3.1")
            got.append(c.read())
            c.close()
        expect(got[0][0] == 220, "connection under the rate refused: %r" % got, f)
        expect(got[-1][0] == 421 and "per unit of time" in got[-1][1],
               "rate limit not applied: %r" % got, f)
        expect(wait_log(f, lambda e: e.get("reason") == "conn_limit")
               and wait_log(f, lambda e: e.get("reason") == "rate_limit"),
               "limit refusals not logged", f)
    finally:
        f.stop()


def case_recipients(exe, src, tmp, sink):
    rc = os.path.join(tmp, "rcpts")
    open(rc, "w").write("bob@example.net\n@example.org\n")
    f = Filter(exe, src, tmp, "valid_recipients = %s\n" % rc, sink.port)
    try:
        c = talk(f.port, "127.0.4.1", rcpts=("alice@example.net", "bob@example.net",
                                            "anyone@example.org"))
        rc_codes = [(code, text) for stage, code, text in c if stage == "rcpt"]
        expect(rc_codes[0][0] == 550 and rc_codes[0][1].startswith("5.1.1"),
               "unknown recipient not refused 550 5.1.1: %r" % c, f)
        expect(rc_codes[1][0] == 250 and rc_codes[2][0] == 250,
               "valid recipients refused: %r" % c, f)
        expect(codes(c)[-1] == ("end", 250), "message with valid rcpts lost: %r" % c, f)
        expect(wait_log(f, lambda e: e.get("reason") == "unknown_rcpt"
                        and e["stage"] == "rcpt"), "unknown rcpt not logged", f)
    finally:
        f.stop()


def case_dnsbl(exe, src, tmp, sink):
    dns = DnsServer({
        reverse("127.0.5.1", "bl.test"): ["127.0.0.2"],
        reverse("127.0.5.2", "soft.test"): ["127.0.0.4"],
        reverse("127.0.5.3", "bl.test"): ["127.0.0.2"],
        reverse("127.0.5.3", "wl.test"): ["127.0.0.1"],
        reverse("127.0.5.5", "bl.test"): ["127.0.0.10"],
    })
    conf = ("dns_resolver = 127.0.0.1:%d\n"
            "dnsbl_site = bl.test=127.0.0.2..127.0.0.9*2\n"
            "dnsbl_site = soft.test*2\n"
            "dnsbl_site = wl.test*-5\n"
            "dnsbl_threshold = 2\n"
            "dnsbl_reply = bl.test 550 5.7.1 Listed by bl.test\n"
            "dnsbl_reply = soft.test=127.0.0.4 450 4.7.1 Listed by soft.test, try later\n"
            "dnsbl_budget_ms = 500\n" % dns.port)
    f = Filter(exe, src, tmp, conf, sink.port)
    try:
        c = talk(f.port, "127.0.5.1")
        expect(("mail", 550) in codes(c) and "Listed by bl.test" in c[2][2],
               "bl.test listing not refused 550 at MAIL: %r" % c, f)
        c = talk(f.port, "127.0.5.2")
        expect(("mail", 450) in codes(c) and "soft.test" in c[2][2],
               "soft.test listing not refused 450: %r" % c, f)
        c = talk(f.port, "127.0.5.3")
        expect(codes(c)[-1] == ("end", 250), "allowlist weight did not win: %r" % c, f)
        c = talk(f.port, "127.0.5.4")
        expect(codes(c)[-1] == ("end", 250), "unlisted address refused: %r" % c, f)
        c = talk(f.port, "127.0.5.5")
        expect(codes(c)[-1] == ("end", 250), "answer outside the filter listed: %r" % c, f)
        q = dns.queries
        c = talk(f.port, "127.0.5.1")
        expect(("mail", 550) in codes(c), "cached listing not applied: %r" % c, f)
        expect(dns.queries == q, "cached answer asked again (%d -> %d)" % (q, dns.queries), f)
        expect(wait_log(f, lambda e: e.get("reason") == "dnsbl" and e["zone"] == "bl.test"
                        and e["answer"] == "127.0.0.2"), "dnsbl refusal not logged", f)
    finally:
        f.stop()
        dns.close()


def case_dns_dead(exe, src, tmp, sink):
    dns = DnsServer(mute=True)
    conf = ("dns_resolver = 127.0.0.1:%d\ndnsbl_site = bl.test\n"
            "dnsbl_timeout_ms = 300\ndnsbl_budget_ms = 200\n" % dns.port)
    f = Filter(exe, src, tmp, conf, sink.port)
    try:
        t0 = time.monotonic()
        c = talk(f.port, "127.0.6.1")
        took = time.monotonic() - t0
        expect(codes(c)[-1] == ("end", 250), "mail did not flow with a dead DNS: %r" % c, f)
        expect(took < 3.0, "a dead DNS delayed the session %.1f s" % took, f)
        expect(dns.queries >= 1, "no DNS query was sent", f)
    finally:
        f.stop()
        dns.close()


def case_pregreet(exe, src, tmp, sink):
    f = Filter(exe, src, tmp, "pregreet_delay_ms = 600\npregreet_pass_s = 60\n", sink.port)
    try:
        c = Conversation(f.port, "127.0.7.1")
        c.s.sendall(b"EHLO bot.example\r\n")
        code, text = c.read()
        expect(code == 554 and "before the greeting" in text,
               "pregreet client got %r %r" % (code, text), f)
        c.close()
        t0 = time.monotonic()
        c = talk(f.port, "127.0.7.2")
        first = time.monotonic() - t0
        expect(codes(c)[-1] == ("end", 250), "patient client refused: %r" % c, f)
        expect(first >= 0.5, "greeting not delayed (%.2f s)" % first, f)
        time.sleep(0.3)	# the pass reaches the address table
        t0 = time.monotonic()
        c = Conversation(f.port, "127.0.7.2")
        code, _ = c.read()
        again = time.monotonic() - t0
        c.close()
        expect(code == 220 and again < 0.4,
               "passed client tested again (%.2f s)" % again, f)
        expect(wait_log(f, lambda e: e.get("reason") == "pregreet"),
               "pregreet refusal not logged", f)
    finally:
        f.stop()


def case_profiler(exe, src, tmp, sink):
    rc = os.path.join(tmp, "rcpts")
    open(rc, "w").write("@example.net\n")
    conf = ("valid_recipients = %s\n"
            "profiler_rule = unknown_rcpt 3/4 60 temp 2\n"
            "profiler_rule = spam 2/2 60 perm\n" % rc)
    f = Filter(exe, src, tmp, conf, sink.port)
    try:
        # directory harvest: 3 unknown of 4 recipients -> temporary block
        talk(f.port, "127.0.8.1", rcpts=("a@example.com", "b@example.com",
                                         "bob@example.net", "c@example.com"))
        expect(wait_log(f, lambda e: e.get("event") == "profiler_block"
                        and e["client"] == "127.0.8.1" and not e["permanent"]),
               "harvest block not logged", f)
        c = talk(f.port, "127.0.8.1")
        expect(codes(c) == [("greet", 421)] and "profiler" in c[0][2],
               "harvester not blocked 421: %r" % c, f)
        c = talk(f.port, "127.0.8.9")
        expect(codes(c)[-1] == ("end", 250), "other address blocked: %r" % c, f)
        time.sleep(2.3)
        c = talk(f.port, "127.0.8.1")
        expect(codes(c)[-1] == ("end", 250), "temporary block did not expire: %r" % c, f)
        # two spam messages -> permanent block (554 at greeting)
        body = "Subject: buy\r\n\r\n%s\r\n" % GTUBE
        for _ in range(2):
            c = talk(f.port, "127.0.8.2", body=body)
            expect(codes(c)[-1][1] >= 500,
                   "GTUBE not refused: %r" % c, f)
        expect(wait_log(f, lambda e: e.get("event") == "profiler_block"
                        and e["client"] == "127.0.8.2" and e["permanent"]),
               "spam block not logged", f)
        c = talk(f.port, "127.0.8.2")
        expect(codes(c) == [("greet", 554)], "spammer not blocked 554: %r" % c, f)
    finally:
        f.stop()


CASES = {
    "lists_and_reload": case_lists_and_reload,
    "limits": case_limits,
    "recipients": case_recipients,
    "dnsbl": case_dnsbl,
    "dns_dead": case_dns_dead,
    "pregreet": case_pregreet,
    "profiler": case_profiler,
}


def main():
    exe, src, name = sys.argv[1], sys.argv[2], sys.argv[3]
    tmp = tempfile.mkdtemp(prefix="sfilter_")
    sink = Sink()
    try:
        CASES[name](exe, src, tmp, sink)
    finally:
        sink.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS", name)


if __name__ == "__main__":
    main()
