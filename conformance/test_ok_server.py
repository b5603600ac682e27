"""The TCP ok-server: SRV-1..4 and the robustness rows SRV-R1..R6, talking to
it with Python's socket module. `--server-cmd "CMD {port}"` runs every test
here against another implementation."""
import os
import re
import select
import selectors
import shlex
import socket
import struct
import subprocess
import time

import pytest

behaviour = pytest.mark.behaviour
IO_TIMEOUT = float(os.environ.get("SC_IO_TIMEOUT", "5"))
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:")


def recv_exact(sock, n, timeout=IO_TIMEOUT):
    sock.settimeout(timeout)
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def exchange(sock, msg):
    sock.sendall(msg)
    reply = recv_exact(sock, 2)
    assert reply == b"ok", "sent %d bytes, expected reply b'ok', got %r" % (len(msg), reply)


def assert_nothing_more(socks, wait=0.05):
    """No socket of socks has unread reply bytes after one short wait for all."""
    socks = socks if isinstance(socks, list) else [socks]
    readable, _, _ = select.select(socks, [], [], wait)
    for s in readable:
        s.settimeout(wait)
        extra = s.recv(64)
        assert extra == b"", "unexpected extra reply bytes %r" % extra


def rst_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def alive(srv):
    with srv.connect() as s:
        exchange(s, b"still there?")


def connected_line_for(srv, addr, timeout=IO_TIMEOUT):
    want = "%s:%d" % addr[:2]
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = srv.read_line(max(0.01, deadline - time.monotonic()))
        if line is None:
            break
        seen.append(line.strip())
        m = re.match(r"^client (\S+) connected$", line.strip())
        if m and m.group(1) == want:
            return m.group(1)
    raise AssertionError("no 'client %s connected' line; server printed %r" % (want, seen))


# ---------------------------------------------------------------- SRV-1
def server_argv_without_port(pytestconfig, program):
    cmd = pytestconfig.getoption("--server-cmd")
    if cmd:
        return [a for a in shlex.split(cmd) if a != "{port}"]
    return [program("ok-server")]


