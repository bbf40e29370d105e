"""Shared fixtures: one application on a real database, and fresh organizations.

Tests run against SQLite by default, and against PostgreSQL when
``SCIMBRIDGE_TEST_DATABASE_URL`` is set (CI sets it). Each test provisions
into organizations of its own, so tests never see each other's data and the
database needs no cleanup between them.
"""

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from scimbridge.app import create_app
from scimbridge.config import Settings
from scimbridge.storage.tables import Base

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


async def _reset_schema(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SCIMBRIDGE_TEST_DATABASE_URL")
    if not url:
        path: Path = tmp_path_factory.mktemp("db") / "scimbridge.db"
        url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(_reset_schema(url))
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        admin_token=SecretStr(ADMIN_TOKEN),
        secret_key=SecretStr("test-secret-key-for-connection-secrets"),
        redis_url=os.environ.get("SCIMBRIDGE_TEST_REDIS_URL") or None,
        cookie_secure=False,
        allow_loopback_idp=True,
        scim_max_results=200,
        scim_bulk_max_operations=50,
        scim_max_payload_bytes=200_000,
    )


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class ScimOrg:
    """An organization with a SCIM token, and a client that sends it."""

    id: str
    slug: str
    token: str
    client: TestClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": SCIM_JSON}

    def get(self, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.get(f"/scim/v2{path}", headers=headers, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.post(f"/scim/v2{path}", json=body, headers=headers, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.put(f"/scim/v2{path}", json=body, headers=headers, **kwargs)

    def patch(self, path: str, operations: list[dict[str, Any]], **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        return self.client.patch(
            f"/scim/v2{path}", json=body, headers=headers, **kwargs
        )

    def delete(self, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.delete(f"/scim/v2{path}", headers=headers, **kwargs)

    def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        response = self.post("/Users", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def create_group(
        self, display_name: str, members: list[str] = ()
    ) -> dict[str, Any]:  # type: ignore[assignment]
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": display_name,
            "members": [{"value": member} for member in members],
        }
        response = self.post("/Groups", body)
        assert response.status_code == 201, response.text
        return dict(response.json())


def _new_org(client: TestClient) -> ScimOrg:
    slug = f"org-{uuid.uuid4().hex[:12]}"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    services = client.app.state.services  # type: ignore[attr-defined]

    async def create() -> tuple[str, str]:
        org = await services.orgs.create(slug, slug)
        issued = await services.scim_tokens.create(org)
        return str(org.id), issued.secret

    del admin
    assert client.portal is not None
    org_id, token = client.portal.call(create)
    return ScimOrg(id=org_id, slug=slug, token=token, client=client)


@pytest.fixture
def org(client: TestClient) -> ScimOrg:
    """A fresh organization (org A) with one SCIM token."""
    return _new_org(client)


@pytest.fixture
def other_org(client: TestClient) -> ScimOrg:
    """A second organization (org B), for isolation checks."""
    return _new_org(client)
