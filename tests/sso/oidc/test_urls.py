"""The provider URL policy: form checks and public-address checks."""

import httpx
import pytest

from scimbridge.sso.oidc.urls import (
    UnsafeUrl,
    check_public_host,
    origin_of,
    parse_provider_url,
)
from tests.sso.oidc.conftest import FakeResolver

pytestmark = pytest.mark.anyio

PUBLIC_ADDRESS = "93.184.215.14"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://idp.acme.test", "https"),
        ("ftp://idp.acme.test", "https"),
        ("https://user@idp.acme.test", "userinfo"),
        ("https://127.0.0.1@idp.acme.test", "userinfo"),
        ("https://idp.acme.test/#frag", "fragment"),
        ("https://idp.acme.test:99999/", "port"),
        ("https:///path", "host"),
        ("https://exa mple.test", "invalid host"),
        ("https://[bad", "invalid host"),
        ("https://idp..acme.test", "invalid host"),
        ("https://exa\x00mple.test", "valid URL"),
    ],
)
def test_parse_rejects(url: str, reason: str) -> None:
    """URLs without https, with userinfo, a fragment or a bad port are rejected."""
    with pytest.raises(UnsafeUrl, match=reason):
        parse_provider_url(url, allow_loopback_http=False)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9400", "http://localhost:8080/x", "http://[::1]:9/"]
)
def test_parse_allows_loopback_http_with_flag(url: str) -> None:
    """The development flag allows http on the literal loopback hosts only."""
    parse_provider_url(url, allow_loopback_http=True)

    with pytest.raises(UnsafeUrl):
        parse_provider_url(url, allow_loopback_http=False)


def test_origin_fills_default_port() -> None:
    """Origins compare with the default port filled in and the host in lowercase."""
    first = origin_of(httpx.URL("https://IDP.acme.test/a"))
    second = origin_of(httpx.URL("https://idp.acme.test:443/b"))

    assert first == second
    assert origin_of(httpx.URL("https://idp.acme.test:8443/")) != first


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "2002:a00:1::",
    ],
)
async def test_private_addresses_rejected(address: str) -> None:
    """A host resolving to any non-public address, embedded ones included, fails."""
    resolver = FakeResolver({"idp.acme.test": [address]})
    url = httpx.URL("https://idp.acme.test/")

    with pytest.raises(UnsafeUrl, match="not a public address"):
        await check_public_host(url, resolver, allow_loopback_http=False)


@pytest.mark.parametrize(
    "address", [PUBLIC_ADDRESS, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
)
async def test_public_addresses_accepted(address: str) -> None:
    """A host resolving only to public addresses passes."""
    resolver = FakeResolver({"idp.acme.test": [address]})

    await check_public_host(
        httpx.URL("https://idp.acme.test/"), resolver, allow_loopback_http=False
    )


async def test_ip_literal_checked_without_lookup() -> None:
    """An IP literal host is decided without asking the resolver."""
    resolver = FakeResolver()

    with pytest.raises(UnsafeUrl, match="private"):
        await check_public_host(
            httpx.URL("https://10.1.1.1/"), resolver, allow_loopback_http=False
        )
    await check_public_host(
        httpx.URL(f"https://{PUBLIC_ADDRESS}/"), resolver, allow_loopback_http=False
    )

    assert resolver.lookups == []


async def test_any_private_address_fails_host() -> None:
    """One private address among public ones is enough to reject the host."""
    resolver = FakeResolver({"idp.acme.test": [PUBLIC_ADDRESS, "10.9.9.9"]})

    with pytest.raises(UnsafeUrl, match="10.9.9.9"):
        await check_public_host(
            httpx.URL("https://idp.acme.test/"), resolver, allow_loopback_http=False
        )
