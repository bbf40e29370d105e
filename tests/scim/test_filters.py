"""Filters on list and search requests (RFC 7644 section 3.4.2.2).

Every case runs through the HTTP API, so the filter is parsed, compiled to SQL
and evaluated by the database under test.
"""

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, ScimOrg

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {resource["id"] for resource in response.json()["Resources"]}


def _filter_users(org: ScimOrg, expression: str) -> set[str]:
    return _ids(org.get("/Users", params={"filter": expression}))


def _filter_groups(org: ScimOrg, expression: str) -> set[str]:
    return _ids(org.get("/Groups", params={"filter": expression}))


@pytest.fixture
def people(org: ScimOrg) -> dict[str, str]:
    """Three users with different attributes, by first name."""
    alice = org.create_user(
        "alice@example.com",
        schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
        externalId="ext-Alice",
        displayName="Alice Smith",
        name={"givenName": "Alice", "familyName": "Smith"},
        title="Engineer",
        emails=[
            {"value": "alice@example.com", "type": "work", "primary": True},
            {"value": "alice@home.org", "type": "home"},
        ],
        active=True,
        **{ENTERPRISE_SCHEMA: {"employeeNumber": "42", "department": "R&D"}},
    )
    bob = org.create_user(
        "Bob@Example.org",
        schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
        externalId="ext-bob",
        name={"familyName": "Jones"},
        emails=[{"value": "bob@example.org", "type": "home"}],
        active=False,
        **{ENTERPRISE_SCHEMA: {"employeeNumber": "7"}},
    )
    carol = org.create_user("carol_50%", active=True)
    return {"alice": alice["id"], "bob": bob["id"], "carol": carol["id"]}


USER_CASES = [
    # Each operator on a case-insensitive string.
    ('userName eq "ALICE@example.COM"', {"alice"}),
    ('userName ne "alice@example.com"', {"bob", "carol"}),
    ('userName co "EXAMPLE"', {"alice", "bob"}),
    ('userName sw "Al"', {"alice"}),
    ('userName ew ".ORG"', {"bob"}),
    ('userName gt "bob@example.org"', {"carol"}),
    ('userName ge "BOB@example.org"', {"bob", "carol"}),
    ('userName lt "bob"', {"alice"}),
    ('userName le "bob@example.org"', {"alice", "bob"}),
    ("title pr", {"alice"}),
    ("emails pr", {"alice", "bob"}),
    ("name.givenName pr", {"alice"}),
    ('title ne "Engineer"', {"bob", "carol"}),
    # LIKE wildcards in a value are literal characters.
    ('userName co "%"', {"carol"}),
    ('userName co "l_5"', {"carol"}),
    ('userName sw "_"', set()),
    ('userName ew "%"', {"carol"}),
    # Operators and attribute names are case-insensitive.
    ('USERNAME EQ "carol_50%"', {"carol"}),
    ('username Sw "BO"', {"bob"}),
    ('Name.FamilyName eq "smith"', {"alice"}),
    ("TITLE PR", {"alice"}),
    # "and" binds tighter than "or", and parentheses override it.
    ('userName eq "carol_50%" or userName sw "al" and active eq false', {"carol"}),
    (
        '(userName eq "carol_50%" or userName sw "al") and active eq true',
        {"alice", "carol"},
    ),
    ('userName sw "al" or userName sw "bo" and active eq true', {"alice"}),
    ('active eq true and (title pr or userName sw "ca")', {"alice", "carol"}),
    # not, including attributes the user lacks.
    ('not (userName eq "carol_50%")', {"alice", "bob"}),
    ("not (title pr)", {"bob", "carol"}),
    ('not (title eq "Engineer")', {"bob", "carol"}),
    ('not (name.familyName sw "J")', {"alice", "carol"}),
    ('not (emails[type eq "work"])', {"bob", "carol"}),
    ('not (userName sw "a" or userName sw "b")', {"carol"}),
    # Attribute names qualified with their schema URN.
    (f'{USER_SCHEMA}:userName eq "carol_50%"', {"carol"}),
    (f'{USER_SCHEMA}:name.familyName eq "Jones"', {"bob"}),
    (f'{ENTERPRISE_SCHEMA}:employeeNumber eq "42"', {"alice"}),
    (f'{ENTERPRISE_SCHEMA}:department co "r&d"', {"alice"}),
    (f"{ENTERPRISE_SCHEMA}:employeeNumber pr", {"alice", "bob"}),
    (f'not ({ENTERPRISE_SCHEMA}:employeeNumber eq "42")', {"bob", "carol"}),
    # Sub-attributes of a single complex attribute.
    ('name.familyName eq "Jones"', {"bob"}),
    ('name[familyName eq "Smith" and givenName sw "A"]', {"alice"}),
    # Multi-valued attributes match when any value does.
    ('emails.value eq "ALICE@home.org"', {"alice"}),
    ('emails co "example.org"', {"bob"}),
    ('emails eq "alice@home.org"', {"alice"}),
    ('emails.type eq "work"', {"alice"}),
    ('emails.type eq "home"', {"alice", "bob"}),
    ("emails.primary eq true", {"alice"}),
    ('emails.value ew ".org"', {"alice", "bob"}),
    # A value path applies all its conditions to the same value.
    ('emails[type eq "work" and value co "@example.com"]', {"alice"}),
    ('emails[type eq "home" and value co "@example.com"]', set()),
    ('emails.type eq "home" and emails.value co "@example.com"', {"alice"}),
    ('emails[type eq "home" or primary eq true]', {"alice", "bob"}),
    ('emails[not (type eq "home")]', {"alice"}),
    ("emails[type pr]", {"alice", "bob"}),
    # Microsoft Entra ID's form: a value path followed by a sub-attribute.
    ('emails[type eq "work"].value eq "alice@example.com"', {"alice"}),
    ('emails[type eq "home"].value eq "alice@example.com"', set()),
    # Indexed columns.
    ('externalId eq "ext-Alice"', {"alice"}),
    ('externalId eq "ext-alice"', set()),
    ('externalId eq "EXT-BOB"', set()),
    ('externalId sw "ext-"', {"alice", "bob"}),
    ('externalId sw "EXT-"', set()),
    ('externalId co "Alice"', {"alice"}),
    ('externalId co "alice"', set()),
    ('externalId ew "bob"', {"bob"}),
    ('externalId ew "BOB"', set()),
    ('externalId gt "ext-a"', {"bob"}),
    ("externalId pr", {"alice", "bob"}),
    ('displayName eq "alice smith"', {"alice"}),
    ("active eq false", {"bob"}),
    ("active eq true", {"alice", "carol"}),
    ("active ne true", {"bob"}),
    ('meta.resourceType eq "User"', {"alice", "bob", "carol"}),
    ('meta.resourceType eq "Group"', set()),
]


