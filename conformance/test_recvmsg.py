"""recvmsg(): RECV-1..5, RECV-E and the X-* receive rows, through
sockcheck-probe's raw calls."""
import itertools
import socket

import pytest

from sc_kfacts import fact
from sc_probe import DIRS, MODES, TYPES, dir_id, err, fnv1a64, ok, pair_step, pattern, script

behaviour = pytest.mark.behaviour
DGRAMS = ("dgram", "seqpacket")

# ---------------------------------------------------------------- RECV-1
R1 = [(t, m, d, n, script(pair_step(t, m), "send %d iov=%d seed=5" % (d[0], n),
                          "recv %d iov=%d" % (d[1], room)))
      for t, m, d, (n, room) in itertools.product(TYPES, MODES, DIRS,
                                                  ((1, 1), (10, 100), (500, 500), (4000, 65536)))]


@behaviour("RECV-1")
@pytest.mark.parametrize("kind,mode,d,n,s", R1,
                         ids=["%s-%s-%s-%dB" % (t, m, dir_id(d), n) for t, m, d, n, _ in R1])
def test_recv_returns_byte_count(probe, kind, mode, d, n, s):
    rcv = probe(s)[-1]
    ok(rcv, n)
    assert rcv["bytes"] == n == rcv["len"]
    assert bytes.fromhex(rcv["data"]) == pattern(min(n, 64), 5)


R1E = [(t, m, script(pair_step(t, m), "recv 0 iov=4 flags=MSG_DONTWAIT")) for t in TYPES for m in MODES]


@behaviour("RECV-1")
@pytest.mark.parametrize("kind,mode,s", R1E, ids=["%s-%s" % (t, m) for t, m, _ in R1E])
def test_recv_failure_is_minus_one_with_errno(probe, kind, mode, s):
    rec = probe(s)[-1]
    assert rec["ret"] == -1 and rec["errno"] > 0 and rec["errno_name"] == "EAGAIN"


# ---------------------------------------------------------------- RECV-2
SCATTER = ("3,5", "1,1,1,1,1,1,1,1", "0,4,0,4", "2,0,0,6", "7,1", "64x1", "1,2,3,2")
R2 = [(t, m, d, lay, script(pair_step(t, m), "send %d iov=8 seed=7" % d[0],
                            "recv %d iov=%s hexcap=128" % (d[1], lay)))
      for t, m, d, lay in itertools.product(TYPES, MODES, DIRS, SCATTER)]


@behaviour("RECV-2")
@pytest.mark.parametrize("kind,mode,d,lay,s", R2,
                         ids=["%s-%s-%s-iov%s" % (t, m, dir_id(d), l) for t, m, d, l, _ in R2])
def test_scatter_fills_iovecs_in_order(probe, kind, mode, d, lay, s):
    rcv = probe(s)[-1]
    ok(rcv, 8)
    assert bytes.fromhex(rcv["data"]) == pattern(8, 7)
    assert rcv["iov_unchanged"]


# ---------------------------------------------------------------- RECV-3
def udp(fam, sizes):
    host = "127.0.0.1:0" if fam == "inet" else "[::1]:0"
    steps = ["socket %s dgram" % fam, "bind 0 %s" % host, "socket %s dgram" % fam, "bind 1 %s" % host]
    steps += ["send 1 iov=%d seed=%d to=slot:0" % (n, i) for i, n in enumerate(sizes)]
    steps += ["recv 0 iov=65536 name=128" for _ in sizes]
    steps += ["recv 0 iov=65536 flags=MSG_DONTWAIT"]
    return script(*steps)


R3 = [(f, sizes, udp(f, sizes)) for f in ("inet", "inet6")
      for sizes in ((11,), (1, 2, 3), (256, 0, 256), (1000, 65507), (5,) * 8)]


@behaviour("RECV-3")
@pytest.mark.parametrize("fam,sizes,s", R3,
                         ids=["%s-%s" % (f, "_".join(map(str, z))) for f, z, _ in R3])
def test_one_recv_one_datagram_with_sender(probe, fam, sizes, s):
    steps = probe(s)
    sender = steps[3]["local"]
    recvs = steps[4 + len(sizes):]
    for i, n in enumerate(sizes):
        ok(recvs[i], n)
        assert recvs[i]["name"] == sender
        assert bytes.fromhex(recvs[i]["data"]) == pattern(min(n, 64), i)
    err(recvs[-1], "EAGAIN")


