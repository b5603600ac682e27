"""Kernel calibration (stage `calibration` of ./sockcheck test; harness/testing/kfacts.c,
conformance/sc_kfacts.py). Every kernel-dependent rule follows a fact measured at start: these
tests force each fact to its other answer (SC_KFACTS) and check that the fuzz oracle and the
conformance suite then expect the other behaviour, i.e. fail on this kernel, while the
unforced runs pass (the replay and conformance stages). Needs the asan build.
Run: /usr/bin/python3 -m pytest tests/kfacts_test.py"""
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "asan", "bin")
KFACTS = os.path.join(BIN, "sockcheck-kfacts")
REPLAY_MSGHDR = os.path.join(ROOT, "build", "asan", "fuzz", "replay_msghdr")
TIMEOUT = 120


def kfacts(*args, env=None):
    e = dict(os.environ)
    e.pop("SC_KFACTS", None)
    e.update(env or {})
    return subprocess.run([KFACTS] + list(args), capture_output=True, text=True, env=e,
                          timeout=TIMEOUT, check=False)


MEASURED = json.loads(kfacts("--json").stdout)


def other(name):
    """The answer of fact `name` this kernel did not give."""
    f = MEASURED["facts"][name]
    return [a for a in f["allowed"] if a != f["answer"]][0]


def test_every_fact_measured_within_the_spec():
    assert MEASURED["kernel"] == os.uname().release
    assert MEASURED["dgram_max"] > 0 and " dgram-max=%d" % MEASURED["dgram_max"] in kfacts().stdout
    assert len(MEASURED["facts"]) == 13
    for name, f in MEASURED["facts"].items():
        assert f["answer"] in f["allowed"] and not f["forced"] and f["observed"], (name, f)
    line = kfacts()
    assert line.returncode == 0 and line.stdout.startswith("kernel %s:" % MEASURED["kernel"])
    for name, f in MEASURED["facts"].items():
        assert " %s=%s" % (name, f["answer"]) in line.stdout


def test_forcing_and_findings():
    forced = json.loads(kfacts("--json", env={"SC_KFACTS": "cloexec-echo=%s" % other("cloexec-echo")}).stdout)
    assert forced["facts"]["cloexec-echo"] == dict(MEASURED["facts"]["cloexec-echo"], answer=other("cloexec-echo"),
                                                   forced=True, observed="forced by SC_KFACTS")
    # an answer outside the spec's set is a finding: exit 1, named on the line
    out = kfacts(env={"SC_KFACTS": "cred-order=out"})
    assert out.returncode == 1 and "FINDING cred-order [CRED-5] outside the spec's set" in out.stdout, out
    sized = json.loads(kfacts("--json", env={"SC_KFACTS": "dgram-max=1000"}).stdout)
    assert sized["dgram_max"] == 1000 and MEASURED["dgram_max"] > 1000
    for bad in ("no-such-fact=x", "cred-order=sideways", "cred-order", "dgram-max=0", "dgram-max=12x",
                "dgram-max="):
        r = kfacts(env={"SC_KFACTS": bad})
        assert r.returncode != 0 and "SC_KFACTS: cannot parse" in r.stderr and r.stdout == "", (bad, r)


# The msghdr target's rules that follow a fact; the committed corpus exercises each.
ORACLE_FACTS = ["dgram-peerclose", "seqpacket-reset-order", "seqpacket-empty-reset", "cloexec-echo",
                "stream-peek-fds", "unbound-namelen"]


@pytest.mark.parametrize("name", ORACLE_FACTS + ["dgram-max"])
def test_oracle_follows_the_fact(name):
    dirs = [os.path.join(ROOT, "corpus", "msghdr"), os.path.join(ROOT, "corpus", "regressions", "msghdr")]
    # dgram-max: a limit below the committed corpus's datagrams (4096: a page's worth)
    force = "dgram-max=4096" if name == "dgram-max" else "%s=%s" % (name, other(name))
    env = dict(os.environ, SC_KFACTS=force)
    r = subprocess.run([REPLAY_MSGHDR, "--timeout", "10"] + dirs, capture_output=True, text=True, env=env,
                       timeout=TIMEOUT, check=False)
    assert r.returncode != 0 and "sockcheck: MISMATCH" in r.stderr, (name, r.stderr[-800:])


# The conformance cases whose expectation follows each fact (a -k expression, and the test
# ids of which at least one must fail when the fact is forced to its other answer).
SUITE = {
    "dgram-peerclose": ("test_send_after_peer_closed and dgram", "test_send_after_peer_closed[dgram"),
    "seqpacket-sigpipe": ("test_send_after_peer_closed and seqpacket", "test_send_after_peer_closed[seqpacket"),
    "cloexec-echo": ("test_passed_fd_cloexec and cmsg_cloexec", "test_passed_fd_cloexec["),
    "unbound-namelen": ("test_unix_dgram_by_name", "test_unix_dgram_by_name["),
    "timeo-tick": ("test_timeout_usec_range and 999999", "test_timeout_usec_range["),
    "seqpacket-unconn-recv": ("test_unconnected and seqpacket", "test_unconnected[unix-seqpacket"),
    "unix-shutdown-unconn": ("test_shutdown_unconnected and unix", "test_shutdown_unconnected[unix"),
    "dgram-shutrd-recv": ("test_origin_promise and shut-rd-dgram and pair", "test_origin_promise[shut-rd-dgram"),
    "cred-order": ("test_origin_promise and creds-and-fds and pair", "test_origin_promise[creds-and-fds"),
    "dgram-connect-peercred": ("test_origin_promise and peercred-dgram and path",
                               "test_origin_promise[peercred-dgram"),
}


def test_suite_follows_every_fact(tmp_path):
    """One inner run with every fact flipped (cred-order as "out": a finding, so the suite
    checks the spec's first answer, which is the flipped one here): every fact's cases fail,
    and test_kfacts fails exactly for cred-order."""
    assert MEASURED["facts"]["cred-order"]["allowed"][0] == other("cred-order")
    force = ",".join("%s=%s" % (n, "out" if n == "cred-order" else other(n)) for n in MEASURED["facts"])
    select = " or ".join("(%s)" % k for k, _ in SUITE.values()) + " or test_kernel_fact_within_the_spec"
    xml = tmp_path / "inner.xml"
    env = dict(os.environ, SC_KFACTS=force)
    r = subprocess.run(["/usr/bin/python3", "-m", "pytest", os.path.join(ROOT, "conformance"), "-q", "-n", "2",
                        "-p", "no:cacheprovider", "--bin-dir", BIN, "-k", select, "--junitxml", str(xml)],
                       capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False, cwd=ROOT)
    assert xml.exists(), r.stdout[-2000:] + r.stderr[-2000:]
    failed, passed = set(), set()
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = case.get("name")
        (failed if case.find("failure") is not None or case.find("error") is not None else passed).add(name)
    for fact, (_, prefix) in SUITE.items():
        hit = [n for n in failed if n.startswith(prefix)]
        assert hit, "forcing %s=%s failed none of %s* (passed: %s)" % (
            fact, other(fact), prefix, sorted(n for n in passed if n.startswith(prefix))[:5])
    kf_failed = {n for n in failed if n.startswith("test_kernel_fact_within_the_spec")}
    assert kf_failed == {"test_kernel_fact_within_the_spec[cred-order]"}, kf_failed
