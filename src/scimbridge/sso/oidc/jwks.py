"""Signing keys per issuer, fetched only from the discovery-pinned ``jwks_uri``.

Keys are imported once per fetch, so validating an ID token with a cached kid
costs a dict lookup and no I/O. A kid that is not cached triggers one refetch,
and refetches for an issuer happen at most once per ``jwks_refetch_interval``,
so tokens with random kids cannot make scimbridge flood the provider. The
limit counts every fetch of the issuer's JWKS, the first one included.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from scimbridge.directory.clock import Clock, utc_now
from scimbridge.sso.oidc.discovery import ProviderMetadata
from scimbridge.sso.oidc.errors import ErrorCode, OidcError, quote_value
from scimbridge.sso.oidc.fetch import ProviderHttp, parse_json_object
from scimbridge.sso.oidc.jose import (
    ALLOWED_ALGORITHMS,
    UnusableKey,
    VerificationKey,
    import_verification_key,
)

logger = logging.getLogger(__name__)

MAX_KEYS = 100
"""Maximum keys in one JWKS; providers publish a handful during rotation."""


@dataclass(slots=True)
class _IssuerKeys:
    jwks_uri: str
    keys: tuple[VerificationKey, ...] = ()
    by_kid: dict[str, tuple[VerificationKey, ...]] = field(default_factory=dict)
    fetched_at: float | None = None
    """Time of the last successful fetch, in seconds since the epoch."""
    attempted_at: float | None = None
    """Time of the last fetch attempt, successful or not."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    selected: dict[tuple[str | None, str], VerificationKey] = field(
        default_factory=dict
    )
    """Results of :meth:`select` for the current keys, by kid and alg."""

    def replace(self, keys: list[VerificationKey], now: float) -> None:
        by_kid: dict[str, list[VerificationKey]] = {}
        for key in keys:
            if key.kid is not None:
                by_kid.setdefault(key.kid, []).append(key)
        self.keys = tuple(keys)
        self.by_kid = {kid: tuple(same) for kid, same in by_kid.items()}
        self.selected = {}
        self.fetched_at = now

    def age(self, now: float) -> float:
        return float("inf") if self.fetched_at is None else now - self.fetched_at

    def select(self, issuer: str, kid: str | None, alg: str) -> VerificationKey | None:
        """Return the one key for ``kid`` and ``alg``, or None if there is none.

        A token without a kid is accepted only when exactly one cached key can
        verify ``alg``. With several candidates it is rejected, not tried
        against each key.
        """
        key = self.selected.get((kid, alg))
        if key is not None:
            return key
        if kid is None:
            candidates = [key for key in self.keys if alg in key.algorithms]
        else:
            same_kid = self.by_kid.get(kid, ())
            candidates = [key for key in same_kid if alg in key.algorithms]
            if same_kid and not candidates:
                allowed = sorted(set().union(*(key.algorithms for key in same_kid)))
                raise OidcError(
                    ErrorCode.ALG_NOT_ALLOWED,
                    f"the ID token is signed with {alg}, but key {quote_value(kid)} "
                    f"of issuer {issuer} is for {allowed}",
                )
        if len(candidates) > 1:
            raise OidcError(
                ErrorCode.KID_AMBIGUOUS,
                f"{len(candidates)} keys of issuer {issuer} match the ID token's "
                f"{'kid ' + quote_value(kid) if kid else 'alg ' + alg}; the provider "
                "must send a kid that names one key",
            )
        if not candidates:
            return None
        self.selected[kid, alg] = candidates[0]
        return candidates[0]


