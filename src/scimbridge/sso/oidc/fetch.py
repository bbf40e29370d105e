"""Back-channel requests to a provider, with the same limits on every one.

Each request checks the URL policy of :mod:`urls` first, follows no redirect,
stops reading at ``max_response_bytes`` and ends after ``http_timeout`` seconds
in total, so a slow or huge response cannot hold a worker. TLS verification is
whatever the passed ``httpx.AsyncClient`` does; httpx verifies by default.
"""

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from scimbridge.sso.oidc.errors import ErrorCode, OidcError
from scimbridge.sso.oidc.settings import OidcSettings
from scimbridge.sso.oidc.urls import (
    Resolver,
    UnsafeUrl,
    check_public_host,
    parse_provider_url,
    resolve_host,
)


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """A complete provider response within the size limit."""

    status_code: int
    media_type: str
    """The Content-Type without parameters, in lowercase."""
    body: bytes


@dataclass(frozen=True, slots=True)
class ProviderHttp:
    """The HTTP client, limits and DNS resolver of every back-channel request."""

    client: httpx.AsyncClient
    settings: OidcSettings = OidcSettings()
    resolver: Resolver = resolve_host

    async def request(
        self,
        method: str,
        url: str,
        *,
        error_code: ErrorCode,
        purpose: str,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> ProviderResponse:
        """Send one request to a provider URL and read the whole response.

        Raises OidcError with ``error_code`` when the URL is not allowed, the
        request fails or times out, the provider returns a redirect, or
        the body exceeds the size limit. ``purpose`` names the request in the
        detail, such as "JWKS request".
        """
        try:
            parsed = parse_provider_url(
                url, allow_loopback_http=self.settings.allow_loopback_http
            )
            # NOTE: httpx resolves the host again when it connects, so a DNS
            # server that returns another address the second time (DNS
            # rebinding) can still aim this request at a private address.
            # Closing that gap needs a transport that connects to the address
            # checked here.
            await check_public_host(
                parsed,
                self.resolver,
                allow_loopback_http=self.settings.allow_loopback_http,
            )
        except UnsafeUrl as error:
            raise OidcError(error_code, f"{purpose} URL rejected: {error}") from None

        try:
            async with asyncio.timeout(self.settings.http_timeout):
                return await self._send(
                    method, parsed, error_code, purpose, headers, data
                )
        except (TimeoutError, httpx.TimeoutException):
            raise OidcError(
                error_code,
                f"{purpose} to {url} timed out after {self.settings.http_timeout} s",
            ) from None
        except httpx.HTTPError as error:
            raise OidcError(
                error_code, f"{purpose} to {url} failed: {type(error).__name__}"
            ) from None

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        error_code: ErrorCode,
        purpose: str,
        headers: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
    ) -> ProviderResponse:
        limit = self.settings.max_response_bytes
        async with self.client.stream(
            method,
            url,
            headers=headers,
            data=data,
            follow_redirects=False,
            timeout=self.settings.http_timeout,
        ) as response:
            if 300 <= response.status_code < 400:
                raise OidcError(
                    error_code,
                    f"{purpose} to {url} returned a redirect (HTTP "
                    f"{response.status_code}); provider requests never follow "
                    "redirects, so configure the final URL",
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _too_large(error_code, purpose, url, limit)

            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _too_large(error_code, purpose, url, limit)

        content_type = response.headers.get("content-type", "")
        media_type = content_type.split(";", 1)[0].strip().lower()
        return ProviderResponse(response.status_code, media_type, bytes(body))


def _too_large(
    error_code: ErrorCode, purpose: str, url: httpx.URL, limit: int
) -> OidcError:
    return OidcError(error_code, f"{purpose} to {url} returned more than {limit} bytes")


def is_json_media_type(media_type: str) -> bool:
    """Return whether a media type is ``application/json`` or an ``+json`` type."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def parse_json_object(
    response: ProviderResponse, *, error_code: ErrorCode, purpose: str
) -> dict[str, Any]:
    """Return the body as a JSON object, or raise OidcError with ``error_code``."""
    if not is_json_media_type(response.media_type):
        raise OidcError(
            error_code,
            f"{purpose} returned Content-Type {response.media_type or 'none'!r}, "
            "not application/json",
        )
    try:
        value = json.loads(response.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise OidcError(error_code, f"{purpose} returned invalid JSON") from None
    if not isinstance(value, dict):
        raise OidcError(error_code, f"{purpose} returned JSON that is not an object")
    return value
