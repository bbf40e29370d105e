"""The in-process session store, used when no Redis URL is configured.

Every method runs to completion without awaiting, so calls from tasks on one
event loop never interleave and each method is atomic. The store is not
thread-safe: use it from one event loop.

NOTE: the data lives in one process. A restart ends every session, and with
several server workers each worker has its own store, so ``revoke_member``
in one worker leaves the member's sessions in the others. Deployments with
more than one worker need Redis.
"""

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from scimbridge.sessions.store import (
    Clock,
    Session,
    SessionStoreError,
    SessionStoreFull,
    as_bytes,
    is_session_id,
    utc_now,
    validate_key,
    validate_namespace,
    validate_seconds,
)

DEFAULT_MAX_ENTRIES = 100_000
DEFAULT_SWEEP_INTERVAL = timedelta(seconds=60)

_MemberKey = tuple[UUID, UUID]
_ScopedKey = tuple[str, str]


@dataclass(slots=True)
class _OnceValue:
    value: bytes
    expires_at: datetime


@dataclass(slots=True)
class _Counter:
    count: int
    expires_at: datetime


class EmbeddedSessionStore:
    """A :class:`~scimbridge.sessions.store.SessionStore` in dictionaries.

    ``max_entries`` bounds sessions, one-time values, replay entries and rate
    limit counters together. Expired entries are removed when read, on a
    sweep at most every ``sweep_interval`` during writes, and before a write
    that would exceed the bound. When the bound is still reached, the write
    raises :class:`SessionStoreFull` rather than evict a live entry, because
    evicting a session ends a login, and evicting a replay entry would let a
    replayed assertion through.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        sweep_interval: timedelta = DEFAULT_SWEEP_INTERVAL,
        clock: Clock = utc_now,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._sweep_interval = sweep_interval
        self._clock = clock
        self._next_sweep = clock() + sweep_interval

        self._sessions: dict[str, Session] = {}
        self._members: dict[_MemberKey, set[str]] = {}
        self._once: dict[_ScopedKey, _OnceValue] = {}
        self._seen: dict[_ScopedKey, datetime] = {}
        self._counters: dict[tuple[str, str, int, int], _Counter] = {}

    @property
    def entry_count(self) -> int:
        """Entries held, counting expired ones that no sweep has removed yet."""
        return (
            len(self._sessions)
            + len(self._once)
            + len(self._seen)
            + len(self._counters)
        )

    async def close(self) -> None:
        """Do nothing: the store has no connections, and its data stays readable."""

    async def create(self, session: Session) -> None:
        now = self._clock()
        if session.is_expired(now):
            raise ValueError("cannot store a session that has already ended")
        if session.id in self._sessions:
            raise SessionStoreError("a session with this id already exists")

        self._reserve_entry(now)
        self._sessions[session.id] = session
        member = (session.org_id, session.member_id)
        self._members.setdefault(member, set()).add(session.id)

    async def get(self, session_id: str) -> Session | None:
        return self._live_session(session_id, self._clock())

    async def touch(self, session_id: str, idle_until: datetime) -> bool:
        now = self._clock()
        if idle_until <= now:
            raise ValueError("idle_until must be in the future")
        session = self._live_session(session_id, now)
        if session is None:
            return False
        idle = min(idle_until, session.expires_at)
        self._sessions[session_id] = replace(session, idle_expires_at=idle)
        return True

    async def set_roles(self, session_id: str, roles: tuple[str, ...]) -> bool:
        session = self._live_session(session_id, self._clock())
        if session is None:
            return False
        self._sessions[session_id] = replace(session, roles=tuple(roles))
        return True

    async def delete(self, session_id: str) -> bool:
        live = self._live_session(session_id, self._clock()) is not None
        self._drop_session(session_id)
        return live

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> int:
        now = self._clock()
        session_ids = self._members.pop((org_id, member_id), set())
        revoked = 0
        for session_id in session_ids:
            session = self._sessions.pop(session_id, None)
            if session is not None and not session.is_expired(now):
                revoked += 1
        return revoked

    async def list_member(self, org_id: UUID, member_id: UUID) -> list[Session]:
        now = self._clock()
        session_ids = list(self._members.get((org_id, member_id), ()))
        sessions = [self._live_session(session_id, now) for session_id in session_ids]
        live = [session for session in sessions if session is not None]
        return sorted(live, key=lambda session: (session.created_at, session.id))

    async def put_once(
        self, namespace: str, key: str, value: bytes | str, ttl_seconds: int
    ) -> bool:
        validate_seconds("ttl_seconds", ttl_seconds)
        scoped = _scoped_key(namespace, key)
        now = self._clock()
        existing = self._once.get(scoped)
        if existing is not None and now < existing.expires_at:
            return False

        if existing is None:
            self._reserve_entry(now)
        deadline = now + timedelta(seconds=ttl_seconds)
        self._once[scoped] = _OnceValue(as_bytes(value), deadline)
        return True

    async def take(self, namespace: str, key: str) -> bytes | None:
        entry = self._once.pop(_scoped_key(namespace, key), None)
        if entry is None or self._clock() >= entry.expires_at:
            return None
        return entry.value

    async def remember(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        validate_seconds("ttl_seconds", ttl_seconds)
        scoped = _scoped_key(namespace, key)
        now = self._clock()
        seen_until = self._seen.get(scoped)
        if seen_until is not None and now < seen_until:
            return False

        if seen_until is None:
            self._reserve_entry(now)
        self._seen[scoped] = now + timedelta(seconds=ttl_seconds)
        return True

    async def hit(
        self, namespace: str, key: str, limit: int, window_seconds: int
    ) -> bool:
        validate_seconds("window_seconds", window_seconds)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a whole number, at least 1")
        namespace, key = _scoped_key(namespace, key)
        now = self._clock()
        index = math.floor(now.timestamp() / window_seconds)

        counter_key = (namespace, key, window_seconds, index)
        counter = self._counters.get(counter_key)
        if counter is None:
            self._reserve_entry(now)
            window_end = datetime.fromtimestamp(
                (index + 1) * window_seconds, tz=now.tzinfo
            )
            counter = self._counters[counter_key] = _Counter(0, window_end)
        counter.count += 1
        return counter.count <= limit

    def _live_session(self, session_id: str, now: datetime) -> Session | None:
        if not is_session_id(session_id):
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.is_expired(now):
            self._drop_session(session_id)
            return None
        return session

    def _drop_session(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        member = (session.org_id, session.member_id)
        member_sessions = self._members.get(member)
        if member_sessions is not None:
            member_sessions.discard(session_id)
            if not member_sessions:
                del self._members[member]

    def _reserve_entry(self, now: datetime) -> None:
        """Make room for one new entry, or raise SessionStoreFull."""
        if now >= self._next_sweep or self.entry_count >= self._max_entries:
            self.sweep(now)
        if self.entry_count >= self._max_entries:
            raise SessionStoreFull(
                f"the in-process session store is full with {self._max_entries} "
                "live entries; set SCIMBRIDGE_REDIS_URL to use Redis, or raise "
                "max_entries"
            )

    def sweep(self, now: datetime | None = None) -> int:
        """Remove every expired entry; return how many were removed."""
        now = self._clock() if now is None else now
        self._next_sweep = now + self._sweep_interval
        before = self.entry_count

        for session_id, session in list(self._sessions.items()):
            if session.is_expired(now):
                self._drop_session(session_id)
        for scoped, entry in list(self._once.items()):
            if now >= entry.expires_at:
                del self._once[scoped]
        for scoped, seen_until in list(self._seen.items()):
            if now >= seen_until:
                del self._seen[scoped]
        for counter_key, counter in list(self._counters.items()):
            if now >= counter.expires_at:
                del self._counters[counter_key]
        return before - self.entry_count


def _scoped_key(namespace: str, key: str) -> _ScopedKey:
    validate_namespace(namespace)
    validate_key(key)
    return (namespace, key)
