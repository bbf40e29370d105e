"""Group resources: membership changes as IdPs send them, and member validation."""

import uuid

from tests.conftest import GROUP_SCHEMA, ScimOrg


def _members(org: ScimOrg, group_id: str) -> set[str]:
    response = org.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {member["value"] for member in response.json().get("members", [])}


def _setup(org: ScimOrg) -> tuple[str, str, str, str]:
    u1 = org.create_user("jane.doe@example.com")["id"]
    u2 = org.create_user("sam.roe@example.com")["id"]
    u3 = org.create_user("max.poe@example.com")["id"]
    g1 = org.create_group("Sales EMEA", [u1, u2])["id"]
    return u1, u2, u3, g1


def test_create_group_with_members(org: ScimOrg) -> None:
    """POST /Groups stores members and returns them with type and display."""
    u1, u2, _, g1 = _setup(org)
    body = org.get(f"/Groups/{g1}").json()
    assert {m["value"] for m in body["members"]} == {u1, u2}
    assert {m["type"] for m in body["members"]} == {"User"}
    assert all("display" not in m for m in body["members"])
    requested = org.get(
        f"/Groups/{g1}", params={"attributes": "members.display"}
    ).json()
    assert "jane.doe@example.com" in {m["display"] for m in requested["members"]}


def test_remove_by_filter_then_add(org: ScimOrg) -> None:
    """Okta's remove on members[value eq ...] plus add in one PATCH applies both."""
    u1, u2, u3, g1 = _setup(org)
    operations = [
        {"op": "remove", "path": f'members[value eq "{u2}"]'},
        {"op": "add", "path": "members", "value": [{"value": u3, "display": "max"}]},
    ]
    assert org.patch(f"/Groups/{g1}", operations).status_code == 204
    assert _members(org, g1) == {u1, u3}
    assert org.patch(f"/Groups/{g1}", operations).status_code == 204
    assert _members(org, g1) == {u1, u3}


def test_entra_remove_with_value_list(org: ScimOrg) -> None:
    """Entra's Remove on members with a value list removes only those members."""
    u1, u2, _, g1 = _setup(org)
    response = org.patch(
        f"/Groups/{g1}", [{"op": "Remove", "path": "members", "value": [{"value": u2}]}]
    )
    assert response.status_code == 204, response.text
    assert _members(org, g1) == {u1}


def test_replace_members_with_empty_list(org: ScimOrg) -> None:
    """Okta's replace of members with [] empties the group and keeps it."""
    _, _, _, g1 = _setup(org)
    response = org.patch(
        f"/Groups/{g1}", [{"op": "replace", "path": "members", "value": []}]
    )
    assert response.status_code == 204, response.text
    assert _members(org, g1) == set()
    assert org.get(f"/Groups/{g1}").json()["displayName"] == "Sales EMEA"


def test_remove_members_without_value_clears(org: ScimOrg) -> None:
    """A remove on members with no value removes every member (RFC 7644 3.5.2.2)."""
    _, _, _, g1 = _setup(org)
    assert (
        org.patch(f"/Groups/{g1}", [{"op": "remove", "path": "members"}]).status_code
        == 204
    )
    assert _members(org, g1) == set()


def test_remove_by_type_filter(org: ScimOrg) -> None:
    """A member filter on type selects members by their resource type."""
    u1, _, _, g1 = _setup(org)
    child = org.create_group("Child")["id"]
    org.patch(
        f"/Groups/{g1}", [{"op": "add", "path": "members", "value": [{"value": child}]}]
    )
    assert child in _members(org, g1)
    org.patch(f"/Groups/{g1}", [{"op": "remove", "path": 'members[type eq "Group"]'}])
    members = _members(org, g1)
    assert child not in members
    assert u1 in members


def test_okta_rename_with_id_in_value(org: ScimOrg) -> None:
    """Okta's path-less replace carrying the read-only id renames the group."""
    _, _, _, g1 = _setup(org)
    response = org.patch(
        f"/Groups/{g1}",
        [{"op": "replace", "value": {"id": g1, "displayName": "Sales"}}],
    )
    assert response.status_code == 204, response.text
    assert org.get(f"/Groups/{g1}").json()["displayName"] == "Sales"


def test_pathless_members_value(org: ScimOrg) -> None:
    """A path-less add whose value contains members adds them."""
    u1, u2, u3, g1 = _setup(org)
    operations = [{"op": "add", "value": {"members": [{"value": u3}]}}]
    assert org.patch(f"/Groups/{g1}", operations).status_code == 204
    assert _members(org, g1) == {u1, u2, u3}


