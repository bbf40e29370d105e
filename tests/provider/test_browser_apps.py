"""Single-page apps: CORS on the token, userinfo and revocation endpoints."""

from typing import Any

from scimbridge.provider.clients import web_origin
from tests.conftest import ScimOrg
from tests.provider.helpers import (
    REDIRECT_URI,
    code_for,
    make_app,
    run,
    services_of,
    sign_in,
)

SPA_ORIGIN = "https://app.example.com"


def _forget_origins(org: ScimOrg) -> None:
    """Drop the cached origins, as the cache time passing would."""
    clients = services_of(org).provider.clients
    clients._web_origins = None


def _preflight(org: ScimOrg, path: str, origin: str) -> Any:
    return org.client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_spa_redeems_code_cross_origin(org: ScimOrg) -> None:
    """A public client's origin may redeem a code and read the response."""
    sign_in(org)
    app = make_app(org, public=True)
    _forget_origins(org)
    code, verifier = code_for(org, app)

    preflight = _preflight(org, "/oauth2/token", SPA_ORIGIN)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in preflight.headers

    response = org.client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": app.id,
        },
        headers={"Origin": SPA_ORIGIN},
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SPA_ORIGIN
    assert "Origin" in response.headers["vary"]

    userinfo = org.client.get(
        "/oauth2/userinfo",
        headers={
            "Authorization": f"Bearer {response.json()['access_token']}",
            "Origin": SPA_ORIGIN,
        },
    )
    assert userinfo.status_code == 200
    assert userinfo.headers["access-control-allow-origin"] == SPA_ORIGIN

    rejected = org.client.get(
        "/oauth2/userinfo",
        headers={"Authorization": "Bearer not-a-token", "Origin": SPA_ORIGIN},
    )
    assert rejected.status_code == 401
    assert "WWW-Authenticate" in rejected.headers["access-control-expose-headers"]


def test_unregistered_origin_gets_no_cors(org: ScimOrg) -> None:
    """Another origin gets no CORS headers, so the browser withholds responses."""
    make_app(org, public=True)
    _forget_origins(org)

    preflight = _preflight(org, "/oauth2/token", "https://evil.example")
    assert preflight.status_code == 204
    assert "access-control-allow-origin" not in preflight.headers

    response = org.client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in response.headers
    assert "Origin" in response.headers["vary"]


def test_confidential_client_origin_gets_no_cors(org: ScimOrg) -> None:
    """A client with a secret must not run in a browser, so its origin gets none."""
    make_app(org, redirect_uris=["https://server-app.example.com/callback"])
    _forget_origins(org)

    preflight = _preflight(org, "/oauth2/token", "https://server-app.example.com")

    assert "access-control-allow-origin" not in preflight.headers


def test_introspection_not_cross_origin(org: ScimOrg) -> None:
    """Introspection is for servers: even a browser app's origin gets no CORS."""
    make_app(org, public=True)
    _forget_origins(org)

    preflight = _preflight(org, "/oauth2/introspect", SPA_ORIGIN)

    assert "access-control-allow-origin" not in preflight.headers


def test_disabled_app_origin_removed(org: ScimOrg) -> None:
    """Disabling a browser app withdraws its origin once the cache is reread."""
    app = make_app(org, public=True, redirect_uris=["https://spa.example.net/cb"])
    services = services_of(org)
    run(org, lambda: services.provider.clients.set_enabled(app.id, False))
    _forget_origins(org)

    preflight = _preflight(org, "/oauth2/token", "https://spa.example.net")

    assert "access-control-allow-origin" not in preflight.headers


def test_web_origin_forms() -> None:
    """Origins drop the path and the default port, and native schemes have none."""
    assert web_origin("https://App.Example.com:443/cb?x=1") == "https://app.example.com"
    assert web_origin("http://127.0.0.1:8080/cb") == "http://127.0.0.1:8080"
    assert web_origin("http://[::1]:9000/cb") == "http://[::1]:9000"
    assert web_origin("com.example.app:/callback") is None
