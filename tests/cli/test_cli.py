#!/usr/bin/env python3
"""test_cli.py - `mxgate scan` and `mxgate rules check` end to end.

Usage: test_cli.py MXGATE_BINARY SOURCE_ROOT TEST_NAME

Each TEST_NAME is one behaviour (meson registers one test per name):
  golden              every tests/corpus/*.eml gives the verdict in its .json
  chunk_invariance    1-byte, 7-byte and random chunks give identical output
  missing_file        a missing file is a clear error, exit 2, others still scanned
  nesting_bomb        2,000 levels of multipart nesting: verdict, fast, bounded
  huge_message        a 20 MB message: verdict, fast, bounded memory
  garbage_and_stdin   binary garbage and '-' (stdin) give verdicts
  exit_status         0 clean, 1 flagged, 2 error
  rules_check         a good set is accepted; a bad one names file and line
"""
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

MX, ROOT, NAME = sys.argv[1], sys.argv[2], sys.argv[3]
CORPUS = os.path.join(ROOT, "tests", "corpus")
RULES = os.path.join(ROOT, "rules", "default")
SANITIZED = os.environ.get("MXGATE_SANITIZED") == "1"
# Under ASan everything is slower and bigger; the bounds stay bounds.
TIME_LIMIT = 120 if SANITIZED else 30
RSS_LIMIT_MB = 1024 if SANITIZED else 128

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(args, stdin=None, timeout=TIME_LIMIT):
    t0 = time.monotonic()
    p = subprocess.run([MX] + args, input=stdin, capture_output=True, timeout=timeout)
    return p, time.monotonic() - t0


def corpus_files():
    return sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.endswith(".eml"))


def scan_json(files, extra=()):
    p, _ = run(["scan", "--json", "--rules", RULES, *extra, *files])
    if p.returncode not in (0, 1):
        fail(f"scan exited {p.returncode}: {p.stderr.decode(errors='replace')}")
    out = [json.loads(line) for line in p.stdout.decode().splitlines()]
    if len(out) != len(files):
        fail(f"expected {len(files)} verdict lines, got {len(out)}")
    return out


def essential(v):
    """The parts of a verdict the golden files pin."""
    return {
        "action": v["action"],
        "score": v["score"],
        "rules": sorted((r["id"], r["scope"], r["part"]) for r in v["rules"]),
        "parts": [(p["id"], p["content_type"], p["filename"], p["size"], p["detected_type"])
                  for p in v["parts"]],
    }


def test_golden():
    files = corpus_files()
    got = scan_json(files)
    bad = 0
    for f, v in zip(files, got):
        ref = f[:-4] + ".json"
        if not os.path.exists(ref):
            fail(f"{ref} is missing")
        want = json.load(open(ref))
        e_got, e_want = essential(v), essential(want)
        e_got["rules"] = [list(r) for r in e_got["rules"]]
        e_got["parts"] = [list(p) for p in e_got["parts"]]
        e_want["rules"] = [list(r) for r in e_want["rules"]]
        e_want["parts"] = [list(p) for p in e_want["parts"]]
        if e_got != e_want:
            bad += 1
            print(f"{os.path.basename(f)}: verdict differs from {os.path.basename(ref)}")
            print("  want:", json.dumps(e_want))
            print("  got: ", json.dumps(e_got))
    if bad:
        fail(f"{bad} golden verdicts differ")
    print(f"{len(files)} golden verdicts match")


def test_chunk_invariance():
    files = corpus_files()
    whole = scan_json(files)
    for extra in (["--chunk", "1"], ["--chunk", "7"], ["--chunk", "0", "--seed", "1"],
                  ["--chunk", "0", "--seed", "4242"], ["--chunk", "0", "--seed", "99"]):
        got = scan_json(files, extra)
        for f, a, b in zip(files, whole, got):
            if a != b:
                fail(f"{os.path.basename(f)}: output with {' '.join(extra)} differs from whole:\n"
                     f"  whole: {json.dumps(a)}\n  chunk: {json.dumps(b)}")
    print(f"{len(files)} messages identical in 6 chunkings")


def test_missing_file():
    files = corpus_files()[:1]
    p, _ = run(["scan", "--json", "--rules", RULES, "/nonexistent/message.eml", *files])
    if p.returncode != 2:
        fail(f"exit {p.returncode}, want 2")
    err = p.stderr.decode()
    if "/nonexistent/message.eml" not in err or "No such file" not in err:
        fail(f"stderr does not name the file and the reason: {err!r}")
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    if len(lines) != 2 or "error" not in lines[0] or lines[1].get("action") is None:
        fail(f"want an error object then a verdict, got {lines}")


