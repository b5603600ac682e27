"""Mutation testing of the product library: plants one small mutant at a time in a scratch
copy of the tree, runs the test stages in order (stopping at the first failure) and reports
killed, survived (with each survivor's diff), stillborn (does not build) and the score.

  ./sockcheck mutants [--n N] [--seed S] [--files GLOB] [--timeout S] [--fuzz-runs N] [--list]

Mutants (one edit each): relational operator swaps (< <= > >= == !=), && <-> ||, binary
+ <-> -, += <-> -=, ++ <-> --, integer constants +1 / -1, a negated if condition, a deleted
statement. The candidates of the selected files (GLOB over the tree, default
harness/src/*.c) are listed in a fixed order and --n of them sampled with random.Random(S),
so a seed names the same sample every time (for the same sources).

Each mutant has a stable id, FILE@HASH#K:OP (HASH: the mutated line's text, K: which of
the identical lines), unchanged when other lines move. fuzz/mutants-equivalent.txt lists
the ids judged equivalent (no test can tell them from the original), each with its reason;
they are not run and count neither way. Score = killed / (killed + survived).

Stages, each in the scratch copy (build/mutants/src, built incrementally in
build/mutants/asan and build/mutants/fuzz): the mutated module's own unit test
(test_<module> and test_<module>_*, built alone: most mutants die there cheaply), build (ASan preset flags,
-Werror; a build failure is stillborn), unit (the other ctest tests, without the install
test), replay (every corpus and regression), conformance (pytest), fuzz (the targets that
drive the mutated file, -seed=1, -runs=--fuzz-runs). A stage after the module's own test
that fails is run again: it kills the mutant only if it fails twice (a pass the second time
is reported as flaky). A mutant's stages share --timeout seconds; a timeout counts as
killed. Every command runs under tools/stage.py (its own session, the mutant's time left as its
budget): a timeout, or a signal that stops this tool, kills that command's whole tree.
Exit: 0 if no mutant survived, 1 if some did, 2 on usage errors.
"""
import argparse
import difflib
import fnmatch
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fuzzrun import ROOT, options, patched_tree, seed_dirs  # noqa: E402

EQUIVALENT = os.path.join(ROOT, "fuzz", "mutants-equivalent.txt")
# Every command runs under the driver's stage runner: its own session, the mutant's time left
# as its budget, and whatever it started killed when it ends or when this tool is stopped.
STAGE = os.path.join(ROOT, "tools", "stage.py")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STAGE_GRACE = 30  # the runner's own SIGTERM-then-SIGKILL cleanup takes up to 2 x 10 s
WORK = os.path.join(ROOT, "build", "mutants")
# Fuzz targets that drive each product file (the fuzz stage runs those that exist).
FILE_TARGETS = {
    "iov.c": ["sendall", "recvfill"],
    "msg.c": ["sendall", "recvfill", "msghdr"],
    "cmsg.c": ["cmsg"],
    "addr.c": ["addr"],
    "conn.c": ["server", "serverloop"],
    "server.c": ["serverloop"],
    "pair.c": ["msghdr"],
}

# ------------------------------------------------------------------ mutant generation
TYPE_START = re.compile(
    r"^\s*(static\s+|const\s+|unsigned\s+|signed\s+)*"
    r"(int|char|short|long|size_t|ssize_t|bool|void|uint\d+_t|int\d+_t|uintptr_t|socklen_t|"
    r"struct\s+\w+|sc_\w+|sctest_\w+)\b[\s*]+\w")
TOKEN = re.compile(r"<<=|>>=|<<|>>|->|<=|>=|==|!=|&&|\|\||\+\+|--|\+=|-=|<|>|\+|-")
SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==", "&&": "||",
        "||": "&&", "+=": "-=", "-=": "+=", "++": "--", "--": "++", "+": "-", "-": "+"}
