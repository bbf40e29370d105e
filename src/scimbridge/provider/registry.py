"""Registering app clients: create, list, update, rotate the secret, delete."""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from uuid import UUID

from scimbridge.directory.clock import utc_now
from scimbridge.provider.clients import (
    AppClient,
    InvalidClient,
    hash_secret,
    new_client_id,
    new_client_secret,
    validate_uris,
    web_origin,
)
from scimbridge.storage.db import SqlStore

logger = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
"""Seconds a process reuses a client it read, so an update shows after at most this."""
MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """A client just created or given a new secret, whose ``secret`` is shown once."""

    client: AppClient
    secret: str | None


class AppClients:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, AppClient | None]] = {}
        self._web_origins: tuple[float, frozenset[str]] | None = None

    async def create(
        self,
        name: str,
        redirect_uris: Iterable[str],
        *,
        public: bool = False,
        post_logout_redirect_uris: Iterable[str] = (),
        backchannel_logout_uri: str | None = None,
        org_ids: Iterable[UUID] | None = None,
    ) -> IssuedClient:
        name = name.strip()
        if not 0 < len(name) <= MAX_NAME_LENGTH:
            raise InvalidClient(f"name must be 1 to {MAX_NAME_LENGTH} characters")
        uris = validate_uris("redirect URI", redirect_uris, public=public)
        if not uris:
            raise InvalidClient("register at least one redirect URI")
        secret = None if public else new_client_secret()
        client = AppClient(
            id=new_client_id(),
            name=name,
            public=public,
            secret_hash=None if secret is None else hash_secret(secret),
            redirect_uris=uris,
            post_logout_redirect_uris=validate_uris(
                "post-logout redirect URI", post_logout_redirect_uris
            ),
            backchannel_logout_uri=None
            if backchannel_logout_uri is None
            else validate_uris("back-channel logout URI", [backchannel_logout_uri])[0],
            org_ids=None if org_ids is None else frozenset(org_ids),
            created_at=utc_now(),
        )
        async with self._store.transaction(write=True) as unit:
            await unit.provider.add_client(client, utc_now())
        logger.info("app client created client_id=%s public=%s", client.id, public)
        return IssuedClient(client, secret)

    async def get(self, client_id: str) -> AppClient | None:
        if not 0 < len(client_id) <= 64:
            return None
        cached = self._cache.get(client_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        async with self._store.transaction() as unit:
            client = await unit.provider.get_client(client_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[client_id] = (now, client)
        return client

    async def list(self) -> list[AppClient]:
        async with self._store.transaction() as unit:
            return await unit.provider.list_clients()

    async def web_origins(self) -> frozenset[str]:
        """Return the origins of enabled public clients' http and https redirect URIs.

        These are the browser apps that may call the token, userinfo and
        revocation endpoints across origins. The set is read again after
        ``CACHE_SECONDS``.
        """
        now = time.monotonic()
        if self._web_origins is not None and now - self._web_origins[0] < CACHE_SECONDS:
            return self._web_origins[1]
        origins = frozenset(
            origin
            for client in await self.list()
            if client.public and client.enabled
            for uri in client.redirect_uris
            if (origin := web_origin(uri)) is not None
        )
        self._web_origins = (now, origins)
        return origins

    async def rotate_secret(self, client_id: str) -> IssuedClient | None:
        client = await self._fresh(client_id)
        if client is None:
            return None
        if client.public:
            raise InvalidClient("a public client has no secret")
        secret = new_client_secret()
        updated = replace(client, secret_hash=hash_secret(secret))
        await self._save(updated)
        logger.info("app client secret rotated client_id=%s", client_id)
        return IssuedClient(updated, secret)

    async def set_enabled(self, client_id: str, enabled: bool) -> AppClient | None:
        client = await self._fresh(client_id)
        if client is None:
            return None
        updated = replace(client, enabled=enabled)
        await self._save(updated)
        return updated

    async def delete(self, client_id: str) -> bool:
        async with self._store.transaction(write=True) as unit:
            deleted = await unit.provider.delete_client(client_id)
        self._cache.pop(client_id, None)
        if deleted:
            logger.info("app client deleted client_id=%s", client_id)
        return deleted

    async def _fresh(self, client_id: str) -> AppClient | None:
        async with self._store.transaction() as unit:
            return await unit.provider.get_client(client_id)

    async def _save(self, client: AppClient) -> None:
        async with self._store.transaction(write=True) as unit:
            await unit.provider.update_client(client, utc_now())
        self._cache.pop(client.id, None)
