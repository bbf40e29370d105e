"""User statements built once per dialect, and users read with their groups.

Building a SQLAlchemy statement and computing its cache key costs more CPU
than running it from the compiled cache. So the statements that every SCIM
request on a user sends are built once, with bind parameters for the values
that change.

A user's direct groups come back as a JSON array in a column of the user's
row. That saves the round trip of a second query per request, and on a page
of users the ``IN`` list of their ids that SQLAlchemy expands on every call.
"""

import dataclasses
import functools
import operator
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    bindparam,
    func,
    select,
)

from scimbridge.directory.models import GroupRef, UserRecord
from scimbridge.storage import filtering
from scimbridge.storage.tables import GroupMemberRow, GroupRow, UserRow

users = UserRow.__table__
groups = GroupRow.__table__
group_members = GroupMemberRow.__table__

MAX_CACHED_PAGE_STATEMENTS = 64
"""Unfiltered page statements kept per process, one per sortBy and order."""


def _groups_column(dialect: str, source: Any = users) -> ColumnElement[Any]:
    """Return the user's direct groups as a JSON array of ``[id, displayName]``.

    ``source`` is the users table, or a subquery with its ``org_id`` and ``id``.

    The array is ordered by display name, then id, like the ``groups_of``
    statement. PostgreSQL orders inside the aggregate. SQLite before 3.44
    has no ORDER BY in aggregates, so :func:`group_refs` sorts its arrays.
    """
    pair = func.json_build_array if dialect == "postgresql" else func.json_array
    element = pair(groups.c.id, groups.c.display_name)
    if dialect == "postgresql":
        aggregate = func.json_agg(element, type_=JSON).aggregate_order_by(
            groups.c.display_name, groups.c.id
        )
    else:
        aggregate = func.json_group_array(element, type_=JSON)
    return (
        select(aggregate)
        .select_from(
            group_members.join(
                groups,
                (groups.c.org_id == group_members.c.org_id)
                & (groups.c.id == group_members.c.group_id),
            )
        )
        .where(
            group_members.c.org_id == source.c.org_id,
            group_members.c.member_id == source.c.id,
        )
        .scalar_subquery()
        .label("groups")
    )


def group_refs(raw: Any, dialect: str) -> list[GroupRef]:
    """Turn the JSON array of :func:`_groups_column` into group references."""
    if not raw:
        return []
    pairs = [(display, str(group_id)) for group_id, display in raw]
    if dialect != "postgresql":
        # SQLite compares text byte by byte, which for UTF-8 is code point
        # order, as Python compares str. Ids are stored as 32 hex digits.
        pairs.sort(key=lambda pair: (pair[0], pair[1].replace("-", "")))
    return [
        GroupRef(id=uuid.UUID(group_id), display=display) for display, group_id in pairs
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class UserStatements:
    """The statements of one dialect, with bind parameters ``org_id``, ``user_id``."""

    by_id: Select[Any]
    by_id_for_update: Select[Any]
    by_id_with_groups: Select[Any]
    by_id_with_groups_for_update: Select[Any]
    count_all: Select[Any]
    in_org: Select[Any]
    """Every user of the org: the base of filtered pages."""
    in_org_page: Select[Any]
    """A page of the org's users in the default order, to add a filter to."""
    in_org_page_with_groups: Select[Any]
    """The same with the users' groups, for pages without OFFSET."""
    page_with_groups: Select[Any]
    """A page of every user of the org in the default order, with their groups."""
    groups_of: Select[Any]
    """The groups of the users in the expanding parameter ``user_ids``."""


@functools.cache
def user_statements(dialect: str) -> UserStatements:
    """Return the statements for a dialect name, built on the first call."""
    in_org = select(users).where(users.c.org_id == bindparam("org_id"))
    by_id = in_org.where(users.c.id == bindparam("user_id"))
    groups_column = _groups_column(dialect)
    with_groups = by_id.add_columns(groups_column)
    count_all = select(func.count()).select_from(users)
    order = filtering.user_order(None, False, dialect)
    return UserStatements(
        by_id=by_id,
        by_id_for_update=by_id.with_for_update(),
        by_id_with_groups=with_groups,
        by_id_with_groups_for_update=with_groups.with_for_update(),
        count_all=count_all.where(users.c.org_id == bindparam("org_id")),
        in_org=in_org,
        in_org_page=page_statement(in_org, None, order),
        in_org_page_with_groups=page_statement(
            in_org.add_columns(groups_column), None, order
        ),
        page_with_groups=_page_with_groups(dialect),
        groups_of=_groups_of(),
    )


def _groups_of() -> Select[Any]:
    return (
        select(group_members.c.member_id, groups.c.id, groups.c.display_name)
        .join(
            groups,
            (groups.c.org_id == group_members.c.org_id)
            & (groups.c.id == group_members.c.group_id),
        )
        .where(
            group_members.c.org_id == bindparam("org_id"),
            group_members.c.member_id.in_(bindparam("user_ids", expanding=True)),
        )
        .order_by(groups.c.display_name, groups.c.id)
    )


def page_statement(
    base: Select[Any], condition: ColumnElement[bool] | None, order: list[Any]
) -> Select[Any]:
    """Return a page of ``base``, with bind parameters ``offset`` and ``limit``.

    ``condition`` is a compiled filter, or None for every user of the org.
    """
    if condition is not None:
        base = base.where(condition)
    return base.order_by(*order).offset(bindparam("offset")).limit(bindparam("limit"))


def _page_with_groups(dialect: str) -> Select[Any]:
    """Return every user of the org in the default order, with their groups.

    PostgreSQL computes the output columns of every row that OFFSET skips, so
    the groups are looked up around the page, for the page's rows alone.
    """
    order = filtering.user_order(None, False, dialect)
    in_org = select(users).where(users.c.org_id == bindparam("org_id"))
    page = page_statement(in_org, None, order).subquery("page")
    return select(page, _groups_column(dialect, page)).order_by(
        page.c.created_at, page.c.id
    )


@functools.lru_cache(maxsize=MAX_CACHED_PAGE_STATEMENTS)
def unfiltered_page_statement(
    dialect: str, sort_by: str | None, descending: bool
) -> Select[Any]:
    """Return the page query without a filter; raise InvalidSort for a bad sortBy."""
    order = filtering.user_order(sort_by, descending, dialect)
    return page_statement(user_statements(dialect).in_org, None, order)


def known_total(offset: int, limit: int, rows: int) -> int | None:
    """Return the number of matches that a page implies, or None if it does not.

    A page with fewer rows than ``limit`` is the last one, unless it is empty
    past the first row, where matches may exist before ``offset``.
    """
    if rows < limit and (rows > 0 or offset == 0):
        return offset + rows
    return None


USER_COLUMNS = len(users.c)
"""Position of the groups column in rows that carry one, after the user's columns."""

_RECORD_FIELDS = tuple(field.name for field in dataclasses.fields(UserRecord))
"""The record's fields in order, each named after its column."""
_record_values = operator.itemgetter(
    *(users.c.keys().index(field) for field in _RECORD_FIELDS)
)


def user_record(row: Any) -> UserRecord:
    """Build a record from a row that starts with the users table's columns.

    The columns are read by position because reading a SQLAlchemy row by
    attribute name costs about 20 times as much.
    """
    return UserRecord(*_record_values(row))
