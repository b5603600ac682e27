"""socketpair(): PAIR-1..5, PAIR-E1..E6, X-NONBLOCK (BEHAVIOURS.md), through
sockcheck-probe's raw calls, every AF_UNIX type x blocking mode x direction."""
import itertools

import pytest

from sc_probe import DIRS, MODES, TYPES, dir_id, err, ok, pair_step, pattern, script

behaviour = pytest.mark.behaviour

# ---------------------------------------------------------------- PAIR-1
P1 = [(t, m, ce, proto, script(pair_step(t, m, ("cloexec " if ce else "") + proto)))
      for t, m, ce, proto in itertools.product(TYPES, MODES, (False, True), ("0", "1"))]


@behaviour("PAIR-1")
@pytest.mark.parametrize("kind,mode,cloexec,proto,s", P1,
                         ids=["%s-%s-%s-proto%s" % (t, m, "cloexec" if c else "inherit", p)
                              for t, m, c, p, _ in P1])
def test_pair_returns_two_connected_descriptors(probe, kind, mode, cloexec, proto, s):
    (rec,) = probe(s)
    ok(rec, 0)
    assert len(rec["fds"]) == 2 and rec["fds"][0] != rec["fds"][1]


P1b = [(t, d, script(pair_step(t, "nonblock"), "send %d iov=1" % d[0],
                     "recv %d iov=4 flags=MSG_DONTWAIT" % d[1])) for t in TYPES for d in DIRS]


@behaviour("PAIR-1")
@pytest.mark.parametrize("kind,d,s", P1b, ids=["%s-%s" % (t, dir_id(d)) for t, d, _ in P1b])
def test_pair_ends_are_connected(probe, kind, d, s):
    _, snd, rcv = probe(s)
    ok(snd, 1)
    ok(rcv, 1)


# ---------------------------------------------------------------- PAIR-2
SIZES = (1, 17, 4096, 100000)
P2 = []
for t, m, d, n in itertools.product(TYPES, MODES, DIRS, SIZES):
    if t != "stream" and n > 100000:
        continue
    P2.append((t, m, d, n, script(pair_step(t, m), "sockopt 0 sndbuf=1000000",
                                  "sockopt 1 sndbuf=1000000", "send %d iov=%d seed=%d" % (d[0], n, n),
                                  "recv %d iov=%d flags=MSG_WAITALL hexcap=64" % (d[1], n))))


@behaviour("PAIR-2")
@pytest.mark.parametrize("kind,mode,d,n,s", P2,
                         ids=["%s-%s-%s-%dB" % (t, m, dir_id(d), n) for t, m, d, n, _ in P2])
def test_pair_is_full_duplex_byte_exact(probe, kind, mode, d, n, s):
    steps = probe(s)
    snd, rcv = steps[-2], steps[-1]
    ok(snd, n)
    ok(rcv, n)
    assert rcv["fnv"] == snd["fnv"]
    assert bytes.fromhex(rcv["data"]) == pattern(min(n, 64), n)


# ---------------------------------------------------------------- PAIR-3
P3 = [(t, m, d, script(pair_step(t, m), "send %d iov=5" % d[0],
                       "recv %d iov=8 flags=MSG_DONTWAIT" % d[0], "recv %d iov=8" % d[1]))
      for t, m, d in itertools.product(TYPES, MODES, DIRS)]


@behaviour("PAIR-3")
@pytest.mark.parametrize("kind,mode,d,s", P3, ids=["%s-%s-%s" % (t, m, dir_id(d)) for t, m, d, _ in P3])
def test_writer_cannot_read_its_own_data(probe, kind, mode, d, s):
    _, snd, own, peer = probe(s)
    ok(snd, 5)
    err(own, "EAGAIN")
    ok(peer, 5)
    assert bytes.fromhex(peer["data"]) == pattern(5)


# ---------------------------------------------------------------- PAIR-4
P4 = [(t, d, script(pair_step(t, "block"), "forksend %d %d" % d, "recv %d iov=16" % d[1]))
      for t, d in itertools.product(TYPES, DIRS)]


@behaviour("PAIR-4")
@pytest.mark.parametrize("kind,d,s", P4, ids=["%s-child_%s" % (t, dir_id(d)) for t, d, _ in P4])
def test_pair_across_fork(probe, kind, d, s):
    steps = probe(s)
    child = [r for r in steps if r["call"] == "child.send"]
    fork = [r for r in steps if r["call"] == "fork"]
    rcv = steps[-1]
    assert len(child) == 1 and child[0]["ret"] == 6, steps
    assert fork[0]["child_exit"] == 0
    ok(rcv, 6)
    assert bytes.fromhex(rcv["data"]) == b"hello\0"


# ---------------------------------------------------------------- PAIR-5
LAYOUTS = ((1, 2, 3), (10, 1, 10), (100, 0, 7), (5,) * 6, (4096, 1))
P5 = []
for t, m, d, lay in itertools.product(("dgram", "seqpacket"), MODES, DIRS, LAYOUTS):
    steps = [pair_step(t, m)]
    steps += ["send %d iov=%d seed=%d" % (d[0], n, i) for i, n in enumerate(lay)]
    steps += ["recv %d iov=8192" % d[1] for _ in lay]
    steps += ["recv %d iov=8192 flags=MSG_DONTWAIT" % d[1]]
    P5.append((t, m, d, lay, script(*steps)))


