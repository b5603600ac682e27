"""Signals are not findings: the fuzz targets that make real syscalls must survive a storm
of signals delivered to a handler, which make any syscall that sleeps (or a poll() with a
pending signal) fail with EINTR. The library retries those calls (sc_send_all, sc_recv_msg,
their waits); a target's own calls must too. Found in a campaign: fuzz_msghdr reported
"poll: interrupted system call" when libFuzzer's SIGALRM timer hit its empty-queue check.

Each target runs on a copy of its seed corpus for STORM_SECONDS while this process sends it
SIGALRM (libFuzzer's timeout handler, which only compares the input's run time with
-timeout) as fast as it can. It must end cleanly, having run inputs and taken many signals.
Run: /usr/bin/python3 -m pytest fuzz/signal_test.py
"""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from fuzzrun import clean_build, options, seed_corpus, target_exists

STORM_SECONDS = int(os.environ.get("SC_SIGNAL_SECONDS", "5"))
# the targets whose inputs reach the kernel
TARGETS = ["msghdr", "cmsg"]
MIN_SIGNALS = 10000


def _storm(proc, stop, counter):
    """Sends SIGALRM to proc until stop is set or it has exited."""
    while not stop.is_set() and proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGALRM)
        except ProcessLookupError:
            return
        counter[0] += 1
        if counter[0] % 256 == 0:
            time.sleep(0.0005)  # let the target's core also run the target


@pytest.mark.parametrize("target", TARGETS)
def test_target_survives_signal_storm(target, tmp_path):
    assert target_exists(target), f"fuzz/{target}.c is missing"
    exe = clean_build(target)
    corpus = seed_corpus(target, tmp_path / "corpus")
    art = tmp_path / "artifacts"
    art.mkdir()
    log = tmp_path / "log"
    cmd = [exe, "-seed=1", f"-max_total_time={STORM_SECONDS}", f"-artifact_prefix={art}/",
           *options(target), str(corpus)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=str(tmp_path), stdout=out, stderr=subprocess.STDOUT)
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
            rc = proc.wait(timeout=STORM_SECONDS + 60)
        finally:
            stop.set()
            storm.join(timeout=10)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    text = log.read_text(errors="replace")
    tail = text[-3000:]
    assert rc == 0 and not os.listdir(art), (
        f"fuzz_{target} failed under signals (exit {rc}):\n{tail}")
    done = re.search(r"Done (\d+) runs", text)
    assert done and int(done.group(1)) > 0, f"fuzz_{target} ran no inputs:\n{tail}"
    assert sent[0] >= MIN_SIGNALS, f"only {sent[0]} signals were sent"
    print(f"fuzz_{target}: {done.group(1)} runs, {sent[0]} signals")
