"""validate_response end to end: which Responses sign a user in, and which fail why."""

import base64
import gc
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.replay import InMemoryReplayGuard
from scimbridge.sso.saml.response import validate_response
from tests.sso.saml.idp import (
    ACS_URL,
    ATTACKER,
    IDP_ENTITY_ID,
    NOW,
    REQUEST_ID,
    SP_ENTITY_ID,
    USER,
    ResponseSpec,
    assertion_of,
    attacker_key,
    build_response,
    expect_error,
    idp_config,
    idp_key,
    idp_next_key,
    make_key_pair,
    reparse,
    sign,
    signed_response,
    sp_config,
    to_base64,
    to_bytes,
    validate,
)

Modify = Callable[[etree._Element], None]


def response_with(
    spec: ResponseSpec | None = None,
    *,
    modify: Modify | None = None,
    sign_assertion: bool = True,
    sign_response: bool = False,
) -> etree._Element:
    """Build a Response, change it with ``modify``, then sign it."""
    response = build_response(spec)
    if modify is not None:
        modify(response)
    if sign_assertion:
        sign(assertion_of(response))
    if sign_response:
        sign(response)
    return response


def first(element: etree._Element, tag: str) -> etree._Element:
    found = next(element.iter(tag), None)
    assert found is not None
    return found


# Responses that sign in


def test_assertion_signed_response_signs_in() -> None:
    login = validate(signed_response())
    assert login.name_id == USER
    assert login.issuer == IDP_ENTITY_ID
    assert login.name_id_format == (
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    )
    assert login.attributes == {"email": [USER], "groups": ["engineering", "admins"]}
    assert login.session_index == "_session-77"
    assert login.session_not_on_or_after == NOW + timedelta(hours=8)
    assert login.assertion_id == "_assertion-3d4e5f"
    assert login.authn_instant == NOW - timedelta(seconds=30)


def test_response_signed_with_unsigned_assertion_signs_in() -> None:
    """Google Workspace style: only the Response is signed."""
    login = validate(signed_response(sign_assertion=False, sign_response=True))
    assert login.name_id == USER


def test_both_signed_sign_in() -> None:
    login = validate(signed_response(sign_assertion=True, sign_response=True))
    assert login.name_id == USER


def test_base64_message_signs_in() -> None:
    message = to_base64(signed_response())
    assert validate(message).name_id == USER
    assert validate(message.decode()).name_id == USER


def test_default_namespace_assertion_signs_in() -> None:
    """ADFS puts the Assertion in a default namespace; prefixes never matter."""
    login = validate(signed_response(ResponseSpec(assertion_prefix=None)))
    assert login.name_id == USER


def test_other_prefixes_sign_in() -> None:
    """Okta and Google use saml2p: and saml2: prefixes."""
    data = to_bytes(build_response())
    for prefix, renamed in ((b"samlp", b"saml2p"), (b"saml", b"saml2")):
        data = data.replace(b"xmlns:" + prefix + b"=", b"xmlns:" + renamed + b"=")
        data = data.replace(prefix + b":", renamed + b":")
    response = reparse(data)
    assert response.prefix == "saml2p"
    sign(assertion_of(response))
    assert validate(response).name_id == USER


def test_rollover_certificates() -> None:
    """During an IdP key rollover either configured certificate verifies."""
    idp = idp_config(signing_certificates=(idp_next_key().cert_pem, idp_key().cert_pem))
    assert validate(signed_response(), idp=idp).name_id == USER
    response = signed_response(key=idp_next_key())
    assert validate(response, idp=idp).name_id == USER


def test_sha1_signature_with_allow_sha1() -> None:
    response = signed_response(method="rsa-sha1", digest="sha1")
    expect_error(response, ErrorCode.SHA1_REJECTED)
    login = validate(response, idp=idp_config(allow_sha1=True))
    assert login.name_id == USER


def test_fractional_seconds_accepted() -> None:
    def seven_digits(response: etree._Element) -> None:
        conditions = first(response, names.CONDITIONS)
        conditions.set("NotOnOrAfter", "2025-03-14T12:04:59.1234567Z")

    assert validate(response_with(modify=seven_digits)).name_id == USER


