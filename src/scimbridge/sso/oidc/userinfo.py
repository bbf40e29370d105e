"""The optional UserInfo request (OpenID Connect Core 1.0 section 5.3)."""

from typing import Any

from scimbridge.sso.oidc.discovery import ProviderMetadata
from scimbridge.sso.oidc.errors import ErrorCode, OidcError
from scimbridge.sso.oidc.fetch import (
    ProviderHttp,
    is_json_media_type,
    parse_json_object,
)

_PURPOSE = "UserInfo request"


async def fetch_userinfo(
    http: ProviderHttp, metadata: ProviderMetadata, *, access_token: str, subject: str
) -> dict[str, Any]:
    """Fetch the UserInfo claims and check they are about ``subject``.

    Raises OidcError ``oidc.userinfo_sub_mismatch`` when the response's
    ``sub`` differs from the ID token's (Core section 5.3.2), and
    ``oidc.userinfo_error`` for a failed request, a status other than 200, or
    a body that is not JSON. Signed or encrypted UserInfo responses
    (``application/jwt``) are rejected as unsupported.
    """
    if metadata.userinfo_endpoint is None:
        raise OidcError(
            ErrorCode.USERINFO_ERROR,
            "the provider's discovery document has no userinfo_endpoint",
        )
    response = await http.request(
        "GET",
        metadata.userinfo_endpoint,
        error_code=ErrorCode.USERINFO_ERROR,
        purpose=_PURPOSE,
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json",
        },
    )
    if response.status_code != 200:
        raise OidcError(
            ErrorCode.USERINFO_ERROR,
            f"the UserInfo endpoint returned HTTP {response.status_code}",
        )
    if response.media_type == "application/jwt":
        # TODO: verify signed UserInfo (OpenID Connect Core 1.0 section 5.3.2)
        # with the same key and issuer rules as ID tokens before accepting it.
        raise OidcError(
            ErrorCode.USERINFO_ERROR,
            "the UserInfo endpoint returned a signed or encrypted JWT, which is "
            "not supported; configure the provider to return plain JSON",
        )
    if not is_json_media_type(response.media_type):
        raise OidcError(
            ErrorCode.USERINFO_ERROR,
            f"the UserInfo endpoint returned Content-Type "
            f"{response.media_type or 'none'!r}, not application/json",
        )
    claims = parse_json_object(
        response, error_code=ErrorCode.USERINFO_ERROR, purpose=_PURPOSE
    )
    if claims.get("sub") != subject:
        raise OidcError(
            ErrorCode.USERINFO_SUB_MISMATCH,
            "the UserInfo sub is not the ID token sub, so the response is about "
            "another user and was rejected",
        )
    return claims
