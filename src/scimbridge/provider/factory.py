"""Build the provider's parts: the grant store by settings, and the listeners."""

import logging

from redis.asyncio import BlockingConnectionPool, Redis

from scimbridge.directory.events import DirectoryEvent, EventKind
from scimbridge.provider.grants import GrantStore
from scimbridge.provider.memory_grants import MemoryGrantStore
from scimbridge.provider.redis_grants import RedisGrantStore
from scimbridge.provider.service import OpenIdProvider
from scimbridge.sessions.redis_store import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_TIMEOUT_SECONDS,
)

logger = logging.getLogger(__name__)

REVOKING_EVENTS = frozenset({EventKind.user_deactivated, EventKind.user_deleted})


def build_grant_store(redis_url: str | None) -> GrantStore:
    """Return a Redis grant store for ``redis_url``, or one in this process."""
    if not redis_url:
        return MemoryGrantStore()
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=DEFAULT_MAX_CONNECTIONS,
        timeout=DEFAULT_TIMEOUT_SECONDS,
        socket_timeout=DEFAULT_TIMEOUT_SECONDS,
        socket_connect_timeout=DEFAULT_TIMEOUT_SECONDS,
    )
    return RedisGrantStore(Redis(connection_pool=pool))


class AppTokenRevoker:
    """Listener of the directory: a deprovisioned member's app tokens end at once."""

    def __init__(self, provider: OpenIdProvider) -> None:
        self._provider = provider

    async def __call__(self, event: DirectoryEvent) -> None:
        if event.kind not in REVOKING_EVENTS:
            return
        count = await self._provider.revoke_member(event.org_id, event.resource_id)
        logger.info(
            "app grants revoked org_id=%s member_id=%s count=%d event=%s",
            event.org_id,
            event.resource_id,
            count,
            event.kind,
        )
