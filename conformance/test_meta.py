"""The suite checks itself: --server-cmd against a deliberately broken server
marks exactly the broken IDs failed in the report. (That every behaviour ID
has a test or an exception is checked at collection time, in conftest.py.)"""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.behaviour("SRV-1", "SRV-2", "SRV-3", "SRV-4")
def test_server_cmd_reports_exactly_the_broken_ids(tmp_path, bin_dir):
    report = tmp_path / "report.md"
    server = "%s %s {port}" % (sys.executable, os.path.join(HERE, "fixtures", "broken_server.py"))
    argv = [sys.executable, "-m", "pytest", os.path.join(HERE, "test_ok_server.py"), "-q", "-p", "no:xdist",
            "--bin-dir", bin_dir, "--server-cmd", server, "--report", str(report),
            # one or more tests of every SRV ID; the redundant slow ones are left out
            "-k", "not test_200_clients_replies_are_exact and not test_many_sessions"]
    env = dict(os.environ, SC_IO_TIMEOUT="0.3")  # the broken server never answers some sends
    p = subprocess.run(argv, capture_output=True, timeout=60, cwd=HERE, env=env)
    assert p.returncode == 1, "inner run exit %d\n%s" % (p.returncode, p.stdout.decode()[-3000:])
    rows = {}
    for line in report.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and (cells[0].startswith("SRV")):
            rows[cells[0]] = cells[3]
    failed = {bid for bid, r in rows.items() if r.startswith("FAIL")}
    passed = {bid for bid, r in rows.items() if r.startswith("pass")}
    assert failed == {"SRV-1", "SRV-2", "SRV-3"}, rows
    assert passed == {"SRV-4", "SRV-R1", "SRV-R2", "SRV-R3", "SRV-R4", "SRV-R5", "SRV-R6"}, rows
