"""The UDP programs and the pair demo: CLI-1, SEND-3, RECV-3 (udp-client ->
udp-server and -> a Python receiver) and PAIR-1..4 through sockcheck-pair."""
import re
import socket
import subprocess

import pytest

behaviour = pytest.mark.behaviour
TIMEOUT = 10


def run(argv):
    return subprocess.run(argv, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


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


@pytest.fixture
def receiver():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(TIMEOUT)
    yield s
    s.close()


CLIENT_CASES = [
    ("default", [], b"hello world", "CLI-1"),
    ("message", ["hi there"], b"hi there", "CLI-1"),
    ("sendmsg-default", ["--sendmsg"], b"Hello, sendmsg!", "SEND-3"),
    ("sendmsg-message", ["--sendmsg", "abc"], b"abc", "SEND-3"),
    ("hex-nuls", ["--hex", "00610062000a"], b"\0a\0b\0\n", "CLI-1"),
    ("sendmsg-hex-nuls", ["--sendmsg", "--hex", "0000ff00"], b"\0\0\xff\0", "SEND-3"),
    ("hex-empty", ["--hex", ""], b"", "CLI-1"),
]


@pytest.mark.parametrize("name,args,payload", [
    pytest.param(n, a, p, marks=pytest.mark.behaviour(b), id=n) for n, a, p, b in CLIENT_CASES])
def test_client_to_python_receiver(program, receiver, name, args, payload):
    port = receiver.getsockname()[1]
    p = run([program("udp-client"), "--port", str(port)] + args)
    assert p.returncode == 0, p.stderr
    data, sender = receiver.recvfrom(70000)
    assert data == payload
    assert sender[0] == "127.0.0.1"
    assert p.stdout.decode().strip() == "sent %d bytes to 127.0.0.1:%d" % (len(payload), port)


@behaviour("CLI-1")
def test_client_default_destination_is_127_0_0_1_12345(program):
    # No fixed port is bound here (tests never do): a UDP sendto to a closed
    # port still succeeds, and the client reports where it sent. The bytes
    # themselves are checked by the --port tests above.
    p = run([program("udp-client")])
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().strip() == "sent 11 bytes to 127.0.0.1:12345"


@pytest.fixture
def udp_server(program):
    procs = []

    def start(count):
        p = subprocess.Popen([program("udp-server"), "--port", "0", "--count", str(count)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(p)
        line = p.stdout.readline().decode()
        m = re.match(r"^listening on (\S+):(\d+)$", line.strip())
        assert m, "udp-server printed %r" % line
        return p, int(m.group(2))

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=TIMEOUT)


SIZES = [0, 1, 11, 256, 1000, 65507]


@behaviour("RECV-3")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("how", ["sendto", "sendmsg"])
def test_client_to_server_exact_bytes(program, udp_server, size, how):
    srv, port = udp_server(1)
    payload = bytes((i * 7) % 256 for i in range(size))
    args = ["--sendmsg"] if how == "sendmsg" else []
    p = run([program("udp-client"), "--port", str(port), "--hex", payload.hex()] + args)
    assert p.returncode == 0, p.stderr
    m = re.match(r"^sent (\d+) bytes to 127\.0\.0\.1:(\d+)$", p.stdout.decode().strip())
    assert m and int(m.group(1)) == size
    out, err = srv.communicate(timeout=TIMEOUT)
    assert srv.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == 1, lines
    m = re.match(r"^from 127\.0\.0\.1:(\d+) len=(\d+) data=(.*)$", lines[0])
    assert m, lines[0][:200]
    assert int(m.group(2)) == size
    assert unescape(m.group(3)) == payload


@behaviour("RECV-3")
@pytest.mark.parametrize("count", [2, 5])
def test_server_one_line_per_datagram_with_sender(program, udp_server, count):
    srv, port = udp_server(count)
    senders = []
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.sendto(b"d%d\0" % i, ("127.0.0.1", port))
        senders.append(s)
    want = {s.getsockname()[1]: b"d%d\0" % i for i, s in enumerate(senders)}
    out, err = srv.communicate(timeout=TIMEOUT)
    for s in senders:
        s.close()
    assert srv.returncode == 0, err
    lines = out.decode().splitlines()
    assert len(lines) == count
    got = {}
    for line in lines:
        m = re.match(r"^from 127\.0\.0\.1:(\d+) len=(\d+) data=(.*)$", line)
        assert m, line
        got[int(m.group(1))] = unescape(m.group(3))
    assert got == want


@behaviour("CLI-1")
@pytest.mark.parametrize("args", [["--port", "x"], ["--port", "70000"], ["--bogus"], ["--hex", "abc"]],
                         ids=["port-x", "port-70000", "unknown-option", "odd-hex"])
def test_client_bad_usage(program, args):
    p = run([program("udp-client")] + args)
    assert p.returncode == 2 and p.stderr.strip()


# ---------------------------------------------------------------- pair demo
@behaviour("PAIR-4")
@pytest.mark.parametrize("attempt", range(3))
def test_pair_demo_fork(program, attempt):
    p = run([program("pair"), "--fork"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == [
        "socketpair(AF_UNIX, SOCK_STREAM, 0): ok",
        "child sent 6 bytes",
        'parent received 6 bytes: "hello"',
        "child exited with status 0",
    ]


@behaviour("PAIR-1", "PAIR-2", "PAIR-3")
def test_pair_demo(program):
    p = run([program("pair")])
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode().splitlines() == [
        "socketpair(AF_UNIX, SOCK_STREAM, 0): ok",
        'sv[0] -> sv[1]: 16 bytes "SOCKET PAIR TEST"',
        "sv[0] reads its own end: EAGAIN (nothing to read)",
        'sv[1] -> sv[0]: 16 bytes "SOCKET PAIR TEST"',
        "sv[1] reads its own end: EAGAIN (nothing to read)",
    ]
