"""Writes build/gate/report.md for `./sockcheck gate` from what this gate run produced (its
output directory is emptied when the run starts) and prints the verdict. Exit 0 only for a
release pass: every stage passed and fuzzing ran on every target with no finding.

  gate_report.py --out DIR --secs S --wall S --commit SHA --dirty N [--server-cmd CMD]
                 [--coverage FILE] -- RESULT|STAGE|SECONDS...

Coverage is read from FILE (written by `./sockcheck coverage`) only when it names the commit
being gated and that tree was clean; otherwise the report says coverage was not measured
for this commit."""
import argparse
import datetime
import os
import platform
import re
import sys

COVERAGE = re.compile(r"lines\s+([0-9.]+)%\s+branches\s+([0-9.]+)%")
COMMIT = re.compile(r"^commit\s+([0-9a-f]{7,40})(\s+dirty)?\s*$", re.M)


def coverage_line(path, commit, dirty):
    if not path or not os.path.exists(path):
        return f"not measured (no {path}: run `./sockcheck coverage`)"
    text = open(path, encoding="utf-8", errors="replace").read()
    m = COVERAGE.search(text)
    c = COMMIT.search(text)
    if not m:
        return f"not measured ({path} has no `lines N% branches N%` line)"
    if not c:
        return f"not measured for this commit ({path} does not say which commit it measured)"
    if re.search(r"^scope\s", text, re.M):
        return f"not measured ({path} is a partial run: `./sockcheck coverage --unit-only`)"
    if not commit.startswith(c.group(1)) or c.group(2) or dirty:
        measured = c.group(1)[:12] + (" with uncommitted changes" if c.group(2) else "")
        return f"not measured for this tree ({path} measured {measured})"
    return f"lines {m.group(1)}%, branches {m.group(2)}% (`./sockcheck coverage` of this commit)"


def kfacts_line(path):
    """The calibrated facts this run's oracle and suite followed (sockcheck-kfacts, written
    by this gate run: the gate removes its output directory first)."""
    if not path or not os.path.exists(path):
        return "calibrated facts: not measured"
    line = open(path, encoding="utf-8", errors="replace").read().strip()
    facts = line.split(": ", 1)[1] if line.startswith("kernel ") and ": " in line else line
    return "calibrated facts: " + facts


def findings(out):
    """(target, path) of every file the fuzz stage saved under OUT/crashes/<target>/."""
    root = os.path.join(out, "crashes")
    found = []
    if os.path.isdir(root):
        for t in sorted(os.listdir(root)):
            d = os.path.join(root, t)
            if os.path.isdir(d):
                found += [(t, os.path.join(d, f)) for f in sorted(os.listdir(d))
                          if os.path.isfile(os.path.join(d, f))]
    return found


def main():
    ap = argparse.ArgumentParser(prog="gate_report.py")
    for opt in ("--out", "--commit", "--server-cmd", "--coverage", "--kfacts"):
        ap.add_argument(opt, default="")
    for opt in ("--secs", "--wall", "--dirty"):
        ap.add_argument(opt, type=int, required=True)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = ap.parse_args(argv[:cut])
    stages = [s.split("|") for s in argv[cut + 1:]]

    failed = [n for r, n, _ in stages if r == "FAIL"]
    summary = os.path.join(args.out, "fuzz-work", "summary.txt")
    fuzz_lines = open(summary).read().split("\n") if os.path.exists(summary) else []
    fuzz_lines = [line for line in fuzz_lines if line.strip()]
    found = findings(args.out)
    if failed:
        verdict = f"FAIL: {len(failed)} stage(s) failed ({', '.join(failed)}): do not release"
    elif args.secs == 0:
        verdict = ("NOT A RELEASE PASS: fuzzing was skipped (--time 0); "
                   "the other stages passed")
    elif not fuzz_lines:
        verdict = "NOT A RELEASE PASS: the fuzz stage produced no results"
    elif found:
        verdict = f"FAIL: fuzzing saved {len(found)} finding(s): do not release"
    else:
        verdict = "PASS: release may ship"
    ok = verdict.startswith("PASS")

    tree = args.commit + (f" with {args.dirty} uncommitted change(s): the verdict is for "
                          "that working tree, not for the commit" if args.dirty else " (clean tree)")
    lines = ["# sockcheck release gate", "",
             f"**Verdict: {verdict}**", "",
             f"- commit: {tree}",
             f"- server under test: `{args.server_cmd}`" if args.server_cmd
             else "- server under test: the bundled sockcheck-ok-server",
             f"- kernel: {platform.release()}; {kfacts_line(args.kfacts)}",
             f"- fuzz budget: {args.secs} s" + (" (skipped)" if args.secs == 0 else ""),
             f"- product library coverage: {coverage_line(args.coverage, args.commit, args.dirty)}",
             f"- wall time: {args.wall} s; "
             f"written {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             "", "## Stages", "", "| stage | result | seconds |", "|---|---|---|"]
    lines += [f"| {n} | {r} | {t} |" for r, n, t in stages]
    lines += ["", "JUnit XML per stage: `build/gate/<stage>.xml`."]

    lines += ["", "## Findings", ""]
    if found:
        lines += [f"- `{p}`: `./sockcheck repro {p}`" for _, p in found]
        lines += ["", f"Group and minimise them: `./sockcheck triage {os.path.join(args.out, 'crashes')}`."]
    elif args.secs == 0:
        lines += ["(no fuzzing in this run)"]
    else:
        lines += ["none"]

    lines += ["", "## Fuzzing", ""]
    lines += ["```", *fuzz_lines, "```"] if fuzz_lines else ["(no fuzzing in this run)"]

    beh = os.path.join(args.out, "behaviours.md")
    lines += ["", "## Behaviours", ""]
    if os.path.exists(beh):
        lines += [open(beh).read().strip().replace("# Conformance report", "", 1).strip()]
    else:
        lines += ["(no conformance report: the conformance stage did not write one)"]
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"gate: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