KIND = {"<": "rel", "<=": "rel", ">": "rel", ">=": "rel", "==": "rel", "!=": "rel",
        "&&": "logic", "||": "logic", "+=": "arith", "-=": "arith", "++": "arith",
        "--": "arith", "+": "arith", "-": "arith"}
NUMBER = re.compile(r"(?<![\w.])(\d+)([uUlL]*)(?![\w.])")


def mask(lines):
    """Each line with comments, string and char literals blanked (columns kept), and a flag
    per line: True for preprocessor lines (never mutated)."""
    out, pre = [], []
    in_block = False
    for line in lines:
        m = list(line)
        i, n = 0, len(line)
        while i < n:
            if in_block:
                if line.startswith("*/", i):
                    m[i] = m[i + 1] = " "
                    in_block = False
                    i += 2
                    continue
                m[i] = " "
                i += 1
            elif line.startswith("/*", i):
                in_block = True
                m[i] = m[i + 1] = " "
                i += 2
            elif line.startswith("//", i):
                for j in range(i, n):
                    m[j] = " "
                break
            elif line[i] in "\"'":
                q = line[i]
                j = i + 1
                while j < n and line[j] != q:
                    j += 2 if line[j] == "\\" else 1
                for k in range(i + 1, min(j, n)):
                    m[k] = " "
                i = j + 1
            else:
                i += 1
        masked = "".join(m)
        out.append(masked)
        pre.append(masked.lstrip().startswith("#"))
    return out, pre


def matching_paren(s, i):
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    return -1


def line_mutants(line, masked):
    """(op, new_line) for every mutant of one code line."""
    res = []
    for m in TOKEN.finditer(masked):
        tok = m.group(0)
        if tok not in SWAP:
            continue
        a, b = m.start(), m.end()
        if tok in "+-":
            prev = masked[:a].rstrip()
            word = re.search(r"\w+$", prev)
            if (not prev or not (prev[-1].isalnum() or prev[-1] in "_)]")
                    or (word and word.group(0) in ("return", "case", "sizeof"))):
                continue  # unary: a sign, not an operator
        res.append((f"{KIND[tok]}:{tok}->{SWAP[tok]}", line[:a] + SWAP[tok] + line[b:]))
    for m in NUMBER.finditer(masked):
        v = int(m.group(1))
        for nv in (v + 1, v - 1):
            if nv >= 0:
                res.append((f"const:{v}->{nv}",
                            line[:m.start(1)] + str(nv) + line[m.end(1):]))
    m = re.search(r"\b(if|while) \(", masked)
    if m:
        o = m.end() - 1
        c = matching_paren(masked, o)
        if c > 0:
            res.append((f"negate:{m.group(1)}",
                        line[:o + 1] + "!(" + line[o + 1:c] + ")" + line[c:]))
    return res


def is_statement(masked, prev_code):
    """A whole one-line statement that can be deleted (declarations are not)."""
    s = masked.strip()
    if not s.endswith(";") or not prev_code.endswith((";", "{", "}", ":")):
        return False
    if s.startswith(("return", "break", "continue")):
        return True
    if s.startswith(("for", "}", "case", "default")) or TYPE_START.match(masked):
        return False
    return s.count("(") == s.count(")")


def file_mutants(rel):
    """Every mutant of one file: dicts with id, file, line (1-based), op, old, new."""
    with open(os.path.join(ROOT, rel)) as f:
        lines = f.read().split("\n")
    masked, pre = mask(lines)
    seen = {}
    out = []
    prev_code = "{"
    depth = 0
    for i, (line, mk) in enumerate(zip(lines, masked)):
        code = mk.strip()
        if pre[i] or not code:
            continue
        h = hashlib.sha1(line.strip().encode()).hexdigest()[:8]
        k = seen.get(h, 0)
        seen[h] = k + 1
        if depth > 0:  # inside a function body: only statements are mutated
            cands = line_mutants(line, mk)
            if is_statement(mk, prev_code):
                cands.append(("delete", ""))
            ops = {}
            for op, new in cands:
                j = ops.get(op, 0)
                ops[op] = j + 1
                mid = f"{rel}@{h}#{k}:{op}" + (f"/{j}" if j else "")
                out.append({"id": mid, "file": rel, "line": i + 1, "op": op, "old": line,
                            "new": new})
        depth += code.count("{") - code.count("}")
        prev_code = code
    return out


