"""Directory events that end or update sessions: deprovisioning takes effect at once."""

import logging

from scimbridge.directory.events import DirectoryEvent, EventKind
from scimbridge.sessions.store import SessionStore
from scimbridge.sso.login import LoginService

logger = logging.getLogger(__name__)

REVOKING_EVENTS = frozenset({EventKind.user_deactivated, EventKind.user_deleted})
GROUP_EVENTS = frozenset(
    {EventKind.group_created, EventKind.group_updated, EventKind.group_deleted}
)


class SessionRevoker:
    """Listener of the directory: revoke on deactivation, refresh roles on groups."""

    def __init__(self, sessions: SessionStore, logins: LoginService) -> None:
        self._sessions = sessions
        self._logins = logins

    async def __call__(self, event: DirectoryEvent) -> None:
        if event.kind in REVOKING_EVENTS:
            count = await self._sessions.revoke_member(event.org_id, event.resource_id)
            logger.info(
                "sessions revoked org_id=%s member_id=%s count=%d event=%s",
                event.org_id,
                event.resource_id,
                count,
                event.kind,
            )
        elif event.kind in GROUP_EVENTS and event.member_ids:
            await self._logins.refresh_roles(event.org_id, event.member_ids)
