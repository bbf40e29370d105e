"""The session store protocol, the session record and the checks both stores share.

::

    SessionStoreError
     +-- SessionStoreUnavailable   the backing service failed or timed out
     +-- SessionStoreFull          the in-process store reached its maximum size
"""

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Protocol
from uuid import UUID

Clock = Callable[[], datetime]
"""A source of the current time as a timezone-aware datetime."""

SESSION_ID_BYTES = 32
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")
_NAMESPACE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")

MAX_KEY_LENGTH = 1024
"""Maximum length of a one-time value, replay or rate limit key, in characters."""

MAX_UPSTREAM_ENTRIES = 16
MAX_UPSTREAM_KEY_LENGTH = 64
MAX_UPSTREAM_VALUE_LENGTH = 4096
"""Long enough for an OIDC ID token kept as ``id_token_hint`` for logout."""


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def new_session_id() -> str:
    """Return a new session id: 256 random bits, URL-safe base64 without padding."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def is_session_id(value: str) -> bool:
    """Return whether ``value`` has the shape of an id from :func:`new_session_id`.

    Stores check this before any lookup, so a cookie value of any other length
    or alphabet never reaches the backing store.
    """
    return _SESSION_ID.fullmatch(value) is not None


class SessionStoreError(Exception):
    """Root of every session store failure."""


class SessionStoreUnavailable(SessionStoreError):
    """The backing service (Redis) failed, refused the connection or timed out."""


class SessionStoreFull(SessionStoreError):
    """The in-process store contains its maximum number of live entries."""


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True, slots=True)
class Session:
    """A member's browser session, created after a SAML or OIDC login.

    ``expires_at`` is the absolute end that the caller computed from the
    organization's policy and the IdP's limit (SAML ``SessionNotOnOrAfter``).
    ``idle_expires_at``, when set, ends the session earlier unless ``touch``
    moves it forward. ``upstream`` keeps the IdP's session references for
    logout, such as the SAML ``session_index`` and ``name_id`` or the OIDC
    ``sid``.
    """

    id: str
    org_id: UUID
    member_id: UUID
    connection_id: UUID
    created_at: datetime
    expires_at: datetime
    auth_time: datetime
    roles: tuple[str, ...] = ()
    amr: tuple[str, ...] = ()
    """Authentication method references (RFC 8176), such as ``pwd`` or ``mfa``."""
    upstream: Mapping[str, str] = field(default_factory=dict)
    idle_expires_at: datetime | None = None

    def __post_init__(self) -> None:
        # Copies keep a stored session from changing through the caller's objects.
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "amr", tuple(self.amr))
        object.__setattr__(self, "upstream", MappingProxyType(dict(self.upstream)))

        if not is_session_id(self.id):
            raise ValueError("session id must come from new_session_id()")
        for name in ("created_at", "expires_at", "auth_time"):
            _require_aware(name, getattr(self, name))
        if self.expires_at <= self.created_at:
            raise ValueError("session expires_at must be after created_at")
        if self.idle_expires_at is not None:
            _require_aware("idle_expires_at", self.idle_expires_at)
            if self.idle_expires_at > self.expires_at:
                raise ValueError("session idle_expires_at must not be after expires_at")
        _validate_upstream(self.upstream)

    @property
    def valid_until(self) -> datetime:
        """End of the session: the earlier of ``expires_at`` and ``idle_expires_at``."""
        if self.idle_expires_at is None:
            return self.expires_at
        return min(self.expires_at, self.idle_expires_at)

    def is_expired(self, now: datetime) -> bool:
        """Return whether the session has ended at ``now``."""
        return now >= self.valid_until

    def __hash__(self) -> int:
        # The generated hash would fail on the upstream mapping. Equal sessions
        # have equal ids, so hashing the id alone is consistent with ==.
        return hash(self.id)


def _validate_upstream(upstream: Mapping[str, str]) -> None:
    if len(upstream) > MAX_UPSTREAM_ENTRIES:
        raise ValueError(
            f"session upstream has {len(upstream)} entries; "
            f"the maximum is {MAX_UPSTREAM_ENTRIES}"
        )
    for key, value in upstream.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError("session upstream keys and values must be strings")
        if not 0 < len(key) <= MAX_UPSTREAM_KEY_LENGTH:
            raise ValueError(
                f"session upstream key {key[:MAX_UPSTREAM_KEY_LENGTH]!r} must be "
                f"1 to {MAX_UPSTREAM_KEY_LENGTH} characters long"
            )
        if len(value) > MAX_UPSTREAM_VALUE_LENGTH:
            raise ValueError(
                f"session upstream value of {key!r} is {len(value)} characters "
                f"long; the maximum is {MAX_UPSTREAM_VALUE_LENGTH}"
            )


def validate_namespace(namespace: str) -> None:
    """Raise ValueError unless ``namespace`` is a short lowercase name.

    Namespaces cannot contain ``:``, so a namespace and a key never combine
    into the same storage key as another pair.
    """
    if _NAMESPACE.fullmatch(namespace) is None:
        raise ValueError(
            f"invalid namespace {namespace[:80]!r}: use 1 to 64 characters from "
            "a-z, 0-9, '_', '.' and '-', starting with a letter"
        )


def validate_key(key: str) -> None:
    """Raise ValueError unless ``key`` is 1 to ``MAX_KEY_LENGTH`` characters long."""
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise ValueError(
            f"key is {len(key)} characters long; it must be 1 to "
            f"{MAX_KEY_LENGTH} characters"
        )


def validate_seconds(name: str, value: int) -> None:
    """Raise ValueError unless ``value`` is a whole number of seconds, at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of seconds, at least 1")


