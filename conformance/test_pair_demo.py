"""The socketpair demo program (PAIR-1..4): sockcheck-pair, or another
implementation given with `--pair-cmd CMD` (repeatable: the seed's readers
write one program per example). Each command runs once under `strace -f`,
and each promise is judged from the system calls the program made, not from
what it prints: the socketpair() call and its two descriptors, every byte
written on one end and read on the other, a read of the writer's own end,
and which process closed which end before writing or reading."""
import collections
import glob
import os
import re

import pytest

import sc_proc
from sc_proc import IO_TIMEOUT, command_argv

behaviour = pytest.mark.behaviour
bundled_only = pytest.mark.bundled_only("--pair-cmd")

WRITES = ("write", "send", "sendto", "sendmsg", "writev")
READS = ("read", "recv", "recvfrom", "recvmsg", "readv")
CALL = re.compile(r"^(\w+)\((\d+|AF_UNIX)?(.*)\)\s+=\s+(-?\d+)(?:\s+(E[A-Z]+))?")
HEX = re.compile(r'"((?:\\x[0-9a-f]{2})*)"')
PAIR = re.compile(r"^socketpair\((\w+), ([\w|]+), (\w+), \[(\d+), (\d+)\]\)\s+=\s+0")

Call = collections.namedtuple("Call", "pid seq name fd data ret err")


def trace(argv, tmp):
    """Runs argv under strace -f; (exit code, {pid: [Call]}, the socketpair
    (domain, type, protocol, fd0, fd1) or None). Raises if it does not end
    within a few IO timeouts."""
    prefix = os.path.join(tmp, "t")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # LeakSanitizer cannot run under ptrace
    p = sc_proc.Proc(["strace", "-f", "-ff", "-qq", "-o", prefix, "-s", "4096", "-xx",
                      "-e", "trace=socketpair,close,read,write,readv,writev,sendto,sendmsg,recvfrom,recvmsg",
                      "-e", "signal=none", "--"] + argv, env=env)
    try:
        exited = p.wait_exit(5 * IO_TIMEOUT)
    finally:
        code = p.stop()
    assert exited, "%s did not end within %.0f s" % (argv, 5 * IO_TIMEOUT)
    calls, pair = {}, None
    for path in sorted(glob.glob(prefix + ".*")):
        pid = int(path.rsplit(".", 1)[1])
        mine = calls[pid] = []
        with open(path, errors="replace") as f:
            for seq, line in enumerate(f):
                m = PAIR.match(line)
                if m and pair is None and m.group(1) == "AF_UNIX":
                    pair = (m.group(1), m.group(2), m.group(3), int(m.group(4)), int(m.group(5)), pid, seq)
                m = CALL.match(line)
                if not m or not (m.group(2) or "").isdigit():
                    continue
                name = m.group(1)
                data = b"".join(bytes.fromhex(h.replace("\\x", "")) for h in HEX.findall(m.group(3)))
                ret = int(m.group(4))
                if name in READS + WRITES and ret >= 0:
                    data = data[:ret]
                mine.append(Call(pid, seq, name, int(m.group(2)), data, ret, m.group(5)))
    return code, calls, pair


def pair_calls(calls, pair):
    """The calls on the pair's two ends, per process, in order: after the
    socketpair() (its descriptor numbers may have served other files before),
    and until the process closes that end."""
    ends = {pair[3], pair[4]}
    out = {}
    for pid, cs in calls.items():
        live = set(ends)
        mine = out[pid] = []
        for c in cs:
            if pid == pair[5] and c.seq <= pair[6]:
                continue
            if c.fd in live:
                mine.append(c)
                if c.name == "close" and c.ret == 0:
                    live.discard(c.fd)
    return out


@pytest.fixture(scope="module")
def traces(request, program, tmp_path_factory):
    """Every demo command run once under strace: [(argv, code, calls, pair)]."""
    cmds = request.config.getoption("--pair-cmd")
    argvs = [command_argv(c) for c in cmds] if cmds else [[program("pair")], [program("pair"), "--fork"]]
    return [(argv,) + trace(argv, str(tmp_path_factory.mktemp("strace"))) for argv in argvs]


@pytest.fixture
def judged_traces(pair_cmds, traces):
    for argv, code, _, _ in traces:
        assert code == 0, "%s exited with %s" % (argv, code)
    return traces


def the_pair(argv, pair):
    assert pair, "%s made no AF_UNIX socketpair()" % argv
    return pair


def transfers(calls, pair):
    """Bytes written on each end and read on each end, over all processes."""
    sent = {pair[3]: b"", pair[4]: b""}
    got = {pair[3]: b"", pair[4]: b""}
    for cs in pair_calls(calls, pair).values():
        for c in cs:
            if c.ret > 0 and c.name in WRITES:
                sent[c.fd] += c.data
            elif c.ret > 0 and c.name in READS:
                got[c.fd] += c.data
    return sent, got


