"""mxtest.py - shared pieces of mxgate's end-to-end tests.

PrivatePostfix   a Postfix instance of the test's own (postfix -c DIR),
                 listening on loopback ports the test chooses, delivering
                 every recipient of example.net into one Maildir the test
                 reads; optionally with mxgate as its content_filter.
Filter           an mxgate-filter process.
free_port(), wait_port(), maildir_messages(), strip_added(), fail().

With netns="NAME", PrivatePostfix runs inside that network namespace
(`ip netns exec NAME postfix ...`), so that a process in the namespace
(mxgate-dp's control thread) reaches it on the namespace's loopback.

Everything is created under a temporary directory and removed by stop();
nothing of the host's own Postfix is used or changed, except that the
default /etc/postfix/main.cf must list the private config directory in
alternate_config_directories (Postfix refuses `postfix -c DIR` otherwise):
the line is added once, and a missing main.cf is created with only it.
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

POSTFIX_MAIN = "/etc/postfix/main.cf"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=15.0, host="127.0.0.1"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_port_netns(netns, port, timeout=15.0):
    """wait_port inside network namespace netns (the caller may be outside)."""
    code = (f"import socket,time,sys\nend=time.monotonic()+{timeout}\n"
            f"while time.monotonic()<end:\n"
            f"  try:\n    socket.create_connection(('127.0.0.1',{port}),timeout=0.5).close(); sys.exit(0)\n"
            f"  except OSError: time.sleep(0.05)\nsys.exit(1)\n")
    return subprocess.run(["ip", "netns", "exec", netns, "/usr/bin/python3", "-c", code]).returncode == 0


def strip_added(msg):
    """The message without the header lines Postfix and we add on top."""
    head, _, body = msg.partition(b"\n\n")
    keep, skip = [], False
    for l in head.split(b"\n"):
        if l[:1] in (b" ", b"\t"):
            if not skip:
                keep.append(l)
            continue
        skip = l.split(b":")[0].lower() in (b"return-path", b"delivered-to", b"received",
                                             b"x-mxgate", b"x-original-to")
        if not skip:
            keep.append(l)
    return b"\n".join(keep) + b"\n\n" + body


def smtp_send(host, port, msg, rcpts=("bob@example.net",), helo="client.example.org",
              sender="alice@example.org"):
    """Send one message; return (code, text) of the reply that ended it: the
    reply to the end of data, or the refusal of MAIL."""
    import smtplib
    s = smtplib.SMTP(host, port, local_hostname=helo, timeout=60)
    try:
        s.ehlo(helo)
        code, text = s.mail(sender)
        if code != 250:
            return code, text.decode()
        for r in rcpts:
            s.rcpt(r)
        code, text = s.data(msg)
        return code, text.decode()
    except smtplib.SMTPDataError as e:
        return e.smtp_code, e.smtp_error.decode()
    finally:
        try:
            s.quit()
        except Exception:
            pass


def maildir_messages(maildir):
    out = []
    for sub in ("new", "cur"):
        for f in sorted(glob.glob(os.path.join(maildir, sub, "*"))):
            out.append(open(f, "rb").read())
    return out


def authorize_config_dir(confdir):
    """List confdir in the default main.cf's alternate_config_directories
    (an exact-match list: the private instances use fixed directory names,
    one per test, so the list stays short)."""
    text = open(POSTFIX_MAIN).read() if os.path.exists(POSTFIX_MAIN) else ""
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("alternate_config_directories"):
            dirs = [d.strip() for d in l.split("=", 1)[1].replace(",", " ").split()]
            if confdir in dirs:
                return
            lines[i] = l.rstrip() + f", {confdir}"
            break
    else:
        if not text:
            lines = ["# created by mxgate tests: only authorizes private test instances",
                     "compatibility_level = 3.6"]
        lines.append(f"alternate_config_directories = {confdir}")
    with open(POSTFIX_MAIN, "w") as f:
        f.write("\n".join(lines) + "\n")


MASTER_BASE = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PrivatePostfix:
    """A private Postfix. smtp_port: where clients connect. With
    filter_port, mail received there goes through mxgate on filter_port
    and comes back on reinject_port (the content-filter topology)."""

    def __init__(self, name, smtp_port, filter_port=None, reinject_port=None, extra_main="",
                 netns=None):
        self.netns = netns
        # a fixed path per name: Postfix authorizes config dirs by exact name
        self.root = f"/var/tmp/mxgate-pf-{name}"
        if os.path.exists(os.path.join(self.root, "etc", "main.cf")):
            subprocess.run(["postfix", "-c", os.path.join(self.root, "etc"), "stop"],
                           capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        os.chmod(self.root, 0o755)
        self.conf = os.path.join(self.root, "etc")
        self.queue = os.path.join(self.root, "queue")
        self.data = os.path.join(self.root, "data")
        self.mail = os.path.join(self.root, "mail")
        self.logdir = os.path.join(self.root, "log")
        for d in (self.conf, self.queue, self.data, self.mail, self.logdir):
            os.makedirs(d, exist_ok=True)
        pw = pwd.getpwnam("postfix")
        for d in (self.data, self.mail):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        self.maildir = os.path.join(self.mail, "box") + "/"
        self.smtp_port = smtp_port
        self.reinject_port = reinject_port
        main = f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx-test.example.net
mydomain = example.net
myorigin = example.net
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8 198.18.0.0/15
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = example.net
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{pw.pw_uid}
virtual_gid_maps = static:{pw.pw_gid}
virtual_mailbox_limit = 0
message_size_limit = 0
maillog_file = {self.logdir}/maillog
maillog_file_prefixes = {self.root}
smtputf8_enable = yes
biff = no
alias_maps =
alias_database =
append_dot_mydomain = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
default_destination_concurrency_limit = 20
{extra_main}
"""
        master = MASTER_BASE
        if filter_port:
            master += (f"127.0.0.1:{smtp_port} inet n - n - - smtpd\n"
                       f"  -o content_filter=mxgate:[127.0.0.1]:{filter_port}\n"
                       f"mxgate    unix  -       -       n       -       10      smtp\n"
                       f"  -o smtp_send_xforward_command=yes\n"
                       f"  -o disable_mime_output_conversion=yes\n"
                       f"  -o smtp_generic_maps=\n")
            master += (f"127.0.0.1:{reinject_port} inet n - n - - smtpd\n"
                       f"  -o content_filter=\n"
                       f"  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters\n"
                       f"  -o smtpd_helo_restrictions=\n"
                       f"  -o smtpd_client_restrictions=\n"
                       f"  -o smtpd_sender_restrictions=\n"
                       f"  -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
                       f"  -o mynetworks=127.0.0.0/8\n"
                       f"  -o smtpd_authorized_xforward_hosts=127.0.0.0/8\n")
        else:
            master += f"127.0.0.1:{smtp_port} inet n - n - - smtpd\n" \
                      f"  -o smtpd_authorized_xforward_hosts=127.0.0.0/8\n"
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master)
        authorize_config_dir(self.conf)
        self.running = False

    def postfix(self, *args):
        pre = ["ip", "netns", "exec", self.netns] if self.netns else []
        return subprocess.run([*pre, "postfix", "-c", self.conf, *args], capture_output=True,
                              timeout=60)

    def start(self):
        p = self.postfix("check")
        if p.returncode != 0:
            fail("postfix check: " + p.stderr.decode(errors="replace"))
        p = self.postfix("start")
        if p.returncode != 0:
            fail("postfix start: " + p.stderr.decode(errors="replace") + self.log())
        self.running = True
        for port in (self.smtp_port, self.reinject_port):
            if port and not (wait_port_netns(self.netns, port) if self.netns else wait_port(port)):
                fail(f"private postfix does not listen on {port}:\n" + self.log())

    def stop(self):
        if self.running:
            self.postfix("stop")
            self.running = False
            # master waits for its children; give it a moment
            time.sleep(0.5)

    def flush(self):
        self.postfix("flush")

    def log(self):
        try:
            return open(os.path.join(self.logdir, "maillog"), errors="replace").read()
        except OSError:
            return ""

    def messages(self):
        return maildir_messages(self.maildir)

    def wait_messages(self, n, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.messages()
            if len(got) >= n:
                return got
            time.sleep(0.1)
        return self.messages()

    def destroy(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Filter:
    """mxgate-filter on listen_port relaying to relay_port."""

    def __init__(self, binary, rules, listen_port, relay_port, threads=2, extra=()):
        self.dir = tempfile.mkdtemp(prefix="mxgate-filter-")
        self.log_path = os.path.join(self.dir, "messages.log")
        self.qdir = os.path.join(self.dir, "quarantine")
        self.port = listen_port
        args = [binary, "-l", f"127.0.0.1:{listen_port}", "-r", f"127.0.0.1:{relay_port}",
                "-R", rules, "-t", str(threads), "-q", self.qdir, "-L", self.log_path,
                "-H", "mxgate-test.example.net", *extra]
        self.err = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)
        if not wait_port(listen_port):
            self.err.seek(0)
            fail("mxgate-filter did not start: " + self.err.read())

    def log(self):
        import json
        try:
            return [json.loads(l) for l in open(self.log_path)]
        except OSError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
