"""Discovery at connection setup: issuer, origins, transport and algorithms."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from scimbridge.sso.oidc import (
    ClientSecretPost,
    ErrorCode,
    OidcError,
    OidcSettings,
    PrivateKeyJwt,
    ProviderHttp,
    ProviderMetadata,
    SigningKey,
    discover,
)
from tests.sso.oidc.conftest import SETTINGS, FakeResolver, make_connection
from tests.sso.oidc.provider import ISSUER, TestProvider

pytestmark = pytest.mark.anyio

PUBLIC_ISSUER = "https://idp.acme.test"
PUBLIC_ADDRESS = "93.184.215.14"


async def expect_discovery_error(http: ProviderHttp, **changes: Any) -> OidcError:
    with pytest.raises(OidcError) as caught:
        await discover(http, make_connection(**changes))
    assert caught.value.code == ErrorCode.DISCOVERY_INVALID
    return caught.value


def public_provider(provider: TestProvider) -> dict[str, Any]:
    """Serve a discovery document for an https issuer on a public host name."""
    document = dict(provider.discovery)
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        document[name] = document[name].replace(ISSUER, PUBLIC_ISSUER)
    document["jwks_uri"] = f"{PUBLIC_ISSUER}/jwks"
    document["issuer"] = PUBLIC_ISSUER
    provider.router.get(f"{PUBLIC_ISSUER}/.well-known/openid-configuration").mock(
        side_effect=lambda request: httpx.Response(200, json=document)
    )
    return document


@pytest.fixture
def strict_http(provider: TestProvider, resolver: FakeResolver) -> ProviderHttp:
    """Production settings: no loopback, DNS from the fake resolver."""
    resolver.table[PUBLIC_ISSUER.removeprefix("https://")] = [PUBLIC_ADDRESS]
    return ProviderHttp(provider.client(), OidcSettings(), resolver)


async def test_discovery_pins_metadata(http: ProviderHttp) -> None:
    """A valid document gives frozen metadata with the provider's endpoints."""
    metadata = await discover(http, make_connection())

    assert metadata == ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        jwks_uri=f"{ISSUER}/jwks",
        userinfo_endpoint=f"{ISSUER}/userinfo",
        id_token_algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        token_endpoint_auth_methods=frozenset(
            {"client_secret_basic", "client_secret_post", "private_key_jwt"}
        ),
        iss_parameter_supported=False,
    )
    with pytest.raises(AttributeError):
        metadata.token_endpoint = "https://evil.example/token"  # type: ignore[misc]


async def test_discovery_on_public_https_host(
    provider: TestProvider, strict_http: ProviderHttp, resolver: FakeResolver
) -> None:
    """An https issuer whose host resolves to a public address is accepted."""
    public_provider(provider)

    metadata = await discover(strict_http, make_connection(issuer=PUBLIC_ISSUER))

    assert metadata.token_endpoint == f"{PUBLIC_ISSUER}/token"
    assert "idp.acme.test" in resolver.lookups


