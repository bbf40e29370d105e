"""Sorting (RFC 7644 section 3.4.2.3) and pagination (section 3.4.2.4)."""

from typing import Any

import pytest

from tests.conftest import ENTERPRISE_SCHEMA, USER_SCHEMA, ScimOrg

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MAX_RESULTS = 200
"""``scim_max_results`` in the test settings."""


def _list(org: ScimOrg, path: str = "/Users", **params: Any) -> dict[str, Any]:
    response = org.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _ids(body: dict[str, Any]) -> list[str]:
    return [resource["id"] for resource in body["Resources"]]


@pytest.fixture
def three_users(org: ScimOrg) -> list[str]:
    """Three users, returned in creation order."""
    return [org.create_user(f"user{i}@example.com")["id"] for i in range(3)]


# Sorting


def test_sort_by_user_name(org: ScimOrg) -> None:
    """sortBy=userName orders without regard to case, ascending by default."""
    bob = org.create_user("bob@example.com")["id"]
    alice = org.create_user("Alice@example.com")["id"]
    carol = org.create_user("carol@example.com")["id"]

    assert _ids(_list(org, sortBy="userName")) == [alice, bob, carol]
    assert _ids(_list(org, sortBy="userName", sortOrder="ascending")) == [
        alice,
        bob,
        carol,
    ]
    assert _ids(_list(org, sortBy="userName", sortOrder="descending")) == [
        carol,
        bob,
        alice,
    ]
    assert _ids(_list(org, sortBy="USERNAME", sortOrder="Descending")) == [
        carol,
        bob,
        alice,
    ]
    assert _ids(_list(org, sortBy=f"{USER_SCHEMA}:userName")) == [alice, bob, carol]


def test_sort_by_family_name(org: ScimOrg) -> None:
    """sortBy=name.familyName puts users without one last in both orders."""
    zed = org.create_user("z@example.com", name={"familyName": "Zed"})["id"]
    none = org.create_user("n@example.com")["id"]
    adams = org.create_user("a@example.com", name={"familyName": "adams"})["id"]

    assert _ids(_list(org, sortBy="name.familyName")) == [adams, zed, none]
    assert _ids(_list(org, sortBy="name.familyName", sortOrder="descending")) == [
        zed,
        adams,
        none,
    ]


def test_sort_by_emails(org: ScimOrg) -> None:
    """sortBy=emails uses the primary email, else the first one listed."""
    primary_a = org.create_user(
        "one@example.com",
        emails=[
            {"value": "z@example.com", "type": "home"},
            {"value": "a@example.com", "type": "work", "primary": True},
        ],
    )["id"]
    first_m = org.create_user(
        "two@example.com",
        emails=[
            {"value": "m@example.com", "type": "work"},
            {"value": "b@example.com", "type": "home"},
        ],
    )["id"]
    only_c = org.create_user("three@example.com", emails=[{"value": "C@example.com"}])[
        "id"
    ]
    without = org.create_user("four@example.com")["id"]

    assert _ids(_list(org, sortBy="emails")) == [primary_a, only_c, first_m, without]
    assert _ids(_list(org, sortBy="emails.value", sortOrder="descending")) == [
        first_m,
        only_c,
        primary_a,
        without,
    ]


def test_sort_by_created(org: ScimOrg, three_users: list[str]) -> None:
    """sortBy=meta.created follows creation time."""
    assert _ids(_list(org, sortBy="meta.created")) == three_users
    assert _ids(_list(org, sortBy="meta.created", sortOrder="descending")) == list(
        reversed(three_users)
    )


def test_sort_by_last_modified(org: ScimOrg, three_users: list[str]) -> None:
    """sortBy=meta.lastModified puts the latest change last."""
    response = org.patch(
        f"/Users/{three_users[0]}",
        [{"op": "replace", "path": "displayName", "value": "Changed"}],
    )
    assert response.status_code == 200
    expected = [three_users[1], three_users[2], three_users[0]]
    assert _ids(_list(org, sortBy="meta.lastModified")) == expected


def test_sort_by_enterprise_attribute(org: ScimOrg) -> None:
    """sortBy accepts an extension attribute qualified with its URN."""
    ids = []
    for number in ("30", "10", "20"):
        user = org.create_user(
            f"employee{number}@example.com",
            schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
            **{ENTERPRISE_SCHEMA: {"employeeNumber": number}},
        )
        ids.append(user["id"])

    sorted_ids = _ids(_list(org, sortBy=f"{ENTERPRISE_SCHEMA}:employeeNumber"))
    assert sorted_ids == [ids[1], ids[2], ids[0]]