@pytest.mark.parametrize(("expression", "expected"), USER_CASES)
def test_user_filter(
    org: ScimOrg, people: dict[str, str], expression: str, expected: set[str]
) -> None:
    """Each user filter selects exactly the expected users."""
    assert _filter_users(org, expression) == {people[name] for name in expected}


def test_filter_non_ascii_case(org: ScimOrg) -> None:
    """userName and group displayName ignore the case of non-ASCII letters."""
    emile = org.create_user("ÉMILE@example.com")
    plain = org.create_user("emile@example.com")
    equipe = org.create_group("ÉQUIPE Ω")

    assert _filter_users(org, 'userName eq "émile@example.com"') == {emile["id"]}
    assert _filter_users(org, 'userName sw "émile"') == {emile["id"]}
    assert _filter_users(org, 'userName co "MILE@"') == {emile["id"], plain["id"]}
    assert _filter_groups(org, 'displayName eq "équipe ω"') == {equipe["id"]}
    assert _filter_groups(org, 'displayName ew "Ω"') == {equipe["id"]}


def test_filter_non_ascii_json_case(org: ScimOrg) -> None:
    """Attributes kept in JSON ignore the case of non-ASCII letters."""
    user = org.create_user("angstrom@example.com", name={"familyName": "ÅNGSTRÖM"})
    assert _filter_users(org, 'name.familyName eq "ångström"') == {user["id"]}


def test_filter_by_id(org: ScimOrg, people: dict[str, str]) -> None:
    """id eq selects one user, and a value that is no id selects none."""
    assert _filter_users(org, f'id eq "{people["bob"]}"') == {people["bob"]}
    assert _filter_users(org, f'id ne "{people["bob"]}"') == {
        people["alice"],
        people["carol"],
    }
    assert _filter_users(org, 'id eq "not-a-uuid"') == set()
    assert _filter_users(org, f'id eq "{people["bob"]}x"') == set()


def test_filter_total_matches_count(org: ScimOrg, people: dict[str, str]) -> None:
    """totalResults counts the filtered users, not every user."""
    response = org.get("/Users", params={"filter": 'userName co "example"'})
    assert response.status_code == 200
    assert response.json()["totalResults"] == 2
    assert response.json()["itemsPerPage"] == 2