async def test_discovery_issuer_mismatch(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A document naming another issuer, even with a trailing slash, is rejected."""
    provider.discovery["issuer"] = ISSUER + "/"

    error = await expect_discovery_error(http)
    assert "issuer" in error.detail


async def test_discovery_issuer_missing(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A document without issuer is rejected."""
    del provider.discovery["issuer"]

    await expect_discovery_error(http)


@pytest.mark.parametrize(
    "name",
    ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"],
)
async def test_endpoint_on_other_origin(
    provider: TestProvider, http: ProviderHttp, name: str
) -> None:
    """Each endpoint must be on the issuer's origin."""
    provider.discovery[name] = "http://127.0.0.1:9401/" + name

    error = await expect_discovery_error(http)
    assert name in error.detail


async def test_endpoint_on_other_host_over_https(
    provider: TestProvider, strict_http: ProviderHttp, resolver: FakeResolver
) -> None:
    """An https endpoint on another public host is rejected unless allowed."""
    document = public_provider(provider)
    document["token_endpoint"] = "https://tokens.attacker.test/token"
    resolver.table["tokens.attacker.test"] = [PUBLIC_ADDRESS]

    error = await expect_discovery_error(strict_http, issuer=PUBLIC_ISSUER)
    assert "token_endpoint" in error.detail


async def test_endpoint_on_allowed_extra_host(
    provider: TestProvider, strict_http: ProviderHttp, resolver: FakeResolver
) -> None:
    """A host in extra_endpoint_hosts may serve endpoints, as Google's do."""
    document = public_provider(provider)
    document["jwks_uri"] = "https://keys.acme-cdn.test/certs"
    resolver.table["keys.acme-cdn.test"] = [PUBLIC_ADDRESS]

    metadata = await discover(
        strict_http,
        make_connection(
            issuer=PUBLIC_ISSUER, extra_endpoint_hosts=frozenset({"keys.acme-cdn.test"})
        ),
    )

    assert metadata.jwks_uri == "https://keys.acme-cdn.test/certs"


async def test_extra_host_must_be_public(
    provider: TestProvider, strict_http: ProviderHttp, resolver: FakeResolver
) -> None:
    """An allowed extra host that resolves to a private address is rejected."""
    document = public_provider(provider)
    document["jwks_uri"] = "https://keys.acme-cdn.test/certs"
    resolver.table["keys.acme-cdn.test"] = ["10.20.30.40"]

    error = await expect_discovery_error(
        strict_http,
        issuer=PUBLIC_ISSUER,
        extra_endpoint_hosts=frozenset({"keys.acme-cdn.test"}),
    )
    assert "10.20.30.40" in error.detail


async def test_http_endpoint_rejected(
    provider: TestProvider, strict_http: ProviderHttp
) -> None:
    """An http endpoint on the issuer's host is rejected."""
    document = public_provider(provider)
    document["token_endpoint"] = "http://idp.acme.test/token"

    error = await expect_discovery_error(strict_http, issuer=PUBLIC_ISSUER)
    assert "https" in error.detail


async def test_http_issuer_rejected(provider: TestProvider) -> None:
    """An http issuer is rejected without the development setting."""
    async with provider.client() as client:
        http = ProviderHttp(client, OidcSettings(), FakeResolver())
        error = await expect_discovery_error(http, issuer="http://idp.acme.test")

    assert "https" in error.detail
    assert provider.discovery_route.call_count == 0


@pytest.mark.parametrize(
    "issuer",
    [
        "https://10.0.0.5",
        "https://169.254.169.254",
        "https://127.0.0.1",
        "https://[::1]",
        "https://[::ffff:127.0.0.1]",
        "https://100.64.0.1",
        "https://0.0.0.0",
    ],
)
async def test_private_ip_literal_issuer_rejected(
    provider: TestProvider, issuer: str
) -> None:
    """Issuers on private, loopback, link-local or reserved IPs are rejected."""
    resolver = FakeResolver()
    async with provider.client() as client:
        http = ProviderHttp(client, OidcSettings(), resolver)
        await expect_discovery_error(http, issuer=issuer)

    assert resolver.lookups == []


@pytest.mark.parametrize(
    "address", ["10.1.2.3", "127.0.0.1", "169.254.169.254", "fd00::1"]
)
async def test_issuer_resolving_to_private_address(
    provider: TestProvider, address: str
) -> None:
    """A host name that resolves to a private address is rejected before any request."""
    resolver = FakeResolver({"idp.internal.test": [PUBLIC_ADDRESS, address]})
    route = provider.router.get(
        "https://idp.internal.test/.well-known/openid-configuration"
    )
    async with provider.client() as client:
        http = ProviderHttp(client, OidcSettings(), resolver)
        error = await expect_discovery_error(http, issuer="https://idp.internal.test")

    assert address in error.detail
    assert route.call_count == 0


async def test_unresolvable_issuer_rejected(provider: TestProvider) -> None:
    """A host name that does not resolve is rejected."""
    async with provider.client() as client:
        http = ProviderHttp(client, OidcSettings(), FakeResolver())
        error = await expect_discovery_error(http, issuer="https://nowhere.test")

    assert "resolved" in error.detail


@pytest.mark.parametrize(
    "issuer",
    [
        "http://10.0.0.1",
        "http://idp.acme.test",
        "http://localhost.attacker.test",
        "https://127.0.0.1@attacker.test",
    ],
)
async def test_loopback_flag_allows_only_loopback(
    provider: TestProvider, issuer: str
) -> None:
    """With allow_loopback_http, only literal loopback hosts may use http."""
    resolver = FakeResolver(
        {
            "attacker.test": [PUBLIC_ADDRESS],
            "idp.acme.test": [PUBLIC_ADDRESS],
            "localhost.attacker.test": [PUBLIC_ADDRESS],
        }
    )
    async with provider.client() as client:
        http = ProviderHttp(client, SETTINGS, resolver)
        await expect_discovery_error(http, issuer=issuer)


async def test_loopback_flag_rejects_rebinding_name(
    provider: TestProvider,
) -> None:
    """With allow_loopback_http, a name that resolves to 127.0.0.1 is still rejected."""
    resolver = FakeResolver({"rebind.attacker.test": ["127.0.0.1"]})
    async with provider.client() as client:
        http = ProviderHttp(client, SETTINGS, resolver)
        await expect_discovery_error(http, issuer="https://rebind.attacker.test")

    assert resolver.lookups == ["rebind.attacker.test"]


async def test_issuer_with_query_rejected(http: ProviderHttp) -> None:
    """An issuer with a query component is rejected (OpenID Connect Discovery 1.0)."""
    error = await expect_discovery_error(http, issuer=ISSUER + "?tenant=acme")

    assert "query" in error.detail


async def test_issuer_with_userinfo_rejected(http: ProviderHttp) -> None:
    """https://127.0.0.1@host is a URL for host with userinfo, and is rejected."""
    error = await expect_discovery_error(http, issuer="http://127.0.0.1@127.0.0.1:9400")

    assert "userinfo" in error.detail


async def test_discovery_redirect_not_followed(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A redirect from the discovery URL is an error, and its target is not fetched."""
    target = provider.router.get("http://127.0.0.1:9400/elsewhere").mock(
        return_value=httpx.Response(200, json=provider.discovery)
    )
    provider.discovery_route.mock(
        side_effect=lambda request: httpx.Response(
            302, headers={"Location": "http://127.0.0.1:9400/elsewhere"}
        )
    )

    error = await expect_discovery_error(http)
    assert "redirect" in error.detail
    assert target.call_count == 0


async def test_redirect_ignored_by_following_client(
    provider: TestProvider,
) -> None:
    """Redirects stay unfollowed even with a client that follows them by default."""
    target = provider.router.get("http://127.0.0.1:9400/elsewhere").mock(
        return_value=httpx.Response(200, json=provider.discovery)
    )
    provider.discovery_route.mock(
        side_effect=lambda request: httpx.Response(
            307, headers={"Location": "http://127.0.0.1:9400/elsewhere"}
        )
    )
    transport = httpx.MockTransport(provider.router.async_handler)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        http = ProviderHttp(client, SETTINGS, FakeResolver())
        await expect_discovery_error(http)

    assert target.call_count == 0


async def test_discovery_oversized_by_content_length(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A document larger than max_response_bytes is rejected."""
    padding = "x" * SETTINGS.max_response_bytes
    provider.discovery["padding"] = padding

    error = await expect_discovery_error(http)
    assert "more than" in error.detail


async def test_discovery_declared_length_checked_first(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A Content-Length over the limit is rejected before the body is read."""
    chunks_sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        chunks_sent += 1
        yield b"{}"

    provider.discovery_route.mock(
        side_effect=lambda request: httpx.Response(
            200,
            headers={"Content-Type": "application/json", "Content-Length": "99999999"},
            content=body(),
        )
    )

    error = await expect_discovery_error(http)
    assert "more than" in error.detail
    assert chunks_sent == 0


async def test_discovery_oversized_streamed(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A streamed body without Content-Length stops at max_response_bytes."""
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while chunks_sent < 10_000:
            chunks_sent += 1
            yield b" " * 65536

    provider.discovery_route.mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"Content-Type": "application/json"}, content=endless()
        )
    )

    error = await expect_discovery_error(http)
    assert "more than" in error.detail
    assert chunks_sent < 20


