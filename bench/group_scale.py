"""Measure group membership changes, a user import walk and group GETs at scale.

Run from the repository root::

    python -m bench.group_scale

It creates the PostgreSQL database ``scimbridge_groupbench``, migrates it,
copies 100,000 users of one organization straight into ``users`` and three
groups of 10, 10,000 and 100,000 members into ``group_members``. It then
starts scimbridge under uvicorn on 127.0.0.1 and, over one HTTP connection,
times:

- ``PATCH /Groups/{id}`` that removes one member and then adds it back, for
  each group size in turn, so the sizes stay the same throughout;
- ``GET /Groups/{id}?excludedAttributes=members`` on the smallest and largest
  group, and a few full GETs of both for comparison;
- an Okta-style import walk, ``GET /Users?startIndex=N&count=100`` for
  N = 1, 101, ... over every user, with the server's RSS sampled on the way.

Every loop stops after a fixed number of requests or a time limit, and the
run's upper bound is printed at the start. The database is dropped at the
end unless ``--keep-database`` is given. It prints Markdown tables.
"""

import argparse
import asyncio
import ipaddress
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from scim2_models import Context
from sqlalchemy.engine import make_url

from bench.databases import (
    BenchOrg,
    asyncpg_dsn,
    create_orgs,
    recreate_postgres_database,
)
from bench.load import (
    background_cpu_percent,
    http_client,
    machine_description,
    package_versions,
    percentile,
)
from bench.revision import describe_source
from bench.scale import seed_users
from bench.servers import RunningServer, scimbridge_spec
from scimbridge.config import Settings
from scimbridge.scim.resources import group_document, group_draft
from scimbridge.services import build_services
from scimbridge.storage.migrate import upgrade_database
from scimbridge.storage.tables import GroupMemberRow, UserRow

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_DOMAIN = "example.com"
MEMBERS_TABLE = GroupMemberRow.__tablename__
USERS_TABLE = UserRow.__tablename__
PAGE_SIZE = 100
COPY_BATCH_ROWS = 20_000
WARMUP_ROUNDS = 20
WALK_WARMUP_PAGES = 10
RSS_SAMPLE_PAGES = 100
MAX_RESULTS = 1000
STARTUP_ALLOWANCE_SECONDS = 60
MAX_USERS = 1_000_000
MAX_REQUESTS = 10_000


@dataclass(frozen=True)
class Config:
    server_url: str
    database: str
    users: int
    group_sizes: tuple[int, ...]
    patch_requests: int
    get_requests: int
    full_get_requests: int
    phase_seconds: float
    seed_seconds: float
    keep_database: bool


@dataclass
class Series:
    """Latencies of one request kind on one group, in milliseconds."""

    request: str
    members: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None

    def record(self, elapsed_ms: float, failure: str | None) -> None:
        self.latencies_ms.append(elapsed_ms)
        if failure:
            self.errors += 1
            self.first_error = self.first_error or failure

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.latencies_ms)
        return {
            "requests": len(ordered),
            "mean_ms": statistics.fmean(ordered),
            "p50_ms": percentile(ordered, 0.50),
            "p99_ms": percentile(ordered, 0.99),
            "max_ms": ordered[-1],
        }


@dataclass
class WalkResult:
    """The import walk over every user, one page after another."""

    pages: int = 0
    distinct_ids: int = 0
    seconds: float = 0.0
    stopped_by: str = "pages"
    page_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    rss_trace: list[tuple[int, int]] = field(default_factory=list)
    """Pairs of (pages fetched so far, server RSS in bytes), first before the walk."""


@dataclass
class Run:
    machine: dict[str, Any]
    packages: dict[str, str]
    source: str
    postgres_version: str = ""
    seed_seconds: float = 0.0
    users: int = 0
    group_sizes: list[int] = field(default_factory=list)
    background_cpu_percent: dict[str, float] = field(default_factory=dict)
    series: list[Series] = field(default_factory=list)
    walk: WalkResult = field(default_factory=WalkResult)
    final_group_sizes: dict[str, int] = field(default_factory=dict)
    rss_bytes: dict[str, int] = field(default_factory=dict)
    """Server RSS at phase boundaries: started, after_patch, after_gets."""
    load_average_end: str = ""


@dataclass(frozen=True)
class SeededGroup:
    id: str
    members: list[str]
    """Member user ids, in the order the users were created."""


def loopback_server_url(url: str) -> str:
    """Return ``url`` if it names a PostgreSQL server on this machine."""
    host = make_url(url).host or ""
    if host == "localhost":
        return url
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise ValueError(
            f"PostgreSQL host {host!r} is not a loopback address. "
            "This benchmark runs against 127.0.0.1 or ::1 only."
        )
    return url


