"""Relying party settings: deployment-wide limits and one OIDC connection's config."""

import re
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import SecretStr

from scimbridge.sso.oidc.jose import ALLOWED_ALGORITHMS, SigningKey

DEFAULT_SCOPES = ("openid", "email", "profile")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """Limits shared by every OIDC connection of a deployment. Times are in seconds."""

    clock_skew: float = 120
    """Leeway for ``exp``, ``iat``, ``nbf`` and ``auth_time`` against our clock."""
    jwks_refetch_interval: float = 60
    """Minimum time between two JWKS fetches for one issuer, so also between the
    refetches that unknown kids trigger."""
    jwks_max_age: float = 3600
    """Age after which cached keys are refetched on next use, so removed keys end.

    If that refetch fails, the old keys stay usable for one more ``jwks_max_age``.
    """
    http_timeout: float = 10
    """Limit for one whole request to the provider, response body included."""
    max_response_bytes: int = 512 * 1024
    """Maximum body of a discovery, JWKS, token or UserInfo response, in bytes."""
    pending_login_ttl: float = 600
    """Time a user has to come back from the provider before the login expires."""
    allow_loopback_http: bool = False
    """Development only: also accept http://127.0.0.1, http://localhost and
    http://[::1] provider URLs. No other private address is ever accepted."""

    def __post_init__(self) -> None:
        for name in (
            "clock_skew",
            "jwks_refetch_interval",
            "jwks_max_age",
            "http_timeout",
            "pending_login_ttl",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.max_response_bytes < 1024:
            raise ValueError("max_response_bytes must be at least 1024")


@dataclass(frozen=True, slots=True)
class ClientSecretBasic:
    """Client authentication with HTTP Basic (RFC 6749 section 2.3.1)."""

    client_secret: SecretStr
    method: ClassVar[str] = "client_secret_basic"


@dataclass(frozen=True, slots=True)
class ClientSecretPost:
    """Client authentication with the secret in the form body (RFC 6749 2.3.1)."""

    client_secret: SecretStr
    method: ClassVar[str] = "client_secret_post"


@dataclass(frozen=True, slots=True)
class PrivateKeyJwt:
    """Client authentication with a signed JWT assertion (RFC 7523, OIDC Core 9)."""

    signing_key: SigningKey
    assertion_lifetime: int = 60
    """Seconds from ``iat`` to ``exp`` of each client assertion."""
    method: ClassVar[str] = "private_key_jwt"


ClientAuth = ClientSecretBasic | ClientSecretPost | PrivateKeyJwt


@dataclass(frozen=True, slots=True)
class OidcConnection:
    """One organization's OIDC connection, as its admin configured it.

    ``redirect_uri`` must be unique to the connection (for example
    ``/oidc/callback/<connection_id>``), so a callback always names the
    connection whose issuer must have sent it.
    """

    connection_id: str
    issuer: str
    client_id: str
    client_auth: ClientAuth
    redirect_uri: str
    extra_scopes: tuple[str, ...] = ()
    algorithms: frozenset[str] = ALLOWED_ALGORITHMS
    """ID token algorithms the connection accepts; a subset of ALLOWED_ALGORITHMS."""
    trusted_audiences: frozenset[str] = frozenset()
    """Audiences besides ``client_id`` that an ID token may also list."""
    extra_endpoint_hosts: frozenset[str] = frozenset()
    """Hosts other than the issuer's that discovery may name for endpoints.

    Google is one provider that needs it: its discovery document at
    https://accounts.google.com/.well-known/openid-configuration puts the token
    endpoint on oauth2.googleapis.com and the JWKS on www.googleapis.com.
    """
    fetch_userinfo: bool = False
    groups_claim: str = "groups"
    scopes: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        for name in ("connection_id", "issuer", "client_id", "redirect_uri"):
            if not getattr(self, name):
                raise ValueError(f"OIDC connection {name} must not be empty")
        unknown = self.algorithms - ALLOWED_ALGORITHMS
        if unknown or not self.algorithms:
            raise ValueError(
                f"OIDC connection algorithms must be a non-empty subset of "
                f"{sorted(ALLOWED_ALGORITHMS)}"
            )
        for scope in self.extra_scopes:
            if _SCOPE_TOKEN.fullmatch(scope) is None:
                raise ValueError(f"scope {scope[:80]!r} is not a valid scope token")
        merged = dict.fromkeys((*DEFAULT_SCOPES, *self.extra_scopes))
        object.__setattr__(self, "scopes", tuple(merged))
