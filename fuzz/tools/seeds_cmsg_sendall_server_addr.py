#!/usr/bin/python3
"""Writes the seed corpora of the cmsg, sendall, server, addr and recvfill fuzz targets.

Each seed is named after what it exercises; the byte layouts are the ones the targets'
header comments describe. Reproducible: rerun after changing a target's input format.

    /usr/bin/python3 fuzz/tools/seeds_cmsg_sendall_server_addr.py [CORPUS_DIR]
"""
import os
import struct
import sys

SOL_SOCKET = 1
SCM_RIGHTS = 1
SCM_CREDENTIALS = 2


def cmsghdr(cmsg_len, level, type_):
    return struct.pack("<QiI", cmsg_len, level, type_)


def pad(b):
    return b + b"\0" * (-len(b) % 8)


def addr_seeds():
    s = {
        "port_only": b"8080",
        "port_zero": b"0",
        "port_max": b"65535",
        "port_too_big": b"65536",
        "port_leading_zero": b"080",
        "port_plus_sign": b"+1",
        "port_space": b" 80",
        "empty": b"",
        "ipv4_port": b"127.0.0.1:8080",
        "ipv4_any_port_zero": b"0.0.0.0:0",
        "ipv4_short_rejected": b"1.2.3:80",
        "ipv4_leading_zero_rejected": b"01.2.3.4:80",
        "ipv4_no_port": b"1.2.3.4:",
        "localhost_port": b"localhost:12345",
        "hostname_rejected": b"example.com:80",
        "ipv6_bracket_port": b"[::1]:8080",
        "ipv6_full": b"[2001:db8::1]:443",
        "ipv6_mapped_v4": b"[::ffff:1.2.3.4]:1",
        "ipv6_no_port": b"[::1]",
        "ipv6_scope_rejected": b"[fe80::1%lo]:80",
        "unix_path": b"unix:/tmp/sockcheck.sock",
        "unix_empty_path": b"unix:",
        "unix_path_max": b"unix:" + b"p" * 107,
        "unix_path_too_long": b"unix:" + b"p" * 108,
        "abstract_name": b"@sockcheck",
        "abstract_autobind": b"@",
        "abstract_nonprintable": b"@a\x01b",
        "abstract_max": b"@" + b"n" * 107,
        "ipv4_port_small_cap": b"1.2.3.4:80\x00\x05",
        "ipv6_cap_exact": b"[::1]:80\x00\x08",
    }
    return s


