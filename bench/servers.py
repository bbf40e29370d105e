"""Start, probe and stop the SCIM servers under test, each in its own subprocess.

Every server listens on 127.0.0.1 only, on a port the kernel picked as free.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
HOST = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free at the time of the call."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServerSpec:
    """How to launch one server and where its SCIM endpoints live."""

    name: str
    command: list[str]
    port: int
    scim_path: str
    token: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}{self.scim_path}"


def scimbridge_spec(
    name: str,
    database_url: str,
    token: str,
    workers: int,
    max_results: int,
    factory: str = "scimbridge.app:create_app",
) -> ServerSpec:
    """Describe scimbridge under uvicorn, with its access log off."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    env = {
        "SCIMBRIDGE_DATABASE_URL": database_url,
        # WARNING turns off scimbridge's own one-line-per-request access log.
        "SCIMBRIDGE_LOG_LEVEL": "WARNING",
        "SCIMBRIDGE_SCIM_MAX_RESULTS": str(max_results),
    }
    return ServerSpec(name, command, port, "/scim/v2", token, env)


def reference_spec(token: str) -> ServerSpec:
    """Describe scim2-server's in-memory test server (the ``scim2-server`` command).

    It serves SCIM under ``/v2`` with a threaded ``wsgiref`` server and accepts
    the static bearer tokens given with ``--bearer-token``.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "scim2_server.testserver.cli",
        "--hostname",
        HOST,
        "--port",
        str(port),
        "--bearer-token",
        token,
    ]
    return ServerSpec("reference", command, port, "/v2", token)


class RunningServer:
    """A server process, started and stopped as an async context manager."""

    def __init__(self, spec: ServerSpec, log_dir: Path) -> None:
        self.spec = spec
        self.log_path = log_dir / f"{spec.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"server {self.spec.name} is not running")
        return self._process.pid

    async def __aenter__(self) -> "RunningServer":
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.spec.command,
                env={**os.environ, **self.spec.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            await self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.stop()

    async def _wait_until_ready(self) -> None:
        url = f"{self.spec.base_url}/ServiceProviderConfig"
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"server {self.spec.name} exited with code "
                        f"{self._process.returncode}; see {self.log_path}"
                    )
                try:
                    response = await client.get(url)
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(
            f"server {self.spec.name} did not respond to {url} within "
            f"{STARTUP_TIMEOUT_SECONDS:.0f} s; see {self.log_path}"
        )

    def _tree(self) -> list[psutil.Process]:
        root = psutil.Process(self.pid)
        return [root, *root.children(recursive=True)]

    def rss_bytes(self) -> int:
        """Return the summed resident set size of the server process and its children.

        Summing counts pages shared between a uvicorn supervisor and its
        workers more than once, so for several workers this is an upper bound.
        """
        total = 0
        for process in self._tree():
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def cpu_seconds(self) -> float:
        """Return the user plus system CPU time used so far by the process tree."""
        total = 0.0
        for process in self._tree():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        """Send SIGTERM to the server, then SIGKILL whatever is left after a wait."""
        if self._process is None or self._process.poll() is not None:
            return
        try:
            children = psutil.Process(self._process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                continue