def test_step_reporting() -> None:
    steps: list[tuple[str, bool, SamlError | None]] = []
    validate_response(
        to_bytes(signed_response()),
        idp=idp_config(),
        sp=sp_config(),
        now=NOW,
        expected_request_id=REQUEST_ID,
        allow_idp_initiated=False,
        replay=InMemoryReplayGuard(),
        on_step=lambda name, ok, error: steps.append((name, ok, error)),
    )
    names_run = [name for name, _, _ in steps]
    assert names_run[0] == "decode message"
    assert "verify Assertion signature" in names_run
    assert "verify Response signature" not in names_run
    assert names_run[-1] == "check replay"
    assert all(ok and error is None for _, ok, error in steps)


def test_step_reporting_failure() -> None:
    steps: list[tuple[str, bool, SamlError | None]] = []
    with pytest.raises(SamlError):
        validate_response(
            to_bytes(signed_response(ResponseSpec(audiences=("https://other",)))),
            idp=idp_config(),
            sp=sp_config(),
            now=NOW,
            expected_request_id=REQUEST_ID,
            allow_idp_initiated=False,
            replay=InMemoryReplayGuard(),
            on_step=lambda name, ok, error: steps.append((name, ok, error)),
        )
    name, ok, error = steps[-1]
    assert name == "check Audience"
    assert not ok
    assert error is not None
    assert error.code == ErrorCode.AUDIENCE_MISMATCH


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        validate(signed_response(), now=datetime(2025, 3, 14, 12))


# Signatures: which must exist and what they cover


def test_unsigned_response_rejected() -> None:
    response = signed_response(sign_assertion=False)
    expect_error(response, ErrorCode.UNSIGNED)


def test_signed_assertion_required_by_policy() -> None:
    response = signed_response(sign_assertion=False, sign_response=True)
    expect_error(
        response,
        ErrorCode.ASSERTION_UNSIGNED,
        idp=idp_config(require_signed_assertion=True),
    )


def test_policy_accepts_signed_assertion() -> None:
    idp = idp_config(require_signed_assertion=True)
    assert validate(signed_response(), idp=idp).name_id == USER


def test_signature_by_attacker_key_rejected() -> None:
    response = signed_response(key=attacker_key())
    expect_error(response, ErrorCode.SIGNATURE_INVALID)


def test_another_idp_signature_rejected() -> None:
    """A valid assertion from tenant B's IdP fails at tenant A's ACS."""
    other = make_key_pair("other-idp.example.com")
    spec = ResponseSpec(issuer="https://other-idp.example.com", response_issuer=None)
    response = signed_response(spec, key=other)
    expect_error(response, ErrorCode.SIGNATURE_INVALID)
    expect_error(
        response,
        ErrorCode.ISSUER_MISMATCH,
        idp=idp_config(signing_certificates=(other.cert_pem,)),
    )


def test_signed_response_tampered() -> None:
    response = signed_response(sign_assertion=False, sign_response=True)
    first(response, names.NAME_ID).text = ATTACKER
    expect_error(response, ErrorCode.SIGNATURE_INVALID)


def test_both_signed_with_broken_assertion_signature() -> None:
    """A valid Response signature does not excuse an invalid Assertion signature."""
    response = build_response()
    sign(assertion_of(response))
    first(response, names.ATTRIBUTE_VALUE).text = "forged"
    sign(response)
    expect_error(response, ErrorCode.SIGNATURE_INVALID)


def test_signature_parts_outside_signatures_rejected() -> None:
    """A stray Reference and DigestValue in Extensions fail, even if unused."""
    response = signed_response()
    extensions = etree.Element(names.EXTENSIONS)
    reference = etree.SubElement(extensions, names.REFERENCE, URI="#_evil")
    etree.SubElement(reference, names.DIGEST_VALUE).text = "AAAA"
    first(response, names.STATUS).addprevious(extensions)
    error = expect_error(response, ErrorCode.SIGNATURE_STRUCTURE)
    assert "Reference" in error.detail


