"""Concurrent PATCHes on one group, as Entra ID sends them, lose no update."""

import asyncio
import uuid

import httpx

from scimbridge.app import create_app
from scimbridge.config import Settings
from tests.conftest import GROUP_SCHEMA, PATCH_SCHEMA, USER_SCHEMA

PARALLEL_REQUESTS = 50


async def _run_parallel_adds(
    settings: Settings,
) -> tuple[list[int], set[str], set[str], str]:
    app = create_app(settings)
    services = app.state.services
    org = await services.orgs.create(f"conc-{uuid.uuid4().hex[:10]}")
    token = (await services.scim_tokens.create(org)).secret
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test/scim/v2", headers=headers
        ) as client:
            user_ids = []
            for index in range(PARALLEL_REQUESTS):
                body = {"schemas": [USER_SCHEMA], "userName": f"u{index}@example.com"}
                user_ids.append((await client.post("/Users", json=body)).json()["id"])
            group = await client.post(
                "/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "Parallel"}
            )
            group_id = group.json()["id"]

            async def add(user_id: str) -> int:
                operation = {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": user_id}],
                }
                body = {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
                response = await client.patch(f"/Groups/{group_id}", json=body)
                return response.status_code

            statuses = await asyncio.gather(*(add(user_id) for user_id in user_ids))
            final = (await client.get(f"/Groups/{group_id}")).json()
            members = {member["value"] for member in final.get("members", [])}
            return list(statuses), members, set(user_ids), final["meta"]["version"]
    finally:
        await services.close()


def test_parallel_member_adds_all_land(settings: Settings) -> None:
    """50 concurrent PATCHes adding one member each leave all 50 members.

    Each PATCH bumps the group's version under its row lock, so the final
    version counts every PATCH: a lost read-modify-write would show here.
    """
    statuses, members, expected, version = asyncio.run(_run_parallel_adds(settings))
    assert statuses == [204] * PARALLEL_REQUESTS
    assert members == expected
    assert version == f'W/"{1 + PARALLEL_REQUESTS}"'
