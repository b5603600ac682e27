"""The TCP ok-server: SRV-1..4 and the robustness rows SRV-R1..R7, talking to
it with Python's socket module. `--server-cmd "CMD {port}"` runs every test
here against another implementation, judged by what each promise says: the
log format and our options are checked on our server only (bundled_only, or
`srv.ours`), and a server that serves one client and exits (like the seed's)
keeps SRV-1..4, R1, R2 and R6: only the many-client rows (R3, R4, R5, R7)
need a second client. Every test starts its own server instance."""
import re
import select
import selectors
import socket
import struct
import time

import pytest

import sc_proc
from sc_proc import IO_TIMEOUT, command_argv

behaviour = pytest.mark.behaviour
bundled_only = pytest.mark.bundled_only("--server-cmd")


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


def serving_or_exited_cleanly(srv):
    """After a session has ended: ours still serves a new client; another
    server either does too or has exited with status 0 (made for one client,
    like the seed's), so the end of the session was clean either way."""
    if srv.ours:
        alive(srv)
        assert not srv.proc.exited(), "server exited"
        return
    try:
        alive(srv)
        return
    except (OSError, AssertionError) as e:
        why = e
    assert srv.proc.wait_exit(IO_TIMEOUT), \
        "server neither served a new client (%s) nor exited" % why
    code = srv.proc.stop()
    assert code == 0, "server ended with %s after the session (negative: signal)" % code


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
def run_without_server_port(server_cmd, program, args):
    """Runs the server with args instead of its port; its exit code (None if it
    did not exit within IO_TIMEOUT), stdout and stderr."""
    argv = command_argv(server_cmd) if server_cmd else [program("ok-server")]
    p = sc_proc.Proc(argv + list(args))
    try:
        exited = p.wait_exit(IO_TIMEOUT)
    finally:
        code = p.stop()
    return (code if exited else None), p.text("stdout"), p.text("stderr")


@behaviour("SRV-1")
def test_usage_without_port(server_cmd, program):
    code, out, err = run_without_server_port(server_cmd, program, [])
    assert code is not None, "still running %.0f s after starting without a port" % IO_TIMEOUT
    assert code > 0, "exit code %s without a port (must exit non-zero, not by a signal)" % code
    # Any server: a usage line on either stream (the seed prints it on stdout).
    assert (out + err).strip(), "no usage line on stdout or stderr"
    assert not sc_proc.SANITIZER.search(out + err), err[-2000:]
    if not server_cmd:
        assert code == 2 and "usage" in err.lower(), "ours: usage on stderr, exit 2: %s %r" % (code, err)


@bundled_only
@behaviour("SRV-1")
@pytest.mark.parametrize("args", [["--bind", "127.0.0.1"], ["abc"], ["65536"], ["-1"], ["1x"]],
                         ids=["option-but-no-port", "port-abc", "port-65536", "port--1", "port-1x"])
def test_bad_port_is_rejected(program, args):
    code, out, err = run_without_server_port(None, program, args)
    assert code == 2, "exit code %s for %r" % (code, args)
    assert err.strip() and not out.strip(), (out, err)


@behaviour("SRV-1")
def test_port_argument_is_the_listening_port(start_server):
    port = sc_proc.free_port()
    srv = start_server(port=port)  # another server: seen listening on exactly this port
    assert srv.port == port, "listening on %s, asked for %d" % (srv.port, port)
    with srv.connect() as s:
        exchange(s, b"hi")


# ---------------------------------------------------------------- SRV-2
@behaviour("SRV-2")
@pytest.mark.parametrize("source,dest", [("127.0.0.1", "127.0.0.1"), ("127.0.0.2", "127.0.0.1"),
                                         ("127.0.0.3", "127.0.0.2"), ("127.0.0.1", "127.0.0.4")],
                         ids=lambda a: a)
def test_accepts_a_client_from_any_local_address(start_server, source, dest):
    # Binds all addresses: any local destination reaches it, from any source.
    srv = start_server()
    with srv.connect(host=dest, source=source) as s:
        exchange(s, b"x")
        if srv.ours:  # our log format: "client IP:PORT connected"
            connected_line_for(srv, s.getsockname())


