"""AFL++: `./sockcheck fuzz TARGET --engine afl` builds the afl preset (the libFuzzer
entrypoints through afl-clang-fast and AFL++'s libAFLDriver) and runs afl-fuzz for a bounded
time on the target's corpus with its dict. The run must have executed inputs (fuzzer_stats
with execs_done > 0), found nothing on the real library, and printed its summary line; a bad
--engine is refused with exit 2 and one line.
Run: /usr/bin/python3 -m pytest fuzz/afl_test.py
"""
import os
import re

from fuzzrun import ROOT, run

TARGET = "server"
SECONDS = int(os.environ.get("SC_AFL_TEST_SECONDS", "10"))
DRIVER = os.path.join(ROOT, "sockcheck")


def test_afl_campaign_runs():
    r = run([DRIVER, "fuzz", TARGET, "--engine", "afl", "--time", str(SECONDS)], 900)
    assert r.returncode == 0, r.stdout[-4000:]
    line = re.search(rf"^{TARGET}\s+engine=afl execs=(\d+) .*$", r.stdout, re.M)
    assert line, r.stdout[-4000:]
    print(line.group(0))
    stats = dict(
        (k.strip(), v.strip()) for k, _, v in
        (ln.partition(":") for ln in open(os.path.join(ROOT, "build", "afl-work", TARGET, "default",
                                                       "fuzzer_stats"))))
    assert int(stats["execs_done"]) > 0, stats
    assert int(stats["saved_crashes"]) == 0 and int(stats["saved_hangs"]) == 0, stats
    assert int(line.group(1)) == int(stats["execs_done"])


def test_bad_engine_refused():
    r = run([DRIVER, "fuzz", TARGET, "--engine", "honggfuzz"], 60)
    assert r.returncode == 2, r.stdout
    assert r.stdout.strip().count("\n") == 0 and "engine" in r.stdout, r.stdout
