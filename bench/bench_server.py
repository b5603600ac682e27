#!/usr/bin/python3
"""sockcheck-ok-server against redis-server, the server people know (figures, no pass/fail).

Both servers run side by side on loopback for the whole bench: the ok-server on a port it
gets from the kernel (port 0, read from its "listening on" line), redis-server (no
persistence: --save '' --appendonly no) on a port the kernel handed out to a bind(port 0)
that was then released (retried if redis loses it in between). One load generator drives
both, bench_loadgen (bench/loadgen.c): N connections in lockstep over epoll, each sending
a request and waiting for the whole reply ("hello" -> "ok", "PING\\r\\n" -> "+PONG\\r\\n").

For each N in --conns, --rounds runs per server, alternating which goes first, --seconds
each. A row gives the medians over the rounds: requests/s, p50/p99 latency, and the CPU
time each server spent per request (utime+stime of /proc/<pid>/stat over the run, all its
threads), with the ok-server/redis ratios. Then --idle connections held open on each
server (one round trip each, so the server has taken them): its RSS growth per connection.
RLIMIT_NOFILE is raised for that (the hard limit too when allowed); when it cannot be, the
most connections the limit allows are used and the bench says so.

Every process started here is in its own session, dies with this one (PR_SET_PDEATHSIG)
and is stopped (SIGTERM, then SIGKILL) and reaped before the bench exits.
  bench_server.py --bin-dir build/default/bin --loadgen build/default/bench/bench_loadgen
"""
import argparse
import ctypes
import os
import resource
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

READY_TIMEOUT = 15
STOP_TIMEOUT = 10
PR_SET_PDEATHSIG = 1
LIBC = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Server:
    """A server process whose stdout is drained by a thread (the ok-server prints a line per
    client); ready() waits, bounded, for the line that says it accepts connections."""

    def __init__(self, name, argv, ready_marker, request, reply):
        self.name, self.request, self.reply = name, request, reply
        self.lines, self.port = [], None
        self._ready = threading.Event()
        self._marker = ready_marker
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace",
                                     start_new_session=True, preexec_fn=die_with_parent)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stdout:
            if len(self.lines) < 200:
                self.lines.append(line.rstrip("\n"))
            if not self._ready.is_set() and self._marker in line:
                if self.port is None:
                    self.port = int(line.strip().rsplit(":", 1)[1])
                self._ready.set()
        self._ready.set()  # EOF: the process is gone; ready() tells which

    def ready(self):
        self._ready.wait(READY_TIMEOUT)
        return self.proc.poll() is None and self.port is not None and self._ready.is_set()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError(f"{self.name}: no VmRSS")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)