@behaviour("SRV-R7")
@pytest.mark.parametrize("n", [3, 10])
def test_reports_each_client(start_server, n):
    srv = start_server()
    socks = [srv.connect() for _ in range(n)]
    try:
        for s in socks:
            exchange(s, b"x")  # the server has accepted this client
            if srv.ours:
                connected_line_for(srv, s.getsockname())
    finally:
        for s in socks:
            s.close()


# ---------------------------------------------------------------- SRV-3
@behaviour("SRV-3")
@pytest.mark.parametrize("messages", [1, 50])
def test_one_ok_per_message(start_server, messages):
    srv = start_server()
    with srv.connect() as s:
        for i in range(messages):
            exchange(s, b"message %d" % i)
        assert_nothing_more(s)


@behaviour("SRV-R7")
@pytest.mark.parametrize("clients,messages", [(5, 20), (20, 5), (50, 3)])
def test_one_ok_per_message_many_clients(start_server, clients, messages):
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
def end_session(s, how):
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


HOWS = ["close", "shutdown-wr", "rst", "rst-after-message"]


@behaviour("SRV-4")
@pytest.mark.parametrize("how", HOWS)
def test_session_ends_cleanly(start_server, how):
    srv = start_server()
    end_session(srv.connect(), how)
    serving_or_exited_cleanly(srv)


@behaviour("SRV-R7")
@pytest.mark.parametrize("how", HOWS)
def test_session_end_leaves_others_served(start_server, how):
    srv = start_server()
    other = srv.connect()  # connected first, its first message comes after the other session ends
    end_session(srv.connect(), how)
    exchange(other, b"after")
    alive(srv)
    other.close()
    assert not srv.proc.exited(), "server exited"


@behaviour("SRV-R7")
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
        payload = bytes([0x41 + i % 26 for i in range(size)])
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        replies = recv_exact(s, 1 << 16)
        assert replies and replies == b"ok" * (len(replies) // 2), replies[:64]
    serving_or_exited_cleanly(srv)
    # Without a sanitizer in another server, an over-read shows where it echoes
    # the message: bytes printed past a buffer-full of it (the seed's %s).
    srv.stop()
    past = sc_proc.printed_past(srv.proc.output() + b"\n" + srv.proc.output("stderr"), payload)
    assert past is None, "the server printed bytes past the message: %r" % past


@behaviour("SRV-R2")
@pytest.mark.parametrize("msg", [b"\0", b"\0\0\0\0", b"a\0b\0c", bytes(range(256)), b"\xff" * 100],
                         ids=["nul", "nuls", "embedded", "all-bytes", "high-bytes"])
def test_binary_messages(start_server, msg):
    srv = start_server()
    with srv.connect() as s:
        exchange(s, msg)
        assert_nothing_more(s)
    serving_or_exited_cleanly(srv)


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
        deadline = time.monotonic() + 3 * IO_TIMEOUT
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


def sigterm_after(srv, clients, keep_connected):
    keep = []
    for i in range(clients):
        s = srv.connect()
        exchange(s, b"x" * (1024 if i % 2 else 3))
        if keep_connected:
            keep.append(s)
        else:
            s.close()
    code, err = srv.stop()
    for s in keep:
        s.close()
    assert code == 0, "exit code %s after SIGTERM (negative: killed by it); stderr: %s" % (code, err[-2000:])
    assert not sc_proc.SANITIZER.search(err), "sanitizer report on stderr:\n" + err[-4000:]


@behaviour("SRV-R6")
@pytest.mark.parametrize("clients,keep", [(0, False), (1, False), (1, True)],
                         ids=["idle", "after-a-client", "client-connected"])
def test_sigterm_exit_zero_and_no_sanitizer_report(start_server, clients, keep):
    sigterm_after(start_server(), clients, keep)


@behaviour("SRV-R7")
@pytest.mark.parametrize("keep", [False, True], ids=["after-clients", "clients-connected"])
def test_sigterm_with_many_sessions(start_server, keep):
    sigterm_after(start_server(), 10, keep)
