"""The Bulk endpoint (RFC 7644 section 3.7)."""

from typing import Any

import pytest

from tests.conftest import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    PATCH_SCHEMA,
    USER_SCHEMA,
    ScimOrg,
)

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
MAX_OPERATIONS = 50
"""``scim_bulk_max_operations`` in the test settings."""
MAX_PAYLOAD_BYTES = 200_000
"""``scim_max_payload_bytes`` in the test settings."""


def _bulk(org: ScimOrg, operations: list[dict[str, Any]], **extra: Any) -> Any:
    body = {"schemas": [BULK_REQUEST], "Operations": operations, **extra}
    return org.post("/Bulk", body)


def _results(
    org: ScimOrg, operations: list[dict[str, Any]], **extra: Any
) -> list[dict[str, Any]]:
    response = _bulk(org, operations, **extra)
    assert response.status_code == 200, response.text
    assert response.json()["schemas"] == [BULK_RESPONSE]
    return list(response.json()["Operations"])


def _post_user(bulk_id: str, user_name: str, **attributes: Any) -> dict[str, Any]:
    data = {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
    return {"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data}


def _post_group(bulk_id: str, name: str, members: list[str]) -> dict[str, Any]:
    data = {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": member} for member in members],
    }
    return {"method": "POST", "path": "/Groups", "bulkId": bulk_id, "data": data}


def _patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def _id_of(result: dict[str, Any]) -> str:
    return str(result["location"].rsplit("/", 1)[1])


def _member_ids(org: ScimOrg, group_id: str) -> set[str]:
    response = org.get(f"/Groups/{group_id}")
    assert response.status_code == 200, response.text
    return {member["value"] for member in response.json().get("members", [])}


def _count(org: ScimOrg, path: str) -> int:
    response = org.get(path, params={"count": 0})
    assert response.status_code == 200
    return int(response.json()["totalResults"])


def _assert_error(result: dict[str, Any], status: str, scim_type: str | None) -> None:
    assert result["status"] == status
    error = result["response"]
    assert error["schemas"] == [ERROR_SCHEMA]
    assert error["status"] == status
    assert error["detail"]
    if scim_type is None:
        assert "scimType" not in error
    else:
        assert error["scimType"] == scim_type


# Creating and referencing


def test_post_user(org: ScimOrg) -> None:
    """A POST operation creates the user and echoes its bulkId."""
    [result] = _results(org, [_post_user("u1", "bulk.one@example.com")])
    assert result["method"] == "POST"
    assert result["bulkId"] == "u1"
    assert result["status"] == "201"
    assert result["version"] == 'W/"1"'
    assert result["location"].endswith(f"/scim/v2/Users/{_id_of(result)}")
    assert result["response"]["userName"] == "bulk.one@example.com"
    fetched = org.get(f"/Users/{_id_of(result)}")
    assert fetched.status_code == 200
    assert fetched.json()["userName"] == "bulk.one@example.com"


def test_group_references_new_user(org: ScimOrg) -> None:
    """A group's member value bulkId:<id> names the user created before it."""
    user, group = _results(
        org,
        [
            _post_user("u1", "member@example.com"),
            _post_group("g1", "Bulk Group", ["bulkId:u1"]),
        ],
    )
    assert user["status"] == "201"
    assert group["status"] == "201"
    assert _member_ids(org, _id_of(group)) == {_id_of(user)}


def test_reference_defined_later(org: ScimOrg) -> None:
    """An operation waits for a bulkId that a later operation creates."""
    results = _results(
        org,
        [
            _post_group("g1", "Early Group", ["bulkId:u1", "bulkId:u2"]),
            _post_user("u1", "late.one@example.com"),
            _post_user("u2", "late.two@example.com"),
        ],
    )
    assert [r["bulkId"] for r in results] == ["g1", "u1", "u2"]
    assert [r["status"] for r in results] == ["201", "201", "201"]
    group, first, second = results
    assert _member_ids(org, _id_of(group)) == {_id_of(first), _id_of(second)}


def test_path_references_bulk_id(org: ScimOrg) -> None:
    """A path /Users/bulkId:<id> targets the user that operation created."""
    results = _results(
        org,
        [
            _post_user("u1", "renamed@example.com"),
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": _patch_body(
                    {"op": "replace", "path": "displayName", "value": "Renamed"}
                ),
            },
        ],
    )
    assert results[1]["status"] == "200"
    assert results[1]["location"] == results[0]["location"]
    assert results[1]["version"] == 'W/"2"'
    fetched = org.get(f"/Users/{_id_of(results[0])}").json()
    assert fetched["displayName"] == "Renamed"


