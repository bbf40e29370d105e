"""The admin route class: authenticate first, then render every error as admin JSON."""

import logging
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from scimbridge.admin.auth import ORG_PATH_PARAMETER, authenticate, authorize
from scimbridge.admin.errors import (
    AdminError,
    error_from_http_exception,
    error_from_validation,
)

logger = logging.getLogger(__name__)


class AdminRoute(APIRoute):
    """A route for the platform admin only: check the token, then run the endpoint.

    The token and the route's access rule are checked before FastAPI reads
    the body, so an unauthenticated request gets 401 (or 404 while the API is
    disabled), and an org admin 403 or 404, whatever it sends. The principal
    is then stored in ``request.state.admin_principal`` for the endpoint.
    Every failure of the request, from authentication, body validation or the
    endpoint, is rendered here in the admin format, so it never reaches the
    application's exception handlers.
    """

    org_admin_allowed: ClassVar[bool] = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_admin(request: Request) -> Response:
            try:
                principal = await authenticate(request)
                authorize(
                    principal,
                    request.path_params.get(ORG_PATH_PARAMETER),
                    org_admin_allowed=self.org_admin_allowed,
                )
                request.state.admin_principal = principal
                return await handle(request)
            except AdminError as exc:
                return exc.to_response()
            except RequestValidationError as exc:
                return error_from_validation(exc)
            except HTTPException as exc:
                return error_from_http_exception(exc)
            except Exception:
                logger.exception(
                    "admin request failed method=%s path=%s",
                    request.method,
                    request.url.path,
                )
                return AdminError(
                    "internal server error, logged on the server"
                ).to_response()

        return handle_as_admin


class OrgAdminRoute(AdminRoute):
    """A route on one organization, open to the platform admin and to its org admins.

    The path must name the organization with the ``slug_or_id`` parameter.
    """

    org_admin_allowed = True
