"""OpenID Connect relying party: scimbridge signs users in at their organization's IdP.

Each organization connection is one :class:`OidcConnection`. Discovery runs
when the connection is set up and pins the provider's endpoints in
:class:`ProviderMetadata`; :class:`OidcRelyingParty` then runs the
authorization code flow with PKCE and returns an :class:`OidcLogin`. Every
failure is an :class:`OidcError` with a stable code.
"""

from scimbridge.sso.oidc.discovery import ProviderMetadata, discover
from scimbridge.sso.oidc.errors import ErrorCode, OidcError
from scimbridge.sso.oidc.fetch import ProviderHttp
from scimbridge.sso.oidc.flow import (
    AuthorizationRequest,
    OidcRelyingParty,
    build_authorization_request,
    check_callback,
    parse_callback_query,
)
from scimbridge.sso.oidc.id_token import IdTokenValidator, OidcLogin
from scimbridge.sso.oidc.jose import ALLOWED_ALGORITHMS, SigningKey
from scimbridge.sso.oidc.jwks import JwksCache
from scimbridge.sso.oidc.pending import (
    OneTimeStore,
    PendingLogin,
    save_pending_login,
    take_pending_login,
)
from scimbridge.sso.oidc.settings import (
    ClientSecretBasic,
    ClientSecretPost,
    OidcConnection,
    OidcSettings,
    PrivateKeyJwt,
)
from scimbridge.sso.oidc.token_endpoint import TokenResponse, exchange_code
from scimbridge.sso.oidc.urls import Resolver, resolve_host
from scimbridge.sso.oidc.userinfo import fetch_userinfo

__all__ = [
    "ALLOWED_ALGORITHMS",
    "AuthorizationRequest",
    "ClientSecretBasic",
    "ClientSecretPost",
    "ErrorCode",
    "IdTokenValidator",
    "JwksCache",
    "OidcConnection",
    "OidcError",
    "OidcLogin",
    "OidcRelyingParty",
    "OidcSettings",
    "OneTimeStore",
    "PendingLogin",
    "PrivateKeyJwt",
    "ProviderHttp",
    "ProviderMetadata",
    "Resolver",
    "SigningKey",
    "TokenResponse",
    "build_authorization_request",
    "check_callback",
    "discover",
    "exchange_code",
    "fetch_userinfo",
    "parse_callback_query",
    "resolve_host",
    "save_pending_login",
    "take_pending_login",
]
