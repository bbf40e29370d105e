"""Who may call which admin endpoint: the platform admin, and org admins in their org.

These tests run on the shared test database, so on PostgreSQL too when
``SCIMBRIDGE_TEST_DATABASE_URL`` is set.
"""

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from scimbridge.app import create_app
from scimbridge.config import Settings
from tests.admin.org_admin import (
    PLATFORM,
    Tenant,
    assert_admin_error,
    new_tenant,
    seed_resources,
    snapshot,
)
from tests.conftest import ADMIN_TOKEN

# Every endpoint on one organization, with a body that would succeed. The
# placeholders name the organization and resources that seed_resources creates.
ORG_ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/admin/organizations/{org}", None),
    ("POST", "/admin/organizations/{org}/suspend", None),
    ("POST", "/admin/organizations/{org}/activate", None),
    ("POST", "/admin/organizations/{org}/scim-tokens", None),
    ("GET", "/admin/organizations/{org}/scim-tokens", None),
    ("DELETE", "/admin/organizations/{org}/scim-tokens/{scim_prefix}", None),
    ("POST", "/admin/organizations/{org}/admin-tokens", None),
    ("GET", "/admin/organizations/{org}/admin-tokens", None),
    ("DELETE", "/admin/organizations/{org}/admin-tokens/{admin_prefix}", None),
    ("POST", "/admin/organizations/{org}/domains", {"domain": "new.example"}),
    ("GET", "/admin/organizations/{org}/domains", None),
    ("DELETE", "/admin/organizations/{org}/domains/{domain}", None),
    ("POST", "/admin/organizations/{org}/domains/{domain}/verify", None),
    ("GET", "/admin/organizations/{org}/login-policy", None),
    (
        "PUT",
        "/admin/organizations/{org}/login-policy",
        {
            "link_by": "email",
            "jit_provisioning": True,
            "session_lifetime_seconds": 3600,
        },
    ),
    ("POST", "/admin/organizations/{org}/roles", {"name": "auditor"}),
    ("GET", "/admin/organizations/{org}/roles", None),
    ("DELETE", "/admin/organizations/{org}/roles/{role_id}", None),
    (
        "POST",
        "/admin/organizations/{org}/role-mappings",
        {"role_id": "{role_id}", "source": "scim_group", "value": "Auditors"},
    ),
    ("GET", "/admin/organizations/{org}/role-mappings", None),
    ("DELETE", "/admin/organizations/{org}/role-mappings/{mapping_id}", None),
]

# The endpoints an org admin token may not use, even on its own organization.
PLATFORM_ONLY: list[tuple[str, str, Any]] = [
    ("POST", "/admin/organizations", {"slug": "initech"}),
    ("GET", "/admin/organizations", None),
    ("POST", "/admin/organizations/{org}/suspend", None),
    ("POST", "/admin/organizations/{org}/activate", None),
    ("POST", "/admin/organizations/{org}/admin-tokens", None),
    ("GET", "/admin/organizations/{org}/admin-tokens", None),
    ("DELETE", "/admin/organizations/{org}/admin-tokens/{admin_prefix}", None),
    ("POST", "/admin/organizations/{org}/domains/{domain}/verify", None),
]

# The endpoints an org admin token may use on its own organization.
DELEGATED = [endpoint for endpoint in ORG_ENDPOINTS if endpoint not in PLATFORM_ONLY]


def _endpoint_id(endpoint: tuple[str, str, Any]) -> str:
    method, path, _ = endpoint
    return f"{method} {path.removeprefix('/admin/organizations')}"


def _fill(template: Any, values: dict[str, str]) -> Any:
    """Replace the placeholders in a path or body with ``values``."""
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    return template


def _request(
    client: TestClient,
    endpoint: tuple[str, str, Any],
    values: dict[str, str],
    headers: dict[str, str],
) -> Any:
    method, path, body = endpoint
    return client.request(
        method, _fill(path, values), json=_fill(body, values), headers=headers
    )


@pytest.fixture
def acme(client: TestClient) -> Tenant:
    return new_tenant(client)