def test_signature_on_other_element_rejected() -> None:
    """Only the Response and the Assertion may be signed."""
    response = build_response()
    extensions = etree.Element(names.EXTENSIONS, ID="_extensions")
    etree.SubElement(extensions, names.tag("urn:vendor", "Data")).text = "x"
    first(response, names.STATUS).addprevious(extensions)
    sign(extensions)
    sign(assertion_of(response))
    expect_error(response, ErrorCode.SIGNATURE_STRUCTURE)


def test_object_outside_signatures_rejected() -> None:
    """A ds:Object or ds:Manifest has no place anywhere in a SAML Response."""
    for tag in (names.OBJECT, names.MANIFEST):
        response = signed_response()
        extensions = etree.Element(names.EXTENSIONS)
        etree.SubElement(extensions, tag).text = "x"
        first(response, names.STATUS).addprevious(extensions)
        error = expect_error(response, ErrorCode.SIGNATURE_STRUCTURE)
        assert "ds:Object or ds:Manifest" in error.detail


def test_object_in_response_signature_rejected() -> None:
    response = signed_response(sign_assertion=False, sign_response=True)
    signature = first(response, names.SIGNATURE)
    etree.SubElement(signature, names.OBJECT).text = "x"
    expect_error(response, ErrorCode.SIGNATURE_STRUCTURE)


# Response checks


def test_status_not_success() -> None:
    def responder(response: etree._Element) -> None:
        code = first(response, names.STATUS_CODE)
        code.set("Value", "urn:oasis:names:tc:SAML:2.0:status:Responder")
        etree.SubElement(
            code,
            names.STATUS_CODE,
            Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed",
        )
        etree.SubElement(
            first(response, names.STATUS), names.STATUS_MESSAGE
        ).text = "user locked"

    error = expect_error(response_with(modify=responder), ErrorCode.STATUS_NOT_SUCCESS)
    assert "AuthnFailed" in error.detail
    assert "user locked" in error.detail


def test_success_with_second_level_status_rejected() -> None:
    def sub_status(response: etree._Element) -> None:
        etree.SubElement(
            first(response, names.STATUS_CODE),
            names.STATUS_CODE,
            Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
        )

    expect_error(response_with(modify=sub_status), ErrorCode.STATUS_NOT_SUCCESS)


def test_missing_status_rejected() -> None:
    def no_status(response: etree._Element) -> None:
        response.remove(first(response, names.STATUS))

    expect_error(response_with(modify=no_status), ErrorCode.SCHEMA_INVALID)


def test_not_a_response() -> None:
    message = (
        b'<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>'
    )
    expect_error(message, ErrorCode.NOT_A_RESPONSE)


def test_wrong_version() -> None:
    def version(response: etree._Element) -> None:
        response.set("Version", "1.1")

    expect_error(response_with(modify=version), ErrorCode.VERSION_UNSUPPORTED)


def test_response_issuer_mismatch() -> None:
    spec = ResponseSpec(response_issuer="https://evil.example")
    expect_error(signed_response(spec), ErrorCode.ISSUER_MISMATCH)


def test_response_without_issuer_accepted() -> None:
    login = validate(signed_response(ResponseSpec(response_issuer=None)))
    assert login.name_id == USER


def test_assertion_issuer_mismatch() -> None:
    spec = ResponseSpec(issuer="https://evil.example", response_issuer=None)
    error = expect_error(signed_response(spec), ErrorCode.ISSUER_MISMATCH)
    assert "Assertion Issuer" in error.detail


def test_issuer_format_not_entity() -> None:
    def transient(response: etree._Element) -> None:
        first(assertion_of(response), names.ISSUER).set(
            "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
        )

    expect_error(response_with(modify=transient), ErrorCode.ISSUER_MISMATCH)


