"""The failure of a SAML message check, with a stable code for logs and support.

Every check raises :class:`SamlError`. Its ``code`` is one of :class:`ErrorCode` and
never changes between releases, so logs, alerts and admin screens can key on it.
Its ``detail`` gives an organization's admin what to fix at the IdP or in the
connection, and never contains a key, a certificate or the message itself. The
browser of the user who signs in should get neither: show generic text and log both.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable machine codes of SAML failures."""

    # Transport encoding and XML parsing
    MESSAGE_TOO_LARGE = "saml.message_too_large"
    BASE64_INVALID = "saml.base64_invalid"
    DEFLATE_INVALID = "saml.deflate_invalid"
    XML_INVALID = "saml.xml_invalid"
    XML_TOO_DEEP = "saml.xml_too_deep"
    DOCTYPE = "saml.doctype"

    # Message structure
    NOT_A_RESPONSE = "saml.not_a_response"
    VERSION_UNSUPPORTED = "saml.version_unsupported"
    SCHEMA_INVALID = "saml.schema_invalid"
    STATUS_NOT_SUCCESS = "saml.status_not_success"
    NO_ASSERTION = "saml.no_assertion"
    MULTIPLE_ASSERTIONS = "saml.multiple_assertions"
    DUPLICATE_ID = "saml.duplicate_id"
    ID_ATTRIBUTE_INVALID = "saml.id_attribute_invalid"

    # XML Signature
    UNSIGNED = "saml.unsigned"
    ASSERTION_UNSIGNED = "saml.assertion_unsigned"
    SIGNATURE_STRUCTURE = "saml.signature_structure"
    REFERENCE_INVALID = "saml.reference_invalid"
    EMPTY_REFERENCE = "saml.empty_reference"
    TRANSFORM_REJECTED = "saml.transform_rejected"
    ALGORITHM_REJECTED = "saml.algorithm_rejected"
    SHA1_REJECTED = "saml.sha1_rejected"
    SIGNATURE_INVALID = "saml.signature_invalid"

    # XML Encryption
    ENCRYPTION_INVALID = "saml.encryption_invalid"
    ENCRYPTION_ALGORITHM_REJECTED = "saml.encryption_algorithm_rejected"
    DECRYPTION_FAILED = "saml.decryption_failed"

    # Protocol checks
    ISSUER_MISMATCH = "saml.issuer_mismatch"
    DESTINATION_MISMATCH = "saml.destination_mismatch"
    AUDIENCE_MISMATCH = "saml.audience_mismatch"
    CONDITION_UNSUPPORTED = "saml.condition_unsupported"
    TIME_INVALID = "saml.time_invalid"
    NOT_YET_VALID = "saml.not_yet_valid"
    EXPIRED = "saml.expired"
    SESSION_EXPIRED = "saml.session_expired"
    SUBJECT_INVALID = "saml.subject_invalid"
    SUBJECT_CONFIRMATION_INVALID = "saml.subject_confirmation_invalid"
    RECIPIENT_MISMATCH = "saml.recipient_mismatch"
    IN_RESPONSE_TO_MISMATCH = "saml.in_response_to_mismatch"
    UNSOLICITED = "saml.unsolicited"
    AUTHN_STATEMENT_MISSING = "saml.authn_statement_missing"
    ATTRIBUTE_INVALID = "saml.attribute_invalid"
    REPLAYED = "saml.replayed"
    VALIDITY_TOO_LONG = "saml.validity_too_long"

    # IdP metadata
    METADATA_INVALID = "saml.metadata_invalid"
    METADATA_NO_SIGNING_CERTIFICATE = "saml.metadata_no_signing_certificate"
    METADATA_INSECURE_URL = "saml.metadata_insecure_url"

    # HTTP-Redirect binding signatures
    REDIRECT_SIGNATURE_INVALID = "saml.redirect_signature_invalid"


class SamlError(Exception):
    """A SAML message or metadata failed a check; ``code`` names which."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail

    def to_dict(self) -> dict[str, str]:
        """Return the ``error`` and ``detail`` members of a JSON error object."""
        return {"error": str(self.code), "detail": self.detail}
