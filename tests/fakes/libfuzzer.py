#!/usr/bin/python3
"""Stands in for a libFuzzer binary (fuzz_<target>) in the driver's tests: same flags, same
kinds of output, no fuzzing. An input holding b"BUG" is a finding (a sockcheck MISMATCH);
an input starting with b"dup" adds no coverage (a merge drops it). Every invocation's
arguments are appended to $FAKE_ARGS/<program name>.args.

Campaign (directories given): fails at once if a corpus input holds BUG (as a seed that
fails during INIT); else prints a status line every 0.2 s for -max_total_time seconds,
writes one new input to the first directory, and with $FAKE_FIND=1 saves a finding at the
end. -merge=1, -minimize_crash=1 and runs of single files behave as libFuzzer's do."""
import hashlib
import os
import sys
import time

name = os.path.basename(sys.argv[0])
flags = {}
paths = []
for a in sys.argv[1:]:
    if a.startswith("-") and "=" in a:
        k, v = a[1:].split("=", 1)
        flags[k] = v
    else:
        paths.append(a)
if os.environ.get("FAKE_ARGS"):
    with open(os.path.join(os.environ["FAKE_ARGS"], name + ".args"), "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\n")


def inputs(d):
    return [os.path.join(d, f) for f in sorted(os.listdir(d))
            if os.path.isfile(os.path.join(d, f)) and not f.startswith("README")]


def read(p):
    with open(p, "rb") as f:
        return f.read()


def finding(data, prefix):
    path = prefix + "crash-" + hashlib.sha1(data).hexdigest()
    with open(path, "wb") as f:
        f.write(data)
    print("sockcheck: MISMATCH at fuzz/fake.c:12: received 7 bytes, the model expects 3", flush=True)
    print("==1==ERROR: libFuzzer: deadly signal")
    print("    #0 0x5555 in __sanitizer_print_stack_trace")
    print("    #1 0x5556 in sc_fuzz_fail fuzz/support/check.c:12")
    print("    #2 0x5557 in LLVMFuzzerTestOneInput fuzz/fake.c:12")
    print("")
    print(f"artifact_prefix='{prefix}'; Test unit written to {path}")
    sys.exit(1)


if flags.get("merge") == "1":
    out, rest = paths[0], paths[1:]
    have = {hashlib.sha1(read(p)).hexdigest() for p in inputs(out)}
    for d in rest:
        for p in inputs(d):
            data = read(p)
            h = hashlib.sha1(data).hexdigest()
            if not data.startswith(b"dup") and h not in have:
                with open(os.path.join(out, h), "wb") as f:
                    f.write(data)
                have.add(h)
    print(f"MERGE-OUTER: {len(have)} files")
    sys.exit(0)

if flags.get("minimize_crash") == "1":
    with open(flags["exact_artifact_path"], "wb") as f:
        f.write(b"BUG")
    sys.exit(0)

if paths and all(os.path.isfile(p) for p in paths):  # run these inputs once
    for p in paths:
        print(f"Running: {p}")
        if b"BUG" in read(p):
            finding(read(p), flags.get("artifact_prefix", "./"))
    sys.exit(0)

# a campaign
print("INFO: Seed: 1")
prefix = flags.get("artifact_prefix", "./")
for d in paths:
    for p in inputs(d):
        if b"BUG" in read(p):
            finding(read(p), prefix)
secs = int(flags.get("max_total_time", "1"))
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < secs:
    time.sleep(0.2)
    n += 1000
    print(f"#{n}\tpulse  cov: {10 + n // 1000} ft: {20 + n // 1000} corp: 3/30b lim: 4 exec/s: 5000 rss: 30Mb",
          flush=True)
with open(os.path.join(paths[0], "generated-" + str(os.getpid())), "wb") as f:
    f.write(b"new input %d" % os.getpid())
if os.environ.get("FAKE_FIND") == "1":
    finding(b"BUG found by fuzzing", prefix)
print(f"Done {n} runs in {secs} second(s)")
print(f"stat::number_of_executed_units: {n}")
print("stat::average_exec_per_sec:     5000")
print("stat::peak_rss_mb:              30")
