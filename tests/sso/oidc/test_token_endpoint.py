"""The code exchange: what is sent to the token endpoint and which responses fail."""

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from scimbridge.sso.oidc import (
    ClientSecretBasic,
    ErrorCode,
    JwksCache,
    OidcError,
    OidcRelyingParty,
    PrivateKeyJwt,
    ProviderHttp,
    SigningKey,
)
from scimbridge.sso.oidc.token_endpoint import _client_auth, client_assertion
from tests.sso.oidc.conftest import (
    SETTINGS,
    FakeClock,
    discover_rp,
    make_connection,
    make_metadata,
)
from tests.sso.oidc.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    REDIRECT_URI,
    TestProvider,
    b64url_decode,
)

pytestmark = pytest.mark.anyio


def client_key_pem(provider: TestProvider) -> bytes:
    return provider.keys.client_rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


async def login_error(
    provider: TestProvider, rp: OidcRelyingParty, code: ErrorCode
) -> OidcError:
    request = rp.start_login()
    with pytest.raises(OidcError) as caught:
        await rp.finish_login(provider.authorize(request.url), request.pending)
    assert caught.value.code == code
    return caught.value


@pytest.fixture
async def rp(http: ProviderHttp, jwks: JwksCache, clock: FakeClock) -> OidcRelyingParty:
    return await discover_rp(http, jwks, clock)


