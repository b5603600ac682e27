"""Proof of bite: every planted library bug must be caught by its fuzz target, and the
same target on the real library must survive the same bounded run.

For each planted bug (CMakeLists.txt: -DSC_PLANT_BUG=NAME), a clang fuzz build with the
bug is configured in build/bite-NAME (only fuzz_<target> is built), then run with -seed=1
and a bounded number of runs on a copy of corpus/<target>. It must stop with a sockcheck
MISMATCH or a sanitizer report. The clean fuzz_<target> of the fuzz preset (build/fuzz)
must complete the same runs. Run: /usr/bin/python3 -m pytest fuzz/bite_test.py
"""
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("SC_BITE_RUNS", "1000000"))
MAX_TIME = int(os.environ.get("SC_BITE_MAX_TIME", "60"))
BUILD_TIMEOUT = 1200

# planted bug -> fuzz target expected to catch it
CASES = [
    ("IOV_ADVANCE", "sendall"),
    ("CMSG_LEN", "cmsg"),
    ("CONN_REPLY", "server"),
    ("DROP_TRUNC", "msghdr"),
]

FINDING = re.compile(
    r"sockcheck: MISMATCH|ERROR: AddressSanitizer|ERROR: UndefinedBehaviorSanitizer"
    r"|runtime error:|ERROR: libFuzzer: deadly signal")


def _run(cmd, timeout, cwd=ROOT):
    return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=timeout, check=False)


def _build(build_dir, target, configure_args):
    if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        r = _run(configure_args, BUILD_TIMEOUT)
        assert r.returncode == 0, f"configure failed:\n{r.stdout[-4000:]}"
    r = _run(["cmake", "--build", build_dir, "-j2", "--target", f"fuzz_{target}"], BUILD_TIMEOUT)
    assert r.returncode == 0, f"build of fuzz_{target} failed:\n{r.stdout[-4000:]}"
    exe = os.path.join(build_dir, "fuzz", f"fuzz_{target}")
    assert os.access(exe, os.X_OK), f"{exe} was not built"
    return exe


def _planted_build(bug, target):
    build_dir = os.path.join(ROOT, "build", f"bite-{bug}")
    return _build(build_dir, target, [
        "cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_C_COMPILER=clang", "-DSC_FUZZ=ON",
        "-DSC_TESTS=OFF", "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-DSC_PLANT_BUG={bug}"])


def _clean_build(target):
    # SC_BITE_CLEAN_BUILD: another configured clean fuzz build to use instead of the preset's.
    default = os.path.join(ROOT, "build", "fuzz")
    build_dir = os.path.abspath(os.environ.get("SC_BITE_CLEAN_BUILD", default))
    return _build(build_dir, target, ["cmake", "--preset", "fuzz"])


def _options(target):
    """libFuzzer flags from fuzz/<target>.options, through the project's one reader."""
    r = _run([os.path.join(ROOT, "fuzz", "tools", "options.sh"), target], 30)
    assert r.returncode == 0, r.stdout
    return r.stdout.split()


def _fuzz(exe, target, tmp_path):
    corpus = tmp_path / "corpus"
    seeds = os.path.join(ROOT, "corpus", target)
    if os.path.isdir(seeds):
        shutil.copytree(seeds, corpus)
    else:
        corpus.mkdir()
    art = tmp_path / "artifacts"
    art.mkdir()
    cmd = [exe, f"-runs={RUNS}", "-seed=1", f"-max_total_time={MAX_TIME}",
           f"-artifact_prefix={art}/", *_options(target), str(corpus)]
    r = _run(cmd, MAX_TIME + 120, cwd=str(tmp_path))
    return r, sorted(os.listdir(art))


def _target_exists(target):
    return os.path.exists(os.path.join(ROOT, "fuzz", f"{target}.c"))


@pytest.mark.parametrize("bug,target", CASES, ids=[f"{b}-{t}" for b, t in CASES])
def test_planted_bug_is_caught(bug, target, tmp_path):
    assert _target_exists(target), f"fuzz/{target}.c is missing"
    exe = _planted_build(bug, target)
    r, artifacts = _fuzz(exe, target, tmp_path)
    tail = r.stdout[-3000:]
    assert r.returncode != 0, (
        f"planted bug {bug} survived {RUNS} runs (or {MAX_TIME}s) of fuzz_{target}:\n{tail}")
    assert FINDING.search(r.stdout), f"fuzz_{target} failed without a finding:\n{tail}"
    assert artifacts, f"fuzz_{target} saved no crash input:\n{tail}"


@pytest.mark.parametrize("target", [t for _, t in CASES])
def test_clean_library_survives(target, tmp_path):
    assert _target_exists(target), f"fuzz/{target}.c is missing"
    exe = _clean_build(target)
    r, artifacts = _fuzz(exe, target, tmp_path)
    assert r.returncode == 0 and not artifacts, (
        f"fuzz_{target} on the real library found something in {RUNS} runs:\n"
        f"{r.stdout[-3000:]}\nartifacts: {artifacts}")
    assert re.search(r"Done \d+ runs", r.stdout), r.stdout[-2000:]
