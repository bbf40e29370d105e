"""The use-case objects one application instance shares across requests."""

from dataclasses import dataclass

import httpx

from scimbridge.config import Settings
from scimbridge.directory.orgs import Organizations
from scimbridge.directory.service import Directory
from scimbridge.directory.signin import SignIn
from scimbridge.directory.tokens import ScimTokens
from scimbridge.sessions.factory import build_session_store
from scimbridge.sessions.store import SessionStore
from scimbridge.sso.login import LoginService
from scimbridge.sso.revocation import SessionRevoker
from scimbridge.storage.db import SqlStore, create_engine
from scimbridge.storage.secrets import build_secret_box


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: SqlStore
    orgs: Organizations
    scim_tokens: ScimTokens
    admin_tokens: ScimTokens
    directory: Directory
    signin: SignIn
    sessions: SessionStore
    logins: LoginService
    http_client: httpx.AsyncClient

    async def close(self) -> None:
        await self.http_client.aclose()
        await self.sessions.close()
        await self.store.dispose()


def build_services(settings: Settings) -> Services:
    """Create the store and the use cases on it; nothing connects until first use."""
    store = SqlStore(create_engine(settings.database_url))
    directory = Directory(store)
    signin = SignIn(store, directory, build_secret_box(settings))
    sessions = build_session_store(settings.redis_url)
    # Back-channel calls to IdPs: no redirects, no proxy from the environment.
    http_client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
    logins = LoginService(settings, signin, sessions, http_client)
    directory.subscribe(SessionRevoker(sessions, logins))
    scim_tokens = ScimTokens(store)
    admin_tokens = ScimTokens(store, admin=True)

    def forget_tokens() -> None:
        scim_tokens.forget()
        admin_tokens.forget()

    return Services(
        settings=settings,
        store=store,
        orgs=Organizations(store, on_status_change=forget_tokens),
        scim_tokens=scim_tokens,
        admin_tokens=admin_tokens,
        directory=directory,
        signin=signin,
        sessions=sessions,
        logins=logins,
        http_client=http_client,
    )