def test_filter_on_group_membership(org: ScimOrg) -> None:
    """groups.value on Users and members.value on Groups follow memberships."""
    ann = org.create_user("ann@example.com")
    ben = org.create_user("ben@example.com")
    admins = org.create_group("Admins", [ann["id"]])
    staff = org.create_group("Staff", [ann["id"], ben["id"], admins["id"]])
    org.create_group("Empty")

    assert _filter_users(org, f'groups.value eq "{admins["id"]}"') == {ann["id"]}
    assert _filter_users(org, f'groups.value eq "{staff["id"]}"') == {
        ann["id"],
        ben["id"],
    }
    assert _filter_users(org, f'groups[value eq "{admins["id"]}"]') == {ann["id"]}
    assert _filter_users(org, 'groups.display eq "admins"') == {ann["id"]}
    assert _filter_users(org, f'not (groups.value eq "{admins["id"]}")') == {ben["id"]}
    assert _filter_groups(org, f'members.value eq "{ann["id"]}"') == {
        admins["id"],
        staff["id"],
    }
    assert _filter_groups(org, f'members.value eq "{ben["id"]}"') == {staff["id"]}
    assert _filter_groups(org, f'members.value eq "{admins["id"]}"') == {staff["id"]}
    assert _filter_groups(org, 'members[type eq "Group"]') == {staff["id"]}
    assert _filter_groups(org, 'members.display eq "BEN@example.com"') == {staff["id"]}
    assert _filter_groups(org, "members pr") == {admins["id"], staff["id"]}


def test_filter_on_group_attributes(org: ScimOrg) -> None:
    """Group displayName is case-insensitive and externalId case-exact."""
    engineering = org.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "externalId": "grp-Eng",
        },
    ).json()
    sales = org.create_group("Sales")

    assert _filter_groups(org, 'displayName eq "ENGINEERING"') == {engineering["id"]}
    assert _filter_groups(org, 'DisplayName Sw "sal"') == {sales["id"]}
    assert _filter_groups(org, 'externalId eq "grp-Eng"') == {engineering["id"]}
    assert _filter_groups(org, 'externalId eq "GRP-ENG"') == set()
    assert _filter_groups(org, f'id eq "{sales["id"]}"') == {sales["id"]}
    assert _filter_groups(org, f'{GROUP_SCHEMA}:displayName eq "sales"') == {
        sales["id"]
    }
    assert _filter_groups(org, 'not (displayName eq "Sales")') == {engineering["id"]}


def test_filter_on_timestamps(org: ScimOrg) -> None:
    """meta.created and meta.lastModified compare as instants."""
    first = org.create_user("first@example.com")
    time.sleep(0.05)
    boundary = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    time.sleep(0.05)
    second = org.create_user("second@example.com")
    patched = org.patch(
        f"/Users/{first['id']}",
        [{"op": "replace", "path": "displayName", "value": "First"}],
    )
    assert patched.status_code == 200, patched.text

    assert _filter_users(org, f'meta.created gt "{boundary}"') == {second["id"]}
    assert _filter_users(org, f'meta.created lt "{boundary}"') == {first["id"]}
    assert _filter_users(org, f'meta.lastModified gt "{boundary}"') == {
        first["id"],
        second["id"],
    }
    assert _filter_users(org, f'meta.lastModified le "{boundary}"') == set()
    assert _filter_users(org, 'meta.created ge "2000-01-01T00:00:00Z"') == {
        first["id"],
        second["id"],
    }
    assert _filter_users(org, 'meta.created gt "2000-01-01T02:00:00+02:00"') == {
        first["id"],
        second["id"],
    }
    assert _filter_users(org, "meta.created pr") == {first["id"], second["id"]}


def test_filter_on_exact_timestamp(org: ScimOrg) -> None:
    """meta.created eq the returned timestamp selects the user."""
    user = org.create_user("stamp@example.com")
    created = user["meta"]["created"]
    assert _filter_users(org, f'meta.created eq "{created}"') == {user["id"]}


def test_filter_scoped_to_organization(
    org: ScimOrg, other_org: ScimOrg, people: dict[str, str]
) -> None:
    """A filter never selects another organization's users."""
    other_org.create_user("alice@example.com")
    ids = _filter_users(other_org, 'userName eq "alice@example.com"')
    assert people["alice"] not in ids
    assert len(ids) == 1