# ---------------------------------------------------------------- RECV-4
R4 = []
for t, m, d in itertools.product(TYPES, MODES, DIRS):
    pr = pair_step(t, m)
    R4 += [
        ("peek", t, m, d, script(pr, "send %d iov=6" % d[0], "recv %d iov=6 flags=MSG_PEEK" % d[1],
                                 "recv %d iov=6" % d[1], "recv %d iov=6 flags=MSG_DONTWAIT" % d[1])),
        ("dontwait", t, m, d, script(pr, "recv %d iov=6 flags=MSG_DONTWAIT" % d[1])),
    ]
    if t == "stream":
        R4.append(("waitall", t, m, d, script(pr, "send %d iov=3" % d[0], "send %d iov=3 seed=3" % d[0],
                                              "recv %d iov=6 flags=MSG_WAITALL" % d[1])))
    else:
        R4 += [
            ("trunc-flag", t, m, d, script(pr, "send %d iov=10" % d[0], "recv %d iov=4" % d[1],
                                           "recv %d iov=4 flags=MSG_DONTWAIT" % d[1])),
            ("trunc-real-len", t, m, d, script(pr, "send %d iov=10" % d[0],
                                               "recv %d iov=4 flags=MSG_TRUNC" % d[1])),
        ]


@behaviour("RECV-4")
@pytest.mark.parametrize("what,kind,mode,d,s", R4,
                         ids=["%s-%s-%s-%s" % (w, t, m, dir_id(d)) for w, t, m, d, _ in R4])
def test_recv_flags(probe, what, kind, mode, d, s):
    steps = probe(s)
    if what == "peek":
        _, _, peek, real, empty = steps
        ok(peek, 6)
        ok(real, 6)
        assert peek["data"] == real["data"] == pattern(6).hex()
        err(empty, "EAGAIN")
    elif what == "dontwait":
        err(steps[-1], "EAGAIN")
    elif what == "waitall":
        ok(steps[-1], 6)
        assert bytes.fromhex(steps[-1]["data"]) == pattern(3) + pattern(3, 3)
    elif what == "trunc-flag":
        rcv, rest = steps[-2], steps[-1]
        ok(rcv, 4)
        assert "MSG_TRUNC" in rcv["msg_flags_names"]
        err(rest, "EAGAIN")  # the rest of the datagram is discarded
    else:
        rcv = steps[-1]
        ok(rcv, 10)
        assert rcv["len"] == 4 and "MSG_TRUNC" in rcv["msg_flags_names"]


# ---------------------------------------------------------------- RECV-5
R5 = [(t, m, d, script(pair_step(t, m), "send %d iov=0" % d[0], "send %d iov=2" % d[0],
                       "recv %d iov=8" % d[1], "recv %d iov=8" % d[1]))
      for t, m, d in itertools.product(DGRAMS, MODES, DIRS)]


@behaviour("RECV-5")
@pytest.mark.parametrize("kind,mode,d,s", R5, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in R5])
def test_zero_length_datagram_is_a_message(probe, kind, mode, d, s):
    steps = probe(s)
    ok(steps[-2], 0)
    assert steps[-2]["msg_flags"] == 0
    ok(steps[-1], 2)


R5B = [(t, m, d, script(pair_step(t, m), "send %d iov=3" % d[0], "close %d" % d[0],
                        "recv %d iov=8" % d[1], "recv %d iov=8" % d[1], "recv %d iov=8" % d[1]))
       for t, m, d in itertools.product(("stream", "seqpacket"), MODES, DIRS)]


@behaviour("RECV-5")
@pytest.mark.parametrize("kind,mode,d,s", R5B, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in R5B])
def test_closed_stream_peer_gives_zero(probe, kind, mode, d, s):
    steps = probe(s)
    ok(steps[-3], 3)
    ok(steps[-2], 0)
    ok(steps[-1], 0)  # EOF stays EOF


# ---------------------------------------------------------------- RECV-E
RE = []
for t in TYPES:
    RE += [
        ("%s-empty-dontwait" % t, "EAGAIN", script(pair_step(t, "block"), "recv 1 iov=4 flags=MSG_DONTWAIT")),
        ("%s-empty-nonblock" % t, "EAGAIN", script(pair_step(t, "nonblock"), "recv 1 iov=4")),
        ("%s-msg-null" % t, "EFAULT", script(pair_step(t, "block"), "send 0 iov=1", "recv 1 msg=null")),
        ("%s-closed-fd" % t, "EBADF", script(pair_step(t, "block"), "close 1", "recv 1 iov=4")),
        ("%s-1025iov" % t, "EMSGSIZE", script(pair_step(t, "block"), "send 0 iov=1",
                                              "recv 1 iov=1025x1")),
    ]
