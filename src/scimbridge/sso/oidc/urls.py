"""Checks on the provider URLs the relying party calls: https, public hosts, one origin.

Issuer and endpoint URLs come from an organization's admin and from the
provider's discovery document, so both are untrusted: a URL aimed at
``169.254.169.254`` or ``10.0.0.5`` would make scimbridge fetch from its own
network. URLs are parsed with httpx, the library that sends the requests, and
never compared by prefix, so ``https://127.0.0.1@evil.example`` is a URL for
``evil.example`` with userinfo, which is rejected.
"""

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

import httpx

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Return the IP addresses of a host name, given the host and the port."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts that the ``allow_loopback_http`` development setting permits."""

_DEFAULT_PORTS = {"https": 443, "http": 80}
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NAT64_NETWORKS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)


class UnsafeUrl(ValueError):
    """A provider URL that the relying party must not call, with the reason."""


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


async def resolve_host(host: str, port: int) -> list[str]:
    """Return the addresses of ``host`` from the event loop's ``getaddrinfo``."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def parse_provider_url(url: str, *, allow_loopback_http: bool) -> httpx.URL:
    """Parse a provider URL and check its form, but not where its host points.

    Requires https, a host name or IP literal, no userinfo, no fragment and a
    valid port. With ``allow_loopback_http``, the hosts in ``LOOPBACK_HOSTS``
    may also use http. :func:`check_public_host` checks the addresses.
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise UnsafeUrl(f"{url!r} is not a valid URL") from error
    host = parsed.raw_host.decode("ascii").lower()
    loopback_allowed = allow_loopback_http and host in LOOPBACK_HOSTS

    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback_allowed):
        raise UnsafeUrl(f"{url!r} does not use https")
    if not host:
        raise UnsafeUrl(f"{url!r} has no host")
    # httpx keeps characters that cannot be in a host name percent-encoded
    # in raw_host instead of rejecting them.
    if _HOST_NAME.fullmatch(host) is None and _ip_literal(host) is None:
        raise UnsafeUrl(f"{url!r} has an invalid host")
    if parsed.userinfo:
        raise UnsafeUrl(f"{url!r} contains userinfo before the host")
    if parsed.fragment:
        raise UnsafeUrl(f"{url!r} contains a fragment")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeUrl(f"{url!r} has an invalid port")
    return parsed


def origin_of(url: httpx.URL) -> Origin:
    """Return the scheme, lowercase ASCII host and port, with the default filled in."""
    port = url.port if url.port is not None else _DEFAULT_PORTS[url.scheme]
    return Origin(url.scheme, url.raw_host.decode("ascii").lower(), port)


async def check_public_host(
    url: httpx.URL, resolver: Resolver, *, allow_loopback_http: bool
) -> None:
    """Resolve the host of ``url`` and reject it unless every address is public.

    An IP literal is checked without a lookup. A host name that resolves to a
    loopback address is rejected even with ``allow_loopback_http``, which
    permits only the literal loopback hosts.
    """
    origin = origin_of(url)
    if allow_loopback_http and origin.host in LOOPBACK_HOSTS:
        return
    literal = _ip_literal(origin.host)
    if literal is not None:
        if not _is_public(literal):
            raise UnsafeUrl(
                f"host {origin.host} is a private, loopback, link-local or "
                "reserved address"
            )
        return

    try:
        addresses = await resolver(origin.host, origin.port)
    except OSError as error:
        raise UnsafeUrl(f"host {origin.host!r} could not be resolved") from error
    if not addresses:
        raise UnsafeUrl(f"host {origin.host!r} has no addresses")
    for address in addresses:
        ip = _ip_literal(address)
        if ip is None or not _is_public(ip):
            raise UnsafeUrl(
                f"host {origin.host!r} resolves to {address}, which is not a "
                "public address"
            )


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not ip.is_global or ip.is_multicast:
        return False
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return embedded is None or _is_public(embedded)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that a 6to4 or NAT64 address reaches.

    IPv4-mapped addresses (``::ffff:10.0.0.1``) need no case here, because
    ``is_global`` is already False for them.
    """
    if ip.sixtofour is not None:
        return ip.sixtofour
    # Python's is_global counts 6to4 and NAT64 (RFC 6052, RFC 8215) addresses
    # as global, but they reach the IPv4 address they embed.
    if any(ip in network for network in _NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
