"""A SAML 2.0 IdP for trying scimbridge on one machine, with no real IdP at hand.

For development only: it signs in anyone who types an email address. It
serves its metadata, receives AuthnRequests over HTTP-Redirect, and posts a
Response whose Assertion it signs (RSA-SHA256, exclusive c14n) with a key
and self-signed certificate made at start-up, so the metadata changes on
each start::

    uvicorn --factory examples.dev_idp:from_environment --port 8002
    curl -s http://127.0.0.1:8002/metadata > dev-idp.xml
    scimbridge connection add-saml acme --metadata dev-idp.xml
"""

import base64
import os
import secrets
import zlib
from datetime import UTC, datetime, timedelta
from html import escape

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, Response
from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _key_and_certificate() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scimbridge dev IdP")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def _instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _element(
    parent: etree._Element, namespace: str, tag: str, **attributes: str
) -> etree._Element:
    return etree.SubElement(parent, f"{{{namespace}}}{tag}", attributes)


def create_app(url: str) -> FastAPI:
    """Build the IdP, where ``url`` is the address browsers and scimbridge use."""
    app = FastAPI()
    key_pem, certificate_pem = _key_and_certificate()
    certificate_b64 = "".join(
        line for line in certificate_pem.decode().splitlines() if "-----" not in line
    )
    entity_id = f"{url}/metadata"

    @app.get("/metadata")
    async def metadata() -> Response:
        document = f"""<md:EntityDescriptor xmlns:md="{MD}" entityID="{entity_id}">
  <md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{DS}"><ds:X509Data>
      <ds:X509Certificate>{certificate_b64}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>{EMAIL_FORMAT}</md:NameIDFormat>
    <md:SingleSignOnService Location="{url}/sso"
      Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""
        return Response(document, media_type="application/samlmetadata+xml")

    @app.get("/sso")
    async def single_sign_on(SAMLRequest: str, RelayState: str = "") -> Response:  # noqa: N803
        inflated = zlib.decompress(base64.b64decode(SAMLRequest), -15)
        request = etree.fromstring(inflated, PARSER)
        issuer = request.findtext(f"{{{SAML}}}Issuer") or ""
        fields = {
            "request_id": request.get("ID", ""),
            "acs_url": request.get("AssertionConsumerServiceURL", ""),
            "audience": issuer,
            "relay_state": RelayState,
        }
        hidden = "".join(
            f'<input type=hidden name="{name}" value="{escape(value, quote=True)}">'
            for name, value in fields.items()
        )
        return HTMLResponse(
            "<!doctype html><title>Dev IdP</title><h1>Development IdP</h1>"
            f"<p>Sign in to {escape(issuer)} as:</p>"
            f'<form method=post action="{url}/sso/login">{hidden}'
            "<input type=email name=email required placeholder=jane.doe@acme.example>"
            " <button>Sign in</button></form>"
        )

    @app.post("/sso/login")
    async def sign_in(
        email: str = Form(),
        request_id: str = Form(),
        acs_url: str = Form(),
        audience: str = Form(),
        relay_state: str = Form(""),
    ) -> Response:
        response = _signed_response(
            key_pem, entity_id, email, request_id, acs_url, audience
        )
        encoded = base64.b64encode(response).decode()
        relay = escape(relay_state, quote=True)
        return HTMLResponse(
            "<!doctype html><body onload=document.forms[0].submit()>"
            f'<form method=post action="{escape(acs_url, quote=True)}">'
            f'<input type=hidden name=SAMLResponse value="{encoded}">'
            f'<input type=hidden name=RelayState value="{relay}">'
            "<noscript><button>Continue</button></noscript></form>"
        )

    return app


def _signed_response(
    key_pem: bytes,
    issuer: str,
    email: str,
    request_id: str,
    acs_url: str,
    audience: str,
) -> bytes:
    now = datetime.now(UTC)
    response = etree.Element(
        f"{{{SAMLP}}}Response",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID="_" + secrets.token_hex(20),
        Version="2.0",
        IssueInstant=_instant(now),
        Destination=acs_url,
        InResponseTo=request_id,
    )
    _element(response, SAML, "Issuer").text = issuer
    status = _element(response, SAMLP, "Status")
    _element(
        status, SAMLP, "StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:Success"
    )

    assertion = _element(
        response,
        SAML,
        "Assertion",
        ID="_" + secrets.token_hex(20),
        Version="2.0",
        IssueInstant=_instant(now),
    )
    _element(assertion, SAML, "Issuer").text = issuer
    subject = _element(assertion, SAML, "Subject")
    _element(subject, SAML, "NameID", Format=EMAIL_FORMAT).text = email
    confirmation = _element(
        subject,
        SAML,
        "SubjectConfirmation",
        Method="urn:oasis:names:tc:SAML:2.0:cm:bearer",
    )
    _element(
        confirmation,
        SAML,
        "SubjectConfirmationData",
        InResponseTo=request_id,
        Recipient=acs_url,
        NotOnOrAfter=_instant(now + timedelta(minutes=5)),
    )
    conditions = _element(
        assertion,
        SAML,
        "Conditions",
        NotBefore=_instant(now - timedelta(minutes=1)),
        NotOnOrAfter=_instant(now + timedelta(minutes=5)),
    )
    restriction = _element(conditions, SAML, "AudienceRestriction")
    _element(restriction, SAML, "Audience").text = audience
    statement = _element(
        assertion,
        SAML,
        "AuthnStatement",
        AuthnInstant=_instant(now),
        SessionIndex="_" + secrets.token_hex(8),
    )
    context = _element(statement, SAML, "AuthnContext")
    _element(
        context, SAML, "AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    attributes = _element(assertion, SAML, "AttributeStatement")
    attribute = _element(attributes, SAML, "Attribute", Name="email")
    _element(attribute, SAML, "AttributeValue").text = email

    # The Signature goes right after the Assertion's Issuer (SAML core 2.3.3).
    signature = xmlsec.template.create(
        assertion,
        xmlsec.constants.TransformExclC14N,
        xmlsec.constants.TransformRsaSha256,
    )
    assertion.insert(1, signature)
    reference = xmlsec.template.add_reference(
        signature, xmlsec.constants.TransformSha256, uri=f"#{assertion.get('ID')}"
    )
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    xmlsec.tree.add_ids(response, ["ID"])
    signer = xmlsec.SignatureContext()
    signer.key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    signer.sign(signature)
    return bytes(etree.tostring(response))


def from_environment() -> FastAPI:
    return create_app(os.environ.get("DEV_IDP_URL", "http://127.0.0.1:8002"))
