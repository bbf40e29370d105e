"""The admin API at ``/admin``: organizations, their tokens and sign-in configuration.

Every endpoint needs ``Authorization: Bearer <token>``, with either the
platform admin token (``SCIMBRIDGE_ADMIN_TOKEN``), which manages every
organization, or an org admin token, which manages only its own
organization. An organization in a path may be given by slug or by id.

Each module has two routers: ``platform`` for routes only the platform admin
may use, where an org admin token gets 403 (or 404 on another organization's
path), and ``delegated`` for routes its org admins may use too.
"""

from fastapi import APIRouter

from scimbridge.admin import access, apps, connections, organizations

router = APIRouter()
for module in (organizations, access, connections):
    router.include_router(module.platform)
    router.include_router(module.delegated)
router.include_router(apps.platform)
