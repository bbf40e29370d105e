"""OpenID Provider discovery, validated once when a connection is set up.

Run :func:`discover` when an admin saves a connection and on a schedule, store
the resulting :class:`ProviderMetadata`, and use only its endpoints afterwards:
a login never reads URLs from anywhere else. Every failure raises OidcError
with ``oidc.discovery_invalid`` and a detail the admin can act on.
"""

from dataclasses import dataclass
from typing import Any

from scimbridge.sso.oidc.errors import ErrorCode, OidcError, quote_value
from scimbridge.sso.oidc.fetch import ProviderHttp, parse_json_object
from scimbridge.sso.oidc.settings import OidcConnection, PrivateKeyJwt
from scimbridge.sso.oidc.urls import (
    Origin,
    UnsafeUrl,
    check_public_host,
    origin_of,
    parse_provider_url,
)

WELL_KNOWN_PATH = "/.well-known/openid-configuration"
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The validated, pinned parts of a provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    id_token_algorithms: frozenset[str]
    """Algorithms both the provider and the connection allow for ID tokens."""
    token_endpoint_auth_methods: frozenset[str]
    iss_parameter_supported: bool
    """``authorization_response_iss_parameter_supported`` (RFC 9207 section 3)."""
    end_session_endpoint: str | None = None
    """Where RP-initiated logout sends the browser (OpenID Connect RP-Initiated
    Logout 1.0), when the provider has one."""


def _invalid(detail: str) -> OidcError:
    return OidcError(ErrorCode.DISCOVERY_INVALID, detail)


async def discover(http: ProviderHttp, connection: OidcConnection) -> ProviderMetadata:
    """Fetch ``{issuer}/.well-known/openid-configuration`` and validate it.

    The document's ``issuer`` must equal the configured issuer exactly, and
    every endpoint must be on the issuer's origin (or on a host in
    ``extra_endpoint_hosts``), use https and resolve to public addresses.
    """
    issuer = connection.issuer
    _check_issuer_url(issuer, http.settings.allow_loopback_http)

    # OpenID Connect Discovery 1.0 section 4: remove a terminating "/" from
    # the issuer before appending the well-known path.
    url = issuer.rstrip("/") + WELL_KNOWN_PATH
    response = await http.request(
        "GET",
        url,
        error_code=ErrorCode.DISCOVERY_INVALID,
        purpose="discovery request",
        headers={"Accept": "application/json"},
    )
    if response.status_code != 200:
        raise _invalid(
            f"discovery request to {url} returned HTTP {response.status_code}"
        )
    document = parse_json_object(
        response, error_code=ErrorCode.DISCOVERY_INVALID, purpose="discovery request"
    )

    if document.get("issuer") != issuer:
        raise _invalid(
            f"the discovery document at {url} names issuer "
            f"{quote_value(document.get('issuer'))}, but the connection is configured "
            f"with {issuer!r}; they must be equal, character for character"
        )
    endpoints = await _check_endpoints(http, connection, document)
    _check_code_flow(document)
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"],
        token_endpoint=endpoints["token_endpoint"],
        jwks_uri=endpoints["jwks_uri"],
        userinfo_endpoint=endpoints.get("userinfo_endpoint"),
        end_session_endpoint=endpoints.get("end_session_endpoint"),
        id_token_algorithms=_id_token_algorithms(connection, document),
        token_endpoint_auth_methods=_auth_methods(connection, document),
        iss_parameter_supported=_iss_parameter_supported(document),
    )


def _check_issuer_url(issuer: str, allow_loopback_http: bool) -> None:
    try:
        parsed = parse_provider_url(issuer, allow_loopback_http=allow_loopback_http)
    except UnsafeUrl as error:
        raise _invalid(f"issuer rejected: {error}") from None
    if parsed.query:
        raise _invalid(f"issuer {issuer!r} must not contain a query")


