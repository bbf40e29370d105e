"""The platform admin API at /admin: authentication, endpoints and error bodies."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.testclient import TestClient

from scimbridge.admin.errors import install_admin_error_handlers, is_admin_path
from scimbridge.admin.router import router as admin_router
from scimbridge.app import create_app
from scimbridge.config import Settings
from scimbridge.directory.tokens import Authenticated
from scimbridge.scim.errors import install_error_handlers
from scimbridge.services import build_services
from scimbridge.storage.migrate import upgrade_database

ADMIN_TOKEN = "admin-token-" + "x" * 24
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

# Every admin endpoint, each with a request that would succeed with the token.
ENDPOINTS = [
    ("POST", "/admin/organizations", {"slug": "globex"}),
    ("GET", "/admin/organizations", None),
    ("GET", "/admin/organizations/acme", None),
    ("POST", "/admin/organizations/acme/suspend", None),
    ("POST", "/admin/organizations/acme/activate", None),
    ("POST", "/admin/organizations/acme/scim-tokens", None),
    ("GET", "/admin/organizations/acme/scim-tokens", None),
    ("DELETE", "/admin/organizations/acme/scim-tokens/0000abcd", None),
]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db"
    upgrade_database(url)
    return url


def _settings(database_url: str, admin_token: str | None = ADMIN_TOKEN) -> Settings:
    return Settings(
        database_url=database_url,
        admin_token=None if admin_token is None else SecretStr(admin_token),
    )


@pytest.fixture
def app(database_url: str) -> FastAPI:
    return create_app(_settings(database_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, headers=AUTH) as client:
        yield client


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _create_org(client: TestClient, slug: str = "acme", **extra: Any) -> Any:
    response = client.post("/admin/organizations", json={"slug": slug, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _create_token(client: TestClient, slug: str = "acme") -> Any:
    response = client.post(f"/admin/organizations/{slug}/scim-tokens")
    assert response.status_code == 201, response.text
    return response.json()


def _authenticate(database_url: str, token: str) -> Authenticated | None:
    """Check a SCIM token the way the SCIM layer does, on a separate connection."""

    async def run() -> Authenticated | None:
        services = build_services(_settings(database_url))
        try:
            return await services.scim_tokens.authenticate(token)
        finally:
            await services.close()

    return asyncio.run(run())


def _assert_admin_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert body["error_description"]


# Authentication


def test_missing_token_gets_401(anonymous: TestClient) -> None:
    """A request without Authorization gets 401 invalid_token and a challenge."""
    response = anonymous.get("/admin/organizations")

    _assert_admin_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_token_gets_401(anonymous: TestClient) -> None:
    """A bearer token other than the admin token gets 401 invalid_token."""
    response = anonymous.get(
        "/admin/organizations", headers={"Authorization": "Bearer " + "y" * 36}
    )

    _assert_admin_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_wrong_scheme_gets_401(anonymous: TestClient) -> None:
    """The admin token under another scheme than Bearer is not accepted."""
    response = anonymous.get(
        "/admin/organizations", headers={"Authorization": f"Basic {ADMIN_TOKEN}"}
    )

    _assert_admin_error(response, 401, "invalid_token")


def test_token_prefix_is_not_enough(anonymous: TestClient) -> None:
    """A leading part of the admin token is rejected like any other guess."""
    response = anonymous.get(
        "/admin/organizations",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
    )

    _assert_admin_error(response, 401, "invalid_token")


def test_right_token_is_accepted(anonymous: TestClient) -> None:
    """The admin token is accepted, whatever the case of the scheme name."""
    for scheme in ("Bearer", "bearer"):
        response = anonymous.get(
            "/admin/organizations",
            headers={"Authorization": f"{scheme} {ADMIN_TOKEN}"},
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_requires_token(
    anonymous: TestClient, method: str, path: str, body: Any
) -> None:
    """No admin endpoint runs without the token."""
    response = anonymous.request(method, path, json=body)

    _assert_admin_error(response, 401, "invalid_token")


def test_token_checked_before_body(anonymous: TestClient) -> None:
    """Without the token an invalid body gets 401, not a validation error."""
    response = anonymous.post(
        "/admin/organizations",
        content="{not json",
        headers={"Content-Type": "application/json"},
    )

    _assert_admin_error(response, 401, "invalid_token")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_disabled_api_gets_404(
    database_url: str, method: str, path: str, body: Any
) -> None:
    """With no admin token configured, every endpoint returns 404, token or not."""
    app = create_app(_settings(database_url, admin_token=None))
    with TestClient(app) as client:
        for headers in ({}, AUTH):
            response = client.request(method, path, json=body, headers=headers)
            _assert_admin_error(response, 404, "not_found")
            assert "disabled" in response.json()["error_description"]
        invalid_body = client.request(
            method, path, content="{", headers={"Content-Type": "application/json"}
        )
        _assert_admin_error(invalid_body, 404, "not_found")


# Organizations


def test_create_organization(client: TestClient) -> None:
    """POST /organizations creates an active organization named after its slug."""
    response = client.post("/admin/organizations", json={"slug": "acme"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "slug", "name", "status", "created_at", "updated_at"}
    assert body["slug"] == "acme"
    assert body["name"] == "acme"
    assert body["status"] == "active"


def test_create_organization_with_name(client: TestClient) -> None:
    body = _create_org(client, "acme", name="Acme Inc.")

    assert body["name"] == "Acme Inc."


def test_create_bad_slug_gets_400(client: TestClient) -> None:
    """A slug that is not a DNS label gets 400 invalid_request naming the slug."""
    for slug in ("Acme", "acme_inc", "-acme", "", "a" * 64):
        response = client.post("/admin/organizations", json={"slug": slug})
        _assert_admin_error(response, 400, "invalid_request")
        assert "slug" in response.json()["error_description"]


def test_create_duplicate_slug_gets_409(client: TestClient) -> None:
    _create_org(client, "acme")

    response = client.post("/admin/organizations", json={"slug": "acme"})

    _assert_admin_error(response, 409, "conflict")
    assert "acme" in response.json()["error_description"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"name": "Acme"}', "slug"),
        ('{"slug": "acme", "name": ""}', "name"),
        ('{"slug": "acme", "name": "' + "n" * 201 + '"}', "name"),
        ('{"slug": "acme", "plan": "gold"}', "plan"),
        ('{"slug": 7}', "slug"),
        ('{"slug": "acme",', "not valid JSON"),
        ("[]", "request body"),
        ("", "request body"),
    ],
)
def test_create_invalid_body_gets_400(
    client: TestClient, content: str, expected: str
) -> None:
    """Body validation failures are 400 invalid_request, not FastAPI's 422."""
    response = client.post(
        "/admin/organizations",
        content=content,
        headers={"Content-Type": "application/json"},
    )

    _assert_admin_error(response, 400, "invalid_request")
    assert expected in response.json()["error_description"]


