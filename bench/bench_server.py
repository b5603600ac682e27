#!/usr/bin/python3
"""Benchmark of sockcheck-ok-server: throughput, latency and memory.

Prints figures only (no pass/fail), each beside its saved baseline from
bench/baseline_server.json when that file exists (--save-baseline writes it).

  clients    N clients on loopback doing ping-pong ("x" -> "ok") for --seconds
  msgs/s     replies received per second, all clients together
  p50/p99    round-trip latency in microseconds
  rss        the server's peak RSS (VmHWM) before and after a client that sends
             --flood 4 KiB messages and never reads a reply (must stay flat: replies are
             a count, and reading pauses under backpressure)
"""
import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "baseline_server.json")


def start_server(bin_dir):
    proc = subprocess.Popen([os.path.join(bin_dir, "sockcheck-ok-server"), "0", "--bind", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not sel.select(timeout=deadline - time.monotonic()):
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("listening on "):
            port = int(line.rsplit(":", 1)[1])
            return proc, port
    proc.kill()
    sys.exit("bench: the server did not report 'listening on' within 10 s")


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


def ping_pong(port, clients, seconds):
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(clients):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, {"t0": 0.0, "got": b""})
    lat = []
    replies = 0
    end = time.monotonic() + seconds
    for s in socks:
        sel.get_key(s).data["t0"] = time.monotonic()
        s.send(b"x")
    while time.monotonic() < end:
        for key, _ in sel.select(timeout=1.0):
            d = key.data
            chunk = key.fileobj.recv(64)
            if not chunk:
                sys.exit("bench: server closed a client")
            d["got"] += chunk
            while len(d["got"]) >= 2:
                d["got"] = d["got"][2:]
                now = time.monotonic()
                lat.append(now - d["t0"])
                replies += 1
                d["t0"] = now
                key.fileobj.send(b"x")
    for s in socks:
        s.close()
    lat.sort()
    return replies / seconds, lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.99)] * 1e6


def flood_without_reading(port, count):
    # A small receive buffer so the unread replies back up sooner. The server's
    # own socket send buffer still absorbs megabytes of "ok"s before it owes any
    # and pauses reading, so the figure shows how much got in, not a limit.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.settimeout(0.5)
    sent = 0
    try:
        for _ in range(count):
            s.sendall(b"y" * 4096)
            sent += 1
    except (socket.timeout, BlockingIOError):
        pass  # the server stopped reading: backpressure reached us
    return s, sent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--flood", type=int, default=50000, help="4 KiB messages the flooder tries to send")
    ap.add_argument("--save-baseline", action="store_true")
    a = ap.parse_args()
    proc, port = start_server(a.bin_dir)
    try:
        rss0 = peak_rss_kib(proc.pid)
        mps, p50, p99 = ping_pong(port, a.clients, a.seconds)
        rss1 = peak_rss_kib(proc.pid)
        flood_sock, sent = flood_without_reading(port, a.flood)
        mps2, _, _ = ping_pong(port, 4, 1.0)  # others still served during the flood
        rss2 = peak_rss_kib(proc.pid)
        flood_sock.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    figures = {
        f"ping-pong msgs/s ({a.clients} clients)": round(mps),
        "latency p50 us": round(p50),
        "latency p99 us": round(p99),
        "server peak RSS KiB at start": rss0,
        "server peak RSS KiB after ping-pong": rss1,
        f"flood: 4 KiB messages a never-reading client got in (of {a.flood})": sent,
        "msgs/s for 4 other clients during the flood": round(mps2),
        "server peak RSS KiB after the flood": rss2,
    }
    base = {}
    if os.path.exists(BASELINE):
        with open(BASELINE) as f:
            base = json.load(f)
    print(f"{'figure':<62} {'now':>10} {'baseline':>10}")
    for k, v in figures.items():
        print(f"{k:<62} {v:>10} {base.get(k, '-'):>10}")
    if a.save_baseline:
        with open(BASELINE, "w") as f:
            json.dump(figures, f, indent=1)
        print(f"baseline saved to {BASELINE}")


if __name__ == "__main__":
    main()
