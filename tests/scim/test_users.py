"""User resources: lifecycle, PATCH shapes sent by real IdPs, uniqueness, versions."""

from tests.conftest import ENTERPRISE_SCHEMA, USER_SCHEMA, ScimOrg


def _jane(org: ScimOrg) -> dict:
    return org.create_user(
        "jane.doe@example.com",
        externalId="ext-0001",
        name={"givenName": "Jane", "familyName": "Doe"},
        emails=[{"value": "jane.doe@example.com", "type": "work", "primary": True}],
        active=True,
    )


def test_create_returns_full_resource(org: ScimOrg) -> None:
    """POST /Users answers 201 with id, meta, Location and ETag."""
    response = org.post(
        "/Users",
        {
            "schemas": [USER_SCHEMA],
            "userName": "new.user@example.com",
            "name": {"givenName": "New", "familyName": "User"},
            "password": "not-stored-1!",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["userName"] == "new.user@example.com"
    assert body["active"] is True
    assert body["meta"]["resourceType"] == "User"
    assert response.headers["location"] == body["meta"]["location"]
    assert response.headers["etag"] == body["meta"]["version"]
    assert "password" not in body
    assert body["groups"] == []
    assert response.headers["content-type"].startswith("application/scim+json")


def test_user_name_unique_case_insensitive(org: ScimOrg) -> None:
    """A second userName differing only in case gives 409 uniqueness."""
    _jane(org)
    response = org.post(
        "/Users", {"schemas": [USER_SCHEMA], "userName": "JANE.DOE@example.com"}
    )
    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert response.json()["status"] == "409"


def test_user_name_reusable_across_orgs(org: ScimOrg, other_org: ScimOrg) -> None:
    """Two organizations may each hold the same userName."""
    _jane(org)
    _jane(other_org)


def test_enterprise_extension_roundtrip(org: ScimOrg) -> None:
    """Enterprise attributes are stored and returned under their URN."""
    manager = org.create_user("boss@example.com")
    user = org.create_user(
        "worker@example.com",
        schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
        **{
            ENTERPRISE_SCHEMA: {
                "employeeNumber": "42",
                "manager": {"value": manager["id"]},
            }
        },
    )
    fetched = org.get(f"/Users/{user['id']}").json()
    assert fetched[ENTERPRISE_SCHEMA]["employeeNumber"] == "42"
    assert fetched[ENTERPRISE_SCHEMA]["manager"]["value"] == manager["id"]


def test_entra_disable_with_string_false(org: ScimOrg) -> None:
    """Entra's capitalized Replace with "False" deactivates, and "True" reactivates."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}", [{"op": "Replace", "path": "active", "value": "False"}]
    )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert org.get(f"/Users/{user['id']}").json()["active"] is False

    org.patch(
        f"/Users/{user['id']}", [{"op": "Add", "path": "active", "value": "True"}]
    )
    assert org.get(f"/Users/{user['id']}").json()["active"] is True


def test_okta_pathless_deactivate_merges(org: ScimOrg) -> None:
    """A path-less replace with {"active": false} keeps every other attribute."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}]
    )
    assert response.status_code == 200, response.text
    fetched = org.get(f"/Users/{user['id']}").json()
    assert fetched["active"] is False
    assert fetched["userName"] == "jane.doe@example.com"
    assert fetched["emails"][0]["value"] == "jane.doe@example.com"


def test_patch_value_filter_path(org: ScimOrg) -> None:
    """Replace on emails[type eq "work"].value changes only that email."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}",
        [
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": "j.doe@example.com",
            }
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"][0]["value"] == "j.doe@example.com"


def test_patch_extension_urn_path(org: ScimOrg) -> None:
    """An extension attribute can be added through its fully qualified path."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}",
        [{"op": "add", "path": f"{ENTERPRISE_SCHEMA}:department", "value": "Finance"}],
    )
    assert response.status_code == 200, response.text
    assert response.json()[ENTERPRISE_SCHEMA]["department"] == "Finance"


def test_patch_remove_attribute(org: ScimOrg) -> None:
    """A remove on a path clears the attribute."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}", [{"op": "remove", "path": "name.givenName"}]
    )
    assert response.status_code == 200, response.text
    assert "givenName" not in response.json()["name"]


def test_patch_is_atomic(org: ScimOrg) -> None:
    """A PATCH whose second operation fails applies neither operation."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}",
        [
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "replace", "path": "active", "value": "not-a-boolean"},
        ],
    )
    assert response.status_code == 400
    fetched = org.get(f"/Users/{user['id']}").json()
    assert "displayName" not in fetched
    assert fetched["meta"]["version"] == user["meta"]["version"]


