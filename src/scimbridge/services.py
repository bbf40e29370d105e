"""The use-case objects one application instance shares across requests."""

from dataclasses import dataclass

from scimbridge.config import Settings
from scimbridge.directory.orgs import Organizations
from scimbridge.directory.service import Directory
from scimbridge.directory.signin import SignIn
from scimbridge.directory.tokens import ScimTokens
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

    async def close(self) -> None:
        await self.store.dispose()


def build_services(settings: Settings) -> Services:
    """Create the store and the use cases on it; nothing connects until first use."""
    store = SqlStore(create_engine(settings.database_url))
    directory = Directory(store)
    return Services(
        settings=settings,
        store=store,
        orgs=Organizations(store),
        scim_tokens=ScimTokens(store),
        admin_tokens=ScimTokens(store, admin=True),
        directory=directory,
        signin=SignIn(store, directory, build_secret_box(settings)),
    )
