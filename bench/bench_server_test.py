"""`./sockcheck bench server` in small: bench/bench_server.py drives sockcheck-ok-server and
redis-server with bench_loadgen (the asan build's, so the generator runs under ASan+UBSan)
and prints a row per connection count and the idle-connection RSS line, with figures that
are real (requests done, CPU time spent); both servers are gone when it ends. The generator
checks replies byte for byte: one it does not expect fails the run.
Run: /usr/bin/python3 -m pytest bench/bench_server_test.py
"""
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("SC_BENCH_BUILD", os.path.join(ROOT, "build", "asan"))
BIN_DIR = os.path.join(BUILD, "bin")
LOADGEN = os.path.join(BUILD, "bench", "bench_loadgen")
ROW = re.compile(r"^\s*(\d+) \|\s+(\d+)\s+(\d+)\s+[\d.]+x \|\s+([\d.]+)\s+([\d.]+) \|\s+([\d.]+)\s+([\d.]+) \|"
                 r"\s+([\d.]+)\s+([\d.]+)\s+[\d.]+x$", re.M)


def run(cmd, timeout):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                          timeout=timeout, check=False)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_bench_rows_and_cleanup():
    r = run(["/usr/bin/python3", os.path.join(ROOT, "bench", "bench_server.py"), "--bin-dir", BIN_DIR,
             "--loadgen", LOADGEN, "--conns", "1,8", "--seconds", "1", "--rounds", "2", "--idle", "300"], 180)
    assert r.returncode == 0, r.stdout
    print(r.stdout)
    rows = ROW.findall(r.stdout)
    assert [int(x[0]) for x in rows] == [1, 8], r.stdout
    for row in rows:
        assert all(float(v) > 0 for v in row[1:]), row
    idle = re.search(r"^300 idle connections, RSS growth per connection: ok-server (-?\d+) B, redis (-?\d+) B",
                     r.stdout, re.M)
    assert idle, r.stdout
    assert int(idle.group(2)) > 0, "redis keeps a client structure per connection"
    pids = re.search(r"ok-server pid (\d+) port \d+; redis-server pid (\d+) port \d+", r.stdout)
    assert pids, r.stdout
    assert not [p for p in pids.groups() if alive(int(p))], "a server outlived the bench"


def test_loadgen_rejects_a_wrong_reply():
    srv = subprocess.Popen([os.path.join(BIN_DIR, "sockcheck-ok-server"), "0", "--bind", "127.0.0.1:0"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = srv.stdout.readline()  # the server prints this first, before it accepts
        assert line.startswith("listening on "), line
        port = line.strip().rsplit(":", 1)[1]
        good = run([LOADGEN, "--port", port, "--conns", "2", "--seconds", "1", "--request", "hello",
                    "--reply", "ok"], 60)
        assert good.returncode == 0 and "requests=" in good.stdout, good.stdout
        bad = run([LOADGEN, "--port", port, "--conns", "2", "--seconds", "1", "--request", "hello",
                   "--reply", "no"], 60)
        assert bad.returncode == 1 and "wrong reply" in bad.stdout, bad.stdout
        usage = run([LOADGEN, "--port", "0", "--conns", "1"], 60)
        assert usage.returncode == 2 and usage.stdout.count("\n") == 2, usage.stdout
    finally:
        srv.terminate()
        srv.wait(10)
