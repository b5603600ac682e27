#!/usr/bin/python3
"""Stands in for replay_<target> in the driver's tests: [-v] [--decode] [--timeout S] PATH...
with replay_main.c's output; an input holding b"BUG" aborts (a MISMATCH)."""
import os
import sys

args = sys.argv[1:]
verbose = "-v" in args
dec = "--decode" in args
paths = []
i = 0
while i < len(args):
    if args[i] == "--timeout":
        i += 2
        continue
    if not args[i].startswith("-"):
        paths.append(args[i])
    i += 1
files = []
for p in paths:
    if os.path.isdir(p):
        for d, _, names in sorted(os.walk(p)):
            files += [os.path.join(d, n) for n in sorted(names) if not n.startswith("README")]
    elif os.path.isfile(p):
        files.append(p)
    else:
        print(f"replay: {p}: No such file or directory", file=sys.stderr)
        sys.exit(2)
for f in files:
    data = open(f, "rb").read()
    if dec:
        print(f"== {f} ({len(data)} bytes)\n  bytes {data!r}")
        continue
    if verbose:
        print(f"replay: running {f} ({len(data)} bytes)", file=sys.stderr, flush=True)
    if b"BUG" in data:
        print("sockcheck: MISMATCH at fuzz/fake.c:12: received 7 bytes, the model expects 3",
              file=sys.stderr, flush=True)
        os.abort()
    if verbose:
        print(f"ok {f}")
print(f"replayed {len(files)} inputs from {len(paths)} paths: ok")
