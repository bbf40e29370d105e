"""Organizations: created, listed and suspended by the platform admin."""

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.directory.errors import InvalidRecord, NotFound, UniquenessConflict
from scimbridge.directory.ids import new_id
from scimbridge.directory.models import Organization, OrgStatus
from scimbridge.directory.ports import DirectoryStore

logger = logging.getLogger(__name__)

SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
"""Lowercase letters, digits and inner hyphens, 1 to 63 characters (a DNS label)."""
MAX_NAME_LENGTH = 200


class Organizations:
    """Use cases on organizations."""

    def __init__(
        self,
        store: DirectoryStore,
        clock: Clock = utc_now,
        on_status_change: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_status_change = on_status_change
        self._status_listeners: list[Callable[[Organization], Awaitable[None]]] = []

    def on_status(self, listener: Callable[[Organization], Awaitable[None]]) -> None:
        """Call ``listener`` with the organization after each status change."""
        self._status_listeners.append(listener)

    async def create(self, slug: str, name: str | None = None) -> Organization:
        """Create an active organization; the slug must be new and well formed."""
        if not SLUG_PATTERN.fullmatch(slug):
            raise InvalidRecord(
                f"invalid slug {slug!r}: use 1 to 63 lowercase letters, digits "
                "and hyphens, starting and ending with a letter or digit"
            )
        if name is not None and not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise InvalidRecord(f"name must be 1 to {MAX_NAME_LENGTH} characters long")
        now = self._clock()
        org = Organization(
            id=new_id(),
            slug=slug,
            name=name or slug,
            status=OrgStatus.active,
            created_at=now,
            updated_at=now,
        )
        async with self._store.transaction(write=True) as unit:
            if await unit.orgs.get_by_slug(slug) is not None:
                raise UniquenessConflict("slug", "by another organization")
            await unit.orgs.add(org)
        logger.info("organization created org_id=%s slug=%s", org.id, slug)
        return org

    async def list_inactive_since(self, since: datetime) -> list[Organization]:
        """Return the organizations not active and changed at ``since`` or later."""
        async with self._store.transaction() as unit:
            return await unit.orgs.list_inactive_since(since)

    async def list(self) -> list[Organization]:
        async with self._store.transaction() as unit:
            return await unit.orgs.list()

    async def get_by_id(self, org_id: uuid.UUID) -> Organization:
        """Return the organization with this id, or raise NotFound."""
        async with self._store.transaction() as unit:
            org = await unit.orgs.get(org_id)
        if org is None:
            raise NotFound("Organization", str(org_id))
        return org

    async def get(self, slug_or_id: str) -> Organization:
        """Return the organization with this slug or id, or raise NotFound."""
        async with self._store.transaction() as unit:
            org = await unit.orgs.get_by_slug(slug_or_id)
            if org is None:
                try:
                    org = await unit.orgs.get(uuid.UUID(slug_or_id))
                except ValueError:
                    org = None
        if org is None:
            raise NotFound("Organization", slug_or_id)
        return org

    async def set_status(self, slug_or_id: str, status: OrgStatus) -> Organization:
        """Suspend or reactivate an organization; SCIM requests fail while suspended."""
        org = await self.get(slug_or_id)
        async with self._store.transaction(write=True) as unit:
            updated = await unit.orgs.set_status(org.id, status, self._clock())
        if updated is None:
            raise NotFound("Organization", slug_or_id)
        if self._on_status_change is not None:
            self._on_status_change()
        logger.info("organization status org_id=%s status=%s", org.id, status.value)
        for listener in self._status_listeners:
            await listener(updated)
        return updated
