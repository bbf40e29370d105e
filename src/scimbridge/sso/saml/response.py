"""Validation of a SAML Response at the AssertionConsumerService, as named steps.

:func:`validate_response` parses the message once and runs each check on that one
tree, in the order below. Checks before the signature steps only reject; claims
are read only from the Assertion that :func:`trusted_assertion` takes from a
verified signature. Outer Response attributes (Destination, InResponseTo, Status)
are unauthenticated when only the Assertion is signed, so they may reject a
message but never make one acceptable.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from scimbridge.sso.saml import assertion as checks
from scimbridge.sso.saml import names
from scimbridge.sso.saml.config import IdpConfig, SpConfig
from scimbridge.sso.saml.encryption import decrypt_assertion
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.replay import ReplayGuard
from scimbridge.sso.saml.signature import (
    IdAttributes,
    VerifiedSignature,
    find_id_attributes,
    signature_child,
    verify_signature,
)
from scimbridge.sso.saml.times import require_time
from scimbridge.sso.saml.xml import (
    DEFAULT_LIMITS,
    Children,
    XmlLimits,
    decode_post_message,
    find_child,
    parse_xml,
    require_attribute,
    require_child,
    text_content,
)

StepHook = Callable[[str, bool, SamlError | None], None]
"""Called after each step with its name, whether it passed, and its error."""

MAX_ASSERTION_LIFETIME = timedelta(hours=24)
"""Maximum time an assertion may stay valid after it arrives.

