"""The programs a test starts (servers, clients, demos): one way to run them.

Each runs in its own process group and dies with the test process
(PR_SET_PDEATHSIG, set by setpriv before exec). Threads drain its stdout and
stderr into buffers from the start, so a chatty program never blocks on a full
pipe. stop() ends the whole group, however the test ends. Readiness of a
server is seen in /proc/net/{tcp,tcp6,udp,udp6} (a socket held by the group),
never by connecting to it."""
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import threading
import time

SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")
POLL_S = 0.02  # readiness in /proc has no notification: re-read at this pace
# How long a test waits for one reply or line: a failing test fails in seconds.
IO_TIMEOUT = float(os.environ.get("SC_IO_TIMEOUT", "2"))


def command_argv(cmd, port=None):
    """argv of a judged command line, {port} replaced (or dropped, port None)."""
    out = []
    for a in shlex.split(cmd):
        if "{port}" in a:
            if port is None:
                continue
            a = a.replace("{port}", str(port))
        out.append(a)
    return out


def free_port(kind=socket.SOCK_STREAM):
    """A port free on 127.0.0.1 now, for a program that takes its port as an
    argument (ours take 0 and announce the one they got)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    def __init__(self, argv, env=None, stdin=subprocess.DEVNULL):
        self.argv = list(argv)
        self.proc = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", "--"] + self.argv,
                                     stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        self.pid = self.pgid = self.proc.pid
        # Readable once the leader has exited; the zombie keeps the group id ours
        # until stop() has signalled the group and reaped it.
        self.pidfd = os.pidfd_open(self.pid)
        self.returncode = None
        self._cond = threading.Condition()
        self._bufs = {"stdout": bytearray(), "stderr": bytearray()}
        self._open = 2
        self._threads = [threading.Thread(target=self._drain, args=(name, f), daemon=True)
                         for name, f in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr))]
        for t in self._threads:
            t.start()

    def _drain(self, name, f):
        fd = f.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._cond:
                if not chunk:
                    self._open -= 1
                    self._cond.notify_all()
                    return
                self._bufs[name] += chunk
                self._cond.notify_all()

    def output(self, stream="stdout"):
        with self._cond:
            return bytes(self._bufs[stream])

    def text(self, stream="stdout"):
        return self.output(stream).decode(errors="replace")

    def exited(self):
        return bool(select.select([self.pidfd], [], [], 0)[0])

    def wait_for(self, pred, timeout, poll=None):
        """Waits until pred() is true (True), or the program has exited with its
        pipes closed, or timeout passed (then pred() once more). Output wakes
        the wait at once; poll (s) re-checks predicates that output cannot wake."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if pred():
                    return True
                left = deadline - time.monotonic()
                if left <= 0 or (self._open == 0 and self.exited()):
                    return bool(pred())
                self._cond.wait(min(left, poll if poll else (POLL_S * 5 if self._open == 0 else left)))

    def wait_exit(self, timeout):
        """True if the leader exited within timeout (not reaped: see stop())."""
        return bool(select.select([self.pidfd], [], [], max(0.0, timeout))[0])

    def stop(self, grace=2.0, sig=signal.SIGTERM):
        """sig to the group, SIGKILL to whatever is left after grace seconds,
        then the exit code (negative: killed by that signal). Idempotent."""
        if self.returncode is None:
            if not self.exited():
                self._signal(sig)
                self.wait_exit(grace)
            self._signal(signal.SIGKILL)  # the leader's children too, even if it exited
            self.returncode = self.proc.wait(timeout=10)
            os.close(self.pidfd)
            for t in self._threads:
                t.join(timeout=2)
        return self.returncode

    def _signal(self, sig):
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def sanitizer_report(self):
        err = self.text("stderr") + self.text("stdout")
        m = SANITIZER.search(err)
        return err[max(0, m.start() - 200):][:4000] if m else None


def group_socket_inodes(pgid):
    """Inodes of the sockets held by the processes of group pgid."""
    inodes = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read()
            # Fields after the parenthesised command: state ppid pgrp ...
            if int(stat[stat.rindex(b")") + 2:].split()[2]) != pgid:
                continue
            fd_dir = "/proc/%s/fd" % name
            for fd in os.listdir(fd_dir):
                link = os.readlink(os.path.join(fd_dir, fd))
                if link.startswith("socket:["):
                    inodes.add(int(link[8:-1]))
        except (OSError, ValueError):
            continue  # gone meanwhile, or not ours to read
    return inodes


def bound_ports(pgid, proto):
    """Local ports of the group's listening TCP sockets (proto "tcp") or bound
    UDP sockets (proto "udp"), from /proc/net/PROTO and PROTO6."""
    inodes = group_socket_inodes(pgid)
    ports = set()
    if not inodes:
        return ports
    for table in (proto, proto + "6"):
        try:
            with open("/proc/net/" + table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cells = line.split()
            port = int(cells[1].rsplit(":", 1)[1], 16)
            state = cells[3]
            if int(cells[9]) in inodes and port and (state == "0A" if proto == "tcp" else True):
                ports.add(port)
    return ports


def wait_bound(p, proto, port, timeout):
    """The port (or, port None, any port) the group of Proc p listens on
    (tcp) or is bound to (udp), seen in /proc within timeout; None if not."""
    found = []

    def ready():
        ports = bound_ports(p.pgid, proto)
        hit = ports if port is None else ports & {port}
        if hit:
            found.append(min(hit))
        return bool(hit)

    p.wait_for(ready, timeout, poll=POLL_S)
    return found[0] if found else None


def printed_past(out, payload):
    """What a program printed right past a text payload it echoed, if that
    looks like an over-read (a C string printed from a full buffer with no
    NUL): the bytes after the payload's echo, when the next one is a letter,
    a digit or not printable. None if the echo ends cleanly or is absent.
    The echo may be a part of payload (a buffer-sized chunk of it)."""
    head = payload[:16]
    at = out.find(head) if head else -1
    while at >= 0:
        n = 0
        while at + n < len(out) and n < len(payload) and out[at + n] == payload[n]:
            n += 1
        nxt = out[at + n:at + n + 1]
        if nxt and not (nxt in b"\n\r\t" or (0x20 <= nxt[0] < 0x7f and not nxt.isalnum())):
            return out[at + n:at + n + 40]
        at = out.find(head, at + max(n, 1))  # past this echo: a payload repeats its head
    return None