async def test_discovery_timeout(provider: TestProvider) -> None:
    """A provider slower than http_timeout fails the discovery."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=provider.discovery)

    provider.discovery_route.mock(side_effect=slow)
    settings = replace(SETTINGS, http_timeout=0.05)
    async with provider.client() as client:
        http = ProviderHttp(client, settings, FakeResolver())
        error = await expect_discovery_error(http)

    assert "timed out" in error.detail


async def test_discovery_transport_error(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A connection failure becomes oidc.discovery_invalid."""
    provider.discovery_route.mock(side_effect=httpx.ConnectError("refused"))

    error = await expect_discovery_error(http)
    assert "ConnectError" in error.detail


@pytest.mark.parametrize(
    ("response", "fragment"),
    [
        (httpx.Response(404, json={}), "HTTP 404"),
        (httpx.Response(200, text="<html>login</html>"), "Content-Type"),
        (httpx.Response(200, json=["not", "an", "object"]), "not an object"),
        (
            httpx.Response(
                200, content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            "invalid JSON",
        ),
    ],
)
async def test_discovery_bad_response(
    provider: TestProvider, http: ProviderHttp, response: httpx.Response, fragment: str
) -> None:
    """Non-200, non-JSON and non-object documents are rejected."""
    provider.discovery_route.mock(return_value=response)

    error = await expect_discovery_error(http)

    assert fragment in error.detail


async def test_discovery_json_with_wrong_media_type(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A valid JSON document served as text/plain is rejected."""
    body = json.dumps(provider.discovery).encode()
    provider.discovery_route.mock(
        return_value=httpx.Response(
            200, content=body, headers={"Content-Type": "text/plain"}
        )
    )

    error = await expect_discovery_error(http)

    assert "text/plain" in error.detail


async def test_discovery_accepts_charset_parameter(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """application/json with a charset parameter is accepted."""
    body = json.dumps(provider.discovery).encode()
    provider.discovery_route.mock(
        return_value=httpx.Response(
            200,
            content=body,
            headers={"Content-Type": "Application/JSON; charset=utf-8"},
        )
    )

    metadata = await discover(http, make_connection())

    assert metadata.issuer == ISSUER


async def test_algorithms_intersected_with_allowlist(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """none and HS256 offered by the provider never enter the accepted algorithms."""
    provider.discovery["id_token_signing_alg_values_supported"] = [
        "none",
        "HS256",
        "RS256",
        "ES512",
    ]

    metadata = await discover(http, make_connection())

    assert metadata.id_token_algorithms == frozenset({"RS256"})


async def test_algorithms_intersected_with_connection(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A connection that allows only RS256 keeps only RS256."""
    metadata = await discover(http, make_connection(algorithms=frozenset({"RS256"})))

    assert metadata.id_token_algorithms == frozenset({"RS256"})


async def test_no_common_algorithm(provider: TestProvider, http: ProviderHttp) -> None:
    """A provider that signs only with HS256 or none cannot be set up."""
    provider.discovery["id_token_signing_alg_values_supported"] = ["HS256", "none"]

    error = await expect_discovery_error(http)
    assert "HS256" in error.detail


async def test_algorithms_missing(provider: TestProvider, http: ProviderHttp) -> None:
    """A document without id_token_signing_alg_values_supported is rejected."""
    del provider.discovery["id_token_signing_alg_values_supported"]

    await expect_discovery_error(http)


async def test_code_flow_required(provider: TestProvider, http: ProviderHttp) -> None:
    """A provider without response_type code is rejected."""
    provider.discovery["response_types_supported"] = ["id_token"]

    await expect_discovery_error(http)


async def test_s256_required_when_listed(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A provider that lists only the plain PKCE method is rejected."""
    provider.discovery["code_challenge_methods_supported"] = ["plain"]

    error = await expect_discovery_error(http)
    assert "S256" in error.detail


async def test_auth_method_must_be_supported(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """The connection's client authentication must be one the provider lists."""
    provider.discovery["token_endpoint_auth_methods_supported"] = [
        "client_secret_basic"
    ]

    error = await expect_discovery_error(
        http, client_auth=ClientSecretPost(SecretStr("secret"))
    )
    assert "client_secret_post" in error.detail


async def test_auth_method_defaults_to_basic(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """Without token_endpoint_auth_methods_supported only client_secret_basic works."""
    del provider.discovery["token_endpoint_auth_methods_supported"]

    metadata = await discover(http, make_connection())
    assert metadata.token_endpoint_auth_methods == frozenset({"client_secret_basic"})
    await expect_discovery_error(http, client_auth=ClientSecretPost(SecretStr("s")))


async def test_assertion_alg_must_be_supported(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A private_key_jwt alg the token endpoint does not accept is rejected."""
    pem = provider.keys.client_rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    auth = PrivateKeyJwt(SigningKey(pem, alg="PS256", kid="client-1"))

    error = await expect_discovery_error(http, client_auth=auth)
    assert "PS256" in error.detail


async def test_userinfo_needs_userinfo_endpoint(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A connection that fetches UserInfo needs a userinfo_endpoint."""
    del provider.discovery["userinfo_endpoint"]

    metadata = await discover(http, make_connection())
    assert metadata.userinfo_endpoint is None
    await expect_discovery_error(http, fetch_userinfo=True)


@pytest.mark.parametrize("value", [True, False])
async def test_iss_parameter_flag_read(
    provider: TestProvider, http: ProviderHttp, value: bool
) -> None:
    """authorization_response_iss_parameter_supported is pinned in the metadata."""
    provider.discovery["authorization_response_iss_parameter_supported"] = value

    metadata = await discover(http, make_connection())

    assert metadata.iss_parameter_supported is value


async def test_iss_parameter_flag_must_be_boolean(
    provider: TestProvider, http: ProviderHttp
) -> None:
    """A non-boolean iss parameter flag is rejected, not read as truthy or falsy."""
    provider.discovery["authorization_response_iss_parameter_supported"] = "false"

    await expect_discovery_error(http)


async def test_issuer_with_path_and_trailing_slash(provider: TestProvider) -> None:
    """An issuer ending in '/' is fetched without a double slash and matched exactly."""
    issuer = "http://127.0.0.1:9400/tenant/"
    document = dict(provider.discovery, issuer=issuer)
    route = provider.router.get(
        "http://127.0.0.1:9400/tenant/.well-known/openid-configuration"
    ).mock(return_value=httpx.Response(200, json=document))
    async with provider.client() as client:
        http = ProviderHttp(client, SETTINGS, FakeResolver())
        metadata = await discover(http, make_connection(issuer=issuer))

    assert metadata.issuer == issuer
    assert route.call_count == 1