def test_sort_groups_by_display_name(org: ScimOrg) -> None:
    """Groups sort by displayName without regard to case."""
    beta = org.create_group("beta")["id"]
    alpha = org.create_group("Alpha")["id"]
    gamma = org.create_group("gamma")["id"]

    assert _ids(_list(org, "/Groups", sortBy="displayName")) == [alpha, beta, gamma]
    assert _ids(
        _list(org, "/Groups", sortBy="displayName", sortOrder="descending")
    ) == [gamma, beta, alpha]


def test_sort_with_filter_and_paging(org: ScimOrg) -> None:
    """Sorting applies before paging, on the filtered set."""
    names = ["d", "b", "e", "a", "c"]
    by_name = {n: org.create_user(f"{n}@example.com", title="T")["id"] for n in names}
    org.create_user("x@example.com")

    body = _list(
        org,
        filter="title pr",
        sortBy="userName",
        sortOrder="descending",
        startIndex=2,
        count=2,
    )
    assert body["totalResults"] == 5
    assert _ids(body) == [by_name["d"], by_name["c"]]


def test_search_sorts(org: ScimOrg) -> None:
    """POST /Users/.search reads sortBy and sortOrder from the body."""
    b = org.create_user("b@example.com")["id"]
    a = org.create_user("a@example.com")["id"]
    response = org.post(
        "/Users/.search",
        {"schemas": [SEARCH_SCHEMA], "sortBy": "userName", "sortOrder": "descending"},
    )
    assert response.status_code == 200
    assert _ids(response.json()) == [b, a]


def test_sort_order_without_sort_by(org: ScimOrg, three_users: list[str]) -> None:
    """sortOrder alone leaves the default creation order."""
    assert _ids(_list(org, sortOrder="descending")) == three_users


