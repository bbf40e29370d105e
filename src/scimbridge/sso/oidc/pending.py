"""The one-time record of a login between the authorization request and the callback.

A :class:`PendingLogin` contains the state, nonce and PKCE verifier of one
authorization request. Store it once, keyed by its state, and take it back
with an atomic remove-and-return when the callback arrives, so a second
callback with the same state (a replay) finds nothing. Bind it to the browser
as well, for example with a cookie that carries the state, so a state that an
attacker obtained cannot complete a login in the victim's browser.
"""

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Protocol

STATE_NAMESPACE = "oidc-login"
"""Namespace of pending logins in a :class:`OneTimeStore`."""
MAX_STATE_LENGTH = 128
"""States we issue are 43 characters; a longer callback state is never looked up."""


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """The data the callback needs to finish one login. The repr hides the secrets."""

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    connection_id: str
    redirect_uri: str
    created_at: datetime
    max_age: int | None = None
    """The ``max_age`` sent in the authorization request, in seconds."""

    def __post_init__(self) -> None:
        # An empty value would make a later comparison trivially pass or skip,
        # so a pending login is never built without all three.
        for name in ("state", "nonce", "code_verifier"):
            if len(getattr(self, name)) < 43:
                raise ValueError(f"pending login {name} must be at least 43 characters")
        if self.created_at.tzinfo is None:
            raise ValueError("pending login created_at must be timezone-aware")

    def to_json(self) -> str:
        """Serialize for a session store; the result contains secrets."""
        record = asdict(self)
        record["created_at"] = self.created_at.isoformat()
        return json.dumps(record)

    @classmethod
    def from_json(cls, data: bytes | str) -> "PendingLogin":
        """Rebuild a pending login from :meth:`to_json` output."""
        record = json.loads(data)
        record["created_at"] = datetime.fromisoformat(record["created_at"])
        return cls(**record)


def new_secret() -> str:
    """Return 256 random bits as 43 characters of unpadded base64url."""
    return secrets.token_urlsafe(32)


class OneTimeStore(Protocol):
    """The part of a session store that keeps values for one use."""

    async def put_once(
        self, namespace: str, key: str, value: bytes | str, ttl_seconds: int
    ) -> bool:
        """Store ``value`` unless the key exists; return whether it was stored."""

    async def take(self, namespace: str, key: str) -> bytes | None:
        """Remove and return the value; of concurrent calls exactly one gets it."""


async def save_pending_login(
    store: OneTimeStore, pending: PendingLogin, ttl_seconds: int
) -> None:
    """Store ``pending`` under its state for ``ttl_seconds``."""
    if not await store.put_once(
        STATE_NAMESPACE, pending.state, pending.to_json(), ttl_seconds
    ):
        raise RuntimeError("a pending login with this state already exists")


async def take_pending_login(
    store: OneTimeStore, state: str | None
) -> PendingLogin | None:
    """Remove and return the pending login of ``state``; None if absent or used."""
    if not state or len(state) > MAX_STATE_LENGTH:
        return None
    data = await store.take(STATE_NAMESPACE, state)
    return None if data is None else PendingLogin.from_json(data)
