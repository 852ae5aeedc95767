#!/usr/bin/python3
"""make_corpus.py - write tests/rules/{fire,benign}/<RULE_ID>.eml

Every shipped rule has one message that must make it fire and one benign
message that must not. They are generated here so that each pair is easy
to read side by side; the .eml files are committed, and test_rule_corpus
scans them. An optional <RULE_ID>.env next to a message gives its SMTP
envelope, one "key value" per line (helo, client-addr, client-name,
mail-from, rcpt).

Run from anywhere: /usr/bin/python3 tests/rules/make_corpus.py
"""
import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))

EICAR = (r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def msg(body, subject="Meeting notes", headers=None, ctype="text/plain; charset=utf-8"):
    """A single-part message."""
    h = ["From: Alice <alice@example.org>",
         "To: Bob <bob@example.net>",
         "Subject: " + subject,
         "Date: Mon, 2 Mar 2026 10:00:00 +0000",
         "Message-ID: <corpus@example.org>",
         "MIME-Version: 1.0"]
    h += headers or []
    h.append("Content-Type: " + ctype)
    return "\r\n".join(h) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n"


def attach(filename, data, ctype="application/octet-stream",
           text="Please find the file attached.", inline_text=False):
    """A multipart/mixed message with one base64 attachment."""
    if isinstance(data, str):
        data = data.encode()
    b64 = base64.encodebytes(data).decode().replace("\n", "\r\n")
    disp = "inline" if inline_text else "attachment"
    return ("From: Alice <alice@example.org>\r\n"
            "To: Bob <bob@example.net>\r\n"
            "Subject: The file\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            + text + "\r\n"
            "--b1\r\nContent-Type: " + ctype + "; name=\"" + filename + "\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: " + disp + "; filename=\"" + filename + "\"\r\n\r\n"
            + b64 + "--b1--\r\n")


def html(body_html, subject="Newsletter"):
    return msg("<html><body>" + body_html + "</body></html>", subject,
               ctype="text/html; charset=utf-8")


PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program cannot be run in DOS mode."
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
MACHO = b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\x00" * 56
JAVA = b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 56
LNK = b"L\x00\x00\x00\x01\x14\x02\x00" + b"\x00" * 68
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

MANY = "\n".join("rcpt user%d@example.net" % i for i in range(60)) + "\n"

# rule id: (fire message, benign message[, fire envelope, benign envelope])
CORPUS = {
    "EICAR_ATTACHMENT": (attach("eicar.com", EICAR),
                         attach("readme.bin", b"The EICAR test file is harmless; see eicar.org.")),
    "EICAR_BODY": (msg(EICAR + "\n"), msg("We tested the scanner with the EICAR file yesterday.")),
    "GTUBE_BODY": (msg("Test\n" + GTUBE + "\n"), msg("GTUBE is the spam test string.")),
    "GTUBE_RAW": (attach("gtube.bin", "x", text=GTUBE),
                  msg("Nothing to see: GTUBE-STANDARD only.")),
    "EXEC_TYPE_PE": (attach("holiday.jpg", PE, "image/jpeg"), attach("report.pdf", PDF, "application/pdf")),
    "EXEC_TYPE_ELF": (attach("tool", ELF), attach("tool.png", PNG, "image/png")),
    "EXEC_TYPE_MACHO": (attach("app", MACHO), attach("app.pdf", PDF, "application/pdf")),
    "EXEC_TYPE_JAVA": (attach("Main.class", JAVA), attach("Main.pdf", PDF, "application/pdf")),
    "EXEC_TYPE_LNK": (attach("documents", LNK), attach("documents.png", PNG, "image/png")),
    "EXEC_TYPE_SCRIPT": (attach("install", SCRIPT), attach("install.pdf", PDF, "application/pdf")),
    "EXEC_EXT": (attach("setup.EXE", PDF), attach("setup.exe.txt", PDF)),
    "DOUBLE_EXT": (attach("invoice.pdf.scr", PDF), attach("invoice.final.pdf", PDF, "application/pdf")),
    "MANY_RECIPIENTS": (msg("Hello all."), msg("Hello all."), MANY,
                        "rcpt a@example.net\nrcpt b@example.net\n"),
    "HDR_SUBJ_WINNER": (msg("Details inside.", "Congratulations, you have won!"),
                        msg("Details inside.", "Winter schedule")),
    "HDR_SUBJ_ACCOUNT_LOCKED": (msg("Details.", "Your account has been suspended"),
                                msg("Details.", "Your account statement")),
    "HDR_SUBJ_PASSWORD_EXPIRES": (msg("Details.", "Your password expires today"),
                                  msg("Details.", "Password manager rollout")),
    "HDR_SUBJ_PHARMA": (msg("Details.", "V1agra 80% off"), msg("Details.", "Pharmacy opening hours")),
    "HDR_SUBJ_LOAN": (msg("Details.", "Your loan is approved"), msg("Details.", "Loan application received")),
    "HDR_SUBJ_OVERDUE_INVOICE": (msg("Details.", "Overdue invoice #4471"), msg("Details.", "Invoice #4471")),
    "HDR_SUBJ_CRYPTO": (msg("Details.", "Bitcoin investment opportunity"), msg("Details.", "Bitcoin talk slides")),
    "HDR_SUBJ_URGENT_ACTION": (msg("Details.", "URGENT action required"), msg("Details.", "Action items")),
    "HDR_FROM_BRAND_LOOKALIKE": (msg("Hi", headers=["X-Dummy: 1"]).replace(
                                     "From: Alice <alice@example.org>", "From: PayPa1 Service <service@example.org>"),
                                 msg("Hi").replace("From: Alice <alice@example.org>",
                                                   "From: PayPal <service@paypal.com>")),
    "HDR_MAILER_BULK": (msg("Hi", headers=["X-Mailer: Atomic Mail Sender 9.1"]),
                        msg("Hi", headers=["X-Mailer: Thunderbird 115"])),
    "BODY_ADVANCE_FEE": (msg("As next of kin you will receive the funds of my late client."),
                         msg("Our next meeting is on Friday.")),
    "BODY_YOU_HAVE_WON": (msg("Dear friend, you have won a car!"), msg("You have worked hard this year.")),
    "BODY_MILLION_DOLLARS": (msg("The sum of 10.5 million dollars awaits."), msg("The city has a million residents.")),
    "BODY_VERIFY_ACCOUNT": (msg("Please verify your account within 24 hours."), msg("Please verify the figures.")),
    "BODY_ACCOUNT_SUSPENDED": (msg("Your account has been suspended."), msg("Your account manager is Carol.")),
    "BODY_CLICK_TO_LOGIN": (msg("Click here to log in and restore access."), msg("Click here to see the agenda.")),
    "BODY_WIRE_TRANSFER": (msg("I need an urgent wire transfer today."), msg("The wire arrived; transfer complete.")),
    "BODY_GIFT_CARDS": (msg("Can you buy some iTunes gift cards for me?"), msg("Thanks for the gift!")),
    "BODY_PHARMA": (msg("Best online pharmacy, no prescription."), msg("The pharmacist called back.")),
    "BODY_WEIGHT_LOSS": (msg("Lose 20 pounds in 10 days!"), msg("I lost my keys in 10 minutes.")),
    "BODY_WORK_FROM_HOME": (msg("Earn $500 per day from home!"), msg("I work from home on Fridays.")),
    "BODY_CRYPTO_DOUBLE": (msg("Send 1 BTC and we double your bitcoin."), msg("Bitcoin price doubled last year.")),
    "BODY_RISK_FREE": (msg("This is 100% risk-free."), msg("This is 100 metres away.")),
    "BODY_ACT_NOW": (msg("Act now, supplies are limited!"), msg("The act was passed now and then.")),
    "BODY_DEAR_CUSTOMER": (msg("Dear valued customer,\nplease read."), msg("Dear Bob,\nplease read.")),
    "BODY_CONFIDENTIAL_DEAL": (msg("I have a strictly confidential business proposal."),
                               msg("This business plan is confidential.")),
    "BODY_ASKS_CREDENTIALS": (msg("Please confirm your credit card number below."),
                              msg("Please confirm your attendance below.")),
    "BODY_MAILBOX_QUOTA": (msg("Your mailbox is full. Upgrade now."), msg("The mailbox in the lobby is new.")),
    "BODY_PARCEL_FAILED": (msg("Your package could not be delivered."), msg("Your package was delivered.")),
    "BODY_TAX_REFUND": (msg("A tax refund of $812 is pending, claim it here."), msg("Tax season starts in April.")),
    "BODY_SEXTORTION": (msg("I have hacked your device and watched you."), msg("Someone hacked the conference wifi.")),
    "BODY_PASSWORD_FORM": (html("<form><input name=p type=\"password\"></form>"),
                           html("<form><input name=q type=\"text\"></form>")),
    "BODY_REPLICA": (msg("Replica watches, top quality."), msg("The replica of the ship is in the museum.")),
    "URL_IP_LITERAL": (msg("Go to http://198.51.100.7/login now."), msg("Go to https://www.example.com/ now.")),
    "URL_SUSPICIOUS_TLD": (msg("See https://deals.example.xyz/offer"), msg("See https://deals.example.com/offer")),
    "URL_LOGIN_PATH": (msg("Visit https://host.example.net/secure/signin.php?id=1"),
                       msg("Visit https://host.example.net/docs/index.html")),
    "URL_BRAND_HYPHEN": (msg("Visit https://paypal-secure.example.net/"), msg("Visit https://www.paypal.com/")),
    "URL_BRAND_SUBDOMAIN": (msg("Visit https://paypal.com.account.example.net/"),
                            msg("Visit https://www.paypal.com/uk/")),
    "URL_USERINFO": (msg("Visit https://www.bank.example@evil.example.net/"),
                     msg("Visit https://www.bank.example/contact")),
    "URL_SHORTENER": (msg("Visit https://bit.ly/3xYzAbC"), msg("Visit https://bitly.example.com/page")),
    "ENV_HELO_BARE_IP": (msg("Hi"), msg("Hi"), "helo 198.51.100.9\n", "helo mail.example.org\n"),
    "ENV_HELO_LOCALHOST": (msg("Hi"), msg("Hi"), "helo localhost.localdomain\n", "helo mx.localhost-hosting.example\n"),
}


def write(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)


def main():
    for rid, entry in CORPUS.items():
        fire, benign = entry[0], entry[1]
        write(os.path.join(HERE, "fire", rid + ".eml"), fire)
        write(os.path.join(HERE, "benign", rid + ".eml"), benign)
        if len(entry) > 2:
            write(os.path.join(HERE, "fire", rid + ".env"), entry[2])
            write(os.path.join(HERE, "benign", rid + ".env"), entry[3])


if __name__ == "__main__":
    main()