async def test_token_request_form_fields(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """The exchange sends the grant type, code, redirect URI and PKCE verifier."""
    request = rp.start_login()
    params = provider.authorize(request.url)
    await rp.finish_login(params, request.pending)

    sent = provider.token_requests[-1]
    form = dict(parse_qsl(sent.content.decode()))
    assert str(sent.url) == f"{ISSUER}/token"
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == params["code"]
    assert form["redirect_uri"] == REDIRECT_URI
    assert form["code_verifier"] == request.pending.code_verifier


async def test_wrong_verifier_fails_exchange(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """A code redeemed with another login's verifier (code injection) fails."""
    victim = rp.start_login()
    attacker = rp.start_login()
    stolen = provider.authorize(victim.url)
    params = {**stolen, "state": attacker.pending.state}

    with pytest.raises(OidcError) as caught:
        await rp.finish_login(params, attacker.pending)

    assert caught.value.code == ErrorCode.TOKEN_ERROR
    assert "invalid_grant" in caught.value.detail


async def test_request_goes_only_to_discovered_endpoint(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """A token endpoint URL in the callback is ignored; the pinned one is used."""
    decoy = provider.router.post("http://127.0.0.1:9400/decoy-token")
    request = rp.start_login()
    params = provider.authorize(request.url)
    params["token_endpoint"] = "http://127.0.0.1:9400/decoy-token"

    await rp.finish_login(params, request.pending)

    assert decoy.call_count == 0
    assert provider.token_route.call_count == 1


async def test_wrong_client_secret_fails(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A rejected client secret becomes oidc.token_error with the provider's error."""
    auth = ClientSecretBasic(SecretStr("wrong-secret"))
    rp = await discover_rp(http, jwks, clock, client_auth=auth)

    error = await login_error(provider, rp, ErrorCode.TOKEN_ERROR)

    assert "invalid_client" in error.detail
    assert "wrong-secret" not in str(error)


def test_basic_header_form_encodes_client_id(provider: TestProvider) -> None:
    """Both parts of the Basic credentials are form-urlencoded (RFC 6749 2.3.1)."""
    connection = make_connection(
        client_id="acme:sso app", client_auth=ClientSecretBasic(SecretStr("p%ss:+"))
    )
    headers: dict[str, str] = {}

    form = _client_auth(connection, make_metadata(), headers, datetime.now(UTC))

    credentials = base64.b64decode(headers["Authorization"].removeprefix("Basic "))
    assert credentials == b"acme%3Asso+app:p%25ss%3A%2B"
    assert form == {}


async def test_client_assertion_claims(
    clock: FakeClock, provider: TestProvider
) -> None:
    """The assertion names the client, targets the token endpoint and expires soon."""
    auth = PrivateKeyJwt(SigningKey(client_key_pem(provider), alg="RS256", kid="c-1"))
    metadata = make_metadata()

    first = client_assertion(CLIENT_ID, auth, metadata, clock())
    second = client_assertion(CLIENT_ID, auth, metadata, clock())

    header = json.loads(b64url_decode(first.split(".")[0]))
    claims = json.loads(b64url_decode(first.split(".")[1]))
    other = json.loads(b64url_decode(second.split(".")[1]))
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "c-1"}
    assert claims["iss"] == CLIENT_ID
    assert claims["sub"] == CLIENT_ID
    assert claims["aud"] == f"{ISSUER}/token"
    assert claims["iat"] == int(clock.timestamp())
    assert claims["exp"] - claims["iat"] == 60
    assert len(claims["jti"]) >= 43
    assert claims["jti"] != other["jti"]


async def test_zero_lifetime_assertion_rejected(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A zero-lifetime assertion is refused, showing the provider checks exp."""
    provider.client_auth_method = "private_key_jwt"
    key = SigningKey(client_key_pem(provider), alg="RS256", kid="c-1")
    rp = await discover_rp(
        http, jwks, clock, client_auth=PrivateKeyJwt(key, assertion_lifetime=0)
    )

    await login_error(provider, rp, ErrorCode.TOKEN_ERROR)


def test_signing_key_repr_hides_key(provider: TestProvider) -> None:
    """The repr of a signing key shows its alg and kid, not key material."""
    key = SigningKey(client_key_pem(provider), alg="RS256", kid="c-1")

    assert repr(key) == "SigningKey(alg='RS256', kid='c-1')"
    assert key.public_jwk()["kid"] == "c-1"
    assert "d" not in key.public_jwk()


@pytest.mark.parametrize("alg", ["HS256", "none", "ES256"])
def test_signing_key_rejects_wrong_alg(provider: TestProvider, alg: str) -> None:
    """A signing key refuses algorithms it cannot or must not sign with."""
    with pytest.raises(ValueError):
        SigningKey(client_key_pem(provider), alg=alg, kid=None)


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (
            httpx.Response(
                400, json={"error": "invalid_grant", "error_description": "x"}
            ),
            "invalid_grant",
        ),
        (httpx.Response(200, json={"error": "server_error"}), "server_error"),
        (httpx.Response(500, json={}), "HTTP 500"),
        (httpx.Response(200, text="<html>oops</html>"), "text/plain"),
        (httpx.Response(502, content=b"Bad gateway"), "none"),
        (
            httpx.Response(
                200, content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            "invalid JSON",
        ),
        (
            httpx.Response(
                200, json={"access_token": "at", "token_type": "mac", "id_token": "x"}
            ),
            "token_type",
        ),
        (
            httpx.Response(200, json={"access_token": "at", "id_token": "x"}),
            "token_type",
        ),
        (
            httpx.Response(200, json={"access_token": "at", "token_type": "Bearer"}),
            "id_token",
        ),
        (
            httpx.Response(200, json={"token_type": "Bearer", "id_token": "x"}),
            "access_token",
        ),
        (
            httpx.Response(
                200,
                content=b'{"access_token": "a\\ud800", "token_type": "Bearer", '
                b'"id_token": "x"}',
                headers={"Content-Type": "application/json"},
            ),
            "RFC 6750",
        ),
        (
            httpx.Response(
                200,
                json={"access_token": "a b", "token_type": "Bearer", "id_token": "x"},
            ),
            "RFC 6750",
        ),
        (
            httpx.Response(302, headers={"Location": "http://127.0.0.1:9400/x"}),
            "redirect",
        ),
    ],
)
async def test_bad_token_responses(
    provider: TestProvider,
    rp: OidcRelyingParty,
    response: httpx.Response,
    fragment: str,
) -> None:
    """Error, non-JSON, non-Bearer, incomplete and redirect responses fail the login."""
    provider.token_response_override = response

    error = await login_error(provider, rp, ErrorCode.TOKEN_ERROR)

    assert fragment in error.detail


async def test_lowercase_bearer_accepted(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """token_type is case-insensitive (RFC 6749 section 7.1)."""
    request = rp.start_login()
    params = provider.authorize(request.url)
    id_token = provider.make_id_token(request.pending.nonce)
    provider.token_response_override = httpx.Response(
        200, json={"access_token": "at-x", "token_type": "bearer", "id_token": id_token}
    )

    login = await rp.finish_login(params, request.pending)

    assert login.subject


async def test_oversized_token_response(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """A token response larger than max_response_bytes fails."""
    body: dict[str, Any] = {"access_token": "a" * SETTINGS.max_response_bytes}
    provider.token_response_override = httpx.Response(200, json=body)

    error = await login_error(provider, rp, ErrorCode.TOKEN_ERROR)

    assert "more than" in error.detail


async def test_token_endpoint_timeout(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """A token endpoint timeout fails the login with oidc.token_error."""
    provider.token_route.mock(side_effect=httpx.ReadTimeout("slow"))

    error = await login_error(provider, rp, ErrorCode.TOKEN_ERROR)

    assert "timed out" in error.detail


async def test_error_detail_has_no_code_or_secret(
    provider: TestProvider, rp: OidcRelyingParty
) -> None:
    """A token error detail repeats neither the code, the verifier nor the secret."""
    provider.token_response_override = httpx.Response(
        400, json={"error": "invalid_grant"}
    )
    request = rp.start_login()
    params = provider.authorize(request.url)

    with pytest.raises(OidcError) as caught:
        await rp.finish_login(params, request.pending)

    text = str(caught.value)
    assert params["code"] not in text
    assert request.pending.code_verifier not in text
    assert CLIENT_SECRET not in text
