"""The session cookie: its attributes, its Set-Cookie values and Cookie parsing.

The cookie carries only the session id. It is always HttpOnly, so page
scripts cannot read it, and its Path is ``/``. With ``secure`` on (the
default) its name has the ``__Host-`` prefix, so browsers accept it only from
this host over HTTPS without a Domain attribute, and a sibling subdomain
cannot set or shadow it (draft-ietf-httpbis-rfc6265bis-12, section
4.1.3.2).
"""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from scimbridge.sessions.store import Session, is_session_id, utc_now

SECURE_COOKIE_NAME = "__Host-scimbridge_session"
INSECURE_COOKIE_NAME = "scimbridge_session"

SameSite = Literal["Lax", "Strict", "None"]
_SAME_SITE_VALUES = ("Lax", "Strict", "None")


@dataclass(frozen=True, slots=True)
class CookieSettings:
    """Attributes of the session cookie.

    ``secure`` off is for local development over plain http only. ``Lax``
    sends the cookie on top-level navigations from other sites, which an IdP
    redirect back to an app needs. A cross-site SAML POST to the Assertion
    Consumer Service carries no Lax cookie, so the ACS must not depend on one.
    """

    secure: bool = True
    same_site: SameSite = "Lax"

    def __post_init__(self) -> None:
        if self.same_site not in _SAME_SITE_VALUES:
            raise ValueError(
                f"invalid same_site {self.same_site!r}: expected Lax, Strict or None"
            )
        if self.same_site == "None" and not self.secure:
            raise ValueError("same_site None requires secure, as browsers do")

    @property
    def name(self) -> str:
        return SECURE_COOKIE_NAME if self.secure else INSECURE_COOKIE_NAME

    def attributes(self, max_age: int) -> str:
        """Return the attributes that follow ``name=value`` in Set-Cookie."""
        parts = [f"Max-Age={max_age}", "Path=/"]
        if self.secure:
            parts.append("Secure")
        parts.append("HttpOnly")
        parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts)


def session_cookie(
    session: Session, settings: CookieSettings, now: datetime | None = None
) -> str:
    """Return the Set-Cookie header value that stores the session id.

    Max-Age counts whole seconds from ``now`` to the session's ``expires_at``,
    so the browser drops the cookie when the session can no longer be valid.
    A session that has already ended gets ``Max-Age=0``, which deletes the
    cookie.
    """
    now = utc_now() if now is None else now
    remaining = (session.expires_at - now).total_seconds()
    max_age = max(0, math.floor(remaining))
    return f"{settings.name}={session.id}; {settings.attributes(max_age)}"


def clear_session_cookie(settings: CookieSettings) -> str:
    """Return the Set-Cookie header value that deletes the session cookie."""
    return f"{settings.name}=; {settings.attributes(0)}"


def session_id_from_cookie_header(
    header: str | None, settings: CookieSettings
) -> str | None:
    """Return the session id from a Cookie request header, or None.

    Cookie names are case-sensitive. A value without the shape of a session id
    is ignored. When the header repeats the cookie, which a sibling subdomain
    can cause for a cookie without the ``__Host-`` prefix, the first
    well-formed value wins, as browsers list the cookie with the longest Path
    first (RFC 6265 section 5.4).
    """
    if not header:
        return None
    for pair in header.split(";"):
        name, separator, value = pair.strip().partition("=")
        if not separator or name.strip() != settings.name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if is_session_id(value):
            return value
    return None
