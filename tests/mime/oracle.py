#!/usr/bin/python3
"""oracle.py - compare the engine's MIME parse with Python's email package.

usage: oracle.py MIME_DUMP [FILE_OR_DIR ...]

For every message (default: Python's own email test messages, the shared
corpus and tests/mime/data), run `mime_dump FILE` and parse the same file with
email.message_from_binary_file(policy=compat32). Walk Python's leaf parts
(not is_multipart(); a message/rfc822 is a container) and compare, in order:
count, content type, file name (after RFC 2231 and RFC 2047 decoding), and
the SHA-256 of get_payload(decode=True).

Where Python and the engine differ on purpose, EXCEPTIONS below says so,
per file, with the reason. Any other difference fails the test.
"""
import email
import email.header
import email.policy
import email.utils
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# file name (basename) -> (fields that may differ, reason)
EXCEPTIONS = {
    # A multipart nested in one that uses the same boundary. RFC 2046
    # forbids it; Python lets the outer boundary win, so the inner
    # multipart is empty (a leaf) and its parts become the outer's. We
    # check the innermost open boundary first, as mail readers do, which
    # keeps the structure the sender meant.
    "msg_15.txt": (("count", "content_type", "filename", "sha256"),
                   "same boundary nested"),
    "msg_39.txt": (("count", "content_type", "filename", "sha256"),
                   "same boundary nested"),
    # Nesting deeper than MIME_DEPTH_DEFAULT: the part at the limit is an
    # opaque leaf (MIME_F_DEPTH_EXCEEDED) holding the deeper structure;
    # Python follows every level.
    "13-deep-nesting.eml": (("count", "content_type", "filename", "sha256"),
                            "depth limit"),
}


def py_filename(part):
    """Python's file name, decoded the way the engine decodes it."""
    fn = part.get_filename()
    if fn is None:
        return ""
    if "=?" in fn:
        out = []
        for chunk, cs in email.header.decode_header(fn):
            if isinstance(chunk, bytes):
                try:
                    chunk = chunk.decode(cs or "ascii", "replace")
                except LookupError:
                    chunk = chunk.decode("ascii", "replace")
            out.append(chunk)
        fn = "".join(out)
    return fn.strip()


def py_leaves(msg):
    """Leaf parts in pre-order, as the engine numbers them.

    message/delivery-status is one text leaf for the engine (it is scanned
    as text); Python splits it into header-only Message objects. It is
    compared as one leaf by type only."""
    if msg.get_content_type() == "message/delivery-status":
        yield msg
        return
    if not msg.is_multipart():
        yield msg
        return
    for sub in msg.get_payload():
        yield from py_leaves(sub)


def py_payload(part):
    if part.get_content_type() == "message/delivery-status":
        return None
    data = part.get_payload(decode=True)
    if data is None:
        data = b""
    return data


def universal_newlines(raw):
    """The bytes Python's BytesParser really parses: it reads through a
    TextIOWrapper with universal newlines, so CRLF and CR become LF."""
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def run_dump(dump, data):
    """Our leaves for the message bytes data."""
    with tempfile.NamedTemporaryFile(suffix=".eml") as tmp:
        tmp.write(data)
        tmp.flush()
        res = subprocess.run([dump, tmp.name], stdout=subprocess.PIPE,
                             check=True)
    return [json.loads(l) for l in
            res.stdout.decode("utf-8", "replace").splitlines()
            if l.startswith("{")]


def check(dump, path):
    """Return a list of (field, difference) for one message, twice:
    as message_from_binary_file() sees it (universal newlines, so we parse
    the LF form too) and as message_from_bytes() sees it (line ends kept,
    so the CRLF handling of both is compared on the original bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    diffs = compare(run_dump(dump, universal_newlines(raw)), msg, "lf")
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return diffs + compare(run_dump(dump, raw), msg, "raw")


def compare(ours, msg, how):
    """Differences between our leaves and Python's for one parse."""
    theirs = []
    for part in py_leaves(msg):
        data = py_payload(part)
        theirs.append({"content_type": part.get_content_type(),
                       "filename": py_filename(part),
                       "size": len(data) if data is not None else -1,
                       "sha256": hashlib.sha256(data).hexdigest()
                       if data is not None else None})
    diffs = []
    if len(ours) != len(theirs):
        diffs.append(("count", "%s count: ours %d, python %d" %
                      (how, len(ours), len(theirs))))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        for key in ("content_type", "filename", "sha256"):
            if a[key] != b[key] and b[key] is not None:
                diffs.append((key, "%s leaf %d %s: ours %r, python %r%s" % (
                    how, i, key, a[key], b[key],
                    " (sizes %d/%d)" % (a["size"], b["size"])
                    if key == "sha256" else "")))
    return diffs


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    dump = sys.argv[1]
    args = sys.argv[2:] or [
        "/usr/lib/python3.11/test/test_email/data",
        os.path.join(ROOT, "tests", "corpus"),
        os.path.join(HERE, "data")]
    files = []
    for a in args:
        if os.path.isdir(a):
            files += sorted(glob.glob(os.path.join(a, "msg_*.txt")))
            files += sorted(glob.glob(os.path.join(a, "*.eml")))
        else:
            files.append(a)
    failed = 0
    for path in files:
        base = os.path.basename(path)
        diffs = check(dump, path)
        allowed, _ = EXCEPTIONS.get(base, ((), ""))
        bad = [d for k, d in diffs if k not in allowed]
        if bad:
            failed += 1
            print("FAIL %s" % path)
            for d in bad:
                print("    " + d)
    print("%d messages, %d with unexplained differences" %
          (len(files), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
