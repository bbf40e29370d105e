"""Browser sessions, one-time login values, replay cache and rate limits."""

from scimbridge.sessions.factory import build_session_store
from scimbridge.sessions.store import (
    Session,
    SessionStore,
    SessionStoreError,
    SessionStoreFull,
    SessionStoreUnavailable,
    is_session_id,
    new_session_id,
)

__all__ = [
    "Session",
    "SessionStore",
    "SessionStoreError",
    "SessionStoreFull",
    "SessionStoreUnavailable",
    "build_session_store",
    "is_session_id",
    "new_session_id",
]
