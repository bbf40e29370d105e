"""Path normalization for SCIM clients that add a trailing slash."""

from starlette.types import ASGIApp, Receive, Scope, Send

SCIM_ROOT = "/scim/v2"


class TrailingSlashMiddleware:
    """Serve ``/scim/v2/Users/`` and ``/scim/v2//Users`` as ``/scim/v2/Users``.

    Several IdP clients append a slash to the base URL they are given, or join
    a base URL ending in a slash with a path starting with one. A redirect
    would make them resend a POST or PATCH body, which some do not.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith(SCIM_ROOT + "/") and len(path) > len(SCIM_ROOT) + 1:
                normalized = _collapse_slashes(path).rstrip("/") or SCIM_ROOT
                if normalized != path:
                    scope = {
                        **scope,
                        "path": normalized,
                        "raw_path": normalized.encode(),
                    }
        await self.app(scope, receive, send)


def _collapse_slashes(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path
