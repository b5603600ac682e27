"""Runs one stage of ./sockcheck within a time budget and leaves no process behind.

  stage.py NAME BUDGET_SECONDS [--junit FILE] [--tests ctest|pytest] -- CMD...

The stage runs in its own session. This process is its child subreaper, so whatever the
stage starts stays a descendant of this process even when its parent dies or it calls
setsid(). When the budget runs out, one line names the stage and what was running (the
tests in flight for ctest and pytest, and the stage's processes); then the stage gets
SIGTERM and, KILL_AFTER seconds later, SIGKILL. When the stage ends, any process it left is
named, killed, and fails the stage. Output passes through (stderr merged into stdout).

--junit FILE: the stage's JUnit XML. A stage that writes its own (pytest, ctest) leaves it
there; if it did not write it this time, a one-testcase suite for the stage is written; a
timeout or leftover processes are added to it as a failed testcase.

Exit: the stage's status; 124 when the budget ran out; 1 when it passed but left processes;
2 for usage errors."""
import argparse
import collections
import ctypes
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import junit  # noqa: E402

PR_SET_CHILD_SUBREAPER = 36
KILL_AFTER = 10
TAIL_LINES = 60
CTEST_START = re.compile(r"^\s*Start\s+(\d+): (\S+)")
CTEST_END = re.compile(r"Test\s+#(\d+): (\S+) ")


def say(msg):
    sys.stdout.flush()
    print(f"sockcheck: {msg}", file=sys.stderr, flush=True)


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def proc_stat(pid):
    """(ppid, state, starttime, comm) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    return int(rest[1]), rest[0], int(rest[19]), comm


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in args if a)
    return text if len(text) <= 160 else text[:157] + "..."


def descendants(keep=None):
    """{pid: (starttime, comm)} of every live descendant of this process (orphans of the
    stage are reparented here, so this is everything the stage started). Zombies adopted
    here are reaped, except keep (the stage's main process, which Popen waits for)."""
    children = collections.defaultdict(list)
    info = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None:
                children[st[0]].append(int(d))
                info[int(d)] = st
    me = os.getpid()
    out, todo = {}, [me]
    while todo:
        parent = todo.pop()
        for c in children.get(parent, []):
            if c in out:
                continue
            todo.append(c)
            if info[c][1] != "Z":
                out[c] = (info[c][2], info[c][3])
            elif parent == me and c != keep:
                try:
                    os.waitpid(c, os.WNOHANG)
                except ChildProcessError:
                    pass
    return out


def signal_all(procs, sig):
    """Sends sig to each (pid, starttime) that is still that same process: the pidfd is
    opened first and the start time checked after, so a recycled pid is never hit."""
    for pid, (start, _) in procs.items():
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue
        try:
            st = proc_stat(pid)
            if st is not None and st[2] == start:
                signal.pidfd_send_signal(fd, sig)
        except OSError:
            pass
        finally:
            os.close(fd)


def kill_everything(deadline):
    """SIGKILLs and reaps descendants until none is left or the deadline passes; returns
    what was still alive at the end (normally nothing)."""
    left = descendants()
    while left and time.monotonic() < deadline:
        signal_all(left, signal.SIGKILL)
        time.sleep(0.05)  # a killed process's children are reparented here a moment later
        left = descendants()
    return left


class Interrupted(Exception):
    """SIGINT, SIGTERM or SIGHUP reached the runner: the stage is stopped like a timeout."""


def on_signal(sig, frame):
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)  # the cleanup that follows is bounded; let it finish
    raise Interrupted(sig)


class Output:
    """Copies the stage's output through and remembers its tail and the ctest tests that
    have started and not finished."""

    def __init__(self, stream, parse_ctest):
        self.tail = collections.deque(maxlen=TAIL_LINES)
        self.ctest_running = {}
        self.parse_ctest = parse_ctest
        self.thread = threading.Thread(target=self._copy, args=(stream,), daemon=True)
        self.thread.start()

    def _copy(self, stream):
        out = sys.stdout.buffer
        for raw in iter(stream.readline, b""):
            out.write(raw)
            out.flush()
            line = raw.decode(errors="replace").rstrip("\n")
            self.tail.append(line)
            if self.parse_ctest:
                m = CTEST_START.search(line)
                if m:
                    self.ctest_running[m.group(1)] = m.group(2)
                m = CTEST_END.search(line)
                if m:
                    self.ctest_running.pop(m.group(1), None)