@pytest.mark.parametrize(
    "destination",
    [
        "https://sso.scimbridge.example/saml/other/acs",
        ACS_URL + "x",
        ACS_URL + "/",
        ACS_URL.replace("https:", "http:"),
        "https://sso.scimbridge.example:8443/saml/acme/acs",
        "",
    ],
)
def test_destination_mismatch(destination: str) -> None:
    response = signed_response(ResponseSpec(destination=destination))
    expect_error(response, ErrorCode.DESTINATION_MISMATCH)


def test_destination_normalized_host_and_port() -> None:
    destination = "HTTPS://SSO.scimbridge.EXAMPLE:443/saml/acme/acs"
    assert validate(signed_response(ResponseSpec(destination=destination)))


def test_long_destination_not_retained() -> None:
    """A rejected Response leaves no copy of its Destination in memory.

    Destination is read before any signature check, so a cache that kept it
    would hold attacker-chosen text, up to the message size per entry.
    """
    messages = []
    for index in range(3):
        response = signed_response()
        response.set("Destination", f"{ACS_URL}/{index}{'a' * 100_000}")
        messages.append(to_bytes(response))

    tracemalloc.start()
    try:
        for message in messages:
            expect_error(message, ErrorCode.DESTINATION_MISMATCH)
        gc.collect()
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert retained < 100_000


def test_destination_required_when_response_signed() -> None:
    spec = ResponseSpec(destination=None)
    response = signed_response(spec, sign_assertion=False, sign_response=True)
    error = expect_error(response, ErrorCode.DESTINATION_MISMATCH)
    assert "no Destination" in error.detail


def test_destination_optional_when_only_assertion_signed() -> None:
    assert validate(signed_response(ResponseSpec(destination=None)))


# Outer Response fields are unauthenticated when only the Assertion is signed


def test_tampered_outer_destination_rejected() -> None:
    response = signed_response()
    response.set("Destination", "https://evil.example/acs")
    expect_error(response, ErrorCode.DESTINATION_MISMATCH)


def test_stripped_outer_fields_still_bound() -> None:
    """Removing Destination and InResponseTo changes nothing that was trusted."""
    response = signed_response()
    del response.attrib["Destination"]
    del response.attrib["InResponseTo"]
    assert validate(response).name_id == USER


def test_captured_assertion_in_another_session() -> None:
    """An attacker rewrites the outer InResponseTo to their own request ID."""
    response = signed_response()
    response.set("InResponseTo", "_attacker-request")
    error = expect_error(
        response,
        ErrorCode.IN_RESPONSE_TO_MISMATCH,
        expected_request_id="_attacker-request",
    )
    assert "SubjectConfirmationData" in error.detail


def test_tampered_outer_status_rejected() -> None:
    response = signed_response()
    first(response, names.STATUS_CODE).set(
        "Value", "urn:oasis:names:tc:SAML:2.0:status:Requester"
    )
    expect_error(response, ErrorCode.STATUS_NOT_SUCCESS)


# Assertion: structure, conditions, audience


def test_two_assertions_rejected() -> None:
    response = signed_response()
    second = build_response(ResponseSpec(assertion_id="_second"))
    response.append(assertion_of(second))
    expect_error(response, ErrorCode.MULTIPLE_ASSERTIONS)


def test_no_assertion_rejected() -> None:
    response = signed_response(sign_assertion=False)
    response.remove(assertion_of(response))
    sign(response)
    expect_error(response, ErrorCode.NO_ASSERTION)


def test_assertion_in_future_rejected() -> None:
    spec = ResponseSpec(issue_instant=NOW + timedelta(minutes=10))
    expect_error(signed_response(spec), ErrorCode.NOT_YET_VALID)


def test_expired_assertion() -> None:
    expect_error(signed_response(), ErrorCode.EXPIRED, now=NOW + timedelta(minutes=8))


def test_expiry_within_clock_skew_accepted() -> None:
    """NotOnOrAfter is NOW+5min; at NOW+6min the 120 s skew still covers it."""
    login = validate(signed_response(), now=NOW + timedelta(minutes=6))
    assert login.name_id == USER


