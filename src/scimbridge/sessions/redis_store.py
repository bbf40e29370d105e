"""The session store on Redis 7.0 or newer, through redis-py's asyncio client.

Key layout under the prefix (``sb:`` by default). Every key has a TTL.

==========================================  =====================================
key                                         value
==========================================  =====================================
``s:{session_id}``                          the session as compact JSON
``m:{org_id}:{member_id}``                  sorted set of the member's session
                                            ids, scored by ``expires_at`` in
                                            Unix ms; its TTL is the latest score
``o:{namespace}:{key}``                     a one-time value (``put_once``)
``r:{namespace}:{key}``                     a replay cache entry (``remember``)
``h:{namespace}:{window}:{index}:{key}``    a rate limit counter for window
                                            number ``index`` of ``window`` s
==========================================  =====================================

Session keys expire at the session's ``valid_until``, by Redis's own clock.
``get`` also compares it with this process's clock, so a session ends on
time even when the two clocks differ by a few milliseconds.

NOTE: the create and revoke scripts touch keys of several hash slots, so this
store runs on a single Redis server or a Sentinel-managed primary, not on
Redis Cluster.
"""

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from scimbridge.sessions.codec import decode_session, encode_session, to_micros
from scimbridge.sessions.store import (
    Clock,
    Session,
    SessionStoreError,
    SessionStoreUnavailable,
    as_bytes,
    is_session_id,
    utc_now,
    validate_key,
    validate_namespace,
    validate_seconds,
)

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "sb:"
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_TIMEOUT_SECONDS = 5.0
"""Timeout to connect, to run one command and to wait for a pooled connection."""
MAX_REWRITE_ATTEMPTS = 32
"""Times a session update is retried when other clients keep changing the session."""

# KEYS: session key, member index. ARGV: encoded session, key expiry in Unix
# ms, index score (expires_at in Unix ms), session id, current Unix ms.
# Adding to the index also drops the ids of sessions past their expires_at,
# and sets the index TTL to its latest score, so it outlives every session.
_CREATE_SCRIPT = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PXAT', ARGV[2]) then
    return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], latest[2])
return 1
"""

# KEYS: member index. ARGV: session key prefix. Returns the number of session
# keys deleted, so sessions that had already expired are not counted. The
# session keys are built inside the script, which Redis allows outside
# Cluster. DEL takes them in batches because Lua's unpack() has a stack limit.
_REVOKE_SCRIPT = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local deleted = 0
local batch = {}
for i, id in ipairs(ids) do
    batch[#batch + 1] = ARGV[1] .. id
    if #batch == 500 or i == #ids then
        deleted = deleted + redis.call('DEL', unpack(batch))
        batch = {}
    end
end
redis.call('DEL', KEYS[1])
return deleted
"""