def kernel_port():
    """A port the kernel picks for bind(port 0) on loopback, released for the caller."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ok(bin_dir):
    s = Server("ok-server", [os.path.join(bin_dir, "sockcheck-ok-server"), "0", "--bind", "127.0.0.1:0"],
               "listening on ", "hello", "ok")
    if not s.ready():
        s.stop()
        sys.exit(f"bench: sockcheck-ok-server did not start: {s.lines[-3:]}")
    return s


def start_redis(redis, workdir, maxclients):
    for _ in range(3):
        port = kernel_port()
        s = Server("redis", [redis, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir, "--logfile", "", "--daemonize", "no",
                             "--maxclients", str(maxclients)],
                   "Ready to accept connections", "PING\\r\\n", "+PONG\\r\\n")
        s.port = port
        if s.ready():
            return s
        s.stop()  # most likely another process took the port in between: try another
    sys.exit(f"bench: redis-server did not start: {s.lines[-3:]}")


def run_load(loadgen, server, conns, seconds):
    cpu0 = server.cpu_seconds()
    r = subprocess.run([loadgen, "--port", str(server.port), "--conns", str(conns), "--seconds", str(seconds),
                        "--request", server.request, "--reply", server.reply],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=seconds + 60, preexec_fn=die_with_parent, check=False)
    cpu = server.cpu_seconds() - cpu0
    if r.returncode != 0:
        sys.exit(f"bench: loadgen against {server.name} failed: {r.stdout.strip()}")
    fig = dict(kv.split("=") for kv in r.stdout.split())
    n = int(fig["requests"])
    return {"rps": float(fig["rps"]), "p50": float(fig["p50_us"]), "p99": float(fig["p99_us"]),
            "cpu_us": 1e6 * cpu / n if n else float("nan")}


def idle_rss(loadgen, server, n):
    """RSS growth per connection (bytes) while n connections are held open on server."""
    rss0 = server.rss_kib()
    gen = subprocess.Popen([loadgen, "--port", str(server.port), "--idle", str(n), "--request", server.request,
                            "--reply", server.reply], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent)
    try:
        sel = selectors.DefaultSelector()
        sel.register(gen.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline and sel.select(deadline - time.monotonic()):
            line = gen.stdout.readline()
            if not line or line.startswith("ready"):
                break
        if not line.startswith("ready"):
            sys.exit(f"bench: {n} idle connections to {server.name} failed: {line.strip()}")
        return (server.rss_kib() - rss0) * 1024 / n
    finally:
        gen.stdin.close()
        try:
            gen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            gen.kill()
            gen.wait(STOP_TIMEOUT)


def raise_nofile(want):
    """Raises this process's RLIMIT_NOFILE (inherited by the servers) to want if allowed;
    returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for new in ((max(soft, want), max(hard, want)), (min(max(soft, want), hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, new)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", required=True, help="where sockcheck-ok-server is")
    ap.add_argument("--loadgen", required=True, help="the bench_loadgen program")
    ap.add_argument("--redis", default="redis-server")
    ap.add_argument("--conns", default="1,16,64,256", help="connection counts, comma-separated")
    ap.add_argument("--seconds", type=int, default=2, help="length of one run")
    ap.add_argument("--rounds", type=int, default=3, help="runs per server and connection count")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections for the RSS figure (0: skip)")
    a = ap.parse_args()
    try:
        conns = [int(c) for c in a.conns.split(",")]
    except ValueError:
        ap.error("--conns: comma-separated positive integers")
    if not conns or min(conns) < 1 or a.seconds < 1 or a.rounds < 1 or a.idle < 0:
        ap.error("--conns, --seconds and --rounds must be positive, --idle not negative")
    for path in (os.path.join(a.bin_dir, "sockcheck-ok-server"), a.loadgen):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} missing (build it first)")

    # Both servers and the generator hold max(conns) or --idle sockets, plus a margin.
    want = max(max(conns), a.idle) + 256
    limit = raise_nofile(want)
    idle = a.idle
    if limit < want:
        idle = max(0, min(a.idle, limit - 256))
        print(f"bench: RLIMIT_NOFILE cannot be raised past {limit}: {idle} idle connections instead of {a.idle}")

    servers = []
    with tempfile.TemporaryDirectory(prefix="sc-bench-redis-") as workdir:
        try:
            servers.append(start_ok(a.bin_dir))
            servers.append(start_redis(a.redis, workdir, want))
            ok, redis = servers
            print(f"ok-server pid {ok.proc.pid} port {ok.port}; redis-server pid {redis.proc.pid} port {redis.port}; "
                  f"{a.rounds} alternating runs of {a.seconds} s per row, medians")
            print(f"{'conns':>5} | {'req/s ok':>9} {'redis':>9} {'ok/redis':>8} | {'p50 us ok':>9} {'redis':>7} | "
                  f"{'p99 us ok':>9} {'redis':>7} | {'CPU us/req ok':>13} {'redis':>7} {'ok/redis':>8}")
            for n in conns:
                res = {ok.name: [], redis.name: []}
                for rnd in range(a.rounds):
                    for s in (servers if rnd % 2 == 0 else servers[::-1]):
                        res[s.name].append(run_load(a.loadgen, s, n, a.seconds))
                o, r = res[ok.name], res[redis.name]
                print(f"{n:>5} | {med(o, 'rps'):>9.0f} {med(r, 'rps'):>9.0f} {med(o, 'rps') / med(r, 'rps'):>7.2f}x | "
                      f"{med(o, 'p50'):>9.1f} {med(r, 'p50'):>7.1f} | {med(o, 'p99'):>9.1f} {med(r, 'p99'):>7.1f} | "
                      f"{med(o, 'cpu_us'):>13.2f} {med(r, 'cpu_us'):>7.2f} {med(o, 'cpu_us') / med(r, 'cpu_us'):>7.2f}x",
                      flush=True)
            if idle > 0:
                per = {s.name: idle_rss(a.loadgen, s, idle) for s in servers}
                print(f"{idle} idle connections, RSS growth per connection: ok-server {per[ok.name]:.0f} B, "
                      f"redis {per[redis.name]:.0f} B, ok/redis {per[ok.name] / per[redis.name]:.2f}x")
        finally:
            for s in servers:
                s.stop()
    left = [s.name for s in servers if s.proc.poll() is None]
    if left:
        sys.exit(f"bench: still running: {left}")


if __name__ == "__main__":
    main()
