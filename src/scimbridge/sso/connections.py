"""Stored connections turned into SAML and OIDC configurations, and created from input.

A connection row keeps the IdP's settings and scimbridge's own keys. This
module builds the typed configuration each protocol package validates with.
It derives every scimbridge URL (SP entity id, ACS, redirect URI) from the
public URL and the connection's ids.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import SecretStr

from scimbridge.directory.access import Connection, ConnectionKind
from scimbridge.directory.errors import InvalidRecord
from scimbridge.directory.ids import new_id
from scimbridge.directory.signin import SignIn
from scimbridge.sso.oidc.discovery import discover
from scimbridge.sso.oidc.errors import ErrorCode as OidcErrorCode
from scimbridge.sso.oidc.errors import OidcError
from scimbridge.sso.oidc.fetch import ProviderHttp
from scimbridge.sso.oidc.jose import SigningKey
from scimbridge.sso.oidc.settings import (
    ClientAuth,
    ClientSecretBasic,
    ClientSecretPost,
    OidcConnection,
    PrivateKeyJwt,
)
from scimbridge.sso.saml.config import IdpConfig, SpConfig
from scimbridge.sso.saml.errors import ErrorCode as SamlErrorCode
from scimbridge.sso.saml.errors import SamlError
from scimbridge.sso.saml.keys import generate_sp_key_pair
from scimbridge.sso.saml.metadata import build_sp_metadata, parse_idp_metadata

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True, slots=True)
class SamlConnection:
    """Everything the SAML endpoints of one connection need."""

    record: Connection
    idp: IdpConfig
    sp: SpConfig
    sp_certificates: tuple[str, ...]
    signing_key_pem: str | None
    allow_idp_initiated: bool
    slo_url: str


def saml_paths(base_url: str, org_id: UUID, connection_id: UUID) -> dict[str, str]:
    root = f"{base_url}/sso/saml/{org_id}/{connection_id}"
    return {
        "entity_id": f"{root}/metadata",
        "acs_url": f"{root}/acs",
        "slo_url": f"{root}/slo",
        "metadata_url": f"{root}/metadata",
    }


def oidc_redirect_uri(base_url: str, org_id: UUID, connection_id: UUID) -> str:
    return f"{base_url}/sso/oidc/{org_id}/{connection_id}/callback"


def saml_connection(record: Connection, base_url: str) -> SamlConnection:
    """Build the IdP and SP configuration of a SAML connection record."""
    if record.kind is not ConnectionKind.saml:
        raise InvalidRecord(f"connection {record.id} is not a SAML connection")
    idp_settings = record.settings["idp"]
    paths = saml_paths(base_url, record.org_id, record.id)
    keys = list(record.secrets.get("sp_private_keys", []))
    idp = IdpConfig(
        entity_id=idp_settings["entity_id"],
        sso_url=idp_settings["sso_url"],
        signing_certificates=idp_settings["signing_certificates"],
        slo_url=idp_settings.get("slo_url"),
        allow_sha1=bool(idp_settings.get("allow_sha1", False)),
        require_signed_assertion=bool(
            idp_settings.get("require_signed_assertion", False)
        ),
    )
    sp = SpConfig(
        entity_id=record.settings.get("sp_entity_id") or paths["entity_id"],
        acs_url=paths["acs_url"],
        decryption_keys=keys,
    )
    return SamlConnection(
        record=record,
        idp=idp,
        sp=sp,
        sp_certificates=tuple(record.settings.get("sp_certificates", [])),
        signing_key_pem=keys[0]
        if keys and record.settings.get("sign_requests")
        else None,
        allow_idp_initiated=bool(record.settings.get("allow_idp_initiated", False)),
        slo_url=paths["slo_url"],
    )


def sp_metadata(connection: SamlConnection) -> bytes:
    return build_sp_metadata(
        entity_id=connection.sp.entity_id,
        acs_url=connection.sp.acs_url,
        certificates=connection.sp_certificates,
        slo_url=connection.slo_url,
        authn_requests_signed=connection.signing_key_pem is not None,
    )


def oidc_connection(record: Connection, base_url: str) -> OidcConnection:
    """Build the relying party configuration of an OIDC connection record."""
    if record.kind is not ConnectionKind.oidc:
        raise InvalidRecord(f"connection {record.id} is not an OIDC connection")
    settings = record.settings
    return OidcConnection(
        connection_id=str(record.id),
        issuer=settings["issuer"],
        client_id=settings["client_id"],
        client_auth=_client_auth(settings.get("auth_method"), record.secrets),
        redirect_uri=oidc_redirect_uri(base_url, record.org_id, record.id),
        extra_scopes=tuple(settings.get("extra_scopes", [])),
        fetch_userinfo=bool(settings.get("fetch_userinfo", False)),
        groups_claim=settings.get("groups_claim", "groups"),
    )


def _client_auth(method: str | None, secrets: dict[str, Any]) -> ClientAuth:
    if method == "private_key_jwt":
        key = SigningKey(
            secrets["private_key_pem"],
            alg=secrets.get("private_key_alg", "RS256"),
            kid=secrets.get("private_key_kid"),
        )
        return PrivateKeyJwt(signing_key=key)
    secret = SecretStr(secrets.get("client_secret", ""))
    if method == "client_secret_post":
        return ClientSecretPost(client_secret=secret)
    return ClientSecretBasic(client_secret=secret)


async def fetch_idp_metadata(http: ProviderHttp, url: str) -> bytes:
    """Fetch IdP metadata from ``url`` with the hardened back-channel client.

    The same rules as OIDC discovery apply: https only (loopback http only with
    the development setting), no private addresses, no redirects, a size limit.
    """
    try:
        response = await http.request(
            "GET",
            url,
            error_code=OidcErrorCode.DISCOVERY_INVALID,
            purpose="IdP metadata",
        )
    except OidcError as exc:
        raise SamlError(SamlErrorCode.METADATA_INVALID, exc.detail) from exc
    if response.status_code != 200:
        raise SamlError(
            SamlErrorCode.METADATA_INVALID,
            f"the metadata URL answered HTTP {response.status_code}",
        )
    return response.body


async def create_saml_connection(
    signin: SignIn,
    org_id: UUID,
    *,
    name: str,
    metadata_xml: bytes,
    base_url: str,
    allow_idp_initiated: bool = False,
    sign_requests: bool = False,
    allow_sha1: bool = False,
    require_signed_assertion: bool = False,
    allow_http: bool = False,
) -> Connection:
    """Import IdP metadata and create a SAML connection with fresh SP keys.

    Two SP key pairs are generated: the current one signs and decrypts, and
    the next one is published in SP metadata ahead of a rollover.
    """
    idp = parse_idp_metadata(
        metadata_xml,
        allow_http=allow_http,
        allow_sha1=allow_sha1,
        require_signed_assertion=require_signed_assertion,
    )
    connection_id = new_id()
    paths = saml_paths(base_url, org_id, connection_id)
    # X.509 limits a common name to 64 characters, so it names the id only.
    common_name = f"scimbridge SP {connection_id}"
    current = generate_sp_key_pair(common_name)
    upcoming = generate_sp_key_pair(common_name)
    settings = {
        "idp": {
            "entity_id": idp.entity_id,
            "sso_url": idp.sso_url,
            "slo_url": idp.slo_url,
            "signing_certificates": list(idp.signing_certificates),
            "allow_sha1": idp.allow_sha1,
            "require_signed_assertion": idp.require_signed_assertion,
        },
        # Pinned at creation: the IdP is configured with this entity id.
        "sp_entity_id": paths["entity_id"],
        "allow_idp_initiated": allow_idp_initiated,
        "sign_requests": sign_requests,
        "sp_certificates": [current.certificate_pem, upcoming.certificate_pem],
    }
    secrets = {"sp_private_keys": [current.private_key_pem, upcoming.private_key_pem]}
    return await signin.add_connection(
        org_id,
        ConnectionKind.saml,
        name,
        settings,
        secrets,
        connection_id=connection_id,
    )


async def create_oidc_connection(
    signin: SignIn,
    http: ProviderHttp,
    org_id: UUID,
    *,
    name: str,
    issuer: str,
    client_id: str,
    base_url: str,
    client_secret: str | None = None,
    auth_method: str = "client_secret_basic",
    private_key_pem: str | None = None,
    fetch_userinfo: bool = False,
    groups_claim: str = "groups",
) -> Connection:
    """Validate the issuer's discovery document, then create the connection."""
    if auth_method not in CLIENT_AUTH_METHODS:
        raise InvalidRecord(
            f"invalid client authentication {auth_method!r}: use one of "
            + ", ".join(CLIENT_AUTH_METHODS)
        )
    secrets: dict[str, Any] = {}
    if auth_method == "private_key_jwt":
        if not private_key_pem:
            raise InvalidRecord("private_key_jwt needs a private key")
        secrets["private_key_pem"] = private_key_pem
    else:
        if not client_secret:
            raise InvalidRecord(f"{auth_method} needs a client secret")
        secrets["client_secret"] = client_secret
    settings = {
        "issuer": issuer,
        "client_id": client_id,
        "auth_method": auth_method,
        "fetch_userinfo": fetch_userinfo,
        "groups_claim": groups_claim,
    }
    connection_id = new_id()
    probe = Connection(
        org_id=org_id,
        id=connection_id,
        kind=ConnectionKind.oidc,
        name=name,
        enabled=True,
        settings=settings,
        secrets=secrets,
        created_at=EPOCH,
        updated_at=EPOCH,
    )
    await discover(http, oidc_connection(probe, base_url))
    return await signin.add_connection(
        org_id,
        ConnectionKind.oidc,
        name,
        settings,
        secrets,
        connection_id=connection_id,
    )