def test_not_yet_valid_assertion() -> None:
    spec = ResponseSpec(not_before=NOW + timedelta(minutes=5))
    expect_error(signed_response(spec), ErrorCode.NOT_YET_VALID)


def test_custom_clock_skew() -> None:
    sp = sp_config(clock_skew=timedelta(0))
    expect_error(
        signed_response(), ErrorCode.EXPIRED, now=NOW + timedelta(minutes=5), sp=sp
    )


def test_clock_skew_above_five_minutes_refused() -> None:
    with pytest.raises(ValueError):
        sp_config(clock_skew=timedelta(minutes=6))


def test_missing_conditions_rejected() -> None:
    def no_conditions(response: etree._Element) -> None:
        assertion = assertion_of(response)
        assertion.remove(first(assertion, names.CONDITIONS))

    expect_error(response_with(modify=no_conditions), ErrorCode.SCHEMA_INVALID)


def test_unknown_condition_rejected() -> None:
    def vendor_condition(response: etree._Element) -> None:
        etree.SubElement(
            first(response, names.CONDITIONS), names.tag(names.SAML, "Condition")
        )

    expect_error(
        response_with(modify=vendor_condition), ErrorCode.CONDITION_UNSUPPORTED
    )


def test_one_time_use_accepted() -> None:
    def one_time(response: etree._Element) -> None:
        etree.SubElement(first(response, names.CONDITIONS), names.ONE_TIME_USE)

    assert validate(response_with(modify=one_time)).name_id == USER


@pytest.mark.parametrize(
    "value", ["2025-03-14 12:05:00", "2025-03-14T12:05:00", "soon", ""]
)
def test_unparseable_time_rejected(value: str) -> None:
    def bad_time(response: etree._Element) -> None:
        first(response, names.CONDITIONS).set("NotOnOrAfter", value)

    expect_error(response_with(modify=bad_time), ErrorCode.TIME_INVALID)


def test_wrong_audience() -> None:
    spec = ResponseSpec(audiences=("https://sso.scimbridge.example/saml/other",))
    expect_error(signed_response(spec), ErrorCode.AUDIENCE_MISMATCH)


def test_missing_audience_restriction() -> None:
    expect_error(
        signed_response(ResponseSpec(audiences=None)), ErrorCode.AUDIENCE_MISMATCH
    )


def test_every_audience_restriction_must_match() -> None:
    def second_restriction(response: etree._Element) -> None:
        restriction = etree.SubElement(
            first(response, names.CONDITIONS), names.AUDIENCE_RESTRICTION
        )
        etree.SubElement(restriction, names.AUDIENCE).text = "https://other.example"

    expect_error(response_with(modify=second_restriction), ErrorCode.AUDIENCE_MISMATCH)


def test_audience_among_several_accepted() -> None:
    spec = ResponseSpec(audiences=("https://other.example", SP_ENTITY_ID))
    assert validate(signed_response(spec)).name_id == USER


# Subject and SubjectConfirmation


def test_no_bearer_confirmation() -> None:
    spec = ResponseSpec(
        confirmation_method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
    )
    expect_error(signed_response(spec), ErrorCode.SUBJECT_CONFIRMATION_INVALID)


@pytest.mark.parametrize(
    "recipient",
    [
        "https://sso.scimbridge.example/saml/other/acs",
        ACS_URL + "/extra",
        "https://evil.example/?" + ACS_URL,
        None,
    ],
)
def test_wrong_recipient(recipient: str | None) -> None:
    expect_error(
        signed_response(ResponseSpec(recipient=recipient)), ErrorCode.RECIPIENT_MISMATCH
    )


def test_confirmation_without_not_on_or_after() -> None:
    spec = ResponseSpec(confirmation_not_on_or_after=None)
    expect_error(signed_response(spec), ErrorCode.TIME_INVALID)


def test_confirmation_expired_while_conditions_open() -> None:
    spec = ResponseSpec(
        confirmation_not_on_or_after=NOW - timedelta(minutes=3),
        not_on_or_after=NOW + timedelta(hours=1),
    )
    expect_error(signed_response(spec), ErrorCode.EXPIRED)


