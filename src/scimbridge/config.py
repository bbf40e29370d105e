"""Settings read from the environment with the ``SCIMBRIDGE_`` prefix."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_PATH = Path("scimbridge.db")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class Settings(BaseSettings):
    """Runtime configuration, validated once at startup and passed to ``create_app``."""

    model_config = SettingsConfigDict(env_prefix="SCIMBRIDGE_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_DATABASE_PATH}",
        description="SQLAlchemy URL: sqlite+aiosqlite:///FILE or "
        "postgresql+asyncpg://USER@HOST/DB.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for sessions; unset uses memory."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Platform admin bearer token for /admin; unset disables the API.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that encrypts IdP client secrets and private keys at "
        "rest; unset on SQLite uses a key file next to the database.",
    )
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only."
    )
    allow_loopback_idp: bool = Field(
        default=False,
        description="Development only: allow OIDC issuers on http://127.0.0.1 "
        "and SAML IdP endpoints over http.",
    )
    base_url: str | None = Field(
        default=None,
        description="Public URL of this server for meta.location; unset uses "
        "the URL each request came to.",
    )
    issuer: str | None = Field(
        default=None,
        description="Issuer of the OpenID Provider; unset uses base_url, and "
        "without it the address `scimbridge serve` listens on.",
    )
    log_level: str = "INFO"
    scim_max_results: int = Field(
        default=1000, ge=1, description="Maximum resources in one list response."
    )
    scim_max_payload_bytes: int = Field(
        default=1_048_576, ge=1024, description="Maximum SCIM request body, in bytes."
    )
    scim_bulk_max_operations: int = Field(
        default=1000, ge=1, description="Maximum operations in one Bulk request."
    )

    @field_validator("admin_token")
    @classmethod
    def _reject_weak_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError("admin_token must be at least 24 characters long")
        return value

    @field_validator("secret_key")
    @classmethod
    def _reject_weak_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        # The key is hashed into an encryption key, so a short one could be
        # guessed offline from a copy of the database.
        if value is not None and len(value.get_secret_value()) < 24:
            raise ValueError(
                "secret_key must be at least 24 characters long; generate one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("base_url", "issuer")
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else value.rstrip("/")

    def public_url(self, request_url: str | None = None) -> str:
        """Return the URL this server is reached at, for links it hands out.

        ``base_url`` when set; otherwise the URL the request came to, and for
        the CLI, which has no request, the address ``serve`` listens on.
        """
        if self.base_url:
            return self.base_url
        if request_url:
            return request_url.rstrip("/")
        return DEFAULT_PUBLIC_URL

    @property
    def provider_issuer(self) -> str:
        """Return the OpenID Provider's issuer: one string for every request."""
        return self.issuer or self.public_url()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
