"""The provider's signing keys: one current, one next, and retired ones kept public.

Rotation makes the next key current, retires the current one and creates a
new next key. The JWKS lists every key that is not yet dropped, so an app
that cached it before a rotation already contains the new current key, and a
token signed before a rotation still verifies until it expires. Each
process reloads the keys from the database at most a minute after another
process rotated them.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from scimbridge.directory.clock import utc_now
from scimbridge.provider import jws
from scimbridge.provider.records import KeyState, StoredKey
from scimbridge.storage.db import SqlStore
from scimbridge.storage.secrets import SecretBox

logger = logging.getLogger(__name__)

KEY_BITS = 2048
RELOAD_INTERVAL = timedelta(seconds=60)
RETIRED_KEY_RETENTION = timedelta(days=1)
"""How long a retired key stays published: longer than any token it signed lives."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    state: KeyState
    private_key: rsa.RSAPrivateKey
    public_key: rsa.RSAPublicKey
    public_jwk: dict[str, Any]
    retired_at: datetime | None


def _new_key(state: KeyState, box: SecretBox, now: datetime) -> StoredKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    public_jwk = RSAKey.import_key(private_key.public_key()).as_dict(private=False)
    kid = RSAKey.import_key(private_key.public_key()).thumbprint()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sealed = box.seal({"private_key": pem})
    assert sealed is not None
    jwk = {"kty": "RSA", "n": public_jwk["n"], "e": public_jwk["e"]}
    jwk |= {"kid": kid, "use": "sig", "alg": jws.ALGORITHM}
    return StoredKey(
        kid=kid,
        state=state.value,
        algorithm=jws.ALGORITHM,
        sealed_private_key=sealed,
        public_jwk=jwk,
        created_at=now,
    )


class SigningKeys:
    def __init__(self, store: SqlStore, box: SecretBox) -> None:
        self._store = store
        self._box = box
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> None:
        now = utc_now()
        if self._loaded_at is not None and now - self._loaded_at < RELOAD_INTERVAL:
            return
        async with self._lock:
            if self._loaded_at is not None and now - self._loaded_at < RELOAD_INTERVAL:
                return
            await self._load(create_missing=True)

    async def _load(self, *, create_missing: bool) -> None:
        now = utc_now()
        async with self._store.transaction(write=create_missing) as unit:
            stored = await unit.provider.list_keys()
            states = {key.state for key in stored}
            if create_missing:
                for state in (KeyState.current, KeyState.next):
                    if state.value not in states:
                        key = _new_key(state, self._box, now)
                        await unit.provider.add_key(key)
                        stored.append(key)
                        logger.info(
                            "signing key created kid=%s state=%s", key.kid, state
                        )
        self._keys = {key.kid: self._open(key) for key in stored}
        self._loaded_at = now

    def _open(self, stored: StoredKey) -> SigningKey:
        pem = self._box.open(stored.sealed_private_key)["private_key"]
        private_key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(private_key, rsa.RSAPrivateKey)
        return SigningKey(
            kid=stored.kid,
            state=KeyState(stored.state),
            private_key=private_key,
            public_key=private_key.public_key(),
            public_jwk=stored.public_jwk,
            retired_at=stored.retired_at,
        )

    async def current(self) -> SigningKey:
        await self._ensure()
        for key in self._keys.values():
            if key.state is KeyState.current:
                return key
        raise RuntimeError("no current signing key")

    async def public_key(self, kid: str) -> rsa.RSAPublicKey | None:
        await self._ensure()
        key = self._keys.get(kid)
        return None if key is None else key.public_key

    async def jwks(self) -> dict[str, Any]:
        await self._ensure()
        order = {KeyState.current: 0, KeyState.next: 1, KeyState.retired: 2}
        keys = sorted(self._keys.values(), key=lambda key: order[key.state])
        return {"keys": [key.public_jwk for key in keys]}

    async def list(self) -> list[SigningKey]:
        await self._ensure()
        return list(self._keys.values())

    async def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        key = await self.current()
        return jws.sign(claims, key.private_key, key.kid, typ)

    async def verify(
        self, token: str, header: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Verify a token this provider signed and return its claims.

        ``header`` is the token's header when the caller already read it.
        """
        if header is None:
            header = jws.read_header(token)
        key = await self.public_key(header["kid"])
        if key is None:
            raise jws.InvalidToken("signed by a key this provider does not publish")
        return jws.verify(token, key)

    async def rotate(self) -> SigningKey:
        """Promote the next key, retire the current one and create a new next key.

        Retired keys older than the retention period are dropped.
        """
        now = utc_now()
        async with self._lock:
            async with self._store.transaction(write=True) as unit:
                stored = await unit.provider.list_keys()
                for key in stored:
                    if key.state == KeyState.current:
                        await unit.provider.set_key_state(
                            key.kid, KeyState.retired.value, now
                        )
                    elif key.state == KeyState.next:
                        await unit.provider.set_key_state(
                            key.kid, KeyState.current.value
                        )
                    elif (
                        key.retired_at and now - key.retired_at > RETIRED_KEY_RETENTION
                    ):
                        await unit.provider.delete_key(key.kid)
                if not any(key.state == KeyState.next for key in stored):
                    # Without a published next key, the new current one is fresh.
                    await unit.provider.add_key(
                        _new_key(KeyState.current, self._box, now)
                    )
                await unit.provider.add_key(_new_key(KeyState.next, self._box, now))
            await self._load(create_missing=True)
        current = await self.current()
        logger.info("signing keys rotated current_kid=%s", current.kid)
        return current
