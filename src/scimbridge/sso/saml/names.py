"""Namespace URIs, element names and fixed URIs of SAML 2.0, XML Signature and XML
Encryption.

Tags are in lxml's Clark notation (``{namespace-uri}local-name``), so elements are
matched by namespace URI and local name whatever prefix a message uses.
"""

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def tag(namespace: str, local_name: str) -> str:
    """Return the Clark-notation tag of ``local_name`` in ``namespace``."""
    return f"{{{namespace}}}{local_name}"


# samlp: protocol messages
RESPONSE = tag(SAMLP, "Response")
STATUS = tag(SAMLP, "Status")
STATUS_CODE = tag(SAMLP, "StatusCode")
STATUS_MESSAGE = tag(SAMLP, "StatusMessage")
EXTENSIONS = tag(SAMLP, "Extensions")
AUTHN_REQUEST = tag(SAMLP, "AuthnRequest")
NAME_ID_POLICY = tag(SAMLP, "NameIDPolicy")

# saml: assertions
ISSUER = tag(SAML, "Issuer")
ASSERTION = tag(SAML, "Assertion")
ENCRYPTED_ASSERTION = tag(SAML, "EncryptedAssertion")
SUBJECT = tag(SAML, "Subject")
NAME_ID = tag(SAML, "NameID")
BASE_ID = tag(SAML, "BaseID")
ENCRYPTED_ID = tag(SAML, "EncryptedID")
SUBJECT_CONFIRMATION = tag(SAML, "SubjectConfirmation")
SUBJECT_CONFIRMATION_DATA = tag(SAML, "SubjectConfirmationData")
CONDITIONS = tag(SAML, "Conditions")
AUDIENCE_RESTRICTION = tag(SAML, "AudienceRestriction")
AUDIENCE = tag(SAML, "Audience")
ONE_TIME_USE = tag(SAML, "OneTimeUse")
PROXY_RESTRICTION = tag(SAML, "ProxyRestriction")
AUTHN_STATEMENT = tag(SAML, "AuthnStatement")
ATTRIBUTE_STATEMENT = tag(SAML, "AttributeStatement")
ATTRIBUTE = tag(SAML, "Attribute")
ATTRIBUTE_VALUE = tag(SAML, "AttributeValue")
ENCRYPTED_ATTRIBUTE = tag(SAML, "EncryptedAttribute")

# md: metadata
ENTITY_DESCRIPTOR = tag(MD, "EntityDescriptor")
ENTITIES_DESCRIPTOR = tag(MD, "EntitiesDescriptor")
IDP_SSO_DESCRIPTOR = tag(MD, "IDPSSODescriptor")
SP_SSO_DESCRIPTOR = tag(MD, "SPSSODescriptor")
KEY_DESCRIPTOR = tag(MD, "KeyDescriptor")
SINGLE_SIGN_ON_SERVICE = tag(MD, "SingleSignOnService")
SINGLE_LOGOUT_SERVICE = tag(MD, "SingleLogoutService")
ASSERTION_CONSUMER_SERVICE = tag(MD, "AssertionConsumerService")
NAME_ID_FORMAT = tag(MD, "NameIDFormat")

# ds: XML Signature
SIGNATURE = tag(DS, "Signature")
SIGNED_INFO = tag(DS, "SignedInfo")
CANONICALIZATION_METHOD = tag(DS, "CanonicalizationMethod")
SIGNATURE_METHOD = tag(DS, "SignatureMethod")
REFERENCE = tag(DS, "Reference")
TRANSFORMS = tag(DS, "Transforms")
TRANSFORM = tag(DS, "Transform")
DIGEST_METHOD = tag(DS, "DigestMethod")
DIGEST_VALUE = tag(DS, "DigestValue")
SIGNATURE_VALUE = tag(DS, "SignatureValue")
KEY_INFO = tag(DS, "KeyInfo")
KEY_NAME = tag(DS, "KeyName")
RETRIEVAL_METHOD = tag(DS, "RetrievalMethod")
X509_DATA = tag(DS, "X509Data")
X509_CERTIFICATE = tag(DS, "X509Certificate")
OBJECT = tag(DS, "Object")
MANIFEST = tag(DS, "Manifest")
INCLUSIVE_NAMESPACES = tag(EXC_C14N, "InclusiveNamespaces")

# xenc: XML Encryption
ENCRYPTED_DATA = tag(XENC, "EncryptedData")
ENCRYPTED_KEY = tag(XENC, "EncryptedKey")
ENCRYPTION_METHOD = tag(XENC, "EncryptionMethod")
CIPHER_DATA = tag(XENC, "CipherData")
CIPHER_VALUE = tag(XENC, "CipherValue")
OAEP_PARAMS = tag(XENC, "OAEPparams")
MGF = tag(XENC11, "MGF")

# Fixed URIs
VERSION_2_0 = "2.0"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
PROTOCOL_SUPPORT = SAMLP
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
BINDING_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
ENCRYPTED_ELEMENT_TYPE = "http://www.w3.org/2001/04/xmlenc#Element"
ENCRYPTED_KEY_TYPE = "http://www.w3.org/2001/04/xmlenc#EncryptedKey"
