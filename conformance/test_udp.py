"""The UDP programs: CLI-1 and SEND-3 (the client), RECV-3 (the server).
`--udp-client-cmd "CMD {port}"` and `--udp-server-cmd "CMD [{port}]"` judge
another implementation by what each promise says: the datagram that reaches
a Python receiver (client), and for the server, that each datagram it is sent
shows up whole in its output, once, with its sender's address, and that it
never crashes or prints past the datagram. Our output format and options
are checked on our programs only (bundled_only)."""
import re
import select
import socket

import pytest

import sc_proc
from sc_proc import IO_TIMEOUT, command_argv

behaviour = pytest.mark.behaviour
client_only_ours = pytest.mark.bundled_only("--udp-client-cmd")
server_only_ours = pytest.mark.bundled_only("--udp-server-cmd")


def finished(argv, env=None):
    """Runs argv to its end (bounded); (exited in time, exit code, Proc)."""
    p = sc_proc.Proc(argv, env=env)
    try:
        exited = p.wait_exit(5 * IO_TIMEOUT)
    finally:
        code = p.stop()
    return exited, code, p


def unescape(text):
    """Inverse of udp-server's escaping: \\\\ \\n \\r \\t and \\xHH."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            n = text[i + 1]
            if n == "x":
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}[n]
            i += 2
            continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


def udp_socket(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s


def nothing_arrives(sock, wait=0.05):
    r, _, _ = select.select([sock], [], [], wait)
    assert not r, "an unexpected datagram: %r" % (sock.recvfrom(70000),)


# ---------------------------------------------------------------- the client
@pytest.fixture
def receiver():
    s = udp_socket()
    s.settimeout(IO_TIMEOUT)
    yield s
    s.close()


def run_client(program, cmd, port, ours_args=()):
    argv = command_argv(cmd, port) if cmd else [program("udp-client"), "--port", str(port)] + list(ours_args)
    exited, code, p = finished(argv)
    assert exited and code == 0, "client %s: exit %s; stderr %r" % (argv, code, p.text("stderr")[-500:])
    assert not sc_proc.SANITIZER.search(p.text("stderr"))
    return p


@behaviour("CLI-1")
@pytest.mark.parametrize("attempt", range(2))
def test_client_sends_hello_world_to_the_port(program, udp_client_cmd, receiver, attempt):
    run_client(program, udp_client_cmd, receiver.getsockname()[1])
    data, sender = receiver.recvfrom(70000)
    assert data == b"hello world", "got %r, want the 11 bytes b'hello world'" % data
    assert sender[0] == "127.0.0.1"
    nothing_arrives(receiver)


@behaviour("SEND-3")
def test_datagram_goes_to_the_named_destination(program, udp_client_cmd, receiver):
    other = udp_socket()
    try:
        run_client(program, udp_client_cmd, receiver.getsockname()[1], ["--sendmsg"])
        data, sender = receiver.recvfrom(70000)
        assert sender[0] == "127.0.0.1" and data, (data, sender)
        nothing_arrives(receiver)
        nothing_arrives(other)
    finally:
        other.close()


CLIENT_CASES = [
    ("default", [], b"hello world", "CLI-1"),
    ("message", ["hi there"], b"hi there", "CLI-1"),
    ("sendmsg-default", ["--sendmsg"], b"Hello, sendmsg!", "SEND-3"),
    ("sendmsg-message", ["--sendmsg", "abc"], b"abc", "SEND-3"),
    ("hex-nuls", ["--hex", "00610062000a"], b"\0a\0b\0\n", "CLI-1"),
    ("sendmsg-hex-nuls", ["--sendmsg", "--hex", "0000ff00"], b"\0\0\xff\0", "SEND-3"),
    ("hex-empty", ["--hex", ""], b"", "CLI-1"),
]


@client_only_ours
@pytest.mark.parametrize("name,args,payload", [
    pytest.param(n, a, p, marks=pytest.mark.behaviour(b), id=n) for n, a, p, b in CLIENT_CASES])
def test_client_to_python_receiver(program, receiver, name, args, payload):
    port = receiver.getsockname()[1]
    p = run_client(program, None, port, args)
    data, sender = receiver.recvfrom(70000)
    assert data == payload
    assert sender[0] == "127.0.0.1"
    assert p.text().strip() == "sent %d bytes to 127.0.0.1:%d" % (len(payload), port)


@client_only_ours
@behaviour("CLI-1")
def test_client_default_destination_is_127_0_0_1_12345(program):
    # No fixed port is bound here (tests never do): a UDP sendto to a closed
    # port still succeeds, and the client reports where it sent. The bytes
    # themselves are checked by the --port tests above.
    exited, code, p = finished([program("udp-client")])
    assert exited and code == 0, p.text("stderr")
    assert p.text().strip() == "sent 11 bytes to 127.0.0.1:12345"


@client_only_ours
@behaviour("CLI-1")
@pytest.mark.parametrize("args", [["--port", "x"], ["--port", "70000"], ["--bogus"], ["--hex", "abc"]],
                         ids=["port-x", "port-70000", "unknown-option", "odd-hex"])
def test_client_bad_usage(program, args):
    exited, code, p = finished([program("udp-client")] + args)
    assert exited and code == 2 and p.text("stderr").strip()


# ---------------------------------------------------------------- the server
class UdpServer:
    """A running UDP server under test: ours (announces its port) or another
    (seen bound in /proc/net/udp*)."""

    def __init__(self, argv, port, ours):
        self.ours = ours
        self.proc = sc_proc.Proc(argv)
        if ours:
            self.proc.wait_for(lambda: b"\n" in self.proc.output(), 10)
            m = re.match(r"^listening on (\S+):(\d+)\n", self.proc.text())
            self.port = int(m.group(2)) if m else None
        else:
            self.port = sc_proc.wait_bound(self.proc, "udp", port, 10)
        if self.port is None:
            self.proc.stop()
            raise AssertionError("UDP server %s never bound its port; stdout %r stderr %r"
                                 % (argv, self.proc.text()[-300:], self.proc.text("stderr")[-500:]))
        self.exited_by_itself = None

    def output(self):
        return self.proc.output("stdout") + b"\n" + self.proc.output("stderr")

    def wait_output(self, pred):
        return self.proc.wait_for(lambda: pred(self.output()), IO_TIMEOUT)

    def finish(self):
        """Stops it: a server that ended by itself must have exited 0 (never a
        crash); one that runs until stopped may end by our SIGTERM."""
        self.exited_by_itself = self.proc.exited()
        code = self.proc.stop()
        if self.exited_by_itself:
            assert code == 0, "the UDP server ended with %s (negative: a signal)" % code
        rep = self.proc.sanitizer_report()
        assert not rep, rep


@pytest.fixture
def udp_server(udp_server_cmd, program):
    cmd = udp_server_cmd
    started = []

    def start(count=0):
        if cmd:
            port = sc_proc.free_port(socket.SOCK_DGRAM) if "{port}" in cmd else None
            srv = UdpServer(command_argv(cmd, port), port, ours=False)
        else:
            srv = UdpServer([program("udp-server"), "--port", "0", "--count", str(count)], 0, ours=True)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.proc.stop()


def printable(n, first=ord("a")):
    """n letters (no digits: a port number printed beside them stays apart)."""
    return bytes(first + (i % 26) for i in range(n))


def names_sender(out, port):
    return b"127.0.0.1" in out and re.search(rb"(?<!\d)%d(?!\d)" % port, out) is not None


def shown_once_and_no_more(out, payload):
    """payload occurs once in out, and what follows it is not more of the same
    kind (an over-read prints the bytes past the datagram: letters, or binary).
    A payload of a few letters may occur in any output: there, only that it does."""
    if len(payload) < 8:
        assert payload in out, "datagram %r not shown in %r" % (payload, out[:300])
        return
    assert out.count(payload) == 1, "datagram shown %d times in %r" % (out.count(payload), out[:300])
    past = sc_proc.printed_past(out, payload)
    assert past is None, "bytes past the datagram printed: %r" % past


@behaviour("RECV-3")
@pytest.mark.parametrize("size", [0, 1, 11, 255, 256, 1000, 1024, 65507])
def test_datagram_shown_whole_with_its_sender(udp_server, size):
    srv = udp_server(1)
    payload = printable(size)
    with udp_socket() as s:
        s.sendto(payload, ("127.0.0.1", srv.port))
        port = s.getsockname()[1]
        srv.wait_output(lambda out: (payload in out or not payload) and names_sender(out, port))
    out = srv.output()
    assert names_sender(out, port), "the sender 127.0.0.1:%d is not named in %r" % (port, out[:300])
    if payload:
        shown_once_and_no_more(out, payload)
    srv.finish()


@behaviour("RECV-3")
@pytest.mark.parametrize("payload", [b"\0", b"\0" * 64, bytes(range(256)), b"\xff\xfe" * 500, b"a\0b\nc"],
                         ids=["nul", "nuls", "all-bytes", "high-bytes", "nul-and-newline"])
def test_any_bytes_are_received_with_their_sender(udp_server, payload):
    srv = udp_server(1)
    with udp_socket() as s:
        s.sendto(payload, ("127.0.0.1", srv.port))
        port = s.getsockname()[1]
        assert srv.wait_output(lambda out: names_sender(out, port)), \
            "the sender 127.0.0.1:%d is not named in %r" % (port, srv.output()[:300])
    srv.finish()


@behaviour("RECV-3")
def test_one_datagram_per_receive(udp_server):
    # Two datagrams queued back to back: never shown as one (a stream-like read
    # would join them); a server made for one datagram shows only the first.
    srv = udp_server(2)
    first, second = printable(40, ord("A")), printable(40)
    with udp_socket() as s:
        s.sendto(first, ("127.0.0.1", srv.port))
        s.sendto(second, ("127.0.0.1", srv.port))
        srv.wait_output(lambda out: first in out and (second in out or srv.proc.exited()))
    out = srv.output()
    shown_once_and_no_more(out, first)
    assert out.count(second) <= 1, out[:300]
    srv.finish()


@server_only_ours
@behaviour("RECV-3")
@pytest.mark.parametrize("size", [0, 1, 11, 256, 1000, 65507])
@pytest.mark.parametrize("how", ["sendto", "sendmsg"])
def test_client_to_server_exact_bytes(program, udp_server, size, how):
    srv = udp_server(1)
    payload = bytes((i * 7) % 256 for i in range(size))
    args = ["--sendmsg"] if how == "sendmsg" else []
    exited, code, p = finished([program("udp-client"), "--port", str(srv.port), "--hex", payload.hex()] + args)
    assert exited and code == 0, p.text("stderr")
    m = re.match(r"^sent (\d+) bytes to 127\.0\.0\.1:(\d+)$", p.text().strip())
    assert m and int(m.group(1)) == size
    assert srv.proc.wait_exit(5 * IO_TIMEOUT)
    srv.finish()
    lines = srv.proc.text().splitlines()[1:]
    assert len(lines) == 1, lines
    m = re.match(r"^from 127\.0\.0\.1:(\d+) len=(\d+) data=(.*)$", lines[0])
    assert m, lines[0][:200]
    assert int(m.group(2)) == size
    assert unescape(m.group(3)) == payload


@server_only_ours
@behaviour("RECV-3")
@pytest.mark.parametrize("count", [2, 5])
def test_server_one_line_per_datagram_with_sender(udp_server, count):
    srv = udp_server(count)
    senders = []
    for i in range(count):
        s = udp_socket()
        s.sendto(b"d%d\0" % i, ("127.0.0.1", srv.port))
        senders.append(s)
    want = {s.getsockname()[1]: b"d%d\0" % i for i, s in enumerate(senders)}
    assert srv.proc.wait_exit(5 * IO_TIMEOUT)
    for s in senders:
        s.close()
    srv.finish()
    lines = srv.proc.text().splitlines()[1:]
    assert len(lines) == count
    got = {}
    for line in lines:
        m = re.match(r"^from 127\.0\.0\.1:(\d+) len=(\d+) data=(.*)$", line)
        assert m, line
        got[int(m.group(1))] = unescape(m.group(3))
    assert got == want