def test_list_organizations(client: TestClient) -> None:
    """GET /organizations wraps the organizations, oldest first."""
    assert client.get("/admin/organizations").json() == {"organizations": []}
    first = _create_org(client, "acme")
    second = _create_org(client, "globex")

    response = client.get("/admin/organizations")

    assert response.status_code == 200
    assert response.json() == {"organizations": [first, second]}


def test_get_organization_by_slug_or_id(client: TestClient) -> None:
    created = _create_org(client, "acme")

    by_slug = client.get("/admin/organizations/acme")
    by_id = client.get(f"/admin/organizations/{created['id']}")

    assert by_slug.status_code == 200
    assert by_slug.json() == created
    assert by_id.status_code == 200
    assert by_id.json() == created


def test_get_unknown_organization_gets_404(client: TestClient) -> None:
    for slug_or_id in ("nobody", "00000000-0000-0000-0000-000000000000"):
        response = client.get(f"/admin/organizations/{slug_or_id}")
        _assert_admin_error(response, 404, "not_found")
        assert slug_or_id in response.json()["error_description"]


def test_suspend_and_activate(client: TestClient) -> None:
    """Suspend and activate switch the status and update updated_at."""
    created = _create_org(client, "acme")

    suspended = client.post("/admin/organizations/acme/suspend")
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["updated_at"] >= created["updated_at"]
    assert client.get("/admin/organizations/acme").json()["status"] == "suspended"

    activated = client.post(f"/admin/organizations/{created['id']}/activate")
    assert activated.status_code == 200
    assert activated.json()["status"] == "active"
    assert client.get("/admin/organizations/acme").json()["status"] == "active"


def test_suspend_unknown_organization_gets_404(client: TestClient) -> None:
    for action in ("suspend", "activate"):
        response = client.post(f"/admin/organizations/nobody/{action}")
        _assert_admin_error(response, 404, "not_found")


# SCIM tokens


def test_create_scim_token(client: TestClient, database_url: str) -> None:
    """The new token is returned once, and it authenticates its organization."""
    org = _create_org(client, "acme")

    issued = _create_token(client, "acme")

    assert set(issued) == {"token", "prefix", "org_id", "created_at"}
    assert issued["org_id"] == org["id"]
    assert issued["token"].startswith("scim_")
    assert issued["prefix"] in issued["token"]
    authenticated = _authenticate(database_url, issued["token"])
    assert authenticated is not None
    assert str(authenticated.org.id) == org["id"]


