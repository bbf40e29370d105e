"""Load-test scimbridge on SQLite and PostgreSQL next to scim2-server's test server.

Run from the repository root::

    python -m bench.scim_load --output bench-results.json
    python -m bench.scim_load --scale --output bench-scale.json

Each server runs in its own subprocess on 127.0.0.1 and is stopped at the
end. Every phase stops after ``--requests`` requests or ``--seconds``
seconds, and seeding after ``--seed-seconds``, so a run has a fixed upper
bound on its duration, printed at the start.
"""

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.databases import (
    PostgresBackends,
    asyncpg_dsn,
    create_orgs,
    create_schema,
    recreate_postgres_database,
    sqlite_url,
)
from bench.load import machine_description, package_versions
from bench.profiling import py_spy_path
from bench.report import summary
from bench.revision import describe_source
from bench.scale import ScaleConfig, ScaleRun, run_scale
from bench.servers import (
    RunningServer,
    ServerSpec,
    reference_spec,
    scimbridge_spec,
)
from bench.workload import (
    BACKGROUND_SAMPLE_SECONDS,
    OPERATIONS,
    WARMUP_SHARE,
    ScimWorkload,
    ServerRun,
    WorkloadConfig,
)

SERVERS = ("sqlite", "postgresql", "reference")
REFERENCE_TOKEN = "bench-reference-token"
STARTUP_ALLOWANCE_SECONDS = 30
SCALE_PHASES = 4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scim_load",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )

    workload = parser.add_argument_group("workload")
    workload.add_argument(
        "--users", type=int, default=10_000, help="users to create per server"
    )
    workload.add_argument(
        "--connections",
        type=int,
        default=8,
        help="concurrent client connections and workers",
    )
    workload.add_argument(
        "--requests",
        type=int,
        default=3000,
        help="maximum measured requests per operation after the creates",
    )
    workload.add_argument(
        "--seconds",
        type=float,
        default=20.0,
        help="time limit per operation after the creates, in seconds",
    )
    workload.add_argument(
        "--seed-seconds",
        type=float,
        default=130.0,
        help="time limit for creating the users (or seeding with --scale), in seconds",
    )

    servers = parser.add_argument_group("servers")
    servers.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help="comma-separated servers to run: sqlite, postgresql, reference",
    )
    servers.add_argument(
        "--workers",
        default="1",
        help="comma-separated uvicorn worker counts for scimbridge, e.g. 1,2",
    )
    servers.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL without a database name",
    )
    servers.add_argument(
        "--database",
        default="scimbridge_bench",
        help="PostgreSQL database to drop and recreate for the run",
    )
    servers.add_argument(
        "--max-results",
        type=int,
        default=1000,
        help="SCIMBRIDGE_SCIM_MAX_RESULTS of the scimbridge servers",
    )
    servers.add_argument(
        "--app",
        default="scimbridge.app:create_app",
        help="ASGI application factory that uvicorn serves for scimbridge, to "
        "measure a variant; its module must be importable (set PYTHONPATH)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--output", type=Path, help="also write the results as JSON to this file"
    )
    output.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="sample each server with py-spy during each phase and write the "
        "profiles to DIR; profiling costs CPU, so compare only unprofiled numbers",
    )

    scale = parser.add_argument_group("scale scenario")
    scale.add_argument(
        "--scale",
        action="store_true",
        help="instead of the default run, time userName eq on PostgreSQL with "
        "one large org among many",
    )
    scale.add_argument(
        "--scale-users",
        type=int,
        default=100_000,
        help="users in the organization that is filtered",
    )
    scale.add_argument("--scale-orgs", type=int, default=50, help="other organizations")
    scale.add_argument(
        "--scale-org-users",
        type=int,
        default=10_000,
        help="users in each other organization",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)

    args.server_names = [
        name.strip() for name in args.servers.split(",") if name.strip()
    ]
    unknown = sorted(set(args.server_names) - set(SERVERS))
    if unknown:
        parser.error(f"unknown server {', '.join(unknown)}: use {', '.join(SERVERS)}")

    args.worker_counts = [int(count) for count in args.workers.split(",") if count]
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers needs one or more counts of at least 1")
    return args


def time_bound_seconds(args: argparse.Namespace) -> float:
    """Return the longest a run can take, from the per-phase limits.

    Each measured phase may take ``--seconds``, and the warm-up before it a
    share of that. Requests still in flight at a time limit may add up to the
    client timeout, which this bound leaves out.
    """
    seed_seconds: float = args.seed_seconds
    seconds: float = args.seconds
    if args.scale:
        phases = SCALE_PHASES * (1 + WARMUP_SHARE) * seconds
        return seed_seconds + phases + STARTUP_ALLOWANCE_SECONDS
    runs = sum(
        1 if name == "reference" else len(args.worker_counts)
        for name in args.server_names
    )
    phases = len(OPERATIONS)
    warm_ups = (phases + 1) * WARMUP_SHARE * seconds
    samples = phases * BACKGROUND_SAMPLE_SECONDS
    per_server = seed_seconds + phases * seconds + warm_ups + samples
    return runs * (per_server + STARTUP_ALLOWANCE_SECONDS)


