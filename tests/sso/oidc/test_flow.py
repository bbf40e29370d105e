"""The authorization code flow end to end against the test provider."""

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from scimbridge.sso.oidc import (
    ClientSecretPost,
    ErrorCode,
    JwksCache,
    OidcError,
    PendingLogin,
    PrivateKeyJwt,
    ProviderHttp,
    SigningKey,
    build_authorization_request,
    check_callback,
    parse_callback_query,
    save_pending_login,
    take_pending_login,
)
from scimbridge.sso.oidc.jose import b64url_encode
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
    SUBJECT,
    TestProvider,
)

pytestmark = pytest.mark.anyio


class MemoryOneTimeStore:
    """A memory store with the put_once and take methods of a session store."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], bytes] = {}

    async def put_once(
        self, namespace: str, key: str, value: bytes | str, ttl_seconds: int
    ) -> bool:
        if (namespace, key) in self.values:
            return False
        self.values[namespace, key] = (
            value.encode() if isinstance(value, str) else value
        )
        return True

    async def take(self, namespace: str, key: str) -> bytes | None:
        if not 0 < len(key) <= 1024:
            raise ValueError("key must be 1 to 1024 characters, as in the real stores")
        return self.values.pop((namespace, key), None)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def client_key_pem(provider: TestProvider) -> bytes:
    return provider.keys.client_rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# Authorization request.


def test_authorization_request_parameters() -> None:
    """The request has code, openid scope, state, nonce, S256 PKCE and the redirect."""
    connection = make_connection(extra_scopes=("groups", "email"))
    url, pending = build_authorization_request(connection, make_metadata())
    query = query_of(url)

    assert url.startswith(f"{ISSUER}/authorize?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["scope"] == ["openid email profile groups"]
    assert query["state"] == [pending.state]
    assert query["nonce"] == [pending.nonce]
    assert query["code_challenge_method"] == ["S256"]
    expected = b64url_encode(hashlib.sha256(pending.code_verifier.encode()).digest())
    assert query["code_challenge"] == [expected]
    assert "code_verifier" not in query
    assert "prompt" not in query
    assert "max_age" not in query


def test_authorization_secrets_fresh_and_long() -> None:
    """State, nonce and verifier are at least 43 characters and new each time."""
    first = build_authorization_request(make_connection(), make_metadata()).pending
    second = build_authorization_request(make_connection(), make_metadata()).pending

    for pending in (first, second):
        assert len(pending.state) >= 43
        assert len(pending.nonce) >= 43
        assert 43 <= len(pending.code_verifier) <= 128
    assert first.state != second.state
    assert first.nonce != second.nonce
    assert first.code_verifier != second.code_verifier


def test_authorization_request_passthrough() -> None:
    """prompt, max_age and login_hint reach the provider and max_age is recorded."""
    url, pending = build_authorization_request(
        make_connection(),
        make_metadata(),
        prompt="login consent",
        max_age=300,
        login_hint="jane+sso@acme.example",
    )
    query = query_of(url)

    assert query["prompt"] == ["login consent"]
    assert query["max_age"] == ["300"]
    assert query["login_hint"] == ["jane+sso@acme.example"]
    assert pending.max_age == 300


@pytest.mark.parametrize(
    "changes",
    [
        {"prompt": "none login"},
        {"prompt": "admin"},
        {"max_age": -1},
        {"login_hint": "a\nb"},
    ],
)
def test_authorization_request_rejects_passthrough(changes: dict[str, Any]) -> None:
    """Invalid prompt, max_age or login_hint values raise before any redirect."""
    with pytest.raises(ValueError):
        build_authorization_request(make_connection(), make_metadata(), **changes)


def test_authorization_request_keeps_endpoint_query() -> None:
    """A query already in the authorization endpoint, such as a policy, is kept."""
    metadata = make_metadata(authorization_endpoint=f"{ISSUER}/authorize?p=signin")
    url, _ = build_authorization_request(make_connection(), metadata)

    assert query_of(url)["p"] == ["signin"]
    assert query_of(url)["response_type"] == ["code"]


def test_pending_login_repr_hides_secrets() -> None:
    """The repr of a pending login shows no state, nonce or verifier."""
    pending = build_authorization_request(make_connection(), make_metadata()).pending
    text = repr(pending)

    assert pending.state not in text
    assert pending.nonce not in text
    assert pending.code_verifier not in text


def test_pending_login_json_round_trip() -> None:
    """A pending login survives serialization for the session store."""
    pending = build_authorization_request(
        make_connection(), make_metadata(), max_age=60
    ).pending

    assert PendingLogin.from_json(pending.to_json()) == pending


def test_pending_login_rejects_empty_nonce(clock: FakeClock) -> None:
    """A pending login cannot be built with an empty or short nonce."""
    with pytest.raises(ValueError, match="nonce"):
        PendingLogin(
            state="s" * 43,
            nonce="",
            code_verifier="v" * 43,
            connection_id="conn-acme",
            redirect_uri=REDIRECT_URI,
            created_at=clock(),
        )


# Happy paths, one per client authentication method.


async def test_login_with_client_secret_basic(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A login with client_secret_basic returns the user's identity and claims."""
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()
    params = provider.authorize(request.url)

    login = await rp.finish_login(params, request.pending)

    assert login.issuer == ISSUER
    assert login.subject == SUBJECT
    assert login.email == "jane.doe@acme.example"
    assert login.email_verified is True
    assert login.groups == ["engineering", "admins"]
    assert login.amr == ("pwd", "mfa")
    assert login.auth_time is not None
    assert login.auth_time.timestamp() == clock.timestamp() - 5
    assert login.claims["aud"] == CLIENT_ID
    assert provider.token_route.call_count == 1