def test_scim_token_never_listed(client: TestClient) -> None:
    """Listings show the prefix and usage of each token, never the secret."""
    _create_org(client, "acme")
    first = _create_token(client, "acme")
    second = _create_token(client, "acme")

    response = client.get("/admin/organizations/acme/scim-tokens")

    assert response.status_code == 200
    tokens = response.json()["tokens"]
    assert [token["prefix"] for token in tokens] == [first["prefix"], second["prefix"]]
    for token in tokens:
        assert set(token) == {"prefix", "created_at", "last_used_at", "revoked_at"}
        assert token["revoked_at"] is None
    assert first["token"] not in response.text
    assert second["token"] not in response.text


def test_scim_tokens_stay_in_their_organization(client: TestClient) -> None:
    _create_org(client, "acme")
    _create_org(client, "globex")
    issued = _create_token(client, "acme")

    globex_tokens = client.get("/admin/organizations/globex/scim-tokens").json()
    revoke = client.delete(
        f"/admin/organizations/globex/scim-tokens/{issued['prefix']}"
    )

    assert globex_tokens == {"tokens": []}
    _assert_admin_error(revoke, 404, "not_found")


def test_revoke_scim_token(client: TestClient, database_url: str) -> None:
    """Revoking gives 204, marks the token revoked and stops it authenticating."""
    _create_org(client, "acme")
    revoked = _create_token(client, "acme")
    still_active = _create_token(client, "acme")

    response = client.delete(
        f"/admin/organizations/acme/scim-tokens/{revoked['prefix']}"
    )

    assert response.status_code == 204
    assert response.content == b""
    listed = {
        token["prefix"]: token
        for token in client.get("/admin/organizations/acme/scim-tokens").json()[
            "tokens"
        ]
    }
    assert listed[revoked["prefix"]]["revoked_at"] is not None
    assert listed[still_active["prefix"]]["revoked_at"] is None
    assert _authenticate(database_url, revoked["token"]) is None
    assert _authenticate(database_url, still_active["token"]) is not None


def test_revoke_twice_gets_404(client: TestClient) -> None:
    """A token that is already revoked is no longer an active token to revoke."""
    _create_org(client, "acme")
    issued = _create_token(client, "acme")
    path = f"/admin/organizations/acme/scim-tokens/{issued['prefix']}"
    assert client.delete(path).status_code == 204

    response = client.delete(path)

    _assert_admin_error(response, 404, "not_found")
    assert issued["prefix"] in response.json()["error_description"]


def test_revoke_unknown_prefix_gets_404(client: TestClient) -> None:
    _create_org(client, "acme")

    response = client.delete("/admin/organizations/acme/scim-tokens/ffffffff")

    _assert_admin_error(response, 404, "not_found")


def test_tokens_of_unknown_organization_get_404(client: TestClient) -> None:
    for method, path in (
        ("POST", "/admin/organizations/nobody/scim-tokens"),
        ("GET", "/admin/organizations/nobody/scim-tokens"),
        ("DELETE", "/admin/organizations/nobody/scim-tokens/0000abcd"),
    ):
        response = client.request(method, path)
        _assert_admin_error(response, 404, "not_found")


# Error rendering


def test_unexpected_error_gets_admin_500(
    app: FastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception gives a 500 admin error and a logged traceback."""

    async def fail() -> None:
        raise RuntimeError("database exploded")

    app.state.services.orgs.list = fail
    with caplog.at_level(logging.ERROR, logger="scimbridge.admin.errors"):
        response = client.get("/admin/organizations")

    _assert_admin_error(response, 500, "server_error")
    assert "database exploded" not in response.text
    assert any(record.exc_info for record in caplog.records)


def _app_with_scim_handlers(database_url: str) -> FastAPI:
    """Build an app wired as app.py wires it: SCIM handlers first, admin ones last."""
    services = build_services(_settings(database_url))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = FastAPI(lifespan=lifespan)
    app.state.services = services
    install_error_handlers(app)
    app.include_router(admin_router, prefix="/admin")
    install_admin_error_handlers(app)
    return app


def test_unmatched_admin_paths_get_admin_errors(database_url: str) -> None:
    """Routing's 404 and 405 under /admin use the admin body, not SCIM's."""
    app = _app_with_scim_handlers(database_url)
    with TestClient(app, headers=AUTH) as client:
        not_found = client.get("/admin/nothing-here")
        wrong_method = client.put("/admin/organizations")

    _assert_admin_error(not_found, 404, "not_found")
    _assert_admin_error(wrong_method, 405, "method_not_allowed")
    assert "POST" in wrong_method.headers["allow"]


def test_other_paths_keep_scim_errors(database_url: str) -> None:
    """Outside /admin the HTTP errors still go to the SCIM handler."""
    app = _app_with_scim_handlers(database_url)
    with TestClient(app) as client:
        response = client.get("/scim/v2/NoSuchEndpoint")

    assert response.status_code == 404
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_is_admin_path() -> None:
    assert is_admin_path("/admin")
    assert is_admin_path("/admin/organizations")
    assert not is_admin_path("/administrator")
    assert not is_admin_path("/scim/v2/Users")
    assert not is_admin_path("/")
