"""Helpers of the networking benchmarks: free host ports, the tcp benchmark's client and
server, its host-loopback baseline, and the host's nftables tables (to check none is left)."""

import os
import random
import socket
import statistics
import struct
import subprocess
import sys

from . import images

MIB = 1024 * 1024
NETLINK_NETFILTER = 12  # not in Python's socket module
NLM_F_REQUEST, NLM_F_DUMP, NLMSG_ERROR, NLMSG_DONE = 0x1, 0x300, 2, 3


def free_ports(n):
    """`n` TCP ports nothing on the host listens on (each bound once on 0.0.0.0 to make
    sure), from a random start below the kernel's ephemeral range."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    top = min(low, 65536) - 1
    bottom = 10000 if top > 20000 else 1024
    start = random.randrange(bottom, top - n * 4)
    found = []
    for port in range(start, top):
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == n:
            return found
    raise RuntimeError(f"fewer than {n} free ports between {start} and {top}")


TCP_BYTES = 1024 * MIB
TCP_PORT = 5001  # inside the container
TCP_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tcp_send.py")
TCP_SERVER = ("nc", "-ll", "-p", str(TCP_PORT), "-e", "sh", "-c", "cat >/dev/null; echo done")
TCP_BASELINE_RUNS = 3
TCP_SHARE = 0.9  # of host loopback throughput


def tcp_client(argv, port, total, wait=0, host="127.0.0.1"):
    """Runs the client (`argv` prefix: where to run it) and returns its seconds."""
    cmd = [*argv, sys.executable, TCP_CLIENT, host, str(port), str(total)]
    if wait:
        cmd += ["--wait", str(wait)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` exited {proc.returncode}: "
                           f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return float(proc.stdout.split()[-1])


def mib_s(seconds):
    return f"{TCP_BYTES / MIB / seconds:.0f} MiB/s"


def tcp_baseline():
    """Host loopback: the same client against the same busybox nc, run on the host and
    bound to 127.0.0.1, with no engine in between: {"samples": […], "median": seconds}."""
    port = free_ports(1)[0]
    server = subprocess.Popen([images.BUSYBOX, *TCP_SERVER[:3], str(port), "127.0.0.1",
                               *TCP_SERVER[4:]], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        tcp_client([], port, 0, wait=10)
        runs = []
        for _ in range(TCP_BASELINE_RUNS):
            os.sync()
            runs.append(tcp_client([], port, TCP_BYTES))
    finally:
        server.terminate()
        server.wait()
    return {"samples": runs, "median": statistics.median(runs)}


def nft_tables():
    """[(family, name)] of the host's nftables tables, asked over netlink (no `nft` needed;
    `iptables-nft-save` does not list tables it did not make)."""
    nfnl_subsys_nftables, nft_msg_gettable, nfta_table_name = 10, 1, 1
    families = {1: "inet", 2: "ip", 3: "arp", 5: "netdev", 7: "bridge", 10: "ip6"}
    found = []
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER) as s:
        s.bind((0, 0))
        s.send(struct.pack("=IHHII", 20, nfnl_subsys_nftables << 8 | nft_msg_gettable,
                           NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + bytes(4))  # + nfgenmsg
        while True:
            data = s.recv(1 << 16)
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if kind == NLMSG_DONE:
                    return found
                if kind == NLMSG_ERROR:
                    raise OSError(-struct.unpack_from("=i", data, off + 16)[0],
                                  "listing nftables tables")
                attr = off + 20  # after nlmsghdr and nfgenmsg
                while attr + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, attr)
                    if alen < 4:
                        break
                    if atype & 0x7FFF == nfta_table_name:
                        name = data[attr + 4:attr + alen].rstrip(b"\0").decode()
                        found.append((families.get(data[off + 16], str(data[off + 16])), name))
                    attr += (alen + 3) & ~3
                off += (length + 3) & ~3
