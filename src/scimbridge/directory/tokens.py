"""SCIM bearer tokens: shown once, stored as a hash, several active per organization.

A token reads ``scim_<org id hex>_<prefix><secret>``. The organization id in
the token lets lookups start with the organization, as every index does; the
prefix names the token in listings and revocations; only the SHA-256 of the
whole token is stored.
"""

import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.directory.ids import new_id
from scimbridge.directory.models import Organization, OrgStatus, ScimToken
from scimbridge.directory.ports import DirectoryStore

logger = logging.getLogger(__name__)

TOKEN_SCHEME = "scim"  # noqa: S105 (a public prefix, not a secret)
PREFIX_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per token, to keep reads cheap."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as created: the record, and the secret shown this one time."""

    record: ScimToken
    secret: str


@dataclass(frozen=True, slots=True)
class Authenticated:
    """The organization and token a valid bearer token selects."""

    org: Organization
    token: ScimToken


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _org_id_of(token: str) -> uuid.UUID | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_SCHEME:
        return None
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        return None


class ScimTokens:
    """Use cases on SCIM bearer tokens."""

    def __init__(self, store: DirectoryStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def create(self, org: Organization) -> IssuedToken:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        secret = f"{TOKEN_SCHEME}_{org.id.hex}_{prefix}{secrets.token_urlsafe(32)}"
        record = ScimToken(
            org_id=org.id,
            id=new_id(),
            prefix=prefix,
            created_at=self._clock(),
            last_used_at=None,
            revoked_at=None,
        )
        async with self._store.transaction(write=True) as unit:
            await unit.tokens.add(record, hash_token(secret))
        logger.info("scim token created org_id=%s prefix=%s", org.id, prefix)
        return IssuedToken(record=record, secret=secret)

    async def list(self, org: Organization) -> list[ScimToken]:
        async with self._store.transaction() as unit:
            return await unit.tokens.list(org.id)

    async def revoke(self, org: Organization, prefix: str) -> bool:
        """Revoke the active token with this prefix; return False when none matches."""
        async with self._store.transaction(write=True) as unit:
            revoked = await unit.tokens.revoke(org.id, prefix, self._clock())
        if revoked:
            logger.info("scim token revoked org_id=%s prefix=%s", org.id, prefix)
        return revoked

    async def authenticate(self, token: str) -> Authenticated | None:
        """Return the organization of an active token, or None.

        A suspended organization's token still authenticates, so that the
        caller can respond 403 rather than 401 and the IT admin sees why.
        """
        org_id = _org_id_of(token)
        if org_id is None:
            return None
        async with self._store.transaction() as unit:
            record = await unit.tokens.find_active(org_id, hash_token(token))
            org = None if record is None else await unit.orgs.get(org_id)
        if record is None or org is None:
            return None

        now = self._clock()
        stale = (
            record.last_used_at is None
            or now - record.last_used_at >= LAST_USED_RESOLUTION
        )
        if stale and org.status is OrgStatus.active:
            async with self._store.transaction(write=True) as unit:
                await unit.tokens.touch(org_id, record.id, now)
        return Authenticated(org=org, token=record)
