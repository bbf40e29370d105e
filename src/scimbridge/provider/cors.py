"""Cross-origin access to the token, userinfo and revocation endpoints.

A single-page app signs in from the browser as a public client: it redeems its
code with PKCE and no secret, then calls userinfo and revocation with its
tokens. These endpoints therefore accept CORS requests (Fetch standard) from
the origins of the public clients' redirect URIs, and from no other origin.
No response allows credentials, because none of these endpoints reads
cookies. Discovery and the JWKS set ``Access-Control-Allow-Origin: *`` in
their own handlers, since they are public documents. Introspection is for
servers, so it gets no CORS headers.
"""

import logging
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

BROWSER_APP_METHODS = {
    "/token": "POST",
    "/userinfo": "GET, POST",
    "/revoke": "POST",
}
"""The endpoints under ``/oauth2`` that browser apps call, with their methods."""
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "WWW-Authenticate"
"""Lets an app read why userinfo rejected its access token (RFC 6750 section 3)."""
PREFLIGHT_MAX_AGE_SECONDS = 600

WebOrigins = Callable[[], Awaitable[frozenset[str]]]
"""Returns the origins allowed to call the browser app endpoints."""


class BrowserAppCors:
    """ASGI middleware that adds CORS headers to the browser app endpoints."""

    def __init__(self, app: ASGIApp, web_origins: WebOrigins) -> None:
        self._app = app
        self._web_origins = web_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        methods = BROWSER_APP_METHODS.get(_route_path(scope))
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if methods is None or origin is None:
            await self._app(scope, receive, send)
            return

        allowed = origin in await self._web_origins()
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await _preflight(origin, methods, allowed)(scope, receive, send)
            return
        if not allowed:
            logger.info(
                "cross-origin request from an unregistered origin path=%s origin=%s",
                scope["path"],
                origin[:200],
            )

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                # Every response depends on the origin, so a cache keys on it.
                response_headers.add_vary_header("Origin")
                if allowed:
                    response_headers["Access-Control-Allow-Origin"] = origin
                    response_headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            await send(message)

        await self._app(scope, receive, send_with_cors)


def _preflight(origin: str, methods: str, allowed: bool) -> Response:
    """Return the preflight response. Without the allow headers, the browser stops."""
    headers = {"Vary": "Origin"}
    if allowed:
        headers |= {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
        }
    return Response(status_code=204, headers=headers)


def _route_path(scope: Scope) -> str:
    """Return the path below the mount point, as the mounted router matches it."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if path.startswith(root_path) else path
