#!/usr/bin/python3
"""Writes the seed corpus of the serverloop fuzz target (input format: fuzz/serverloop.c).

The seeds reach every path of the loop (back-pressure, short and refused sends, EINTR,
EAGAIN, accept errors, the connection cap, log faults, resets, EOF) without a send ever
taking fewer bytes than offered or an EOF read while replies are owed: planted bugs on
those paths must be found by fuzzing, not by replaying the seeds. Reproducible:

    /usr/bin/python3 fuzz/tools/seeds_serverloop.py [CORPUS_DIR]
"""
import os
import sys


def header(out_limit=7, recv_buf=64, max_conns=0, log_buf=65536):
    logs = {0: 0, 64: 1, 256: 2, 65536: 3}
    return bytes([out_limit - 2, recv_buf - 1, max_conns | logs[log_buf] << 2])


CONNECT, TICK, PAUSE, READ_ALL = 0x00, 0xC0, 0x40, 0x38


def data(c, n):
    return bytes([0xA0 | c]) if n == 1 else bytes([0xA8 | c]) if n == 2 else bytes([0x10 | c, n - 1])


def eof(c):
    return bytes([0x20 | c])


def reset(c):
    return bytes([0x28 | c])


def read(c, n):
    return bytes([0x30 | c, n - 1])


def op(*b):
    return bytes(b)


SEEDS = {
    "one_message_eof": header() + op(CONNECT) + data(0, 1) + eof(0),
    "three_clients_chunks": header() + op(CONNECT, CONNECT, CONNECT) + data(0, 1) + data(1, 2)
    + data(2, 100) + data(0, 256) + op(TICK) + eof(0) + eof(1) + eof(2),
    "pause_backpressure_then_read_all": header(out_limit=7) + op(CONNECT, PAUSE) + data(0, 1) * 6
    + op(TICK, TICK, READ_ALL, TICK) + eof(0),
    "pause_read_exact_windows": header(out_limit=4) + op(CONNECT, PAUSE) + data(0, 1) + data(0, 1)
    + op(TICK) + read(0, 4) + op(TICK) + data(0, 1) + read(0, 2) + op(TICK) + eof(0),
    "send_cap_above_offer": header() + op(CONNECT) + op(0x70, 199) + data(0, 1) + op(TICK) + eof(0),
    "reset_with_replies_owed": header() + op(CONNECT, PAUSE) + data(0, 1) + data(0, 1) + op(TICK)
    + reset(0),
    "reset_idle_client": header() + op(CONNECT, CONNECT) + data(1, 3) + op(TICK) + reset(0)
    + eof(1),
    "accept_transient_errors": header() + b"".join(op(0x80, i) for i in range(11)) + op(CONNECT)
    + data(0, 1) + eof(0),
    "accept_fatal_error": header() + op(CONNECT) + data(0, 1) + op(TICK, 0x88, 0),
    "recv_send_eintr_eagain": header() + op(CONNECT) + op(0x50) + data(0, 1) + op(0x58, TICK)
    + op(0x60) + data(0, 1) + op(0x68, TICK) + data(0, 2) + eof(0),
    "log_short_eagain_eintr": header(log_buf=256) + op(0x90, 5, CONNECT) + op(0x98, 0) + data(0, 1)
    + op(CONNECT, 0x98, 1) + data(1, 1) + eof(0) + eof(1),
    "log_fails_epipe": header() + op(CONNECT, 0x98, 2, CONNECT) + data(0, 1) + eof(0) + eof(1),
    "log_buffer_small_drops": header(log_buf=64) + op(CONNECT, CONNECT, CONNECT, CONNECT)
    + data(3, 1) + eof(0) + eof(1) + eof(2) + eof(3),
    "connection_cap_one": header(max_conns=1) + op(CONNECT, CONNECT, CONNECT) + data(0, 1)
    + data(1, 1) + eof(0) + op(TICK, CONNECT) + data(3, 1),
    "big_chunk_tiny_buffer": header(out_limit=2, recv_buf=1) + op(CONNECT) + data(0, 200) + eof(0),
    "no_log_many_messages": header(log_buf=0) + op(CONNECT, CONNECT) + (data(0, 5) + data(1, 7)) * 8
    + op(0xB0, 0xB8) + eof(0) + eof(1),
}


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "corpus", "serverloop")
    os.makedirs(out, exist_ok=True)
    for name, body in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(body)
    print(f"{len(SEEDS)} seeds in {out}")


if __name__ == "__main__":
    main()
