"""bind(): BIND-1, BIND-E1..E5, X-UNBIND, X-AUTOBIND, X-BIND-E, through
sockcheck-probe's raw calls ($T is the probe's per-script directory)."""
import itertools
import re

import pytest

from sc_probe import TYPES, err, ok, script

behaviour = pytest.mark.behaviour
INET = (("inet", "127.0.0.1:0"), ("inet", "0.0.0.0:0"), ("inet6", "[::1]:0"), ("inet6", "[::]:0"))
IPTYPES = ("stream", "dgram")

# ---------------------------------------------------------------- BIND-1
B1 = [(f, a, t, script("socket %s %s" % (f, t), "bind 0 %s" % a)) for (f, a), t in itertools.product(INET, IPTYPES)]
B1 += [("unix", "unix:$T/s", t, script("socket unix %s" % t, "bind 0 unix:$T/s")) for t in TYPES]
B1 += [("unix", "@name", t, script("socket unix %s" % t, "bind 0 @sockcheck-conf-%s-$T" % t)) for t in TYPES]


@behaviour("BIND-1")
@pytest.mark.parametrize("fam,addr,kind,s", B1, ids=["%s-%s-%s" % (f, a.replace("$T", "T"), t) for f, a, t, _ in B1])
def test_bind_returns_zero(probe, fam, addr, kind, s):
    rec = probe(s)[-1]
    ok(rec, 0)
    if fam.startswith("inet"):
        assert 0 < rec["port"] < 65536  # port 0 picks an ephemeral port
    elif addr.startswith("unix"):
        assert rec["node"] == "sock" and rec["local"].startswith("unix:/")


B1E = [(t, script("socket inet %s" % t, "bind 0 192.0.2.1:0")) for t in IPTYPES]


@behaviour("BIND-1")
@pytest.mark.parametrize("kind,s", B1E, ids=list(IPTYPES))
def test_bind_failure_is_minus_one_with_errno(probe, kind, s):
    rec = probe(s)[-1]
    assert rec["ret"] == -1 and rec["errno"] > 0


# ---------------------------------------------------------------- BIND-E1
BE1 = []
for (f, a), t in itertools.product(INET, IPTYPES):
    BE1.append((f, a, t, "listening" if t == "stream" else "bound",
                script("socket %s %s" % (f, t), "bind 0 %s" % a) if t == "dgram" else
                script("socket %s %s" % (f, t), "bind 0 %s" % a, "listen 0"),))
BE1 = [(f, a, t, how, s + " -- socket %s %s -- bind %d slot:0" % (f, t, 1)) for f, a, t, how, s in BE1]
BE1 = [(f, a, t, how, script(s)) for f, a, t, how, s in BE1]
BE1 += [("inet", "127.0.0.1", "stream", "wildcard-then-specific",
         script("socket inet stream", "bind 0 0.0.0.0:0", "listen 0", "socket inet stream",
                "bind 1 slot:0"))]


@behaviour("BIND-E1")
@pytest.mark.parametrize("fam,addr,kind,how,s", BE1,
                         ids=["%s-%s-%s-%s-%d" % (f, a, t, h, i) for i, (f, a, t, h, _) in enumerate(BE1)])
def test_port_in_use(probe, fam, addr, kind, how, s):
    steps = probe(s)
    ok(steps[1], 0)
    err(steps[-1], "EADDRINUSE")


# ---------------------------------------------------------------- BIND-E2
BE2 = [(a, t, script("socket inet %s" % t, "bind 0 %s" % a))
       for a, t in itertools.product(("192.0.2.1:0", "192.0.2.1:4000", "198.51.100.7:0", "203.0.113.9:0"), IPTYPES)]
BE2 += [(a, t, script("socket inet6 %s" % t, "bind 0 %s" % a))
        for a, t in itertools.product(("[2001:db8::1]:0",), IPTYPES)]


@behaviour("BIND-E2")
@pytest.mark.parametrize("addr,kind,s", BE2, ids=["%s-%s" % (a, t) for a, t, _ in BE2])
def test_non_local_address(probe, addr, kind, s):
    err(probe(s)[-1], "EADDRNOTAVAIL")