def pytest_running(path):
    """Tests started and not finished, from the in-flight file tools/pytest_inflight.py
    writes."""
    running = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                what, _, nodeid = line.rstrip("\n").partition("\t")
                if what == "start":
                    running[nodeid] = True
                elif what == "end":
                    running.pop(nodeid, None)
    except OSError:
        pass
    return list(running)


def main():
    ap = argparse.ArgumentParser(prog="stage.py")
    ap.add_argument("name")
    ap.add_argument("budget", type=int)
    ap.add_argument("--junit")
    ap.add_argument("--tests", choices=["ctest", "pytest"])
    argv = sys.argv[1:]
    if "--" not in argv:
        ap.error("the stage's command goes after --")
    cut = argv.index("--")
    args = ap.parse_args(argv[:cut])
    cmd = argv[cut + 1:]
    if not cmd or args.budget <= 0:
        ap.error("a positive budget and a command after -- are required")

    set_subreaper()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    inflight = tempfile.NamedTemporaryFile(prefix="sc-inflight-", delete=False)
    inflight.close()
    env = dict(os.environ, SC_STAGE_INFLIGHT=inflight.name, PYTHONUNBUFFERED="1")
    t0 = time.monotonic()
    wall0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)
    out = Output(proc.stdout, args.tests == "ctest")
    problems = []
    timed_out = False
    interrupted = None
    try:
        rc = proc.wait(timeout=args.budget)
    except Interrupted as e:
        # the stage runs in its own session: a terminal's Ctrl-C reaches only this runner
        timed_out = True
        interrupted = e.args[0]
        say(f"stage {args.name} interrupted (signal {interrupted}): stopping it")
        problems.append(f"stage {args.name} interrupted by signal {interrupted}")
        signal_all(descendants(keep=proc.pid), signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_AFTER)
        except subprocess.TimeoutExpired:
            pass
        rc = 128 + interrupted
    except subprocess.TimeoutExpired:
        timed_out = True
        running = (list(out.ctest_running.values()) if args.tests == "ctest"
                   else pytest_running(inflight.name) if args.tests == "pytest" else [])
        procs = descendants(keep=proc.pid)
        what = "; ".join(f"{p} {cmdline(p)}" for p in sorted(procs)[-8:]) or "none"
        msg = f"stage {args.name} ran out of its {args.budget} s budget"
        if running:
            msg += "; tests running: " + ", ".join(running)
        say(msg)
        say(f"  {args.name}: processes at the time: {what}")
        problems.append(msg + "\nprocesses: " + what)
        signal_all(procs, signal.SIGTERM)
        try:
            proc.wait(timeout=KILL_AFTER)
        except subprocess.TimeoutExpired:
            pass
        rc = 124
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if not interrupted:
            signal.signal(sig, signal.SIG_IGN)  # the cleanup below is bounded; let it finish
    # whatever is still there: killed (and reported, since it outlived the stage)
    left = descendants(keep=proc.pid)
    if left and proc.poll() is None:
        signal_all(left, signal.SIGKILL)
        proc.wait(timeout=KILL_AFTER)
    if left and not timed_out:
        names = ", ".join(f"{p} {cmdline(p)}" for p in sorted(left)[:8])
        msg = f"stage {args.name} left {len(left)} process(es) running: {names}; killed them"
        say(msg)
        problems.append(msg)
        if rc == 0:
            rc = 1
    still = kill_everything(time.monotonic() + KILL_AFTER)
    if still:
        say(f"stage {args.name}: could not kill {sorted(still)}")
    out.thread.join(timeout=KILL_AFTER)
    os.unlink(inflight.name)

    if args.junit:
        secs = time.monotonic() - t0
        fresh = os.path.exists(args.junit) and os.path.getmtime(args.junit) >= wall0 - 1
        tail = "\n".join(out.tail)
        if not fresh:
            status = "pass" if rc == 0 else "fail"
            text = "\n".join(problems + [f"exit {rc}; last lines:", tail]) if rc else ""
            junit.write(args.junit, junit.suite(args.name, [(args.name, status, secs, text)]))
        elif problems:
            junit.append_failure(args.junit, args.name, f"stage {args.name}",
                                 "\n".join(problems + ["last lines:", tail]))
    if interrupted:  # die of the same signal, so the driver's shell stops too
        signal.signal(interrupted, signal.SIG_DFL)
        os.kill(os.getpid(), interrupted)
    return rc


if __name__ == "__main__":
    sys.exit(main())