RE += [
    ("fd-minus-1", "EBADF", script("recv raw:-1 iov=1")),
    ("fd-99999", "EBADF", script("recv raw:99999 iov=1")),
    ("pipe-read-end", "ENOTSOCK", script("pipe", "recv 0 iov=1")),
    ("pipe-write-end", "ENOTSOCK", script("pipe", "recv 1 iov=1")),
    ("dev-null", "ENOTSOCK", script("open /dev/null", "recv 0 iov=1")),
    ("udp-empty-dontwait", "EAGAIN", script("socket inet dgram", "bind 0 127.0.0.1:0",
                                            "recv 0 iov=4 flags=MSG_DONTWAIT")),
]


@behaviour("RECV-E")
@pytest.mark.parametrize("name,expect,s", RE, ids=[n for n, _, _ in RE])
def test_recv_errors(probe, name, expect, s):
    err(probe(s)[-1], expect)


# ---------------------------------------------------------------- X-ZLEN
ZL = {"0": (0, True, True), "MSG_PEEK": (0, False, True), "MSG_TRUNC": (5, True, True),
      "MSG_PEEK|MSG_TRUNC": (5, False, True)}
XZ = [(fl, t, m, d, script(pair_step(t, m), "send %d iov=5" % d[0],
                           "recv %d iov=0 flags=%s" % (d[1], fl), "recv %d iov=8 flags=MSG_DONTWAIT" % d[1]))
      for fl, t, m, d in itertools.product(sorted(ZL), ("dgram",), MODES, DIRS)]
XZ += [(fl, t, m, d, script(pair_step(t, m), "send %d iov=5" % d[0],
                            "recv %d flags=%s" % (d[1], fl), "recv %d iov=8 flags=MSG_DONTWAIT" % d[1]))
       for fl, t, m, d in itertools.product(sorted(ZL), ("dgram",), ("block",), DIRS)]


@behaviour("X-ZLEN")
@pytest.mark.parametrize("flags,kind,mode,d,s", XZ,
                         ids=["%s-%s-%s-%s-%s" % (f.replace("|", "+"), t, m, dir_id(d),
                                                  "emptyiov" if "iov=0" in s else "noiov")
                              for f, t, m, d, s in XZ])
def test_zero_length_receive(probe, flags, kind, mode, d, s):
    _, _, zr, after = probe(s)
    ret, consumed, trunc = ZL[flags]
    ok(zr, ret)
    assert ("MSG_TRUNC" in zr["msg_flags_names"]) == trunc
    if consumed:
        err(after, "EAGAIN")
    else:
        ok(after, 5)


# ---------------------------------------------------------------- X-SEQTRUNC
XT = [(m, d, room, script(pair_step("seqpacket", m), "send %d iov=10" % d[0],
                          "send %d iov=3 seed=50" % d[0], "recv %d iov=%d" % (d[1], room),
                          "recv %d iov=16" % d[1]))
      for m, d, room in itertools.product(MODES, DIRS, (1, 4, 9))]


@behaviour("X-SEQTRUNC")
@pytest.mark.parametrize("mode,d,room,s", XT, ids=["%s-%s-room%d" % (m, dir_id(d), r) for m, d, r, _ in XT])
def test_seqpacket_short_read(probe, mode, d, room, s):
    steps = probe(s)
    short, nxt = steps[-2], steps[-1]
    ok(short, room)
    assert "MSG_TRUNC" in short["msg_flags_names"]
    assert bytes.fromhex(short["data"]) == pattern(room)
    ok(nxt, 3)  # the rest of the first record was dropped
    assert bytes.fromhex(nxt["data"]) == pattern(3, 50)


# ---------------------------------------------------------------- X-CTRUNC
XCT = [(t, d, sent, room, script(pair_step(t, "block"), "send %d iov=4 rights=%d" % (d[0], sent),
                                 "recv %d iov=8 control=%s" % (d[1], room)))
       for t, d, (sent, room) in itertools.product(TYPES, DIRS, ((1, "0"), (3, "0"), (4, "fds:2"),
                                                                 (8, "fds:1"), (2, "fds:2")))]


@behaviour("X-CTRUNC")
@pytest.mark.parametrize("kind,d,sent,room,s", XCT,
                         ids=["%s-%s-%dfds-room_%s" % (t, dir_id(d), n, r.replace(":", ""))
                              for t, d, n, r, _ in XCT])
def test_control_truncation(probe, kind, d, sent, room, s):
    rcv = probe(s)[-1]
    ok(rcv, 4)
    assert bytes.fromhex(rcv["data"]) == pattern(4)
    # The kernel fills whole ints into the room given: CMSG_SPACE rounds up.
    fit = 0 if room == "0" else \
        (socket.CMSG_SPACE(4 * int(room.split(":")[1])) - socket.CMSG_LEN(0)) // 4
    if fit >= sent:
        assert "MSG_CTRUNC" not in rcv["msg_flags_names"]
        assert rcv["fds"] == sent and rcv["fd_match"]
    else:
        assert "MSG_CTRUNC" in rcv["msg_flags_names"]
        if fit:
            assert rcv["fds"] == fit and rcv["fd_matching"] == fit
        else:
            assert rcv["controllen"] == 0