# Seeding


async def create_groups(
    database_url: str, org: BenchOrg, sizes: tuple[int, ...]
) -> list[str]:
    """Create one empty group per size through scimbridge's services.

    Returns the group ids, in the order of ``sizes``.
    """
    services = build_services(Settings(database_url=database_url))
    ids = []
    try:
        for size in sizes:
            payload = {"schemas": [GROUP_SCHEMA], "displayName": f"bench-{size}"}
            document, _ = group_document(payload, Context.RESOURCE_CREATION_REQUEST)
            record = await services.directory.create_group(
                uuid.UUID(org.id), group_draft(document)
            )
            ids.append(str(record.id))
    finally:
        await services.close()
    return ids


async def seed_members(
    database_url: str, org: BenchOrg, group_ids: list[str], sizes: tuple[int, ...]
) -> list[SeededGroup]:
    """COPY the first ``size`` users, in creation order, into each group.

    Then run VACUUM ANALYZE on the users and members.
    """
    columns = [column.name for column in GroupMemberRow.__table__.columns]
    org_id = uuid.UUID(org.id)
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await connection.fetch(
            f"SELECT id FROM {USERS_TABLE} WHERE org_id = $1 "  # noqa: S608
            "ORDER BY created_at, id",
            org_id,
        )
        user_ids = [row["id"] for row in rows]
        groups = []
        for group_id, size in zip(group_ids, sizes, strict=True):
            if size > len(user_ids):
                raise RuntimeError(
                    f"a group of {size} members needs {size} users, "
                    f"but only {len(user_ids)} were seeded"
                )
            members = user_ids[:size]
            for start in range(0, size, COPY_BATCH_ROWS):
                batch = [
                    (org_id, uuid.UUID(group_id), member_id, "User")
                    for member_id in members[start : start + COPY_BATCH_ROWS]
                ]
                await connection.copy_records_to_table(
                    MEMBERS_TABLE, records=batch, columns=columns
                )
            groups.append(SeededGroup(group_id, [str(m) for m in members]))
        # COPY leaves the visibility map unset until autovacuum gets to the
        # tables, and without it the per-page count(*) of the user walk scans
        # the whole heap. VACUUM puts the tables in the state they settle in.
        await connection.execute(f"VACUUM ANALYZE {USERS_TABLE}, {MEMBERS_TABLE}")
    finally:
        await connection.close()
    return groups


async def count_members(database_url: str, groups: list[SeededGroup]) -> list[int]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return [
            await connection.fetchval(
                "SELECT count(*) FROM group_members WHERE group_id = $1",
                uuid.UUID(group.id),
            )
            for group in groups
        ]
    finally:
        await connection.close()


