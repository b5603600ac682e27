"""The suite checks itself (META-1): pointed at programs that break known
promises, the report fails exactly those IDs and passes the rest, ID by ID.
(That every behaviour ID has a test or an exception is checked at collection
time, in conftest.py.) These tests judge the suite, so they count toward
META-1 only, never toward the promises of the programs they run."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INNER_TIMEOUT = 120


def fixture(name):
    return "%s %s" % (sys.executable, os.path.join(HERE, "fixtures", name))


def verdict(tmp_path, bin_dir, files, options, io_timeout="0.3"):
    """Runs the suite's files with options in a child pytest; returns
    {judged command: {ID: "pass" | "FAIL ..."}} from its report's tables
    (the key None: the bundled programs' table)."""
    report = tmp_path / "report.md"
    # The test files first: pytest finds the conftest (and its options) through them.
    argv = [sys.executable, "-m", "pytest"] + [os.path.join(HERE, f) for f in files] + [
        "-q", "-p", "no:xdist", "--bin-dir", bin_dir, "--report", str(report)] + list(options)
    # A program that never answers costs one short wait per test.
    env = dict(os.environ, SC_IO_TIMEOUT=io_timeout)
    p = subprocess.run(argv, capture_output=True, timeout=INNER_TIMEOUT, cwd=HERE, env=env,
                       stdin=subprocess.DEVNULL)
    assert p.returncode in (0, 1), "inner run exit %d\n%s%s" % (
        p.returncode, p.stdout.decode()[-3000:], p.stderr.decode()[-2000:])
    tables, judged = {}, None
    for line in report.read_text().splitlines():
        if line.startswith("## Judged: `"):
            judged = line[len("## Judged: `"):-1]
        elif line.startswith("## "):
            judged = None
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[2].isdigit():
            tables.setdefault(judged, {})[cells[0]] = cells[3]
    return tables, p


def split(rows):
    failed = {bid for bid, r in rows.items() if r.startswith("FAIL")}
    passed = {bid for bid, r in rows.items() if r.startswith("pass")}
    return failed, passed


SRV_ALL = {"SRV-1", "SRV-2", "SRV-3", "SRV-4", "SRV-R1", "SRV-R2", "SRV-R3", "SRV-R4", "SRV-R5",
           "SRV-R6", "SRV-R7"}


@pytest.mark.behaviour("META-1")
@pytest.mark.parametrize("server,broken", [
    ("broken_server.py", {"SRV-1", "SRV-2", "SRV-3"}),
    # Like the seed's: serves one client, then exits 0.
    ("one_client_server.py", {"SRV-R3", "SRV-R4", "SRV-R5", "SRV-R7"}),
], ids=["broken", "one-client"])
def test_server_cmd_verdict_id_by_id(tmp_path, bin_dir, server, broken):
    cmd = fixture(server) + " {port}"
    tables, p = verdict(tmp_path, bin_dir, ["test_ok_server.py"], ["--server-cmd", cmd])
    rows = tables.get("--server-cmd " + cmd)
    assert rows, "no table for the judged server in the report: %r" % list(tables)
    failed, passed = split(rows)
    assert (failed, passed) == (broken, SRV_ALL - broken), rows
    # The bundled programs' table holds none of the judged server's rows.
    assert not set(tables.get(None, {})) & SRV_ALL, tables.get(None)
