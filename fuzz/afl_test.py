"""AFL++: `./sockcheck fuzz TARGET --engine afl` builds the afl preset (the libFuzzer
entrypoints through afl-clang-fast and AFL++'s libAFLDriver) and runs afl-fuzz for a bounded
time on the target's corpus with its dict, then merges AFL's queue back into the corpus
through the libFuzzer build's -merge=1, as a libFuzzer campaign does. The run must have
executed inputs (fuzzer_stats with execs_done > 0), found nothing on the real library,
printed its summary line, added new inputs of its queue to the corpus and dropped a
redundant one; a bad --engine is refused with exit 2 and one line.

The campaign runs in a scratch copy of the tree (its corpus is the one merged into) whose
build/ is this tree's: the presets are configured here first, so the builds stay this
tree's.
Run: /usr/bin/python3 -m pytest fuzz/afl_test.py
"""
import hashlib
import os
import re

from fuzzrun import ROOT, build, clean_build, copy_tree, run

TARGET = "server"
SECONDS = int(os.environ.get("SC_AFL_TEST_SECONDS", "10"))
DRIVER = os.path.join(ROOT, "sockcheck")
SEEDS = ("one_chunk_one_reply", "eof_with_nothing_owed_closes")


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_afl_campaign_runs_and_merges_its_queue(tmp_path):
    clean_build(TARGET)
    build(os.path.join(ROOT, "build", "afl"), TARGET, ["cmake", "--preset", "afl"])
    src = copy_tree(str(tmp_path / "src"), skip=("build/", "corpus/"))
    os.symlink(os.path.join(ROOT, "build"), os.path.join(src, "build"))
    corpus = os.path.join(src, "corpus", TARGET)
    os.makedirs(corpus)
    for s in SEEDS:
        with open(os.path.join(corpus, s), "wb") as f:
            f.write(read(os.path.join(ROOT, "corpus", TARGET, s)))
    # a generated input that adds nothing to the seeds (their bytes): the merge drops it
    dup = read(os.path.join(corpus, SEEDS[0]))
    with open(os.path.join(corpus, sha1(dup)), "wb") as f:
        f.write(dup)

    r = run([os.path.join(src, "sockcheck"), "fuzz", TARGET, "--engine", "afl", "--time", str(SECONDS)], 900,
            cwd=src)
    assert r.returncode == 0, r.stdout[-4000:]
    line = re.search(rf"^{TARGET}\s+engine=afl execs=(\d+) .*$", r.stdout, re.M)
    assert line, r.stdout[-4000:]
    print(line.group(0))
    work = os.path.join(ROOT, "build", "afl-work", TARGET, "default")
    stats = dict((k.strip(), v.strip()) for k, _, v in
                 (ln.partition(":") for ln in open(os.path.join(work, "fuzzer_stats"))))
    assert int(stats["execs_done"]) > 0, stats
    assert int(stats["saved_crashes"]) == 0 and int(stats["saved_hangs"]) == 0, stats
    assert int(line.group(1)) == int(stats["execs_done"])

    queue = os.path.join(work, "queue")
    found = {sha1(read(os.path.join(queue, q))) for q in os.listdir(queue)
             if q.startswith("id:") and "orig:" not in q}
    assert found, f"AFL's queue holds no new input: {os.listdir(queue)}"
    after = sorted(os.listdir(corpus))
    assert all(s in after for s in SEEDS), f"a seed was lost: {after}"
    assert sha1(dup) not in after, f"the redundant input survived the merge (not pruned): {after}"
    merged = [n for n in after if n not in SEEDS]
    assert merged, f"none of AFL's {len(found)} new inputs landed in the corpus: {r.stdout[-2000:]}"
    for n in merged:
        assert n == sha1(read(os.path.join(corpus, n))) and n in found, f"{n} is not one of AFL's inputs"
    print(re.search(r"^.*AFL's queue.*merged into.*$", r.stdout, re.M).group(0))


def test_bad_engine_refused():
    r = run([DRIVER, "fuzz", TARGET, "--engine", "honggfuzz"], 60)
    assert r.returncode == 2, r.stdout
    assert r.stdout.strip().count("\n") == 0 and "engine" in r.stdout, r.stdout
