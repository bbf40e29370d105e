"""A token of organization B can neither read nor change organization A's data.

Another organization's resources return 404, never 403, so their existence
does not leak.
"""

from tests.conftest import GROUP_SCHEMA, USER_SCHEMA, ScimOrg


def _seed(org: ScimOrg) -> tuple[dict, dict]:
    user = org.create_user("jane.doe@example.com", externalId="ext-0001")
    group = org.create_group("Sales EMEA", [user["id"]])
    return user, group


def test_get_by_id_gives_404(org: ScimOrg, other_org: ScimOrg) -> None:
    """GET of A's user or group with B's token gives 404."""
    user, group = _seed(org)
    assert other_org.get(f"/Users/{user['id']}").status_code == 404
    assert other_org.get(f"/Groups/{group['id']}").status_code == 404


def test_list_and_filter_see_nothing(org: ScimOrg, other_org: ScimOrg) -> None:
    """B's lists, filters and searches never return A's resources."""
    user, group = _seed(org)
    assert other_org.get("/Users").json()["totalResults"] == 0
    assert other_org.get("/Groups").json()["totalResults"] == 0
    found = other_org.get(
        "/Users", params={"filter": 'userName eq "jane.doe@example.com"'}
    )
    assert found.json()["totalResults"] == 0
    found = other_org.get("/Users", params={"filter": f'id eq "{user["id"]}"'})
    assert found.json()["totalResults"] == 0
    found = other_org.get(
        "/Groups", params={"filter": f'members.value eq "{user["id"]}"'}
    )
    assert found.json()["totalResults"] == 0
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    assert other_org.post("/.search", search).json()["totalResults"] == 0
    assert other_org.post("/Users/.search", search).json()["totalResults"] == 0
    assert other_org.post("/Groups/.search", search).json()["totalResults"] == 0


def test_writes_give_404_and_change_nothing(org: ScimOrg, other_org: ScimOrg) -> None:
    """PUT, PATCH and DELETE on A's resources with B's token give 404."""
    user, group = _seed(org)
    replacement = {
        "schemas": [USER_SCHEMA],
        "userName": "evil@example.com",
        "active": False,
    }
    assert other_org.put(f"/Users/{user['id']}", replacement).status_code == 404
    deactivate = [{"op": "replace", "path": "active", "value": False}]
    assert other_org.patch(f"/Users/{user['id']}", deactivate).status_code == 404
    assert other_org.delete(f"/Users/{user['id']}").status_code == 404
    group_body = {"schemas": [GROUP_SCHEMA], "displayName": "Evil"}
    assert other_org.put(f"/Groups/{group['id']}", group_body).status_code == 404
    clear = [{"op": "replace", "path": "members", "value": []}]
    assert other_org.patch(f"/Groups/{group['id']}", clear).status_code == 404
    assert other_org.delete(f"/Groups/{group['id']}").status_code == 404

    fetched = org.get(f"/Users/{user['id']}").json()
    assert fetched["userName"] == "jane.doe@example.com"
    assert fetched["active"] is True
    members = org.get(f"/Groups/{group['id']}").json()["members"]
    assert [m["value"] for m in members] == [user["id"]]


def test_bulk_cannot_reach_other_org(org: ScimOrg, other_org: ScimOrg) -> None:
    """Bulk operations with B's token on A's ids fail with 404 each."""
    user, group = _seed(org)
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "DELETE", "path": f"/Users/{user['id']}"},
            {
                "method": "PATCH",
                "path": f"/Groups/{group['id']}",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "remove", "path": "members"}],
                },
            },
        ],
    }
    response = other_org.post("/Bulk", body)
    assert response.status_code == 200
    statuses = [operation["status"] for operation in response.json()["Operations"]]
    assert statuses == ["404", "404"]
    assert org.get(f"/Users/{user['id']}").status_code == 200
    assert len(org.get(f"/Groups/{group['id']}").json()["members"]) == 1


def test_group_member_from_other_org_rejected(org: ScimOrg, other_org: ScimOrg) -> None:
    """B cannot add A's user to B's group."""
    user, _ = _seed(org)
    group = other_org.create_group("B group")
    response = other_org.patch(
        f"/Groups/{group['id']}",
        [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}],
    )
    assert response.status_code == 400
    groups = org.get(f"/Users/{user['id']}").json()["groups"]
    assert group["id"] not in {g["value"] for g in groups}
    assert other_org.get(f"/Groups/{group['id']}").json()["members"] == []
