"""A bounded closed-loop load generator: N workers sharing one HTTP client.

Each worker sends its next request as soon as the previous one returns, so
the number of requests in flight equals the number of workers. A phase ends
after a fixed number of requests or a time limit, whichever comes first.
"""

import asyncio
import math
import os
import platform
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata

import httpx
import psutil  # type: ignore[import-untyped]

Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]
"""Send request number ``i`` of a phase and return its response."""

Check = Callable[[int, httpx.Response], bool]
"""Return whether the response to request ``i`` is the expected one."""

CLIENT_TIMEOUT_SECONDS = 60.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile (``fraction`` in 0..1) of a sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(fraction * len(sorted_values)), 1)
    return sorted_values[rank - 1]


@dataclass(frozen=True)
class CpuMeters:
    """Functions that return CPU seconds used so far by the server under test.

    ``database`` covers the PostgreSQL backends serving the server. It is None
    for SQLite, which runs inside the server process, and for the reference.
    """

    server: Callable[[], float]
    database: Callable[[], float] | None = None


def machine_busy_seconds() -> float:
    """Return the CPU seconds all cores have spent busy since boot."""
    times = psutil.cpu_times()
    busy: float = times.user + times.nice + times.system
    return busy + getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0)


@dataclass
class CpuSnapshot:
    """CPU seconds used so far by the server, its database, this process and
    the whole machine."""

    server: float
    database: float | None
    client: float
    machine_busy: float

    @classmethod
    def take(cls, meters: CpuMeters) -> "CpuSnapshot":
        return cls(
            server=meters.server(),
            database=meters.database() if meters.database else None,
            client=time.process_time(),
            machine_busy=machine_busy_seconds(),
        )


@dataclass
class PhaseResult:
    """Throughput, latency and CPU use of one operation against one server.

    Latencies include the failed requests, which ``errors`` counts.
    """

    operation: str
    connections: int
    requests: int
    errors: int
    seconds: float
    ops_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float
    """Server CPU time per request, in milliseconds."""
    database_cpu_ms: float | None
    """PostgreSQL backend CPU time per request, in milliseconds."""
    client_cpu_ms: float
    """Load generator CPU time per request, in milliseconds."""
    machine_cpu_percent: float
    """Busy time of all cores together, in percent of one core (200 = 2 cores)."""
    stopped_by: str
    """``requests`` when the request count ran out, ``time`` at the time limit."""
    background_cpu_percent: float | None = None
    """Machine CPU busy just before the phase, in percent of one core."""
    first_error: str | None = None


@dataclass
class Phase:
    """One measured operation: what to send, how to check it and its bounds."""

    operation: str
    send: Request
    check: Check
    max_requests: int
    max_seconds: float
    on_progress: Callable[[int], None] | None = None
    latencies: list[float] = field(default_factory=list)


async def run_phase(
    client: httpx.AsyncClient,
    phase: Phase,
    connections: int,
    meters: CpuMeters,
) -> PhaseResult:
    """Run ``phase`` with ``connections`` concurrent workers and summarize it."""
    next_index = 0
    errors = 0
    first_error: str | None = None
    started = time.perf_counter()
    deadline = started + phase.max_seconds
    cpu_before = CpuSnapshot.take(meters)

    async def worker() -> None:
        nonlocal next_index, errors, first_error
        while next_index < phase.max_requests and time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            sent = time.perf_counter()
            try:
                response = await phase.send(client, index)
            except httpx.HTTPError as exc:
                response = None
                failure = f"{type(exc).__name__}: {exc}"
            phase.latencies.append(time.perf_counter() - sent)
            if response is not None:
                if phase.check(index, response):
                    failure = ""
                else:
                    failure = f"HTTP {response.status_code}: {response.text[:200]}"
            if failure:
                errors += 1
                first_error = first_error or failure
            if phase.on_progress is not None:
                phase.on_progress(index)

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    cpu_after = CpuSnapshot.take(meters)
    latencies = sorted(phase.latencies)
    requests = max(len(latencies), 1)

    def per_request_ms(before: float, after: float) -> float:
        return 1000.0 * (after - before) / requests

    database_cpu_ms = None
    if cpu_before.database is not None and cpu_after.database is not None:
        database_cpu_ms = per_request_ms(cpu_before.database, cpu_after.database)
    machine_busy = cpu_after.machine_busy - cpu_before.machine_busy

    return PhaseResult(
        operation=phase.operation,
        connections=connections,
        requests=len(latencies),
        errors=errors,
        seconds=elapsed,
        ops_per_second=len(latencies) / elapsed,
        p50_ms=1000 * percentile(latencies, 0.50),
        p99_ms=1000 * percentile(latencies, 0.99),
        max_ms=1000 * (latencies[-1] if latencies else math.nan),
        server_cpu_ms=per_request_ms(cpu_before.server, cpu_after.server),
        database_cpu_ms=database_cpu_ms,
        client_cpu_ms=per_request_ms(cpu_before.client, cpu_after.client),
        machine_cpu_percent=100.0 * machine_busy / elapsed,
        stopped_by="requests" if next_index >= phase.max_requests else "time",
        first_error=first_error,
    )


async def background_cpu_percent(seconds: float) -> float:
    """Measure the machine's busy CPU while this benchmark sends nothing.

    The result, in percent of one core, is the CPU that other users of the
    machine took just before a phase.
    """
    before = machine_busy_seconds()
    await asyncio.sleep(seconds)
    return 100.0 * (machine_busy_seconds() - before) / seconds


def http_client(base_url: str, token: str, connections: int) -> httpx.AsyncClient:
    """Build a client with a pool of ``connections`` keep-alive connections."""
    limits = httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/scim+json",
    }
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        limits=limits,
        timeout=CLIENT_TIMEOUT_SECONDS,
    )


PACKAGES = (
    "scimbridge",
    "scim2-server",
    "scim2-models",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "httpx",
)


def package_versions() -> dict[str, str]:
    """Return the installed version of each package the measurement depends on."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def machine_description() -> dict[str, str | int | float]:
    """Describe the host: cores, memory, load average, Python version."""
    memory = psutil.virtual_memory()
    load1, load5, load15 = os.getloadavg()
    return {
        "cpu_count": os.cpu_count() or 0,
        "cpu_model": _cpu_model(),
        "memory_total_gib": round(memory.total / 2**30, 1),
        "memory_available_gib": round(memory.available / 2**30, 1),
        "load_average": f"{load1:.2f} {load5:.2f} {load15:.2f}",
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
