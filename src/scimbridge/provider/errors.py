"""OAuth 2.0 errors, as authlib's server components name them.

Each error has the ``error`` code of RFC 6749, OpenID Connect Core or RFC
7009, a description for the app's developer, and the HTTP status the token
endpoint returns.
"""

from authlib.oauth2.base import OAuth2Error  # type: ignore[import-untyped]
from authlib.oauth2.rfc6749.errors import (  # type: ignore[import-untyped]
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
    UnsupportedTokenTypeError,
)
from authlib.oidc.core.errors import (  # type: ignore[import-untyped]
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)

__all__ = [
    "AccessDeniedError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidRequestError",
    "InvalidScopeError",
    "LoginRequiredError",
    "OAuth2Error",
    "RequestNotSupportedError",
    "RequestURINotSupportedError",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseTypeError",
    "UnsupportedTokenTypeError",
    "error_body",
]


def error_body(error: OAuth2Error) -> dict[str, str]:
    body = {"error": str(error.error)}
    if error.description:
        body["error_description"] = str(error.description)
    return body


class RedirectUnsafe(Exception):
    """The client or redirect URI is not valid: show a page, never redirect."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