# ---------------------------------------------------------------- BIND-E3
BE3 = []
for t in IPTYPES:
    BE3 += [
        ("inet-%s-rebind" % t, script("socket inet %s" % t, "bind 0 127.0.0.1:0", "bind 0 127.0.0.1:0")),
        ("inet-%s-len0" % t, script("socket inet %s" % t, "bind 0 127.0.0.1:0 len=0")),
        ("inet-%s-len4" % t, script("socket inet %s" % t, "bind 0 127.0.0.1:0 len=4")),
        ("inet-%s-len15" % t, script("socket inet %s" % t, "bind 0 127.0.0.1:0 len=15")),
        ("inet6-%s-len23" % t, script("socket inet6 %s" % t, "bind 0 [::1]:0 len=23")),
        ("inet6-%s-rebind" % t, script("socket inet6 %s" % t, "bind 0 [::1]:0", "bind 0 [::1]:0")),
    ]
for t in TYPES:
    BE3 += [
        ("unix-%s-rebind" % t, script("socket unix %s" % t, "bind 0 unix:$T/a", "bind 0 unix:$T/b")),
        ("unix-%s-len1" % t, script("socket unix %s" % t, "bind 0 unix:$T/a len=1")),
        ("unix-%s-pair-end-rebind" % t, script("pair unix %s" % t, "bind 0 @", "bind 0 unix:$T/b")),
    ]


@behaviour("BIND-E3")
@pytest.mark.parametrize("name,s", BE3, ids=[n for n, _ in BE3])
def test_already_bound_or_short_addrlen(probe, name, s):
    err(probe(s)[-1], "EINVAL")


# ---------------------------------------------------------------- BIND-E4
BE4 = [("inet-%s-given-inet6" % t, "EAFNOSUPPORT", script("socket inet %s" % t, "bind 0 [::1]:0"))
       for t in IPTYPES]
BE4 += [("inet-%s-family-unix" % t, "EAFNOSUPPORT",
         script("socket inet %s" % t, "bind 0 127.0.0.1:0 family=unix")) for t in IPTYPES]
BE4 += [("inet-%s-family-99" % t, "EAFNOSUPPORT",
         script("socket inet %s" % t, "bind 0 127.0.0.1:0 family=99")) for t in IPTYPES]
BE4 += [("inet6-%s-given-inet" % t, "EINVAL", script("socket inet6 %s" % t, "bind 0 127.0.0.1:0"))
        for t in IPTYPES]  # sockaddr_in is shorter than sockaddr_in6: the length check fires first
BE4 += [("inet6-%s-family-inet-full-len" % t, "EAFNOSUPPORT",
         script("socket inet6 %s" % t, "bind 0 [::1]:0 family=inet")) for t in IPTYPES]
BE4 += [("unix-%s-family-inet" % t, "EINVAL", script("socket unix %s" % t, "bind 0 unix:$T/x family=inet"))
        for t in TYPES]  # kernel result, see exceptions.toml


@behaviour("BIND-E4")
@pytest.mark.parametrize("name,expect,s", BE4, ids=[n for n, _, _ in BE4])
def test_family_mismatch(probe, name, expect, s):
    err(probe(s)[-1], expect)


# ---------------------------------------------------------------- BIND-E5
BE5 = [("%s-missing-dir" % t, "ENOENT", script("socket unix %s" % t, "bind 0 unix:$T/nodir/s")) for t in TYPES]
BE5 += [("%s-missing-deeper" % t, "ENOENT", script("socket unix %s" % t, "bind 0 unix:$T/a/b/c/s")) for t in TYPES]
BE5 += [("%s-addr-null" % t, "EFAULT", script("socket unix %s" % t, "bind 0 null len=110")) for t in TYPES]
BE5 += [("inet-%s-addr-null" % t, "EFAULT", script("socket inet %s" % t, "bind 0 null")) for t in IPTYPES]


@behaviour("BIND-E5")
@pytest.mark.parametrize("name,expect,s", BE5, ids=[n for n, _, _ in BE5])
def test_missing_directory_or_null_addr(probe, name, expect, s):
    err(probe(s)[-1], expect)


# ---------------------------------------------------------------- X-UNBIND
XU = []
for t in TYPES:
    for sock in ("socket unix %s" % t, "pair unix %s" % t):
        label = "%s-%s" % (t, sock.split()[0])
        XU += [
            ("%s-missing-dir" % label, "ENOENT", script(sock, "bind 0 unix:$T/nodir/s")),
            ("%s-under-regular-file" % label, "ENOTDIR", script("mkfile $T/f", sock, "bind 0 unix:$T/f/s")),
            ("%s-path-in-use" % label, "EADDRINUSE",
             script(sock, "socket unix %s" % t, "bind %s unix:$T/s" % ("1" if sock.startswith("socket") else "2"),
                    "bind 0 unix:$T/s")),
            ("%s-rebind" % label, "EINVAL", script(sock, "bind 0 unix:$T/a", "bind 0 unix:$T/b")),
            ("%s-path-is-a-file" % label, "EADDRINUSE", script("mkfile $T/f", sock, "bind 0 unix:$T/f")),
        ]