def cmsg_seeds():
    rights1 = cmsghdr(20, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<i", 3)
    rights2 = cmsghdr(24, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<ii", 3, 4)
    creds = cmsghdr(28, SOL_SOCKET, SCM_CREDENTIALS) + struct.pack("<iII", 100, 1000, 1000)
    raw = 0 | (4 << 2)  # raw mode, sc_cmsg_rights max 4
    crafted = 1 | (8 << 2)
    s = {
        "raw_empty": bytes([raw]),
        "raw_rights_one_fd_no_final_padding": bytes([raw]) + rights1,
        "raw_rights_two_fds": bytes([raw]) + rights2,
        "raw_rights_more_than_max": bytes([0]) + rights2,
        "raw_creds": bytes([raw]) + pad(creds),
        "raw_rights_then_creds": bytes([raw]) + pad(rights1) + pad(creds),
        "raw_len_smaller_than_header": bytes([raw]) + cmsghdr(8, SOL_SOCKET, SCM_RIGHTS) + b"\0" * 8,
        "raw_len_past_end": bytes([raw]) + cmsghdr(64, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<i", 3),
        "raw_second_len_past_end": bytes([raw]) + pad(rights1) + cmsghdr(4096, 1, 1) + b"\0" * 4,
        "raw_len_huge": bytes([raw]) + cmsghdr(2**64 - 8, SOL_SOCKET, SCM_RIGHTS) + b"\0" * 8,
        "raw_short_tail": bytes([raw]) + pad(rights1) + b"\x01\x02\x03",
        "raw_rights_ragged_payload": bytes([raw]) + cmsghdr(22, SOL_SOCKET, SCM_RIGHTS) + b"\0" * 6,
        "crafted_rights_two_fds": bytes([crafted, 0, 0x00, 8]) + struct.pack("<ii", 5, 6),
        "crafted_creds": bytes([crafted, 0, 0x01, 12]) + struct.pack("<iII", 1, 2, 3),
        "crafted_other_level": bytes([crafted, 0, 0x03 | (6 << 5), 4, 1, 2, 3, 4]),
        "crafted_len_past_end": bytes([crafted, 0, 0x14, 4, 9, 9, 9, 9]),
        "crafted_len_one_past_end": bytes([crafted, 0, 0x18, 4, 9, 9, 9, 9]),
        "crafted_len_smaller_than_header": bytes([crafted, 0, 0x10, 3, 1, 2, 3]),
        "crafted_len_huge": bytes([crafted, 0, 0x1C, 4, 1, 2, 3, 4]),
        "crafted_final_padding_cut": bytes([crafted, 4, 0x00, 4, 7, 0, 0, 0]),
        "crafted_three_messages": bytes([crafted, 0, 0x00, 4, 1, 0, 0, 0, 0x01, 12])
        + bytes(12) + bytes([0x02 | (3 << 5), 0]),
        "build_rights_two_fds": bytes([2, 0x00, 0x01, 0x00, 2, 3, 4]),
        "build_creds": bytes([2, 0x00, 0x01, 0x01, 7, 8, 9]),
        "build_rights_max_fds": bytes([2, 0x08, 0x04, 0x02 | (3 << 2)]),
        "build_rights_too_many_fds": bytes([2, 0x00, 0x10, 0x02 | (4 << 2)]),
        "build_rights_zero_fds": bytes([2, 0x00, 0x01, 0x00, 0]),
        "build_no_space": bytes([2, 16, 0x00, 0x00, 1, 3]),
        "build_no_space_second": bytes([2, 40, 0x00, 0x00, 1, 3, 0x01, 1, 2, 3]),
        "build_exact_space": bytes([2, 24, 0x00, 0x00, 1, 3]),
        "build_negative_fds": bytes([2, 0x00, 0x01, 0x00, 3, 0xff, 0x80, 0x7f]),
        "kernel_rights_and_creds": bytes([0xFF, 0x00, 0x02, 0x00, 3, 0, 1, 0, 0x01]),
        "kernel_one_fd": bytes([0xFF, 0x00, 0x01, 0x00, 1, 1]),
        "kernel_no_control": bytes([0xFF, 0x00, 0x00]),
        "kernel_max_fds": bytes([0xFF, 0x00, 0x10, 0x02 | (3 << 2)]),
        "kernel_over_fd_limit": bytes([0xFF, 0x00, 0x10, 0x00, 200, 0x00, 100]),
    }
    return s


def sendall_seeds():
    # byte 0: bits 0-1 timeout (-1, 0, 5, 1000), bit 2 name, bit 3 control,
    # bits 4-6: 6 = total > SSIZE_MAX, 7 = too many iovecs; bit 7 MSG_DONTWAIT.
    # byte 1: iovec count & 63; then one length byte per iovec; then the schedule
    # (fuzz/support/waits.h: one byte per sendmsg or wait).
    ACCEPT_ALL, EINTR, EAGAIN = 0xC0, 0x60, 0x80
    EPIPE = 0xA0
    s = {
        "one_iov_all_at_once": bytes([0, 1, 10, ACCEPT_ALL]),
        "short_write_then_eintr": bytes([0, 3, 5, 7, 9, 0x03, EINTR, 0x04]),
        "short_writes_across_iovecs": bytes([0, 4, 3, 3, 3, 3, 0x02, 0x02, 0x02, 0x02, 0x02]),
        "eagain_then_ready": bytes([2, 2, 10, 10, EAGAIN, 0x00, ACCEPT_ALL]),
        "eagain_wait_timeout": bytes([2, 2, 10, 10, 0x05, EAGAIN, 0x04]),
        "eagain_timeout_zero_returns_eagain": bytes([1, 2, 10, 10, 0x03, EAGAIN]),
        "eagain_wait_eintr_then_ready": bytes([3, 1, 20, EAGAIN, 0x05, 0x00, ACCEPT_ALL]),
        "eagain_wait_error": bytes([3, 1, 20, EAGAIN, 0x06]),
        "hard_error_after_partial": bytes([0, 2, 10, 10, 0x05, EPIPE]),
        "hard_error_first_call": bytes([0, 1, 4, EPIPE | 1]),
        "zero_length_iovecs": bytes([0, 6, 0, 3, 0, 0, 4, 0, 0x01, 0x01, 0x01, 0x01, 0x01]),
        "zero_write_no_progress": bytes([0, 1, 5, 0x00]),
        "control_and_name_first_call_only": bytes([0x0C, 2, 6, 6, 0x02, EINTR, 0x03, ACCEPT_ALL]),
        "control_kept_until_bytes_sent": bytes([0x0E, 1, 6, EINTR, EAGAIN, 0x00, 0x02, 0xE0]),
        "empty_message_with_control": bytes([0x08, 0]),
        "empty_message": bytes([0, 0]),
        "all_zero_lengths": bytes([0, 3, 0, 0, 0]),
        "total_over_ssize_max": bytes([0x60, 1, 5]),
        "too_many_iovecs": bytes([0x70, 0]),
        "one_byte_writes": bytes([0, 2, 3, 4]) + bytes([0xE0]) * 8,
        "large_iovecs_512_byte_writes": bytes([0, 3, 0xF5, 0x10, 0xFF, 0x41, 0x5F, 0x42, 0x43]),
        "dontwait_flag_passed": bytes([0x80, 1, 8, 0x03, ACCEPT_ALL]),
        "many_iovecs": bytes([0, 63]) + bytes(range(1, 64)) + bytes([0x1F, 0x3F, 0x45]),
        # timeout 1000 ms (unit 250): EINTR after 750 ms, EAGAIN, ready after 250: deadline.
        "eintr_and_wait_reach_deadline": bytes([3, 2, 10, 10, 0x05, EINTR | 3, EAGAIN, 0x08]),
        "wait_eintr_then_whole_timeout": bytes([3, 1, 20, EAGAIN, 0x0D, 0x04]),
    }
    return s


def recvfill_seeds():
    # byte 0: bits 0-1 timeout (-1, 0, 5, 1000), bits 2-3 stream length (total, 3/4, 1/2,
    # total + 16); byte 1: segment count & 15; one length byte per segment; then the
    # schedule (fuzz/support/waits.h: one byte per recvmsg or wait).
    ALL, EOF, EINTR, EAGAIN, ECONNRESET = 0xC0, 0xD0, 0x60, 0x80, 0xA1
    HALF, LONGER = 2 << 2, 3 << 2
    s = {
        "one_segment_all_at_once": bytes([0, 1, 10, ALL]),
        "short_reads_across_segments": bytes([0, 3, 5, 7, 9, 0x03, 0x04, 0x02, 0x06, 0x07]),
        "zero_length_segments": bytes([0, 6, 0, 4, 0, 0, 6, 0, 0x01, 0x02, 0x03, 0x04]),
        "eof_after_partial_fill": bytes([HALF, 2, 10, 10, 0x07, ALL, ALL]),
        "eof_step_after_partial": bytes([0, 2, 10, 10, 0x05, EOF]),
        "eof_at_once": bytes([0, 1, 10, EOF]),
        "stream_longer_than_room": bytes([LONGER, 2, 4, 4, ALL]),
        "eintr_retried": bytes([1, 1, 8, EINTR, EINTR, ALL]),
        "eagain_then_ready": bytes([3, 1, 20, 0x05, EAGAIN, 0x00, ALL]),
        "eagain_timeout_zero_returns_eagain": bytes([1, 1, 20, 0x03, EAGAIN]),
        "eagain_wait_timeout": bytes([2, 1, 20, 0x05, EAGAIN, 0x04]),
        "eagain_wait_eintr_then_ready": bytes([3, 1, 20, EAGAIN, 0x05, 0x00, ALL]),
        "eagain_wait_error": bytes([3, 1, 20, EAGAIN, 0x06]),
        "eagain_no_limit": bytes([0, 1, 20, 0x02, EAGAIN, 0x04, ALL]),
        "hard_error_after_partial": bytes([0, 2, 10, 10, 0x05, ECONNRESET]),
        "wait_eintr_then_whole_timeout": bytes([3, 1, 20, EAGAIN, 0x0D, 0x04]),
        "empty_list": bytes([0, 0]),
        "large_segments_512_byte_reads": bytes([0, 3, 0xF5, 0x10, 0xFF, 0x41, 0x5F, 0x42, 0x43]),
        "one_byte_reads": bytes([0, 2, 3, 4]) + bytes([0xE0]) * 8,
        "many_segments": bytes([0, 15]) + bytes(range(1, 16)) + bytes([0x1F, 0x3F, 0x45]),
    }
    return s


def server_seeds():
    # byte 0: out_limit - 2. ops: 0x00+n recv n+1 bytes; 0x20 P recv P bytes (0 = 256);
    # 0x40+k P recv (k+1)*4096+P; 0x60+w write w; 0x80+k write (k+1)*64 (0x9F all);
    # 0xA0 EOF; 0xC0 error; 0xC1.. probe; 0xE0+k k&3+1 one-byte writes.
    WRITE_ALL, EOF, ERR = 0x9F, 0xA0, 0xC0
    s = {
        "one_chunk_one_reply": bytes([0x10, 0x04, WRITE_ALL, EOF]),
        "chunks_then_eof_drains": bytes([0x10, 0x00, 0x01, 0x02, EOF, WRITE_ALL]),
        "backpressure_limit_two": bytes([0x00, 0x00, 0x00, 0x00, 0x61, WRITE_ALL, 0x00]),
        "backpressure_limit_three": bytes([0x01, 0x00, 0x00, 0x61, 0x00, 0x61, 0x61, WRITE_ALL]),
        "half_reply_writes": bytes([0x10, 0x00, 0x00, 0xE3, 0x61, WRITE_ALL]),
        "error_drops_owed_replies": bytes([0x10, 0x00, 0x00, ERR, 0x00]),
        "recv_after_eof_is_eproto": bytes([0x10, EOF, 0x00, 0x20, 5]),
        "recv_while_draining_is_eproto": bytes([0x10, 0x00, EOF, 0x00, 0x61, 0x61]),
        "oversized_sent_is_clamped": bytes([0x10, 0x00, 0x00, 0xC5]),
        "chunk_sizes_varied": bytes([0x40, 0x20, 0xAA, 0x20, 0x00, 0x41, 0x07, 0x1F, WRITE_ALL]),
        "many_chunks_zero_capacity": bytes([0xFF]) + bytes(20) + bytes([0x60, 0x60, 0x81, WRITE_ALL]),
        "eof_with_nothing_owed_closes": bytes([0x10, EOF]),
        "write_with_nothing_owed": bytes([0x10, 0x61, WRITE_ALL, 0x00]),
    }
    return s


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "corpus")
    for target, seeds in (("addr", addr_seeds()), ("cmsg", cmsg_seeds()),
                          ("sendall", sendall_seeds()), ("server", server_seeds()),
                          ("recvfill", recvfill_seeds())):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        reg = os.path.join(root, "regressions", target)
        os.makedirs(reg, exist_ok=True)
        keep = os.path.join(reg, ".gitkeep")
        if not os.path.exists(keep):
            open(keep, "wb").close()
        print(f"{target}: {len(seeds)} seeds in {os.path.normpath(d)}")


if __name__ == "__main__":
    main()
