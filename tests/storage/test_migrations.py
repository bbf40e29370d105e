"""The packaged Alembic migrations against Base.metadata, on SQLite and PostgreSQL.

PostgreSQL runs when ``SCIMBRIDGE_TEST_DATABASE_URL`` names a server, such as
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``. Each test then creates
a database of its own on that server and drops it afterwards, so it neither
reads nor changes the database that the URL names.
"""

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from scimbridge.storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_database,
)
from scimbridge.storage.tables import Base

T = TypeVar("T")
Key = tuple[str, str, tuple[str, ...]]
"""A key or index: its table, its name and its columns in order."""

POSTGRES_URL = os.environ.get("SCIMBRIDGE_TEST_DATABASE_URL") or None
ORG_OWNED_TABLES = (
    "scim_tokens",
    "users",
    "groups",
    "group_members",
    "connections",
    "org_domains",
    "login_policies",
    "login_identities",
    "roles",
    "role_mappings",
    "org_admin_tokens",
    "logout_deliveries",
)
ROUTING_INDEXES = {"uq_org_domains_verified_domain", "ix_logout_deliveries_queue"}
"""Indexes that do not serve one organization's lookups: a verified email
domain selects the organization itself, as a slug does, and the back-channel
logout queue is read by one worker for every organization."""


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                POSTGRES_URL is None, reason="SCIMBRIDGE_TEST_DATABASE_URL is not set"
            ),
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database that only this test uses."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/migrations.db"
        return

    assert POSTGRES_URL is not None
    name = f"scimbridge_migrations_test_{uuid.uuid4().hex[:12]}"
    _execute_on_server(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        _execute_on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _execute_on_server(statement: str) -> None:
    """Run a statement that cannot run in a transaction, such as CREATE DATABASE."""

    async def run() -> None:
        assert POSTGRES_URL is not None
        engine = create_async_engine(
            POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _run_on(database_url: str, function: Callable[[Connection], T]) -> T:
    """Call ``function`` with a synchronous connection to the database."""

    async def run() -> T:
        engine = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(function)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _schema_diff(connection: Connection) -> list[Any]:
    diff: list[Any] = compare_metadata(
        MigrationContext.configure(connection), Base.metadata
    )
    return diff


def _reflected_keys(connection: Connection) -> set[Key]:
    inspector = inspect(connection)
    keys: set[Key] = set()
    for table in Base.metadata.tables:
        primary_key = inspector.get_pk_constraint(table)
        constraints = [primary_key, *inspector.get_foreign_keys(table)]
        for constraint in constraints:
            columns = constraint["constrained_columns"]
            keys.add((table, str(constraint["name"]), tuple(columns)))
        for unique in inspector.get_unique_constraints(table):
            keys.add((table, str(unique["name"]), tuple(unique["column_names"])))
        for index in inspector.get_indexes(table):
            # PostgreSQL also lists the index behind each unique constraint.
            if not index.get("duplicates_constraint"):
                columns = [str(column) for column in index["column_names"]]
                keys.add((table, str(index["name"]), tuple(columns)))
    return keys


def _declared_keys() -> set[Key]:
    keys: set[Key] = set()
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            columns = [column.name for column in getattr(constraint, "columns", [])]
            keys.add((table.name, str(constraint.name), tuple(columns)))
        for index in table.indexes:
            columns = [column.name for column in index.columns]
            keys.add((table.name, str(index.name), tuple(columns)))
    return keys


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_upgrade_matches_metadata(database_url: str) -> None:
    """After ``upgrade head`` autogenerate finds nothing left to migrate."""
    upgrade_database(database_url)

    assert _run_on(database_url, _schema_diff) == []


def test_upgrade_uses_convention_names(database_url: str) -> None:
    """Keys and indexes get the names that the naming convention in tables.py gives."""
    upgrade_database(database_url)

    assert _run_on(database_url, _reflected_keys) == _declared_keys()


def test_org_id_leads_every_key(database_url: str) -> None:
    """Each key and index of an organization-owned table starts with org_id."""
    upgrade_database(database_url)

    for table, name, columns in _run_on(database_url, _reflected_keys):
        if table in ORG_OWNED_TABLES and name not in ROUTING_INDEXES:
            assert columns[0] == "org_id", f"{name} on {table} starts with {columns}"


def test_schema_diff_detects_missing_index(database_url: str) -> None:
    """The comparison can fail: a dropped index shows up as a difference."""
    upgrade_database(database_url)

    def drop_index(connection: Connection) -> None:
        connection.execute(text("DROP INDEX ix_users_org_id_external_id"))
        connection.commit()

    _run_on(database_url, drop_index)
    diff = _run_on(database_url, _schema_diff)

    assert [entry[0] for entry in diff] == ["add_index"]
    assert diff[0][1].name == "ix_users_org_id_external_id"


def test_revision_before_and_after_upgrade(database_url: str) -> None:
    """An empty database has no revision; an upgraded one is at head."""
    assert current_revision(database_url) is None

    upgrade_database(database_url)

    assert head_revision() == "0003"
    assert current_revision(database_url) == head_revision()


def test_upgrade_twice_is_a_no_op(database_url: str) -> None:
    """A second upgrade of an up-to-date database changes nothing."""
    upgrade_database(database_url)
    upgrade_database(database_url)

    assert current_revision(database_url) == head_revision()
    assert _run_on(database_url, _schema_diff) == []


def test_downgrade_then_upgrade(database_url: str) -> None:
    """Downgrading to base drops every table, and upgrading again restores them."""
    upgrade_database(database_url)
    command.downgrade(alembic_config(database_url), "base")

    assert _run_on(database_url, _table_names) == {"alembic_version"}
    assert current_revision(database_url) is None

    upgrade_database(database_url)
    assert _run_on(database_url, _schema_diff) == []


def test_upgrade_inside_running_event_loop(database_url: str) -> None:
    """upgrade_database and current_revision work when called from a coroutine."""

    async def upgrade_from_coroutine() -> str | None:
        upgrade_database(database_url)
        return current_revision(database_url)

    assert asyncio.run(upgrade_from_coroutine()) == head_revision()


def test_url_with_percent_sign(tmp_path: Path) -> None:
    """A "%" in the URL, as URL-encoded passwords have, reaches Alembic unchanged."""
    (tmp_path / "100%").mkdir()
    database_url = f"sqlite+aiosqlite:///{tmp_path}/100%25/migrations.db"

    config = alembic_config(database_url)
    upgrade_database(database_url)

    assert config.get_main_option("sqlalchemy.url") == database_url
    assert current_revision(database_url) == head_revision()


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///unused.db",
        "postgresql+asyncpg://postgres@127.0.0.1/unused",
    ],
)
def test_offline_upgrade_prints_sql(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``upgrade --sql`` prints the DDL for every table without connecting."""
    command.upgrade(alembic_config(url), "head", sql=True)

    sql = capsys.readouterr().out
    for table in Base.metadata.tables:
        assert f"CREATE TABLE {table} " in sql
    assert "CREATE INDEX ix_users_org_id_external_id" in sql
    assert "INSERT INTO alembic_version" in sql
