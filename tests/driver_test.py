"""The driver's own tests (stage `driver` of ./sockcheck test): its error handling, campaign
scheduling and progress, corpus pruning, triage, stage budgets and the gate's report.

Each test runs the driver in a scratch project: a copy of ./sockcheck, tools/, fuzz/tools/
and the .options files, with fake fuzz and replay binaries (tests/fakes/) in place of the
builds and no-op stand-ins for cmake, ctest, clang-format and cppcheck on PATH. So the tests
take seconds and exercise the driver alone. SC_DRIVER_UNDER_TEST=PATH tests another copy
of the driver (for example the old one, to see these tests fail on it).
Run: /usr/bin/python3 -m pytest tests/driver_test.py"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.environ.get("SC_DRIVER_UNDER_TEST", os.path.join(ROOT, "sockcheck"))
FAKES = os.path.join(ROOT, "tests", "fakes")
RUN_TIMEOUT = 90

STUB = """#!/bin/bash
# stands in for {name}: FAKE_FAIL_{var}=WORD makes it fail when an argument contains WORD
if [ -n "${{FAKE_FAIL_{var}:-}}" ]; then
  for a in "$@"; do case $a in *"$FAKE_FAIL_{var}"*) echo "{name}: failed (fake)" >&2; exit 1 ;; esac; done
