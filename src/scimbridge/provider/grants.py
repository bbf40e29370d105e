"""Grants: what one sign-in allowed one app, and the refresh token family on it.

A grant is created when an app redeems an authorization code. Every token
issued on it names the grant, so revoking the grant makes each of them
inactive at once: its access tokens fail introspection and userinfo, and
its refresh tokens fail at the token endpoint. Refresh tokens rotate on
each use; presenting one that was already rotated away revokes the grant
(RFC 9700 section 4.14.2).

Refresh tokens are stored only as hashes.
"""

import enum
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

REFRESH_TOKEN_PREFIX = "art_"  # noqa: S105  (a prefix, not a secret)


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    org_id: UUID
    member_id: UUID
    client_id: str
    sid: str
    session_id: str
    connection_id: UUID
    scope: tuple[str, ...]
    auth_time: datetime
    amr: tuple[str, ...]
    created_at: datetime
    expires_at: datetime

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "org_id": str(self.org_id),
                "member_id": str(self.member_id),
                "client_id": self.client_id,
                "sid": self.sid,
                "session_id": self.session_id,
                "connection_id": str(self.connection_id),
                "scope": list(self.scope),
                "auth_time": int(self.auth_time.timestamp()),
                "amr": list(self.amr),
                "created_at": int(self.created_at.timestamp()),
                "expires_at": int(self.expires_at.timestamp()),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, data: str | bytes) -> "Grant":
        raw: dict[str, Any] = json.loads(data)
        return cls(
            id=raw["id"],
            org_id=UUID(raw["org_id"]),
            member_id=UUID(raw["member_id"]),
            client_id=raw["client_id"],
            sid=raw["sid"],
            session_id=raw["session_id"],
            connection_id=UUID(raw["connection_id"]),
            scope=tuple(raw["scope"]),
            auth_time=datetime.fromtimestamp(raw["auth_time"], UTC),
            amr=tuple(raw["amr"]),
            created_at=datetime.fromtimestamp(raw["created_at"], UTC),
            expires_at=datetime.fromtimestamp(raw["expires_at"], UTC),
        )


def new_grant_id() -> str:
    return secrets.token_urlsafe(16)


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RotationOutcome(enum.Enum):
    rotated = "rotated"
    unknown = "unknown"
    reused = "reused"
    wrong_client = "wrong_client"


@dataclass(frozen=True, slots=True)
class Rotation:
    outcome: RotationOutcome
    grant: Grant | None = None
    """The grant that was rotated, or that a reuse revoked."""


class GrantStore(Protocol):
    """Storage of grants and refresh token families, where each method is atomic."""

    async def create(self, grant: Grant, refresh_hash: str) -> None:
        """Store a grant with its first refresh token until ``expires_at``."""

    async def rotate(self, old_hash: str, new_hash: str, client_id: str) -> Rotation:
        """Replace the grant's current refresh token.

        A token that was current is replaced and the grant returned. A token
        the grant already rotated away revokes the grant: ``reused``. A token
        of another client changes nothing: ``wrong_client``.
        """

    async def find_refresh(self, refresh_hash: str) -> tuple[Grant, bool] | None:
        """Return the live grant of a refresh token, and whether it is current."""

    async def is_active(self, grant_id: str, token_id: str | None = None) -> bool:
        """Return whether the grant lives and the access token was not revoked."""

    async def get(self, grant_id: str) -> Grant | None: ...

    async def revoke(self, grant_id: str) -> Grant | None:
        """Revoke the grant and every token on it, and return it if it existed."""

    async def revoke_access_token(self, token_id: str, ttl_seconds: int) -> None:
        """Mark one access token revoked until it would have expired."""

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> list[Grant]: ...

    async def revoke_session(self, sid: str) -> list[Grant]: ...

    async def revoke_org(self, org_id: UUID) -> list[Grant]: ...

    async def close(self) -> None: ...