@pytest.mark.parametrize(
    "expression",
    [
        "active gt true",
        'active eq "true"',
        'active co "t"',
        'userName eq "x" and active lt false',
        'meta.created co "2020"',
        'meta.created gt "yesterday"',
        'meta.created gt "2020-01-01T00:00:00"',
        'nickname2 eq "x"',
        'name.nickname eq "x"',
        'urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"',
        'urn:example:unknown:2.0:User:userName eq "x"',
        'name eq "Smith"',
        'emails[type eq "work"].nickname eq "x"',
        'members.value eq "x"',
        "userName eq",
        'userName xx "x"',
        'userName eq "unterminated',
        '(userName eq "x"',
        'userName eq "x" and',
        'emails[type eq "work"',
    ],
)
def test_invalid_filter_rejected(org: ScimOrg, expression: str) -> None:
    """An invalid filter gives 400 invalidFilter with a SCIM error body."""
    response = org.get("/Users", params={"filter": expression})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "400"
    assert body["scimType"] == "invalidFilter"
    assert body["detail"]
    assert response.headers["content-type"].startswith("application/scim+json")


@pytest.mark.parametrize(
    "expression",
    ['userName eq "x"', 'members.value eq "x" and userName pr', "password pr"],
)
def test_invalid_group_filter_rejected(org: ScimOrg, expression: str) -> None:
    """A Group filter naming a User-only attribute gives 400 invalidFilter."""
    response = org.get("/Groups", params={"filter": expression})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidFilter"


def test_empty_filter_selects_all(org: ScimOrg, people: dict[str, str]) -> None:
    """An empty filter parameter reads as no filter."""
    assert _filter_users(org, "") == set(people.values())


# POST .search


def test_search_users(org: ScimOrg, people: dict[str, str]) -> None:
    """POST /Users/.search filters like GET /Users."""
    response = org.post(
        "/Users/.search",
        {"schemas": [SEARCH_SCHEMA], "filter": 'emails.type eq "home"'},
    )
    assert _ids(response) == {people["alice"], people["bob"]}
    assert response.json()["totalResults"] == 2


def test_search_groups(org: ScimOrg) -> None:
    """POST /Groups/.search filters groups."""
    match = org.create_group("Wanted")
    org.create_group("Other")
    response = org.post(
        "/Groups/.search",
        {"schemas": [SEARCH_SCHEMA], "filter": 'displayName eq "wanted"'},
    )
    assert _ids(response) == {match["id"]}


def test_search_invalid_filter(org: ScimOrg) -> None:
    """POST .search with an invalid filter gives 400 invalidFilter."""
    response = org.post(
        "/Users/.search", {"schemas": [SEARCH_SCHEMA], "filter": "userName eq"}
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_root_search_mixes_types(org: ScimOrg) -> None:
    """POST /.search returns matching Users and Groups together."""
    user = org.create_user("shared@example.com", displayName="Shared")
    group = org.create_group("Shared")
    org.create_group("Unrelated")
    org.create_user("unrelated@example.com")

    response = org.post(
        "/.search", {"schemas": [SEARCH_SCHEMA], "filter": 'displayName eq "shared"'}
    )
    assert _ids(response) == {user["id"], group["id"]}
    assert response.json()["totalResults"] == 2
    types = {r["meta"]["resourceType"] for r in response.json()["Resources"]}
    assert types == {"User", "Group"}


def test_root_search_user_only_attribute(org: ScimOrg) -> None:
    """A filter on userName at /.search matches no Group."""
    user = org.create_user("solo@example.com")
    org.create_group("solo@example.com")

    response = org.post(
        "/.search",
        {"schemas": [SEARCH_SCHEMA], "filter": 'userName eq "solo@example.com"'},
    )
    assert _ids(response) == {user["id"]}
    assert response.json()["totalResults"] == 1


def test_root_search_without_filter(org: ScimOrg) -> None:
    """POST /.search without a filter returns every User and Group."""
    user = org.create_user("all@example.com")
    group = org.create_group("All")
    response = org.post("/.search", {"schemas": [SEARCH_SCHEMA]})
    assert _ids(response) == {user["id"], group["id"]}


def test_root_search_invalid_everywhere(org: ScimOrg) -> None:
    """A filter that no resource type can evaluate gives 400 invalidFilter."""
    response = org.post(
        "/.search", {"schemas": [SEARCH_SCHEMA], "filter": 'nickname2 eq "x"'}
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_root_search_pages_across_types(org: ScimOrg) -> None:
    """Paging at /.search walks Users then Groups without gaps or repeats."""
    created = {org.create_user(f"page{i}@example.com")["id"] for i in range(3)}
    created |= {org.create_group(f"Page {i}")["id"] for i in range(3)}

    seen: list[str] = []
    for start in (1, 3, 5):
        response = org.post(
            "/.search",
            {"schemas": [SEARCH_SCHEMA], "startIndex": start, "count": 2},
        )
        assert response.status_code == 200
        assert response.json()["totalResults"] == 6
        assert response.json()["itemsPerPage"] == 2
        seen.extend(r["id"] for r in response.json()["Resources"])
    assert len(seen) == 6
    assert set(seen) == created