def test_confirmation_not_before_in_future() -> None:
    def not_before(response: etree._Element) -> None:
        first(response, names.SUBJECT_CONFIRMATION_DATA).set(
            "NotBefore", "2025-03-14T12:10:00Z"
        )

    expect_error(response_with(modify=not_before), ErrorCode.NOT_YET_VALID)


def test_second_bearer_confirmation_may_pass() -> None:
    def add_valid_second(response: etree._Element) -> None:
        confirmation = first(response, names.SUBJECT_CONFIRMATION)
        valid = etree.fromstring(etree.tostring(confirmation))
        first(confirmation, names.SUBJECT_CONFIRMATION_DATA).set(
            "Recipient", "https://other.example/acs"
        )
        confirmation.addnext(valid)

    assert validate(response_with(modify=add_valid_second)).name_id == USER


def test_later_bearer_sets_replay_memory() -> None:
    """A bearer confirmation valid later than the one that passed extends the memory."""
    later = NOW + timedelta(hours=3)

    def add_later_second(response: etree._Element) -> None:
        confirmation = first(response, names.SUBJECT_CONFIRMATION)
        second = etree.fromstring(etree.tostring(confirmation))
        data = first(second, names.SUBJECT_CONFIRMATION_DATA)
        data.set("NotBefore", "2025-03-14T13:00:00Z")
        data.set("NotOnOrAfter", later.strftime("%Y-%m-%dT%H:%M:%SZ"))
        confirmation.addnext(second)

    clock = [NOW]
    replay = InMemoryReplayGuard(clock=lambda: clock[0])
    # Without a Conditions NotOnOrAfter, only the bearer confirmations end it.
    spec = ResponseSpec(not_on_or_after=None)
    response = response_with(spec, modify=add_later_second)
    assert validate(response, replay=replay).name_id == USER

    # The second confirmation becomes valid at 13:00, after the first expired.
    clock[0] = NOW + timedelta(hours=1, minutes=5)
    expect_error(response, ErrorCode.REPLAYED, replay=replay, now=clock[0])


def test_empty_name_id() -> None:
    expect_error(signed_response(ResponseSpec(name_id=" ")), ErrorCode.SUBJECT_INVALID)


def test_missing_name_id() -> None:
    def no_name_id(response: etree._Element) -> None:
        name_id = first(response, names.NAME_ID)
        name_id.getparent().remove(name_id)  # type: ignore[union-attr]

    expect_error(response_with(modify=no_name_id), ErrorCode.SUBJECT_INVALID)


def test_encrypted_id_rejected() -> None:
    def encrypted_id(response: etree._Element) -> None:
        name_id = first(response, names.NAME_ID)
        name_id.addnext(etree.Element(names.ENCRYPTED_ID))
        name_id.getparent().remove(name_id)  # type: ignore[union-attr]

    error = expect_error(response_with(modify=encrypted_id), ErrorCode.SUBJECT_INVALID)
    assert "EncryptedID" in error.detail


def test_sp_name_qualifier_of_another_sp() -> None:
    def qualifier(response: etree._Element) -> None:
        first(response, names.NAME_ID).set(
            "SPNameQualifier", "https://other-sp.example"
        )

    expect_error(response_with(modify=qualifier), ErrorCode.SUBJECT_INVALID)


def test_comment_in_name_id_keeps_full_value() -> None:
    """Exclusive c14n drops comments, so the signature covers the whole text."""

    def inject(response: etree._Element) -> None:
        name_id = first(response, names.NAME_ID)
        name_id.text = "victim@corp.example"
        comment = etree.Comment("")
        comment.tail = ".evil.net"
        name_id.append(comment)

    response = response_with(modify=inject)
    assert b"victim@corp.example<!---->.evil.net" in to_bytes(response)
    assert validate(response).name_id == "victim@corp.example.evil.net"


