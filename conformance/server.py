"""Serve scimbridge on loopback for one conformance run, then stop it.

:func:`running_scimbridge` drives the ``scimbridge`` command of the current
interpreter: ``db upgrade``, ``org create``, ``scim-token create`` and then
``serve`` on 127.0.0.1, waiting until ``GET /scim/v2/ServiceProviderConfig``
gets an HTTP response.
"""

import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from conformance.target import ScimTarget

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
SCIM_PATH = "/scim/v2"
READINESS_PATH = f"{SCIM_PATH}/ServiceProviderConfig"
COMMAND_TIMEOUT = 120.0
"""Time limit of each provisioning command, in seconds."""
STOP_TIMEOUT = 10.0
"""Time the server gets to exit after SIGTERM before SIGKILL, in seconds."""
POLL_INTERVAL = 0.2
LOG_TAIL_LINES = 40


class ServerError(RuntimeError):
    """scimbridge could not be provisioned, started or reached."""


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A scimbridge process serving on loopback, and the target it serves."""

    target: ScimTarget
    log_path: Path
    """The server's stdout and stderr, deleted once the server has stopped."""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """Return the last ``lines`` lines the server has logged so far."""
        return _tail(self.log_path.read_text(errors="replace"), lines)


@contextmanager
def running_scimbridge(
    database_url: str | None = None, *, startup_timeout: float = 60.0
) -> Iterator[RunningServer]:
    """Serve scimbridge on 127.0.0.1 on a free port for the ``with`` block.

    Without ``database_url``, the server uses a new SQLite file in a temporary
    directory. The organization gets a random slug, so runs can share a
    database. The server is stopped when the block exits, even on an error.

    :raises ServerError: if a ``scimbridge`` command fails, or the server exits
        or does not respond within ``startup_timeout`` seconds.
    """
    with tempfile.TemporaryDirectory(prefix="scimbridge-conformance-") as workdir:
        workdir_path = Path(workdir)
        if database_url is None:
            database_url = f"sqlite+aiosqlite:///{workdir_path / 'scimbridge.db'}"

        # NOTE: another process can take the port between this probe and the
        # server's bind. The server then exits and ServerError shows its log.
        port = _free_port()
        origin = f"http://{HOST}:{port}"
        env = _server_environment(database_url, origin)
        logger.info(
            "preparing scimbridge database=%s port=%s", database_url.split(":")[0], port
        )
        token = _provision_organization(env)

        log_path = workdir_path / "server.log"
        with _serving(env, port, log_path) as process:
            _wait_until_ready(
                origin + READINESS_PATH, process, log_path, startup_timeout
            )
            target = ScimTarget(base_url=origin + SCIM_PATH, token=token)
            yield RunningServer(target=target, log_path=log_path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _server_environment(database_url: str, origin: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SCIMBRIDGE_DATABASE_URL"] = database_url
    env["SCIMBRIDGE_BASE_URL"] = origin
    # serve does not start on PostgreSQL without a secret key. The SCIM suites
    # store no connection secrets, so a key made for this run is enough.
    env.setdefault("SCIMBRIDGE_SECRET_KEY", secrets.token_urlsafe(32))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _provision_organization(env: dict[str, str]) -> str:
    """Migrate the database, create an organization and return a new SCIM token."""
    _run_scimbridge(env, "db", "upgrade")

    slug = f"conformance-{secrets.token_hex(4)}"
    _run_scimbridge(env, "org", "create", slug, "--json")

    output = _run_scimbridge(env, "scim-token", "create", slug, "--json")
    token = _parse_json_object(output, "scim-token create").get("token")
    if not isinstance(token, str) or not token:
        raise ServerError(
            "`scimbridge scim-token create --json` printed no 'token' string"
        )

    logger.info("organization provisioned slug=%s", slug)
    return token


def _run_scimbridge(env: dict[str, str], *args: str) -> str:
    """Run ``scimbridge ARGS`` and return its stdout.

    stdout never appears in errors, because ``scim-token create`` prints the
    token there.
    """
    command = [sys.executable, "-m", "scimbridge", *args]
    command_text = " ".join(["scimbridge", *args])
    try:
        completed = subprocess.run(  # noqa: S603 (fixed command, no shell)
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerError(
            f"`{command_text}` timed out after {COMMAND_TIMEOUT:.0f} s"
        ) from exc

    if completed.returncode != 0:
        raise ServerError(
            f"`{command_text}` failed with exit code {completed.returncode}; "
            f"its stderr ends with:\n{_tail(completed.stderr, LOG_TAIL_LINES)}"
        )
    return completed.stdout


def _parse_json_object(output: str, command: str) -> dict[str, Any]:
    try:
        parsed = json.loads(output)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ServerError(f"`scimbridge {command} --json` printed no JSON object")
    return parsed


@contextmanager
def _serving(
    env: dict[str, str], port: int, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``scimbridge serve`` in its own process group, and stop it on exit."""
    command = [sys.executable, "-m", "scimbridge", "serve"]
    command += ["--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        # A new session makes the server the leader of a process group, so
        # that stopping it also stops any worker process it spawns.
        process = subprocess.Popen(  # noqa: S603 (fixed command, no shell)
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    logger.info("scimbridge started pid=%s port=%s", process.pid, port)
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        logger.warning(
            "scimbridge still running %.0f s after SIGTERM, sending SIGKILL pid=%s",
            STOP_TIMEOUT,
            process.pid,
        )
        _signal_group(process, signal.SIGKILL)
        process.wait()
    logger.info(
        "scimbridge stopped pid=%s exit_code=%s", process.pid, process.returncode
    )


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


def _wait_until_ready(
    url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    """Poll ``url`` until the server returns any HTTP response.

    A 401 counts as ready, because it proves the application is serving.
    Proxy settings from the environment are ignored, so the probe goes
    straight to loopback.
    """
    deadline = time.monotonic() + timeout
    with httpx2.Client(timeout=2.0, trust_env=False) as client:
        while True:
            exit_code = process.poll()
            if exit_code is not None:
                raise ServerError(
                    f"scimbridge serve exited with code {exit_code} before "
                    f"responding; its log ends with:\n{_log_tail(log_path)}"
                )

            try:
                response = client.get(url)
            except httpx2.TransportError:
                if time.monotonic() >= deadline:
                    raise ServerError(
                        f"scimbridge did not respond to GET {url} within "
                        f"{timeout:.0f} s; its log ends with:\n{_log_tail(log_path)}"
                    ) from None
                time.sleep(POLL_INTERVAL)
                continue

            logger.info("scimbridge ready url=%s status=%s", url, response.status_code)
            return


def _log_tail(log_path: Path) -> str:
    return _tail(log_path.read_text(errors="replace"), LOG_TAIL_LINES)


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])