def limited_run(args, path):
    """Run with a wall-clock bound and report peak RSS of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p, secs = run(args + [path])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return p, secs, peak_mb if peak_mb > before / 1024 else before / 1024


def test_nesting_bomb():
    depth = 2000
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bomb.eml")
        with open(path, "w", newline="") as f:
            f.write('MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n')
            for i in range(depth):
                f.write(f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n')
            f.write(f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nbottom\r\n--b{depth}--\r\n")
            for i in reversed(range(depth)):
                f.write(f"--b{i}--\r\n")
        p, secs, mb = limited_run(["scan", "--json", "--rules", RULES], path)
        if p.returncode not in (0, 1):
            fail(f"exit {p.returncode}: {p.stderr.decode(errors='replace')}")
        v = json.loads(p.stdout)
        if not any(pt["flags"] & 0x1 for pt in v["parts"]) and not (v["mime_flags"] & 0x1):
            fail("depth limit not reported (MIME_F_DEPTH_EXCEEDED)")
        if len(v["parts"]) > 64:
            fail(f"{len(v['parts'])} parts followed below the depth limit")
        print(f"nesting bomb: {secs:.2f}s, peak RSS {mb:.0f} MB, {len(v['parts'])} parts")
        if mb > RSS_LIMIT_MB:
            fail(f"peak RSS {mb:.0f} MB > {RSS_LIMIT_MB} MB")


def test_huge_message():
    size = 20 * 1024 * 1024
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "huge.eml")
        raw = os.urandom(size * 3 // 4)
        with open(path, "wb") as f:
            f.write(b'MIME-Version: 1.0\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n'
                    b'--x\r\nContent-Type: text/plain\r\n\r\nbig attachment follows\r\n'
                    b'--x\r\nContent-Type: application/octet-stream; name="blob.bin"\r\n'
                    b'Content-Transfer-Encoding: base64\r\n\r\n')
            enc = base64.encodebytes(raw).replace(b"\n", b"\r\n")
            f.write(enc)
            f.write(b"--x\r\nContent-Type: text/plain\r\n\r\nthe end " + EICAR + b"\r\n--x--\r\n")
        p, secs, mb = limited_run(["scan", "--json", "--rules", RULES], path)
        if p.returncode not in (0, 1):
            fail(f"exit {p.returncode}: {p.stderr.decode(errors='replace')}")
        v = json.loads(p.stdout)
        blob = [pt for pt in v["parts"] if pt["filename"] == "blob.bin"]
        if not blob or blob[0]["size"] != len(raw):
            fail(f"attachment size wrong: {blob}")
        print(f"20 MB message: {secs:.2f}s, peak RSS {mb:.0f} MB, action {v['action']}")
        if mb > RSS_LIMIT_MB:
            fail(f"peak RSS {mb:.0f} MB > {RSS_LIMIT_MB} MB: memory grows with the message")
        if v["action"] == "pass":
            fail("EICAR after a 20 MB attachment was missed")


def test_garbage_and_stdin():
    garbage = bytes(range(256)) * 64 + b"\x00" * 1000
    p, _ = run(["scan", "--json", "--rules", RULES, "-"], stdin=garbage)
    if p.returncode not in (0, 1):
        fail(f"garbage on stdin: exit {p.returncode}: {p.stderr.decode(errors='replace')}")
    v = json.loads(p.stdout)
    if v["file"] != "-" or v["action"] not in ("pass", "tag", "quarantine", "reject", "tempfail", "discard"):
        fail(f"bad verdict for stdin: {v}")
    p, _ = run(["scan", "--json", "--rules", RULES, "-"], stdin=b"")
    if p.returncode not in (0, 1):
        fail(f"empty stdin: exit {p.returncode}")


def test_exit_status():
    clean = os.path.join(CORPUS, "01-plain-clean.eml")
    dirty = os.path.join(CORPUS, "07-gtube.eml")
    p, _ = run(["scan", "--rules", RULES, clean])
    if p.returncode != 0:
        fail(f"clean message: exit {p.returncode}, want 0")
    p, _ = run(["scan", "--rules", RULES, clean, dirty])
    if p.returncode != 1:
        fail(f"clean + flagged: exit {p.returncode}, want 1")
    p, _ = run(["scan", "--rules", RULES, dirty, "/nonexistent"])
    if p.returncode != 2:
        fail(f"flagged + error: exit {p.returncode}, want 2")
    p, _ = run(["scan", "--rules", "/nonexistent-rules", clean])
    if p.returncode != 2 or b"/nonexistent-rules" not in p.stderr:
        fail(f"missing rules dir: exit {p.returncode}, stderr {p.stderr!r}")
    p, _ = run(["scan", "--help"])
    if p.returncode != 0 or b"--rules" not in p.stdout:
        fail("scan --help does not help")


def test_rules_check():
    p, _ = run(["rules", "check", RULES])
    if p.returncode != 0 or b"ok" not in p.stdout:
        fail(f"default rules refused: {p.stdout!r} {p.stderr!r}")
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "a.rules"), "w") as f:
            f.write(open(os.path.join(RULES, sorted(os.listdir(RULES))[0])).read())
        with open(os.path.join(d, "b.rules"), "w") as f:
            f.write("# a rule set with a broken regular expression\n\n"
                    "rule BROKEN_REGEX\n  scope body\n  regex /unclosed(group/\n  score 1\nend\n")
        p, _ = run(["rules", "check", d])
        err = p.stderr.decode()
        if p.returncode != 2 or "b.rules:" not in err:
            fail(f"broken rule set not refused with file:line: exit {p.returncode}, {err!r}")
        print("refusal reads:", err.strip())


TESTS = {n[5:]: f for n, f in globals().items() if n.startswith("test_")}
if NAME not in TESTS:
    fail(f"unknown test {NAME}; known: {', '.join(TESTS)}")
TESTS[NAME]()
print("ok")
