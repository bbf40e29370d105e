"""The --scale scenario: ``userName eq`` on PostgreSQL with many users and orgs.

Rows go straight into the ``users`` table with COPY, since 600,000 creates
over HTTP would take far longer than the filters being measured. The stored
attributes are exactly what a POST /Users of the same payload stores, which
the seeding checks on one user before it starts.
"""

import json
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from scim2_models import Context, ScimFilter
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from bench.databases import (
    BenchOrg,
    PostgresBackends,
    asyncpg_dsn,
    create_orgs,
    create_schema,
    recreate_postgres_database,
)
from bench.load import (
    CpuMeters,
    Phase,
    PhaseResult,
    background_cpu_percent,
    http_client,
    run_phase,
)
from bench.servers import RunningServer, scimbridge_spec
from bench.workload import (
    BACKGROUND_SAMPLE_SECONDS,
    PAGE_SIZE,
    WARMUP_REQUESTS,
    WARMUP_SHARE,
    cpu_meters,
    user_name,
    user_payload,
)
from scimbridge.directory.models import user_name_key
from scimbridge.scim.resources import user_document
from scimbridge.storage import filtering
from scimbridge.storage.tables import UserRow

USERS = UserRow.__table__
USERS_TABLE = UserRow.__tablename__
COPY_BATCH_ROWS = 20_000
EXPLAIN_SAMPLES = 5


@dataclass(frozen=True)
class ScaleConfig:
    server_url: str
    database: str
    target_users: int
    other_orgs: int
    other_org_users: int
    connections: int
    requests: int
    seconds: float
    seed_seconds: float
    workers: int
    max_results: int
    app: str


@dataclass
class ScaleRun:
    """Results of the scale scenario."""

    target_users: int = 0
    other_orgs: int = 0
    other_org_users: int = 0
    total_rows: int = 0
    seed_seconds: float = 0.0
    schema: str | None = None
    phases: list[PhaseResult] = field(default_factory=list)
    explain: list[dict[str, Any]] = field(default_factory=list)
    rss_bytes: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def org_domain(org_number: int) -> str:
    """Return the email domain of organization ``org_number`` (0 is the large one)."""
    return "example.com" if org_number == 0 else f"org{org_number:02d}.example.com"


def _check_stored_document() -> None:
    payload = user_payload(0)
    stored = user_document(payload, Context.RESOURCE_CREATION_REQUEST)
    if stored != payload:
        raise RuntimeError(
            "seeded attributes differ from what POST /Users stores, so update "
            f"user_payload: stored {stored!r}, seeded {payload!r}"
        )


def _rows(org: BenchOrg, domain: str, count: int) -> Iterator[tuple[Any, ...]]:
    org_id = uuid.UUID(org.id)
    start = datetime.now(UTC) - timedelta(days=1)
    for index in range(count):
        payload = user_payload(index, domain)
        created = start + timedelta(microseconds=index)
        yield (
            org_id,
            uuid.uuid4(),
            payload["userName"],
            user_name_key(payload["userName"]),
            payload["externalId"],
            payload["displayName"],
            True,
            json.dumps(payload),
            1,
            created,
            created,
        )


