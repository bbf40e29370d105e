"""Fixtures: a test provider on loopback, a fake clock and a fake DNS resolver."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from scimbridge.sso.oidc import (
    ClientSecretBasic,
    IdTokenValidator,
    JwksCache,
    OidcConnection,
    OidcRelyingParty,
    OidcSettings,
    ProviderHttp,
    ProviderMetadata,
)
from tests.sso.oidc.provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    REDIRECT_URI,
    ProviderKeys,
    TestProvider,
)

SETTINGS = OidcSettings(allow_loopback_http=True)
NONCE = "nonce-0123456789abcdefghijklmnopqrstuvwxyzABCD"


class FakeClock:
    """A clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.current = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.current

    def timestamp(self) -> float:
        return self.current.timestamp()

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakeResolver:
    """Answers DNS lookups from a table, so tests never query real DNS."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        return self.table[host]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def keys() -> ProviderKeys:
    return ProviderKeys.generate()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
def provider(keys: ProviderKeys, clock: FakeClock) -> TestProvider:
    return TestProvider(keys=keys, now=clock.timestamp)


@pytest.fixture
def http(provider: TestProvider, resolver: FakeResolver) -> ProviderHttp:
    return ProviderHttp(provider.client(), SETTINGS, resolver)


@pytest.fixture
def jwks(http: ProviderHttp, clock: FakeClock) -> JwksCache:
    return JwksCache(http, clock=clock)


def make_connection(**changes: Any) -> OidcConnection:
    values: dict[str, Any] = {
        "connection_id": "conn-acme",
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "client_auth": ClientSecretBasic(SecretStr(CLIENT_SECRET)),
        "redirect_uri": REDIRECT_URI,
    }
    values.update(changes)
    return OidcConnection(**values)


def make_metadata(**changes: Any) -> ProviderMetadata:
    metadata = ProviderMetadata(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        jwks_uri=f"{ISSUER}/jwks",
        userinfo_endpoint=f"{ISSUER}/userinfo",
        id_token_algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        token_endpoint_auth_methods=frozenset({"client_secret_basic"}),
        iss_parameter_supported=False,
    )
    return replace(metadata, **changes)


@pytest.fixture
def validator(jwks: JwksCache, clock: FakeClock) -> IdTokenValidator:
    return IdTokenValidator(
        metadata=make_metadata(), client_id=CLIENT_ID, jwks=jwks, clock=clock
    )


async def discover_rp(
    http: ProviderHttp, jwks: JwksCache, clock: FakeClock, **changes: Any
) -> OidcRelyingParty:
    return await OidcRelyingParty.discover(
        make_connection(**changes), http, jwks, clock=clock
    )