@behaviour("PAIR-5")
@pytest.mark.parametrize("kind,mode,d,lay,s", P5,
                         ids=["%s-%s-%s-%s" % (t, m, dir_id(d), "_".join(map(str, lay)))
                              for t, m, d, lay, _ in P5])
def test_dgram_pairs_keep_boundaries(probe, kind, mode, d, lay, s):
    steps = probe(s)
    recvs = steps[1 + len(lay):]
    for i, n in enumerate(lay):
        ok(recvs[i], n)
        assert bytes.fromhex(recvs[i]["data"]) == pattern(min(n, 64), i)
    err(recvs[-1], "EAGAIN")


# ---------------------------------------------------------------- errors
PE1 = [(f, t, script("pair %s %s" % (f, t))) for f in ("12345", "255", "-1", "1000")
       for t in TYPES]


@behaviour("PAIR-E1")
@pytest.mark.parametrize("family,kind,s", PE1, ids=["family%s-%s" % (f, t) for f, t, _ in PE1])
def test_unsupported_family(probe, family, kind, s):
    err(probe(s)[0], "EAFNOSUPPORT")


PE2 = [(t, m, script(pair_step(t, m, "sv=null"))) for t in TYPES for m in MODES]


@behaviour("PAIR-E2")
@pytest.mark.parametrize("kind,mode,s", PE2, ids=["%s-%s" % (t, m) for t, m, _ in PE2])
def test_sv_null_is_efault(probe, kind, mode, s):
    err(probe(s)[0], "EFAULT")


PE3 = [(t, 0, script("rlimit nofile low", "pair unix %s" % t)) for t in TYPES]
# One descriptor free: a pair needs two.
PE3 += [(t, 1, script("open /dev/null", "rlimit nofile low", "close 0", "pair unix %s" % t))
        for t in TYPES]


@behaviour("PAIR-E3")
@pytest.mark.parametrize("kind,room,s", PE3, ids=["%s-%dfree" % (t, r) for t, r, _ in PE3])
def test_descriptor_limit_is_emfile(probe, kind, room, s):
    steps = probe(s)
    err(steps[-1], "EMFILE")


PE4 = [(f, t, script("pair %s %s" % (f, t))) for f in ("inet", "inet6") for t in ("stream", "dgram")]


@behaviour("PAIR-E4")
@pytest.mark.parametrize("family,kind,s", PE4, ids=["%s-%s" % (f, t) for f, t, _ in PE4])
def test_inet_pairs_are_eopnotsupp(probe, family, kind, s):
    err(probe(s)[0], "EOPNOTSUPP")


PE4b = [(f, script("pair %s seqpacket" % f)) for f in ("inet", "inet6")]


@behaviour("PAIR-E4")
@pytest.mark.parametrize("family,s", PE4b, ids=[f for f, _ in PE4b])
def test_inet_seqpacket_fails_before_pairing(probe, family, s):
    # Kernel result (see exceptions.toml): no SOCK_SEQPACKET for IP at all.
    err(probe(s)[0], "ESOCKTNOSUPPORT")


PE5 = [(t, p, script("pair unix %s %d" % (t, p))) for t in TYPES for p in (2, 3, 17, 255)]


@behaviour("PAIR-E5")
@pytest.mark.parametrize("kind,proto,s", PE5, ids=["%s-proto%d" % (t, p) for t, p, _ in PE5])
def test_unix_protocol_not_supported(probe, kind, proto, s):
    err(probe(s)[0], "EPROTONOSUPPORT")


PE6 = [(ty, script("pair unix %s" % ty)) for ty in ("999", "11", "15", "0x101", "0x40000001")]


@behaviour("PAIR-E6")
@pytest.mark.parametrize("type_,s", PE6, ids=["type%s" % t for t, _ in PE6])
def test_invalid_type_is_einval(probe, type_, s):
    err(probe(s)[0], "EINVAL")


# ------------------------------------------------------------- X-NONBLOCK
XN = [(t, nb, ce, script("pair unix %s%s%s" % (t, " nonblock" if nb else "", " cloexec" if ce else "")))
      for t, nb, ce in itertools.product(TYPES, (False, True), (False, True))]


@behaviour("X-NONBLOCK")
@pytest.mark.parametrize("kind,nb,ce,s", XN,
                         ids=["%s-%s-%s" % (t, "nonblock" if nb else "blocking",
                                            "cloexec" if ce else "inherit") for t, nb, ce, _ in XN])
def test_flags_apply_to_both_ends(probe, kind, nb, ce, s):
    (rec,) = probe(s)
    ok(rec, 0)
    assert rec["nonblock"] == [nb, nb]
    assert rec["cloexec"] == [ce, ce]


XN2 = [(t, script("pair unix %s nonblock" % t, "recv 0 iov=4", "recv 1 iov=4")) for t in TYPES]


@behaviour("X-NONBLOCK")
@pytest.mark.parametrize("kind,s", XN2, ids=list(TYPES))
def test_nonblock_pair_never_blocks_either_end(probe, kind, s):
    _, a, b = probe(s)
    err(a, "EAGAIN")
    err(b, "EAGAIN")
