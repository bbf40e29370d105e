"""The choice between the Redis and the in-process session store."""

import logging

from scimbridge.sessions.memory_store import DEFAULT_MAX_ENTRIES, EmbeddedSessionStore
from scimbridge.sessions.redis_store import DEFAULT_KEY_PREFIX, RedisSessionStore
from scimbridge.sessions.store import SessionStore

logger = logging.getLogger(__name__)


def build_session_store(
    redis_url: str | None,
    *,
    key_prefix: str = DEFAULT_KEY_PREFIX,
    max_memory_entries: int = DEFAULT_MAX_ENTRIES,
) -> SessionStore:
    """Return a Redis store for ``redis_url``, or an in-process store without one.

    An empty URL counts as unset. Nothing connects to Redis until first use.
    ``max_memory_entries`` applies to the in-process store only.
    """
    if redis_url:
        logger.info("Session store: Redis, key prefix %s", key_prefix)
        return RedisSessionStore.from_url(redis_url, key_prefix=key_prefix)

    logger.info(
        "Session store: in-process, at most %d entries; sessions end when the "
        "process stops and are not shared between workers",
        max_memory_entries,
    )
    return EmbeddedSessionStore(max_entries=max_memory_entries)
