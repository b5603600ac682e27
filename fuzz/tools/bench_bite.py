"""The fuzzers' time-to-bug: for each planted bug of fuzz/bite_test.py's CASES, the
executions and seconds libFuzzer needs to find it from the seeds, median of 5 seeds
(-seed=1..5, one run at a time: one core), as a table. Target: each within 60 s.
  /usr/bin/python3 fuzz/tools/bench_bite.py [--seeds N] [--max-time S] [NAME...]
(./sockcheck bench bite). Exit 1 if a bug's median is not found within S seconds."""
import argparse
import os
import pathlib
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bite_test  # noqa: E402  (CASES, FINDING, the bounded run)
from fuzzrun import patched_build, run, seed_dirs  # noqa: E402

EXECS = re.compile(r"stat::number_of_executed_units:\s*(\d+)")


def one(exe, target, seed, max_time):
    """(found, executions, seconds) of one libFuzzer run from the seeds."""
    with tempfile.TemporaryDirectory(prefix="bench-bite-") as d:
        t0 = time.monotonic()
        r, arts = bite_test.fuzz(exe, target, pathlib.Path(d), seed, max_time=max_time,
                                 runs=2**31 - 1)
        secs = time.monotonic() - t0
    m = EXECS.findall(r.stdout)
    found = r.returncode != 0 and bool(arts) and bool(bite_test.FINDING.search(r.stdout))
    return found, int(m[-1]) if m else 0, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-time", type=int, default=60)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    if a.seeds < 1 or a.max_time < 1:
        ap.error("--seeds and --max-time must be positive")
    cases = [c for c in bite_test.CASES if not a.names or c[0] in a.names]
    unknown = set(a.names) - {b for b, _ in bite_test.CASES}
    if unknown:
        ap.error(f"unknown bug(s): {' '.join(sorted(unknown))}")
    print(f"time to bug, median of {a.seeds} seeds (-seed=1..{a.seeds}), one core, "
          f"each run capped at {a.max_time} s; load {os.getloadavg()[0]:.1f}")
    hdr = f"{'bug':<22} {'target':<10} {'found':>5} {'execs':>10} {'seconds':>8}  per seed (s)"
    print(hdr)
    print("-" * len(hdr))
    bad = 0
    for bug, target in cases:
        exe, replay = patched_build(os.path.join(bite_test.ROOT, "fuzz", "bite", f"{bug}.patch"),
                                    target, "bench")
        if run([replay, "--timeout", "10", *seed_dirs(target)], 600).returncode != 0:
            print(f"{bug:<22} {target:<10} the seeds already catch it (replay fails)")
            bad += 1
            continue
        res = [one(exe, target, s, a.max_time) for s in range(1, a.seeds + 1)]
        nfound = sum(f for f, _, _ in res)
        # A run that did not find the bug counts as the cap: the median stays honest.
        execs = statistics.median(e for _, e, _ in res)
        secs = statistics.median(s if f else float(a.max_time) for f, _, s in res)
        per = " ".join(f"{s:.1f}" if f else f">{a.max_time}" for f, _, s in res)
        ok = nfound * 2 > a.seeds and secs <= a.max_time
        bad += not ok
        print(f"{bug:<22} {target:<10} {nfound:>3}/{a.seeds} {execs:>10.0f} {secs:>8.1f}  {per}"
              f"{'' if ok else '  <- over the target'}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