async def _check_endpoints(
    http: ProviderHttp, connection: OidcConnection, document: dict[str, Any]
) -> dict[str, str]:
    names = list(_ENDPOINTS)
    if connection.fetch_userinfo or "userinfo_endpoint" in document:
        names.append("userinfo_endpoint")
    if "end_session_endpoint" in document:
        # RP-initiated logout sends the browser here, so it gets the same
        # origin and https rules as every other endpoint.
        names.append("end_session_endpoint")

    allow_loopback_http = http.settings.allow_loopback_http
    issuer_origin = origin_of(
        parse_provider_url(connection.issuer, allow_loopback_http=allow_loopback_http)
    )
    endpoints: dict[str, str] = {}
    for name in names:
        value = document.get(name)
        if not isinstance(value, str) or not value:
            raise _invalid(f"the discovery document has no {name}")
        try:
            parsed = parse_provider_url(value, allow_loopback_http=allow_loopback_http)
        except UnsafeUrl as error:
            raise _invalid(f"{name} rejected: {error}") from None

        origin = origin_of(parsed)
        if origin != issuer_origin:
            if origin.host not in connection.extra_endpoint_hosts:
                raise _invalid(
                    f"{name} {value!r} is not on the issuer's origin "
                    f"{_origin_text(issuer_origin)}; "
                    "add its host to the connection's extra endpoint hosts only if "
                    "the provider documents it"
                )
            try:
                await check_public_host(
                    parsed, http.resolver, allow_loopback_http=allow_loopback_http
                )
            except UnsafeUrl as error:
                raise _invalid(f"{name} rejected: {error}") from None
        endpoints[name] = value
    return endpoints


def _origin_text(origin: Origin) -> str:
    return f"{origin.scheme}://{origin.host}:{origin.port}"


def _string_set(document: dict[str, Any], name: str) -> frozenset[str] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(f"{name} in the discovery document is not a list of strings")
    return frozenset(value)


def _check_code_flow(document: dict[str, Any]) -> None:
    response_types = _string_set(document, "response_types_supported") or frozenset()
    if "code" not in response_types:
        raise _invalid("response_types_supported does not include 'code'")

    challenge_methods = _string_set(document, "code_challenge_methods_supported")
    if challenge_methods is not None and "S256" not in challenge_methods:
        raise _invalid(
            "code_challenge_methods_supported does not include 'S256', and "
            "scimbridge always sends a PKCE S256 challenge"
        )


def _id_token_algorithms(
    connection: OidcConnection, document: dict[str, Any]
) -> frozenset[str]:
    offered = _string_set(document, "id_token_signing_alg_values_supported")
    if offered is None:
        raise _invalid(
            "the discovery document has no id_token_signing_alg_values_supported"
        )
    usable = offered & connection.algorithms
    if not usable:
        raise _invalid(
            f"the provider signs ID tokens with {sorted(offered)}, and the connection "
            f"allows only {sorted(connection.algorithms)}; configure the provider "
            "to sign with one of the allowed algorithms"
        )
    return usable


def _auth_methods(
    connection: OidcConnection, document: dict[str, Any]
) -> frozenset[str]:
    # OpenID Connect Discovery 1.0 section 3: the default is client_secret_basic.
    methods = _string_set(document, "token_endpoint_auth_methods_supported")
    if methods is None:
        methods = frozenset({"client_secret_basic"})
    method = connection.client_auth.method
    if method not in methods:
        raise _invalid(
            f"the token endpoint supports {sorted(methods)}, not the connection's "
            f"client authentication method {method!r}"
        )

    auth = connection.client_auth
    if isinstance(auth, PrivateKeyJwt):
        signing_algs = _string_set(
            document, "token_endpoint_auth_signing_alg_values_supported"
        )
        if signing_algs is not None and auth.signing_key.alg not in signing_algs:
            raise _invalid(
                f"the token endpoint accepts client assertions signed with "
                f"{sorted(signing_algs)}, not {auth.signing_key.alg}"
            )
    return methods


def _iss_parameter_supported(document: dict[str, Any]) -> bool:
    value = document.get("authorization_response_iss_parameter_supported", False)
    if not isinstance(value, bool):
        raise _invalid(
            "authorization_response_iss_parameter_supported is not a boolean"
        )
    return value
