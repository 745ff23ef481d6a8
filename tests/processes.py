"""Servers the tests start in their own processes, on 127.0.0.1: a free port, a clean stop."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate, and kill when that is not enough; bounded either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
