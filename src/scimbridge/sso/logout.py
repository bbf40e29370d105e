"""SAML Single Logout by HTTP-Redirect: the SP's LogoutRequest, and its LogoutResponse.

The SP sends a LogoutRequest when a user signs out here, and replies to the
IdP's LogoutRequest with a LogoutResponse when a user signs out at the IdP.
"""

from datetime import UTC, datetime

from lxml import etree

from scimbridge.sessions.store import Session
from scimbridge.sso.connections import SamlConnection
from scimbridge.sso.saml import names
from scimbridge.sso.saml.authn_request import new_request_id
from scimbridge.sso.saml.bindings import MAX_RELAY_STATE_BYTES, build_redirect_url
from scimbridge.sso.saml.logout_request import IdpLogoutRequest, logout_response


def logout_request_url(connection: SamlConnection, session: Session) -> str | None:
    """Return the IdP logout URL for a session, or None if the IdP has none.

    The request names the NameID and SessionIndex the IdP asserted at login,
    and is signed with the connection's SP key when it signs AuthnRequests.
    """
    slo_url = connection.idp.slo_url
    name_id = session.upstream.get("name_id")
    if not slo_url or not name_id:
        return None
    request = etree.Element(
        f"{{{names.SAMLP}}}LogoutRequest",
        nsmap={"samlp": names.SAMLP, "saml": names.SAML},
    )
    request.set("ID", new_request_id())
    request.set("Version", names.VERSION_2_0)
    request.set("IssueInstant", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    request.set("Destination", slo_url)
    issuer = etree.SubElement(request, names.ISSUER)
    issuer.text = connection.sp.entity_id
    name_id_element = etree.SubElement(request, f"{{{names.SAML}}}NameID")
    name_id_element.text = name_id
    session_index = session.upstream.get("session_index")
    if session_index:
        index = etree.SubElement(request, f"{{{names.SAMLP}}}SessionIndex")
        index.text = session_index
    return build_redirect_url(
        slo_url,
        etree.tostring(request),
        parameter="SAMLRequest",
        signing_key_pem=connection.signing_key_pem,
    )


def logout_response_url(
    connection: SamlConnection, request: IdpLogoutRequest
) -> str | None:
    """Return the IdP URL that takes the LogoutResponse, or None if it has none.

    The response is signed like the connection's AuthnRequests, and carries
    the request's signed RelayState back unless it is longer than the binding
    allows.
    """
    slo_url = connection.idp.slo_url
    if not slo_url:
        return None
    relay_state = request.relay_state
    if relay_state is not None and len(relay_state.encode()) > MAX_RELAY_STATE_BYTES:
        relay_state = None
    return build_redirect_url(
        slo_url,
        logout_response(
            request.id, destination=slo_url, issuer=connection.sp.entity_id
        ),
        parameter="SAMLResponse",
        relay_state=relay_state,
        signing_key_pem=connection.signing_key_pem,
    )
