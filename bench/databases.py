"""Fresh databases for each benchmark run, with the schema and one organization."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import psutil  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from scimbridge.config import Settings
from scimbridge.services import build_services
from scimbridge.storage.tables import Base


@dataclass(frozen=True)
class BenchOrg:
    """An organization created for the benchmark, with one SCIM bearer token."""

    id: str
    slug: str
    token: str


def asyncpg_dsn(database_url: str) -> str:
    """Turn a ``postgresql+asyncpg://`` SQLAlchemy URL into a plain libpq DSN."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    """Return the URL of a new, empty SQLite file at ``path``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path}"


async def recreate_postgres_database(server_url: str, database: str) -> str:
    """Drop and create ``database`` on the server, then return its SQLAlchemy URL.

    ``server_url`` names the server without a database, for example
    ``postgresql+asyncpg://postgres@127.0.0.1:5432``.
    """
    if not database.replace("_", "").isalnum():
        raise ValueError(
            f"invalid database name {database!r}: use letters, digits and '_'"
        )
    admin_url = make_url(server_url).set(database="postgres")
    connection = await asyncpg.connect(asyncpg_dsn(admin_url.render_as_string(False)))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=database).render_as_string(False)


async def create_schema(database_url: str) -> str:
    """Create the tables and return the method used: migrations or create_all.

    The Alembic migrations are the normal path. ``Base.metadata.create_all``
    is the fallback for a checkout that has no migration module yet.
    """
    try:
        from scimbridge.storage.migrate import upgrade_database
    except ImportError:
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await engine.dispose()
        return "create_all"
    await asyncio.to_thread(upgrade_database, database_url)
    return "migrations"


class PostgresBackends:
    """CPU time of the PostgreSQL backends that serve one database.

    Call :meth:`refresh` once the server's connection pool is warm. Backends
    that connect later are not counted, and backends that exit take their CPU
    time with them.
    """

    def __init__(self, database_url: str) -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._database = make_url(database_url).database
        self._processes: list[psutil.Process] = []

    async def refresh(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                self._database,
            )
        finally:
            await connection.close()
        self._processes = []
        for row in rows:
            try:
                self._processes.append(psutil.Process(row["pid"]))
            except psutil.NoSuchProcess:
                continue

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self._processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


async def create_orgs(database_url: str, slugs: list[str]) -> list[BenchOrg]:
    """Create organizations through scimbridge's services, one token each."""
    services = build_services(Settings(database_url=database_url))
    created = []
    try:
        for slug in slugs:
            org = await services.orgs.create(slug, slug)
            issued = await services.scim_tokens.create(org)
            created.append(BenchOrg(id=str(org.id), slug=slug, token=issued.secret))
    finally:
        await services.close()
    return created