def test_manager_references_bulk_id(org: ScimOrg) -> None:
    """An enterprise manager value may name a user created in the same request."""
    boss, worker = _results(
        org,
        [
            _post_user("boss", "boss@example.com"),
            _post_user(
                "worker",
                "worker@example.com",
                schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
                **{ENTERPRISE_SCHEMA: {"manager": {"value": "bulkId:boss"}}},
            ),
        ],
    )
    assert worker["status"] == "201", worker
    manager = worker["response"][ENTERPRISE_SCHEMA]["manager"]
    assert manager["value"] == _id_of(boss)


def test_patch_put_delete_by_path(org: ScimOrg) -> None:
    """PATCH, PUT and DELETE operations act on the resource their path names."""
    patched = org.create_user("patched@example.com")
    replaced = org.create_user("replaced@example.com", title="Old")
    deleted = org.create_user("deleted@example.com")
    group = org.create_group("Staff")

    results = _results(
        org,
        [
            {
                "method": "PATCH",
                "path": f"/Users/{patched['id']}",
                "data": _patch_body(
                    {"op": "replace", "path": "active", "value": False}
                ),
            },
            {
                "method": "PUT",
                "path": f"/Users/{replaced['id']}",
                "data": {
                    "schemas": [USER_SCHEMA],
                    "userName": "replaced@example.com",
                    "title": "New",
                },
            },
            {"method": "DELETE", "path": f"/Users/{deleted['id']}"},
            {
                "method": "PATCH",
                "path": f"/Groups/{group['id']}",
                "data": _patch_body(
                    {
                        "op": "add",
                        "path": "members",
                        "value": [{"value": patched["id"]}],
                    }
                ),
            },
        ],
    )
    assert [r["status"] for r in results] == ["200", "200", "204", "200"]
    assert results[0]["location"] == patched["meta"]["location"]
    assert results[0]["version"] == 'W/"2"'
    assert results[2]["location"] == deleted["meta"]["location"]
    assert org.get(f"/Users/{patched['id']}").json()["active"] is False
    assert org.get(f"/Users/{replaced['id']}").json()["title"] == "New"
    assert org.get(f"/Users/{deleted['id']}").status_code == 404
    assert _member_ids(org, group["id"]) == {patched["id"]}


def test_lowercase_method(org: ScimOrg) -> None:
    """The method name is read without regard to case."""
    [result] = _results(
        org, [{**_post_user("u1", "lower@example.com"), "method": "post"}]
    )
    assert result["status"] == "201"


# Circular references


def test_circular_groups_resolved(org: ScimOrg) -> None:
    """Two groups that name each other as members are both created."""
    first, second = _results(
        org,
        [
            _post_group("a", "Group A", ["bulkId:b"]),
            _post_group("b", "Group B", ["bulkId:a"]),
        ],
    )
    assert first["status"] == "201", first
    assert second["status"] == "201", second
    assert _member_ids(org, _id_of(first)) == {_id_of(second)}
    assert _member_ids(org, _id_of(second)) == {_id_of(first)}
    assert {m["value"] for m in first["response"]["members"]} == {_id_of(second)}
    assert first["version"] == org.get(f"/Groups/{_id_of(first)}").headers["etag"]


def test_circular_groups_with_user(org: ScimOrg) -> None:
    """A cycle of three groups that also names a new user resolves."""
    results = _results(
        org,
        [
            _post_group("a", "Cycle A", ["bulkId:c", "bulkId:u"]),
            _post_group("b", "Cycle B", ["bulkId:a"]),
            _post_group("c", "Cycle C", ["bulkId:b"]),
            _post_user("u", "cycle.user@example.com"),
        ],
    )
    assert [r["status"] for r in results] == ["201", "201", "201", "201"]
    a, b, c, user = (_id_of(r) for r in results)
    assert _member_ids(org, a) == {c, user}
    assert _member_ids(org, b) == {a}
    assert _member_ids(org, c) == {b}


