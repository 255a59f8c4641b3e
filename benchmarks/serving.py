"""Starting and stopping the real service for the HTTP benchmarks (api.py, load.py).

The service runs as its own process group, exactly as an operator would start it, so that a
benchmark measures what production runs and can stop every worker it started.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def safeguard(env: dict, *args: str) -> str:
    """Run the ``safeguard`` command; exit the benchmark with its output if it fails."""
    result = subprocess.run(
        [str(BIN / "safeguard"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"safeguard {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(command: list[str], env: dict, log: Path, port: int, wait: float) -> subprocess.Popen:
    """Start ``command`` in its own process group and wait until ``/healthz`` answers 200."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{command[0]} exited with {process.returncode}:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    stop(process)
    sys.exit(f"{command[0]} did not come up within {wait:.0f} s:\n{log.read_text()}")


def stop(process: subprocess.Popen, wait: float = 30) -> None:
    """SIGTERM to the service's process group (every worker), SIGKILL if it outlives ``wait``."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
