"""Schema migrations with Alembic, configured in code from the database URL.

The migration scripts ship inside the package, so an installed scimbridge
upgrades its database without an ``alembic.ini`` or a source checkout. To
write the next revision after changing ``tables.py``, autogenerate it against
a database at head and then review it::

    alembic.command.revision(
        alembic_config(url), message="add widgets", rev_id="0002", autogenerate=True
    )
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

MIGRATIONS_PATH = Path(__file__).parent / "migrations"

T = TypeVar("T")


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration for the packaged migrations and this URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_PATH))
    config.set_main_option("path_separator", "os")
    # configparser interpolation reads "%" as the start of a reference, so the
    # "%" of URL-encoded passwords must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """Return the newest revision of the packaged migrations."""
    scripts = ScriptDirectory(str(MIGRATIONS_PATH))
    return scripts.get_current_head()


def upgrade_database(database_url: str) -> None:
    """Apply every pending migration (``alembic upgrade head``).

    Safe to call from inside a running event loop, which it blocks until the
    upgrade finishes.
    """
    config = alembic_config(database_url)
    _run_in_thread(lambda: command.upgrade(config, "head"))
    logger.info("database schema is at revision %s", head_revision())


def current_revision(database_url: str) -> str | None:
    """Return the revision the database is at, or None before the first migration."""
    return _run_in_thread(lambda: asyncio.run(_read_revision(database_url)))


async def _read_revision(database_url: str) -> str | None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision_of)
    finally:
        await engine.dispose()


def _revision_of(connection: Connection) -> str | None:
    revision: str | None = MigrationContext.configure(connection).get_current_revision()
    return revision


def _run_in_thread(function: Callable[[], T]) -> T:
    # The migration environment and current_revision call asyncio.run, which
    # raises inside a running event loop, so they run in a thread without one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrate") as pool:
        return pool.submit(function).result()