def test_comment_in_attribute_keeps_full_value() -> None:
    def inject(response: etree._Element) -> None:
        value = first(response, names.ATTRIBUTE_VALUE)
        value.text = "admin"
        comment = etree.Comment("")
        comment.tail = "istrators-readonly"
        value.append(comment)

    login = validate(response_with(modify=inject))
    assert login.attributes["email"] == ["administrators-readonly"]


def test_comment_added_after_signing() -> None:
    """The attack itself: a comment added after signing does not change the digest."""
    response = signed_response(ResponseSpec(name_id="victim@corp.example.evil.net"))
    data = to_bytes(response).replace(
        b"victim@corp.example.evil.net", b"victim@corp.example<!---->.evil.net"
    )
    assert validate(data).name_id == "victim@corp.example.evil.net"


# InResponseTo and unsolicited Responses


def test_wrong_in_response_to() -> None:
    expect_error(
        signed_response(),
        ErrorCode.IN_RESPONSE_TO_MISMATCH,
        expected_request_id="_another-request",
    )


def test_outer_in_response_to_mismatch() -> None:
    response = signed_response(ResponseSpec(in_response_to="_other"))
    error = expect_error(response, ErrorCode.IN_RESPONSE_TO_MISMATCH)
    assert "Response answers" in error.detail


def test_unsigned_binding_not_enough() -> None:
    """Only the unsigned outer InResponseTo names the request: reject."""
    spec = ResponseSpec(confirmation_in_response_to=None)
    error = expect_error(signed_response(spec), ErrorCode.IN_RESPONSE_TO_MISMATCH)
    assert "no signed InResponseTo" in error.detail


def test_signed_response_binds_in_response_to() -> None:
    spec = ResponseSpec(confirmation_in_response_to=None)
    response = signed_response(spec, sign_assertion=False, sign_response=True)
    assert validate(response).name_id == USER


def test_unsolicited_rejected_by_default() -> None:
    spec = ResponseSpec(in_response_to=None, confirmation_in_response_to=None)
    expect_error(signed_response(spec), ErrorCode.UNSOLICITED, expected_request_id=None)


def test_unsolicited_accepted_when_allowed() -> None:
    spec = ResponseSpec(in_response_to=None, confirmation_in_response_to=None)
    login = validate(
        signed_response(spec), expected_request_id=None, allow_idp_initiated=True
    )
    assert login.name_id == USER


def test_unsolicited_with_in_response_to_rejected() -> None:
    """A Response with InResponseTo cannot pass as IdP-initiated."""
    error = expect_error(
        signed_response(),
        ErrorCode.IN_RESPONSE_TO_MISMATCH,
        expected_request_id=None,
        allow_idp_initiated=True,
    )
    assert "no pending request" in error.detail or "expects None" in error.detail


def test_unsolicited_outer_in_response_to_rejected() -> None:
    spec = ResponseSpec(confirmation_in_response_to=None)
    expect_error(
        signed_response(spec),
        ErrorCode.IN_RESPONSE_TO_MISMATCH,
        expected_request_id=None,
        allow_idp_initiated=True,
    )


# AuthnStatement, attributes


def test_session_already_ended() -> None:
    spec = ResponseSpec(session_not_on_or_after=NOW - timedelta(minutes=10))
    expect_error(signed_response(spec), ErrorCode.SESSION_EXPIRED)


def test_missing_authn_statement() -> None:
    def no_statement(response: etree._Element) -> None:
        assertion = assertion_of(response)
        assertion.remove(first(assertion, names.AUTHN_STATEMENT))

    expect_error(response_with(modify=no_statement), ErrorCode.AUTHN_STATEMENT_MISSING)


def test_duplicate_attribute_rejected() -> None:
    def duplicate(response: etree._Element) -> None:
        attribute = first(response, names.ATTRIBUTE)
        attribute.addnext(etree.fromstring(etree.tostring(attribute)))

    error = expect_error(response_with(modify=duplicate), ErrorCode.ATTRIBUTE_INVALID)
    assert "twice" in error.detail


