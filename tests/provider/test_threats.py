"""Attacks on the provider and the checks that stop them.

Each test names the rule it enforces: redirect URI matching, code binding
and reuse, PKCE, client authentication, ``iss``, audience, error handling
before redirect validation, refresh tokens, prompt and max_age, and the
absence of dynamic client registration.
"""

import pytest
from lxml import etree

from scimbridge.directory.models import OrgStatus
from scimbridge.provider import jws
from scimbridge.provider.clients import InvalidClient, validate_redirect_uri
from scimbridge.sso.saml.bindings import decode_message
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
    sign_in,
    tokens_for,
)

# Redirect URIs: exact match, and an error page on mismatch.


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        REDIRECT_URI + "?next=/admin",
        REDIRECT_URI + "/extra",
        "https://evil.app.example.com/callback",
        "http://app.example.com/callback",
        REDIRECT_URI + "#frag",
        "https://app.example.com@evil.example/callback",
        "https://app.example.com/%63allback",
        "https://APP.example.com/callback",
        "",
    ],
)
def test_unregistered_redirect_uri_shows_page(org: ScimOrg, redirect_uri: str) -> None:
    app = make_app(org)
    _, challenge = pkce()
    response = authorize(org, app, challenge, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "evil" not in response.text


def test_missing_redirect_uri_gets_a_page(org: ScimOrg) -> None:
    app = make_app(org, redirect_uris=[REDIRECT_URI, "https://app.example.com/two"])
    _, challenge = pkce()
    response = authorize(org, app, challenge, redirect_uri=None)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_repeated_redirect_uri_gets_a_page(org: ScimOrg) -> None:
    app = make_app(org)
    _, challenge = pkce()
    query = [
        ("client_id", app.id),
        ("redirect_uri", REDIRECT_URI),
        ("redirect_uri", "https://evil.example/"),
        ("code_challenge", challenge),
    ]
    response = org.client.get("/oauth2/authorize", params=query, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example.com/cb#fragment",
        "http://app.example.com/cb",
        "javascript:alert(1)",
        "https://user:pw@app.example.com/cb",
        "relative/path",
    ],
)
def test_registration_rejects_unsafe_redirect_uris(uri: str) -> None:
    with pytest.raises(InvalidClient):
        validate_redirect_uri(uri, public=True)


def test_loopback_port_may_vary_only_for_native_clients(org: ScimOrg) -> None:
    native = make_app(org, public=True, redirect_uris=["http://127.0.0.1/cb"])
    confidential = make_app(org, redirect_uris=["http://127.0.0.1/cb"])
    assert native.client.accepts_redirect_uri("http://127.0.0.1:53121/cb")
    assert not native.client.accepts_redirect_uri("http://127.0.0.1:53121/other")
    assert not native.client.accepts_redirect_uri("http://127.0.0.2:53121/cb")
    assert not confidential.client.accepts_redirect_uri("http://127.0.0.1:53121/cb")


# Errors before and after redirect validation.


def test_unknown_client_with_attacker_redirect_gets_a_page(org: ScimOrg) -> None:
    response = org.client.get(
        "/oauth2/authorize",
        params={
            "client_id": "app_unknown",
            "redirect_uri": "https://evil.example/",
            "response_type": "token",
        },
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "email"}, "invalid_scope"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"request": "eyJ..."}, "request_not_supported"),
        ({"request_uri": "https://evil.example/r"}, "request_uri_not_supported"),
        ({"response_mode": "fragment"}, "invalid_request"),
    ],
)
def test_request_errors_go_to_redirect_uri(
    org: ScimOrg, changes: dict[str, str | None], error: str
) -> None:
    app = make_app(org)
    _, challenge = pkce()
    response = authorize(org, app, challenge, state="st-1", **changes)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["error"] == error
    assert params["state"] == "st-1"
    assert params["iss"] == ISSUER


# prompt, max_age


def test_prompt_none_without_session_is_login_required(org: ScimOrg) -> None:
    app = make_app(org)
    _, challenge = pkce()
    response = authorize(org, app, challenge, prompt="none", state="s")
    params = query_of(response.headers["location"])
    assert params["error"] == "login_required"
    assert params["state"] == "s"
    assert params["iss"] == ISSUER