def as_bytes(value: bytes | str) -> bytes:
    """Return ``value`` as bytes, encoding a string as UTF-8."""
    return value.encode() if isinstance(value, str) else bytes(value)


class SessionStore(Protocol):
    """Sessions, one-time login values, a replay cache and rate limit counters.

    Every method is atomic against concurrent calls on the same store. Keys of
    one-time values, replay entries and counters are scoped by a namespace,
    such as ``oidc-state`` or ``saml-assertion``.
    """

    async def create(self, session: Session) -> None:
        """Store a new session until its ``valid_until``.

        Raises ValueError if the session has already ended.
        """

    async def get(self, session_id: str) -> Session | None:
        """Return the session, or None when it is unknown, ended or malformed."""

    async def touch(self, session_id: str, idle_until: datetime) -> bool:
        """Move the idle expiry to ``idle_until``, capped at ``expires_at``.

        Returns False, and changes nothing, when the session no longer exists.
        A session that was deleted or revoked is never brought back.
        """

    async def set_roles(self, session_id: str, roles: tuple[str, ...]) -> bool:
        """Replace the roles of a session, keeping its id and expiry.

        Returns False, and changes nothing, when the session no longer exists.
        A concurrent ``touch`` neither loses this change nor is lost by it.
        """

    async def delete(self, session_id: str) -> bool:
        """Delete one session; return whether it existed."""

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> int:
        """Delete every session of the member in one step; return how many ended.

        NOTE: a login that checked the member before the revoke and calls
        ``create`` after it still gets a session. Login code must check the
        member's status again after ``create``, or the store needs a
        revocation marker that ``create`` checks.
        """

    async def list_member(self, org_id: UUID, member_id: UUID) -> list[Session]:
        """Return the member's live sessions, oldest first (ties by id)."""

    async def put_once(
        self, namespace: str, key: str, value: bytes | str, ttl_seconds: int
    ) -> bool:
        """Store ``value`` unless the key exists; return whether it was stored."""

    async def take(self, namespace: str, key: str) -> bytes | None:
        """Remove and return the value stored by ``put_once``.

        Of several concurrent calls for one key, exactly one receives the value.
        A string stored by ``put_once`` comes back UTF-8 encoded.
        """

    async def remember(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        """Record ``key`` for ``ttl_seconds``; return False if it is already recorded.

        Use it to reject a replayed SAML assertion ID or OIDC nonce.
        """

    async def hit(
        self, namespace: str, key: str, limit: int, window_seconds: int
    ) -> bool:
        """Count one request; return whether the count is within ``limit``.

        Windows are fixed and aligned to the Unix epoch, so a client can make
        up to ``2 * limit`` requests across a window boundary.
        """

    async def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
