"""The running kernel's calibrated facts, measured once per pytest process by
sockcheck-kfacts (harness/testing/kfacts.c) under the same --probe-wrap as the probes, so
a suite judging a sandbox calibrates on the sandbox. Tests whose expectation differs
between kernels within what the spec allows ask here instead of hard-coding one kernel;
SC_KFACTS forces answers (the meta-test uses it), and a fact outside the spec's set fails
its own case in test_kfacts.py."""
import json
import os
import subprocess

FACTS = None  # the parsed JSON, set by load()


def load(kfacts_path, wrap=(), timeout=30):
    """Runs the calibration (exit 1 only means a fact is outside the spec: the JSON still
    comes) and keeps its result. Raises RuntimeError with a one-line reason otherwise."""
    global FACTS
    if not os.access(kfacts_path, os.X_OK):
        raise RuntimeError("%s is missing (build it: cmake --build --preset asan "
                           "--target sockcheck-kfacts)" % kfacts_path)
    p = subprocess.run(list(wrap) + [kfacts_path, "--json"], capture_output=True, text=True,
                       timeout=timeout, check=False)
    if p.returncode not in (0, 1):
        raise RuntimeError("sockcheck-kfacts exited %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
    FACTS = json.loads(p.stdout)
    return FACTS


def fact(name):
    """The answer of fact `name`; the spec's first answer when the kernel's is outside the set
    (that finding is test_kfacts.py's; the other tests keep checking the spec)."""
    f = FACTS["facts"][name]
    return f["allowed"][0] if f["answer"] == "out" else f["answer"]


def tick_us():
    """SO_RCVTIMEO/SO_SNDTIMEO granularity in microseconds (1 when kept exactly)."""
    return 1 if fact("timeo-tick") == "exact" else FACTS["facts"]["timeo-tick"]["value"]


def summary():
    """One line for reports: the kernel and every fact's answer (sockcheck-kfacts's own)."""
    return FACTS["line"].strip() if FACTS else "not calibrated"
