"""SCIM filters and sort keys compile into SQL for SQLite and PostgreSQL.

These tests need no database: they compile conditions against each dialect
and read the SQL text, which shows that the database evaluates every part of
the filter.
"""

from typing import Any

import pytest
from scim2_models import ScimFilter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from scimbridge.directory.errors import InvalidQuery
from scimbridge.storage.filtering import (
    group_condition,
    group_order,
    user_condition,
    user_order,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DIALECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
}


def _sql(condition: Any, dialect: str) -> str:
    return str(condition.compile(dialect=DIALECTS[dialect]))


def _params(condition: Any, dialect: str) -> dict[str, Any]:
    return dict(condition.compile(dialect=DIALECTS[dialect]).params)


def _user_sql(expression: str, dialect: str) -> str:
    return _sql(user_condition(ScimFilter(expression).ast, dialect), dialect)


@pytest.mark.parametrize(
    ("dialect", "fragment"),
    [
        ("sqlite", "json_extract(users.attributes"),
        ("postgresql", "users.attributes #>>"),
    ],
)
def test_json_attribute_reads_document(dialect: str, fragment: str) -> None:
    """A sub-attribute compiles to a JSON path read on the attributes column."""
    sql = _user_sql('name.familyName eq "Smith"', dialect)
    assert fragment in sql
    assert "lower(" in sql


@pytest.mark.parametrize(
    ("dialect", "fragment"),
    [("sqlite", "json_each(users.attributes"), ("postgresql", "jsonb_array_elements(")],
)
def test_multi_valued_uses_exists(dialect: str, fragment: str) -> None:
    """A multi-valued attribute compiles to EXISTS over its JSON elements."""
    sql = _user_sql('emails[type eq "work" and value co "@example.com"]', dialect)
    assert "EXISTS" in sql
    assert fragment in sql


def test_postgresql_empty_array_built_in_sql() -> None:
    """A missing array reads as an empty JSONB array built by the database."""
    condition = user_condition(ScimFilter('emails.type eq "work"').ast, "postgresql")
    assert "jsonb_build_array()" in _sql(condition, "postgresql")
    assert "[]" not in _params(condition, "postgresql").values()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_indexed_columns_used(dialect: str) -> None:
    """userName, externalId and active compile to their own columns."""
    sql = _user_sql(
        'userName eq "A@example.com" and externalId eq "x" and active eq true',
        dialect,
    )
    assert "users.user_name_key" in sql
    assert "users.external_id" in sql
    assert "users.active" in sql
    assert "users.attributes" not in sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_user_name_value_folded(dialect: str) -> None:
    """The userName value is bound already case-folded, as the key column is."""
    condition = user_condition(ScimFilter('userName sw "ÉMILE"').ast, dialect)
    assert "émile%" in _params(condition, dialect).values()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_logic_compiles_to_sql(dialect: str) -> None:
    """and, or and not become SQL operators, with absent values made false."""
    sql = _user_sql('not (title pr) or userName sw "a" and active eq false', dialect)
    assert " OR " in sql
    assert " AND " in sql
    assert "NOT" in sql
    assert "coalesce(" in sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_values_are_bound(dialect: str) -> None:
    """Filter values reach the database as bound parameters, never as SQL text."""
    condition = user_condition(ScimFilter('title eq "x\' OR 1=1 --"').ast, dialect)
    assert "1=1" not in _sql(condition, dialect)
    assert "x' or 1=1 --" in _params(condition, dialect).values()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_enterprise_attribute_path(dialect: str) -> None:
    """An extension attribute is read under its schema URN key."""
    condition = user_condition(
        ScimFilter(f'{ENTERPRISE}:employeeNumber eq "42"').ast, dialect
    )
    sql = _sql(condition, dialect)
    params = _params(condition, dialect)
    assert "users.attributes" in sql
    if dialect == "sqlite":
        assert f'$."{ENTERPRISE}"."employeeNumber"' in params.values()
    else:
        assert (ENTERPRISE, "employeeNumber") in params.values()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_memberships_use_member_rows(dialect: str) -> None:
    """groups on Users and members on Groups read the group_members table."""
    user_sql = _user_sql(
        'groups.value eq "1c3f4b2e-0000-4000-8000-000000000001"', dialect
    )
    group_sql = _sql(
        group_condition(
            ScimFilter('members.value eq "1c3f4b2e-0000-4000-8000-000000000001"').ast,
            dialect,
        ),
        dialect,
    )
    assert "FROM group_members" in user_sql
    assert "group_members.member_id = users.id" in user_sql
    assert "FROM group_members" in group_sql
    assert "group_members.group_id = groups.id" in group_sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_timestamps_use_columns(dialect: str) -> None:
    """meta.created and meta.lastModified compile to the timestamp columns."""
    sql = _user_sql(
        'meta.created gt "2024-01-01T00:00:00Z" and '
        'meta.lastModified lt "2030-01-01T00:00:00Z"',
        dialect,
    )
    assert "users.created_at >" in sql
    assert "users.updated_at <" in sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_group_display_name_uses_key(dialect: str) -> None:
    """Group displayName compiles to its lowercased key column."""
    sql = _sql(group_condition(ScimFilter('displayName eq "X"').ast, dialect), dialect)
    assert "groups.display_name_key" in sql


@pytest.mark.parametrize(
    "expression",
    ['nickname2 eq "x"', "active gt true", 'name eq "x"', 'meta.created gt "soon"'],
)
def test_invalid_filter_raises(expression: str) -> None:
    """A filter the store cannot evaluate raises InvalidQuery before any SQL runs."""
    with pytest.raises(InvalidQuery):
        user_condition(ScimFilter(expression).ast, "sqlite")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sort_by_primary_email(dialect: str) -> None:
    """Sorting by emails reads the primary value, then the first, in SQL."""
    order = user_order("emails", False, dialect)
    sql = " ".join(str(term.compile(dialect=DIALECTS[dialect])) for term in order)
    position = "anon_1.position" if dialect == "postgresql" else 'anon_1."key"'
    assert "primary" in str(_params_of(order, dialect))
    assert f"DESC, {position}" in sql
    assert "LIMIT" in sql


@pytest.mark.parametrize("dialect", DIALECTS)
def test_sort_ties_break_on_id(dialect: str) -> None:
    """Every order ends with creation time and id, so pages are stable."""
    users_sql = [
        str(t.compile(dialect=DIALECTS[dialect]))
        for t in user_order("title", True, dialect)
    ]
    groups_sql = [
        str(t.compile(dialect=DIALECTS[dialect]))
        for t in group_order(None, False, dialect)
    ]
    assert users_sql[-2:] == ["users.created_at", "users.id"]
    assert groups_sql == ["groups.created_at", "groups.id"]


def _params_of(order: list[Any], dialect: str) -> list[Any]:
    return [
        value
        for term in order
        for value in term.compile(dialect=DIALECTS[dialect]).params.values()
    ]
