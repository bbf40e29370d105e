"""The SCIM workload: create users, then get, filter, list and PATCH them.

The same requests go to every server, so only the server differs between
runs. Random choices come from fixed seeds, so two runs send the same ids.
"""

import asyncio
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.databases import PostgresBackends
from bench.load import (
    Check,
    CpuMeters,
    Phase,
    PhaseResult,
    Request,
    background_cpu_percent,
    http_client,
    run_phase,
)
from bench.profiling import Profiler
from bench.servers import RunningServer

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE_SIZE = 100
WARMUP_REQUESTS = 50
"""Unmeasured requests before each read phase, so that statement caches and
connection pools are warm when timing starts."""
WARMUP_SHARE = 0.25
"""Time limit of a warm-up, as a share of the phase's time limit."""
CHECK_EVERY = 10
"""Parse every tenth get and list body, to leave the shared cores to the server."""
MEMORY_SAMPLE_SECONDS = 1.0
BACKGROUND_SAMPLE_SECONDS = 1.0
OPERATIONS = ("discovery", "get", "filter", "list", "patch")
"""The operations measured after the creates, in the order they run."""


def user_name(index: int, domain: str = "example.com") -> str:
    return f"bench.user{index:07d}@{domain}"


def user_payload(index: int, domain: str = "example.com") -> dict[str, Any]:
    """Return a User as an IdP provisions it: names, one work email, an externalId."""
    family = f"User{index:07d}"
    name = {"givenName": "Ada", "familyName": family, "formatted": f"Ada {family}"}
    email = {"value": user_name(index, domain), "type": "work", "primary": True}
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name(index, domain),
        "externalId": f"ext-{index:07d}",
        "name": name,
        "displayName": f"Ada {family}",
        "active": True,
        "emails": [email],
    }


@dataclass(frozen=True)
class WorkloadConfig:
    """Bounds of one server's run."""

    users: int
    connections: int
    requests: int
    seconds: float
    seed_seconds: float
    profile_dir: Path | None = None
    """Directory for one py-spy profile per phase, or None to run without profiling."""


