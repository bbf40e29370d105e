"""SCIM bearer tokens: shown once, stored as a hash, several active per organization.

A token reads ``scim_<org id hex>_<prefix><secret>``. The organization id in
the token lets lookups start with the organization, as every index does. The
prefix names the token in listings and revocations. Only the SHA-256 of the
whole token is stored.
"""

import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.directory.ids import new_id
from scimbridge.directory.models import Organization, OrgStatus, ScimToken
from scimbridge.directory.ports import DirectoryStore, DirectoryUnit, TokenRepository

logger = logging.getLogger(__name__)

TOKEN_SCHEME = "scim"  # noqa: S105 (a public prefix, not a secret)
PREFIX_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_CACHED_TOKENS = 10_000
AUTH_CACHE_SECONDS = 5.0
"""How long a process reuses a successful token lookup.

Revocation through this process takes effect at once; another process
stops accepting a revoked token within this many seconds.
"""
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


def _org_id_of(token: str, scheme: str) -> uuid.UUID | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != scheme:
        return None
    try:
        return uuid.UUID(hex=parts[1])
    except ValueError:
        return None


ADMIN_TOKEN_SCHEME = "oadm"  # noqa: S105 (a public prefix, not a secret)


class ScimTokens:
    """Use cases on an organization's bearer tokens.

    The same rules serve SCIM tokens and org admin tokens (``admin=True``),
    each kind in its own table and with its own scheme, so neither kind of
    token is accepted where the other is expected.
    """

    def __init__(
        self, store: DirectoryStore, clock: Clock = utc_now, *, admin: bool = False
    ) -> None:
        self._store = store
        self._clock = clock
        self._admin = admin
        self._scheme = ADMIN_TOKEN_SCHEME if admin else TOKEN_SCHEME
        self._cache: dict[str, tuple[float, Authenticated]] = {}

    def forget(self) -> None:
        """Drop cached lookups, after a revocation or an organization status change."""
        self._cache.clear()

    def _repository(self, unit: DirectoryUnit) -> TokenRepository:
        return unit.admin_tokens if self._admin else unit.tokens

    async def create(self, org: Organization) -> IssuedToken:
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        secret = f"{self._scheme}_{org.id.hex}_{prefix}{secrets.token_urlsafe(32)}"
        record = ScimToken(
            org_id=org.id,
            id=new_id(),
            prefix=prefix,
            created_at=self._clock(),
            last_used_at=None,
            revoked_at=None,
        )
        async with self._store.transaction(write=True) as unit:
            await self._repository(unit).add(record, hash_token(secret))
        logger.info(
            "token created scheme=%s org_id=%s prefix=%s", self._scheme, org.id, prefix
        )
        return IssuedToken(record=record, secret=secret)

    async def list(self, org: Organization) -> list[ScimToken]:
        async with self._store.transaction() as unit:
            return await self._repository(unit).list(org.id)

    async def revoke(self, org: Organization, prefix: str) -> bool:
        """Revoke the active token with this prefix; return False when none matches."""
        async with self._store.transaction(write=True) as unit:
            revoked = await self._repository(unit).revoke(org.id, prefix, self._clock())
        self._cache.clear()
        if revoked:
            logger.info(
                "token revoked scheme=%s org_id=%s prefix=%s",
                self._scheme,
                org.id,
                prefix,
            )
        return revoked

    async def authenticate(self, token: str) -> Authenticated | None:
        """Return the organization of an active token, or None.

        A suspended organization's token still authenticates, so that the
        caller can respond 403 rather than 401 and the IT admin can tell why.
        """
        org_id = _org_id_of(token, self._scheme)
        if org_id is None:
            return None
        token_hash = hash_token(token)
        cached = self._cache.get(token_hash)
        if cached is not None and time.monotonic() - cached[0] < AUTH_CACHE_SECONDS:
            return cached[1]
        async with self._store.transaction() as unit:
            record = await self._repository(unit).find_active(org_id, token_hash)
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
                await self._repository(unit).touch(org_id, record.id, now)
        found = Authenticated(org=org, token=record)
        if len(self._cache) >= MAX_CACHED_TOKENS:
            self._cache.clear()
        self._cache[token_hash] = (time.monotonic(), found)
        return found