class JwksCache:
    """Verification keys of every issuer that this process validates tokens for."""

    def __init__(self, http: ProviderHttp, *, clock: Clock = utc_now) -> None:
        self._http = http
        self._clock = clock
        self._issuers: dict[str, _IssuerKeys] = {}

    def cached_key(
        self,
        metadata: ProviderMetadata,
        kid: str | None,
        alg: str,
        *,
        now: float | None = None,
    ) -> VerificationKey | None:
        """Return the cached key for ``kid`` and ``alg`` without any I/O, or None.

        None means :meth:`signing_key` must decide: the kid is not cached, or
        the cache is older than ``jwks_max_age``. Raises OidcError as
        :meth:`signing_key` does when the kid does not select one key.
        ``now`` is the current time in seconds since the epoch, read from the
        clock when not given.
        """
        entry = self._issuers.get(metadata.issuer)
        if entry is None or entry.jwks_uri != metadata.jwks_uri:
            return None
        if now is None:
            now = self._clock().timestamp()
        if entry.age(now) >= self._http.settings.jwks_max_age:
            return None
        return entry.select(metadata.issuer, kid, alg)

    async def signing_key(
        self, metadata: ProviderMetadata, kid: str | None, alg: str
    ) -> VerificationKey:
        """Return the provider key that must verify a token with ``kid`` and ``alg``.

        Raises OidcError with these codes:

        - ``oidc.unknown_kid``: no key has the kid, even after the one refetch
          that the rate limit allows.
        - ``oidc.kid_ambiguous`` or ``oidc.alg_not_allowed``: the kid does not
          select exactly one key for ``alg``.
        - ``oidc.jwks_invalid``: no JWKS could be fetched.
        """
        key = self.cached_key(metadata, kid, alg)
        if key is not None:
            return key

        entry = self._entry(metadata)
        max_age = self._http.settings.jwks_max_age
        async with entry.lock:
            now = self._clock().timestamp()
            refetched = await self._refetch(metadata.issuer, entry, now)
            if entry.age(now) >= 2 * max_age:
                raise OidcError(
                    ErrorCode.JWKS_INVALID,
                    f"no usable JWKS for issuer {metadata.issuer}: the last fetch "
                    f"failed, and it is retried at most every "
                    f"{self._http.settings.jwks_refetch_interval:g} s",
                )
            key = entry.select(metadata.issuer, kid, alg)
        if key is None:
            raise OidcError(
                ErrorCode.UNKNOWN_KID, self._unknown_kid(metadata, kid, alg, refetched)
            )
        return key

    def _entry(self, metadata: ProviderMetadata) -> _IssuerKeys:
        entry = self._issuers.get(metadata.issuer)
        if entry is None or entry.jwks_uri != metadata.jwks_uri:
            entry = _IssuerKeys(metadata.jwks_uri)
            self._issuers[metadata.issuer] = entry
        return entry

    async def _refetch(self, issuer: str, entry: _IssuerKeys, now: float) -> bool:
        """Fetch the JWKS unless the rate limit forbids it; return whether it ran.

        A failed refresh keeps the old keys usable until they are twice
        ``jwks_max_age`` old, so a provider outage does not stop logins at once.
        """
        interval = self._http.settings.jwks_refetch_interval
        if entry.attempted_at is not None and now - entry.attempted_at < interval:
            return False
        entry.attempted_at = now
        try:
            keys = await self._fetch(issuer, entry.jwks_uri)
        except OidcError as error:
            if entry.age(now) >= 2 * self._http.settings.jwks_max_age:
                raise
            logger.warning(
                "JWKS refresh for issuer %s failed; using keys fetched %.0f s ago: %s",
                issuer,
                entry.age(now),
                error,
            )
            return True
        entry.replace(keys, now)
        return True

    async def _fetch(self, issuer: str, jwks_uri: str) -> list[VerificationKey]:
        response = await self._http.request(
            "GET",
            jwks_uri,
            error_code=ErrorCode.JWKS_INVALID,
            purpose="JWKS request",
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise OidcError(
                ErrorCode.JWKS_INVALID,
                f"JWKS request to {jwks_uri} returned HTTP {response.status_code}",
            )
        document = parse_json_object(
            response, error_code=ErrorCode.JWKS_INVALID, purpose="JWKS request"
        )
        keys = _import_keys(issuer, jwks_uri, document.get("keys"))
        logger.info("fetched JWKS for issuer %s: %d usable keys", issuer, len(keys))
        return keys

    def _unknown_kid(
        self, metadata: ProviderMetadata, kid: str | None, alg: str, refetched: bool
    ) -> str:
        name = f"key {quote_value(kid)}" if kid is not None else f"a key for {alg}"
        if refetched:
            return (
                f"{name} is not in the JWKS of issuer {metadata.issuer}, "
                "fetched just now"
            )
        interval = self._http.settings.jwks_refetch_interval
        return (
            f"{name} is not in the cached JWKS of issuer {metadata.issuer}, and the "
            f"JWKS is fetched at most every {interval:g} s; retry later if the "
            "provider has just rotated its keys"
        )


def _import_keys(issuer: str, jwks_uri: str, entries: Any) -> list[VerificationKey]:
    if not isinstance(entries, list):
        raise OidcError(
            ErrorCode.JWKS_INVALID, f"the JWKS at {jwks_uri} has no 'keys' list"
        )
    if len(entries) > MAX_KEYS:
        raise OidcError(
            ErrorCode.JWKS_INVALID,
            f"the JWKS at {jwks_uri} has {len(entries)} keys; "
            f"the maximum is {MAX_KEYS}",
        )

    keys: list[VerificationKey] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            logger.info(
                "ignored JWKS entry %d of issuer %s: not an object", index, issuer
            )
            continue
        try:
            keys.append(import_verification_key(entry, ALLOWED_ALGORITHMS))
        except UnusableKey as reason:
            logger.info(
                "ignored key %s of issuer %s: %s",
                quote_value(entry.get("kid")),
                issuer,
                reason,
            )
    if not keys:
        raise OidcError(
            ErrorCode.JWKS_INVALID,
            f"the JWKS at {jwks_uri} has no key that can verify ID tokens with "
            f"{sorted(ALLOWED_ALGORITHMS)}",
        )
    return keys
