"""The authorization code exchange at the discovered token endpoint.

The code goes only to ``ProviderMetadata.token_endpoint``, with the PKCE
verifier and the connection's client authentication, and the response must
be a JSON Bearer token response that contains an ID token.
"""

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from scimbridge.sso.oidc.discovery import ProviderMetadata
from scimbridge.sso.oidc.errors import ErrorCode, OidcError, quote_value
from scimbridge.sso.oidc.fetch import (
    ProviderHttp,
    is_json_media_type,
    parse_json_object,
)
from scimbridge.sso.oidc.pending import PendingLogin
from scimbridge.sso.oidc.settings import (
    ClientSecretBasic,
    ClientSecretPost,
    OidcConnection,
    PrivateKeyJwt,
)

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PURPOSE = "token request"
# The b64token syntax of RFC 6750 section 2.1, which a Bearer header can carry.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token response; the repr hides the tokens."""

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None = None
    refresh_token: str | None = field(default=None, repr=False)
    scope: str | None = None


async def exchange_code(
    http: ProviderHttp,
    connection: OidcConnection,
    metadata: ProviderMetadata,
    *,
    code: str,
    pending: PendingLogin,
    now: datetime,
) -> TokenResponse:
    """Redeem ``code`` with the PKCE verifier of ``pending`` and return the tokens.

    Raises OidcError ``oidc.token_error`` when the provider returns an error,
    a status other than 200, a body that is not JSON, a token type other
    than Bearer, or no ID token.
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending.redirect_uri,
        "code_verifier": pending.code_verifier,
    }
    headers = {"Accept": "application/json"}
    form.update(_client_auth(connection, metadata, headers, now))

    response = await http.request(
        "POST",
        metadata.token_endpoint,
        error_code=ErrorCode.TOKEN_ERROR,
        purpose=_PURPOSE,
        headers=headers,
        data=form,
    )
    if not is_json_media_type(response.media_type):
        raise OidcError(
            ErrorCode.TOKEN_ERROR,
            f"the token endpoint returned HTTP {response.status_code} with "
            f"Content-Type {response.media_type or 'none'!r}, not application/json",
        )
    body = parse_json_object(
        response, error_code=ErrorCode.TOKEN_ERROR, purpose=_PURPOSE
    )
    if "error" in body or response.status_code != 200:
        raise OidcError(
            ErrorCode.TOKEN_ERROR, _error_detail(response.status_code, body)
        )
    return _token_response(body)


def _client_auth(
    connection: OidcConnection,
    metadata: ProviderMetadata,
    headers: dict[str, str],
    now: datetime,
) -> dict[str, str]:
    """Add the client authentication to ``headers`` and return the form fields."""
    auth = connection.client_auth
    if isinstance(auth, ClientSecretBasic):
        # RFC 6749 section 2.3.1: form-urlencode the id and secret before
        # base64, so a ':' or '%' in either survives the round trip.
        user = quote_plus(connection.client_id, safe="")
        password = quote_plus(auth.client_secret.get_secret_value(), safe="")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
        return {}
    if isinstance(auth, ClientSecretPost):
        return {
            "client_id": connection.client_id,
            "client_secret": auth.client_secret.get_secret_value(),
        }
    return {
        "client_id": connection.client_id,
        "client_assertion_type": JWT_BEARER_ASSERTION,
        "client_assertion": client_assertion(connection.client_id, auth, metadata, now),
    }


def client_assertion(
    client_id: str, auth: PrivateKeyJwt, metadata: ProviderMetadata, now: datetime
) -> str:
    """Return a signed client assertion (RFC 7523 section 3) for the token endpoint.

    The audience is the token endpoint URL, as OpenID Connect Core 1.0
    section 9 recommends, and each assertion has a new random ``jti``.
    """
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": metadata.token_endpoint,
        "jti": secrets.token_urlsafe(32),
        "iat": issued_at,
        "exp": issued_at + auth.assertion_lifetime,
    }
    return auth.signing_key.sign_jwt(claims)


def _error_detail(status_code: int, body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if error is None:
        return f"the token endpoint returned HTTP {status_code} without an error code"
    detail = (
        f"the token endpoint returned HTTP {status_code} with error "
        f"{quote_value(error, 60)}"
    )
    description = body.get("error_description")
    if description is not None:
        detail += f": {quote_value(description, 200)}"
    return detail


def _token_response(body: Mapping[str, Any]) -> TokenResponse:
    token_type = body.get("token_type")
    # RFC 6749 section 7.1: the token type is case-insensitive.
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise OidcError(
            ErrorCode.TOKEN_ERROR,
            f"the token response has token_type {quote_value(token_type, 40)}, "
            "not Bearer",
        )
    for name in ("access_token", "id_token"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise OidcError(ErrorCode.TOKEN_ERROR, f"the token response has no {name}")
    if not _B64TOKEN.fullmatch(body["access_token"]):
        raise OidcError(
            ErrorCode.TOKEN_ERROR,
            "the token response's access_token has characters that a Bearer "
            "Authorization header cannot carry (RFC 6750 section 2.1)",
        )

    expires_in = body.get("expires_in")
    refresh_token = body.get("refresh_token")
    scope = body.get("scope")
    return TokenResponse(
        id_token=body["id_token"],
        access_token=body["access_token"],
        token_type=token_type,
        expires_in=expires_in if type(expires_in) is int else None,
        refresh_token=refresh_token if isinstance(refresh_token, str) else None,
        scope=scope if isinstance(scope, str) else None,
    )
