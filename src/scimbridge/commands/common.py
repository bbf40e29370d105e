"""Helpers of the subcommands: errors, database preparation, services and output."""

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias, TypeVar

from pydantic import BaseModel

from scimbridge.config import Settings
from scimbridge.directory.errors import NotFound
from scimbridge.directory.models import Organization
from scimbridge.services import Services, build_services
from scimbridge.storage.migrate import current_revision, head_revision, upgrade_database

T = TypeVar("T")
Handler: TypeAlias = Callable[[argparse.Namespace, Settings], int]
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CommandError(Exception):
    """A failure that the command reports as one line on stderr, with exit status 1."""


def prepare_database(settings: Settings) -> None:
    """Migrate a SQLite database, or check that a PostgreSQL schema is current.

    :raises CommandError: when the PostgreSQL schema is not at the head revision.
    """
    if settings.is_sqlite:
        upgrade_database(settings.database_url)
        return
    current = current_revision(settings.database_url)
    head = head_revision()
    if current != head:
        raise CommandError(
            f"the database schema is at revision {current or 'none'}, but this "
            f"scimbridge needs revision {head}: run `scimbridge db upgrade` first"
        )


def run_with_services(
    settings: Settings, operation: Callable[[Services], Awaitable[T]]
) -> T:
    """Prepare the database, then run ``operation`` on new services and close them."""
    prepare_database(settings)

    async def run() -> T:
        services = build_services(settings)
        try:
            return await operation(services)
        finally:
            await services.close()

    return asyncio.run(run())


async def find_org(services: Services, slug_or_id: str) -> Organization:
    try:
        return await services.orgs.get(slug_or_id)
    except NotFound as exc:
        raise org_not_found(slug_or_id) from exc


def org_not_found(slug_or_id: str) -> CommandError:
    return CommandError(
        f"no organization has the slug or id {slug_or_id!r}. "
        "Run `scimbridge org list` to see them all."
    )


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of text"
    )


def print_json(model: BaseModel) -> None:
    print(model.model_dump_json())


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Align columns, with two spaces between them."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in table
    ]
    return "\n".join(line.rstrip() for line in lines)