@contextmanager
def _translate_errors() -> Iterator[None]:
    """Raise redis-py's errors as session store errors, so callers need no redis."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise SessionStoreUnavailable(f"Redis is unavailable: {exc}") from exc
    except RedisError as exc:
        raise SessionStoreError(f"Redis command failed: {exc}") from exc


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _unix_millis(value: datetime) -> int:
    return to_micros(value) // 1000


class RedisSessionStore:
    """A :class:`~scimbridge.sessions.store.SessionStore` on one Redis database.

    Several scimbridge processes share one store, so ``revoke_member`` ends a
    member's sessions in every worker at once.
    """

    def __init__(
        self,
        client: Redis,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Clock = utc_now,
    ) -> None:
        if not key_prefix or len(key_prefix) > 64:
            raise ValueError("key_prefix must be 1 to 64 characters long")
        self._redis = client
        self._prefix = key_prefix
        self._clock = clock
        self._create_script = client.register_script(_CREATE_SCRIPT)
        self._revoke_script = client.register_script(_REVOKE_SCRIPT)

    @classmethod
    def from_url(
        cls, url: str, *, key_prefix: str = DEFAULT_KEY_PREFIX, clock: Clock = utc_now
    ) -> "RedisSessionStore":
        """Create a store for a ``redis://``, ``rediss://`` or ``unix://`` URL.

        Nothing connects until the first command. The pool opens at most
        ``DEFAULT_MAX_CONNECTIONS`` connections, and further commands wait up
        to ``DEFAULT_TIMEOUT_SECONDS`` for a free one instead of failing at
        once. The URL's query (``max_connections``, ``socket_timeout``,
        ``socket_connect_timeout``) overrides these defaults.
        """
        try:
            pool = BlockingConnectionPool.from_url(
                url,
                max_connections=DEFAULT_MAX_CONNECTIONS,
                timeout=DEFAULT_TIMEOUT_SECONDS,
                socket_timeout=DEFAULT_TIMEOUT_SECONDS,
                socket_connect_timeout=DEFAULT_TIMEOUT_SECONDS,
            )
        except ValueError as exc:
            # redis-py's message names the expected schemes, never the password.
            raise ValueError(f"invalid Redis URL: {exc}") from exc
        return cls(Redis(connection_pool=pool), key_prefix=key_prefix, clock=clock)

    @property
    def key_prefix(self) -> str:
        return self._prefix

    def session_key(self, session_id: str) -> str:
        return f"{self._prefix}s:{session_id}"

    def member_key(self, org_id: UUID, member_id: UUID) -> str:
        return f"{self._prefix}m:{org_id}:{member_id}"

    async def close(self) -> None:
        """Close the client and its connection pool."""
        await self._redis.aclose(close_connection_pool=True)

    async def create(self, session: Session) -> None:
        now = self._clock()
        if session.is_expired(now):
            raise ValueError("cannot store a session that has already ended")

        with _translate_errors():
            created = await self._create_script(
                keys=[
                    self.session_key(session.id),
                    self.member_key(session.org_id, session.member_id),
                ],
                args=[
                    encode_session(session),
                    _unix_millis(session.valid_until),
                    _unix_millis(session.expires_at),
                    session.id,
                    _unix_millis(now),
                ],
            )
        if not created:
            raise SessionStoreError("a session with this id already exists")

    async def get(self, session_id: str) -> Session | None:
        if not is_session_id(session_id):
            return None
        with _translate_errors():
            data = await self._redis.get(self.session_key(session_id))
        return self._live_session(data, self._clock())

    async def touch(self, session_id: str, idle_until: datetime) -> bool:
        if idle_until <= self._clock():
            raise ValueError("idle_until must be in the future")
        return await self._rewrite(
            session_id,
            lambda session: replace(
                session, idle_expires_at=min(idle_until, session.expires_at)
            ),
        )

    async def set_roles(self, session_id: str, roles: tuple[str, ...]) -> bool:
        return await self._rewrite(
            session_id, lambda session: replace(session, roles=tuple(roles))
        )

    async def _rewrite(
        self, session_id: str, change: Callable[[Session], Session]
    ) -> bool:
        """Apply ``change`` to a live session and store it, atomically.

        WATCH makes the write fail when another client changed the session
        since it was read, and then the change is applied again to the new
        value. XX writes only over an existing key, so a session deleted or
        revoked meanwhile stays deleted.
        """
        if not is_session_id(session_id):
            return False
        key = self.session_key(session_id)
        with _translate_errors():
            async with self._redis.pipeline(transaction=True) as pipeline:
                for _ in range(MAX_REWRITE_ATTEMPTS):
                    try:
                        await pipeline.watch(key)
                        data = await pipeline.get(key)
                        session = self._live_session(data, self._clock())
                        if session is None:
                            return False
                        changed = change(session)
                        pipeline.multi()
                        pipeline.set(
                            key,
                            encode_session(changed),
                            xx=True,
                            pxat=_unix_millis(changed.valid_until),
                        )
                        (written,) = await pipeline.execute()
                    except WatchError:
                        continue
                    return bool(written)
        raise SessionStoreError(
            f"the session changed {MAX_REWRITE_ATTEMPTS} times while it was "
            "being updated; try again"
        )

    async def delete(self, session_id: str) -> bool:
        if not is_session_id(session_id):
            return False
        with _translate_errors():
            data = await self._redis.getdel(self.session_key(session_id))
        if data is None:
            return False

        try:
            session = decode_session(data)
        except ValueError as exc:
            logger.warning("Deleted a malformed session value: %s", exc)
            return True
        with _translate_errors():
            await self._redis.zrem(
                self.member_key(session.org_id, session.member_id), session_id
            )
        return True

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> int:
        with _translate_errors():
            deleted = await self._revoke_script(
                keys=[self.member_key(org_id, member_id)],
                args=[self.session_key("")],
            )
        return int(deleted)

    async def list_member(self, org_id: UUID, member_id: UUID) -> list[Session]:
        now = self._clock()
        with _translate_errors():
            ids = await self._redis.zrangebyscore(
                self.member_key(org_id, member_id), f"({_unix_millis(now)}", "+inf"
            )
            if not ids:
                return []
            values = await self._redis.mget(
                [self.session_key(_text(session_id)) for session_id in ids]
            )

        sessions = [self._live_session(data, now) for data in values]
        live = [session for session in sessions if session is not None]
        return sorted(live, key=lambda session: (session.created_at, session.id))

    async def put_once(
        self, namespace: str, key: str, value: bytes | str, ttl_seconds: int
    ) -> bool:
        validate_seconds("ttl_seconds", ttl_seconds)
        with _translate_errors():
            stored = await self._redis.set(
                self._scoped_key("o", namespace, key),
                as_bytes(value),
                nx=True,
                ex=ttl_seconds,
            )
        return bool(stored)

    async def take(self, namespace: str, key: str) -> bytes | None:
        with _translate_errors():
            value = await self._redis.getdel(self._scoped_key("o", namespace, key))
        return None if value is None else as_bytes(value)

    async def remember(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        validate_seconds("ttl_seconds", ttl_seconds)
        with _translate_errors():
            stored = await self._redis.set(
                self._scoped_key("r", namespace, key), b"1", nx=True, ex=ttl_seconds
            )
        return bool(stored)

    async def hit(
        self, namespace: str, key: str, limit: int, window_seconds: int
    ) -> bool:
        validate_seconds("window_seconds", window_seconds)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a whole number, at least 1")
        index = math.floor(self._clock().timestamp() / window_seconds)
        counter = self._scoped_key("h", namespace, key, f"{window_seconds}:{index}")

        # The window ends at most window_seconds after its first hit, so an
        # expiry set on the first hit (NX) outlives the window.
        with _translate_errors():
            async with self._redis.pipeline(transaction=True) as pipeline:
                pipeline.incr(counter)
                pipeline.expire(counter, window_seconds, nx=True)
                count, _ = await pipeline.execute()
        return int(count) <= limit

    def _scoped_key(self, kind: str, namespace: str, key: str, window: str = "") -> str:
        validate_namespace(namespace)
        validate_key(key)
        if window:
            return f"{self._prefix}{kind}:{namespace}:{window}:{key}"
        return f"{self._prefix}{kind}:{namespace}:{key}"

    def _live_session(self, data: Any, now: datetime) -> Session | None:
        if data is None:
            return None
        try:
            session = decode_session(data)
        except ValueError as exc:
            # The value is unreadable, so treat the session as ended. The
            # session id is a bearer credential and is never logged.
            logger.warning("Ignored a malformed session value: %s", exc)
            return None
        return None if session.is_expired(now) else session
