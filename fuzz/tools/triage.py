"""Findings triage (`./sockcheck triage [--keep] [DIR]`): groups the inputs saved under
DIR/<target>/ by the failure they cause, minimises one input per group with libFuzzer's
-minimize_crash (bounded in runs and time), and prints for each group its signature, its
files, the minimised input decoded, and the command that reproduces it. With --keep each
minimised input is copied into corpus/regressions/<target>/ under a name saying what it
found (the replay stage then runs it forever).

Signature of a failure, from the output of fuzz_<target> run on the input alone:
  MISMATCH <file>:<line>: <message with numbers as N>   (sockcheck's oracle check)
  <sanitizer> <kind> in <top 3 frames of the product or target>   (ASan, UBSan, LSan)
  ubsan <file>:<line>: <message>                                   (UBSan's runtime error)
  timeout|oom|deadly-signal in <top 3 frames>                      (libFuzzer)
  no-repro                                     (passes alone: depends on what ran before)

  triage.py --crashes DIR --out DIR [--keep] [--min-time S] [--min-runs N] TARGET...
Binaries: build/fuzz/fuzz/fuzz_<t> (run, minimise), build/asan/fuzz/replay_<t> (decode)."""
import argparse
import collections
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_TIMEOUT = 60

MISMATCH = re.compile(r"sockcheck: MISMATCH at (\S+?):(\d+): ?(.*)")
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                       r"MemorySanitizer|ThreadSanitizer): ([\w-]+)")
UBSAN = re.compile(r"(\S+?):(\d+):\d+: runtime error: (.*)")
LIBFUZZER = re.compile(r"ERROR: libFuzzer: (timeout|out-of-memory|deadly signal|fuzz target exited"
                       r"|malloc limit|leak)")
FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+)")
# frames that say where the runtime, libc or the check helper was, not the bug
RUNTIME_FRAME = re.compile(r"^(__asan|__interceptor_|___interceptor_|__sanitizer|__ubsan|__lsan|"
                           r"__msan|fuzzer::|__libc_|__GI_|__pthread|abort$|raise$|gsignal$|"
                           r"sc_fuzz_fail$|malloc$|calloc$|realloc$|free$|operator |_start$|"
                           r"pthread_kill|mem(cpy|move|set|cmp)$|str(len|nlen|cmp|ncmp|cpy|ncpy|chr|dup)$)")
TIMEOUT_OF = {"timeout": "timeout", "out-of-memory": "oom", "deadly signal": "deadly-signal",
              "fuzz target exited": "exit", "malloc limit": "oom", "leak": "leak"}


def normalise(msg):
    msg = re.sub(r"0x[0-9a-fA-F]+", "0xN", msg)
    return re.sub(r"\d+", "N", msg).strip()


def top_frames(lines, start, n=3):
    frames = []
    for line in lines[start:]:
        m = FRAME.match(line)
        if m:
            if not RUNTIME_FRAME.match(m.group(1)):
                frames.append(m.group(1))
            if len(frames) == n:
                break
        elif frames and not line.strip():
            break  # the end of the first stack
    return frames


def signature(output, rc):
    """(signature, slug) of a run's output; slug names a regression file."""
    output = output.replace(ROOT + "/", "")  # the same source file wherever the tree is
    lines = output.splitlines()
    for line in lines:
        m = MISMATCH.search(line)
        if m:
            where = f"{m.group(1)}:{m.group(2)}"
            words = re.sub(r"[^A-Za-z]+", "-", normalise(m.group(3)).replace("N", "")).strip("-")
            slug = f"mismatch_{os.path.basename(m.group(1)).split('.')[0]}-{m.group(2)}_{words[:40]}"
            return f"MISMATCH {where}: {normalise(m.group(3))}", slug
    for i, line in enumerate(lines):
        m = UBSAN.search(line)
        if m:
            where = f"{m.group(1)}:{m.group(2)}"
            words = re.sub(r"[^A-Za-z]+", "-", normalise(m.group(3)).replace("N", "")).strip("-")
            return (f"ubsan {where}: {normalise(m.group(3))}",
                    f"ubsan_{os.path.basename(m.group(1)).split('.')[0]}-{m.group(2)}_{words[:40]}")
    for i, line in enumerate(lines):
        m = SANITIZER.search(line)
        if m:
            frames = top_frames(lines, i + 1)
            short = {"AddressSanitizer": "asan", "LeakSanitizer": "lsan",
                     "UndefinedBehaviorSanitizer": "ubsan"}.get(m.group(1), m.group(1).lower())
            return (f"{short} {m.group(2)} in {' < '.join(frames) or '?'}",
                    f"{short}-{m.group(2)}_{frames[0] if frames else 'unknown'}")
    for i, line in enumerate(lines):
        m = LIBFUZZER.search(line)
        if m:
            kind = TIMEOUT_OF[m.group(1)]
            frames = top_frames(lines, i + 1)
            return (f"{kind} in {' < '.join(frames) or '?'}",
                    f"{kind}_{frames[0] if frames else 'unknown'}")
    if rc == 0:
        return "no-repro (passes alone)", "no-repro"
    return f"exit {rc} with no report", f"exit-{rc}"


def clean_slug(slug):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", slug).strip("-")[:72]


