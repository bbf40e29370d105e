"""Every failure under /scim/v2 is a SCIM Error body with the SCIM media type."""

import pytest
from starlette.testclient import TestClient

from tests.conftest import USER_SCHEMA, ScimOrg

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def _assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body["scimType"] == scim_type
    return dict(body)


@pytest.mark.parametrize(
    "raw_id", ["010101001010101011001010101011", "00919288221112222", "not-a-uuid"]
)
def test_non_uuid_id_gives_404(org: ScimOrg, raw_id: str) -> None:
    """An id that is no UUID gives a SCIM 404 for every method, never 422."""
    _assert_scim_error(org.get(f"/Users/{raw_id}"), 404)
    _assert_scim_error(org.get(f"/Groups/{raw_id}"), 404)
    body = {"schemas": [USER_SCHEMA], "userName": "x@example.com"}
    _assert_scim_error(org.put(f"/Users/{raw_id}", body), 404)
    _assert_scim_error(
        org.patch(
            f"/Users/{raw_id}", [{"op": "replace", "path": "active", "value": False}]
        ),
        404,
    )
    _assert_scim_error(org.delete(f"/Users/{raw_id}"), 404)


@pytest.mark.parametrize(
    "authorization",
    [None, "non-token", "Bearer wrong-token", "Bearer ", "Basic dXNlcjpwYXNz"],
)
def test_bad_credentials_give_401(
    client: TestClient, authorization: str | None
) -> None:
    """A missing or invalid bearer token gives 401 with WWW-Authenticate."""
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get("/scim/v2/Users", headers=headers)
    _assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_revoked_token_gives_401(org: ScimOrg) -> None:
    """A revoked token stops working at once."""
    services = org.client.app.state.services  # type: ignore[attr-defined]

    async def revoke() -> None:
        record = await services.orgs.get(org.slug)
        tokens = await services.scim_tokens.list(record)
        assert await services.scim_tokens.revoke(record, tokens[0].prefix)

    assert org.client.portal is not None
    org.client.portal.call(revoke)
    _assert_scim_error(org.get("/Users"), 401)


def test_suspended_org_gives_403(org: ScimOrg) -> None:
    """A suspended organization's requests get 403; reactivation restores access."""
    from scimbridge.directory.models import OrgStatus

    services = org.client.app.state.services  # type: ignore[attr-defined]
    assert org.client.portal is not None
    org.client.portal.call(services.orgs.set_status, org.slug, OrgStatus.suspended)
    _assert_scim_error(org.get("/Users"), 403)
    org.client.portal.call(services.orgs.set_status, org.slug, OrgStatus.active)
    assert org.get("/Users").status_code == 200


def test_invalid_json_gives_400(org: ScimOrg) -> None:
    """A body that is not JSON gives 400 invalidSyntax and stores nothing."""
    response = org.client.post(
        "/scim/v2/Users", content=b'{"userName": ', headers=org.headers
    )
    _assert_scim_error(response, 400, "invalidSyntax")
    assert org.get("/Users").json()["totalResults"] == 0


def test_unsupported_media_type_gives_415(org: ScimOrg) -> None:
    """A body sent as text/xml gives 415."""
    headers = {**org.headers, "Content-Type": "text/xml"}
    response = org.client.post("/scim/v2/Users", content=b"<x/>", headers=headers)
    _assert_scim_error(response, 415)


def test_plain_json_and_no_content_type_accepted(org: ScimOrg) -> None:
    """application/json and a missing Content-Type are both accepted."""
    body = b'{"schemas": ["%s"], "userName": "a@example.com"}' % USER_SCHEMA.encode()
    plain = {
        "Authorization": org.headers["Authorization"],
        "Content-Type": "application/json",
    }
    assert (
        org.client.post("/scim/v2/Users", content=body, headers=plain).status_code
        == 201
    )
    bare = {"Authorization": org.headers["Authorization"]}
    body = body.replace(b"a@example.com", b"b@example.com")
    assert (
        org.client.post("/scim/v2/Users", content=body, headers=bare).status_code == 201
    )


def test_oversized_body_gives_413(org: ScimOrg) -> None:
    """A body above the maximum payload size gives 413."""
    body = {
        "schemas": [USER_SCHEMA],
        "userName": "big@example.com",
        "nickName": "x" * 300_000,
    }
    _assert_scim_error(org.post("/Users", body), 413)


def test_missing_required_attribute(org: ScimOrg) -> None:
    """A User without userName gives 400."""
    _assert_scim_error(org.post("/Users", {"schemas": [USER_SCHEMA]}), 400)


def test_missing_schemas_rejected(org: ScimOrg) -> None:
    """A User without schemas gives 400 invalidValue."""
    _assert_scim_error(
        org.post("/Users", {"userName": "x@example.com"}), 400, "invalidValue"
    )


