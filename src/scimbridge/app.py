"""The application factory: the only module that imports every package."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.routing import Mount

from scimbridge import __version__
from scimbridge.admin.errors import install_admin_error_handlers
from scimbridge.admin.router import router as admin_router
from scimbridge.config import Settings
from scimbridge.logs import AccessLogMiddleware, configure_logging
from scimbridge.provider import routes as provider_routes
from scimbridge.provider.cors import BrowserAppCors
from scimbridge.provider.http_errors import install_provider_error_handlers
from scimbridge.scim.errors import install_error_handlers
from scimbridge.scim.paths import TrailingSlashMiddleware
from scimbridge.scim.router import router as scim_router
from scimbridge.services import Services, build_services
from scimbridge.sso.routes import home as home_router
from scimbridge.sso.routes import router as sso_router


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application; ``settings`` default to the environment."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Back-channel logouts go out from every worker, and a claim on each
        # delivery keeps two workers from sending the same one.
        worker = asyncio.create_task(services.provider.run_background())
        yield
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await services.close()

    app = FastAPI(
        title="scimbridge",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    install_admin_error_handlers(app)
    install_provider_error_handlers(app)
    app.include_router(scim_router, prefix="/scim/v2")
    app.include_router(admin_router, prefix="/admin")
    app.include_router(sso_router, prefix="/sso")
    app.include_router(home_router)
    app.include_router(provider_routes.discovery)
    # FastAPI tries the routes in order, at the cost of a pattern match each.
    # Mounted first, the provider's endpoints cost other requests one match,
    # and introspection, which apps call on every request, pays for none of
    # the SCIM, admin and sign-in routes.
    app.router.routes.insert(
        0,
        Mount(
            provider_routes.PREFIX,
            app=BrowserAppCors(
                provider_routes.endpoints, services.provider.clients.web_origins
            ),
        ),
    )
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services