@behaviour("PAIR-1")
def test_socketpair_returns_two_connected_descriptors(judged_traces):
    for argv, _, calls, pair in judged_traces:
        domain, kind, proto, a, b = the_pair(argv, pair)[:5]
        assert kind.split("|")[0] == "SOCK_STREAM" and proto == "0", pair
        assert a != b, pair
        sent, got = transfers(calls, pair)
        # Connected: what one end wrote, the other read.
        assert any(got[x] and sent[y].startswith(got[x]) for x, y in ((a, b), (b, a))), \
            "%s: no bytes went from one end to the other (%r, %r)" % (argv, sent, got)


@behaviour("PAIR-2")
def test_what_one_end_writes_the_other_reads_byte_exact(judged_traces):
    moved = 0
    for argv, _, calls, pair in judged_traces:
        _, _, _, a, b = the_pair(argv, pair)[:5]
        sent, got = transfers(calls, pair)
        for x, y in ((a, b), (b, a)):
            assert sent[y].startswith(got[x]), \
                "%s: end %d read %r, but end %d wrote %r" % (argv, x, got[x], y, sent[y])
            moved += len(got[x])
    assert moved, "no bytes went through the pair"


@behaviour("PAIR-3")
def test_writer_reads_nothing_on_its_own_end(judged_traces):
    shown = []
    for argv, _, calls, pair in judged_traces:
        for pid, cs in pair_calls(calls, the_pair(argv, pair)).items():
            wrote = set()
            for c in cs:
                if c.name in WRITES and c.ret > 0:
                    wrote.add(c.fd)
                elif c.name in READS and c.fd in wrote:
                    # Bytes here could only be the peer's (checked byte-exact by PAIR-2).
                    if c.ret < 0:
                        assert c.err in ("EAGAIN", "EWOULDBLOCK"), c
                        shown.append(c)
    assert shown, "no program read the end it had just written on (nothing shown for PAIR-3)"


@behaviour("PAIR-4")
def test_pair_across_fork_each_closes_the_end_it_does_not_use(judged_traces):
    shown = []
    for argv, _, calls, pair in judged_traces:
        _, _, _, a, b = the_pair(argv, pair)[:5]
        per = pair_calls(calls, pair)
        for writer, wcs in per.items():
            for reader, rcs in per.items():
                if writer == reader:
                    continue
                for x, y in ((a, b), (b, a)):
                    w = [c for c in wcs if c.fd == x and c.name in WRITES and c.ret > 0]
                    r = [c for c in rcs if c.fd == y and c.name in READS and c.ret > 0]
                    if not (w and r):
                        continue
                    closed_w = [c for c in wcs if c.fd == y and c.name == "close" and c.ret == 0]
                    closed_r = [c for c in rcs if c.fd == x and c.name == "close" and c.ret == 0]
                    assert closed_w and closed_w[0].seq < w[0].seq, \
                        "%s: writer %d did not close end %d before writing on %d" % (argv, writer, y, x)
                    assert closed_r and closed_r[0].seq < r[0].seq, \
                        "%s: reader %d did not close end %d before reading on %d" % (argv, reader, x, y)
                    shown.append((writer, reader))
    assert shown, "no process wrote on the pair for another process to read (nothing shown for PAIR-4)"


# ---------------------------------------------------------------- our output
@bundled_only
@behaviour("PAIR-4")
@pytest.mark.parametrize("attempt", range(3))
def test_pair_demo_fork(program, attempt):
    p = sc_proc.Proc([program("pair"), "--fork"])
    exited = p.wait_exit(5 * IO_TIMEOUT)
    assert p.stop() == 0 and exited, p.text("stderr")
    assert p.text().splitlines() == [
        "socketpair(AF_UNIX, SOCK_STREAM, 0): ok",
        "child sent 6 bytes",
        'parent received 6 bytes: "hello"',
        "child exited with status 0",
    ]


@bundled_only
@behaviour("PAIR-1", "PAIR-2", "PAIR-3")
def test_pair_demo(program):
    p = sc_proc.Proc([program("pair")])
    exited = p.wait_exit(5 * IO_TIMEOUT)
    assert p.stop() == 0 and exited, p.text("stderr")
    assert p.text().splitlines() == [
        "socketpair(AF_UNIX, SOCK_STREAM, 0): ok",
        'sv[0] -> sv[1]: 16 bytes "SOCKET PAIR TEST"',
        "sv[0] reads its own end: EAGAIN (nothing to read)",
        'sv[1] -> sv[0]: 16 bytes "SOCKET PAIR TEST"',
        "sv[1] reads its own end: EAGAIN (nothing to read)",
    ]