def public_view(connection: Connection, base_url: str) -> dict[str, Any]:
    """Return the public view of a connection: no secret, every URL the IdP needs."""
    view: dict[str, Any] = {
        "id": str(connection.id),
        "org_id": str(connection.org_id),
        "kind": connection.kind.value,
        "name": connection.name,
        "enabled": connection.enabled,
        "created_at": connection.created_at.isoformat(),
    }
    if connection.kind is ConnectionKind.saml:
        paths = saml_paths(base_url, connection.org_id, connection.id)
        view["sp_entity_id"] = (
            connection.settings.get("sp_entity_id") or paths["entity_id"]
        )
        view["acs_url"] = paths["acs_url"]
        view["metadata_url"] = paths["metadata_url"]
        view["idp_entity_id"] = connection.settings["idp"]["entity_id"]
        view["allow_idp_initiated"] = connection.settings.get(
            "allow_idp_initiated", False
        )
    else:
        view["issuer"] = connection.settings["issuer"]
        view["client_id"] = connection.settings["client_id"]
        view["auth_method"] = connection.settings.get("auth_method")
        view["redirect_uri"] = oidc_redirect_uri(
            base_url, connection.org_id, connection.id
        )
        view["post_logout_redirect_uri"] = f"{base_url}/sso/logged-out"
    return view
