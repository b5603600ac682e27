"""ClusterFuzzLite / OSS-Fuzz: .clusterfuzzlite/build.sh follows the OSS-Fuzz build contract.

Docker is not needed: build.sh runs as base-builder would run it, with the OSS-Fuzz variables
of a libFuzzer + ASan build set (CC, CXX, CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE, SRC, WORK,
OUT), on a scratch copy of the tree under $SRC/sockcheck (its WORKDIR). Then:
- $OUT holds exactly fuzz_<t> for every target of fuzz/CMakeLists.txt's SC_FUZZ_TARGETS, each
  with its .options, .dict and _seed_corpus.zip (every seed and every regression input);
- each binary runs clean over its unzipped seed corpus with its .options' flags and dict
  (libFuzzer -runs=0: every input executed once), as ClusterFuzz would start it;
- build.sh wrote nothing outside $WORK, $OUT and /tmp: the source copy is unchanged (every
  file's size, mode and mtime) and so is the real tree's `git status`.
Run: /usr/bin/python3 -m pytest fuzz/cflite_test.py
"""
import configparser
import os
import re
import subprocess
import zipfile

from fuzzrun import ROOT, copy_tree, run

BUILD_TIMEOUT = 900
REPLAY_TIMEOUT = 300
FLAGS = "-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address " \
        "-fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"


def declared_targets():
    """SC_FUZZ_TARGETS as fuzz/CMakeLists.txt sets it (read here independently of build.sh,
    which asks CMake)."""
    text = open(os.path.join(ROOT, "fuzz", "CMakeLists.txt")).read()
    m = re.search(r"set\(SC_FUZZ_TARGETS\s+([^)]*)\)", text)
    assert m, "no set(SC_FUZZ_TARGETS ...) in fuzz/CMakeLists.txt"
    return sorted(m.group(1).split())


def expected_seeds(target):
    names = []
    for sub, prefix in ((target, ""), (os.path.join("regressions", target), "regression_")):
        d = os.path.join(ROOT, "corpus", sub)
        if os.path.isdir(d):
            names += [prefix + n for n in os.listdir(d)
                      if os.path.isfile(os.path.join(d, n)) and not n.startswith(("README", ".gitkeep"))]
    return sorted(names)


def snapshot(top):
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, top)] = (st.st_size, st.st_mode, st.st_mtime_ns)
    return out


def git_status():
    r = run(["git", "status", "--porcelain", "--ignored=no"], 60)
    assert r.returncode == 0, r.stdout
    return r.stdout


def test_build_sh_outputs_replay_clean(tmp_path):
    src, work, out = tmp_path / "src", tmp_path / "work", tmp_path / "out"
    for d in (work, out):
        d.mkdir()
    tree = copy_tree(str(src / "sockcheck"))
    before, status_before = snapshot(tree), git_status()
    env = dict(os.environ, CC="clang", CXX="clang++", CFLAGS=FLAGS, CXXFLAGS=FLAGS,
               LIB_FUZZING_ENGINE="-fsanitize=fuzzer", SANITIZER="address",
               FUZZING_ENGINE="libfuzzer", SRC=str(src), WORK=str(work), OUT=str(out))
    env.pop("SC_SRC", None)
    r = subprocess.run(["bash", "-eu", os.path.join(tree, ".clusterfuzzlite", "build.sh")],
                       cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace", timeout=BUILD_TIMEOUT, check=False)
    assert r.returncode == 0, f"build.sh failed:\n{r.stdout[-4000:]}"

    targets = declared_targets()
    binaries = sorted(n for n in os.listdir(out) if os.access(out / n, os.X_OK) and (out / n).is_file())
    assert binaries == [f"fuzz_{t}" for t in targets]

    for t in targets:
        f = f"fuzz_{t}"
        opts = configparser.ConfigParser()
        assert opts.read(out / f"{f}.options"), f"{f}.options missing"
        flags = [f"-{k}={v}" for k, v in opts["libfuzzer"].items() if k != "dict"]
        if "dict" in opts["libfuzzer"]:
            dict_path = out / opts["libfuzzer"]["dict"]
            assert dict_path.is_file(), f"{f}.options names {dict_path.name}, not in $OUT"
            flags.append(f"-dict={dict_path}")
        with zipfile.ZipFile(out / f"{f}_seed_corpus.zip") as z:
            assert sorted(z.namelist()) == expected_seeds(t)
            seeds = tmp_path / "seeds" / t
            z.extractall(seeds)
        r = run([str(out / f), "-runs=0", *flags, str(seeds)], REPLAY_TIMEOUT, cwd=str(tmp_path))
        n = len(expected_seeds(t))
        assert r.returncode == 0, f"{f} over its {n} seeds:\n{r.stdout[-4000:]}"
        assert re.search(r"INITED|DONE", r.stdout), r.stdout[-2000:]
        print(f"{f}: {n} seeds replayed, exit 0")

    assert snapshot(tree) == before, "build.sh wrote into $SRC"
    assert git_status() == status_before, "the real tree changed"
