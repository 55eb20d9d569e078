#!/usr/bin/env python3
"""Asks GET /healthz the way a liveness probe does, from a process of its own.

Usage: healthz-probe.py PORT [INTERVAL_MS]. Every INTERVAL_MS (default 100) it opens a new connection, sends the
request with `Connection: close`, reads until the server closes and prints the milliseconds that took, one line
per answer ("inf" for a failure), until stdin closes. A process of its own, like the kubelet, so the figure holds
no pause of the benchmark's JVM (which also receives the flood it measures).
"""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
interval = (int(sys.argv[2]) if len(sys.argv) > 2 else 100) / 1000
request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode("ascii")
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

while not stop.is_set():
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(request)
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        ok = answer.startswith(b"HTTP/1.1 200")
        print(f"{(time.perf_counter() - t0) * 1000:.3f}" if ok else "inf", flush=True)
    except OSError:
        print("inf", flush=True)
    stop.wait(interval)
