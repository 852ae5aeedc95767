#!/usr/bin/env python3
"""make_corpus.py - (re)write the golden corpus messages of tests/corpus.

The .eml files are committed; this script documents how each was made and
regenerates them byte for byte. The expected verdicts beside them
(NAME.json) are reviewed by hand, not generated here.
"""
import base64
import os
import quopri
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CRLF = "\r\n"

EICAR = (r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return CRLF.join(s[i:i + width] for i in range(0, len(s), width))


def head(subject, extra=""):
    return (f"From: Alice Example <alice@example.org>{CRLF}"
            f"To: Bob <bob@example.net>{CRLF}"
            f"Subject: {subject}{CRLF}"
            f"Date: Sat, 28 Nov 2026 10:00:00 +0000{CRLF}"
            f"Message-ID: <{zlib.crc32(subject.encode())}@example.org>{CRLF}"
            f"MIME-Version: 1.0{CRLF}{extra}")


def write(name, text):
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    with open(os.path.join(HERE, name + ".eml"), "wb") as f:
        f.write(data)


def lines(*ls):
    return CRLF.join(ls) + CRLF


PE_HEADER = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"This program cannot be run in DOS mode." + bytes(200)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZIP = (b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + bytes(16) + b"\x08\x00\x00\x00notes.txt" + b"hello")


def main():
    # 01 plain clean text
    write("01-plain-clean", head("Minutes of Tuesday's meeting",
          f"Content-Type: text/plain; charset=us-ascii{CRLF}") + CRLF +
          lines("Hi Bob,", "", "attached are no attachments, just the minutes:",
                "we agreed to move the release to Friday.", "", "Alice"))

    # 02 folded headers and RFC 2047 subject
    write("02-folded-rfc2047", lines(
        "From: =?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?= <juergen@example.de>",
        "To: bob@example.net,",
        "\tcarol@example.net",
        "Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus?=",
        " =?ISO-8859-1?Q?_M=FCnchen?=",
        "MIME-Version: 1.0",
        "Content-Type: text/plain;",
        "  charset=\"utf-8\"",
        "Content-Transfer-Encoding: 8bit",
        "") + lines("Liebe Grüße aus München!", "Jürgen"))

    # 03 multipart/alternative with HTML and URLs
    html = ('<html><body><p>Your parcel is waiting. '
            '<a href="https://parcel.example.com/track?id=42&amp;lang=en">Track it</a>'
            ' or visit www.example.com/help</p></body></html>')
    write("03-alternative-html-urls", head("Your parcel",
          f'Content-Type: multipart/alternative; boundary="alt-1"{CRLF}') + CRLF +
          lines("This is a multi-part message in MIME format.", "--alt-1",
                "Content-Type: text/plain; charset=utf-8", "",
                "Your parcel is waiting: https://parcel.example.com/track?id=42&lang=en",
                "--alt-1",
                "Content-Type: text/html; charset=utf-8",
                "Content-Transfer-Encoding: quoted-printable", "",
                quopri.encodestring(html.encode()).decode().replace("\n", CRLF),
                "--alt-1--", "epilogue is ignored"))

    # 04 base64 PDF attachment (clean)
    write("04-pdf-attachment", head("Invoice 2026-11",
          f'Content-Type: multipart/mixed; boundary="mix"{CRLF}') + CRLF +
          lines("--mix", "Content-Type: text/plain", "", "Please find the invoice attached.",
                "--mix", 'Content-Type: application/pdf; name="invoice.pdf"',
                "Content-Transfer-Encoding: base64",
                'Content-Disposition: attachment; filename="invoice.pdf"', "",
                b64(PDF), "--mix--"))

    # 05 EICAR as a base64 attachment
    write("05-eicar-base64", head("test file",
          f'Content-Type: multipart/mixed; boundary="b5"{CRLF}') + CRLF +
          lines("--b5", "Content-Type: text/plain", "", "see attachment",
                "--b5", 'Content-Type: application/octet-stream; name="eicar.com"',
                "Content-Transfer-Encoding: base64",
                'Content-Disposition: attachment; filename="eicar.com"', "",
                b64(EICAR.encode(), width=20), "--b5--"))

    # 06 EICAR inside a forwarded message, three levels down
    inner = (lines("From: x@example.com", "Subject: inner",
                   'Content-Type: multipart/mixed; boundary="in"', "",
                   "--in", "Content-Type: text/plain", "", "inner text",
                   "--in", 'Content-Type: application/octet-stream',
                   'Content-Disposition: attachment; filename="readme.txt"',
                   "Content-Transfer-Encoding: base64", "", b64(EICAR.encode()),
                   "--in--"))
    write("06-eicar-nested-rfc822", head("Fwd: inner",
          f'Content-Type: multipart/mixed; boundary="out"{CRLF}') + CRLF +
          lines("--out", "Content-Type: text/plain", "", "forwarding", "--out",
                "Content-Type: message/rfc822", "") + inner + lines("--out--"))

    # 07 GTUBE in the body
    write("07-gtube", head("gtube", f"Content-Type: text/plain{CRLF}") + CRLF +
          lines("This is the GTUBE, the", "Generic Test for Unsolicited Bulk Email", "",
                GTUBE, ""))

    # 08 executable renamed to .pdf (true type wins)
    write("08-exe-renamed-pdf", head("Document",
          f'Content-Type: multipart/mixed; boundary="b8"{CRLF}') + CRLF +
          lines("--b8", "Content-Type: text/plain", "", "document attached", "--b8",
                'Content-Type: application/pdf; name="document.pdf"',
                "Content-Transfer-Encoding: base64",
                'Content-Disposition: attachment; filename="document.pdf"', "",
                b64(PE_HEADER), "--b8--"))

    # 09 double extension, RFC 2231 continuation filename
    write("09-double-extension-rfc2231", head("Payment",
          f'Content-Type: multipart/mixed; boundary="b9"{CRLF}') + CRLF +
          lines("--b9", "Content-Type: text/plain", "", "payment details", "--b9",
                "Content-Type: application/octet-stream",
                "Content-Disposition: attachment;",
                " filename*0*=utf-8''invoice%20;",
                " filename*1=\"2026.pdf\";",
                " filename*2=\".exe\"",
                "Content-Transfer-Encoding: base64", "",
                b64(PE_HEADER), "--b9--"))

    # 10 latin-1 quoted-printable body with soft line breaks
    body = ("Sehr geehrte Damen und Herren, dies ist ein l\xe4ngerer Text mit "
            "Umlauten \xe4\xf6\xfc und einem \xdf, der umbrochen werden muss.")
    write("10-latin1-qp", head("Rechnung",
          f"Content-Type: text/plain; charset=iso-8859-1{CRLF}"
          f"Content-Transfer-Encoding: quoted-printable{CRLF}") + CRLF +
          quopri.encodestring(body.encode("latin-1")).decode().replace("\n", CRLF) + CRLF)

    # 11 missing closing boundary (truncated multipart)
    write("11-missing-close-boundary", head("cut",
          f'Content-Type: multipart/mixed; boundary="b11"{CRLF}') + CRLF +
          lines("--b11", "Content-Type: text/plain", "", "first part",
                "--b11", 'Content-Type: application/zip; name="a.zip"',
                "Content-Transfer-Encoding: base64", "", b64(ZIP)))

    # 12 multipart without a boundary parameter
    write("12-no-boundary-param", head("broken",
          f"Content-Type: multipart/mixed{CRLF}") + CRLF +
          lines("--whatever", "Content-Type: text/plain", "", "text", "--whatever--"))

    # 13 nesting deeper than the default limit (40 levels)
    depth = 40
    parts = []
    for i in range(depth):
        parts.append(lines(f"--n{i}", f'Content-Type: multipart/mixed; boundary="n{i + 1}"', ""))
    mid = lines(f"--n{depth}", "Content-Type: text/plain", "", "the bottom", f"--n{depth}--")
    tail = "".join(lines(f"--n{i}--") for i in reversed(range(depth)))
    write("13-deep-nesting", head("deep",
          f'Content-Type: multipart/mixed; boundary="n0"{CRLF}') + CRLF + "".join(parts) + mid + tail)

    # 14 junk inside base64, bare LF line ends
    junk = b64(b"The quick brown fox jumps over the lazy dog. " * 3).replace(CRLF, "\n")
    junk = junk[:20] + " !!junk!! " + junk[20:40] + "\n\n" + junk[40:]
    write("14-base64-junk-lf", (head("lf", 'Content-Type: text/plain; charset=utf-8\n'
                                       'Content-Transfer-Encoding: base64\n').replace(CRLF, "\n")
                                + "\n" + junk + "\n"))

    # 15 phishing: IP-literal login URL in HTML
    write("15-phish-ip-url", head("Urgent: verify your account now",
          f"Content-Type: text/html; charset=utf-8{CRLF}") + CRLF +
          lines("<html><body>Dear customer, your account has been suspended.",
                'Please <a href="http://203.0.113.7/secure/login.php">verify your account</a>',
                "within 24 hours or it will be closed.</body></html>"))

    # 16 truncated in the middle of a header
    write("16-truncated-header", "From: a@example.org\r\nSubject: this message ends in the he")

    # 17 binary garbage
    import random
    rnd = random.Random(17)
    write("17-binary-garbage", bytes(rnd.getrandbits(8) for _ in range(4096)))

    # 18 zip attachment named .txt, Windows-1252 text part
    write("18-zip-named-txt-cp1252", head("notes",
          f'Content-Type: multipart/mixed; boundary="b18"{CRLF}') + CRLF +
          lines("--b18", "Content-Type: text/plain; charset=windows-1252",
                "Content-Transfer-Encoding: quoted-printable", "",
                "Price =80 100 =96 =93quoted=94",
                "--b18", 'Content-Type: text/plain; name="notes.txt"',
                "Content-Transfer-Encoding: base64",
                'Content-Disposition: attachment; filename="notes.txt"', "",
                b64(ZIP), "--b18--"))


if __name__ == "__main__":
    main()