def _batches(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == COPY_BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


async def seed_users(
    database_url: str, plan: list[tuple[BenchOrg, str, int]], seconds: float
) -> int:
    """COPY the planned users into the table and return the number written.

    Seeding stops between two batches once ``seconds`` have passed.
    """
    _check_stored_document()
    deadline = time.monotonic() + seconds
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        written = await _copy_users(connection, plan, deadline)
        # Autovacuum would get to the new rows later. Until it does, count(*)
        # cannot use an index-only scan, so the measurement would not show the
        # steady state that a table reaches.
        await connection.execute(f"VACUUM ANALYZE {USERS_TABLE}")
    finally:
        await connection.close()
    return written


async def _copy_users(
    connection: Any, plan: list[tuple[BenchOrg, str, int]], deadline: float
) -> int:
    columns = [column.name for column in USERS.columns]
    written = 0
    for org, domain, count in plan:
        for batch in _batches(_rows(org, domain, count)):
            if time.monotonic() > deadline:
                return written
            await connection.copy_records_to_table(
                USERS_TABLE, records=batch, columns=columns
            )
            written += len(batch)
    return written


async def explain_filter(
    database_url: str, org: BenchOrg, names: list[str], max_results: int
) -> list[dict[str, Any]]:
    """EXPLAIN ANALYZE the two statements scimbridge sends for ``userName eq``.

    The statements are built with scimbridge's own filter and ORDER BY
    functions, so the plans are those of the running server.
    """
    plans = []
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        for name in names:
            node = ScimFilter(f'userName eq "{name}"').ast
            condition = (USERS.c.org_id == uuid.UUID(org.id)) & (
                filtering.user_condition(node, "postgresql")
            )
            order = filtering.user_order(None, False, "postgresql")
            statements = {
                "count": select(func.count()).select_from(USERS).where(condition),
                "page": select(USERS)
                .where(condition)
                .order_by(*order)
                .limit(max_results),
            }
            for label, statement in statements.items():
                sql, params = _positional(statement)
                rows = await connection.fetch(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *params
                )
                plan = json.loads(rows[0][0])[0]
                plans.append(
                    {
                        "statement": label,
                        "user_name": name,
                        "execution_ms": plan["Execution Time"],
                        "planning_ms": plan["Planning Time"],
                        "indexes": sorted(_index_names(plan["Plan"])),
                    }
                )
    finally:
        await connection.close()
    return plans


def _positional(statement: Any) -> tuple[str, list[Any]]:
    dialect = postgresql.asyncpg.dialect(  # type: ignore[no-untyped-call]
        paramstyle="numeric_dollar"
    )
    compiled = statement.compile(dialect=dialect)
    params = compiled.params
    return str(compiled), [params[name] for name in compiled.positiontup]


def _index_names(node: dict[str, Any]) -> set[str]:
    found = {node["Index Name"]} if "Index Name" in node else set()
    for child in node.get("Plans", []):
        found |= _index_names(child)
    return found


async def run_scale(config: ScaleConfig, log_dir: Path) -> ScaleRun:
    """Seed the orgs, start scimbridge on PostgreSQL and time filters over HTTP."""
    result = ScaleRun()
    url = await recreate_postgres_database(config.server_url, config.database)
    result.schema = await create_schema(url)
    slugs = ["scale-target"] + [
        f"scale-other-{number:02d}" for number in range(1, config.other_orgs + 1)
    ]
    orgs = await create_orgs(url, slugs)
    plan = [(orgs[0], org_domain(0), config.target_users)] + [
        (org, org_domain(number), config.other_org_users)
        for number, org in enumerate(orgs[1:], start=1)
    ]

    started = time.perf_counter()
    result.total_rows = await seed_users(url, plan, config.seed_seconds)
    result.seed_seconds = time.perf_counter() - started
    result.target_users = min(result.total_rows, config.target_users)
    result.other_orgs = config.other_orgs
    result.other_org_users = config.other_org_users
    print(
        f"  seeded {result.total_rows} users in {result.seed_seconds:.0f} s",
        flush=True,
    )
    if result.total_rows < sum(count for _, _, count in plan):
        print("  seeding hit --seed-seconds; the table is smaller than planned")

    spec = scimbridge_spec(
        "scale-postgresql",
        url,
        orgs[0].token,
        config.workers,
        config.max_results,
        config.app,
    )
    database = PostgresBackends(url)
    async with RunningServer(spec, log_dir) as server:
        result.rss_bytes["after_seed"] = server.rss_bytes()
        # One connection shows the latency of a lone request; the configured
        # number adds the queueing of concurrent requests on top.
        measured = [
            ("filter_target", orgs[0], org_domain(0), result.target_users, 1),
            ("filter_target", orgs[0], org_domain(0), result.target_users, None),
            ("filter_other", orgs[1], org_domain(1), config.other_org_users, None),
        ]
        for label, org, domain, count, connections in measured:
            if count == 0:
                continue
            phase = _filter_phase(label, domain, count, config)
            connections = connections or config.connections
            result.phases.append(await _run(server, database, org, phase, connections))
        if result.target_users >= PAGE_SIZE:
            phase = _list_phase(result.target_users, config)
            result.phases.append(
                await _run(server, database, orgs[0], phase, config.connections)
            )
        result.rss_bytes["after_filters"] = server.rss_bytes()

    rng = random.Random(7)
    names = [
        user_name(rng.randrange(result.target_users), org_domain(0))
        for _ in range(EXPLAIN_SAMPLES)
    ]
    result.explain = await explain_filter(url, orgs[0], names, config.max_results)
    return result


async def _run(
    server: RunningServer,
    database: PostgresBackends,
    org: BenchOrg,
    phase: Phase,
    connections: int,
) -> PhaseResult:
    client = http_client(server.spec.base_url, org.token, connections)
    async with client:
        warm = Phase(
            phase.operation,
            phase.send,
            phase.check,
            max_requests=WARMUP_REQUESTS,
            max_seconds=WARMUP_SHARE * phase.max_seconds,
        )
        await run_phase(client, warm, connections, CpuMeters(server.cpu_seconds))
        background = await background_cpu_percent(BACKGROUND_SAMPLE_SECONDS)
        meters = await cpu_meters(server, database)
        result = await run_phase(client, phase, connections, meters)
        result.background_cpu_percent = background
    print(
        f"  {result.operation:<14} {connections:>2} conn {result.requests:>6} req "
        f"{result.ops_per_second:8.1f}/s p50 {result.p50_ms:7.1f} ms "
        f"p99 {result.p99_ms:7.1f} ms errors {result.errors}",
        flush=True,
    )
    return result


def _filter_phase(label: str, domain: str, users: int, config: ScaleConfig) -> Phase:
    rng = random.Random(5)
    targets = [rng.randrange(users) for _ in range(config.requests)]

    async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
        query = f'userName eq "{user_name(targets[i], domain)}"'
        return await http.get("/Users", params={"filter": query})

    def check(_i: int, response: httpx.Response) -> bool:
        return response.status_code == 200 and response.json()["totalResults"] == 1

    return Phase(label, send, check, config.requests, config.seconds)


def _list_phase(users: int, config: ScaleConfig) -> Phase:
    rng = random.Random(6)
    starts = [rng.randint(1, users - PAGE_SIZE + 1) for _ in range(config.requests)]

    async def send(http: httpx.AsyncClient, i: int) -> httpx.Response:
        params = {"startIndex": starts[i], "count": PAGE_SIZE}
        return await http.get("/Users", params=params)

    def check(_i: int, response: httpx.Response) -> bool:
        return response.status_code == 200

    return Phase("list_target", send, check, config.requests, config.seconds)