async def test_basic_auth_encodes_secret_characters(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """The Basic header form-encodes ':', '%' and '+' in the secret before base64."""
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()
    await rp.finish_login(provider.authorize(request.url), request.pending)

    sent = provider.token_requests[-1]
    assert sent.headers["authorization"].startswith("Basic ")
    assert b"client_secret" not in sent.content
    for character in ":%+":
        assert character in CLIENT_SECRET


async def test_login_with_client_secret_post(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A login with client_secret_post sends the secret in the form body."""
    provider.client_auth_method = "client_secret_post"
    auth = ClientSecretPost(SecretStr(CLIENT_SECRET))
    rp = await discover_rp(http, jwks, clock, client_auth=auth)
    request = rp.start_login()

    login = await rp.finish_login(provider.authorize(request.url), request.pending)

    assert login.subject == SUBJECT
    assert "authorization" not in provider.token_requests[-1].headers


async def test_login_with_private_key_jwt(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A login with private_key_jwt sends an assertion the provider verifies."""
    provider.client_auth_method = "private_key_jwt"
    signing_key = SigningKey(client_key_pem(provider), alg="RS256", kid="client-1")
    rp = await discover_rp(http, jwks, clock, client_auth=PrivateKeyJwt(signing_key))
    request = rp.start_login()

    login = await rp.finish_login(provider.authorize(request.url), request.pending)

    assert login.subject == SUBJECT
    assert len(provider.used_jtis) == 1


async def test_private_key_jwt_assertions_differ(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """Two logins send assertions with different jti values, both accepted."""
    provider.client_auth_method = "private_key_jwt"
    signing_key = SigningKey(client_key_pem(provider), alg="RS256", kid="client-1")
    rp = await discover_rp(http, jwks, clock, client_auth=PrivateKeyJwt(signing_key))

    for _ in range(2):
        request = rp.start_login()
        await rp.finish_login(provider.authorize(request.url), request.pending)

    assert len(provider.used_jtis) == 2


@pytest.mark.parametrize("signing", ["ec", "ed"])
async def test_login_with_ec_and_eddsa_keys(
    provider: TestProvider,
    http: ProviderHttp,
    jwks: JwksCache,
    clock: FakeClock,
    signing: str,
) -> None:
    """ES256 and EdDSA ID tokens, with their at_hash, are accepted."""
    provider.signing = signing
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()

    login = await rp.finish_login(provider.authorize(request.url), request.pending)

    assert login.subject == SUBJECT


async def test_login_with_userinfo(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """UserInfo claims are added, but never replace the ID token's own claims."""
    provider.userinfo_claims.update(
        {"name": "Jane Q. Doe", "iss": "https://evil.example", "aud": "other"}
    )
    rp = await discover_rp(http, jwks, clock, fetch_userinfo=True)
    request = rp.start_login()

    login = await rp.finish_login(provider.authorize(request.url), request.pending)

    assert login.claims["name"] == "Jane Q. Doe"
    assert login.claims["iss"] == ISSUER
    assert login.claims["aud"] == CLIENT_ID
    assert provider.userinfo_route.call_count == 1


async def test_email_verified_must_be_boolean_true(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An email_verified of "true" (a string) does not count as verified."""
    provider.claim_changes["email_verified"] = "true"
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()

    login = await rp.finish_login(provider.authorize(request.url), request.pending)

    assert login.email == "jane.doe@acme.example"
    assert login.email_verified is False


async def test_login_checks_at_hash(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An ID token whose at_hash does not match the issued access token fails."""
    provider.claim_changes["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()

    with pytest.raises(OidcError) as caught:
        await rp.finish_login(provider.authorize(request.url), request.pending)

    assert caught.value.code == ErrorCode.AT_HASH_MISMATCH


async def test_max_age_login_checks_auth_time(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """With max_age requested, an old auth_time fails the login."""
    provider.claim_changes["auth_time"] = int(clock.timestamp()) - 4000
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login(max_age=600)

    with pytest.raises(OidcError) as caught:
        await rp.finish_login(provider.authorize(request.url), request.pending)

    assert caught.value.code == ErrorCode.MAX_AGE_EXCEEDED


# Callback checks.


async def start(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> tuple[Any, PendingLogin, dict[str, str]]:
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()
    return rp, request.pending, provider.authorize(request.url)


async def expect_error(
    call: Callable[[], Any], code: ErrorCode, provider: TestProvider | None = None
) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await call()
    assert caught.value.code == code
    if provider is not None:
        assert provider.token_route.call_count == 0
    return caught.value


async def test_callback_without_state(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A callback without state fails before the code is redeemed."""
    rp, pending, params = await start(provider, http, jwks, clock)
    del params["state"]

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.STATE_MISMATCH, provider
    )


async def test_callback_with_wrong_state(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A callback whose state is not the pending login's fails (login CSRF)."""
    rp, pending, params = await start(provider, http, jwks, clock)
    params["state"] = params["state"][:-1] + (
        "A" if params["state"][-1] != "A" else "B"
    )

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.STATE_MISMATCH, provider
    )


async def test_callback_without_pending_login(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A callback for which the store contains no pending login fails."""
    rp, _, params = await start(provider, http, jwks, clock)

    await expect_error(
        lambda: rp.finish_login(params, None), ErrorCode.STATE_MISMATCH, provider
    )


async def test_callback_for_other_connection(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A pending login of another connection is not accepted by this one."""
    rp, pending, params = await start(provider, http, jwks, clock)
    other = replace(pending, connection_id="conn-globex")

    await expect_error(
        lambda: rp.finish_login(params, other), ErrorCode.CONNECTION_MISMATCH, provider
    )


async def test_callback_with_other_redirect_uri(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A pending login made for another redirect URI is not accepted."""
    rp, pending, params = await start(provider, http, jwks, clock)
    other = replace(pending, redirect_uri="https://sso.scimbridge.test/oidc/other")

    await expect_error(
        lambda: rp.finish_login(params, other), ErrorCode.CONNECTION_MISMATCH, provider
    )


async def test_callback_after_pending_login_ttl(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A user who returns after the pending login TTL gets login_expired."""
    rp, pending, params = await start(provider, http, jwks, clock)
    clock.advance(SETTINGS.pending_login_ttl + 1)

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.LOGIN_EXPIRED, provider
    )


async def test_callback_iss_mismatch(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An iss parameter naming another issuer fails (mix-up attack)."""
    rp, pending, params = await start(provider, http, jwks, clock)
    params["iss"] = "https://attacker.example"

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.ISS_MISMATCH, provider
    )


async def test_callback_missing_iss_when_advertised(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A provider that advertises the iss parameter must send it."""
    provider.discovery["authorization_response_iss_parameter_supported"] = True
    provider.send_iss = False
    rp, pending, params = await start(provider, http, jwks, clock)

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.ISS_MISSING, provider
    )


@pytest.mark.parametrize(
    ("advertised", "iss", "expected"),
    [
        (False, None, None),
        (False, ISSUER, None),
        (False, ISSUER + "/", ErrorCode.ISS_MISMATCH),
        (True, ISSUER, None),
        (True, None, ErrorCode.ISS_MISSING),
        (True, "https://attacker.example", ErrorCode.ISS_MISMATCH),
    ],
)
def test_iss_parameter_matrix(
    clock: FakeClock, advertised: bool, iss: str | None, expected: ErrorCode | None
) -> None:
    """Each combination of the metadata flag and the iss parameter is decided."""
    metadata = make_metadata(iss_parameter_supported=advertised)
    connection = make_connection()
    pending = build_authorization_request(connection, metadata, clock=clock).pending
    params = {"code": "abc", "state": pending.state}
    if iss is not None:
        params["iss"] = iss

    def run() -> str:
        return check_callback(
            params, pending, connection, metadata, now=clock.timestamp(), ttl=600
        )

    if expected is None:
        assert run() == "abc"
    else:
        with pytest.raises(OidcError) as caught:
            run()
        assert caught.value.code == expected


async def test_callback_error_is_provider_error(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An error response with the right state becomes oidc.provider_error."""
    rp, pending, params = await start(provider, http, jwks, clock)
    del params["code"]
    params.update({"error": "access_denied", "error_description": "User cancelled"})

    error = await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.PROVIDER_ERROR, provider
    )
    assert "access_denied" in error.detail


async def test_callback_error_with_wrong_state(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An error response with another login's state is a state mismatch."""
    rp, pending, params = await start(provider, http, jwks, clock)
    params = {"error": "login_required", "state": "x" * 43, "iss": ISSUER}

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.STATE_MISMATCH, provider
    )


async def test_callback_error_from_other_issuer(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An error response with another issuer's iss is not acted on."""
    rp, pending, params = await start(provider, http, jwks, clock)
    params = {
        "error": "access_denied",
        "state": params["state"],
        "iss": "https://attacker.example",
    }

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.ISS_MISMATCH, provider
    )


@pytest.mark.parametrize("name", ["id_token", "access_token", "token"])
async def test_callback_with_front_channel_token(
    provider: TestProvider,
    http: ProviderHttp,
    jwks: JwksCache,
    clock: FakeClock,
    name: str,
) -> None:
    """Tokens in the callback are rejected: only the code flow is used."""
    rp, pending, params = await start(provider, http, jwks, clock)
    params[name] = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.CALLBACK_INVALID, provider
    )


async def test_callback_without_code(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """A callback with the right state but no code fails."""
    rp, pending, params = await start(provider, http, jwks, clock)
    del params["code"]

    await expect_error(
        lambda: rp.finish_login(params, pending), ErrorCode.CALLBACK_INVALID, provider
    )


def test_callback_query_rejects_repeated_parameter() -> None:
    """A callback query with two state parameters is rejected."""
    with pytest.raises(OidcError) as caught:
        parse_callback_query("code=a&state=one&state=two")

    assert caught.value.code == ErrorCode.CALLBACK_INVALID


def test_callback_query_parses_parameters() -> None:
    """A normal callback query becomes a dict of its parameters."""
    params = parse_callback_query("code=a%2Bb&state=xyz&iss=http%3A%2F%2F127.0.0.1")

    assert params == {"code": "a+b", "state": "xyz", "iss": "http://127.0.0.1"}


# One-time pending logins and replay.


async def test_replayed_callback_finds_no_pending_login(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """The second use of a callback fails: its pending login was taken by the first."""
    store = MemoryOneTimeStore()
    rp = await discover_rp(http, jwks, clock)
    request = rp.start_login()
    await save_pending_login(store, request.pending, 600)
    params = provider.authorize(request.url)

    first = await take_pending_login(store, params.get("state"))
    await rp.finish_login(params, first)
    second = await take_pending_login(store, params.get("state"))

    assert second is None
    await expect_error(
        lambda: rp.finish_login(params, second), ErrorCode.STATE_MISMATCH
    )
    assert provider.token_route.call_count == 1


async def test_replayed_id_token_in_new_login(
    provider: TestProvider, http: ProviderHttp, jwks: JwksCache, clock: FakeClock
) -> None:
    """An ID token from a finished login fails in a new login: its nonce is spent."""
    rp = await discover_rp(http, jwks, clock)
    first = rp.start_login()
    old_token = provider.make_id_token(first.pending.nonce)
    provider.id_token_override = old_token
    await rp.finish_login(provider.authorize(first.url), first.pending)

    second = rp.start_login()
    await expect_error(
        lambda: rp.finish_login(provider.authorize(second.url), second.pending),
        ErrorCode.NONCE_MISMATCH,
    )


async def test_take_pending_login_ignores_oversized_state() -> None:
    """A state far longer than the ones we issue is never looked up."""
    store = MemoryOneTimeStore()

    assert await take_pending_login(store, "x" * 5000) is None
    assert await take_pending_login(store, None) is None
