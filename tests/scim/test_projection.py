"""The attributes and excludedAttributes parameters (RFC 7644 section 3.9)."""

from typing import Any

import pytest

from tests.conftest import ENTERPRISE_SCHEMA, USER_SCHEMA, ScimOrg

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def user(org: ScimOrg) -> dict[str, Any]:
    """A user with core, multi-valued and enterprise attributes, in one group."""
    created = org.create_user(
        "projected@example.com",
        schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
        displayName="Projected User",
        name={"givenName": "Pro", "familyName": "Jected"},
        title="Tester",
        emails=[
            {"value": "projected@example.com", "type": "work", "primary": True},
            {"value": "home@example.org", "type": "home"},
        ],
        **{ENTERPRISE_SCHEMA: {"employeeNumber": "42", "department": "QA"}},
    )
    org.create_group("Projection Group", [created["id"]])
    return created


def _get_user(org: ScimOrg, user_id: str, **params: str) -> dict[str, Any]:
    response = org.get(f"/Users/{user_id}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _list_one(org: ScimOrg, path: str = "/Users", **params: str) -> dict[str, Any]:
    response = org.get(path, params=params)
    assert response.status_code == 200, response.text
    [resource] = response.json()["Resources"]
    return dict(resource)


def _both(org: ScimOrg, user_id: str, **params: str) -> list[dict[str, Any]]:
    """Return the user as a single GET and as a list entry, for the same query."""
    return [_get_user(org, user_id, **params), _list_one(org, **params)]


def test_attributes_select(org: ScimOrg, user: dict[str, Any]) -> None:
    """attributes=userName,emails.value returns those and the always-returned ones."""
    for resource in _both(org, user["id"], attributes="userName,emails.value"):
        assert set(resource) == {"id", "schemas", "userName", "emails"}
        assert resource["id"] == user["id"]
        assert resource["userName"] == "projected@example.com"
        assert resource["emails"] == [
            {"value": "projected@example.com"},
            {"value": "home@example.org"},
        ]


def test_attributes_names_case_insensitive(org: ScimOrg, user: dict[str, Any]) -> None:
    """Attribute names in attributes match without regard to case."""
    for resource in _both(org, user["id"], attributes="USERNAME,Name.FamilyName"):
        assert set(resource) == {"id", "schemas", "userName", "name"}
        assert resource["name"] == {"familyName": "Jected"}


def test_attributes_several_subs(org: ScimOrg, user: dict[str, Any]) -> None:
    """Two sub-attributes of one multi-valued attribute are returned together."""
    resource = _get_user(org, user["id"], attributes="emails.value,emails.type")
    assert resource["emails"] == [
        {"value": "projected@example.com", "type": "work"},
        {"value": "home@example.org", "type": "home"},
    ]
    primary = _get_user(org, user["id"], attributes="emails.primary,emails.value")
    assert primary["emails"] == [
        {"primary": True, "value": "projected@example.com"},
        {"value": "home@example.org"},
    ]
    only_primary = _get_user(org, user["id"], attributes="emails.primary")
    assert only_primary["emails"] == [{"primary": True}]


def test_attributes_with_core_urn(org: ScimOrg, user: dict[str, Any]) -> None:
    """A core attribute may be named with its schema URN."""
    resource = _get_user(org, user["id"], attributes=f"{USER_SCHEMA}:title")
    assert set(resource) == {"id", "schemas", "title"}


def test_attributes_whole_core_schema(org: ScimOrg, user: dict[str, Any]) -> None:
    """The core schema URN alone selects every core attribute."""
    resource = _get_user(org, user["id"], attributes=USER_SCHEMA)
    assert resource["userName"] == "projected@example.com"
    assert resource["emails"] == user["emails"]
    assert ENTERPRISE_SCHEMA not in resource


def test_attributes_enterprise(org: ScimOrg, user: dict[str, Any]) -> None:
    """An enterprise attribute is returned under its extension URN."""
    for resource in _both(
        org, user["id"], attributes=f"{ENTERPRISE_SCHEMA}:employeeNumber"
    ):
        assert set(resource) == {"id", "schemas", ENTERPRISE_SCHEMA}
        assert resource[ENTERPRISE_SCHEMA] == {"employeeNumber": "42"}


def test_attributes_whole_extension(org: ScimOrg, user: dict[str, Any]) -> None:
    """The extension URN alone returns the whole extension."""
    resource = _get_user(org, user["id"], attributes=ENTERPRISE_SCHEMA)
    assert resource[ENTERPRISE_SCHEMA] == {"employeeNumber": "42", "department": "QA"}
    assert "userName" not in resource


def test_attributes_groups(org: ScimOrg, user: dict[str, Any]) -> None:
    """attributes=groups returns the derived group memberships."""
    for resource in _both(org, user["id"], attributes="groups.display"):
        assert resource["groups"] == [{"display": "Projection Group"}]


def test_attributes_meta(org: ScimOrg, user: dict[str, Any]) -> None:
    """meta is returned only when attributes names it."""
    plain = _get_user(org, user["id"], attributes="userName")
    assert "meta" not in plain
    with_meta = _get_user(org, user["id"], attributes="userName,meta.created")
    assert with_meta["meta"] == {"created": user["meta"]["created"]}


def test_attributes_unknown_ignored(org: ScimOrg, user: dict[str, Any]) -> None:
    """An attribute the resource lacks is left out without error."""
    resource = _get_user(org, user["id"], attributes="nickName,x509Certificates")
    assert set(resource) == {"id", "schemas"}


def test_attributes_never_return_password(org: ScimOrg) -> None:
    """password is never returned, even when attributes names it."""
    created = org.create_user("secret@example.com", password="Secret-Pass-1")
    resource = _get_user(org, created["id"], attributes="password,userName")
    assert "password" not in resource
    assert resource["userName"] == "secret@example.com"


def test_excluded_drops(org: ScimOrg, user: dict[str, Any]) -> None:
    """excludedAttributes=emails,name drops them and keeps the rest."""
    for resource in _both(org, user["id"], excludedAttributes="emails,name"):
        assert "emails" not in resource
        assert "name" not in resource
        assert resource["id"] == user["id"]
        assert resource["schemas"] == [USER_SCHEMA, ENTERPRISE_SCHEMA]
        assert resource["userName"] == "projected@example.com"
        assert resource["title"] == "Tester"
        assert resource["meta"]["resourceType"] == "User"
        assert resource[ENTERPRISE_SCHEMA]["employeeNumber"] == "42"


def test_excluded_never_drops_id(org: ScimOrg, user: dict[str, Any]) -> None:
    """id and schemas are returned even when excludedAttributes names them."""
    for resource in _both(org, user["id"], excludedAttributes="id,schemas,userName"):
        assert resource["id"] == user["id"]
        assert resource["schemas"] == [USER_SCHEMA, ENTERPRISE_SCHEMA]
        assert "userName" not in resource


def test_excluded_sub_attribute(org: ScimOrg, user: dict[str, Any]) -> None:
    """Excluding a sub-attribute keeps its siblings."""
    resource = _get_user(
        org, user["id"], excludedAttributes="name.givenName,emails.type"
    )
    assert resource["name"] == {"familyName": "Jected"}
    assert resource["emails"] == [
        {"value": "projected@example.com", "primary": True},
        {"value": "home@example.org"},
    ]


def test_excluded_enterprise(org: ScimOrg, user: dict[str, Any]) -> None:
    """An enterprise attribute or the whole extension can be excluded."""
    one = _get_user(
        org, user["id"], excludedAttributes=f"{ENTERPRISE_SCHEMA}:department"
    )
    assert one[ENTERPRISE_SCHEMA] == {"employeeNumber": "42"}
    whole = _get_user(org, user["id"], excludedAttributes=ENTERPRISE_SCHEMA)
    assert ENTERPRISE_SCHEMA not in whole
    assert whole["userName"] == "projected@example.com"


def test_excluded_groups(org: ScimOrg, user: dict[str, Any]) -> None:
    """excludedAttributes=groups drops the derived group memberships."""
    for resource in _both(org, user["id"], excludedAttributes="groups"):
        assert "groups" not in resource
        assert resource["userName"] == "projected@example.com"


def test_excluded_whole_core_schema(org: ScimOrg, user: dict[str, Any]) -> None:
    """Excluding the core schema URN keeps id, schemas and extensions only."""
    resource = _get_user(org, user["id"], excludedAttributes=USER_SCHEMA)
    assert resource["id"] == user["id"]
    assert "userName" not in resource
    assert "emails" not in resource
    assert resource[ENTERPRISE_SCHEMA]["employeeNumber"] == "42"


def test_group_excluded_members(org: ScimOrg) -> None:
    """Groups honour excludedAttributes=members on single GET and list."""
    member = org.create_user("in.group@example.com")
    group = org.create_group("Projected Group", [member["id"]])

    single = org.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"})
    listed = _list_one(org, "/Groups", excludedAttributes="members")
    for resource in (single.json(), listed):
        assert "members" not in resource
        assert resource["displayName"] == "Projected Group"
        assert resource["id"] == group["id"]
        assert resource["meta"]["resourceType"] == "Group"


def test_group_attributes(org: ScimOrg) -> None:
    """attributes=displayName on Groups returns only it with id and schemas."""
    member = org.create_user("another.member@example.com")
    group = org.create_group("Only Name", [member["id"]])
    resource = _list_one(org, "/Groups", attributes="displayName")
    assert resource == {
        "id": group["id"],
        "schemas": [GROUP_SCHEMA],
        "displayName": "Only Name",
    }
    with_values = _list_one(org, "/Groups", attributes="members.value")
    assert with_values["members"] == [{"value": member["id"]}]


def test_search_body_projection(org: ScimOrg, user: dict[str, Any]) -> None:
    """POST .search reads attributes as a list of names."""
    response = org.post(
        "/Users/.search",
        {"schemas": [SEARCH_SCHEMA], "attributes": ["userName", "title"]},
    )
    assert response.status_code == 200
    [resource] = response.json()["Resources"]
    assert set(resource) == {"id", "schemas", "userName", "title"}
    excluded = org.post(
        "/Users/.search",
        {"schemas": [SEARCH_SCHEMA], "excludedAttributes": ["emails"]},
    )
    [resource] = excluded.json()["Resources"]
    assert "emails" not in resource
    assert "userName" in resource


def test_root_search_projection(org: ScimOrg, user: dict[str, Any]) -> None:
    """POST /.search applies a User-qualified projection to Groups too."""
    response = org.post(
        "/.search",
        {
            "schemas": [SEARCH_SCHEMA],
            "attributes": [f"{USER_SCHEMA}:userName", "displayName"],
        },
    )
    assert response.status_code == 200, response.text
    resources = response.json()["Resources"]
    [user_resource] = [r for r in resources if r["id"] == user["id"]]
    [group_resource] = [r for r in resources if r["id"] != user["id"]]
    assert set(user_resource) == {"id", "schemas", "userName", "displayName"}
    assert set(group_resource) == {"id", "schemas", "displayName"}


def test_both_parameters_rejected(org: ScimOrg, user: dict[str, Any]) -> None:
    """attributes and excludedAttributes together give 400 invalidValue."""
    response = org.get(
        f"/Users/{user['id']}",
        params={"attributes": "userName", "excludedAttributes": "emails"},
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_projection_with_filter(org: ScimOrg, user: dict[str, Any]) -> None:
    """A filter may name attributes that the projection leaves out."""
    response = org.get(
        "/Users",
        params={"filter": 'title eq "Tester"', "attributes": "userName"},
    )
    assert response.status_code == 200
    assert response.json()["Resources"] == [
        {
            "id": user["id"],
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "userName": "projected@example.com",
        }
    ]


def test_projection_on_write_responses(org: ScimOrg) -> None:
    """POST, PUT and PATCH responses honour excludedAttributes."""
    body = {"schemas": [USER_SCHEMA], "userName": "written@example.com", "title": "T"}
    created = org.post("/Users", body, params={"excludedAttributes": "title"})
    assert created.status_code == 201
    assert "title" not in created.json()