def test_prompt_none_with_session_issues_a_code(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app, prompt="none")
    assert exchange(org, app, code, verifier).status_code == 200


@pytest.mark.parametrize("changes", [{"prompt": "login"}, {"max_age": "0"}])
def test_reauthentication_is_forced_upstream(
    org: ScimOrg, changes: dict[str, str]
) -> None:
    sign_in(org)
    app = make_app(org)
    _, challenge = pkce()
    response = authorize(org, app, challenge, organization=org.slug, **changes)
    login = response.headers["location"]
    assert "/sso/login?" in login
    assert query_of(login)["prompt"] == "login"
    idp = org.client.get(login, follow_redirects=False)
    request = etree.fromstring(
        decode_message(query_of(idp.headers["location"])["SAMLRequest"])
    )
    assert request.get("ForceAuthn") == "true"


# Codes: single use, bound to client, redirect URI and PKCE.


def test_code_reuse_revokes_tokens(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    first = exchange(org, app, code, verifier)
    assert first.status_code == 200
    second = exchange(org, app, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    tokens = first.json()
    assert introspect(org, app, tokens["access_token"]) == {"active": False}
    assert introspect(org, app, tokens["refresh_token"]) == {"active": False}


def test_code_of_another_client_is_rejected(org: ScimOrg) -> None:
    sign_in(org)
    app, other = make_app(org), make_app(org)
    code, verifier = code_for(org, app)
    response = exchange(org, other, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_with_another_redirect_uri_is_rejected(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org, redirect_uris=[REDIRECT_URI, "https://app.example.com/two"])
    code, verifier = code_for(org, app)
    response = exchange(
        org, app, code, verifier, redirect_uri="https://app.example.com/two"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "verifier",
    [None, "wrong-" + "a" * 50, "short", "a" * 129, "ü" * 50],
)
def test_pkce_verifier_must_match(org: ScimOrg, verifier: str | None) -> None:
    sign_in(org)
    app = make_app(org)
    code, _ = code_for(org, app)
    response = exchange(org, app, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_public_client_needs_pkce_and_no_secret(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org, public=True)
    assert app.secret is None
    code, verifier = code_for(org, app)
    assert exchange(org, app, code, verifier).status_code == 200


# Client authentication


def test_body_client_id_must_match_the_authenticated_client(org: ScimOrg) -> None:
    sign_in(org)
    app, other = make_app(org), make_app(org)
    code, verifier = code_for(org, app)
    response = exchange(org, app, code, verifier, client_id=other.id)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_wrong_secret_and_missing_authentication_are_invalid_client(
    org: ScimOrg,
) -> None:
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    wrong = exchange(org, app, code, verifier, auth=(app.id, "acs_wrong"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    bare = org.client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": app.id},
    )
    assert bare.status_code == 401
    assert bare.json()["error"] == "invalid_client"


def test_client_secret_post_is_accepted(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    assert app.secret is not None
    response = org.client.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT_URI,
            "client_id": app.id,
            "client_secret": app.secret,
        },
    )
    assert response.status_code == 200, response.text


def test_token_endpoint_errors_are_oauth_json(org: ScimOrg) -> None:
    app = make_app(org)
    unsupported = org.client.post(
        "/oauth2/token", data={"grant_type": "password"}, auth=app.auth
    )
    assert unsupported.status_code == 400
    assert unsupported.json()["error"] == "unsupported_grant_type"
    as_json = org.client.post("/oauth2/token", json={"grant_type": "x"}, auth=app.auth)
    assert as_json.json()["error"] == "invalid_request"
    malformed = org.client.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code"},
        headers={"Authorization": "Basic !!!"},
    )
    assert malformed.status_code == 401


# Tokens: audience, tampering


def test_token_of_another_app_is_inactive_for_it(org: ScimOrg) -> None:
    sign_in(org)
    app, other = make_app(org), make_app(org)
    tokens = tokens_for(org, app)
    assert introspect(org, other, tokens["access_token"]) == {"active": False}
    assert introspect(org, other, tokens["refresh_token"]) == {"active": False}
    revoke = org.client.post(
        "/oauth2/revoke", data={"token": tokens["refresh_token"]}, auth=other.auth
    )
    assert revoke.status_code == 200
    assert introspect(org, app, tokens["refresh_token"])["active"] is True


def test_tampered_tokens_are_inactive(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    access = tokens_for(org, app)["access_token"]
    header, payload, signature = access.split(".")
    claims = jws.b64url_decode(payload).replace(b'"roles":[', b'"roles":["admin",')
    forged = f"{header}.{jws.b64url(claims)}.{signature}"
    assert introspect(org, app, forged) == {"active": False}
    none_header = jws.b64url(b'{"alg":"none","typ":"at+jwt","kid":"x"}')
    assert introspect(org, app, f"{none_header}.{payload}.") == {"active": False}
    userinfo = org.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {forged}"}
    )
    assert userinfo.status_code == 401
    assert 'error="invalid_token"' in userinfo.headers["www-authenticate"]


def test_id_token_is_not_an_access_token(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    tokens = tokens_for(org, app)
    assert introspect(org, app, tokens["id_token"]) == {"active": False}
    response = org.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['id_token']}"}
    )
    assert response.status_code == 401


def test_public_client_cannot_introspect(org: ScimOrg) -> None:
    app = make_app(org, public=True)
    response = org.client.post(
        "/oauth2/introspect", data={"token": "x", "client_id": app.id}
    )
    assert response.status_code == 401


def test_no_dynamic_client_registration(org: ScimOrg) -> None:
    response = org.client.post("/oauth2/register", json={"redirect_uris": ["x"]})
    assert response.status_code in (404, 405)


def test_suspended_org_cannot_redeem(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    code, verifier = code_for(org, app)
    services = org.client.app.state.services  # type: ignore[attr-defined]
    assert org.client.portal is not None
    org.client.portal.call(services.orgs.set_status, org.slug, OrgStatus.suspended)
    response = exchange(org, app, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# Request limits and error bodies


def test_oversized_form_is_refused_before_it_is_buffered(org: ScimOrg) -> None:
    app = make_app(org)
    body = "&".join(f"f{i}=" + "A" * 1000 for i in range(100))
    response = org.client.post(
        "/oauth2/token",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=app.auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_too_many_form_fields_are_refused(org: ScimOrg) -> None:
    app = make_app(org)
    body = "&".join(f"f{i}=x" for i in range(100))
    response = org.client.post(
        "/oauth2/token",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=app.auth,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_unknown_paths_and_methods_get_oauth_errors(org: ScimOrg) -> None:
    missing = org.client.get("/oauth2/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"] == "invalid_request"
    wrong_method = org.client.get("/oauth2/token")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/json"


def test_public_documents_are_readable_cross_origin(org: ScimOrg) -> None:
    for path in ("/.well-known/openid-configuration", "/oauth2/jwks"):
        response = org.client.get(path)
        assert response.headers["access-control-allow-origin"] == "*"


def test_trailing_slash_gets_no_redirect(org: ScimOrg) -> None:
    response = org.client.post(
        "/oauth2/token/", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers


def test_logout_post_from_another_origin_is_rejected(org: ScimOrg) -> None:
    sign_in(org)
    response = org.client.post(
        "/oauth2/logout",
        data={"confirm": "yes"},
        headers={"Origin": "https://www.sibling.example"},
    )
    assert response.status_code == 400
    assert "set-cookie" not in response.headers
    assert org.client.get("/sso/session").status_code == 200


def test_confirmed_logout_from_this_origin_ends_the_session(org: ScimOrg) -> None:
    sign_in(org)
    page = org.client.get("/oauth2/logout")
    assert page.status_code == 200
    assert "confirm" in page.text
    assert "form-action" not in page.headers["content-security-policy"]
    response = org.client.post(
        "/oauth2/logout",
        data={"confirm": "yes"},
        headers={"Origin": "http://testserver"},
    )
    assert response.status_code == 200
    assert org.client.get("/sso/session").status_code == 401


def test_suspended_org_session_gets_no_code(org: ScimOrg) -> None:
    sign_in(org)
    app = make_app(org)
    services = org.client.app.state.services  # type: ignore[attr-defined]
    assert org.client.portal is not None
    org.client.portal.call(services.orgs.set_status, org.slug, OrgStatus.suspended)
    _, challenge = pkce()
    response = authorize(org, app, challenge, prompt="none")
    assert query_of(response.headers["location"])["error"] == "login_required"