async def _prepare_scimbridge(
    name: str, workers: int, args: argparse.Namespace, work_dir: Path
) -> tuple[ServerSpec, str]:
    suffix = "" if workers == 1 else f"_{workers}w"
    if name == "sqlite":
        url = sqlite_url(work_dir / f"scimbridge{suffix}.db")
    else:
        database = f"{args.database}{suffix}"
        url = await recreate_postgres_database(args.postgres_url, database)
    schema = await create_schema(url)
    (org,) = await create_orgs(url, ["bench"])
    label = f"scimbridge-{name}" + suffix.replace("_", "-")
    spec = scimbridge_spec(label, url, org.token, workers, args.max_results, args.app)
    return spec, schema


async def _start_workloads(
    args: argparse.Namespace,
    config: WorkloadConfig,
    work_dir: Path,
    stack: AsyncExitStack,
) -> list[ScimWorkload]:
    workloads = []
    for name in args.server_names:
        worker_counts = [None] if name == "reference" else args.worker_counts
        for workers in worker_counts:
            schema = None
            database = None
            if workers is None:
                spec = reference_spec(REFERENCE_TOKEN)
            else:
                spec, schema = await _prepare_scimbridge(name, workers, args, work_dir)
            if name == "postgresql":
                database = PostgresBackends(spec.env["SCIMBRIDGE_DATABASE_URL"])
            print(f"{spec.name}: starting on {spec.base_url}", flush=True)
            server = await stack.enter_async_context(RunningServer(spec, work_dir))
            run = ServerRun(spec.name, workers, args.users, schema=schema)
            workload = ScimWorkload(server, config, run, database)
            workloads.append(await stack.enter_async_context(workload))
    return workloads


async def run_default(args: argparse.Namespace, work_dir: Path) -> list[ServerRun]:
    """Start every server, seed each in turn, then measure them side by side.

    Each operation runs on every server in turn before the next operation
    starts. A burst of CPU use by other users of the machine then falls on all
    servers' numbers for an operation more evenly than if each server ran its
    whole workload alone.
    """
    config = WorkloadConfig(
        users=args.users,
        connections=args.connections,
        requests=args.requests,
        seconds=args.seconds,
        seed_seconds=args.seed_seconds,
        profile_dir=args.profile,
    )
    if args.profile:
        py_spy_path()
        args.profile.mkdir(parents=True, exist_ok=True)

    async with AsyncExitStack() as stack:
        workloads = await _start_workloads(args, config, work_dir, stack)
        for workload in workloads:
            await workload.seed()
        for operation in OPERATIONS:
            for workload in workloads:
                await workload.measure(operation)
    return [workload.run for workload in workloads]


async def postgres_version(server_url: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(server_url + "/postgres"))
    try:
        version: str = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    return version


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bound = time_bound_seconds(args)
    print(f"upper bound on run time: {bound / 60:.1f} min", flush=True)
    machine: dict[str, Any] = machine_description()
    machine["postgresql"] = await postgres_version(args.postgres_url)
    source = describe_source()

    work_dir = Path(tempfile.mkdtemp(prefix="scim-load-"))
    started = time.monotonic()
    runs: list[ServerRun] = []
    scale: ScaleRun | None = None
    try:
        if args.scale:
            scale = await run_scale(_scale_config(args), work_dir)
        else:
            runs = await run_default(args, work_dir)
    finally:
        for database in work_dir.glob("*.db*"):
            database.unlink()
    elapsed = time.monotonic() - started

    report, checks = summary(runs, scale)
    print()
    print(report)
    print(f"Run time: {elapsed / 60:.1f} min. Server logs: {work_dir}")
    if args.output:
        document = {
            "command": " ".join(["python -m bench.scim_load", *sys.argv[1:]]),
            "machine": machine,
            "scimbridge_source": source,
            "packages": package_versions(),
            "arguments": {k: v for k, v in vars(args).items() if k != "output"},
            "run_seconds": elapsed,
            "runs": [run.to_json() for run in runs],
            "scale": scale.to_json() if scale else None,
            "targets": [vars(check) for check in checks],
        }
        args.output.write_text(json.dumps(document, indent=2, default=str))
    if not any(work_dir.iterdir()):
        shutil.rmtree(work_dir)
    return 0


def _scale_config(args: argparse.Namespace) -> ScaleConfig:
    return ScaleConfig(
        server_url=args.postgres_url,
        database=args.database,
        target_users=args.scale_users,
        other_orgs=args.scale_orgs,
        other_org_users=args.scale_org_users,
        connections=args.connections,
        requests=args.requests,
        seconds=args.seconds,
        seed_seconds=args.seed_seconds,
        workers=args.worker_counts[0],
        max_results=args.max_results,
        app=args.app,
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
