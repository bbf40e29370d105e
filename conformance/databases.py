"""Databases that belong to one conformance run and to nothing else."""

import asyncio
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)


@contextmanager
def isolated_database(database_url: str | None) -> Iterator[str | None]:
    """Yield a database URL that no other test or run shares.

    On PostgreSQL, this creates an empty database on the server of
    ``database_url`` and drops it afterwards, so the run neither reads nor leaves
    rows in the database other tests use. Otherwise it yields None, which
    :func:`conformance.server.running_scimbridge` takes as a new SQLite file.
    The PostgreSQL role needs the CREATEDB privilege.
    """
    if database_url is None:
        yield None
        return

    server_url = make_url(database_url)
    if server_url.get_backend_name() != "postgresql":
        yield None
        return

    name = f"scimbridge_conformance_{secrets.token_hex(4)}"
    asyncio.run(_execute_autocommit(server_url, f'CREATE DATABASE "{name}"'))
    logger.info("scratch database created name=%s", name)
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE (PostgreSQL 13 and later) ends sessions a stopped server left.
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        asyncio.run(_execute_autocommit(server_url, drop))
        logger.info("scratch database dropped name=%s", name)


async def _execute_autocommit(url: URL, statement: str) -> None:
    """Run one statement outside a transaction, as CREATE and DROP DATABASE need."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()
