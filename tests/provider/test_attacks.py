"""Attacks on the OpenID Provider that it rejects, kept as regression tests."""

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from scimbridge.provider import jws
from scimbridge.provider.tokens import BACKCHANNEL_LOGOUT_EVENT
from tests.conftest import ScimOrg
from tests.provider.helpers import (
    ISSUER,
    REDIRECT_URI,
    authorize,
    code_for,
    exchange,
    introspect,
    make_app,
    pkce,
    query_of,
    refresh,
    run,
    services_of,
    sign_in,
    tokens_for,
)


def _segment(data: dict[str, Any]) -> str:
    return jws.b64url(json.dumps(data).encode())


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return (
        json.loads(jws.b64url_decode(header)),
        json.loads(jws.b64url_decode(payload)),
        signature,
    )


def _forged_tokens(org: ScimOrg, access_token: str) -> dict[str, str]:
    header, claims, signature = _parts(access_token)
    jwks = org.client.get("/oauth2/jwks").json()["keys"]
    public_n = base64.urlsafe_b64decode(jwks[0]["n"] + "==")
    hs_header = {**header, "alg": "HS256"}
    hs_input = f"{_segment(hs_header)}.{_segment(claims)}"
    hs_signature = hmac.new(public_n, hs_input.encode(), hashlib.sha256).digest()
    raised = {**claims, "roles": ["admin"]}
    return {
        "alg none": f"{_segment({**header, 'alg': 'none'})}.{_segment(claims)}.",
        "HS256 keyed with the public modulus": f"{hs_input}.{jws.b64url(hs_signature)}",
        "crit": f"{_segment({**header, 'crit': ['exp']})}.{_segment(claims)}."
        + signature,
        "unknown kid": f"{_segment({**header, 'kid': 'x'})}.{_segment(claims)}."
        + signature,
        "jku header": f"{_segment({**header, 'jku': 'https://evil.example/'})}."
        + f"{_segment(claims)}.{signature}",
        "changed claims": f"{_segment(header)}.{_segment(raised)}.{signature}",
        "padded signature": f"{access_token}==",
        "four segments": f"{access_token}.x",
    }


def test_forged_access_tokens_rejected(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    for name, forged in _forged_tokens(org, tokens["access_token"]).items():
        response = org.client.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401, name
        assert introspect(org, app, forged) == {"active": False}, name


def test_logout_token_claims(org: ScimOrg) -> None:
    """OIDC Back-Channel Logout 1.0, 2.4: iss, aud, iat, exp, jti, events, sub, sid."""
    services = services_of(org)
    token = run(
        org,
        lambda: services.provider.tokens.logout_token(ISSUER, "app_x", "sub-1", "s1"),
    )
    header, claims, _ = _parts(token)
    assert header["typ"] == "logout+jwt"
    assert header["alg"] == "RS256"
    assert {"iss", "aud", "iat", "exp", "jti", "events", "sub", "sid"} <= set(claims)
    assert claims["events"] == {BACKCHANNEL_LOGOUT_EVENT: {}}
    assert "nonce" not in claims
    assert (
        org.client.get(
            "/oauth2/userinfo", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    hint = org.client.get("/oauth2/logout", params={"id_token_hint": token})
    assert hint.status_code == 400


def test_two_rotations_keep_tokens_valid(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    services = services_of(org)
    run(org, services.provider.keys.rotate)
    run(org, services.provider.keys.rotate)
    keys = org.client.get("/oauth2/jwks").json()["keys"]
    private_members = {"d", "p", "q", "dp", "dq", "qi"}
    assert all(not private_members & set(key) for key in keys)
    kid = _parts(tokens["id_token"])[0]["kid"]
    assert kid in {key["kid"] for key in keys}
    assert introspect(org, app, tokens["access_token"])["active"] is True
    fresh = tokens_for(org, app)
    assert _parts(fresh["id_token"])[0]["kid"] != kid


@pytest.mark.parametrize(
    "presented",
    [
        "http://127.0.0.1:8080@evil.example/cb",
        "http://127.0.0.1:8080\\@evil.example/cb",
        "http://127.0.0.1:8080/cb/../x",
        "http://127.0.0.1:8080/cb?x=1",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:8080.evil.example/cb",
        "http://[::1]:8080/cb",
        "http://localhost:8080/cb",
        "https://127.0.0.1:8080/cb",
        "http://127.0.0.1:8080/CB",
    ],
)
def test_loopback_rule_rejects_tricks(org: ScimOrg, presented: str) -> None:
    native = make_app(org, public=True, redirect_uris=["http://127.0.0.1/cb"])
    assert not native.client.accepts_redirect_uri(presented)


def test_other_app_cannot_introspect_or_revoke(org: ScimOrg) -> None:
    sign_in(org)
    app, other = make_app(org), make_app(org)
    tokens = tokens_for(org, app)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(org, other, token) == {"active": False}
        response = org.client.post(
            "/oauth2/revoke", data={"token": token}, auth=other.auth
        )
        assert response.status_code == 200
        assert introspect(org, app, token)["active"] is True


def test_public_refresh_token_bound_to_app(org: ScimOrg) -> None:
    sign_in(org)
    public = make_app(org, public=True)
    code, verifier = code_for(org, public)
    tokens = exchange(org, public, code, verifier).json()
    confidential = make_app(org)
    assert refresh(org, confidential, tokens["refresh_token"]).status_code == 400
    response = org.client.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public.id,
        },
    )
    assert response.status_code == 200


def test_disabled_app_cannot_authorize_or_redeem(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    services = services_of(org)
    run(org, lambda: services.provider.clients.set_enabled(app.id, False))
    assert exchange(org, app, code, verifier).status_code == 401
    _, challenge = pkce()
    response = authorize(org, app, challenge)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_unregistered_redirect_never_followed(org: ScimOrg) -> None:
    app = make_app(org)
    response = org.client.get(
        "/oauth2/authorize",
        params={
            "client_id": app.id,
            "redirect_uri": "https://evil.example/",
            "response_type": "token",
            "prompt": "none",
        },
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_prompt_none_error_has_state_and_iss(org: ScimOrg) -> None:
    app = make_app(org)
    _, challenge = pkce()
    response = authorize(org, app, challenge, prompt="none", state="s1")
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    assert query_of(location) == {
        "error": "login_required",
        "error_description": "the user must sign in",
        "state": "s1",
        "iss": ISSUER,
    }
