"""Helpers of the admin API tests: organizations with an org admin token."""

import uuid
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import ADMIN_TOKEN

PLATFORM = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Tenant:
    """An organization and one org admin token of it."""

    id: str
    slug: str
    token: str
    prefix: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def path(self) -> str:
        return f"/admin/organizations/{self.slug}"


def new_tenant(client: TestClient) -> Tenant:
    """Create an organization with a unique slug and an org admin token for it."""
    slug = f"org-{uuid.uuid4().hex[:12]}"
    org = client.post("/admin/organizations", json={"slug": slug}, headers=PLATFORM)
    assert org.status_code == 201, org.text
    issued = client.post(f"/admin/organizations/{slug}/admin-tokens", headers=PLATFORM)
    assert issued.status_code == 201, issued.text
    return Tenant(
        id=org.json()["id"],
        slug=slug,
        token=issued.json()["token"],
        prefix=issued.json()["prefix"],
    )


def unique_domain() -> str:
    return f"corp-{uuid.uuid4().hex[:10]}.example"


def seed_resources(client: TestClient, tenant: Tenant) -> dict[str, str]:
    """Give the tenant one resource of each kind, and return their ids by name.

    The extra admin token leaves the tenant's own token active when a test
    revokes ``admin_prefix``.
    """

    def create(path: str, body: Any = None) -> Any:
        response = client.post(f"{tenant.path}{path}", json=body, headers=PLATFORM)
        assert response.status_code == 201, response.text
        return response.json()

    domain = unique_domain()
    create("/domains", {"domain": domain})
    role = create("/roles", {"name": "viewer", "permissions": ["reports:read"]})
    mapping = create(
        "/role-mappings",
        {"role_id": role["id"], "source": "scim_group", "value": "Viewers"},
    )
    return {
        "org": tenant.slug,
        "scim_prefix": create("/scim-tokens")["prefix"],
        "admin_prefix": create("/admin-tokens")["prefix"],
        "domain": domain,
        "role_id": role["id"],
        "mapping_id": mapping["id"],
    }


def snapshot(client: TestClient, tenant: Tenant) -> dict[str, Any]:
    """Read everything the admin API shows of the tenant, except token last use."""
    state = {}
    for path in (
        "",
        "/scim-tokens",
        "/admin-tokens",
        "/domains",
        "/login-policy",
        "/roles",
        "/role-mappings",
    ):
        response = client.get(f"{tenant.path}{path}", headers=PLATFORM)
        assert response.status_code == 200, response.text
        body = response.json()
        for token in body.get("tokens", []):
            token.pop("last_used_at")
        state[path] = body
    return state


def assert_admin_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert body["error_description"]