@pytest.mark.parametrize(
    ("params", "scim_type"),
    [
        ({"sortOrder": "up"}, "invalidValue"),
        ({"sortBy": "nickname2"}, None),
        ({"sortBy": "name"}, None),
        ({"sortBy": "urn:example:unknown:User:userName"}, None),
    ],
)
def test_invalid_sort_rejected(
    org: ScimOrg, params: dict[str, str], scim_type: str | None
) -> None:
    """An unknown sortOrder or sort attribute gives 400."""
    org.create_user("someone@example.com")
    response = org.get("/Users", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "400"
    if scim_type is not None:
        assert response.json()["scimType"] == scim_type


def test_invalid_sort_rejected_without_matches(org: ScimOrg) -> None:
    """An unknown sort attribute gives 400 even when nothing matches."""
    response = org.get("/Users", params={"sortBy": "nickname2"})
    assert response.status_code == 400


# Paging


def test_first_page(org: ScimOrg, three_users: list[str]) -> None:
    """startIndex=1&count=2 returns the first two of three users."""
    body = _list(org, startIndex=1, count=2)
    assert body["schemas"] == [LIST_RESPONSE_SCHEMA]
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 2
    assert body["startIndex"] == 1
    assert _ids(body) == three_users[:2]


def test_last_partial_page(org: ScimOrg, three_users: list[str]) -> None:
    """startIndex=3&count=2 returns the one remaining user."""
    body = _list(org, startIndex=3, count=2)
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 1
    assert body["startIndex"] == 3
    assert _ids(body) == three_users[2:]


def test_start_past_end(org: ScimOrg, three_users: list[str]) -> None:
    """startIndex past the last result returns an empty page and the total."""
    body = _list(org, startIndex=101, count=100)
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 0
    assert body["startIndex"] == 101
    assert body["Resources"] == []


def test_count_zero(org: ScimOrg, three_users: list[str]) -> None:
    """count=0 returns the total and no resources."""
    body = _list(org, count=0)
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 0
    assert body["Resources"] == []


def test_negative_count_reads_as_zero(org: ScimOrg, three_users: list[str]) -> None:
    """A negative count is read as 0."""
    body = _list(org, count=-4)
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 0


@pytest.mark.parametrize("start", [0, -1, -100])
def test_start_below_one_reads_as_one(
    org: ScimOrg, three_users: list[str], start: int
) -> None:
    """A startIndex below 1 is read as 1."""
    body = _list(org, startIndex=start, count=2)
    assert body["startIndex"] == 1
    assert _ids(body) == three_users[:2]


def test_defaults_return_everything(org: ScimOrg, three_users: list[str]) -> None:
    """Without startIndex and count, the first page contains every user."""
    body = _list(org)
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 3
    assert _ids(body) == three_users


def test_numbers_are_integers(org: ScimOrg, three_users: list[str]) -> None:
    """totalResults, itemsPerPage and startIndex are JSON integers."""
    response = org.get("/Users", params={"startIndex": "2", "count": "1"})
    body = response.json()
    for name in ("totalResults", "itemsPerPage", "startIndex"):
        assert type(body[name]) is int, name
    assert '"totalResults":3' in response.text.replace(" ", "")
    assert '"startIndex":2' in response.text.replace(" ", "")


def test_pages_cover_all_once(org: ScimOrg) -> None:
    """Walking the pages returns each user exactly once, in a stable order."""
    created = [
        org.create_user(f"walk{i:02}@example.com", title="Same")["id"] for i in range(7)
    ]
    for params in (
        {},
        {"sortBy": "title"},
        {"sortBy": "title", "sortOrder": "descending"},
    ):
        seen: list[str] = []
        for start in range(1, 9, 2):
            body = _list(org, startIndex=start, count=2, **params)
            assert body["totalResults"] == 7
            seen.extend(_ids(body))
        assert len(seen) == len(set(seen)), params
        assert set(seen) == set(created), params


def test_count_capped_at_maximum(org: ScimOrg) -> None:
    """A count above the advertised maximum returns at most that many."""
    for i in range(MAX_RESULTS + 1):
        org.create_user(f"many{i:03}@example.com")

    capped = _list(org, count=10_000)
    assert capped["totalResults"] == MAX_RESULTS + 1
    assert capped["itemsPerPage"] == MAX_RESULTS
    assert len(capped["Resources"]) == MAX_RESULTS
    default = _list(org)
    assert default["itemsPerPage"] == MAX_RESULTS
    rest = _list(org, startIndex=MAX_RESULTS + 1, count=MAX_RESULTS + 1)
    assert rest["itemsPerPage"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"count": "abc"},
        {"count": "1.5"},
        {"count": "2x"},
        {"startIndex": "first"},
        {"startIndex": "1e2"},
    ],
)
def test_non_integer_rejected(org: ScimOrg, params: dict[str, str]) -> None:
    """A count or startIndex that is no integer gives 400 invalidValue."""
    response = org.get("/Users", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidValue"
    assert response.headers["content-type"].startswith("application/scim+json")


@pytest.mark.parametrize(
    "body",
    [
        {"count": 1.5},
        {"count": True},
        {"count": [2]},
        {"startIndex": "two"},
        {"startIndex": 2.5},
    ],
)
def test_search_non_integer_rejected(org: ScimOrg, body: dict[str, Any]) -> None:
    """A .search count or startIndex that is no integer gives 400 invalidValue."""
    response = org.post("/Users/.search", {"schemas": [SEARCH_SCHEMA], **body})
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] == "invalidValue"


def test_search_pages(org: ScimOrg, three_users: list[str]) -> None:
    """POST /Users/.search reads startIndex and count from the body."""
    response = org.post(
        "/Users/.search", {"schemas": [SEARCH_SCHEMA], "startIndex": 2, "count": 1}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 1
    assert body["startIndex"] == 2
    assert _ids(body) == [three_users[1]]


def test_group_pages(org: ScimOrg) -> None:
    """Groups page like users."""
    groups = [org.create_group(f"Group {i}")["id"] for i in range(3)]
    body = _list(org, "/Groups", startIndex=2, count=5)
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 2
    assert _ids(body) == groups[1:]


def test_empty_list(org: ScimOrg) -> None:
    """An organization without users returns an empty list response."""
    body = _list(org)
    assert body["totalResults"] == 0
    assert body["itemsPerPage"] == 0
    assert body["startIndex"] == 1
    assert body["Resources"] == []


def test_root_search_sorts_each_type(org: ScimOrg) -> None:
    """Root .search sorts Users by sortBy and lists Groups after them."""
    org.create_user("b@example.com")
    org.create_user("a@example.com")
    org.create_group("Team")
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "sortBy": "userName",
    }
    resources = org.post("/.search", body).json()["Resources"]
    names = [r.get("userName") or r.get("displayName") for r in resources]
    assert names == ["a@example.com", "b@example.com", "Team"]
