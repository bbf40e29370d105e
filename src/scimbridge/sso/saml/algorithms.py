"""The XML Signature and XML Encryption algorithms that scimbridge accepts.

Everything else is rejected before xmlsec runs, and the xmlsec context enables
only these, so an algorithm missing here cannot pass either layer.
"""

from typing import Final

import xmlsec

_T = xmlsec.constants

# Canonicalization (SignedInfo) and Reference transforms
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS: Final = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
C14N_10: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_11: Final = "http://www.w3.org/2006/12/xml-c14n11"
ENVELOPED_SIGNATURE: Final = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

CANONICALIZATION_METHODS: Final = {
    EXC_C14N: _T.TransformExclC14N,
    EXC_C14N_WITH_COMMENTS: _T.TransformExclC14NWithComments,
    # Inclusive canonicalization, which some older IdPs use for SignedInfo.
    C14N_10: _T.TransformInclC14N,
    C14N_11: _T.TransformInclC14N11,
}
REFERENCE_TRANSFORMS: Final = {
    ENVELOPED_SIGNATURE: _T.TransformEnveloped,
    EXC_C14N: _T.TransformExclC14N,
    EXC_C14N_WITH_COMMENTS: _T.TransformExclC14NWithComments,
}

# SignatureMethod
RSA_SHA1: Final = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"

SIGNATURE_METHODS: Final = {
    RSA_SHA256: _T.TransformRsaSha256,
    RSA_SHA384: _T.TransformRsaSha384,
    RSA_SHA512: _T.TransformRsaSha512,
    ECDSA_SHA256: _T.TransformEcdsaSha256,
    ECDSA_SHA384: _T.TransformEcdsaSha384,
}
# NOTE: RSA-PSS (xmldsig-more#sha256-rsa-MGF1) is not accepted: python-xmlsec
# 1.3.17 has no transform constant for it, so it cannot be enabled in a context
# that is restricted to the algorithms above.
SHA1_SIGNATURE_METHODS: Final = {RSA_SHA1: _T.TransformRsaSha1}

# DigestMethod
SHA1: Final = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"

DIGEST_METHODS: Final = {
    SHA256: _T.TransformSha256,
    SHA384: _T.TransformSha384,
    SHA512: _T.TransformSha512,
}
SHA1_DIGEST_METHODS: Final = {SHA1: _T.TransformSha1}

# XML Encryption: key transport
RSA_OAEP_MGF1P: Final = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
RSA_OAEP: Final = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
RSA_1_5: Final = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
KEY_TRANSPORT_METHODS: Final = frozenset({RSA_OAEP_MGF1P, RSA_OAEP})

# The OAEP digest (DigestMethod) and mask generation function (xenc11:MGF) names.
OAEP_DIGESTS: Final = {
    SHA1: "sha1",
    SHA256: "sha256",
    SHA384: "sha384",
    SHA512: "sha512",
}
MGF1_DIGESTS: Final = {
    "http://www.w3.org/2009/xmlenc11#mgf1sha1": "sha1",
    "http://www.w3.org/2009/xmlenc11#mgf1sha256": "sha256",
    "http://www.w3.org/2009/xmlenc11#mgf1sha384": "sha384",
    "http://www.w3.org/2009/xmlenc11#mgf1sha512": "sha512",
}

# XML Encryption: content, as (key size in bytes, mode)
AES128_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
AES256_CBC: Final = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
AES128_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
AES256_GCM: Final = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
CONTENT_METHODS: Final = {
    AES128_CBC: (16, "cbc"),
    AES256_CBC: (32, "cbc"),
    AES128_GCM: (16, "gcm"),
    AES256_GCM: (32, "gcm"),
}


def is_hmac(uri: str) -> bool:
    """Return whether a SignatureMethod URI names an HMAC, which is always rejected.

    An HMAC "signature" is keyed with a shared secret, and an SP that accepted one
    could be made to use public data, such as its own copy of the IdP certificate,
    as the secret.
    """
    return "hmac" in uri.lower()
