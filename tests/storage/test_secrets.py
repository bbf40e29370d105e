"""Encryption at rest of connection secrets."""

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from scimbridge.config import Settings
from scimbridge.storage.secrets import SecretBox, SecretKeyMissing, build_secret_box


def test_seal_and_open_round_trip() -> None:
    """A sealed document opens to the same secrets and does not show them."""
    box = build_secret_box(
        Settings(
            database_url="postgresql+asyncpg://h/db", secret_key=SecretStr("k" * 32)
        )
    )
    sealed = box.seal({"client_secret": "hunter2-value"})
    assert sealed is not None
    assert "hunter2" not in sealed
    assert box.open(sealed) == {"client_secret": "hunter2-value"}


def test_wrong_key_fails_clearly() -> None:
    """Secrets sealed under one key do not open under another."""
    first = build_secret_box(
        Settings(
            database_url="postgresql+asyncpg://h/db", secret_key=SecretStr("a" * 32)
        )
    )
    second = build_secret_box(
        Settings(
            database_url="postgresql+asyncpg://h/db", secret_key=SecretStr("b" * 32)
        )
    )
    sealed = first.seal({"k": "v"})
    with pytest.raises(SecretKeyMissing, match="key changed"):
        second.open(sealed)


def test_missing_key_on_postgresql() -> None:
    """Without a key on PostgreSQL, storing a secret fails with a clear message."""
    box = build_secret_box(Settings(database_url="postgresql+asyncpg://h/db"))
    assert box.seal({}) is None
    with pytest.raises(SecretKeyMissing, match="SCIMBRIDGE_SECRET_KEY"):
        box.seal({"k": "v"})


def test_sqlite_key_file_created_private(tmp_path: Path) -> None:
    """On SQLite with no key, a key file readable by its owner only is created once."""
    database = tmp_path / "s.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}")
    sealed = build_secret_box(settings).seal({"k": "v"})
    key_file = tmp_path / "s.db.key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert build_secret_box(settings).open(sealed) == {"k": "v"}


def test_box_without_key_cannot_open() -> None:
    """A box with no key refuses to open a sealed value."""
    with pytest.raises(SecretKeyMissing):
        SecretBox(None).open("gAAAAA-sealed")


def test_short_secret_key_rejected() -> None:
    """A key shorter than 24 characters is refused at start-up."""
    with pytest.raises(ValueError, match="at least 24 characters"):
        Settings(secret_key=SecretStr("hunter2"))
