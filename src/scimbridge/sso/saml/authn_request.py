"""AuthnRequests that start SP-initiated sign-in, sent by HTTP-Redirect."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.bindings import build_redirect_url
from scimbridge.sso.saml.config import IdpConfig, SpConfig


@dataclass(frozen=True, slots=True)
class AuthnRequest:
    """An AuthnRequest and its ID, which the Response must carry in InResponseTo.

    Store ``id`` server-side, bound to the browser session and the connection, and
    pass it to ``validate_response`` as ``expected_request_id`` exactly once.
    """

    id: str
    issue_instant: datetime
    destination: str
    xml: bytes


def new_request_id() -> str:
    """Return a random xs:ID: 160 bits, prefixed so it never starts with a digit."""
    return "_" + secrets.token_hex(20)


def build_authn_request(
    *,
    idp: IdpConfig,
    sp: SpConfig,
    now: datetime,
    name_id_format: str | None = None,
    force_authn: bool = False,
) -> AuthnRequest:
    """Build an AuthnRequest asking the IdP to POST its Response to the ACS URL."""
    if now.tzinfo is None:
        raise ValueError("now must have a time zone")
    request_id = new_request_id()
    issue_instant = now.astimezone(UTC).replace(microsecond=0)
    request = etree.Element(
        names.AUTHN_REQUEST, nsmap={"samlp": names.SAMLP, "saml": names.SAML}
    )
    request.set("ID", request_id)
    request.set("Version", names.VERSION_2_0)
    request.set("IssueInstant", issue_instant.strftime("%Y-%m-%dT%H:%M:%SZ"))
    request.set("Destination", idp.sso_url)
    request.set("AssertionConsumerServiceURL", sp.acs_url)
    request.set("ProtocolBinding", names.BINDING_POST)
    if force_authn:
        request.set("ForceAuthn", "true")
    issuer = etree.SubElement(request, names.ISSUER)
    issuer.text = sp.entity_id
    if name_id_format is not None:
        etree.SubElement(
            request, names.NAME_ID_POLICY, Format=name_id_format, AllowCreate="true"
        )
    return AuthnRequest(
        id=request_id,
        issue_instant=issue_instant,
        destination=idp.sso_url,
        xml=etree.tostring(request),
    )


def redirect_url(
    request: AuthnRequest,
    *,
    relay_state: str | None = None,
    signing_key_pem: str | None = None,
) -> str:
    """Return the IdP SSO URL that carries ``request`` (HTTP-Redirect binding).

    :param relay_state: an opaque key (at most 80 bytes) to a return target stored
        server-side, never a URL to redirect to.
    :param signing_key_pem: the SP signing key; when given, the query is signed
        with RSA-SHA256.
    """
    return build_redirect_url(
        request.destination,
        request.xml,
        parameter="SAMLRequest",
        relay_state=relay_state,
        signing_key_pem=signing_key_pem,
    )
