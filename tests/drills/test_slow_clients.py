"""Slow clients cannot starve the server: gunicorn's threaded workers keep answering."""

from __future__ import annotations

import socket
import time

import pytest

from tests.servers import Gunicorn, http_request

pytestmark = pytest.mark.slow

SLOW_SOCKETS = 4


def open_slow_client(port: int) -> socket.socket:
    """A client that has sent only the start of its request headers, and waits."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


def test_four_slow_clients_do_not_stop_two_workers_from_answering(tmp_path):
    with Gunicorn(workdir=tmp_path, workers=2) as server:
        slow = [open_slow_client(server.port) for _ in range(SLOW_SOCKETS)]
        try:
            time.sleep(0.5)  # let the workers pick the slow connections up
            for _ in range(5):
                started = time.monotonic()
                response = http_request(f"{server.url}/health/live", timeout=5)
                elapsed = time.monotonic() - started
                assert response.status == 200
                assert elapsed < 1.0, f"/health/live took {elapsed:.2f}s behind slow clients"
                for sock in slow:  # keep trickling, as a slowloris client does
                    sock.sendall(b"a")
        finally:
            for sock in slow:
                sock.close()
