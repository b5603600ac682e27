"""Interference is not a finding: the fuzz targets that make real syscalls must not report
what the machine around them does. Both cases were found in campaigns as false mismatches.

Signals: a signal delivered to a handler makes any syscall that sleeps (or a poll() with a
signal pending) fail with EINTR. The library retries those calls (sc_send_all, sc_recv_msg,
their waits); a target's own calls must too (fuzz_msghdr reported "poll: interrupted system
call" when libFuzzer's SIGALRM timer hit its empty-queue check). Each target runs on a copy
of its seed corpus for STORM_SECONDS while this process sends it SIGALRM (libFuzzer's timeout
handler, which only compares the input's run time with -timeout) as fast as it can.

Stray datagrams: a UDP end is bound before it is connected, and in between anyone may send
to its port (fuzz_msghdr reported a stray empty datagram from another fuzzer as data the
model did not expect). With SC_FUZZ_STRAYS=1 fuzz_msghdr sends every new end a stray in that
instant; it must drop all of them (its SC_FUZZ_STATS line counts both) and report nothing.

Each run must end cleanly, having run inputs and met the interference many times.
Run: /usr/bin/python3 -m pytest fuzz/interference_test.py
"""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from fuzzrun import clean_build, options, seed_corpus, target_exists

STORM_SECONDS = int(os.environ.get("SC_INTERFERENCE_SECONDS", "5"))
# the targets whose inputs reach the kernel
TARGETS = ["msghdr", "cmsg"]
MIN_SIGNALS = 10000
MIN_STRAYS = 1000


def _storm(proc, stop, counter):
    """Sends SIGALRM to proc until stop is set or it has exited. Through proc.pidfd (opened
    when proc was started): once proc is reaped its pid may name another process, which a
    kill(pid) between the poll() and the signal would hit; the pidfd never does."""
    while not stop.is_set() and proc.poll() is None:
        try:
            signal.pidfd_send_signal(proc.pidfd, signal.SIGALRM)
        except ProcessLookupError:
            return
        counter[0] += 1
        if counter[0] % 256 == 0:
            time.sleep(0.0005)  # let the target's core also run the target


def _start(target, tmp_path, env=None):
    """Starts fuzz_<target> on a copy of its seeds for STORM_SECONDS; returns (proc, log, art)."""
    assert target_exists(target), f"fuzz/{target}.c is missing"
    exe = clean_build(target)
    corpus = seed_corpus(target, tmp_path / "corpus")
    art = tmp_path / "artifacts"
    art.mkdir()
    log = tmp_path / "log"
    cmd = [exe, "-seed=1", f"-max_total_time={STORM_SECONDS}", f"-artifact_prefix={art}/",
           *options(target), str(corpus)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=str(tmp_path), stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    proc.pidfd = os.pidfd_open(proc.pid)  # before anything can reap it; closed by _finish
    return proc, log, art


def _finish(target, proc, log, art):
    """Waits (bounded) for the run to end, killing it if it does not; asserts it ended by its
    time limit, with no finding, having run inputs. Returns the log."""
    try:
        rc = proc.wait(timeout=STORM_SECONDS + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(proc.pidfd)
    text = log.read_text(errors="replace")
    tail = text[-3000:]
    assert rc == 0 and not os.listdir(art), (
        f"fuzz_{target} failed under interference (exit {rc}):\n{tail}")
    done = re.search(r"Done (\d+) runs", text)
    assert done and int(done.group(1)) > 0, f"fuzz_{target} ran no inputs:\n{tail}"
    return text


def test_storm_never_signals_a_recycled_pid():
    """The storm's target has exited and been reaped, and its pid now names another
    process (here a sleep of ours) while the storm still believes the target runs (the
    window between its poll() and its signal). The other process must not be signalled."""
    gone = subprocess.Popen(["true"])
    pidfd = os.pidfd_open(gone.pid)
    gone.wait(timeout=10)
    victim = subprocess.Popen(["sleep", "30"])

    class Recycled:
        pid = victim.pid  # what the target's pid names now

        def __init__(self):
            self.pidfd = pidfd

        def poll(self):
            return None

    stop = threading.Event()
    sent = [0]
    storm = threading.Thread(target=_storm, args=(Recycled(), stop, sent))
    storm.start()
    storm.join(timeout=2)
    stop.set()
    storm.join(timeout=10)
    try:
        assert victim.poll() is None, f"the storm signalled pid {victim.pid}, not its target"
    finally:
        victim.kill()
        victim.wait(timeout=10)
        os.close(pidfd)


@pytest.mark.parametrize("target", TARGETS)
def test_target_survives_signal_storm(target, tmp_path):
    proc, log, art = _start(target, tmp_path)
    # the storm starts once libFuzzer has installed its handler and loaded the corpus
    deadline = time.monotonic() + 30
    while (proc.poll() is None and time.monotonic() < deadline
           and "INITED" not in log.read_text()):
        time.sleep(0.01)
    stop = threading.Event()
    sent = [0]
    storm = threading.Thread(target=_storm, args=(proc, stop, sent))
    storm.start()
    try:
        _finish(target, proc, log, art)
    finally:
        stop.set()
        storm.join(timeout=10)
    assert sent[0] >= MIN_SIGNALS, f"only {sent[0]} signals were sent"
    print(f"fuzz_{target}: {sent[0]} signals")


def test_msghdr_drops_stray_datagrams(tmp_path):
    env = dict(os.environ, SC_FUZZ_STRAYS="1", SC_FUZZ_STATS="1")
    proc, log, art = _start("msghdr", tmp_path, env)
    text = _finish("msghdr", proc, log, art)
    m = re.search(r"strays-sent (\d+) strays-dropped (\d+)", text)
    assert m, f"no sockcheck-stats line:\n{text[-2000:]}"
    sent, dropped = int(m.group(1)), int(m.group(2))
    # each stray is sent to a fresh end before its connect(), so it must be dropped there
    assert sent >= MIN_STRAYS and dropped == sent, f"{sent} strays sent, {dropped} dropped"
    print(f"fuzz_msghdr: {sent} strays sent, all dropped")
