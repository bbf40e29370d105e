"""Alembic environment: runs migrations on an async engine.

The database URL comes from the ``sqlalchemy.url`` option that
:func:`scimbridge.storage.migrate.alembic_config` sets, so no ``alembic.ini``
is needed.
"""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from scimbridge.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Emit the migration SQL to standard output without connecting."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url is not None and url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_on(connection: Connection) -> None:
    # SQLite cannot alter most table properties in place, so autogenerate
    # writes its changes as batch operations, which rebuild the table.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    # A plain engine, not storage.db.create_engine, because that one turns
    # SQLite foreign keys on, and with them on the DROP TABLE of a batch
    # rebuild runs the ON DELETE CASCADE of every child table.
    engine = create_async_engine(
        config.get_main_option("sqlalchemy.url", ""), poolclass=NullPool
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
