#!/usr/bin/env python3
"""gen_corpus.py OUTDIR [--seed N] - a realistic benchmark corpus.

Writes, deterministically for a seed:
  2k-NNN.eml    ~2 KB messages (plain or HTML alternative, sometimes QP)
  50k-NNN.eml   ~50 KB messages (text + HTML + a base64 attachment)
  1m-NNN.eml    ~1 MB messages (nested multipart, base64 attachments)
  mixed-NNN.eml a mix from 2 KB to 5 MB in the proportions a mail
                gateway sees (mostly small, a long tail of attachments),
                with plain, HTML, base64 and QP parts, nested multipart,
                forwarded messages and attachments of several true types.
The messages are clean: the benchmark measures the clean path, which is
what almost all traffic takes.
"""
import base64
import os
import quopri
import random
import sys

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no will more about up out can what some them could into time only other new years "
         "meeting report quarter budget invoice schedule project review team customer order "
         "delivery update account service support thanks regards please attached document "
         "Müller Größe naïve café résumé").split()
CRLF = "\r\n"


def text(rnd, nbytes):
    out, size, line = [], 0, []
    while size < nbytes:
        w = rnd.choice(WORDS)
        line.append(w)
        size += len(w) + 1
        if sum(len(x) + 1 for x in line) > 70:
            out.append(" ".join(line))
            line = []
    out.append(" ".join(line))
    return CRLF.join(out)


def b64(data):
    s = base64.b64encode(data).decode()
    return CRLF.join(s[i:i + 76] for i in range(0, len(s), 76))


def binary(rnd, kind, n):
    heads = {
        "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        "zip": b"PK\x03\x04\x14\x00\x08\x00\x08\x00",
        "docx": b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x13\x00\x00\x00[Content_Types].xml",
        "png": b"\x89PNG\r\n\x1a\n",
        "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    }
    h = heads[kind]
    return h + rnd.randbytes(max(0, n - len(h)))


def headers(rnd, i, ctype):
    return CRLF.join([
        f"Received: from mail{i % 50}.example.org (mail{i % 50}.example.org [198.18.{i % 250}.{i % 200 + 1}])",
        "\tby mx.example.net with ESMTPS id abc{0:06d}; Sat, 28 Nov 2026 10:00:00 +0000".format(i),
        f"From: Sender {i} <sender{i}@example.org>",
        f"To: Recipient <rcpt{i % 17}@example.net>",
        f"Subject: {text(rnd, 40)}",
        "Date: Sat, 28 Nov 2026 10:00:00 +0000",
        f"Message-ID: <{i}.{rnd.getrandbits(32)}@example.org>",
        "MIME-Version: 1.0",
        f"Content-Type: {ctype}",
    ]) + CRLF + CRLF


def html_of(t):
    paras = "".join(f"<p>{p}</p>" for p in t.split(CRLF) if p)
    return (f"<html><head><style>p {{ font-family: sans-serif; }}</style></head><body>{paras}"
            f'<p>See <a href="https://www.example.com/reports/q3?id=1&amp;x=2">the report</a>'
            f" and https://intranet.example.net/wiki/Page.</p></body></html>")


def alternative(rnd, nbytes, bnd):
    t = text(rnd, nbytes // 2)
    h = html_of(text(rnd, nbytes // 3))
    qp = quopri.encodestring(h.encode()).decode().replace("\n", CRLF)
    return CRLF.join([f"--{bnd}", "Content-Type: text/plain; charset=utf-8",
                      "Content-Transfer-Encoding: 8bit", "", t,
                      f"--{bnd}", "Content-Type: text/html; charset=utf-8",
                      "Content-Transfer-Encoding: quoted-printable", "", qp,
                      f"--{bnd}--", ""])


def attachment(rnd, nbytes, bnd):
    kind = rnd.choice(["pdf", "zip", "docx", "png", "jpg"])
    ctype = {"pdf": "application/pdf", "zip": "application/zip",
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "png": "image/png", "jpg": "image/jpeg"}[kind]
    name = f"file{rnd.randint(1, 999)}.{kind}"
    return CRLF.join([f"--{bnd}", f'Content-Type: {ctype}; name="{name}"',
                      "Content-Transfer-Encoding: base64",
                      f'Content-Disposition: attachment; filename="{name}"', "",
                      b64(binary(rnd, kind, nbytes * 3 // 4)), ""])


def message(rnd, i, size):
    if size <= 4096:
        if rnd.random() < 0.5:
            body = text(rnd, size - 600)
            if rnd.random() < 0.3:
                return headers(rnd, i, "text/plain; charset=utf-8" + CRLF +
                               "Content-Transfer-Encoding: quoted-printable").rstrip(CRLF) + CRLF + CRLF + \
                    quopri.encodestring(body.encode()).decode().replace("\n", CRLF) + CRLF
            return headers(rnd, i, "text/plain; charset=utf-8") + body + CRLF
        return headers(rnd, i, 'multipart/alternative; boundary="alt"') + alternative(rnd, size - 900, "alt")
    # mixed: alternative text + attachments, sometimes nested or forwarded
    parts = [CRLF.join(["--mix", 'Content-Type: multipart/alternative; boundary="alt"', "",
                        alternative(rnd, min(8000, size // 10), "alt")])]
    left = size - min(8000, size // 10) - 1500
    n_att = 1 if size < 200_000 else rnd.randint(1, 3)
    for _ in range(n_att):
        parts.append(attachment(rnd, max(1000, left // n_att), "mix"))
    if rnd.random() < 0.2:
        fwd = headers(rnd, i + 100000, "text/plain; charset=utf-8") + text(rnd, 1500) + CRLF
        parts.append(CRLF.join(["--mix", "Content-Type: message/rfc822", "", fwd]))
    return headers(rnd, i, 'multipart/mixed; boundary="mix"') + "".join(p if p.endswith(CRLF) else p + CRLF for p in parts) + "--mix--" + CRLF


def mixed_size(rnd):
    r = rnd.random()
    if r < 0.60:
        return rnd.randint(2000, 8000)
    if r < 0.85:
        return rnd.randint(8000, 80_000)
    if r < 0.97:
        return rnd.randint(80_000, 1_000_000)
    return rnd.randint(1_000_000, 5_000_000)


def main():
    out = sys.argv[1]
    seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 1
    rnd = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    plan = [("2k", 2048, 200), ("50k", 50_000, 40), ("1m", 1_000_000, 8)]
    for cls, size, count in plan:
        for i in range(count):
            with open(os.path.join(out, f"{cls}-{i:03d}.eml"), "wb") as f:
                f.write(message(rnd, i, size).encode())
    for i in range(120):
        with open(os.path.join(out, f"mixed-{i:03d}.eml"), "wb") as f:
            f.write(message(rnd, i, mixed_size(rnd)).encode())


if __name__ == "__main__":
    main()