async def postgres_version(database_url: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def drop_database(server_url: str, database: str) -> None:
    admin_url = make_url(server_url).set(database="postgres")
    connection = await asyncpg.connect(asyncpg_dsn(admin_url.render_as_string(False)))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await connection.close()


# Measurement


Send = Callable[[], Awaitable[httpx.Response]]
Check = Callable[[httpx.Response], str | None]
"""Return None for the expected response, else what is wrong with it."""


async def timed(series: Series, send: Send, check: Check) -> None:
    """Send one request and record its latency and whether it failed."""
    started = time.perf_counter_ns()
    try:
        response = await send()
    except httpx.HTTPError as exc:
        elapsed_ms = (time.perf_counter_ns() - started) / 1e6
        series.record(elapsed_ms, f"{type(exc).__name__}: {exc}")
        return
    elapsed_ms = (time.perf_counter_ns() - started) / 1e6
    series.record(elapsed_ms, check(response))


def member_patch(op: str, member_id: str) -> dict[str, Any]:
    """Return a PatchOp that adds or removes one member.

    This is the RFC 7644 form, which Entra ID also sends when its tenant URL
    has the aadOptscim062020 flag (see docs/idp/entra-id.md).
    """
    if op == "add":
        operation = {"op": "add", "path": "members", "value": [{"value": member_id}]}
    else:
        operation = {"op": "remove", "path": f'members[value eq "{member_id}"]'}
    return {"schemas": [PATCH_SCHEMA], "Operations": [operation]}


def expect_no_content(response: httpx.Response) -> str | None:
    if response.status_code != 204:
        return f"expected 204, got HTTP {response.status_code}: {response.text[:200]}"
    return None


async def patch_members(
    http: httpx.AsyncClient, groups: list[SeededGroup], config: Config
) -> list[Series]:
    """Remove one member from each group and add it back, group after group.

    Interleaving the group sizes spreads drift in machine load evenly over
    them. The first rounds warm caches and are not recorded.
    """
    rng = random.Random(11)
    removes = [Series("PATCH remove member", len(g.members)) for g in groups]
    adds = [Series("PATCH add member", len(g.members)) for g in groups]
    scratch = Series("warm-up", 0)
    deadline = time.monotonic() + config.phase_seconds
    total_rounds = WARMUP_ROUNDS + config.patch_requests
    for round_number in range(total_rounds):
        if time.monotonic() > deadline:
            break
        warm = round_number < WARMUP_ROUNDS
        for index, group in enumerate(groups):
            member = group.members[rng.randrange(len(group.members))]
            path = f"/Groups/{group.id}"
            for op, series in (("remove", removes[index]), ("add", adds[index])):
                body = member_patch(op, member)

                async def send(
                    path: str = path, body: dict[str, Any] = body
                ) -> httpx.Response:
                    return await http.patch(path, json=body)

                await timed(scratch if warm else series, send, expect_no_content)
    if scratch.errors:
        raise RuntimeError(f"warm-up PATCH failed: {scratch.first_error}")
    return removes + adds


async def get_groups(
    http: httpx.AsyncClient,
    groups: list[SeededGroup],
    requests: int,
    seconds: float,
    *,
    with_members: bool,
) -> list[Series]:
    """GET each group in turn, with or without its members."""
    name = "GET group" if with_members else "GET group, excludedAttributes=members"
    params = {} if with_members else {"excludedAttributes": "members"}
    series = [Series(name, len(group.members)) for group in groups]
    scratch = Series("warm-up", 0)
    deadline = time.monotonic() + seconds
    # The full GETs are few and slow, so they get no warm-up rounds.
    warm_rounds = 0 if with_members else WARMUP_ROUNDS
    for round_number in range(warm_rounds + requests):
        if time.monotonic() > deadline:
            break
        warm = round_number < warm_rounds
        for group, target in zip(groups, series, strict=True):

            async def send(group: SeededGroup = group) -> httpx.Response:
                return await http.get(f"/Groups/{group.id}", params=params)

            def check(
                response: httpx.Response, size: int = len(group.members)
            ) -> str | None:
                if response.status_code != 200:
                    return f"HTTP {response.status_code}: {response.text[:200]}"
                members = response.json().get("members")
                if not with_members and members is not None:
                    return "members returned despite excludedAttributes=members"
                if with_members and len(members or []) != size:
                    return f"expected {size} members, got {len(members or [])}"
                return None

            await timed(scratch if warm else target, send, check)
    if scratch.errors:
        raise RuntimeError(f"warm-up GET failed: {scratch.first_error}")
    return series


async def walk_users(
    http: httpx.AsyncClient, server: RunningServer, users: int, seconds: float
) -> WalkResult:
    """Page through every user in order, 100 at a time, as an IdP import does."""
    result = WalkResult()
    for start_index in range(1, WALK_WARMUP_PAGES * PAGE_SIZE, PAGE_SIZE):
        await http.get("/Users", params={"startIndex": start_index, "count": PAGE_SIZE})
    result.rss_trace.append((0, server.rss_bytes()))

    seen: set[str] = set()
    started = time.perf_counter()
    deadline = started + seconds
    for start_index in range(1, users + 1, PAGE_SIZE):
        if time.perf_counter() > deadline:
            result.stopped_by = "time"
            break
        sent = time.perf_counter_ns()
        response = await http.get(
            "/Users", params={"startIndex": start_index, "count": PAGE_SIZE}
        )
        result.page_ms.append((time.perf_counter_ns() - sent) / 1e6)
        result.pages += 1
        failure = _check_page(response, start_index, users, seen)
        if failure:
            result.errors += 1
            result.first_error = result.first_error or failure
        if result.pages % RSS_SAMPLE_PAGES == 0:
            result.rss_trace.append((result.pages, server.rss_bytes()))
    result.seconds = time.perf_counter() - started
    if result.pages % RSS_SAMPLE_PAGES:
        result.rss_trace.append((result.pages, server.rss_bytes()))
    result.distinct_ids = len(seen)
    return result


def _check_page(
    response: httpx.Response, start_index: int, users: int, seen: set[str]
) -> str | None:
    if response.status_code != 200:
        return f"page {start_index}: HTTP {response.status_code}"
    body = response.json()
    resources = body.get("Resources", [])
    expected = min(PAGE_SIZE, users - start_index + 1)
    if body.get("totalResults") != users or len(resources) != expected:
        return (
            f"page {start_index}: totalResults {body.get('totalResults')}, "
            f"{len(resources)} resources; expected {users} and {expected}"
        )
    before = len(seen)
    seen.update(resource["id"] for resource in resources)
    if len(seen) - before != len(resources):
        return f"page {start_index}: a user id was already on an earlier page"
    return None


# The run


async def seed(config: Config, run: Run) -> tuple[str, BenchOrg, list[SeededGroup]]:
    url = await recreate_postgres_database(config.server_url, config.database)
    await asyncio.to_thread(upgrade_database, url)
    run.postgres_version = await postgres_version(url)
    (org,) = await create_orgs(url, ["group-scale"])

    started = time.perf_counter()
    written = await seed_users(
        url, [(org, USER_DOMAIN, config.users)], config.seed_seconds
    )
    if written < config.users:
        raise RuntimeError(
            f"seeding stopped at {written} of {config.users} users after "
            f"--seed-seconds {config.seed_seconds:g}. Raise it or lower --users."
        )
    group_ids = await create_groups(url, org, config.group_sizes)
    groups = await seed_members(url, org, group_ids, config.group_sizes)
    run.seed_seconds = time.perf_counter() - started
    run.users = written
    run.group_sizes = list(config.group_sizes)
    print(f"seeded {written} users and groups in {run.seed_seconds:.0f} s", flush=True)
    return url, org, groups


async def measure(
    config: Config, run: Run, url: str, org: BenchOrg, groups: list[SeededGroup]
) -> None:
    spec = scimbridge_spec("group-scale", url, org.token, 1, MAX_RESULTS)
    log_dir = Path(tempfile.mkdtemp(prefix="group-scale-"))
    small_and_large = [groups[0], groups[-1]]
    async with RunningServer(spec, log_dir) as server:
        run.rss_bytes["started"] = server.rss_bytes()
        async with http_client(spec.base_url, org.token, 1) as http:
            run.background_cpu_percent["patch"] = await background_cpu_percent(1.0)
            run.series += await patch_members(http, groups, config)
            run.rss_bytes["after_patch"] = server.rss_bytes()
            print("timed member PATCH", flush=True)

            run.background_cpu_percent["get"] = await background_cpu_percent(1.0)
            run.series += await get_groups(
                http,
                small_and_large,
                config.get_requests,
                config.phase_seconds,
                with_members=False,
            )
            run.series += await get_groups(
                http,
                small_and_large,
                config.full_get_requests,
                config.phase_seconds,
                with_members=True,
            )
            run.rss_bytes["after_gets"] = server.rss_bytes()
            print("timed group GET", flush=True)

            run.background_cpu_percent["walk"] = await background_cpu_percent(1.0)
            run.walk = await walk_users(http, server, run.users, config.phase_seconds)
            print(f"walked {run.walk.pages} pages", flush=True)
    sizes = await count_members(url, groups)
    run.final_group_sizes = {
        f"bench-{len(group.members)}": size
        for group, size in zip(groups, sizes, strict=True)
    }


async def run_benchmark(config: Config) -> Run:
    run = Run(
        machine=machine_description(),
        packages=package_versions(),
        source=describe_source(),
    )
    url, org, groups = await seed(config, run)
    try:
        await measure(config, run, url, org, groups)
    finally:
        if not config.keep_database:
            await drop_database(config.server_url, config.database)
    load1, load5, load15 = os.getloadavg()
    run.load_average_end = f"{load1:.2f} {load5:.2f} {load15:.2f}"
    return run


# Report


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def print_report(run: Run) -> None:
    machine = run.machine
    print(
        f"\n{machine['cpu_count']} CPUs ({machine['cpu_model']}), load average "
        f"{machine['load_average']} at start and {run.load_average_end} at the end; "
        f"shared with other test runs. PostgreSQL {run.postgres_version}, Python "
        f"{machine['python']}, one uvicorn worker, one HTTP connection. "
        f"Background CPU before the phases, in percent of one core: "
        + ", ".join(f"{k} {v:.0f}" for k, v in run.background_cpu_percent.items())
        + f". Seeding took {run.seed_seconds:.0f} s. Measured {run.source}.\n"
    )
    print(
        "| request | group members | requests | errors | mean (ms) | p50 (ms) | "
        "p99 (ms) | max (ms) | p50 vs smallest group | mean vs smallest group |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    smallest: dict[str, dict[str, float]] = {}
    for series in run.series:
        stats = series.summary()
        base = smallest.setdefault(series.request, stats)
        print(
            f"| {series.request} | {series.members:,} | {stats['requests']:.0f} | "
            f"{series.errors} | {stats['mean_ms']:.2f} | {stats['p50_ms']:.2f} | "
            f"{stats['p99_ms']:.2f} | {stats['max_ms']:.2f} | "
            f"{_ratio(stats['p50_ms'], base['p50_ms'])} | "
            f"{_ratio(stats['mean_ms'], base['mean_ms'])} |"
        )
    for series in run.series:
        if series.first_error:
            print(f"\nfirst error of {series.request}: {series.first_error}")
    print(f"\nmembers after the run: {run.final_group_sizes}")
    print(
        "server RSS: "
        + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in run.rss_bytes.items())
        + "\n"
    )
    print_walk(run.walk, run.users)


def print_walk(walk: WalkResult, users: int) -> None:
    ordered = sorted(walk.page_ms)
    first = walk.page_ms[:RSS_SAMPLE_PAGES]
    last = walk.page_ms[-RSS_SAMPLE_PAGES:]
    rss_mib = [rss / 2**20 for _, rss in walk.rss_trace]
    print(
        "| pages | users seen | distinct ids | errors | total (s) | pages/s | "
        "p50 (ms) | p99 (ms) | mean, first 100 pages (ms) | "
        "mean, last 100 pages (ms) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {walk.pages} | {min(walk.pages * PAGE_SIZE, users):,} | "
        f"{walk.distinct_ids:,} | {walk.errors} | {walk.seconds:.1f} | "
        f"{walk.pages / walk.seconds:.1f} | {percentile(ordered, 0.5):.1f} | "
        f"{percentile(ordered, 0.99):.1f} | {statistics.fmean(first):.1f} | "
        f"{statistics.fmean(last):.1f} |"
    )
    if walk.stopped_by == "time":
        print("\nthe walk stopped at --phase-seconds before reaching every user")
    if walk.first_error:
        print(f"\nfirst error of the walk: {walk.first_error}")
    print(
        f"\nserver RSS: {rss_mib[0]:.1f} MiB before the walk, "
        f"{max(rss_mib):.1f} MiB at most, {rss_mib[-1]:.1f} MiB after; "
        "every 100 pages (MiB): " + ", ".join(f"{value:.1f}" for value in rss_mib)
    )


# Command line


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.group_scale",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432",
        help="PostgreSQL server on this machine, without a database name",
    )
    parser.add_argument(
        "--database",
        default="scimbridge_groupbench",
        help="database to drop and recreate for the run",
    )
    parser.add_argument(
        "--users",
        type=bounded_int(10, MAX_USERS),
        default=100_000,
        help="users in the organization; the largest group contains all of them",
    )
    parser.add_argument(
        "--patch-requests",
        type=bounded_int(1, MAX_REQUESTS),
        default=200,
        help="timed member removals, and as many additions, per group",
    )
    parser.add_argument(
        "--get-requests",
        type=bounded_int(1, MAX_REQUESTS),
        default=200,
        help="timed GETs with excludedAttributes=members per group",
    )
    parser.add_argument(
        "--full-get-requests",
        type=bounded_int(0, 100),
        default=3,
        help="timed GETs with all members per group, for comparison",
    )
    parser.add_argument(
        "--phase-seconds",
        type=float,
        default=300.0,
        help="time limit of each phase (PATCH, each GET kind, walk), in seconds",
    )
    parser.add_argument(
        "--seed-seconds",
        type=float,
        default=600.0,
        help="time limit for copying the users, in seconds",
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="leave the seeded database in place after the run",
    )
    parser.add_argument(
        "--output", type=Path, help="also write the results as JSON to this file"
    )
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    try:
        server_url = loopback_server_url(args.postgres_url)
    except ValueError as exc:
        parser.error(str(exc))
    sizes = tuple(sorted({10, min(10_000, args.users), args.users}))
    config = Config(
        server_url=server_url,
        database=args.database,
        users=args.users,
        group_sizes=sizes,
        patch_requests=args.patch_requests,
        get_requests=args.get_requests,
        full_get_requests=args.full_get_requests,
        phase_seconds=args.phase_seconds,
        seed_seconds=args.seed_seconds,
        keep_database=args.keep_database,
    )
    bound = config.seed_seconds + 4 * config.phase_seconds + STARTUP_ALLOWANCE_SECONDS
    print(f"upper bound on the run time: about {bound / 60:.0f} min", flush=True)
    run = asyncio.run(run_benchmark(config))
    print_report(run)
    if args.output is not None:
        args.output.write_text(json.dumps(asdict(run), indent=2) + "\n")


if __name__ == "__main__":
    main()