def all_mutants(pattern):
    r = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                       stdout=subprocess.PIPE, text=True, check=True)
    files = sorted(f for f in r.stdout.splitlines()
                   if fnmatch.fnmatch(f, pattern) and f.endswith(".c")
                   and os.path.isfile(os.path.join(ROOT, f)))
    return files, [m for f in files for m in file_mutants(f)]


def mutant_patch(m):
    with open(os.path.join(ROOT, m["file"])) as f:
        old = f.read().split("\n")
    new = list(old)
    new[m["line"] - 1] = m["new"]
    d = difflib.unified_diff([l + "\n" for l in old], [l + "\n" for l in new],
                             "a/" + m["file"], "b/" + m["file"], n=2)
    return "".join(d)


def load_equivalent():
    eq = {}
    if os.path.exists(EQUIVALENT):
        with open(EQUIVALENT) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    mid, _, reason = line.partition(" ")
                    eq[mid] = reason.strip()
    return eq


# ------------------------------------------------------------------ running
class Deadline(Exception):
    pass


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP reached this tool: the running command is stopped first."""


def on_signal(sig, frame):
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)  # the cleanup that follows is bounded; let it finish
    raise Interrupted(sig)


class Runner:
    def __init__(self, timeout, fuzz_runs, log):
        self.timeout = timeout
        self.fuzz_runs = fuzz_runs
        self.log = log
        self.src = os.path.join(WORK, "src")
        self.asan = os.path.join(WORK, "asan")
        self.fuzz = os.path.join(WORK, "fuzz")
        self.flaky = []

    def run(self, cmd, cwd=None):
        left = int(self.end - time.monotonic())
        if left < 1:
            raise Deadline()
        self.log.write(f"$ {' '.join(cmd)}\n")
        self.log.flush()
        with tempfile.TemporaryFile() as out:
            p = None
            try:
                p = subprocess.Popen([sys.executable, STAGE, "mutant", str(left), "--", *cmd],
                                     cwd=cwd or ROOT, stdout=out, stderr=subprocess.STDOUT)
                p.wait(timeout=left + STAGE_GRACE)
            except (Interrupted, subprocess.TimeoutExpired) as e:
                if p is None:
                    raise
                p.send_signal(signal.SIGTERM)  # the runner stops its session and dies of it
                try:
                    p.wait(timeout=STAGE_GRACE)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                if isinstance(e, Interrupted):
                    raise
                raise Deadline() from None
            out.seek(0)
            text = out.read().decode(errors="replace")
        self.log.write(text[-20000:])
        if p.returncode == 124:  # the runner's "out of budget"
            raise Deadline()
        return subprocess.CompletedProcess(cmd, p.returncode, text)

    def configure(self, build_dir, args):
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            r = self.run(["cmake", "-S", self.src, "-B", build_dir, "-DCMAKE_C_COMPILER=clang",
                          "-DSC_WERROR=ON", *args])
            if r.returncode != 0:
                raise RuntimeError(f"configure of {build_dir} failed:\n{r.stdout[-3000:]}")

    def stages(self, targets, own):
        """(name, callable -> bool passed) in order; own: the mutated module's unit test."""
        def unit():
            exclude = "^(install_consumer" + (f"|{own}" if own else "") + ")$"
            return self.run(["ctest", "--test-dir", self.asan, "-j2", "-E", exclude,
                             "--output-on-failure"]).returncode == 0

        def replay():
            ok = True
            for t in TARGETS:
                ok = ok and self.run([os.path.join(self.asan, "fuzz", f"replay_{t}"),
                                      "--timeout", "10", *seed_dirs(t)]).returncode == 0
            return ok

        def conformance():
            return self.run(["/usr/bin/python3", "-m", "pytest", "conformance", "-q", "-x",
                             "-n", "2", "-p", "no:cacheprovider", "--bin-dir",
                             os.path.join(self.asan, "bin")]).returncode == 0

        def fuzz():
            self.configure(self.fuzz, ["-DSC_FUZZ=ON", "-DSC_TESTS=OFF",
                                       "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
            names = [a for t in targets for a in ("--target", f"fuzz_{t}")]
            if self.run(["cmake", "--build", self.fuzz, "-j2", *names]).returncode != 0:
                return False
            for t in targets:
                with tempfile.TemporaryDirectory(prefix="mutant-fuzz-") as d:
                    seeds = os.path.join(ROOT, "corpus", t)
                    r = self.run([os.path.join(self.fuzz, "fuzz", f"fuzz_{t}"), "-seed=1",
                                  f"-runs={self.fuzz_runs}", f"-artifact_prefix={d}/",
                                  *options(t), d, *([seeds] if os.path.isdir(seeds) else [])],
                                 cwd=d)
                    if r.returncode != 0:
                        return False
            return True

        out = [("unit", unit), ("replay", replay), ("conformance", conformance)]
        if targets and self.fuzz_runs > 0:
            out.append(("fuzz", fuzz))
        return out

    def mutant(self, m):
        """('killed', stage) | ('survived', None) | ('stillborn', None)."""
        self.end = time.monotonic() + self.timeout
        with tempfile.NamedTemporaryFile("w", suffix=".patch", delete=False) as f:
            f.write(mutant_patch(m))
            patch = f.name
        try:
            patched_tree(patch, self.src)
        finally:
            os.unlink(patch)
        try:
            self.configure(self.asan, ["-DCMAKE_BUILD_TYPE=Debug", "-DSC_SANITIZE=ON"])
            base = os.path.basename(m["file"])
            # The mutated module's own unit test first: most mutants die there, for the
            # price of one compile and one link.
            # (test_<module>.c and its siblings test_<module>_*.c, e.g. test_server_faults)
            tests = os.path.join(ROOT, "harness", "tests")
            mine = sorted(f[:-2] for f in os.listdir(tests)
                          if f == f"test_{base}" or (f.startswith(f"test_{base[:-2]}_") and f.endswith(".c")))
            own = "|".join(mine) or None
            if own:
                if self.run(["cmake", "--build", self.asan, "-j2"] + [a for t in mine for a in ("--target", t)]).returncode:
                    return "stillborn", "build"
                if self.run(["ctest", "--test-dir", self.asan, "-R", f"^({own})$",
                             "--output-on-failure"]).returncode:
                    return "killed", f"unit:{own}"
            if self.run(["cmake", "--build", self.asan, "-j2"]).returncode != 0:
                return "stillborn", "build"
            targets = [t for t in FILE_TARGETS.get(base, [])
                       if os.path.exists(os.path.join(ROOT, "fuzz", f"{t}.c"))]
            for name, stage in self.stages(targets, own):
                # A stage that fails once and then passes is load flakiness, not the
                # mutant (seen: conformance's meta test under load): run it twice.
                if not stage():
                    if not stage():
                        return "killed", name
                    self.flaky.append((m["id"], name))
        except Deadline:
            return "killed", "timeout"
        return "survived", None


TARGETS = []


def main():
    ap = argparse.ArgumentParser(prog="sockcheck mutants",
                                 description="mutation testing of the product library")
    ap.add_argument("--n", type=int, default=40, help="mutants to sample (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", default="harness/src/*.c", help="glob over the tree's files")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per mutant")
    ap.add_argument("--fuzz-runs", type=int, default=100000,
                    help="libFuzzer runs per target in the fuzz stage (0: no fuzz stage)")
    ap.add_argument("--list", action="store_true", help="print the sample, run nothing")
    a = ap.parse_args()
    if a.n < 0 or a.timeout < 1 or a.fuzz_runs < 0:
        ap.error("--n and --fuzz-runs must be >= 0, --timeout >= 1")
    files, cands = all_mutants(a.files)
    if not files:
        ap.error(f"--files {a.files} matches no C file of the tree")
    eq = load_equivalent()
    sample = cands if a.n == 0 or a.n >= len(cands) else random.Random(a.seed).sample(cands, a.n)
    print(f"mutants: {len(cands)} candidates in {len(files)} file(s), sample {len(sample)} "
          f"(seed {a.seed})", flush=True)
    if a.list:
        for m in sample:
            print(f"{m['id']}  line {m['line']}: {m['old'].strip()}  =>  {m['new'].strip() or '(deleted)'}")
        return 0
    r = subprocess.run(["git", "ls-files", "fuzz/*.c"], cwd=ROOT, stdout=subprocess.PIPE,
                       text=True, check=True)
    TARGETS.extend(sorted(os.path.basename(f)[:-2] for f in r.stdout.split()
                          if os.path.dirname(f) == "fuzz" and f != "fuzz/replay_main.c"))
    os.makedirs(WORK, exist_ok=True)
    log_path = os.path.join(WORK, "log.txt")
    results = []
    for s in STOP_SIGNALS:
        signal.signal(s, on_signal)
    try:
        runner = run_sample(sample, eq, a, log_path, results)
    except Interrupted as e:
        print(f"mutants: stopped by signal {e.args[0]} after {len(results)} of {len(sample)} "
              f"mutant(s); every command it started is gone", file=sys.stderr, flush=True)
        signal.signal(e.args[0], signal.SIG_DFL)  # die of the same signal, as stage.py does
        os.kill(os.getpid(), e.args[0])
        return 128 + e.args[0]
    report(results, runner, log_path)
    return 1 if any(r[0] == "survived" for _, r in results) else 0


def run_sample(sample, eq, a, log_path, results):
    """Runs each mutant of sample, appending (mutant, result) to results; returns the
    runner."""
    with open(log_path, "w") as log:
        runner = Runner(a.timeout, a.fuzz_runs, log)
        for i, m in enumerate(sample, 1):
            t0 = time.monotonic()
            if m["id"] in eq:
                res = ("equivalent", eq[m["id"]])
            else:
                log.write(f"\n===== {m['id']}\n")
                res = runner.mutant(m)
            results.append((m, res))
            stage = res[1] if res[0] in ("killed", "stillborn") else ""
            print(f"[{i}/{len(sample)}] {res[0]:<10} {stage:<12} {time.monotonic() - t0:5.0f}s"
                  f"  {m['id']}  {m['old'].strip()[:50]!r} => {m['new'].strip()[:50]!r}",
                  flush=True)
        # leave the scratch tree clean: the next run rebuilds only what it mutates
        patched_tree(None, runner.src)
    return runner


def report(results, runner, log_path):
    for mid, name in runner.flaky:
        print(f"flaky: stage {name} failed once and then passed with {mid}")
    count = {k: sum(1 for _, r in results if r[0] == k)
             for k in ("killed", "survived", "stillborn", "equivalent")}
    for m, r in results:
        if r[0] == "survived":
            print(f"\nSURVIVED {m['id']}\n{mutant_patch(m)}", end="")
    by_stage = {}
    for _, r in results:
        if r[0] == "killed":
            by_stage[r[1]] = by_stage.get(r[1], 0) + 1
    judged = count["killed"] + count["survived"]
    score = 100.0 * count["killed"] / judged if judged else 100.0
    print(f"\nmutants: {len(results)} sampled: {count['killed']} killed "
          f"({', '.join(f'{k} {v}' for k, v in sorted(by_stage.items()))}), "
          f"{count['survived']} survived, {count['stillborn']} stillborn, "
          f"{count['equivalent']} equivalent; score {score:.1f}% of {judged} "
          f"(log: {os.path.relpath(log_path, ROOT)})")


if __name__ == "__main__":
    sys.exit(main())