def test_circular_users_rejected(org: ScimOrg) -> None:
    """Users that name each other as manager fail with 409 and none is stored."""
    results = _results(
        org,
        [
            _post_user(
                "u1",
                "first.cycle@example.com",
                schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
                **{ENTERPRISE_SCHEMA: {"manager": {"value": "bulkId:u2"}}},
            ),
            _post_user(
                "u2",
                "second.cycle@example.com",
                schemas=[USER_SCHEMA, ENTERPRISE_SCHEMA],
                **{ENTERPRISE_SCHEMA: {"manager": {"value": "bulkId:u1"}}},
            ),
        ],
    )
    for result in results:
        _assert_error(result, "409", None)
        assert "location" not in result
    assert _count(org, "/Users") == 0


def test_group_member_of_itself_rejected(org: ScimOrg) -> None:
    """A group that names its own bulkId as member fails and is not stored."""
    [result] = _results(org, [_post_group("a", "Selfish", ["bulkId:a"])])
    assert result["status"] == "400"
    assert result["response"]["scimType"] == "invalidValue"
    assert _count(org, "/Groups") == 0


def test_cycle_member_fails(org: ScimOrg) -> None:
    """A cycle whose other group fails leaves no half-created group behind."""
    results = _results(
        org,
        [
            _post_group("a", "Half A", ["bulkId:b"]),
            _post_group("b", "Half B", ["bulkId:a", "not-a-member-id"]),
        ],
    )
    assert [r["status"] for r in results] == ["400", "400"]
    assert _count(org, "/Groups") == 0


def test_cycle_group_deleted_meanwhile(org: ScimOrg) -> None:
    """A failed cycle whose group a later operation deleted still completes."""
    results = _results(
        org,
        [
            _post_group("a", "Gone A", ["bulkId:b"]),
            _post_group("b", "Gone B", ["bulkId:a", "not-a-member-id"]),
            {"method": "DELETE", "path": "/Groups/bulkId:a"},
        ],
    )
    assert [r["status"] for r in results] == ["400", "400", "204"]
    assert _count(org, "/Groups") == 0


def test_unknown_bulk_id(org: ScimOrg) -> None:
    """A reference to a bulkId that no operation defines fails that operation."""
    [result] = _results(org, [_post_group("g", "Orphans", ["bulkId:nobody"])])
    _assert_error(result, "400", "invalidValue")
    assert "bulkId:nobody" in result["response"]["detail"]
    assert _count(org, "/Groups") == 0


def test_reference_to_failed_operation(org: ScimOrg) -> None:
    """An operation that references a failed POST fails too."""
    bad_user, group = _results(
        org,
        [
            _post_user("u", ""),
            _post_group("g", "Dependent", ["bulkId:u"]),
        ],
    )
    assert bad_user["status"] == "400"
    _assert_error(group, "400", "invalidValue")
    assert _count(org, "/Groups") == 0


# Errors


def test_fail_on_errors_stops(org: ScimOrg) -> None:
    """failOnErrors=N stops the request after the Nth failed operation."""
    operations = [
        _post_user("bad1", ""),
        _post_user("ok1", "kept@example.com"),
        _post_user("bad2", ""),
        _post_user("ok2", "never@example.com"),
    ]
    results = _results(org, operations, failOnErrors=2)
    assert [r["bulkId"] for r in results] == ["bad1", "ok1", "bad2"]
    assert [r["status"] for r in results] == ["400", "201", "400"]
    assert _count(org, "/Users") == 1

    only_first = _results(org, operations, failOnErrors=1)
    assert [r["bulkId"] for r in only_first] == ["bad1"]


def test_errors_do_not_stop_by_default(org: ScimOrg) -> None:
    """Without failOnErrors, every operation runs whatever fails."""
    results = _results(
        org,
        [
            _post_user("bad1", ""),
            _post_user("ok", "runs@example.com"),
            _post_user("bad2", ""),
        ],
    )
    assert [r["status"] for r in results] == ["400", "201", "400"]


def test_fail_on_errors_discards_unfinished_cycle(org: ScimOrg) -> None:
    """Stopping early never leaves a group of a cycle without its members."""
    results = _results(
        org,
        [
            _post_group("a", "Stop A", ["bulkId:b"]),
            _post_group("b", "Stop B", ["bulkId:a", "not-a-member-id"]),
        ],
        failOnErrors=1,
    )
    assert all(r["status"] != "201" for r in results)
    assert _count(org, "/Groups") == 0


