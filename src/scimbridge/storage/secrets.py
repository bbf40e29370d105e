"""Encryption at rest for connection secrets (client secrets, private keys).

Values are sealed with Fernet (AES-128-CBC with HMAC-SHA256) under a key
from settings. On the SQLite default with no key set, a random key is kept
in a file next to the database, readable by its owner only.
"""

import base64
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url

from scimbridge.config import Settings

logger = logging.getLogger(__name__)


class SecretKeyMissing(RuntimeError):
    """No key to seal secrets with: SCIMBRIDGE_SECRET_KEY is unset."""


class SecretBox:
    """Seal and open JSON documents of secrets."""

    def __init__(self, key: bytes | None) -> None:
        self._fernet = Fernet(key) if key is not None else None

    def seal(self, secrets: dict[str, Any]) -> str | None:
        if not secrets:
            return None
        if self._fernet is None:
            raise SecretKeyMissing(
                "set SCIMBRIDGE_SECRET_KEY to store connection secrets"
            )
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        if self._fernet is None:
            raise SecretKeyMissing(
                "set SCIMBRIDGE_SECRET_KEY to read connection secrets"
            )
        try:
            opened: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise SecretKeyMissing(
                "connection secrets do not open with SCIMBRIDGE_SECRET_KEY: "
                "the key changed since they were stored"
            ) from exc
        return opened


def _fernet_key(secret: str) -> bytes:
    """Derive a Fernet key from any secret string (a Fernet key is used as is)."""
    try:
        raw = base64.urlsafe_b64decode(secret.encode())
        if len(raw) == 32:
            return secret.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


def _key_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(f"{url.database}.key")


def build_secret_box(settings: Settings) -> SecretBox:
    if settings.secret_key is not None:
        return SecretBox(_fernet_key(settings.secret_key.get_secret_value()))
    path = _key_file(settings.database_url)
    if path is None:
        return SecretBox(None)
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key())
        logger.info("secret key file created path=%s", path)
    return SecretBox(path.read_bytes().strip())