@behaviour("X-UNBIND")
@pytest.mark.parametrize("name,expect,s", XU, ids=[n for n, _, _ in XU])
def test_unix_bind_errors(probe, name, expect, s):
    rec = probe(s)[-1]
    err(rec, expect)
    if expect in ("ENOENT", "ENOTDIR"):
        assert rec["node"] == "none"  # a failed bind leaves no node behind
    if name.endswith("rebind"):
        assert rec["node"] == "none" and rec["local"].endswith("/a")


# ---------------------------------------------------------------- X-AUTOBIND
AUTOBIND = re.compile(r"^@[0-9a-f]{5}$")
XA = [(t, how, script("%s unix %s" % (how, t), "bind 0 family")) for t in TYPES for how in ("socket", "pair")]
XA += [(t, "socket-twice", script("socket unix %s" % t, "bind 0 family", "socket unix %s" % t, "bind 1 family"))
       for t in TYPES]


@behaviour("X-AUTOBIND")
@pytest.mark.parametrize("kind,how,s", XA, ids=["%s-%s" % (t, h) for t, h, _ in XA])
def test_family_only_autobinds_abstract_name(probe, kind, how, s):
    steps = probe(s)
    binds = [r for r in steps if r["call"] == "bind"]
    for rec in binds:
        ok(rec, 0)
        assert rec["addrlen"] == 2
        assert rec["autobind"], rec  # NUL + 5 hex digits
        assert rec["local_len"] == 2 + 6
    if len(binds) == 2:
        assert binds[0]["local"] != binds[1]["local"]


# ---------------------------------------------------------------- X-BIND-E
XB = [("fd-minus-1-%s" % a, "EBADF", script("bind raw:-1 %s" % a)) for a in ("127.0.0.1:0", "unix:$T/s")]
XB += [("fd-closed", "EBADF", script("socket inet stream", "close 0", "bind 0 127.0.0.1:0"))]
XB += [("not-socket-%s" % w, "ENOTSOCK", script(step, "bind 0 127.0.0.1:0"))
       for w, step in (("dev-null", "open /dev/null"), ("pipe", "pipe"))]
XB += [("not-socket-unix-addr", "ENOTSOCK", script("open /dev/null", "bind 0 unix:$T/s"))]
XB += [("unprivileged-%s-port-%d" % (t, p), "EACCES",
        script("setuid 65534", "socket %s %s" % (f, t), "bind 0 %s" % (a % p)))
       for (f, a), t, p in itertools.product((("inet", "127.0.0.1:%d"), ("inet6", "[::1]:%d")), IPTYPES,
                                             (1, 80, 1023))]


XA2 = [(t, script("pair unix %s" % t, "bind 0 family", "bind 0 family")) for t in TYPES]


@behaviour("X-AUTOBIND")
@pytest.mark.parametrize("kind,s", XA2, ids=["%s-autobind-twice" % t for t, _ in XA2])
def test_autobind_of_a_bound_socket_is_a_no_op(probe, kind, s):
    # Kernel result: a second family-only bind succeeds and keeps the name.
    _, first, second = probe(s)
    ok(first, 0)
    ok(second, 0)
    assert AUTOBIND.match(first["local"]) and second["local"] == first["local"]


@behaviour("X-BIND-E")
@pytest.mark.parametrize("name,expect,s", XB, ids=[n for n, _, _ in XB])
def test_bind_errors_beyond_seed(probe, name, expect, s):
    steps = probe(s)
    if "setuid" in s:
        ok(steps[0], 0)
        assert steps[0]["euid"] == 65534
    err(steps[-1], expect)


XB2 = [(t, script("setuid 65534", "socket inet %s" % t, "bind 0 127.0.0.1:0")) for t in IPTYPES]


@behaviour("X-BIND-E")
@pytest.mark.parametrize("kind,s", XB2, ids=["unprivileged-%s-port-0-ok" % t for t, _ in XB2])
def test_unprivileged_ephemeral_port_is_fine(probe, kind, s):
    ok(probe(s)[-1], 0)