def test_uniqueness_conflict(org: ScimOrg) -> None:
    """A second POST of the same userName fails with 409 uniqueness."""
    first, second = _results(
        org,
        [_post_user("a", "twin@example.com"), _post_user("b", "TWIN@example.com")],
    )
    assert first["status"] == "201"
    _assert_error(second, "409", "uniqueness")
    assert second["bulkId"] == "b"
    assert "location" not in second


def test_version_mismatch(org: ScimOrg) -> None:
    """An operation whose version does not match fails with 412."""
    user = org.create_user("versioned@example.com", title="Before")
    stale = 'W/"999"'
    results = _results(
        org,
        [
            {
                "method": "PATCH",
                "path": f"/Users/{user['id']}",
                "version": stale,
                "data": _patch_body({"op": "replace", "path": "title", "value": "X"}),
            },
            {
                "method": "PUT",
                "path": f"/Users/{user['id']}",
                "version": stale,
                "data": {"schemas": [USER_SCHEMA], "userName": "versioned@example.com"},
            },
            {"method": "DELETE", "path": f"/Users/{user['id']}", "version": stale},
        ],
    )
    for result in results:
        _assert_error(result, "412", None)
        assert result["location"] == user["meta"]["location"]
        assert result.get("version") != stale
    fetched = org.get(f"/Users/{user['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["title"] == "Before"
    assert fetched.json()["meta"]["version"] == user["meta"]["version"]


def test_matching_version_applies(org: ScimOrg) -> None:
    """An operation whose version matches is applied."""
    user = org.create_user("current@example.com")
    [result] = _results(
        org,
        [
            {
                "method": "PATCH",
                "path": f"/Users/{user['id']}",
                "version": user["meta"]["version"],
                "data": _patch_body({"op": "replace", "path": "title", "value": "Y"}),
            }
        ],
    )
    assert result["status"] == "200"
    assert result["version"] == 'W/"2"'


def test_version_must_be_string(org: ScimOrg) -> None:
    """A version that is no string fails that operation with 400."""
    user = org.create_user("numeric.version@example.com")
    [result] = _results(
        org, [{"method": "DELETE", "path": f"/Users/{user['id']}", "version": 1}]
    )
    _assert_error(result, "400", "invalidValue")
    assert org.get(f"/Users/{user['id']}").status_code == 200


def test_failed_put_changes_nothing(org: ScimOrg) -> None:
    """A PUT with an invalid body fails and the user keeps its data."""
    user = org.create_user("kept.put@example.com", title="Kept")
    [result] = _results(
        org,
        [
            {
                "method": "PUT",
                "path": f"/Users/{user['id']}",
                "data": {"schemas": [USER_SCHEMA], "userName": "", "title": "Lost"},
            }
        ],
    )
    _assert_error(result, "400", "invalidValue")
    assert result["location"] == user["meta"]["location"]
    fetched = org.get(f"/Users/{user['id']}").json()
    assert fetched["title"] == "Kept"
    assert fetched["meta"]["version"] == user["meta"]["version"]


def test_failed_patch_changes_nothing(org: ScimOrg) -> None:
    """A group PATCH with one invalid operation applies none of them."""
    member = org.create_user("member.keep@example.com")
    newcomer = org.create_user("newcomer@example.com")
    group = org.create_group("Unchanged", [member["id"]])
    [result] = _results(
        org,
        [
            {
                "method": "PATCH",
                "path": f"/Groups/{group['id']}",
                "data": _patch_body(
                    {"op": "replace", "path": "displayName", "value": "Changed"},
                    {
                        "op": "add",
                        "path": "members",
                        "value": [{"value": newcomer["id"]}],
                    },
                    {
                        "op": "add",
                        "path": "members",
                        "value": [{"value": "9f0c8a59-0000-4000-8000-000000000000"}],
                    },
                ),
            }
        ],
    )
    _assert_error(result, "400", "invalidValue")
    fetched = org.get(f"/Groups/{group['id']}").json()
    assert fetched["displayName"] == "Unchanged"
    assert fetched["meta"]["version"] == group["meta"]["version"]
    assert _member_ids(org, group["id"]) == {member["id"]}


def test_missing_resource(org: ScimOrg, other_org: ScimOrg) -> None:
    """A path naming another organization's user fails with 404."""
    foreign = other_org.create_user("foreign@example.com")
    [result] = _results(
        org,
        [
            {
                "method": "PATCH",
                "path": f"/Users/{foreign['id']}",
                "data": _patch_body({"op": "replace", "path": "title", "value": "Z"}),
            }
        ],
    )
    _assert_error(result, "404", None)
    assert "title" not in other_org.get(f"/Users/{foreign['id']}").json()


@pytest.mark.parametrize(
    "operation",
    [
        {
            "method": "POST",
            "path": "/Users",
            "data": {"schemas": [USER_SCHEMA], "userName": "x"},
        },
        {"method": "POST", "path": "/Users/some-id", "bulkId": "p"},
        {"method": "GET", "path": "/Users"},
        {"method": "PATCH", "path": "/Users"},
        {"method": "DELETE", "path": "/Widgets/1"},
        {"path": "/Users/1"},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": "not an object"},
    ],
)
def test_invalid_operation(org: ScimOrg, operation: dict[str, Any]) -> None:
    """An operation with a wrong method, path or body fails with 400."""
    [result] = _results(org, [operation])
    _assert_error(result, "400", "invalidValue")
    assert _count(org, "/Users") == 0


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": []}, "invalidValue"),
        ({"schemas": [BULK_REQUEST]}, "invalidSyntax"),
        (
            {"schemas": [BULK_REQUEST], "Operations": {"method": "POST"}},
            "invalidSyntax",
        ),
        ({"schemas": [BULK_REQUEST], "Operations": ["POST"]}, "invalidSyntax"),
        (
            {"schemas": [BULK_REQUEST], "Operations": [], "failOnErrors": 0},
            "invalidValue",
        ),
        (
            {"schemas": [BULK_REQUEST], "Operations": [], "failOnErrors": "1"},
            "invalidValue",
        ),
        (
            {
                "schemas": [BULK_REQUEST],
                "Operations": [
                    _post_user("same", "one.dup@example.com"),
                    _post_user("same", "two.dup@example.com"),
                ],
            },
            "invalidValue",
        ),
    ],
)
def test_invalid_request(org: ScimOrg, body: dict[str, Any], scim_type: str) -> None:
    """A malformed Bulk request fails as a whole with 400 and runs nothing."""
    response = org.post("/Bulk", body)
    assert response.status_code == 400, response.text
    assert response.json()["schemas"] == [ERROR_SCHEMA]
    assert response.json()["scimType"] == scim_type
    assert _count(org, "/Users") == 0


