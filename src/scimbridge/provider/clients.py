"""App clients: the relying parties that delegate login to scimbridge.

Redirect URIs match by exact string comparison. The one exception is RFC
8252 section 7.3: a public (native) client registered with an ``http``
loopback IP literal may use any port at request time.
"""

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit
from uuid import UUID

CLIENT_ID_PREFIX = "app_"
CLIENT_SECRET_PREFIX = "acs_"  # noqa: S105  (a prefix, not a secret)
MAX_URIS = 20
MAX_URI_LENGTH = 2000
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]"})


class InvalidClient(ValueError):
    """A registration value that is invalid. The message names the value."""


@dataclass(frozen=True, slots=True)
class AppClient:
    """A registered app. ``org_ids`` None means every organization may sign in."""

    id: str
    name: str
    public: bool
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    org_ids: frozenset[UUID] | None = None
    enabled: bool = True
    created_at: datetime | None = field(default=None, compare=False)

    def allows_org(self, org_id: UUID) -> bool:
        return self.org_ids is None or org_id in self.org_ids

    def accepts_redirect_uri(self, uri: str) -> bool:
        """Return whether ``uri`` is one of the registered redirect URIs."""
        if uri in self.redirect_uris:
            return True
        if not self.public:
            return False
        return any(
            _same_loopback_uri(registered, uri) for registered in self.redirect_uris
        )

    def accepts_post_logout_uri(self, uri: str) -> bool:
        return uri in self.post_logout_redirect_uris

    def check_secret(self, secret: str) -> bool:
        """Compare ``secret`` with the stored hash in constant time."""
        if self.public or self.secret_hash is None:
            return False
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)


def web_origin(uri: str) -> str | None:
    """Return the origin (RFC 6454) of an http or https URI, or None for others.

    Private-use schemes of native apps have no web origin.
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default_port = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == default_port:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def new_client_id() -> str:
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def new_client_secret() -> str:
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """Hash a client secret. It has 256 random bits, so one SHA-256 is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _same_loopback_uri(registered: str, presented: str) -> bool:
    reg, got = urlsplit(registered), urlsplit(presented)
    if reg.scheme != "http" or got.scheme != "http":
        return False
    if _host(reg.netloc) not in _LOOPBACK_HOSTS:
        return False
    try:
        got_port = got.port
    except ValueError:
        return False
    return (
        _host(got.netloc) == _host(reg.netloc)
        and got_port is not None
        and "@" not in got.netloc
        and (reg.path, reg.query, reg.fragment) == (got.path, got.query, got.fragment)
    )


def _host(netloc: str) -> str:
    if netloc.startswith("["):
        return netloc[: netloc.find("]") + 1]
    return netloc.rsplit(":", 1)[0]


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_redirect_uri(uri: str, *, public: bool) -> str:
    """Check a redirect URI at registration (RFC 6749 3.1.2, RFC 8252 7).

    Allowed: ``https`` URIs; ``http`` on a loopback host, for development and
    native apps; and, for public clients, a private-use scheme with a dot,
    such as ``com.example.app:/callback``. Fragments are never allowed.
    """
    return _validate_uri("redirect URI", uri, allow_private_scheme=public)


def validate_logout_uri(kind: str, uri: str) -> str:
    return _validate_uri(kind, uri, allow_private_scheme=False)


def _validate_uri(kind: str, uri: str, *, allow_private_scheme: bool) -> str:
    if not uri or len(uri) > MAX_URI_LENGTH or not uri.isprintable() or " " in uri:
        raise InvalidClient(
            f"{kind} must be 1 to {MAX_URI_LENGTH} printable characters"
        )
    parts = urlsplit(uri)
    if "#" in uri:
        raise InvalidClient(f"{kind} {uri!r} must not contain a fragment")
    if parts.scheme == "https" and parts.hostname:
        pass
    elif parts.scheme == "http" and _is_loopback(parts.hostname):
        pass
    elif allow_private_scheme and "." in parts.scheme and not parts.netloc:
        pass
    else:
        raise InvalidClient(
            f"{kind} {uri!r} must be https, http on a loopback address, or for a "
            "native app a private-use scheme such as com.example.app:/callback"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidClient(f"{kind} {uri!r} must not contain user information")
    return uri


def validate_uris(
    kind: str, uris: Iterable[str], *, public: bool = False
) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(uris))
    if len(checked) > MAX_URIS:
        raise InvalidClient(f"at most {MAX_URIS} values of {kind} are allowed")
    if kind == "redirect URI":
        return tuple(validate_redirect_uri(uri, public=public) for uri in checked)
    return tuple(validate_logout_uri(kind, uri) for uri in checked)
