"""Helpers for the OpenID Provider tests: apps, PKCE, sign-in and code exchange.

A member signs in through a SAML connection of the test IdP, so every code
in these tests comes from a real login and a real session.
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from scimbridge.provider.clients import AppClient
from scimbridge.services import Services
from scimbridge.sso.saml.bindings import decode_message
from tests.conftest import ScimOrg
from tests.sso.test_login_flows import _acs, _response, _saml_connection

REDIRECT_URI = "https://app.example.com/callback"
ISSUER = "http://127.0.0.1:8000"
"""The tests' issuer: the default public URL, as no base URL is configured."""


def services_of(org: ScimOrg) -> Services:
    services: Services = org.client.app.state.services  # type: ignore[attr-defined]
    return services


def run(org: ScimOrg, call: Any) -> Any:
    assert org.client.portal is not None
    return org.client.portal.call(call)


@dataclass
class App:
    client: AppClient
    secret: str | None

    @property
    def id(self) -> str:
        return self.client.id

    @property
    def auth(self) -> tuple[str, str]:
        assert self.secret is not None
        return (self.client.id, self.secret)


def make_app(org: ScimOrg, **options: Any) -> App:
    services = services_of(org)
    redirect_uris = options.pop("redirect_uris", [REDIRECT_URI])

    async def create() -> Any:
        return await services.provider.clients.create(
            options.pop("name", "Test app"), redirect_uris, **options
        )

    issued = run(org, create)
    return App(issued.client, issued.secret)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query))


@dataclass
class Member:
    user: dict[str, Any]
    connection: Any


def sign_in(org: ScimOrg, user_name: str = "jane.doe@corp.example") -> Member:
    """Provision a member over SCIM and open a browser session through SAML."""
    connection = _saml_connection(org)
    user = org.create_user(
        user_name,
        name={"givenName": "Jane", "familyName": "Doe"},
        emails=[{"value": user_name, "primary": True, "type": "work"}],
    )
    start = org.client.get(
        "/sso/login", params={"org": org.slug}, follow_redirects=False
    )
    finish_saml(org, connection, start.headers["location"], user_name)
    return Member(user=user, connection=connection)


def finish_saml(
    org: ScimOrg, connection: Any, idp_location: str, user_name: str
) -> Any:
    """Respond to the AuthnRequest at ``idp_location`` and post to the ACS."""
    query = query_of(idp_location)
    request = etree.fromstring(decode_message(query["SAMLRequest"]))
    response = _acs(
        org,
        connection,
        _response(connection, request.get("ID"), user_name),
        query["RelayState"],
    )
    assert response.status_code == 303, response.text
    return response


def authorize_params(app: App, challenge: str, **changes: Any) -> dict[str, str]:
    params = {
        "client_id": app.id,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return {key: value for key, value in params.items() if value is not None}


def authorize(org: ScimOrg, app: App, challenge: str, **changes: Any) -> Any:
    return org.client.get(
        "/oauth2/authorize",
        params=authorize_params(app, challenge, **changes),
        follow_redirects=False,
    )


def code_for(org: ScimOrg, app: App, **changes: Any) -> tuple[str, str]:
    """Return a code and its verifier, for a browser that has a session."""
    verifier, challenge = pkce()
    response = authorize(org, app, challenge, **changes)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI), location
    return query_of(location)["code"], verifier


def exchange(
    org: ScimOrg,
    app: App,
    code: str,
    verifier: str | None,
    *,
    auth: tuple[str, str] | None = None,
    **form: str,
) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(form)
    if app.client.public:
        data.setdefault("client_id", app.id)
        return org.client.post("/oauth2/token", data=data)
    return org.client.post("/oauth2/token", data=data, auth=auth or app.auth)


def tokens_for(org: ScimOrg, app: App) -> dict[str, Any]:
    code, verifier = code_for(org, app)
    response = exchange(org, app, code, verifier)
    assert response.status_code == 200, response.text
    return dict(response.json())


def introspect(org: ScimOrg, app: App, token: str) -> dict[str, Any]:
    response = org.client.post(
        "/oauth2/introspect", data={"token": token}, auth=app.auth
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(org: ScimOrg, app: App, token: str) -> Any:
    return org.client.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=app.auth,
    )