def options(target):
    """libFuzzer flags from fuzz/<target>.options without the dictionary (a run of one
    input or a minimisation does not mutate with it)."""
    r = subprocess.run([os.path.join(ROOT, "fuzz", "tools", "options.sh"), target],
                       stdout=subprocess.PIPE, text=True, check=True, timeout=30)
    return [o for o in r.stdout.split() if not o.startswith("-dict=")]


def run_one(exe, opts, path):
    """(output, exit status) of the fuzz binary run on one input."""
    try:
        r = subprocess.run([exe, *opts, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, errors="replace", timeout=RUN_TIMEOUT, cwd=tempfile.gettempdir())
        return r.stdout, r.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return out + "\nERROR: libFuzzer: timeout (triage killed the run)\n", 124


def minimise(exe, opts, path, dest, runs, secs):
    """The smallest input libFuzzer's -minimize_crash finds within runs and secs; path if
    it finds none. Returns the minimised file's path (dest) or path."""
    with tempfile.TemporaryDirectory(prefix="sc-triage-") as art:
        cmd = [exe, *opts, "-minimize_crash=1", f"-runs={runs}", f"-max_total_time={secs}",
               f"-artifact_prefix={art}/", f"-exact_artifact_path={dest}", path]
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=secs + RUN_TIMEOUT, cwd=art)
        except subprocess.TimeoutExpired:
            pass
    return dest if os.path.isfile(dest) and os.path.getsize(dest) > 0 else path


def sha1(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def decode(replay, path):
    try:
        r = subprocess.run([replay, "--decode", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace", timeout=RUN_TIMEOUT)
        return r.stdout.rstrip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(cannot decode: {e})"


def rel(path):
    p = os.path.relpath(path, ROOT)
    return path if p.startswith("..") else p


def triage_target(t, args):
    src = os.path.join(args.crashes, t)
    files = sorted(os.path.join(src, f) for f in os.listdir(src)
                   if os.path.isfile(os.path.join(src, f)))
    if not files:
        return 0
    exe = os.path.join(ROOT, "build", "fuzz", "fuzz", f"fuzz_{t}")
    replay = os.path.join(ROOT, "build", "asan", "fuzz", f"replay_{t}")
    opts = options(t)
    groups = collections.OrderedDict()
    for f in files:
        out, rc = run_one(exe, opts, f)
        sig, slug = signature(out, rc)
        groups.setdefault(sig, {"slug": clean_slug(slug), "files": []})["files"].append(f)
    outdir = os.path.join(args.out, t)
    os.makedirs(outdir, exist_ok=True)
    print(f"== {t}: {len(files)} finding(s) in {len(groups)} group(s)")
    for n, (sig, g) in enumerate(groups.items(), 1):
        members = sorted(g["files"], key=lambda p: (os.path.getsize(p), p))
        rep = members[0]
        print(f"\n-- {t} group {n}/{len(groups)}: {sig}")
        print(f"   {len(members)} file(s): " + ", ".join(rel(p) for p in members[:6])
              + (" ..." if len(members) > 6 else ""))
        if sig.startswith("no-repro"):
            print("   not minimised: the input does not fail when run alone")
            continue
        dest = os.path.join(outdir, f"{g['slug']}.min")
        if os.path.exists(dest):
            os.unlink(dest)
        small = minimise(exe, opts, rep, dest, args.min_runs, args.min_time)
        if small != rep:
            out, rc = run_one(exe, opts, small)
            if signature(out, rc)[0] != sig:  # minimised into another failure: keep the original
                os.unlink(small)
                small = rep
        if small == rep:
            shutil.copyfile(rep, dest)
            small = dest
            note = "(not smaller)"
        else:
            note = ""
        print(f"   minimised: {os.path.getsize(rep)} -> {os.path.getsize(small)} bytes {note}: {rel(small)}")
        print("   decoded:")
        print("\n".join("     " + line for line in decode(replay, small).splitlines()))
        print(f"   repro: ./sockcheck repro {rel(small)} --target {t}")
        if args.keep:
            keep_dir = os.path.join(ROOT, "corpus", "regressions", t)
            os.makedirs(keep_dir, exist_ok=True)
            digest = sha1(small)
            same = [e for e in sorted(os.listdir(keep_dir))
                    if os.path.isfile(os.path.join(keep_dir, e)) and sha1(os.path.join(keep_dir, e)) == digest]
            if same:
                print(f"   kept already as corpus/regressions/{t}/{same[0]}")
            else:
                name = f"{g['slug']}_{digest[:8]}"
                shutil.copyfile(small, os.path.join(keep_dir, name))
                print(f"   kept: corpus/regressions/{t}/{name}")
    print()
    return len(groups)


def main():
    ap = argparse.ArgumentParser(prog="triage.py")
    ap.add_argument("--crashes", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--min-time", type=int, default=int(os.environ.get("SC_TRIAGE_MIN_TIME", "30")))
    ap.add_argument("--min-runs", type=int, default=int(os.environ.get("SC_TRIAGE_MIN_RUNS", "20000")))
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    args.crashes = os.path.abspath(args.crashes)
    args.out = os.path.abspath(args.out)
    total = 0
    for t in args.targets:
        total += triage_target(t, args)
    print(f"triage: {total} group(s)" + ("; minimised inputs kept in corpus/regressions/" if args.keep else
                                          "; --keep copies the minimised inputs into corpus/regressions/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
