"""sendmsg(): SEND-1..5, SEND-E and the X-* send rows, through sockcheck-probe's
raw calls. Expected values are BEHAVIOURS.md's (or the kernel's, where
exceptions.toml says so)."""
import itertools

import pytest

from sc_kfacts import fact
from sc_probe import DIRS, MODES, TYPES, dir_id, err, fnv1a64, ok, pair_step, pattern, script

behaviour = pytest.mark.behaviour


def ids(fmt, rows, n):
    return [fmt % tuple(r[:n]) for r in rows]


# ---------------------------------------------------------------- SEND-1
S1 = [(t, m, d, n, script(pair_step(t, m), "send %d iov=%d" % (d[0], n),
                          "recv %d iov=65536" % d[1]))
      for t, m, d, n in itertools.product(TYPES, MODES, DIRS, (1, 100, 1000, 60000))]


@behaviour("SEND-1")
@pytest.mark.parametrize("kind,mode,d,n,s", S1,
                         ids=["%s-%s-%s-%dB" % (t, m, dir_id(d), n) for t, m, d, n, _ in S1])
def test_send_returns_byte_count(probe, kind, mode, d, n, s):
    _, snd, rcv = probe(s)
    ok(snd, n)
    assert snd["bytes"] == n
    ok(rcv, n)


S1E = [(t, script(pair_step(t, "block"), "close 1", "send 0 iov=4 flags=MSG_NOSIGNAL"))
       for t in TYPES]


@behaviour("SEND-1")
@pytest.mark.parametrize("kind,s", S1E, ids=list(TYPES))
def test_send_failure_is_minus_one_with_errno(probe, kind, s):
    rec = probe(s)[-1]
    assert rec["ret"] == -1 and rec["errno"] > 0 and rec["errno_name"].startswith("E")


# ---------------------------------------------------------------- SEND-2
GATHER = ("5,0,3", "16x1", "0,0,7", "100,1,1000", "1024x1", "0,5", "3,0,0,0,3", "7,300x2,9")


def layout_total(spec):
    total = 0
    for part in spec.split(","):
        if "x" in part:
            c, l = part.split("x")
            total += int(c) * int(l)
        else:
            total += int(part)
    return total


S2 = [(t, m, d, lay, script(pair_step(t, m), "send %d iov=%s seed=3" % (d[0], lay),
                            "recv %d iov=8192 hexcap=8192" % d[1]))
      for t, m, d, lay in itertools.product(TYPES, MODES, DIRS, GATHER)]


@behaviour("SEND-2")
@pytest.mark.parametrize("kind,mode,d,lay,s", S2,
                         ids=["%s-%s-%s-iov%s" % (t, m, dir_id(d), l) for t, m, d, l, _ in S2])
def test_gather_sends_iovecs_in_order(probe, kind, mode, d, lay, s):
    _, snd, rcv = probe(s)
    total = layout_total(lay)
    want = pattern(total, 3)
    ok(snd, total)
    ok(rcv, total)
    assert bytes.fromhex(rcv["data"]) == want
    assert rcv["fnv"] == fnv1a64(want) == snd["fnv"]


# ---------------------------------------------------------------- SEND-3
def udp_script(fam, n, data=None):
    host = "127.0.0.1:0" if fam == "inet" else "[::1]:0"
    payload = ("data=%s" % data.hex()) if data is not None else "seed=9"
    return script("socket %s dgram" % fam, "bind 0 %s" % host, "socket %s dgram" % fam,
                  "bind 1 %s" % host, "send 1 iov=%d %s to=slot:0" % (n, payload),
                  "recv 0 iov=65536 name=128 hexcap=65536")


S3 = [(f, n, udp_script(f, n)) for f in ("inet", "inet6") for n in (0, 1, 15, 256, 1000, 65507)]
S3 += [("inet", 15, udp_script("inet", 15, b"Hello, sendmsg!"))]


