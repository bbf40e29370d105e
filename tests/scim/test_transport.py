"""Transport details: trailing slashes, missing headers and the access log."""

import logging

import pytest

from tests.conftest import USER_SCHEMA, ScimOrg


def test_trailing_slash_served(org: ScimOrg) -> None:
    """/Users/ and /Users/{id}/ are served like their slash-less forms."""
    user = org.create_user("slash@example.com")
    assert org.get("/Users/").status_code == 200
    assert org.get(f"/Users/{user['id']}/").json()["id"] == user["id"]
    body = {"schemas": [USER_SCHEMA], "userName": "slash2@example.com"}
    assert org.post("/Users/", body).status_code == 201


def test_no_user_agent_or_accept(org: ScimOrg) -> None:
    """A GET with only Authorization (Entra's Test Connection) succeeds."""
    response = org.client.get(
        "/scim/v2/Users",
        params={"filter": 'userName eq "0b0c5f3e-1b7a-4a44-a1c2-000000000000"'},
        headers={"Authorization": org.headers["Authorization"], "User-Agent": ""},
    )
    assert response.status_code == 200
    assert response.json()["totalResults"] == 0


def test_access_log_has_ids_not_token(
    org: ScimOrg, caplog: pytest.LogCaptureFixture
) -> None:
    """Each request logs org id, method, path, status, never the token or body."""
    with caplog.at_level(logging.INFO, logger="scimbridge"):
        org.create_user("logged@example.com", nickName="private-body-value")
        org.get("/Users", params={"filter": 'userName eq "logged@example.com"'})
    access = [r.getMessage() for r in caplog.records if r.name == "scimbridge.access"]
    assert any(
        f"org_id={org.id}" in line and "method=POST" in line and "status=201" in line
        for line in access
    )
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert org.token not in text
    # The secret part follows the second "_" and may itself contain "_".
    assert org.token.split("_", 2)[2] not in text
    assert "private-body-value" not in text
    assert "logged@example.com" not in text
