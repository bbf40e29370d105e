"""Logging setup and the one-line-per-request access log."""

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_logger = logging.getLogger("scimbridge.access")


def configure_logging(level: str) -> None:
    """Send scimbridge's records to stderr, one line each, unless already configured."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        root.addHandler(handler)
    logging.getLogger("scimbridge").setLevel(level.upper())


class AccessLogMiddleware:
    """Log one line per request: org id, method, path, status and duration.

    The path is logged without its query string, and no header or body is
    logged, so bearer tokens and provisioned data never reach the log.
    Handlers record the organization in ``scope["state"]["org_id"]``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            state: dict[str, Any] = scope.get("state") or {}
            access_logger.info(
                "request org_id=%s method=%s path=%s status=%d duration_ms=%.1f",
                state.get("org_id", "-"),
                scope["method"],
                scope["path"],
                status,
                (time.perf_counter() - started) * 1000,
            )
