"""The suite checks itself (META-1): pointed at programs that break known
promises, the report fails exactly those IDs and passes the rest, ID by ID.
(That every behaviour ID has a test or an exception is checked at collection
time, in conftest.py.) These tests judge the suite, so they count toward
META-1 only, never toward the promises of the programs they run."""
import glob
import json
import os
import subprocess
import sys

import pytest

import sc_probe

HERE = os.path.dirname(os.path.abspath(__file__))
INNER_TIMEOUT = 300  # the shim run repeats every probe case: minutes on a loaded machine


def fixture(name):
    return "%s %s" % (sys.executable, os.path.join(HERE, "fixtures", name))


def verdict(tmp_path, bin_dir, files, options, io_timeout="1", env=(), workers=0):
    """Runs the suite's files with options in a child pytest; returns
    {judged command: {ID: "pass" | "FAIL ..."}} from its report's tables
    (the key None: the bundled programs' table)."""
    report = tmp_path / "report.md"
    # The test files first: pytest finds the conftest (and its options) through them.
    argv = [sys.executable, "-m", "pytest"] + [os.path.join(HERE, f) for f in files] + [
        "-q", "--bin-dir", bin_dir, "--report", str(report)] + list(options) + (
        ["-n", str(workers)] if workers else ["-p", "no:xdist"])
    # A program that never answers costs one short wait per test.
    env = dict(os.environ, SC_IO_TIMEOUT=io_timeout, **dict(env))
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
@pytest.mark.parametrize("server,broken,io_timeout", [
    # Its failures never wait for a reply: the full timeout, for 200 clients on a loaded machine.
    ("broken_server.py", {"SRV-1", "SRV-2", "SRV-3"}, "2"),
    # Like the seed's: serves one client, then exits 0. Each many-client case waits once
    # (1 s proved too short for a passing promise on a loaded machine).
    ("one_client_server.py", {"SRV-R3", "SRV-R4", "SRV-R5", "SRV-R7"}, "2"),
], ids=["broken", "one-client"])
def test_server_cmd_verdict_id_by_id(tmp_path, bin_dir, server, broken, io_timeout):
    cmd = fixture(server) + " {port}"
    # Its cases mostly wait for replies that never come: 4 inner workers overlap the waits.
    tables, p = verdict(tmp_path, bin_dir, ["test_ok_server.py"], ["--server-cmd", cmd], io_timeout,
                        workers=4)
    rows = tables.get("--server-cmd " + cmd)
    assert rows, "no table for the judged server in the report: %r" % list(tables)
    failed, passed = split(rows)
    assert (failed, passed) == (broken, SRV_ALL - broken), rows
    # The bundled programs' table holds none of the judged server's rows.
    assert not set(tables.get(None, {})) & SRV_ALL, tables.get(None)


@pytest.mark.behaviour("META-1")
@pytest.mark.parametrize("file,option,commands,want", [
    # 256-byte buffer: the datagrams longer than that are cut (RECV-3's "any length").
    ("test_udp.py", "--udp-server-cmd", ["short_buffer_udp_server.py {port}"],
     {"RECV-3": {"test_datagram_shown_whole_with_its_sender[%s]" % n for n in (1000, 1024, 65507)}}),
    # Sends "hello world\n": CLI-1 broken, the destination (SEND-3) right.
    ("test_udp.py", "--udp-client-cmd", ["newline_udp_client.py {port}"],
     {"CLI-1": {"test_client_sends_hello_world_to_the_port[0]", "test_client_sends_hello_world_to_the_port[1]"},
      "SEND-3": set()}),
    # The parent never closes the end it does not use: PAIR-4 broken only.
    ("test_pair_demo.py", "--pair-cmd", ["broken_pair.py", "broken_pair.py --fork"],
     {"PAIR-1": set(), "PAIR-2": set(), "PAIR-3": set(),
      "PAIR-4": {"test_pair_across_fork_each_closes_the_end_it_does_not_use"}}),
], ids=["udp-server", "udp-client", "pair"])
def test_program_cmd_verdict_id_by_id(tmp_path, bin_dir, file, option, commands, want):
    cmds = [fixture(c) for c in commands]
    options = [a for c in cmds for a in (option, c)]
    tables, p = verdict(tmp_path, bin_dir, [file], options)
    # --pair-cmd is repeatable: the report names it by its first command line.
    rows = next((r for k, r in tables.items() if k and k.startswith(option)), None)
    assert rows, "no table for %s in the report: %r" % (option, list(tables))
    assert set(rows) == set(want), rows
    for bid, failing in want.items():
        if not failing:
            assert rows[bid].startswith("pass"), (bid, rows[bid])
        else:
            assert rows[bid].startswith("FAIL (%d of " % len(failing)), (bid, rows[bid])
            assert all(name in rows[bid] for name in failing), (bid, rows[bid])
    assert not set(tables.get(None, {})) & set(want), tables.get(None)


# The programs and fixtures of this file's other tests: not probe-based.


@pytest.mark.behaviour("META-1")
def test_probe_wrap_shim_fails_exactly_the_truncation_cases(tmp_path, bin_dir, probe):
    # An LD_PRELOAD shim whose recvmsg never reports MSG_TRUNC (fixtures/trunc_shim.c).
    shim = tmp_path / "trunc_shim.so"
    cc = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(shim),
                         os.path.join(HERE, "fixtures", "trunc_shim.c")], capture_output=True, timeout=60)
    assert cc.returncode == 0, cc.stderr.decode()
    wrap = "env LD_PRELOAD=%s" % shim
    # The file of every truncation promise, and a control file of pair promises that must
    # all still pass: the whole probed suite would double the suite's time.
    files = ["test_recvmsg.py", "test_socketpair.py"]
    calls = str(tmp_path / "calls")
    tables, p = verdict(tmp_path, bin_dir, files, ["--probe-wrap", wrap, "-p", "probe_calls"], workers=2,
                        env={"SC_PROBE_CALLS": calls,
                             "PYTHONPATH": os.pathsep.join([os.path.join(HERE, "fixtures"), HERE])})
    rows = tables.get("--probe-wrap " + wrap)
    assert rows, "no table for the wrapped probe in the report: %r" % list(tables)
    ran, failed, ids = {}, set(), {}
    for path in glob.glob(calls + ".*"):
        with open(path) as f:
            got = json.load(f)
        ran.update(got["calls"])
        failed |= set(got["failed"])
        ids.update(got["ids"])
    # The kernel's own answers, unwrapped (this session's probe): which cases
    # receive a MSG_TRUNC in msg_flags that the shim takes away. Registered
    # first, so that the scripts not run yet in this session run in one batch.
    for text in sorted({t for texts in ran.values() for t in texts}):
        sc_probe.script(text)

    def truncated(text):
        try:
            return any("MSG_TRUNC" in r.get("msg_flags_names", ()) for r in probe(text))
        except sc_probe.ProbeError:
            return False
    sees = {nodeid for nodeid, texts in ran.items() if any(truncated(t) for t in texts)}
    assert failed, "the shim broke nothing the suite noticed"
    assert failed <= sees, "cases failed that never see MSG_TRUNC: %s" % sorted(failed - sees)[:10]
    bad_ids, good_ids = split(rows)
    assert "RECV-4" in bad_ids, rows
    # Every failed ID is a truncation promise: one of its cases sees MSG_TRUNC.
    ids_seeing = {bid for nodeid in sees for bid in ids.get(nodeid, ())}
    assert bad_ids <= ids_seeing, (bad_ids, ids_seeing)
    assert good_ids == set(rows) - bad_ids, rows
