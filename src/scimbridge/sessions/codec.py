"""Compact JSON for a :class:`Session`, as the Redis store keeps it.

Times are integers of microseconds since the Unix epoch in UTC, so a decoded
session equals the one that was encoded. ``v`` is the format version: a later
release that changes the fields can still read, or knowingly reject, values
written by this one.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from scimbridge.sessions.store import Session

FORMAT_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """Return a timezone-aware datetime as microseconds since the Unix epoch."""
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def encode_session(session: Session) -> bytes:
    """Serialize a session to JSON without whitespace."""
    document: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "id": session.id,
        "org_id": session.org_id.hex,
        "member_id": session.member_id.hex,
        "connection_id": session.connection_id.hex,
        "created_at": to_micros(session.created_at),
        "expires_at": to_micros(session.expires_at),
        "auth_time": to_micros(session.auth_time),
        "roles": list(session.roles),
        "amr": list(session.amr),
        "upstream": dict(session.upstream),
    }
    if session.idle_expires_at is not None:
        document["idle_expires_at"] = to_micros(session.idle_expires_at)
    return json.dumps(document, separators=(",", ":")).encode()


def decode_session(data: bytes | str) -> Session:
    """Parse a value written by :func:`encode_session`.

    Raises ValueError when the value is not a session of format version 1.
    """
    try:
        document = json.loads(data)
        if document.get("v") != FORMAT_VERSION:
            raise ValueError(
                f"unsupported session format version {document.get('v')!r}"
            )
        idle = document.get("idle_expires_at")
        return Session(
            id=document["id"],
            org_id=UUID(hex=document["org_id"]),
            member_id=UUID(hex=document["member_id"]),
            connection_id=UUID(hex=document["connection_id"]),
            created_at=from_micros(document["created_at"]),
            expires_at=from_micros(document["expires_at"]),
            auth_time=from_micros(document["auth_time"]),
            roles=tuple(document["roles"]),
            amr=tuple(document["amr"]),
            upstream=dict(document["upstream"]),
            idle_expires_at=None if idle is None else from_micros(idle),
        )
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed session value: {type(exc).__name__}") from exc