@behaviour("SEND-3")
@pytest.mark.parametrize("fam,n,s", S3, ids=["%s-%dB-%d" % (f, n, i) for i, (f, n, _) in enumerate(S3)])
def test_msg_name_names_udp_destination(probe, fam, n, s):
    steps = probe(s)
    sender_bind, snd, rcv = steps[3], steps[4], steps[5]
    ok(snd, n)
    ok(rcv, n)
    assert rcv["name"] == sender_bind["local"]
    if "Hello" in s or n == 15 and "data=" in s:
        assert bytes.fromhex(rcv["data"]) == b"Hello, sendmsg!"
    else:
        assert bytes.fromhex(rcv["data"]) == pattern(n, 9)


S3U = [(k, script("socket unix %s" % k, "bind 0 unix:$T/dst", "socket unix %s" % k,
                  "send 1 iov=6 to=unix:$T/dst", "recv 0 iov=16"))
       for k in ("dgram",)]
S3U += [("unconnected-no-name", script("socket inet dgram", "send 0 iov=3"))]


@behaviour("SEND-3")
@pytest.mark.parametrize("kind,s", S3U, ids=[k for k, _ in S3U])
def test_msg_name_for_unix_dgram_and_missing_name(probe, kind, s):
    steps = probe(s)
    if kind == "dgram":
        ok(steps[3], 6)
        ok(steps[4], 6)
    else:
        err(steps[-1], "EDESTADDRREQ")


# ---------------------------------------------------------------- SEND-4
S4 = [(t, d, n, script(pair_step(t, "block"), "send %d iov=3 rights=%d" % (d[0], n),
                       "recv %d iov=8 control=fds:%d" % (d[1], n)))
      for t, d, n in itertools.product(TYPES, DIRS, (1, 2, 3, 16, 253))]


@behaviour("SEND-4")
@pytest.mark.parametrize("kind,d,n,s", S4,
                         ids=["%s-%s-%dfds" % (t, dir_id(d), n) for t, d, n, _ in S4])
def test_scm_rights_passes_descriptors(probe, kind, d, n, s):
    _, snd, rcv = probe(s)
    ok(snd, 3)
    ok(rcv, 3)
    assert rcv["fds"] == n and rcv["fd_match"], rcv
    assert rcv["msg_flags"] == 0


S4N = [(t, script(pair_step(t, "block"), "send 0 iov=3", "recv 1 iov=8 control=64"))
       for t in TYPES]


@behaviour("SEND-4")
@pytest.mark.parametrize("kind,s", S4N, ids=list(TYPES))
def test_no_control_means_no_ancillary_data(probe, kind, s):
    rcv = probe(s)[-1]
    ok(rcv, 3)
    assert rcv["controllen"] == 0 and rcv["cmsgs"] == []


S4X = [(t, script(pair_step(t, "block"), "send 0 iov=3 rights=254")) for t in TYPES]


@behaviour("SEND-4")
@pytest.mark.parametrize("kind,s", S4X, ids=list(TYPES))
def test_more_than_scm_max_fd_is_einval(probe, kind, s):
    err(probe(s)[-1], "EINVAL")