def test_unknown_member_rejected_atomically(org: ScimOrg) -> None:
    """A PATCH naming an unknown member gives 400 invalidValue, changing nothing."""
    u1, u2, u3, g1 = _setup(org)
    missing = str(uuid.uuid4())
    response = org.patch(
        f"/Groups/{g1}",
        [
            {"op": "remove", "path": f'members[value eq "{u1}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": u3}, {"value": missing}],
            },
        ],
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert missing in response.json()["detail"]
    assert _members(org, g1) == {u1, u2}


def test_other_org_member_rejected(org: ScimOrg, other_org: ScimOrg) -> None:
    """A user of another organization cannot become a member."""
    _, _, _, g1 = _setup(org)
    foreign = other_org.create_user("foreign@example.com")["id"]
    response = org.patch(
        f"/Groups/{g1}",
        [{"op": "add", "path": "members", "value": [{"value": foreign}]}],
    )
    assert response.status_code == 400
    assert foreign in response.json()["detail"]
    create = org.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "X",
            "members": [{"value": foreign}],
        },
    )
    assert create.status_code == 400
    assert create.json()["scimType"] == "invalidValue"


def test_non_uuid_member_rejected(org: ScimOrg) -> None:
    """A member value that is no id gives 400 invalidValue."""
    _, _, _, g1 = _setup(org)
    response = org.patch(
        f"/Groups/{g1}",
        [{"op": "add", "path": "members", "value": [{"value": "nope"}]}],
    )
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


def test_put_replaces_member_list(org: ScimOrg) -> None:
    """PUT with a full member list replaces the members."""
    _, u2, u3, g1 = _setup(org)
    body = {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Sales EMEA",
        "members": [{"value": u2}, {"value": u3}],
    }
    response = org.put(f"/Groups/{g1}", body)
    assert response.status_code == 200, response.text
    assert _members(org, g1) == {u2, u3}


def test_excluded_members_not_returned(org: ScimOrg) -> None:
    """excludedAttributes=members leaves members out of GET and list."""
    _, _, _, g1 = _setup(org)
    single = org.get(f"/Groups/{g1}", params={"excludedAttributes": "members"}).json()
    assert "members" not in single
    assert single["displayName"] == "Sales EMEA"
    listed = org.get(
        "/Groups",
        params={
            "excludedAttributes": "members",
            "filter": 'displayName eq "Sales EMEA"',
        },
    ).json()
    assert listed["totalResults"] == 1
    assert "members" not in listed["Resources"][0]


def test_delete_group(org: ScimOrg) -> None:
    """DELETE removes the group and its memberships from users."""
    u1, _, _, g1 = _setup(org)
    assert org.delete(f"/Groups/{g1}").status_code == 204
    assert org.get(f"/Groups/{g1}").status_code == 404
    assert org.get(f"/Users/{u1}").json()["groups"] == []


def test_group_cannot_contain_itself(org: ScimOrg) -> None:
    """A group listed as its own member gives 400."""
    _, _, _, g1 = _setup(org)
    response = org.patch(
        f"/Groups/{g1}", [{"op": "add", "path": "members", "value": [{"value": g1}]}]
    )
    assert response.status_code == 400


def test_nested_group_cycle_allowed(org: ScimOrg) -> None:
    """Groups may nest each other in a cycle, as RFC 7644 section 3.7.1 shows."""
    a = org.create_group("A")["id"]
    b = org.create_group("B", [a])["id"]
    response = org.patch(
        f"/Groups/{a}", [{"op": "add", "path": "members", "value": [{"value": b}]}]
    )
    assert response.status_code == 204
    assert _members(org, a) == {b}
    assert _members(org, b) == {a}


def test_patch_returns_resource_on_request(org: ScimOrg) -> None:
    """A Group PATCH with attributes returns 200 and the requested attributes."""
    u1, _, u3, g1 = _setup(org)
    operations = [{"op": "add", "path": "members", "value": [{"value": u3}]}]
    plain = org.patch(f"/Groups/{g1}", operations)
    assert plain.status_code == 204
    assert plain.content == b""
    assert plain.headers["etag"].startswith('W/"')
    response = org.patch(
        f"/Groups/{g1}",
        [{"op": "replace", "path": "displayName", "value": "Renamed"}],
        params={"attributes": "displayName,members"},
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "Renamed"
    assert u1 in {m["value"] for m in response.json()["members"]}