def test_non_object_body(org: ScimOrg) -> None:
    """A Bulk body that is no JSON object gives 400 invalidSyntax."""
    response = org.post("/Bulk", [1, 2])
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidSyntax"


def test_empty_operations(org: ScimOrg) -> None:
    """A Bulk request without operations returns an empty response."""
    assert _results(org, []) == []


# Limits


def test_max_operations_accepted(org: ScimOrg) -> None:
    """Exactly maxOperations operations run."""
    operations = [
        _post_user(f"u{i}", f"limit{i}@example.com") for i in range(MAX_OPERATIONS)
    ]
    results = _results(org, operations)
    assert len(results) == MAX_OPERATIONS
    assert {r["status"] for r in results} == {"201"}


def test_too_many_operations(org: ScimOrg) -> None:
    """More than maxOperations operations give 413 and run nothing."""
    operations = [
        _post_user(f"u{i}", f"over{i}@example.com") for i in range(MAX_OPERATIONS + 1)
    ]
    response = _bulk(org, operations)
    assert response.status_code == 413
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == "413"
    assert str(MAX_OPERATIONS) in body["detail"]
    assert response.headers["content-type"].startswith("application/scim+json")
    assert _count(org, "/Users") == 0


def test_payload_too_large(org: ScimOrg) -> None:
    """A body above maxPayloadSize gives 413 and runs nothing."""
    operation = _post_user("big", "big@example.com", title="x" * MAX_PAYLOAD_BYTES)
    response = _bulk(org, [operation])
    assert response.status_code == 413
    assert response.json()["schemas"] == [ERROR_SCHEMA]
    assert response.json()["status"] == "413"
    assert _count(org, "/Users") == 0


def test_payload_just_under_limit(org: ScimOrg) -> None:
    """A body just under maxPayloadSize is accepted."""
    operation = _post_user("fits", "fits@example.com", title="x" * 1000)
    response = _bulk(org, [operation])
    assert response.status_code == 200


def test_bulk_requires_token(org: ScimOrg) -> None:
    """A Bulk request without a bearer token gives 401."""
    response = org.client.post(
        "/scim/v2/Bulk", json={"schemas": [BULK_REQUEST], "Operations": []}
    )
    assert response.status_code == 401