Its ID is remembered until it expires, and a replay store keeps IDs for a
bounded time only, so an assertion valid for longer is rejected.
"""

# Elements whose number the document-wide structure check controls: one assertion,
# and signature parts only inside the Signatures of the Response and the Assertion.
_COUNTED = (
    names.ASSERTION,
    names.ENCRYPTED_ASSERTION,
    names.SIGNATURE,
    names.SIGNED_INFO,
    names.SIGNATURE_VALUE,
    names.REFERENCE,
    names.DIGEST_VALUE,
    names.OBJECT,
    names.MANIFEST,
)
_SIGNATURE_PARTS = (
    names.SIGNATURE,
    names.SIGNED_INFO,
    names.SIGNATURE_VALUE,
    names.REFERENCE,
    names.DIGEST_VALUE,
)


@dataclass(frozen=True, slots=True)
class SamlLogin:
    """The identity that a valid Response asserts, read from its verified Assertion."""

    issuer: str
    name_id: str
    name_id_format: str | None
    attributes: dict[str, list[str]]
    session_index: str | None
    session_not_on_or_after: datetime | None
    assertion_id: str
    authn_instant: datetime


class _Steps:
    """Names the step in progress and reports each one to the hook, if any.

    Each step starts with :meth:`begin`, which reports the one before it as
    passed. Without a hook that is one attribute store, so no step pays for a
    wrapper call.
    """

    __slots__ = ("_on_step", "current")

    def __init__(self, on_step: StepHook | None) -> None:
        self._on_step = on_step
        self.current = ""

    def begin(self, name: str) -> None:
        if self._on_step is not None and self.current:
            self._on_step(self.current, True, None)
        self.current = name

    def passed(self) -> None:
        """Report the last step as passed."""
        if self._on_step is not None and self.current:
            self._on_step(self.current, True, None)
        self.current = ""

    def failed(self, error: SamlError) -> None:
        """Report the step in progress as failed with ``error``."""
        if self._on_step is not None and self.current:
            self._on_step(self.current, False, error)
        self.current = ""


def validate_response(
    message: bytes | str,
    *,
    idp: IdpConfig,
    sp: SpConfig,
    now: datetime,
    expected_request_id: str | None,
    allow_idp_initiated: bool,
    replay: ReplayGuard,
    on_step: StepHook | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> SamlLogin:
    """Validate a SAMLResponse posted to the ACS and return the login it asserts.

    :param message: the Response XML, or its base64 form as posted.
    :param now: the time to check validity windows at, with a time zone.
    :param expected_request_id: the ID of the AuthnRequest this browser session
        sent, or None when it sent none.
    :param allow_idp_initiated: accept an unsolicited Response when
        ``expected_request_id`` is None. Such a Response must then carry no
        InResponseTo.
    :param replay: records assertion IDs; a second use of one is rejected.
    :param on_step: reports each step as it finishes, for ``scimbridge saml check``.
    :raises SamlError: at the first failed step.
    """
    if now.tzinfo is None:
        raise ValueError("now must have a time zone")
    steps = _Steps(on_step)
    try:
        root, assertion, response_signed = _verified_assertion(
            steps, message, idp=idp, sp=sp, limits=limits
        )
        login = _read_login(
            steps,
            root,
            assertion,
            response_signed,
            idp=idp,
            sp=sp,
            now=now,
            expected_request_id=expected_request_id,
            allow_idp_initiated=allow_idp_initiated,
            replay=replay,
        )
    except SamlError as exc:
        steps.failed(exc)
        raise
    steps.passed()
    return login


def _verified_assertion(
    steps: _Steps,
    message: bytes | str,
    *,
    idp: IdpConfig,
    sp: SpConfig,
    limits: XmlLimits,
) -> tuple[etree._Element, Children, bool]:
    """Parse the message and return the Assertion that a verified signature covers.

    Returns the Response element, the index of the trusted Assertion, and
    whether the Response signature verified.
    """
    steps.begin("decode message")
    xml = decode_post_message(message, limits)
    steps.begin("parse XML")
    root = parse_xml(xml, limits)
    # Each index lists an element's children once for all the checks below.
    steps.begin("check Response element")
    check_response_element(root)
    response = Children(root)
    steps.begin("check Status")
    check_status(response)
    steps.begin("check Response Issuer")
    check_response_issuer(response, idp)
    steps.begin("check Destination")
    check_destination(response, sp)
    steps.begin("check document structure")
    response_signature, candidate = check_document_structure(response)

    # One scan of the document's ID attributes serves both signatures, unless
    # decryption changes the document in between.
    id_attributes: IdAttributes | None = None
    response_verified = None
    if response_signature is not None:
        steps.begin("verify Response signature")
        id_attributes = find_id_attributes(root)
        response_verified = verify_signature(
            root,
            response_signature,
            certificates=idp.signing_certificates,
            allow_sha1=idp.allow_sha1,
            id_attributes=id_attributes,
        )

    encrypted = response.one(names.ENCRYPTED_ASSERTION)
    if encrypted is not None:
        steps.begin("decrypt assertion")
        decrypt(root, encrypted, sp, limits)
        response = Children(root)
        id_attributes = None
        candidate = Children(response.require(names.ASSERTION))

    assertion_verified = None
    assertion_signature = signature_child(candidate)
    if assertion_signature is not None:
        steps.begin("verify Assertion signature")
        if id_attributes is None:
            id_attributes = find_id_attributes(root)
        assertion_verified = verify_signature(
            candidate.element,
            assertion_signature,
            certificates=idp.signing_certificates,
            allow_sha1=idp.allow_sha1,
            id_attributes=id_attributes,
        )

    steps.begin("check signature coverage")
    assertion = trusted_assertion(response_verified, assertion_verified, idp)
    # The verified Assertion is the candidate whenever the Assertion signature
    # verified, so its index can be reused. Otherwise index the trusted one.
    if assertion is not candidate.element:
        candidate = Children(assertion)
    return root, candidate, response_verified is not None


def _read_login(
    steps: _Steps,
    response: etree._Element,
    assertion: Children,
    response_signed: bool,
    *,
    idp: IdpConfig,
    sp: SpConfig,
    now: datetime,
    expected_request_id: str | None,
    allow_idp_initiated: bool,
    replay: ReplayGuard,
) -> SamlLogin:
    """Run the checks on the trusted Assertion and build the login from it."""
    steps.begin("check Assertion element")
    assertion_id = checks.check_assertion_element(assertion.element, now, sp)
    steps.begin("check Assertion Issuer")
    issuer = checks.check_assertion_issuer(assertion, idp)
    steps.begin("check Conditions")
    not_on_or_after = checks.check_conditions(assertion, now, sp)
    steps.begin("check Audience")
    checks.check_audience(assertion, sp)
    steps.begin("read Subject")
    subject = checks.read_subject(assertion, sp)
    steps.begin("check SubjectConfirmation")
    confirmation = checks.check_subject_confirmation(
        assertion, sp, now, expected_request_id
    )
    steps.begin("check InResponseTo")
    check_in_response_to(
        response,
        confirmation,
        response_signed=response_signed,
        expected_request_id=expected_request_id,
        allow_idp_initiated=allow_idp_initiated,
    )
    steps.begin("read AuthnStatement")
    authentication = checks.read_authentication(assertion, now, sp)
    steps.begin("read attributes")
    attributes = checks.read_attributes(assertion)

    # The bearer NotOnOrAfter is required, and the Conditions one is optional.
    expires_at = confirmation.latest_not_on_or_after
    if not_on_or_after is not None and not_on_or_after > expires_at:
        expires_at = not_on_or_after
    steps.begin("check replay")
    check_lifetime(expires_at, now)
    check_replay(replay, idp, assertion_id, expires_at + sp.clock_skew)
    return SamlLogin(
        issuer=issuer,
        name_id=subject.name_id,
        name_id_format=subject.name_id_format,
        attributes=attributes,
        session_index=authentication.session_index,
        session_not_on_or_after=authentication.session_not_on_or_after,
        assertion_id=assertion_id,
        authn_instant=authentication.authn_instant,
    )


def check_response_element(response: etree._Element) -> None:
    """Require a samlp:Response of SAML 2.0 with an ID and IssueInstant."""
    if response.tag != names.RESPONSE:
        raise SamlError(
            ErrorCode.NOT_A_RESPONSE,
            f"the message is a {response.tag!r}, not a SAML 2.0 protocol Response",
        )
    if response.get("Version") != names.VERSION_2_0:
        raise SamlError(
            ErrorCode.VERSION_UNSUPPORTED,
            f"the Response Version is {response.get('Version')!r}, not '2.0'",
        )
    require_attribute(response, "ID")
    require_time(response, "IssueInstant")


def check_status(response: Children) -> None:
    """Require the top-level StatusCode Success, with no second-level code."""
    status = response.require(names.STATUS)
    code = require_child(status, names.STATUS_CODE)
    value = code.get("Value")
    second_level = find_child(code, names.STATUS_CODE)
    if value == names.STATUS_SUCCESS and second_level is None:
        return
    detail = f"the IdP returned status {value!r}"
    if second_level is not None:
        detail += f" with second-level status {second_level.get('Value')!r}"
    message = find_child(status, names.STATUS_MESSAGE)
    if message is not None:
        detail += f" and the message {text_content(message)[:200]!r}"
    raise SamlError(ErrorCode.STATUS_NOT_SUCCESS, detail)


def check_response_issuer(response: Children, idp: IdpConfig) -> None:
    """Require the optional Response Issuer to be the configured IdP."""
    issuer = response.one(names.ISSUER)
    if issuer is None:
        return
    if response.elements[0] is not issuer:
        raise SamlError(
            ErrorCode.SCHEMA_INVALID,
            "the Issuer must be the first child of the Response",
        )
    checks.check_issuer(issuer, idp, "Response")


def check_destination(response: Children, sp: SpConfig) -> None:
    """Require Destination to be the ACS URL; a signed Response must have one.

    SAML Bindings requires Destination on a message signed for the HTTP-POST
    binding, so a signed Response cannot be replayed to another endpoint.
    """
    destination = response.element.get("Destination")
    if destination is None:
        if signature_child(response) is not None:
            raise SamlError(
                ErrorCode.DESTINATION_MISMATCH,
                "the Response is signed but has no Destination",
            )
        return
    if not checks.same_url(destination, sp.acs_url):
        raise SamlError(
            ErrorCode.DESTINATION_MISMATCH,
            f"the Response Destination is {destination[:200]!r}, but this "
            f"connection's ACS URL is {sp.acs_url!r}",
        )


def check_document_structure(
    response: Children,
) -> tuple[etree._Element | None, Children]:
    """Require one assertion, a direct child, and signatures only where allowed.

    The whole document is counted, so a copy of an assertion or of signature parts
    hidden in Extensions, in another element or in a ds:Object is rejected rather
    than ignored. Returns the Signature of the Response, or None when it has none,
    and the index of the Assertion or EncryptedAssertion.
    """
    # A plain dict costs less than a Counter here. Its keys are typed as object
    # because lxml's stubs type a tag as str, bytes or QName.
    counts: dict[object, int] = dict.fromkeys(_COUNTED, 0)
    for element in response.element.iter(*_COUNTED):
        counts[element.tag] += 1
    assertions = response.all(names.ASSERTION) + response.all(names.ENCRYPTED_ASSERTION)
    total = counts[names.ASSERTION] + counts[names.ENCRYPTED_ASSERTION]
    if total == 0:
        raise SamlError(ErrorCode.NO_ASSERTION, "the Response has no Assertion")
    if total > 1 or len(assertions) != 1:
        raise SamlError(
            ErrorCode.MULTIPLE_ASSERTIONS,
            f"the document has {total} assertions; a Response must contain exactly "
            "one Assertion or EncryptedAssertion, as its direct child",
        )
    response_signature = signature_child(response)
    assertion = Children(assertions[0])
    assertion_signature = signature_child(assertion)
    signatures = (response_signature is not None) + (assertion_signature is not None)
    for part in _SIGNATURE_PARTS:
        if counts[part] != signatures:
            raise SamlError(
                ErrorCode.SIGNATURE_STRUCTURE,
                f"the document has {counts[part]} {etree.QName(part).localname} "
                f"elements but {signatures} Signatures on the Response and the "
                "Assertion; signature parts are allowed nowhere else",
            )
    if counts[names.OBJECT] or counts[names.MANIFEST]:
        raise SamlError(
            ErrorCode.SIGNATURE_STRUCTURE,
            "the document contains a ds:Object or ds:Manifest, which SAML "
            "signatures never use",
        )
    return response_signature, assertion


def decrypt(
    response: etree._Element,
    encrypted: etree._Element,
    sp: SpConfig,
    limits: XmlLimits,
) -> etree._Element:
    """Decrypt the EncryptedAssertion in place and recheck the document structure."""
    assertion = decrypt_assertion(encrypted, sp.decryption_keys, limits)
    check_document_structure(Children(response))
    return assertion


def trusted_assertion(
    response_verified: VerifiedSignature | None,
    assertion_verified: VerifiedSignature | None,
    idp: IdpConfig,
) -> etree._Element:
    """Return the Assertion that a verified signature covers.

    That is the Assertion a verified Assertion signature points to, or else the
    only Assertion child of the Response a verified Response signature points to.
    """
    if assertion_verified is not None:
        return assertion_verified.element
    if response_verified is None:
        raise SamlError(
            ErrorCode.UNSIGNED,
            "neither the Response nor the Assertion is signed; configure the IdP "
            "to sign the assertion",
        )
    if idp.require_signed_assertion:
        raise SamlError(
            ErrorCode.ASSERTION_UNSIGNED,
            "only the Response is signed, but this connection requires a signed "
            "Assertion; configure the IdP to sign the assertion",
        )
    return Children(response_verified.element).require(names.ASSERTION)


def check_in_response_to(
    response: etree._Element,
    confirmation: checks.Confirmation,
    *,
    response_signed: bool,
    expected_request_id: str | None,
    allow_idp_initiated: bool,
) -> None:
    """Bind the Response to this session's AuthnRequest, or allow it unsolicited.

    The binding must come from a signed value: the SubjectConfirmationData
    InResponseTo, or the Response InResponseTo when the Response is signed.
    """
    in_response_to = response.get("InResponseTo")
    if expected_request_id is None:
        _check_unsolicited(in_response_to, confirmation, allow_idp_initiated)
        return
    if in_response_to is not None and in_response_to != expected_request_id:
        raise SamlError(
            ErrorCode.IN_RESPONSE_TO_MISMATCH,
            f"the Response answers request {in_response_to[:200]!r}, but this "
            f"sign-in expects {expected_request_id!r}",
        )
    signed_values = [confirmation.in_response_to]
    if response_signed:
        signed_values.append(in_response_to)
    if expected_request_id not in signed_values:
        raise SamlError(
            ErrorCode.IN_RESPONSE_TO_MISMATCH,
            "no signed InResponseTo names this sign-in's request: the "
            "SubjectConfirmationData has none and the Response is not signed",
        )


def _check_unsolicited(
    in_response_to: str | None,
    confirmation: checks.Confirmation,
    allow_idp_initiated: bool,
) -> None:
    answered = in_response_to or confirmation.in_response_to
    if answered is not None:
        raise SamlError(
            ErrorCode.IN_RESPONSE_TO_MISMATCH,
            f"the Response answers request {answered[:200]!r}, but this browser "
            "session has no pending request (it may have expired, or belong to "
            "another browser)",
        )
    if not allow_idp_initiated:
        raise SamlError(
            ErrorCode.UNSOLICITED,
            "the Response was not requested by scimbridge (IdP-initiated sign-in), "
            "which this connection does not allow",
        )


def check_lifetime(expires_at: datetime, now: datetime) -> None:
    """Reject an assertion that stays valid for more than MAX_ASSERTION_LIFETIME."""
    if expires_at - now > MAX_ASSERTION_LIFETIME:
        raise SamlError(
            ErrorCode.VALIDITY_TOO_LONG,
            f"the assertion stays valid until {expires_at.isoformat()}, more than "
            f"{MAX_ASSERTION_LIFETIME} from now, which is longer than scimbridge "
            "remembers assertion IDs; configure the IdP to issue assertions valid "
            "for a few minutes",
        )


def check_replay(
    replay: ReplayGuard, idp: IdpConfig, assertion_id: str, expires_at: datetime
) -> None:
    """Accept each assertion ID of an IdP once, until the assertion expires."""
    # The length prefix keeps the key unambiguous whatever the entity ID contains.
    key = f"saml-assertion:{len(idp.entity_id)}:{idp.entity_id}:{assertion_id}"
    if not replay.remember(key, expires_at):
        raise SamlError(
            ErrorCode.REPLAYED,
            f"the assertion {assertion_id[:200]!r} was already used to sign in",
        )
