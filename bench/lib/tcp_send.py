"""The client of the tcp benchmark, run as its own process (where the engine's published
ports answer: on the host, or inside dockerd's network namespace):

    tcp_send.py HOST PORT BYTES [--wait SECONDS]

Connects, sends BYTES in large writes, shuts its write side, reads the server's "done" and
its end of stream, and prints the seconds from before the connect to after the end of stream.
The server is busybox `nc -ll -p PORT -e sh -c 'cat >/dev/null; echo done'`: it answers only
once it has read everything, so the time covers the whole transfer, not just the local
socket buffers filling up.

--wait retries for up to SECONDS until a transfer gets its "done" (a published port may
refuse, or a proxy may accept and then close, while the server is still starting).
"""

import socket
import sys
import time

CHUNK = 4 * 1024 * 1024
TIMEOUT = 300  # seconds without progress before giving up


def transfer(host, port, total):
    chunk = memoryview(bytes(CHUNK))
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=TIMEOUT) as s:
        left = total
        while left > 0:
            n = min(left, CHUNK)
            s.sendall(chunk[:n])
            left -= n
        s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            data = s.recv(4096)
            if not data:
                break
            reply += data
    seconds = time.perf_counter() - start
    if reply.strip() != b"done":
        raise ConnectionError(f"server answered {reply!r}, not b'done'")
    return seconds


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--wait"):
        sys.exit(__doc__.split("\n\n")[1].strip())
    host, port, total = argv[0], int(argv[1]), int(argv[2])
    deadline = time.monotonic() + (float(argv[4]) if len(argv) == 5 else 0)
    while True:
        try:
            seconds = transfer(host, port, total)
            break
        except OSError as e:
            if time.monotonic() >= deadline:
                sys.exit(f"{host}:{port}: {e}")
            time.sleep(0.05)
    print(f"{seconds:.6f}")


if __name__ == "__main__":
    main(sys.argv[1:])