# ---------------------------------------------------------------- X-CLOEXEC
XCL = [(t, d, n, fl, script(pair_step(t, "block"), "send %d iov=2 rights=%d" % (d[0], n),
                            "recv %d iov=4 control=fds:%d%s" % (d[1], n, " flags=MSG_CMSG_CLOEXEC" if fl else "")))
       for t, d, n, fl in itertools.product(TYPES, DIRS, (1, 3), (False, True))]


@behaviour("X-CLOEXEC", "RECV-4")
@pytest.mark.parametrize("kind,d,n,fl,s", XCL,
                         ids=["%s-%s-%dfds-%s" % (t, dir_id(d), n, "cmsg_cloexec" if f else "plain")
                              for t, d, n, f, _ in XCL])
def test_passed_fd_cloexec(probe, kind, d, n, fl, s):
    rcv = probe(s)[-1]
    ok(rcv, 2)
    assert rcv["fds"] == n and rcv["fd_match"]
    assert rcv["cloexec"] == (n if fl else 0)
    # msg_flags is set afresh; whether MSG_CMSG_CLOEXEC comes back in it is the kernel fact
    # cloexec-echo (6.18 echoes it, exceptions.toml RECV-4)
    echoed = fl and fact("cloexec-echo") == "echoed"
    assert rcv["msg_flags_names"] == (["MSG_CMSG_CLOEXEC"] if echoed else []), rcv


# ---------------------------------------------------------------- X-FLAGS
XF = [(t, m, d, script(pair_step(t, m), "send %d iov=4" % d[0],
                       "recv %d iov=8,8 preflags=0x7fffffff control=64" % d[1]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("X-FLAGS")
@pytest.mark.parametrize("kind,mode,d,s", XF, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in XF])
def test_msg_flags_set_afresh_and_iov_untouched(probe, kind, mode, d, s):
    rcv = probe(s)[-1]
    ok(rcv, 4)
    assert rcv["msg_flags"] == 0
    assert rcv["iov_unchanged"]


XF2 = [(t, d, script(pair_step(t, "block"), "send %d iov=10" % d[0], "recv %d iov=2,2,2" % d[1]))
       for t, d in itertools.product(TYPES, DIRS)]


@behaviour("X-FLAGS")
@pytest.mark.parametrize("kind,d,s", XF2, ids=["%s-%s-partial" % (t, dir_id(d)) for t, d, _ in XF2])
def test_iov_len_not_written_back_on_partial_fill(probe, kind, d, s):
    rcv = probe(s)[-1]
    ok(rcv, 6)
    assert rcv["iov_unchanged"]
    assert ("MSG_TRUNC" in rcv["msg_flags_names"]) == (kind != "stream")


XF3 = [(t, d, script(pair_step(t, "block"), "send %d iov=4" % d[0], "send %d iov=3" % d[0],
                     "recv %d iov=2" % d[1], "recv %d iov=8" % d[1])) for t, d in itertools.product(DGRAMS, DIRS)]


@behaviour("X-FLAGS")
@pytest.mark.parametrize("kind,d,s", XF3, ids=["%s-%s-trunc-then-clean" % (t, dir_id(d)) for t, d, _ in XF3])
def test_msg_flags_reset_after_a_truncated_read(probe, kind, d, s):
    steps = probe(s)
    assert "MSG_TRUNC" in steps[-2]["msg_flags_names"]
    ok(steps[-1], 3)
    assert steps[-1]["msg_flags"] == 0


# ---------------------------------------------------------------- X-WAITALL
XW = [(t, m, d, script(pair_step(t, m), "recv %d iov=4 flags=MSG_WAITALL|MSG_DONTWAIT" % d[1]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("X-WAITALL")
@pytest.mark.parametrize("kind,mode,d,s", XW, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in XW])
def test_waitall_dontwait_on_empty_queue(probe, kind, mode, d, s):
    err(probe(s)[-1], "EAGAIN")


XW2 = [(m, d, script(pair_step("stream", m), "send %d iov=3" % d[0],
                     "recv %d iov=8 flags=MSG_WAITALL|MSG_DONTWAIT" % d[1]))
       for m, d in itertools.product(MODES, DIRS)]


@behaviour("X-WAITALL")
@pytest.mark.parametrize("mode,d,s", XW2, ids=["stream-%s-%s-partial" % (m, dir_id(d)) for m, d, _ in XW2])
def test_waitall_dontwait_returns_what_is_queued(probe, mode, d, s):
    ok(probe(s)[-1], 3)
