#!/usr/bin/env python3
"""Asks GET /healthz the way a liveness probe does, from a process of its own.

Usage: healthz-probe.py PORT [INTERVAL_MS] [REFERENCE_PORT]. Every INTERVAL_MS (default 100) it opens a new
connection, sends the request with `Connection: close`, reads until the server closes and prints the milliseconds that
took, one line per answer ("inf" for a failure), until stdin closes. A process of its own, like the kubelet, so the
figure holds no pause of the benchmark's JVM (which also receives the flood it measures).

With REFERENCE_PORT it asks that port too, right after or right before PORT (by turns), and prints each answer as
"PORT MS": the reference answers under the same load at the same moments.
"""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
interval = (int(sys.argv[2]) if len(sys.argv) > 2 else 100) / 1000
reference = int(sys.argv[3]) if len(sys.argv) > 3 else None
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()


def ask(p):
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nConnection: close\r\n\r\n".encode("ascii")
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", p), timeout=5) as s:
            s.sendall(request)
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        ms = f"{(time.perf_counter() - t0) * 1000:.3f}" if answer.startswith(b"HTTP/1.1 200") else "inf"
    except OSError:
        ms = "inf"
    print(ms if reference is None else f"{p} {ms}", flush=True)


turn = 0
while not stop.is_set():
    order = [port] if reference is None else ([port, reference] if turn % 2 == 0 else [reference, port])
    for p in order:
        ask(p)
    turn += 1
    stop.wait(interval)