@dataclass
class ServerRun:
    """Everything measured on one server."""

    server: str
    workers: int | None
    users_requested: int
    users_created: int = 0
    phases: list[PhaseResult] = field(default_factory=list)
    rss_bytes: dict[str, int] = field(default_factory=dict)
    """Server RSS at phase boundaries: started, after_create, after_get, …"""
    list_rss_trace: list[tuple[int, int]] = field(default_factory=list)
    """(users listed so far, server RSS) sampled during the list phase."""
    schema: str | None = None
    profiles: dict[str, str] = field(default_factory=dict)
    """Operation name to the py-spy raw profile file of that phase."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def cpu_meters(
    server: RunningServer, database: PostgresBackends | None
) -> CpuMeters:
    """Return meters for the server and, on PostgreSQL, its current backends."""
    if database is None:
        return CpuMeters(server.cpu_seconds)
    await database.refresh()
    return CpuMeters(server.cpu_seconds, database.cpu_seconds)


class ScimWorkload:
    """Run the workload's operations, in order, against one started server."""

    def __init__(
        self,
        server: RunningServer,
        config: WorkloadConfig,
        run: ServerRun,
        database: PostgresBackends | None = None,
    ) -> None:
        self.server = server
        self.database = database
        self.config = config
        self.run = run
        self.ids: list[str | None] = [None] * config.users
        self.created: list[int] = []

    async def __aenter__(self) -> "ScimWorkload":
        spec = self.server.spec
        self.client = http_client(spec.base_url, spec.token, self.config.connections)
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)

    async def seed(self) -> None:
        """Create the users over HTTP; this is the measured create operation."""
        self._record_rss("started")
        await self._warm_up_connections(self.client)
        await self._create(self.client)
        self.created = [index for index, id_ in enumerate(self.ids) if id_]
        self.run.users_created = len(self.created)
        self._record_rss("after_create")

    async def measure(self, operation: str) -> None:
        """Measure one of :data:`OPERATIONS` on the users that :meth:`seed` made."""
        if not self.created:
            return
        client = self.client
        if operation == "discovery":
            await self._measure(client, self._discovery_phase())
        elif operation == "get":
            await self._measure(client, self._get_phase(self.created))
        elif operation == "filter":
            await self._measure(client, self._filter_phase(self.created))
        elif operation == "list":
            await self._list(client, len(self.created))
        elif operation == "patch":
            phase = self._patch_phase(self.created)
            await self._measure(client, phase, warm_up=False)
        else:
            raise ValueError(f"unknown operation {operation!r}: use {OPERATIONS}")
        self._record_rss(f"after_{operation}")

    def _record_rss(self, moment: str) -> None:
        self.run.rss_bytes[moment] = self.server.rss_bytes()

    async def _measure(
        self, client: httpx.AsyncClient, phase: Phase, *, warm_up: bool = True
    ) -> PhaseResult:
        connections = self.config.connections
        if warm_up:
            warm = Phase(
                phase.operation,
                phase.send,
                phase.check,
                max_requests=WARMUP_REQUESTS,
                max_seconds=WARMUP_SHARE * self.config.seconds,
            )
            await run_phase(
                client, warm, connections, CpuMeters(self.server.cpu_seconds)
            )
        background = await background_cpu_percent(BACKGROUND_SAMPLE_SECONDS)
        meters = await cpu_meters(self.server, self.database)
        profiler = self._start_profiler(phase)
        try:
            result = await run_phase(client, phase, connections, meters)
        finally:
            if profiler is not None:
                profiler.stop()
        result.background_cpu_percent = background
        self.run.phases.append(result)
        print(
            f"  {self.run.server:<26} {result.operation:<9} {result.requests:>6} req "
            f"{result.ops_per_second:8.1f}/s p50 {result.p50_ms:7.1f} ms "
            f"p99 {result.p99_ms:7.1f} ms errors {result.errors}",
            flush=True,
        )
        return result

    def _start_profiler(self, phase: Phase) -> Profiler | None:
        if self.config.profile_dir is None:
            return None
        output = self.config.profile_dir / f"{self.run.server}-{phase.operation}.txt"
        self.run.profiles[phase.operation] = str(output)
        return Profiler(self.server.pid, output, phase.max_seconds)

    # Operations

    async def _warm_up_connections(self, client: httpx.AsyncClient) -> None:
        """Send unmeasured authenticated requests before the creates.

        They open the client's connections and the server's database pool, so
        the PostgreSQL backends exist when the create phase counts their CPU.
        """

        async def send(http: httpx.AsyncClient, _i: int) -> httpx.Response:
            return await http.get("/Users", params={"count": 0})

        def check(_i: int, response: httpx.Response) -> bool:
            return response.status_code == 200

        warm = Phase(
            "connections",
            send,
            check,
            max_requests=WARMUP_REQUESTS,
            max_seconds=WARMUP_SHARE * self.config.seconds,
        )
        meters = CpuMeters(self.server.cpu_seconds)
        await run_phase(client, warm, self.config.connections, meters)

    async def _create(self, client: httpx.AsyncClient) -> None:
        async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
            return await http.post("/Users", json=user_payload(i))

        def check(i: int, response: httpx.Response) -> bool:
            if response.status_code != 201:
                return False
            self.ids[i] = response.json()["id"]
            return True

        phase = Phase(
            "create",
            send,
            check,
            max_requests=self.config.users,
            max_seconds=self.config.seed_seconds,
        )
        await self._measure(client, phase, warm_up=False)

    def _discovery_phase(self) -> Phase:
        """GET /ServiceProviderConfig: no token check and no database.

        Its rate is the ceiling that the HTTP stack, the framework and this
        load generator allow on the machine, against which the other
        operations can be read.
        """

        async def send(http: httpx.AsyncClient, _i: int) -> httpx.Response:
            return await http.get("/ServiceProviderConfig")

        def check(_i: int, response: httpx.Response) -> bool:
            return response.status_code == 200

        return self._phase("discovery", send, check)

    def _get_phase(self, created: list[int]) -> Phase:
        rng = random.Random(1)
        targets = [rng.choice(created) for _ in range(self.config.requests)]

        async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
            return await http.get(f"/Users/{self.ids[targets[i]]}")

        def check(i: int, response: httpx.Response) -> bool:
            if response.status_code != 200:
                return False
            return i % CHECK_EVERY != 0 or response.json()["id"] == self.ids[targets[i]]

        return self._phase("get", send, check)

    def _filter_phase(self, created: list[int]) -> Phase:
        rng = random.Random(2)
        targets = [rng.choice(created) for _ in range(self.config.requests)]

        async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
            query = f'userName eq "{user_name(targets[i])}"'
            return await http.get("/Users", params={"filter": query})

        def check(i: int, response: httpx.Response) -> bool:
            if response.status_code != 200:
                return False
            body = response.json()
            resources = body.get("Resources") or []
            return (
                body.get("totalResults") == 1
                and len(resources) == 1
                and resources[0].get("userName", "").lower() == user_name(targets[i])
            )

        return self._phase("filter", send, check)

    async def _list(self, client: httpx.AsyncClient, total: int) -> None:
        rng = random.Random(3)
        last_start = max(total - PAGE_SIZE + 1, 1)
        starts = [rng.randint(1, last_start) for _ in range(self.config.requests)]
        completed = 0

        async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
            params = {"startIndex": starts[i], "count": PAGE_SIZE}
            return await http.get("/Users", params=params)

        def check(i: int, response: httpx.Response) -> bool:
            if response.status_code != 200:
                return False
            if i % CHECK_EVERY != 0:
                return True
            body = response.json()
            expected = min(PAGE_SIZE, total - starts[i] + 1)
            return (
                body.get("totalResults") == total
                and len(body.get("Resources") or []) == expected
            )

        def count_completed(_i: int) -> None:
            nonlocal completed
            completed += 1

        phase = self._phase("list", send, check)
        phase.on_progress = count_completed
        sampler = asyncio.create_task(self._sample_rss(lambda: completed * PAGE_SIZE))
        try:
            await self._measure(client, phase)
        finally:
            sampler.cancel()
        self.run.list_rss_trace.append((completed * PAGE_SIZE, self.server.rss_bytes()))

    async def _sample_rss(self, users_listed: Callable[[], int]) -> None:
        while True:
            self.run.list_rss_trace.append((users_listed(), self.server.rss_bytes()))
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)

    def _patch_phase(self, created: list[int]) -> Phase:
        order = list(created)
        random.Random(4).shuffle(order)

        def body(i: int) -> dict[str, Any]:
            # The first pass over the users sets active to false and the next
            # one back to true, so that every PATCH changes the stored user.
            active = (i // len(order)) % 2 == 1
            operation = {"op": "replace", "path": "active", "value": active}
            return {"schemas": [PATCH_SCHEMA], "Operations": [operation]}

        async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
            user_id = self.ids[order[i % len(order)]]
            return await http.patch(f"/Users/{user_id}", json=body(i))

        def check(_i: int, response: httpx.Response) -> bool:
            return response.status_code in (200, 204)

        return self._phase("patch", send, check)

    def _phase(self, operation: str, send: Request, check: Check) -> Phase:
        return Phase(
            operation,
            send,
            check,
            max_requests=self.config.requests,
            max_seconds=self.config.seconds,
        )