def test_patch_user_name_conflict_changes_nothing(org: ScimOrg) -> None:
    """Renaming onto a taken userName gives 409 and keeps the old name."""
    user = _jane(org)
    org.create_user("taken@example.com")
    response = org.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": "userName", "value": "Taken@example.com"}],
    )
    assert response.status_code == 409
    assert org.get(f"/Users/{user['id']}").json()["userName"] == "jane.doe@example.com"


def test_put_replaces_and_ignores_read_only(org: ScimOrg) -> None:
    """PUT replaces the resource; id, meta and groups in the body are ignored."""
    user = _jane(org)
    body = {
        **user,
        "id": "ignored",
        "groups": [],
        "name": {"givenName": "Janet", "familyName": "Doe"},
        "active": False,
    }
    response = org.put(f"/Users/{user['id']}", body)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user["id"]
    assert response.json()["name"]["givenName"] == "Janet"
    assert response.json()["active"] is False


def test_put_missing_user_name_rejected(org: ScimOrg) -> None:
    """PUT without the required userName gives 400 and changes nothing."""
    user = _jane(org)
    response = org.put(
        f"/Users/{user['id']}", {"schemas": [USER_SCHEMA], "active": False}
    )
    assert response.status_code == 400
    assert org.get(f"/Users/{user['id']}").json()["active"] is True


def test_soft_delete_keeps_user_visible(org: ScimOrg) -> None:
    """active=false keeps the user in GET, filters and its groups; DELETE removes it."""
    jane = _jane(org)
    sam = org.create_user("sam.roe@example.com")
    group = org.create_group("Sales EMEA", [jane["id"], sam["id"]])

    org.patch(
        f"/Users/{sam['id']}", [{"op": "replace", "path": "active", "value": False}]
    )
    assert org.get(f"/Users/{sam['id']}").json()["active"] is False
    found = org.get(
        "/Users", params={"filter": 'userName eq "sam.roe@example.com"'}
    ).json()
    assert found["totalResults"] == 1
    assert found["Resources"][0]["active"] is False
    members = {m["value"] for m in org.get(f"/Groups/{group['id']}").json()["members"]}
    assert sam["id"] in members

    org.patch(
        f"/Users/{sam['id']}", [{"op": "replace", "path": "active", "value": True}]
    )
    members = {m["value"] for m in org.get(f"/Groups/{group['id']}").json()["members"]}
    assert members == {jane["id"], sam["id"]}

    assert org.delete(f"/Users/{sam['id']}").status_code == 204
    assert org.get(f"/Users/{sam['id']}").status_code == 404
    found = org.get(
        "/Users", params={"filter": 'userName eq "sam.roe@example.com"'}
    ).json()
    assert found["totalResults"] == 0
    members = {m["value"] for m in org.get(f"/Groups/{group['id']}").json()["members"]}
    assert members == {jane["id"]}


def test_user_groups_derived(org: ScimOrg) -> None:
    """User.groups lists the groups holding the user and cannot be written."""
    user = _jane(org)
    group = org.create_group("Engineering", [user["id"]])
    fetched = org.get(f"/Users/{user['id']}").json()
    assert [g["value"] for g in fetched["groups"]] == [group["id"]]
    assert fetched["groups"][0]["display"] == "Engineering"


def test_if_match_mismatch_gives_412(org: ScimOrg) -> None:
    """A stale If-Match gives 412 and the user is unchanged."""
    user = _jane(org)
    stale = user["meta"]["version"]
    org.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "displayName", "value": "A"}]
    )
    response = org.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": "displayName", "value": "B"}],
        headers={"If-Match": stale},
    )
    assert response.status_code == 412
    assert org.get(f"/Users/{user['id']}").json()["displayName"] == "A"
    assert (
        org.delete(f"/Users/{user['id']}", headers={"If-Match": stale}).status_code
        == 412
    )


def test_if_match_current_version_applies(org: ScimOrg) -> None:
    """If-Match with the current ETag lets the change through."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}",
        [{"op": "replace", "path": "displayName", "value": "A"}],
        headers={"If-Match": user["meta"]["version"]},
    )
    assert response.status_code == 200
    assert response.headers["etag"] != user["meta"]["version"]


def test_if_none_match_gives_304(org: ScimOrg) -> None:
    """If-None-Match with the current ETag gives 304 with no body."""
    user = _jane(org)
    response = org.get(
        f"/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]}
    )
    assert response.status_code == 304
    assert response.content == b""
    changed = org.get(f"/Users/{user['id']}", headers={"If-None-Match": 'W/"999"'})
    assert changed.status_code == 200


def test_unchanged_patch_keeps_version(org: ScimOrg) -> None:
    """A PATCH that changes nothing keeps meta.version."""
    user = _jane(org)
    response = org.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": True}]
    )
    assert response.json()["meta"]["version"] == user["meta"]["version"]
