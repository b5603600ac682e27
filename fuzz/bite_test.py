"""Proof of bite: every planted library bug must be caught by its fuzz target, and the
same target on the real library must survive the same bounded run.

For each planted bug (fuzz/bite/NAME.patch, applied to a scratch copy of the tree in
build/bite-NAME/src), a clang fuzz build with the bug is configured in build/bite-NAME/build
(only fuzz_<target> is built), then run with -seed=1
and a bounded number of runs on a copy of corpus/<target>. It must stop with a sockcheck
MISMATCH or a sanitizer report. The clean fuzz_<target> of the fuzz preset (build/fuzz)
must complete the same runs. Run: /usr/bin/python3 -m pytest fuzz/bite_test.py
"""
import os
import re
import shutil

import pytest

from fuzzrun import ROOT, build, clean_build, options, patched_tree, run, seed_corpus, target_exists

RUNS = int(os.environ.get("SC_BITE_RUNS", "1000000"))
MAX_TIME = int(os.environ.get("SC_BITE_MAX_TIME", "60"))

# planted bug -> fuzz target expected to catch it
CASES = [
    ("IOV_ADVANCE", "sendall"),
    ("CMSG_LEN", "cmsg"),
    ("CONN_REPLY", "server"),
    ("DROP_TRUNC", "msghdr"),
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
    r"|runtime error:|ERROR: libFuzzer: deadly signal")


def _planted_build(bug, target):
    base = os.path.join(ROOT, "build", f"bite-{bug}")
    src = patched_tree(os.path.join(ROOT, "fuzz", "bite", f"{bug}.patch"), os.path.join(base, "src"))
    build_dir = os.path.join(base, "build")
    if os.path.exists(build_dir):
        shutil.rmtree(build_dir)  # the scratch sources are new: never reuse stale objects
    return build(build_dir, target, [
        "cmake", "-S", src, "-B", build_dir, "-DCMAKE_C_COMPILER=clang", "-DSC_FUZZ=ON",
        "-DSC_TESTS=OFF", "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])


def _fuzz(exe, target, tmp_path):
    corpus = seed_corpus(target, tmp_path / "corpus")
    art = tmp_path / "artifacts"
    art.mkdir()
    cmd = [exe, f"-runs={RUNS}", "-seed=1", f"-max_total_time={MAX_TIME}",
           f"-artifact_prefix={art}/", *options(target), str(corpus)]
    r = run(cmd, MAX_TIME + 120, cwd=str(tmp_path))
    return r, sorted(os.listdir(art))


@pytest.mark.parametrize("bug,target", CASES, ids=[f"{b}-{t}" for b, t in CASES])
def test_planted_bug_is_caught(bug, target, tmp_path):
    assert target_exists(target), f"fuzz/{target}.c is missing"
    exe = _planted_build(bug, target)
    r, artifacts = _fuzz(exe, target, tmp_path)
    tail = r.stdout[-3000:]
    assert r.returncode != 0, (
        f"planted bug {bug} survived {RUNS} runs (or {MAX_TIME}s) of fuzz_{target}:\n{tail}")
    assert FINDING.search(r.stdout), f"fuzz_{target} failed without a finding:\n{tail}"
    assert artifacts, f"fuzz_{target} saved no crash input:\n{tail}"


@pytest.mark.parametrize("target", sorted({t for _, t in CASES}))
def test_clean_library_survives(target, tmp_path):
    assert target_exists(target), f"fuzz/{target}.c is missing"
    exe = clean_build(target)
    r, artifacts = _fuzz(exe, target, tmp_path)
    assert r.returncode == 0 and not artifacts, (
        f"fuzz_{target} on the real library found something in {RUNS} runs:\n"
        f"{r.stdout[-3000:]}\nartifacts: {artifacts}")
    assert re.search(r"Done \d+ runs", r.stdout), r.stdout[-2000:]