# ---------------------------------------------------------------- SEND-5
S5 = [(t, m, d, script(pair_step(t, m), "fill %d" % d[0], "send %d iov=1 flags=MSG_DONTWAIT" % d[0]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("SEND-5")
@pytest.mark.parametrize("kind,mode,d,s", S5, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in S5])
def test_dontwait_on_full_buffer_is_eagain(probe, kind, mode, d, s):
    steps = probe(s)
    fill, snd = steps[1], steps[2]
    err(fill, "EAGAIN")
    assert fill["bytes"] > 0
    err(snd, "EAGAIN")


# Kernel results for the remaining flags (MSG_OOB only on streams: AF_UNIX OOB).
FLAG_RESULT = {
    ("MSG_DONTROUTE", "stream"): 3, ("MSG_DONTROUTE", "dgram"): 3, ("MSG_DONTROUTE", "seqpacket"): 3,
    ("MSG_EOR", "stream"): 3, ("MSG_EOR", "dgram"): 3, ("MSG_EOR", "seqpacket"): 3,
    ("MSG_MORE", "stream"): 3, ("MSG_MORE", "dgram"): 3, ("MSG_MORE", "seqpacket"): 3,
    ("MSG_DONTWAIT", "stream"): 3, ("MSG_DONTWAIT", "dgram"): 3, ("MSG_DONTWAIT", "seqpacket"): 3,
    ("MSG_OOB", "seqpacket"): "EOPNOTSUPP", ("MSG_OOB", "dgram"): "EOPNOTSUPP",
}
S5F = [(f, t, m, d, script(pair_step(t, m), "send %d iov=3 flags=%s" % (d[0], f),
                           "recv %d iov=8 flags=MSG_DONTWAIT" % d[1]))
       for (f, t), m, d in itertools.product(sorted(FLAG_RESULT), MODES, DIRS)]


@behaviour("SEND-5")
@pytest.mark.parametrize("flag,kind,mode,d,s", S5F,
                         ids=["%s-%s-%s-%s" % (f, t, m, dir_id(d)) for f, t, m, d, _ in S5F])
def test_send_flags(probe, flag, kind, mode, d, s):
    _, snd, rcv = probe(s)
    want = FLAG_RESULT[(flag, kind)]
    if isinstance(want, str):
        err(snd, want)
        err(rcv, "EAGAIN")
    else:
        ok(snd, want)
        ok(rcv, want)
        assert bytes.fromhex(rcv["data"]) == pattern(3)


# ---------------------------------------------------------------- SEND-E
def se(name, expect, *steps):
    return (name, expect, script(*steps))


SE = []
for t in TYPES:
    SE += [
        se("%s-1025iov" % t, "EMSGSIZE", pair_step(t, "block"), "send 0 iov=1025x1"),
        se("%s-2000iov" % t, "EMSGSIZE", pair_step(t, "block"), "send 0 iov=2000x0"),
        se("%s-len-over-ssize-max" % t, "EINVAL", pair_step(t, "block"),
           "send 0 iov=9223372036854775808"),
        se("%s-len-over-ssize-max-2nd" % t, "EINVAL", pair_step(t, "block"),
           "send 0 iov=1,18446744073709551615"),
        se("%s-null-base" % t, "EFAULT", pair_step(t, "block"), "send 0 iov=4 null=0"),
        se("%s-null-base-2nd" % t, "EFAULT", pair_step(t, "block"), "send 0 iov=4,4,4 null=1"),
        se("%s-msg-null" % t, "EFAULT", pair_step(t, "block"), "send 0 msg=null"),
        se("%s-closed-fd" % t, "EBADF", pair_step(t, "block"), "close 0", "send 0 iov=1"),
    ]
    for m in MODES:
        SE += [se("%s-%s-peer-closed" % (t, m), "EPIPE" if t != "dgram" else "ECONNREFUSED",
                  pair_step(t, m), "close 1", "send 0 iov=3 flags=MSG_NOSIGNAL")]
SE += [
    se("fd-minus-1", "EBADF", "send raw:-1 iov=1"),
    se("fd-99999", "EBADF", "send raw:99999 iov=1"),
    se("pipe-read-end", "ENOTSOCK", "pipe", "send 0 iov=1"),
    se("pipe-write-end", "ENOTSOCK", "pipe", "send 1 iov=1"),
    se("dev-null", "ENOTSOCK", "open /dev/null", "send 0 iov=1"),
    se("stdin-as-regular-file", "ENOTSOCK", "mkfile $T/f", "open $T/f", "send 0 iov=1"),
    se("dgram-over-sndbuf", "EMSGSIZE", "pair unix dgram", "send 0 iov=638976"),
    se("seqpacket-over-sndbuf", "EMSGSIZE", "pair unix seqpacket", "send 0 iov=638976"),
    se("udp-over-65507", "EMSGSIZE", "socket inet dgram", "bind 0 127.0.0.1:0",
       "send 0 iov=65508 to=slot:0"),
]


@behaviour("SEND-E")
@pytest.mark.parametrize("name,expect,s", SE, ids=[n for n, _, _ in SE])
def test_send_errors(probe, name, expect, s):
    err(probe(s)[-1], expect)


SEP = [(m, script(pair_step("stream", m), "close 1", "send 0 iov=3")) for m in MODES]


@behaviour("SEND-E")
@pytest.mark.parametrize("mode,s", SEP, ids=list(MODES))
def test_stream_epipe_raises_sigpipe_without_nosignal(probe, mode, s):
    rec = probe(s)[-1]
    err(rec, "EPIPE")
    assert rec["sigpipe"] == 1


# ------------------------------------------------------------- X-ZSEND
XZ = [(t, m, d, script(pair_step(t, m), "send %d iov=0" % d[0], "send %d" % d[0],
                       "recv %d iov=8 flags=MSG_DONTWAIT" % d[1],
                       "recv %d iov=8 flags=MSG_DONTWAIT" % d[1],
                       "recv %d iov=8 flags=MSG_DONTWAIT" % d[1]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("X-ZSEND")
@pytest.mark.parametrize("kind,mode,d,s", XZ, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in XZ])
def test_zero_length_sends(probe, kind, mode, d, s):
    _, s1, s2, r1, r2, r3 = probe(s)
    ok(s1, 0)
    ok(s2, 0)
    if kind == "stream":
        err(r1, "EAGAIN")
    else:
        ok(r1, 0)
        ok(r2, 0)
        err(r3, "EAGAIN")


# ------------------------------------------------------------- X-DGRAMBIG
XB = [(t, m, d, n, script(pair_step(t, m), "send %d iov=%d" % (d[0], n)))
      for t, m, d, n in itertools.product(("dgram", "seqpacket"), MODES, DIRS, (638976, 212992 * 2))]


@behaviour("X-DGRAMBIG")
@pytest.mark.parametrize("kind,mode,d,n,s", XB,
                         ids=["%s-%s-%s-%dB" % (t, m, dir_id(d), n) for t, m, d, n, _ in XB])
def test_datagram_larger_than_sndbuf(probe, kind, mode, d, n, s):
    err(probe(s)[-1], "EMSGSIZE")


XB2 = [(t, script(pair_step(t, "block"), "sockopt 0 sndbuf=4096", "send 0 iov=65536"))
       for t in ("dgram", "seqpacket")]


@behaviour("X-DGRAMBIG")
@pytest.mark.parametrize("kind,s", XB2, ids=["%s-small-sndbuf" % t for t, _ in XB2])
def test_datagram_larger_than_lowered_sndbuf(probe, kind, s):
    steps = probe(s)
    assert steps[1]["value"] > 0
    err(steps[-1], "EMSGSIZE")


# ------------------------------------------------------------- X-IOVMAX
XI = [(t, m, d, n, script(pair_step(t, m), "send %d iov=%dx1" % (d[0], n),
                          "recv %d iov=4096 flags=MSG_DONTWAIT" % d[1]))
      for t, m, d, n in itertools.product(TYPES, MODES, DIRS, (1023, 1024, 1025))]


@behaviour("X-IOVMAX")
@pytest.mark.parametrize("kind,mode,d,n,s", XI,
                         ids=["%s-%s-%s-%diov" % (t, m, dir_id(d), n) for t, m, d, n, _ in XI])
def test_iov_max(probe, kind, mode, d, n, s):
    _, snd, rcv = probe(s)
    if n <= 1024:
        ok(snd, n)
        ok(rcv, n)
    else:
        err(snd, "EMSGSIZE")
        err(rcv, "EAGAIN")  # nothing was sent


# ------------------------------------------------------------- X-PEERCLOSE
XP = [(t, m, d, script(pair_step(t, m), "close %d" % d[1], "send %d iov=3" % d[0],
                       "send %d iov=3 flags=MSG_NOSIGNAL" % d[0]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("X-PEERCLOSE")
@pytest.mark.parametrize("kind,mode,d,s", XP, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in XP])
def test_send_after_peer_closed(probe, kind, mode, d, s):
    _, _, first, second = probe(s)
    if kind == "stream":
        err(first, "EPIPE")
        assert first["sigpipe"] == 1
        err(second, "EPIPE")
        assert second["sigpipe"] == 0
    elif kind == "seqpacket":
        # EPIPE, SIGPIPE as the kernel fact seqpacket-sigpipe says (6.18: none, exceptions.toml)
        err(first, "EPIPE")
        err(second, "EPIPE")
        assert first["sigpipe"] == (1 if fact("seqpacket-sigpipe") == "raised" else 0)
        assert second["sigpipe"] == 0  # MSG_NOSIGNAL
    else:
        err(first, "ECONNREFUSED")
        err(second, "ENOTCONN" if fact("dgram-peerclose") == "refused-once" else "ECONNREFUSED")


# ------------------------------------------------------------- X-SHUT
XS = [(t, m, d, script(pair_step(t, m), "send %d iov=4" % d[0], "shutdown %d wr" % d[0],
                       "send %d iov=1 flags=MSG_NOSIGNAL" % d[0], "recv %d iov=8" % d[1],
                       "recv %d iov=8 flags=MSG_DONTWAIT" % d[1], "send %d iov=2" % d[1],
                       "recv %d iov=8" % d[0]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("X-SHUT")
@pytest.mark.parametrize("kind,mode,d,s", XS, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in XS])
def test_shutdown_wr(probe, kind, mode, d, s):
    _, _, shut, own, queued, eof, back, got = probe(s)
    ok(shut, 0)
    err(own, "EPIPE")
    ok(queued, 4)
    assert bytes.fromhex(queued["data"]) == pattern(4)
    if kind == "dgram":
        err(eof, "EAGAIN")  # no EOF on a datagram socket: nothing more queued
    else:
        ok(eof, 0)
    ok(back, 2)  # the other direction still works
    ok(got, 2)


XS2 = [(t, script(pair_step(t, "block"), "send 0 iov=1", "shutdown 0 wr",
                  "send 0 iov=1")) for t in ("stream",)]


@behaviour("X-SHUT")
@pytest.mark.parametrize("kind,s", XS2, ids=["stream-sigpipe"])
def test_shutdown_wr_stream_sigpipe(probe, kind, s):
    rec = probe(s)[-1]
    err(rec, "EPIPE")
    assert rec["sigpipe"] == 1


# ------------------------------------------------------------- X-CMSG-E
XC = []
for t in TYPES:
    XC += [
        ("%s-bad-fd" % t, "EBADF", script(pair_step(t, "block"), "send 0 iov=1 rights=bad")),
        ("%s-closed-fd" % t, "EBADF", script(pair_step(t, "block"), "close 1",
                                             "send 0 iov=1 rights=bad")),
        ("%s-cmsglen-0" % t, "EINVAL", script(pair_step(t, "block"), "send 0 iov=1 rights=1 cmsglen=0")),
        ("%s-cmsglen-8" % t, "EINVAL", script(pair_step(t, "block"), "send 0 iov=1 rights=1 cmsglen=8")),
        ("%s-cmsglen-15" % t, "EINVAL", script(pair_step(t, "block"),
                                               "send 0 iov=1 rights=1 cmsglen=15")),
        ("%s-cmsglen-past-end" % t, "EINVAL", script(pair_step(t, "block"),
                                                     "send 0 iov=1 rights=1 cmsglen=4096")),
        ("%s-creds-other-pid-unprivileged" % t, "EPERM",
         script("setuid 65534", pair_step(t, "block"), "send 0 iov=1 creds=1:65534:65534")),
        ("%s-creds-other-uid-unprivileged" % t, "EPERM",
         script("setuid 65534", pair_step(t, "block"), "send 0 iov=1 creds=self",
                "send 0 iov=1 creds=1:0:0")),
    ]


@behaviour("X-CMSG-E")
@pytest.mark.parametrize("name,expect,s", XC, ids=[n for n, _, _ in XC])
def test_malformed_ancillary_data(probe, name, expect, s):
    steps = probe(s)
    if "setuid" in s:
        assert steps[0]["euid"] == 65534
    err(steps[-1], expect)


XC2 = [(t, script("setuid 65534", pair_step(t, "block"), "sockopt 2 passcred=1" if False else
                  "sockopt 1 passcred=1", "send 0 iov=1 creds=self", "recv 1 iov=4 control=64"))
       for t in TYPES]


@behaviour("X-CMSG-E")
@pytest.mark.parametrize("kind,s", XC2, ids=["%s-own-creds-accepted" % t for t, _ in XC2])
def test_own_credentials_are_accepted(probe, kind, s):
    steps = probe(s)
    ok(steps[-2], 1)
    rcv = steps[-1]
    ok(rcv, 1)
    assert rcv["cred_uid"] == 65534 and rcv["cred_gid"] == 65534
