"""Proof of bite: every planted library bug must get past the seed corpus and then be
found by fuzzing, so the test measures the fuzzers and not the seeds.

For each case (NAME, target), fuzz/bite/NAME.patch is applied to a scratch copy of the
tree and fuzz_<target> + replay_<target> are built there (fuzzrun.patched_build: the
scratch tree and its build persist, so only the patched file recompiles). Then:
  a. replay_<target> over corpus/<target> and corpus/regressions/<target> must PASS: a
     bug the seeds already catch proves nothing about the fuzzer;
  b. fuzz_<target> from a copy of corpus/<target>, -seed=1, bounded by SC_BITE_MAX_TIME
     seconds and SC_BITE_RUNS executions, must stop with a finding and save its input;
  c. that input must pass on the clean replay_<target> (the fuzz preset's build): the
     finding is the planted bug's, not a false alarm of the target.
Run: /usr/bin/python3 -m pytest fuzz/bite_test.py [-n 2]
"""
import os
import re

import pytest

from fuzzrun import (ROOT, clean_build, options, patched_build, run, seed_corpus, seed_dirs,
                     target_exists)

RUNS = int(os.environ.get("SC_BITE_RUNS", "5000000"))
MAX_TIME = int(os.environ.get("SC_BITE_MAX_TIME", "60"))

# planted bug (fuzz/bite/NAME.patch) -> fuzz target expected to find it
CASES = [
    ("CMSG_LEN", "cmsg"),
    ("CMSG_CREDS_LEN", "cmsg"),
    ("CONN_REPLY", "server"),
    ("ADDR_LOCALHOST", "addr"),
    ("LAYOUT_COUNT_EDGE", "layout"),
    ("WAIT_TIMEOUT_READY", "sendall"),
    ("CONTROL_RESENT", "sendall"),
    ("IOV_EMPTY_MIDDLE", "sendall"),
    ("RECV_DEADLINE_PROGRESS", "recvfill"),
    ("SERVER_FLUSH_OFFERED", "serverloop"),
    ("SERVER_EOF_CLOSE", "serverloop"),
    ("SERVER_DRAINING_ERROR", "serverloop"),
    ("SENDALL_BOUNDARY", "msghdr"),
    ("SENDALL_CONTROL", "msghdr"),
]

FINDING = re.compile(
    r"sockcheck: MISMATCH|ERROR: AddressSanitizer|ERROR: UndefinedBehaviorSanitizer"
    r"|runtime error:|ERROR: libFuzzer: (deadly signal|timeout)")


def slot():
    """One scratch tree per concurrent pytest worker."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def planted(bug, target):
    """(fuzz, replay) executables of target built with fuzz/bite/<bug>.patch."""
    return patched_build(os.path.join(ROOT, "fuzz", "bite", f"{bug}.patch"), target, slot())


def replay_seeds(replay):
    return run([replay, "--timeout", "10", *seed_dirs(os.path.basename(replay)[len("replay_"):])],
               600)


def fuzz(exe, target, workdir, seed, max_time=MAX_TIME, runs=RUNS):
    """One bounded libFuzzer run from a copy of corpus/<target>; returns the completed
    process and the saved finding inputs."""
    corpus = seed_corpus(target, workdir / "corpus")
    art = workdir / "artifacts"
    art.mkdir()
    cmd = [exe, f"-runs={runs}", f"-seed={seed}", f"-max_total_time={max_time}",
           "-print_final_stats=1", f"-artifact_prefix={art}/", *options(target), str(corpus)]
    r = run(cmd, max_time + 120, cwd=str(workdir))
    return r, sorted(str(art / a) for a in os.listdir(art))


@pytest.mark.parametrize("bug,target", CASES, ids=[f"{b}-{t}" for b, t in CASES])
def test_planted_bug_survives_seeds_and_is_found_by_fuzzing(bug, target, tmp_path):
    assert target_exists(target), f"fuzz/{target}.c is missing"
    exe, replay = planted(bug, target)
    r = replay_seeds(replay)
    assert r.returncode == 0, (
        f"{bug}: the seed corpus alone already catches it (replay_{target} fails): the "
        f"seeds, not the fuzzer, found it; make the bug subtler or prune the seed:\n"
        f"{r.stdout[-3000:]}")
    r, artifacts = fuzz(exe, target, tmp_path, 1)
    tail = r.stdout[-3000:]
    assert r.returncode != 0, (
        f"planted bug {bug} survived {RUNS} runs (or {MAX_TIME} s) of fuzz_{target}:\n{tail}")
    assert FINDING.search(r.stdout), f"fuzz_{target} failed without a finding:\n{tail}"
    assert artifacts, f"fuzz_{target} saved no finding input:\n{tail}"
    clean = clean_build(target, [f"replay_{target}"])
    c = run([clean, "--timeout", "10", *artifacts], 120)
    assert c.returncode == 0, (
        f"the input fuzz_{target} found with {bug} also fails on the real library "
        f"(a false alarm, not the planted bug):\n{c.stdout[-3000:]}")


def test_every_patch_has_a_case():
    patches = {f[:-len(".patch")] for f in os.listdir(os.path.join(ROOT, "fuzz", "bite"))
               if f.endswith(".patch")}
    cased = {b for b, _ in CASES}
    assert patches == cased, (f"fuzz/bite/*.patch without a CASES entry: {sorted(patches - cased)}; "
                              f"CASES without a patch: {sorted(cased - patches)}")