def test_wrong_type_value_rejected(org: ScimOrg) -> None:
    """A boolean attribute given an object gives 400."""
    body = {"schemas": [USER_SCHEMA], "userName": "x@example.com", "active": {"a": 1}}
    _assert_scim_error(org.post("/Users", body), 400)


def test_invalid_patch_op(org: ScimOrg) -> None:
    """An unknown PATCH op gives 400 and changes nothing."""
    user = org.create_user("x@example.com")
    response = org.patch(f"/Users/{user['id']}", [{"op": "move", "path": "active"}])
    _assert_scim_error(response, 400)


def test_patch_without_operations(org: ScimOrg) -> None:
    """A PatchOp with no operations gives 400."""
    user = org.create_user("x@example.com")
    response = org.client.patch(
        f"/scim/v2/Users/{user['id']}",
        json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]},
        headers=org.headers,
    )
    _assert_scim_error(response, 400)


def test_unknown_endpoint_gives_404(org: ScimOrg) -> None:
    """An unknown path under /scim/v2 gives a SCIM 404."""
    _assert_scim_error(org.get("/Widgets"), 404)


def test_wrong_method_gives_405(org: ScimOrg) -> None:
    """DELETE on the collection gives a SCIM 405."""
    _assert_scim_error(org.delete("/Users"), 405)


def test_server_error_is_scim_error(
    org: ScimOrg, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception gives a SCIM 500 without a traceback."""
    services = org.client.app.state.services  # type: ignore[attr-defined]

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal state")

    monkeypatch.setattr(services.directory, "user_page", broken)
    body = _assert_scim_error(org.get("/Users"), 500)
    assert "secret" not in body["detail"]
    assert "Traceback" not in body["detail"]


def test_patch_value_error_detail_is_plain(org: ScimOrg) -> None:
    """A PATCH value of the wrong type names the attribute, not pydantic internals."""
    user = org.create_user("x@example.com")
    response = org.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "active", "value": "maybe"}]
    )
    body = _assert_scim_error(response, 400, "invalidValue")
    assert "active" in body["detail"]
    assert "pydantic" not in body["detail"]
    assert "\n" not in body["detail"]


def test_deeply_nested_body_gives_400(org: ScimOrg) -> None:
    """A body nesting thousands of arrays gives 400 invalidSyntax, not 500."""
    nested = "[" * 5000 + "]" * 5000
    body = f'{{"schemas": ["{USER_SCHEMA}"], "userName": "q", "x": {nested}}}'
    response = org.client.post(
        "/scim/v2/Users", content=body.encode(), headers=org.headers
    )
    _assert_scim_error(response, 400, "invalidSyntax")


def test_nul_character_rejected(org: ScimOrg) -> None:
    """A string holding NUL gives 400 invalidValue; PostgreSQL cannot store it."""
    body = {"schemas": [USER_SCHEMA], "userName": "nul\u0000x@example.com"}
    _assert_scim_error(org.post("/Users", body), 400, "invalidValue")
    assert org.get("/Users").json()["totalResults"] == 0


def test_overlong_string_rejected(org: ScimOrg) -> None:
    """A userName of 5,000 characters gives 400 invalidValue."""
    body = {"schemas": [USER_SCHEMA], "userName": "a" * 5000}
    _assert_scim_error(org.post("/Users", body), 400, "invalidValue")


def test_patch_without_schemas_rejected(org: ScimOrg) -> None:
    """A PATCH body without the PatchOp schema gives 400 and changes nothing."""
    user = org.create_user("x@example.com")
    response = org.client.patch(
        f"/scim/v2/Users/{user['id']}",
        json={"Operations": [{"op": "replace", "path": "active", "value": False}]},
        headers=org.headers,
    )
    _assert_scim_error(response, 400, "invalidValue")
    assert org.get(f"/Users/{user['id']}").json()["active"] is True


def test_filter_term_limit(org: ScimOrg) -> None:
    """A filter of 2,000 comparisons gives 400 invalidFilter, not 500."""
    terms = " or ".join(f'userName eq "u{i}@example.com"' for i in range(2000))
    response = org.post(
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": terms,
        },
    )
    _assert_scim_error(response, 400, "invalidFilter")


def test_string_compared_with_number(org: ScimOrg) -> None:
    """userName gt 5 gives 400 invalidFilter rather than matching every user."""
    org.create_user("x@example.com")
    _assert_scim_error(
        org.get("/Users", params={"filter": "userName gt 5"}), 400, "invalidFilter"
    )


@pytest.mark.parametrize("sort_by", ["userName;drop table users", "foo", "name"])
def test_invalid_sort_gives_400(org: ScimOrg, sort_by: str) -> None:
    """An invalid sortBy gives 400 invalidValue, with or without matches."""
    _assert_scim_error(
        org.get("/Users", params={"sortBy": sort_by}), 400, "invalidValue"
    )
    org.create_user("x@example.com")
    _assert_scim_error(
        org.get("/Users", params={"sortBy": sort_by}), 400, "invalidValue"
    )