@behaviour("SRV-1")
@pytest.mark.parametrize("args", [[], ["--bind", "127.0.0.1"]], ids=["no-args", "option-but-no-port"])
def test_usage_without_port(pytestconfig, program, args):
    argv = server_argv_without_port(pytestconfig, program) + args
    p = subprocess.run(argv, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode != 0, "exit code %d without a port" % p.returncode
    assert b"usage" in p.stderr.lower(), "no usage line on stderr: %r" % p.stderr[:300]
    assert not SANITIZER.search(p.stderr.decode(errors="replace"))


@behaviour("SRV-1")
@pytest.mark.parametrize("port", ["abc", "65536", "-1", "1x"])
def test_bad_port_is_rejected(pytestconfig, program, port):
    argv = server_argv_without_port(pytestconfig, program) + [port]
    p = subprocess.run(argv, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode != 0, "exit code %d for port %r" % (p.returncode, port)
    assert p.stderr.strip(), "no reason on stderr"


@behaviour("SRV-1")
def test_port_argument_is_the_listening_port(start_server):
    srv = start_server()
    with srv.connect() as s:
        assert s.getpeername()[1] == srv.port
        exchange(s, b"hi")


# ---------------------------------------------------------------- SRV-2
@behaviour("SRV-2")
@pytest.mark.parametrize("n", [1, 3, 10])
def test_reports_client_address(start_server, n):
    srv = start_server()
    socks = [srv.connect() for _ in range(n)]
    try:
        for s in socks:
            exchange(s, b"x")  # the server has accepted this client
            connected_line_for(srv, s.getsockname())
    finally:
        for s in socks:
            s.close()


@behaviour("SRV-2")
def test_binds_all_addresses(start_server):
    srv = start_server()
    # Every local IPv4 address of the host reaches it (loopback here: 127.0.0.1 and 127.0.0.2).
    for host in ("127.0.0.1", "127.0.0.2"):
        with socket.create_connection((host, srv.port), timeout=IO_TIMEOUT) as s:
            exchange(s, b"x")


# ---------------------------------------------------------------- SRV-3
@behaviour("SRV-3")
@pytest.mark.parametrize("clients,messages", [(1, 1), (1, 50), (5, 20), (20, 5), (50, 3)])
def test_one_ok_per_message(start_server, clients, messages):
    srv = start_server()
    socks = [srv.connect() for _ in range(clients)]
    try:
        for i in range(messages):
            for k, s in enumerate(socks):
                exchange(s, b"message %d from client %d" % (i, k))
        assert_nothing_more(socks)
    finally:
        for s in socks:
            s.close()


@behaviour("SRV-3")
@pytest.mark.parametrize("size", [1, 2, 100, 1000])
def test_reply_is_exactly_two_bytes(start_server, size):
    srv = start_server()
    with srv.connect() as s:
        exchange(s, b"m" * size)
        assert_nothing_more(s)


# ---------------------------------------------------------------- SRV-4
@behaviour("SRV-4")
@pytest.mark.parametrize("how", ["close", "shutdown-wr", "rst", "rst-after-message"])
def test_session_ends_cleanly_and_others_are_served(start_server, how):
    srv = start_server()
    other = srv.connect()  # connected first, its first message comes after the other session ends
    s = srv.connect()
    if how == "close":
        exchange(s, b"bye")
        s.close()
    elif how == "shutdown-wr":
        exchange(s, b"bye")
        s.shutdown(socket.SHUT_WR)
        s.settimeout(IO_TIMEOUT)
        assert s.recv(16) == b"", "server did not close the session after EOF"
        s.close()
    elif how == "rst":
        rst_close(s)
    else:
        exchange(s, b"bye")
        rst_close(s)
    exchange(other, b"after")
    alive(srv)
    other.close()
    assert srv.proc.poll() is None, "server exited"


@behaviour("SRV-4")
def test_many_sessions_end_cleanly(start_server):
    srv = start_server()
    for i in range(30):
        s = srv.connect()
        exchange(s, b"x")
        if i % 2:
            rst_close(s)
        else:
            s.close()
    alive(srv)


# ---------------------------------------------------------------- SRV-R*
@behaviour("SRV-R1")
@pytest.mark.parametrize("size", [1023, 1024, 1025, 4096])
def test_message_filling_the_receive_buffer(start_server, size):
    srv = start_server()
    with srv.connect() as s:
        s.sendall(bytes([0x41 + i % 26 for i in range(size)]))
        s.shutdown(socket.SHUT_WR)
        replies = recv_exact(s, 1 << 16)
        assert replies and replies == b"ok" * (len(replies) // 2), replies[:64]
    alive(srv)


@behaviour("SRV-R2")
@pytest.mark.parametrize("msg", [b"\0", b"\0\0\0\0", b"a\0b\0c", bytes(range(256)), b"\xff" * 100],
                         ids=["nul", "nuls", "embedded", "all-bytes", "high-bytes"])
def test_binary_messages(start_server, msg):
    srv = start_server()
    for _ in range(2):
        with srv.connect() as s:
            exchange(s, msg)
            assert_nothing_more(s)
    alive(srv)


@behaviour("SRV-R3")
@pytest.mark.parametrize("partial", [1, 500, 1023])
def test_reset_mid_message(start_server, partial):
    srv = start_server()
    other = srv.connect()
    s = srv.connect()
    s.sendall(b"p" * partial)
    rst_close(s)
    exchange(other, b"after")
    other.close()
    alive(srv)


@behaviour("SRV-R4")
def test_client_that_never_reads(start_server):
    srv = start_server()
    hog = srv.connect()
    hog.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 3.0
    chunk = b"h" * 4096
    while time.monotonic() < deadline and sent < (32 << 20):
        try:
            sent += hog.send(chunk)
        except BlockingIOError:
            break  # the server stopped reading it: backpressure, not a stall for others
    for i in range(5):
        with srv.connect() as s:
            exchange(s, b"others %d" % i)
    hog.close()
    alive(srv)


@behaviour("SRV-R5")
def test_200_concurrent_clients(start_server):
    srv = start_server()
    socks = []
    try:
        for _ in range(200):
            socks.append(srv.connect())
        sel = selectors.DefaultSelector()
        got = {}
        for i, s in enumerate(socks):
            s.sendall(b"client %d" % i)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, i)
            got[i] = b""
        pending = len(socks)
        deadline = time.monotonic() + 10.0
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                chunk = key.fileobj.recv(16)
                got[key.data] += chunk
                if len(got[key.data]) >= 2 or not chunk:
                    sel.unregister(key.fileobj)
                    pending -= 1
        sel.close()
        assert pending == 0, "%d of 200 clients got no reply" % pending
        bad = {i: r for i, r in got.items() if r != b"ok"}
        assert not bad, "wrong replies: %r" % dict(list(bad.items())[:5])
    finally:
        for s in socks:
            s.close()
    alive(srv)


@behaviour("SRV-R5")
def test_200_clients_replies_are_exact(start_server):
    srv = start_server()
    socks = [srv.connect() for _ in range(200)]
    try:
        for i, s in enumerate(socks):
            s.sendall(b"m%d" % i)
        for s in socks:
            assert recv_exact(s, 2) == b"ok"
    finally:
        for s in socks:
            s.close()


@behaviour("SRV-R6")
@pytest.mark.parametrize("load", ["idle", "after-clients", "clients-connected"])
def test_sigterm_exit_zero_and_no_sanitizer_report(start_server, load):
    srv = start_server()
    keep = []
    if load != "idle":
        for i in range(10):
            s = srv.connect()
            exchange(s, b"x" * (1024 if i % 2 else 3))
            if load == "clients-connected":
                keep.append(s)
            else:
                s.close()
    code, err = srv.stop()
    for s in keep:
        s.close()
    assert code == 0, "exit code %s after SIGTERM; stderr: %s" % (code, err[-2000:])
    assert not SANITIZER.search(err), "sanitizer report on stderr:\n" + err[-4000:]