fi
[ -z "${{FAKE_RUN_{var}:-}}" ] || eval "$FAKE_RUN_{var}"
exit 0
"""
FAKE_PYTEST_CONFTEST = '''
def pytest_addoption(parser):
    for opt in ("--bin-dir", "--server-cmd", "--report"):
        parser.addoption(opt, default=None)

def pytest_sessionfinish(session):
    path = session.config.getoption("--report")
    if path:
        with open(path, "w") as f:
            f.write("# Conformance report\\n\\nfake suite: every behaviour passed\\n")
'''
FAKE_PYTEST_TESTS = '''
import os, time

def test_ok():
    pass

def test_hangs_when_asked():
    if os.environ.get("FAKE_HANG") == "1":
        time.sleep(300)
'''


def driver_targets():
    with open(DRIVER) as f:
        m = re.search(r"^TARGETS=\(([^)]*)\)", f.read(), re.M)
    return m.group(1).split()


TARGETS = driver_targets()


class Project:
    """A scratch project around a copy of the driver."""

    def __init__(self, root, args_dir):
        self.root = root
        self.args_dir = args_dir
        self.env = dict(os.environ, PATH=f"{root}/stubs:{os.environ['PATH']}", FAKE_ARGS=str(args_dir))
        for k in list(self.env):
            if k.startswith(("SC_BUDGET_", "SC_JUNIT", "FAKE_")) and k != "FAKE_ARGS":
                del self.env[k]

    def path(self, rel):
        return os.path.join(self.root, rel)

    def write(self, rel, data):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def read(self, rel):
        with open(self.path(rel), errors="replace") as f:
            return f.read()

    def args(self, prog):
        p = os.path.join(self.args_dir, prog + ".args")
        return open(p).read() if os.path.exists(p) else ""

    def run(self, *args, timeout=RUN_TIMEOUT, **env):
        """Runs the driver in its own session (so a hang is killed whole); returns
        (exit status, stdout, stderr, seconds)."""
        e = dict(self.env, **env)
        t0 = time.monotonic()
        p = subprocess.Popen(["bash", self.path("sockcheck"), *args], cwd=self.root, env=e,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             errors="replace", start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            err += f"\n[driver_test: killed after {timeout} s]"
            return 999, out, err, time.monotonic() - t0
        return p.returncode, out, err, time.monotonic() - t0


def sha1(data):
    return hashlib.sha1(data).hexdigest()


@pytest.fixture
def proj(tmp_path):
    return make_project(tmp_path)


def make_project(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    shutil.copy(DRIVER, root / "sockcheck")
    shutil.copytree(os.path.join(ROOT, "tools"), root / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "fuzz" / "tools").mkdir(parents=True)
    for f in ("options.sh", "triage.py", "mutants.py"):
        if os.path.exists(os.path.join(ROOT, "fuzz", "tools", f)):
            shutil.copy(os.path.join(ROOT, "fuzz", "tools", f), root / "fuzz" / "tools" / f)
    shutil.copy(os.path.join(ROOT, "fuzz", "fuzzrun.py"), root / "fuzz" / "fuzzrun.py")
    for f in os.listdir(os.path.join(ROOT, "fuzz")):
        if f.endswith((".options", ".dict")):
            shutil.copy(os.path.join(ROOT, "fuzz", f), root / "fuzz" / f)
    stubs = root / "stubs"
    stubs.mkdir()
    for name in ("cmake", "ctest", "clang-format", "cppcheck"):
        (stubs / name).write_text(STUB.format(name=name, var=name.upper().replace("-", "_")))
        (stubs / name).chmod(0o755)
    for preset in ("asan", "fuzz"):
        (root / "build" / preset / "fuzz").mkdir(parents=True)
        (root / "build" / preset / "CMakeCache.txt").write_text("")
    for t in TARGETS:
        (root / "corpus" / t).mkdir(parents=True)
        (root / "corpus" / t / "seed-ok").write_bytes(b"hello " + t.encode())
        shutil.copy(os.path.join(FAKES, "libfuzzer.py"), root / "build" / "fuzz" / "fuzz" / f"fuzz_{t}")
        shutil.copy(os.path.join(FAKES, "replay.py"), root / "build" / "asan" / "fuzz" / f"replay_{t}")
    # the stages' pytest suites, each one passing test
    (root / "conformance").mkdir()
    (root / "conformance" / "conftest.py").write_text(FAKE_PYTEST_CONFTEST)
    (root / "conformance" / "test_fake.py").write_text(FAKE_PYTEST_TESTS)
    for rel in ("fuzz/bite_test.py", "fuzz/interference_test.py", "tests/driver_test.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("def test_ok():\n    pass\n")
    (root / ".gitignore").write_text("build/\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=root, check=True)
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-qm", "scratch"], cwd=root, check=True)
    args_dir = tmp_path / "args"
    args_dir.mkdir()
    return Project(str(root), args_dir)


def one_line_usage_error(rc, err):
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2, f"exit {rc}, stderr: {err!r}"
    assert len(lines) == 1, f"not one line: {err!r}"
    assert not re.search(r"line \d+", err), f"a bash line number: {err!r}"


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args", [
    ["fuzz", "addr", "--time"], ["fuzz", "addr", "--jobs"], ["gate", "--time"],
    ["gate", "--server-cmd"], ["repro", "corpus/addr/seed-ok", "--target"],
    ["decode", "corpus/addr/seed-ok", "--target"]], ids=" ".join)
def test_missing_option_value_is_one_line_and_exit_2(proj, args):
    rc, _, err, _ = proj.run(*args)
    one_line_usage_error(rc, err)
    assert args[-1] in err


@pytest.mark.parametrize("cmd,value", [
    ("fuzz", "0"), ("fuzz", "-3"), ("fuzz", "abc"), ("fuzz", "1e3"), ("fuzz", "99999999999999999999"),
    ("fuzz", "604801"), ("gate", "-1"), ("gate", "abc"), ("gate", "99999999999999999999"),
    ("gate", "604801")])
def test_bad_time_is_refused_before_anything_runs(proj, cmd, value):
    args = [cmd, "addr"] if cmd == "fuzz" else [cmd]
    rc, out, err, _ = proj.run(*args, "--time", value, timeout=30)
    one_line_usage_error(rc, err)
    assert "--time" in err and out == ""
    assert not os.path.exists(proj.path("build/gate")), "the gate started"


# ---------------------------------------------------------------- fuzz

def test_fuzz_says_which_seed_fails(proj):
    proj.write("corpus/addr/seed-bad", b"a BUG in a seed")
    rc, out, err, _ = proj.run("fuzz", "addr", "--time", "2", "--no-merge")
    assert rc == 1, (rc, out, err)
    crash = "build/crashes/addr/crash-" + sha1(b"a BUG in a seed")
    assert crash in err, f"the finding is not named:\n{out}\n{err}"
    assert "MISMATCH" in err and "corpus/addr/seed-bad" in err, err


def test_jobs_share_the_time_budget(proj):
    rc, out, err, secs = proj.run("fuzz", "addr", "--time", "6", "--jobs", "3", "--no-merge")
    assert rc == 0, (out, err)
    # one target, three workers in one libFuzzer -fork=3 run, not three times the time
    assert secs < 6 * 3 - 3, f"--time 6 --jobs 3 took {secs:.1f} s"
    m = re.search(r"-max_total_time=(\d+)", proj.args("fuzz_addr"))
    assert m and 1 <= int(m.group(1)) <= 6 and "-fork=3" in proj.args("fuzz_addr"), proj.args("fuzz_addr")


def test_all_targets_share_the_budget_in_rounds(proj):
    rc, out, err, secs = proj.run("fuzz", "all", "--time", "6", "--jobs", "2", "--no-merge")
    assert rc == 0, (out, err)
    rounds = (len(TARGETS) + 1) // 2
    assert secs < 6 + 5 * rounds, f"--time 6 --jobs 2 over {len(TARGETS)} targets took {secs:.1f} s"
    times = {}
    for t in TARGETS:
        m = re.search(r"-max_total_time=(\d+)", proj.args(f"fuzz_{t}"))
        assert m, (t, proj.args(f"fuzz_{t}"))
        times[t] = int(m.group(1))
    # the rounds' times add up to the budget at most (targets of one round run at once)
    assert sum(times.values()) <= 6 * 2, times


def test_calibration_is_not_fuzzing_time(proj):
    # the kernel facts are measured (a build, then probes) before the budget's clock starts
    slow = 'case "$*" in *sockcheck-kfacts*) sleep 2 ;; esac'
    rc, out, err, _ = proj.run("fuzz", "addr", "--time", "4", "--no-merge", FAKE_RUN_CMAKE=slow)
    assert rc == 0, (out, err)
    assert re.search(r"^addr\s+4\s+1\s", out, re.M), out


def test_progress_lines_and_final_table(proj):
    rc, out, err, _ = proj.run("fuzz", "addr", "--time", "7", "--no-merge")
    assert rc == 0, (out, err)
    progress = re.findall(r"^fuzz: \[\s*\d+s\] addr\s+execs=\d+ exec/s=\d+ cov=\d+ ft=\d+ corpus=\d+ crashes=0$",
                          out, re.M)
    assert progress, f"no progress line:\n{out}"
    assert re.search(r"^target\s+secs\s+workers\s+execs\s+exec/s\s+cov", out, re.M), out
    assert re.search(r"^addr\s+7\s+1\s+\d+\s+5000\s+\d+", out, re.M), out


def test_extra_flags_pass_through_after_double_dash(proj):
    rc, out, err, _ = proj.run("fuzz", "addr", "--time", "1", "--no-merge", "--", "-seed=7",
                               "-use_value_profile=1")
    assert rc == 0, (out, err)
    args = proj.args("fuzz_addr")
    assert "-seed=7" in args and "-use_value_profile=1" in args, args


def test_merge_prunes_generated_inputs_and_keeps_named_seeds(proj):
    dup, keep = b"dup: adds nothing", b"keep me"
    proj.write(f"corpus/addr/{sha1(dup)}", dup)
    proj.write(f"corpus/addr/{sha1(keep)}", keep)
    proj.write("corpus/addr/README.md", b"about these seeds")
    rc, out, err, _ = proj.run("fuzz", "addr", "--time", "1")
    assert rc == 0, (out, err)
    names = sorted(os.listdir(proj.path("corpus/addr")))
    assert sha1(dup) not in names, f"a redundant input survived the merge: {names}"
    assert sha1(keep) in names and "seed-ok" in names and "README.md" in names, names
    generated = [n for n in names if re.fullmatch(r"[0-9a-f]{40}", n) and n != sha1(keep)]
    assert len(generated) == 1, f"the campaign's new input was not merged: {names}"
    assert "-merge=1" in proj.args("fuzz_addr")


def test_every_target_has_a_per_input_timeout():
    for f in sorted(os.listdir(os.path.join(ROOT, "fuzz"))):
        if f.endswith(".options"):
            t = f[:-len(".options")]
            r = subprocess.run([os.path.join(ROOT, "fuzz", "tools", "options.sh"), t],
                               stdout=subprocess.PIPE, text=True, check=True, timeout=30)
            assert re.search(r"^-timeout=\d+$", r.stdout, re.M), f"fuzz/{f} sets no timeout"


# ---------------------------------------------------------------- repro

def test_repro_of_a_directory_replays_it_and_names_the_failing_input(proj):
    proj.write("corpus/addr/zz-bad", b"BUG")
    rc, out, err, _ = proj.run("repro", "corpus/addr")
    assert rc != 0, (out, err)
    assert "FAIL" in out and "corpus/addr/zz-bad" in out, out + err
    assert "./sockcheck repro corpus/addr/zz-bad --target addr" in out, out
    rc, out, err, _ = proj.run("repro", "corpus/cmsg")
    assert rc == 0 and "repro: PASS" in out, (out, err)


def test_repro_refuses_a_target_the_path_contradicts(proj):
    rc, out, err = proj.run("repro", "corpus/msghdr/seed-ok", "--target", "addr")[:3]
    one_line_usage_error(rc, err)
    assert "msghdr" in err and "PASS" not in out
    proj.write("build/crashes/cmsg/crash-1", b"x")
    rc, out, err = proj.run("repro", "build/crashes/cmsg/crash-1", "--target", "layout")[:3]
    one_line_usage_error(rc, err)
    # outside the known directories --target is what names the target
    outside = proj.write("elsewhere/input", b"x")
    rc, out, err = proj.run("repro", outside, "--target", "addr")[:3]
    assert rc == 0 and "target: addr" in out, (out, err)


# ---------------------------------------------------------------- triage

def test_triage_groups_minimises_and_keeps(proj):
    proj.write("build/crashes/addr/crash-a", b"xxxBUGyyy")
    proj.write("build/crashes/addr/crash-b", b"BUGzzzzzzzzzz")
    proj.write("build/crashes/addr/crash-c", b"passes alone")
    proj.write("build/crashes/cmsg/crash-d", b"..BUG..")
    rc, out, err, _ = proj.run("triage", "--keep")
    assert rc == 0, (out, err)
    assert "== addr: 3 finding(s) in 2 group(s)" in out, out
    assert "MISMATCH fuzz/fake.c:12: received N bytes, the model expects N" in out, out
    assert "minimised: 9 -> 3 bytes" in out, out
    assert "no-repro" in out and "== cmsg: 1 finding(s) in 1 group(s)" in out, out
    assert "bytes b'BUG'" in out, f"the decoded input is not shown:\n{out}"
    m = re.search(r"repro: (\./sockcheck repro (\S+) --target addr)", out)
    assert m and os.path.isfile(proj.path(m.group(2))), out
    kept = os.listdir(proj.path("corpus/regressions/addr"))
    assert len(kept) == 1 and kept[0].startswith("mismatch_fake-12_received-bytes"), kept
    assert open(proj.path("corpus/regressions/addr/" + kept[0]), "rb").read() == b"BUG"
    rc, out, err, _ = proj.run("triage", "--keep")
    assert "kept already as corpus/regressions/addr/" + kept[0] in out, out


# ---------------------------------------------------------------- stages

def test_test_names_the_replay_input_that_failed_and_writes_junit(proj):
    proj.write("corpus/layout/zz-bad", b"BUG")
    rc, out, err, _ = proj.run("test", "--keep-going")
    assert rc == 1, (out, err)
    assert re.search(r"replay: layout FAILED: exit \d+ on corpus/layout/zz-bad", out), out
    assert "./sockcheck repro corpus/layout/zz-bad --target layout" in out, out
    for stage in ("build", "lint", "driver", "unit", "replay", "conformance", "bite", "interference"):
        assert os.path.exists(proj.path(f"build/test/{stage}.xml")), f"no JUnit XML for {stage}"
    xml = proj.read("build/test/replay.xml")
    assert re.search(r'<testcase classname="replay" name="layout"[^>]*><failure', xml), xml


def _pid_alive(pid, marker):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return marker in f.read()
    except OSError:
        return False


def test_a_stage_out_of_budget_is_named_and_leaves_no_process(proj, tmp_path):
    pidfile = tmp_path / "escaped.pid"
    hang = f"setsid sleep 297 & echo $! > {pidfile}; sleep 296"
    rc, out, err, secs = proj.run("test", SC_BUDGET_LINT="2", FAKE_RUN_CLANG_FORMAT=hang, timeout=60)
    try:
        assert rc == 1, (rc, out, err)
        assert secs < 30, f"took {secs:.0f} s"
        assert "stage lint ran out of its 2 s budget" in err, err
        assert "clang-format" in err and "sleep 296" in err, err
        assert "== [unit] skipped" in out, out
    finally:
        escaped = int(pidfile.read_text()) if pidfile.exists() else None
        alive = escaped and _pid_alive(escaped, b"sleep\x00297")
        if alive:
            os.kill(escaped, signal.SIGKILL)
    assert escaped and not alive, "the stage's setsid child outlived it"


def test_the_tests_in_flight_are_named_when_a_budget_runs_out(proj):
    ctest = "echo '    Start  3: test_conn'; sleep 295"
    rc, out, err, _ = proj.run("test", "--keep-going", SC_BUDGET_UNIT="2", SC_BUDGET_CONFORMANCE="8",
                               FAKE_RUN_CTEST=ctest, FAKE_HANG="1", timeout=80)
    assert rc == 1, (out, err)
    assert "stage unit ran out of its 2 s budget; tests running: test_conn" in err, err
    assert re.search(r"stage conformance ran out of its 8 s budget; tests running: "
                     r"\S*test_fake.py::test_hangs_when_asked", err), err
    assert "test_hangs_when_asked" in proj.read("build/test/conformance.xml")


def test_a_stage_that_leaves_a_process_fails(proj, tmp_path):
    pidfile = tmp_path / "left.pid"
    leave = f"setsid sleep 293 & echo $! > {pidfile}"
    rc, out, err, _ = proj.run("test", FAKE_RUN_CLANG_FORMAT=leave)
    escaped = int(pidfile.read_text())
    alive = _pid_alive(escaped, b"sleep\x00293")
    if alive:
        os.kill(escaped, signal.SIGKILL)
    assert not alive, "the process the stage left is still running"
    assert rc == 1 and "stage lint left 1 process(es) running" in err, (out, err)


# ---------------------------------------------------------------- documented commands

DOCUMENTED = re.compile(r"\./sockcheck ([a-z][a-z_-]*)(?: ((?:[a-z]+\\?\|)+[a-z]+))?")


def documented_commands():
    """Every `./sockcheck CMD` of README.md and docs/driver.md, and bench's alternatives
    (`bench fuzz|server|bite|all`) as (CMD, SUB)."""
    found = {}
    for rel in ("README.md", "docs/driver.md"):
        with open(os.path.join(ROOT, rel)) as f:
            for m in DOCUMENTED.finditer(f.read()):
                found.setdefault((m.group(1),), rel)
                for sub in (m.group(2) or "").replace("\\", "").split("|"):
                    if sub:
                        found.setdefault((m.group(1), sub), rel)
    return found


def test_every_documented_command_exists(proj):
    """A merge that loses a subcommand (bench bite and mutants were lost once) fails here:
    each documented command's --help exits 0 with its usage, and the driver's usage lists it;
    what is not a command is a one-line usage error (exit 2)."""
    for rel in ("bench/bench_fuzz.sh", "bench/bench_server.py", "fuzz/tools/bench_bite.py"):
        shutil.copy(os.path.join(ROOT, rel), proj.write(rel, b""))
    docs = documented_commands()
    assert len({c[0] for c in docs}) >= 8, f"README.md's command table was not found: {docs}"
    rc, usage, err, _ = proj.run("--help", timeout=30)
    assert rc == 0 and usage, (rc, usage, err)
    problems = []
    for cmd, rel in sorted(docs.items()):
        rc, out, err, _ = proj.run(*cmd, "--help", timeout=60)
        if rc != 0 or not out.strip() or "unknown" in err:
            problems.append(f"{' '.join(cmd)} (in {rel}): --help exit {rc}, stderr {err.strip()[:200]!r}")
        if len(cmd) == 1 and f"./sockcheck {cmd[0]}" not in usage:
            problems.append(f"{cmd[0]} (in {rel}) is missing from ./sockcheck --help")
    assert not problems, "\n".join(problems)
    for bad in (["no-such-command"], ["bench", "no-such-bench"], ["lint", "extra"]):
        rc, out, err, _ = proj.run(*bad, timeout=30)
        one_line_usage_error(rc, err)


# ---------------------------------------------------------------- mutants

def _proc_pgid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[2])
    except OSError:
        return None


@pytest.mark.parametrize("how", ["SIGTERM to its pid", "Ctrl-C to its group"])
def test_killing_mutants_mid_run_leaves_no_process(proj, tmp_path, how):
    """A mutant's own unit test (the ctest stand-in) hangs, with a child in its own session;
    mutants is stopped then and every process it started must be gone."""
    proj.write("harness/src/fake.c", b"int sc_fake(int a)\n{\n  return a + 1;\n}\n")
    proj.write("harness/tests/test_fake.c", b"int main(void) { return 0; }\n")
    pids = tmp_path / "ctest.pids"
    hang = (f"echo $$ >> {pids}; setsid sleep 285 & echo $! >> {pids}; sleep 284 & echo $! >> {pids}; "
            "wait")
    env = dict(proj.env, FAKE_RUN_CTEST=hang)
    p = subprocess.Popen(["bash", proj.path("sockcheck"), "mutants", "--n", "1", "--fuzz-runs", "0"],
                         cwd=proj.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    started = []
    try:
        deadline = time.monotonic() + 60
        while len(started) < 3 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
            started = [int(x) for x in pids.read_text().split()] if pids.exists() else []
            started = started if len(started) == 3 else []
        assert len(started) == 3, f"the mutant's unit test never started: {p.poll()}"
        stub_pgid = _proc_pgid(started[0])
        assert stub_pgid not in (None, p.pid), "the stage's command is not in a session of its own"
        t0 = time.monotonic()
        if how.startswith("SIGTERM"):
            os.kill(p.pid, signal.SIGTERM)
        else:
            os.killpg(p.pid, signal.SIGINT)
        out, err = p.communicate(timeout=40)
        secs = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    markers = [b"stubs/ctest", b"sleep\x00285", b"sleep\x00284"]
    alive = [pid for pid, mk in zip(started, markers) if _pid_alive(pid, mk)]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"processes of the stopped mutants run survived: {alive} ({out}{err})"
    try:
        os.killpg(stub_pgid, 0)
        group_left = True
    except ProcessLookupError:
        group_left = False
    assert not group_left, f"process group {stub_pgid} outlived mutants"
    assert p.returncode != 0 and secs < 30, (p.returncode, secs, out, err)
    assert "mutants: stopped by signal" in err, err


# ---------------------------------------------------------------- gate

def _gate(proj, *args, **env):
    # --no-coverage: the scratch project has no coverage build (the report's coverage line
    # comes from build/coverage/summary.txt, which the tests write)
    rc, out, err, _ = proj.run("gate", "--no-coverage", *args, timeout=240, **env)
    report = proj.read("build/gate/report.md") if os.path.exists(proj.path("build/gate/report.md")) else ""
    return rc, out + err, report


def test_gate_report_names_the_tree_server_findings_and_coverage(proj):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=proj.root, stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()
    proj.write("build/coverage/summary.txt", f"commit {head}\nlines 96.1% branches 87.0%\n".encode())
    rc, log, report = _gate(proj, "--time", "2", "--jobs", "6", "--server-cmd", "my-server --port {port}",
                              FAKE_FIND="1")
    assert rc == 1, log
    assert f"commit: {head} (clean tree)" in report, report
    assert "server under test: `my-server --port {port}`" in report, report
    assert "coverage: lines 96.1%, branches 87.0%" in report, report
    assert "release may ship" not in report
    for t in TARGETS:
        crash = f"build/gate/crashes/{t}/crash-{sha1(b'BUG found by fuzzing')}"
        assert f"`{crash}`: `./sockcheck repro {crash}`" in report, report
    stages = ("build", "lint", "unit", "conformance", "replay", "bite", "interference", "fuzz-build", "fuzz")
    for stage in stages:
        assert os.path.exists(proj.path(f"build/gate/{stage}.xml")), f"no JUnit XML for {stage}"
    fuzz_xml = proj.read("build/gate/fuzz.xml")
    assert fuzz_xml.count("<failure") == len(TARGETS), fuzz_xml

    # the next run reports only itself: no finding of the last one, its coverage line only
    # for the commit it measured
    proj.write("README", b"changed")
    rc, log, report = _gate(proj, "--time", "2", "--jobs", "6")
    assert rc == 0, log
    assert "**Verdict: PASS: release may ship**" in report, report
    assert "crash-" not in report and "## Findings\n\nnone" in report, report
    assert "1 uncommitted change(s)" in report and "coverage: not measured for this tree" in report


def test_gate_without_fuzzing_or_with_a_failed_fuzz_build_is_no_release(proj):
    rc, log, report = _gate(proj, "--time", "0")
    assert rc != 0 and "release may ship" not in report + log, report
    assert "NOT A RELEASE PASS: fuzzing was skipped" in report, report
    assert "coverage: not measured" in report
    rc, log, report = _gate(proj, "--time", "2", "--jobs", "6", FAKE_FAIL_CMAKE="fuzz")
    assert rc != 0 and "release may ship" not in report + log, report
    assert "| fuzz-build | FAIL |" in report and "| fuzz | FAIL |" in report, report
    assert proj.args("fuzz_addr") == "", "fuzzing ran after the fuzz build failed"


def test_interrupting_the_driver_stops_the_stage_and_leaves_no_process(proj, tmp_path):
    pidfile = tmp_path / "escaped.pid"
    hang = f"setsid sleep 291 & echo $! > {pidfile}; sleep 290"
    env = dict(proj.env, FAKE_RUN_CLANG_FORMAT=hang)
    p = subprocess.Popen(["bash", proj.path("sockcheck"), "test"], cwd=proj.root, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert pidfile.exists(), "the lint stage never started"
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        out, err = p.communicate(timeout=30)
        secs = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    escaped = int(pidfile.read_text())
    alive = _pid_alive(escaped, b"sleep\x00291")
    if alive:
        os.kill(escaped, signal.SIGKILL)
    assert not alive, "the stage's setsid child outlived the interrupted driver"
    assert p.returncode != 0 and secs < 20, (p.returncode, secs, out, err)
    assert "stage lint interrupted" in err and "== [unit]" not in out, (out, err)


# ---------------------------------------------------------------- coverage (real build)

COVERAGE_LINE = re.compile(r"^coverage \(product library, harness/src\): lines ([0-9.]+)% branches ([0-9.]+)%",
                           re.M)
ROW = re.compile(r"^\| (\S+) \| (\d+)/(\d+) \| ([0-9.]+) \| (\d+)/(\d+) \| ([0-9.]+) \|$", re.M)


def source_copy(dest):
    """A scratch copy at dest of the tree's files as git lists them (tracked and new), less
    build/ and corpus/, with the driver under test as ./sockcheck."""
    r = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, stdout=subprocess.PIPE,
                       text=True, check=True, timeout=60)
    for rel in r.stdout.splitlines():
        src = os.path.join(ROOT, rel)
        if rel.startswith(("build/", "corpus/")) or not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    shutil.copy2(DRIVER, os.path.join(dest, "sockcheck"))
    return dest


def coverage_run(root, *args, timeout):
    p = subprocess.run(["bash", os.path.join(root, "sockcheck"), "coverage", *args], cwd=root,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                       timeout=timeout, start_new_session=True)
    return p.returncode, p.stdout, p.stderr


def coverage_table(root, out):
    """{file: (lines covered, lines, branches covered, branches)} of build/coverage/files.md,
    checked against itself (the total is the sum of the rows), the printed figure and
    summary.txt."""
    table = open(os.path.join(root, "build/coverage/files.md")).read()
    rows = {m.group(1): tuple(int(m.group(i)) for i in (2, 3, 5, 6)) for m in ROW.finditer(table)}
    total = rows.pop("**total**")
    assert total == tuple(sum(r[i] for r in rows.values()) for i in range(4)), table
    product = sorted(f"harness/src/{f}" for f in os.listdir(os.path.join(root, "harness/src")) if f.endswith(".c"))
    assert sorted(rows) == product, f"not one row per product file:\n{table}"
    lines, branches = f"{100.0 * total[0] / total[1]:.1f}", f"{100.0 * total[2] / total[3]:.1f}"
    m = COVERAGE_LINE.search(out)
    assert m and m.groups() == (lines, branches), f"printed figure vs table {lines}/{branches}:\n{out}"
    summary = open(os.path.join(root, "build/coverage/summary.txt")).read()
    assert summary.startswith(f"lines {lines}% branches {branches}%\n"), summary
    html = os.path.join(root, "build/coverage/html")
    assert "addr.c" in open(os.path.join(html, "index.html")).read()
    assert os.path.isfile(os.path.join(html, "coverage", root.lstrip("/"), "harness/src/addr.c.html"))
    return rows, summary


def test_coverage_reports_what_ran_and_a_failed_build_leaves_no_report(tmp_path):
    """The real command on a scratch copy of the tree (coverage build, ctest, llvm-profdata,
    llvm-cov), limited with --unit-only so it costs a library and two or three unit tests."""
    root = source_copy(str(tmp_path / "src"))
    rc, out, err = coverage_run(root, "--unit-only", "test_addr", timeout=400)
    assert rc == 0, (out, err)
    a, summary = coverage_table(root, out)
    assert "scope unit test_addr" in summary, summary
    # addr.c ran; server.c and iov.c are in the table but test_addr never executes them
    assert a["harness/src/addr.c"][0] > 0.8 * a["harness/src/addr.c"][1], a
    assert a["harness/src/server.c"][0] == 0 and a["harness/src/iov.c"][0] == 0, a

    stale = os.path.join(root, "build/coverage/html/stale.html")
    open(stale, "w").write("from an earlier run")
    rc, out, err = coverage_run(root, "--unit-only", "test_iov,test_error", timeout=200)
    assert rc == 0, (out, err)
    b, summary = coverage_table(root, out)
    assert not os.path.exists(stale), "the earlier report was not removed"
    # the figures follow what ran: iov.c up from nothing, addr.c down to nothing
    assert b["harness/src/iov.c"][0] > 0.8 * b["harness/src/iov.c"][1], b
    assert b["harness/src/addr.c"][0] == 0 and b["harness/src/error.c"][0] > 0, b

    with open(os.path.join(root, "harness/src/addr.c"), "a") as f:
        f.write("int sc__broken(void) { return no_such_name; }\n")
    rc, out, err = coverage_run(root, "--unit-only", "test_addr", timeout=200)
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 1 and len(lines) == 1 and "coverage build failed" in lines[0], (rc, out, err)
    for rel in ("summary.txt", "files.md", "html"):
        assert not os.path.exists(os.path.join(root, "build/coverage", rel)), f"a stale {rel} is left"


def test_gate_report_never_quotes_a_partial_coverage_run(tmp_path):
    head = "0123456789abcdef0123456789abcdef01234567"
    summary = tmp_path / "summary.txt"
    summary.write_text(f"lines 40.0% branches 30.0%\ncommit {head}\nscope unit test_addr\n")
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "gate_report.py"), "--out", str(tmp_path),
                        "--secs", "1", "--wall", "1", "--commit", head, "--dirty", "0", "--coverage", str(summary),
                        "--", "pass|fuzz|1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    report = (tmp_path / "report.md").read_text()
    assert "40.0%" not in report and "partial run" in report, r.stdout + report