def test_encrypted_attribute_rejected() -> None:
    def encrypted(response: etree._Element) -> None:
        etree.SubElement(
            first(response, names.ATTRIBUTE_STATEMENT), names.ENCRYPTED_ATTRIBUTE
        )

    expect_error(response_with(modify=encrypted), ErrorCode.ATTRIBUTE_INVALID)


def test_attribute_values() -> None:
    def values(response: etree._Element) -> None:
        statement = first(response, names.ATTRIBUTE_STATEMENT)
        attribute = etree.SubElement(statement, names.ATTRIBUTE, Name="targeted")
        value = etree.SubElement(attribute, names.ATTRIBUTE_VALUE)
        etree.SubElement(value, names.NAME_ID).text = "opaque-123"
        empty = etree.SubElement(statement, names.ATTRIBUTE, Name="manager")
        etree.SubElement(empty, names.ATTRIBUTE_VALUE).set(
            f"{{{names.XSI}}}nil", "true"
        )

    attributes = validate(response_with(modify=values)).attributes
    assert attributes["targeted"] == ["opaque-123"]
    assert attributes["manager"] == []
    assert attributes["groups"] == ["engineering", "admins"]


def test_attribute_value_with_markup_rejected() -> None:
    def markup(response: etree._Element) -> None:
        value = first(response, names.ATTRIBUTE_VALUE)
        etree.SubElement(value, "{urn:vendor}b").text = "x"

    expect_error(response_with(modify=markup), ErrorCode.ATTRIBUTE_INVALID)


# Replay


def test_replayed_assertion_rejected() -> None:
    replay = InMemoryReplayGuard(clock=lambda: NOW)
    response = signed_response()
    assert validate(response, replay=replay).name_id == USER
    expect_error(response, ErrorCode.REPLAYED, replay=replay)


def test_replay_key_and_expiry() -> None:
    calls: list[tuple[str, datetime]] = []

    class Recorder:
        def remember(self, key: str, expires_at: datetime) -> bool:
            calls.append((key, expires_at))
            return True

    validate(signed_response(), replay=Recorder())
    [(key, expires_at)] = calls
    assert key.endswith(":" + IDP_ENTITY_ID + ":_assertion-3d4e5f")
    assert expires_at == NOW + timedelta(minutes=5) + timedelta(seconds=120)


def test_validity_beyond_replay_memory_rejected() -> None:
    """An assertion valid for two days would outlive the record of its ID."""
    later = NOW + timedelta(days=2)
    spec = ResponseSpec(not_on_or_after=later, confirmation_not_on_or_after=later)
    expect_error(signed_response(spec), ErrorCode.VALIDITY_TOO_LONG)


def test_far_future_expiry_rejected() -> None:
    """The last representable instant gets a SAML error, not an overflow."""
    last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    spec = ResponseSpec(not_on_or_after=last, confirmation_not_on_or_after=last)
    expect_error(signed_response(spec), ErrorCode.VALIDITY_TOO_LONG)


def test_rejected_response_does_not_use_assertion_id() -> None:
    """The ID is remembered only after every other check has passed."""
    replay = InMemoryReplayGuard(clock=lambda: NOW)
    response = signed_response()
    expect_error(
        response,
        ErrorCode.AUDIENCE_MISMATCH,
        replay=replay,
        sp=sp_config(entity_id="x"),
    )
    assert validate(response, replay=replay).name_id == USER


def test_not_xml() -> None:
    expect_error(b"<samlp:Response", ErrorCode.XML_INVALID)
    expect_error(base64.b64encode(b"not xml"), ErrorCode.XML_INVALID)
    expect_error(b"%%%", ErrorCode.BASE64_INVALID)


def test_replay_guard_forgets_expired_ids() -> None:
    moments = [NOW]
    replay = InMemoryReplayGuard(clock=lambda: moments[-1])
    assert replay.remember("id", NOW + timedelta(minutes=1))
    assert not replay.remember("id", NOW + timedelta(minutes=1))
    moments.append(NOW + timedelta(minutes=1))
    assert replay.remember("id", NOW + timedelta(minutes=2))
