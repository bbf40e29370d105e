"""Request and response bodies of the app client endpoints, reused by the CLI."""

from datetime import datetime
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from scimbridge.provider.clients import AppClient
from scimbridge.provider.keys import SigningKey
from scimbridge.provider.records import Delivery


class AppClientCreate(BaseModel):
    """A new app; without ``organizations``, every organization may sign in to it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Billing portal"])
    redirect_uris: list[str] = Field(
        min_length=1, examples=[["https://app.example.com/callback"]]
    )
    public: bool = Field(
        default=False, description="A native app with no secret (PKCE only)."
    )
    post_logout_redirect_uris: list[str] = Field(default_factory=list)
    backchannel_logout_uri: str | None = None
    organizations: list[str] | None = Field(
        default=None, description="Slugs or ids of the organizations allowed."
    )


class AppClientOut(BaseModel):
    client_id: str
    name: str
    public: bool
    enabled: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    backchannel_logout_uri: str | None
    organizations: list[UUID] | None
    created_at: datetime | None

    @classmethod
    def of(cls, client: AppClient) -> Self:
        return cls(
            client_id=client.id,
            name=client.name,
            public=client.public,
            enabled=client.enabled,
            redirect_uris=list(client.redirect_uris),
            post_logout_redirect_uris=list(client.post_logout_redirect_uris),
            backchannel_logout_uri=client.backchannel_logout_uri,
            organizations=None if client.org_ids is None else sorted(client.org_ids),
            created_at=client.created_at,
        )


class IssuedAppClient(AppClientOut):
    """An app just registered or given a new secret; the secret is shown only now."""

    client_secret: str | None

    @classmethod
    def issued(cls, client: AppClient, secret: str | None) -> Self:
        return cls(**AppClientOut.of(client).model_dump(), client_secret=secret)


class AppClientList(BaseModel):
    apps: list[AppClientOut]


class SigningKeyOut(BaseModel):
    kid: str
    state: str
    retired_at: datetime | None

    @classmethod
    def of(cls, key: SigningKey) -> Self:
        return cls(kid=key.kid, state=key.state.value, retired_at=key.retired_at)


class SigningKeyList(BaseModel):
    keys: list[SigningKeyOut]


class DeliveryOut(BaseModel):
    """One back-channel logout sent, or still to send, to an app."""

    id: UUID
    client_id: str
    member_id: UUID
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> Self:
        return cls(
            id=delivery.id,
            client_id=delivery.client_id,
            member_id=delivery.member_id,
            status=delivery.status.value,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            delivered_at=delivery.delivered_at,
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
