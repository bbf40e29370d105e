"""Grants kept in this process, for the embedded default without Redis."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from scimbridge.directory.clock import utc_now
from scimbridge.provider.grants import Grant, Rotation, RotationOutcome


@dataclass
class _Entry:
    grant: Grant
    refresh_hash: str
    old_hashes: set[str] = field(default_factory=set)


class MemoryGrantStore:
    """A :class:`GrantStore` in one process, atomic because no method awaits."""

    def __init__(self) -> None:
        self._grants: dict[str, _Entry] = {}
        self._refresh: dict[str, str] = {}
        self._revoked_tokens: dict[str, datetime] = {}

    def _live(self, grant_id: str) -> _Entry | None:
        entry = self._grants.get(grant_id)
        if entry is None:
            return None
        if entry.grant.expires_at <= utc_now():
            self._drop(grant_id)
            return None
        return entry

    def _drop(self, grant_id: str) -> Grant | None:
        entry = self._grants.pop(grant_id, None)
        if entry is None:
            return None
        for refresh_hash in entry.old_hashes | {entry.refresh_hash}:
            self._refresh.pop(refresh_hash, None)
        return entry.grant

    async def create(self, grant: Grant, refresh_hash: str) -> None:
        if len(self._grants) % 1024 == 1023:
            for grant_id in list(self._grants):
                self._live(grant_id)
        self._grants[grant.id] = _Entry(grant, refresh_hash)
        self._refresh[refresh_hash] = grant.id

    async def rotate(self, old_hash: str, new_hash: str, client_id: str) -> Rotation:
        grant_id = self._refresh.get(old_hash)
        entry = None if grant_id is None else self._live(grant_id)
        if grant_id is None or entry is None:
            return Rotation(RotationOutcome.unknown)
        if entry.grant.client_id != client_id:
            return Rotation(RotationOutcome.wrong_client)
        if entry.refresh_hash != old_hash:
            return Rotation(RotationOutcome.reused, self._drop(grant_id))
        entry.old_hashes.add(old_hash)
        entry.refresh_hash = new_hash
        self._refresh[new_hash] = grant_id
        return Rotation(RotationOutcome.rotated, entry.grant)

    async def is_active(self, grant_id: str, token_id: str | None = None) -> bool:
        if self._live(grant_id) is None:
            return False
        if token_id is not None:
            until = self._revoked_tokens.get(token_id)
            if until is not None and until > utc_now():
                return False
        return True

    async def get(self, grant_id: str) -> Grant | None:
        entry = self._live(grant_id)
        return None if entry is None else entry.grant

    async def revoke(self, grant_id: str) -> Grant | None:
        return self._drop(grant_id)

    async def find_refresh(self, refresh_hash: str) -> tuple[Grant, bool] | None:
        grant_id = self._refresh.get(refresh_hash)
        entry = None if grant_id is None else self._live(grant_id)
        if entry is None:
            return None
        return entry.grant, entry.refresh_hash == refresh_hash

    async def revoke_access_token(self, token_id: str, ttl_seconds: int) -> None:
        now = utc_now()
        self._revoked_tokens = {
            key: until for key, until in self._revoked_tokens.items() if until > now
        }
        self._revoked_tokens[token_id] = now + timedelta(seconds=ttl_seconds)

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> list[Grant]:
        matching = [
            grant_id
            for grant_id, entry in self._grants.items()
            if entry.grant.org_id == org_id and entry.grant.member_id == member_id
        ]
        return [grant for grant_id in matching if (grant := self._drop(grant_id))]

    async def revoke_session(self, sid: str) -> list[Grant]:
        matching = [
            grant_id
            for grant_id, entry in self._grants.items()
            if entry.grant.sid == sid
        ]
        return [grant for grant_id in matching if (grant := self._drop(grant_id))]

    async def revoke_org(self, org_id: UUID) -> list[Grant]:
        matching = [
            grant_id
            for grant_id, entry in self._grants.items()
            if entry.grant.org_id == org_id
        ]
        return [grant for grant_id in matching if (grant := self._drop(grant_id))]

    async def close(self) -> None:
        self._grants.clear()
        self._refresh.clear()
