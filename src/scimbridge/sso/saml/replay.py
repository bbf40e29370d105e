"""One-time use of assertion IDs."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class ReplayGuard(Protocol):
    """A store that accepts each key once until the key expires.

    Implementations must be atomic: of two concurrent calls with the same key,
    exactly one returns True (Redis ``SET key 1 NX EXAT expires_at`` does this).
    """

    def remember(self, key: str, expires_at: datetime) -> bool:
        """Store ``key`` until ``expires_at``; return False if it is already stored."""
        ...


class InMemoryReplayGuard:
    """A ReplayGuard in process memory, for tests and the ``saml check`` command.

    It deletes keys once ``clock()`` passes their expiry, and keeps every other key
    for the life of the process.
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._expiry: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def remember(self, key: str, expires_at: datetime) -> bool:
        with self._lock:
            now = self._clock()
            expired = [name for name, until in self._expiry.items() if until <= now]
            for name in expired:
                del self._expiry[name]
            if key in self._expiry:
                return False
            self._expiry[key] = expires_at
            return True
