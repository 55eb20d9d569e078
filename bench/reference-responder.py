#!/usr/bin/env python3
"""The least an HTTP health endpoint can do, in a process of its own: the benchmark's floor for /healthz.

Usage: reference-responder.py. Listens on 127.0.0.1 (a free port, printed on the first line of stdout), and for every
connection reads the request head, answers what the worker's /healthz answers (200, the same headers and body) and
closes; one thread, no parsing, no framework. Asked by the same probe as the worker, by turns, during the same
floods, its answer times are what the machine's scheduling alone costs a probe under that load. Runs until stdin
closes.
"""
import socket
import sys
import threading

BODY = b'{"status":"ok"}'
ANSWER = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
          + str(len(BODY)).encode("ascii") + b"\r\nconnection: close\r\n\r\n" + BODY)

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(128)
print(server.getsockname()[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown(socket.SHUT_RDWR)), daemon=True).start()

while True:
    try:
        conn, _ = server.accept()
    except OSError:
        break  # shut down: stdin ended
    with conn:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
        conn.sendall(ANSWER)
