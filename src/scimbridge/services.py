"""The use-case objects one application instance shares across requests."""

from dataclasses import dataclass

import httpx

from scimbridge.config import Settings
from scimbridge.directory.orgs import Organizations
from scimbridge.directory.service import Directory
from scimbridge.directory.signin import SignIn
from scimbridge.directory.tokens import ScimTokens
from scimbridge.provider.backchannel import BackChannelLogout
from scimbridge.provider.factory import AppTokenRevoker, build_grant_store
from scimbridge.provider.keys import SigningKeys
from scimbridge.provider.registry import AppClients
from scimbridge.provider.service import OpenIdProvider
from scimbridge.provider.tokens import TokenIssuer
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
    provider: OpenIdProvider

    async def close(self) -> None:
        await self.http_client.aclose()
        await self.provider.grants.close()
        await self.sessions.close()
        await self.store.dispose()


def build_services(settings: Settings) -> Services:
    """Create the store and the use cases on it; nothing connects until first use."""
    store = SqlStore(create_engine(settings.database_url))
    directory = Directory(store)
    secret_box = build_secret_box(settings)
    signin = SignIn(store, directory, secret_box)
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

    orgs = Organizations(store, on_status_change=forget_tokens)

    keys = SigningKeys(store, secret_box)
    tokens = TokenIssuer(keys)
    clients = AppClients(store)
    provider = OpenIdProvider(
        settings=settings,
        orgs=orgs,
        signin=signin,
        sessions=sessions,
        grants=build_grant_store(settings.redis_url),
        keys=keys,
        clients=clients,
        tokens=tokens,
        backchannel=BackChannelLogout(
            store, tokens, http_client, lambda: settings.provider_issuer, clients.get
        ),
    )
    directory.subscribe(AppTokenRevoker(provider))
    logins.on_session_end(provider.session_ended)
    orgs.on_status(provider.revoke_org)

    return Services(
        settings=settings,
        store=store,
        orgs=orgs,
        scim_tokens=scim_tokens,
        admin_tokens=admin_tokens,
        directory=directory,
        signin=signin,
        sessions=sessions,
        logins=logins,
        http_client=http_client,
        provider=provider,
    )