@pytest.fixture
def globex(client: TestClient) -> Tenant:
    return new_tenant(client)


# Cross-organization isolation


@pytest.mark.parametrize("endpoint", ORG_ENDPOINTS, ids=_endpoint_id)
@pytest.mark.parametrize("spelling", ["slug", "id"])
def test_other_org_token_gets_404(
    client: TestClient,
    acme: Tenant,
    globex: Tenant,
    endpoint: tuple[str, str, Any],
    spelling: str,
) -> None:
    """Org B's admin token on any path of org A gets 404 and changes nothing."""
    values = seed_resources(client, acme)
    values["org"] = acme.slug if spelling == "slug" else acme.id
    before = snapshot(client, acme)

    response = _request(client, endpoint, values, globex.headers)

    assert_admin_error(response, 404, "not_found")
    assert response.json()["error_description"] == (
        f"no organization has the slug or id {values['org']!r}"
    )
    assert snapshot(client, acme) == before


@pytest.mark.parametrize("endpoint", ORG_ENDPOINTS, ids=_endpoint_id)
def test_other_org_looks_like_missing_org(
    client: TestClient, globex: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    """A path naming no organization gets the same 404 as another org's path."""
    values = {
        "org": "nobody-" + uuid.uuid4().hex[:8],
        "scim_prefix": "0000abcd",
        "admin_prefix": "0000abcd",
        "domain": "nobody.example",
        "role_id": str(uuid.uuid4()),
        "mapping_id": str(uuid.uuid4()),
    }

    response = _request(client, endpoint, values, globex.headers)

    assert_admin_error(response, 404, "not_found")
    assert response.json()["error_description"] == (
        f"no organization has the slug or id {values['org']!r}"
    )


@pytest.mark.parametrize("endpoint", DELEGATED, ids=_endpoint_id)
def test_own_org_token_is_accepted(
    client: TestClient, acme: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    """An org admin token reaches every delegated endpoint of its own organization."""
    values = seed_resources(client, acme)
    values["org"] = acme.slug

    response = _request(client, endpoint, values, acme.headers)

    assert response.status_code in (200, 201, 204), response.text


@pytest.mark.parametrize("endpoint", PLATFORM_ONLY, ids=_endpoint_id)
def test_platform_only_endpoint_gets_403(
    client: TestClient, acme: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    """An org admin token gets 403 on platform-only endpoints and changes nothing."""
    values = seed_resources(client, acme)
    values["org"] = acme.slug
    before = snapshot(client, acme)

    response = _request(client, endpoint, values, acme.headers)

    assert_admin_error(response, 403, "forbidden")
    assert "platform admin" in response.json()["error_description"]
    assert snapshot(client, acme) == before


@pytest.mark.parametrize("endpoint", ORG_ENDPOINTS, ids=_endpoint_id)
def test_platform_token_reaches_every_org_endpoint(
    client: TestClient, acme: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    values = seed_resources(client, acme)
    values["org"] = acme.id

    response = _request(client, endpoint, values, PLATFORM)

    assert response.status_code in (200, 201, 204), response.text


def test_org_admin_cannot_create_admin_tokens(client: TestClient, acme: Tenant) -> None:
    """An org admin cannot mint more admin tokens, for its own org or any other."""
    response = client.post(
        f"/admin/organizations/{acme.slug}/admin-tokens", headers=acme.headers
    )

    assert_admin_error(response, 403, "forbidden")
    tokens = client.get(
        f"/admin/organizations/{acme.slug}/admin-tokens", headers=PLATFORM
    ).json()["tokens"]
    assert [token["prefix"] for token in tokens] == [acme.prefix]


def test_org_admin_cannot_add_verified_domain(client: TestClient, acme: Tenant) -> None:
    """Until DNS proof exists, only the platform admin can add a verified domain."""
    domain = f"corp-{uuid.uuid4().hex[:10]}.example"

    response = client.post(
        f"/admin/organizations/{acme.slug}/domains",
        json={"domain": domain, "verified": True},
        headers=acme.headers,
    )

    assert_admin_error(response, 403, "forbidden")
    listed = client.get(
        f"/admin/organizations/{acme.slug}/domains", headers=PLATFORM
    ).json()
    assert listed == {"domains": []}


# Token states


@pytest.mark.parametrize("endpoint", DELEGATED, ids=_endpoint_id)
def test_revoked_token_gets_401(
    client: TestClient, acme: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    values = seed_resources(client, acme)
    values["org"] = acme.slug
    revoke = client.delete(
        f"/admin/organizations/{acme.slug}/admin-tokens/{acme.prefix}",
        headers=PLATFORM,
    )
    assert revoke.status_code == 204

    response = _request(client, endpoint, values, acme.headers)

    assert_admin_error(response, 401, "invalid_token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("endpoint", DELEGATED, ids=_endpoint_id)
def test_suspended_org_token_gets_403(
    client: TestClient, acme: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    values = seed_resources(client, acme)
    values["org"] = acme.slug
    suspend = client.post(f"/admin/organizations/{acme.slug}/suspend", headers=PLATFORM)
    assert suspend.status_code == 200

    response = _request(client, endpoint, values, acme.headers)

    assert_admin_error(response, 403, "forbidden")
    assert "suspended" in response.json()["error_description"]


def test_token_works_again_after_activation(client: TestClient, acme: Tenant) -> None:
    path = f"/admin/organizations/{acme.slug}"
    client.post(f"{path}/suspend", headers=PLATFORM)
    assert client.get(path, headers=acme.headers).status_code == 403

    client.post(f"{path}/activate", headers=PLATFORM)
    response = client.get(path, headers=acme.headers)

    assert response.status_code == 200
    assert response.json()["status"] == "active"


def test_platform_admin_manages_suspended_org(client: TestClient, acme: Tenant) -> None:
    """Suspension stops the org's admins, not the platform admin."""
    client.post(f"/admin/organizations/{acme.slug}/suspend", headers=PLATFORM)

    response = client.post(
        f"/admin/organizations/{acme.slug}/roles",
        json={"name": "auditor"},
        headers=PLATFORM,
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "token",
    [
        "oadm_",
        "oadm_not-a-uuid_0000abcdsecret",
        f"oadm_{uuid.uuid4().hex}_0000abcdsecret",
        "x" * 40,
    ],
    ids=["scheme-only", "bad-org-id", "unknown", "random"],
)
def test_unknown_token_gets_401(client: TestClient, acme: Tenant, token: str) -> None:
    response = client.get(
        f"/admin/organizations/{acme.slug}",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert_admin_error(response, 401, "invalid_token")


def test_tampered_token_gets_401(client: TestClient, acme: Tenant) -> None:
    """A token of the right org and prefix with one secret character changed fails."""
    last = "A" if acme.token[-1] != "A" else "B"
    tampered = acme.token[:-1] + last

    response = client.get(
        f"/admin/organizations/{acme.slug}",
        headers={"Authorization": f"Bearer {tampered}"},
    )

    assert_admin_error(response, 401, "invalid_token")


def test_scim_token_is_not_an_admin_token(client: TestClient, acme: Tenant) -> None:
    """Neither kind of token is accepted where the other is expected."""
    issued = client.post(
        f"/admin/organizations/{acme.slug}/scim-tokens", headers=PLATFORM
    ).json()

    admin_with_scim = client.get(
        f"/admin/organizations/{acme.slug}",
        headers={"Authorization": f"Bearer {issued['token']}"},
    )
    scim_with_admin = client.get("/scim/v2/Users", headers=acme.headers)

    assert_admin_error(admin_with_scim, 401, "invalid_token")
    assert scim_with_admin.status_code == 401


def test_org_path_by_id_in_any_spelling(client: TestClient, acme: Tenant) -> None:
    """An org admin may name its organization by slug or by id, as the platform can."""
    for org in (acme.slug, acme.id, acme.id.upper(), uuid.UUID(acme.id).hex):
        response = client.get(f"/admin/organizations/{org}", headers=acme.headers)
        assert response.status_code == 200, (org, response.text)
        assert response.json()["id"] == acme.id


def test_token_checked_before_body(client: TestClient, acme: Tenant) -> None:
    """Access is decided before the body is read, whatever the body contains."""
    revoked = new_tenant(client)
    client.delete(
        f"/admin/organizations/{revoked.slug}/admin-tokens/{revoked.prefix}",
        headers=PLATFORM,
    )

    cases = [
        ("/admin/organizations", acme.headers, 403),
        (f"/admin/organizations/{revoked.slug}/roles", revoked.headers, 401),
        (f"/admin/organizations/{revoked.slug}/roles", acme.headers, 404),
    ]
    for path, headers, status in cases:
        response = client.post(
            path,
            content="{not json",
            headers={"Content-Type": "application/json", **headers},
        )
        assert response.status_code == status, (path, response.text)


def test_last_use_is_recorded(client: TestClient, acme: Tenant) -> None:
    path = f"/admin/organizations/{acme.slug}/admin-tokens"
    unused = client.get(path, headers=PLATFORM).json()["tokens"][0]
    assert unused["last_used_at"] is None

    client.get(f"/admin/organizations/{acme.slug}", headers=acme.headers)

    used = client.get(path, headers=PLATFORM).json()["tokens"][0]
    assert used["last_used_at"] is not None


def test_tokens_never_logged(
    client: TestClient, acme: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """Requests with org admin tokens log the org id, never the token."""
    revoked = new_tenant(client)
    client.delete(
        f"/admin/organizations/{revoked.slug}/admin-tokens/{revoked.prefix}",
        headers=PLATFORM,
    )
    with caplog.at_level(logging.DEBUG, logger="scimbridge"):
        client.get(f"/admin/organizations/{acme.slug}/roles", headers=acme.headers)
        client.get(f"/admin/organizations/{acme.slug}", headers=revoked.headers)
        created = client.post(
            f"/admin/organizations/{acme.slug}/admin-tokens", headers=PLATFORM
        ).json()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (acme.token, revoked.token, created["token"], ADMIN_TOKEN):
        assert secret not in logged
    access = [r for r in caplog.records if r.name == "scimbridge.access"]
    assert any(f"org_id={acme.id}" in record.getMessage() for record in access)


# The API switched off


@pytest.fixture
def disabled_client(settings: Settings) -> Iterator[TestClient]:
    """A second app on the same database, without SCIMBRIDGE_ADMIN_TOKEN."""
    app = create_app(settings.model_copy(update={"admin_token": None}))
    with TestClient(app) as disabled:
        yield disabled


@pytest.mark.parametrize("endpoint", ORG_ENDPOINTS, ids=_endpoint_id)
def test_disabled_api_ignores_org_tokens(
    client: TestClient,
    disabled_client: TestClient,
    acme: Tenant,
    endpoint: tuple[str, str, Any],
) -> None:
    """Without the platform admin token, an active org admin token gets 404 too."""
    values = seed_resources(client, acme)
    values["org"] = acme.slug

    response = _request(disabled_client, endpoint, values, acme.headers)

    assert_admin_error(response, 404, "not_found")
    assert "disabled" in response.json()["error_description"]


@pytest.mark.parametrize("endpoint", ORG_ENDPOINTS, ids=_endpoint_id)
def test_every_org_endpoint_requires_token(
    client: TestClient, acme: Tenant, endpoint: tuple[str, str, Any]
) -> None:
    values = seed_resources(client, acme)
    values["org"] = acme.slug

    response = _request(client, endpoint, values, {})

    assert_admin_error(response, 401, "invalid_token")


def test_denied_request_is_logged(
    client: TestClient,
    acme: Tenant,
    globex: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cross-org or platform-only attempt logs the token's org id and the reason."""
    with caplog.at_level(logging.INFO, logger="scimbridge.admin"):
        client.get(f"{acme.path}/roles", headers=globex.headers)
        client.get("/admin/organizations", headers=globex.headers)

    denials = [
        record.getMessage()
        for record in caplog.records
        if "denied" in record.getMessage()
    ]
    assert denials == [
        f"org admin request denied org_id={globex.id} reason=other_organization",
        f"org admin request denied org_id={globex.id} reason=platform_admin_only",
    ]
