"""Engine creation and the transaction scope that repositories run in."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from scimbridge.storage.repositories import SqlUnit

logger = logging.getLogger(__name__)


def create_engine(database_url: str) -> AsyncEngine:
    """Create the async engine for a SQLite file or a PostgreSQL server."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(
            url,
            pool_size=10,
            max_overflow=20,
            # No pre-ping: it costs a round trip per checkout, and asyncpg
            # reports a dropped connection as an error the request fails on.
            # Bound values are provisioned data, so error logs leave them out.
            hide_parameters=True,
        )

    engine = create_async_engine(
        url, connect_args={"timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would start transactions
        # lazily and defeat BEGIN IMMEDIATE, so SQLAlchemy emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # LIKE matches case-sensitively, as on PostgreSQL; filters lower()
        # both sides for attributes that are not caseExact.
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()
        # SQLite's built-in lower() folds ASCII letters only; Python's folds
        # every letter, as PostgreSQL's does in a UTF-8 database.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class SqlStore:
    """The directory store on SQLAlchemy Core; one connection per transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite has no row locks: writers of this process queue here, and
        # BEGIN IMMEDIATE serializes them with other processes.
        self._write_lock = asyncio.Lock()
        # Under READ COMMITTED every statement takes its own snapshot even
        # inside a transaction, so a read-only unit loses nothing in
        # autocommit and saves the BEGIN and COMMIT round trips. So does a
        # write of one statement, which is atomic on its own. This engine
        # shares the pool.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def transaction(
        self, *, write: bool = False, single_statement: bool = False
    ) -> AsyncIterator[SqlUnit]:
        if self._sqlite and write:
            async with self._write_lock, self._connect(immediate=True) as unit:
                yield unit
        else:
            autocommit = not self._sqlite and (single_statement or not write)
            async with self._connect(immediate=False, autocommit=autocommit) as unit:
                yield unit

    @asynccontextmanager
    async def _connect(
        self, *, immediate: bool, autocommit: bool = False
    ) -> AsyncIterator[SqlUnit]:
        engine = self._autocommit if autocommit else self.engine
        async with engine.connect() as connection:
            if immediate:
                connection = await connection.execution_options(sqlite_immediate=True)
            async with connection.begin():
                yield SqlUnit(connection)

    async def dispose(self) -> None:
        await self.engine.dispose()
