"""pytest plugin (-p pytest_inflight, with tools/ on PYTHONPATH): appends "start NODEID" and
"end NODEID" lines to the file named by $SC_STAGE_INFLIGHT, so tools/stage.py can name the
tests running when a stage runs out of time. With pytest-xdist the controller receives the
workers' start and end events too. Does nothing when the variable is unset."""
import os

_PATH = os.environ.get("SC_STAGE_INFLIGHT")


def _note(what, nodeid):
    if _PATH:
        with open(_PATH, "a", encoding="utf-8") as f:
            f.write(f"{what}\t{nodeid}\n")


def pytest_runtest_logstart(nodeid, location):
    _note("start", nodeid)


def pytest_runtest_logfinish(nodeid, location):
    _note("end", nodeid)
