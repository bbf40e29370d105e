"""Signature wrapping (XSW1-8, duplicate IDs): no forged NameID ever signs in.

Each variant takes a validly signed Response and moves or copies the signed
element so that a naive verifier checks the original while reading the attacker's
copy. The targeted single-rule tests are in test_signature.py. Here every variant
runs end to end, and the differential check asserts that the only identity that
can come out is the signed one.
"""

from collections.abc import Callable

import pytest
from lxml import etree

from scimbridge.sso.saml import names
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from tests.sso.saml.idp import (
    ASSERTION_WRAPPINGS,
    ATTACKER,
    RESPONSE_WRAPPINGS,
    USER,
    assertion_of,
    encrypt_assertion,
    expect_error,
    signed_response,
    validate,
)

Wrapping = Callable[[etree._Element], etree._Element]


SIGNING_MODES = {
    "assertion-signed": (True, False),
    "response-signed": (False, True),
    "both-signed": (True, True),
}
# These variants move the Assertion's own Signature, so they need one.
NEEDS_ASSERTION_SIGNATURE = {"xsw5", "xsw6", "xsw7_moved", "xsw8"}


def wrapping_cases() -> list[tuple[str, str]]:
    cases = []
    for mode, (sign_assertion, sign_response) in SIGNING_MODES.items():
        for name in sorted(ASSERTION_WRAPPINGS):
            if sign_assertion or name not in NEEDS_ASSERTION_SIGNATURE:
                cases.append((name, mode))
        if sign_response:
            cases.extend((name, mode) for name in sorted(RESPONSE_WRAPPINGS))
    return cases


@pytest.mark.parametrize("name", sorted(ASSERTION_WRAPPINGS))
def test_assertion_wrapping_rejected(name: str) -> None:
    """XSW3-8 on a signed Assertion: an extra or nested Assertion is rejected."""
    forged = ASSERTION_WRAPPINGS[name](signed_response())
    expect_error(forged, ErrorCode.MULTIPLE_ASSERTIONS)


@pytest.mark.parametrize("name", sorted(RESPONSE_WRAPPINGS))
def test_response_wrapping_rejected(name: str) -> None:
    """XSW1-2 on a signed Response: the hidden original carries an Assertion too."""
    response = signed_response(sign_assertion=False, sign_response=True)
    forged = RESPONSE_WRAPPINGS[name](response)
    expect_error(forged, ErrorCode.MULTIPLE_ASSERTIONS)


def test_response_wrapping_without_assertion_copy() -> None:
    """XSW1 whose hidden original has no Assertion: the Reference check catches it."""
    response = signed_response(sign_assertion=False, sign_response=True)
    forged = RESPONSE_WRAPPINGS["xsw1"](response)
    signature = forged.find(names.SIGNATURE)
    assert signature is not None
    hidden = signature.find(names.RESPONSE)
    assert hidden is not None
    hidden.remove(assertion_of(hidden))
    error = expect_error(forged, ErrorCode.SIGNATURE_STRUCTURE)
    assert "Object" in error.detail or "nothing else" in error.detail


@pytest.mark.parametrize(("name", "mode"), wrapping_cases())
def test_no_wrapping_yields_forged_identity(name: str, mode: str) -> None:
    """Differential check: every wrapping fails, or yields only the signed NameID."""
    sign_assertion, sign_response = SIGNING_MODES[mode]
    wrappings = {**ASSERTION_WRAPPINGS, **RESPONSE_WRAPPINGS}
    response = signed_response(
        sign_assertion=sign_assertion, sign_response=sign_response
    )
    forged = wrappings[name](response)
    try:
        login = validate(forged)
    except SamlError:
        return
    assert login.name_id == USER
    assert login.name_id != ATTACKER


def test_wrapping_around_encrypted_assertion() -> None:
    """A plain evil Assertion beside a signed EncryptedAssertion is rejected."""
    response = signed_response(sign_assertion=False)
    encrypt_assertion(response)
    evil = signed_response(sign_assertion=False).find(
        "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion"
    )
    assert evil is not None
    response.append(evil)
    expect_error(response, ErrorCode.MULTIPLE_ASSERTIONS)


@pytest.mark.parametrize("mode", sorted(SIGNING_MODES))
def test_namespaced_id_rejected_end_to_end(mode: str) -> None:
    """One ID scan serves every signature, and each one still applies it."""
    sign_assertion, sign_response = SIGNING_MODES[mode]
    response = signed_response(
        sign_assertion=sign_assertion, sign_response=sign_response
    )
    status = response.find(names.STATUS)
    assert status is not None
    status.set("{urn:evil}ID", "_other")
    expect_error(response, ErrorCode.ID_ATTRIBUTE_INVALID)


def test_duplicate_of_response_id_rejected_when_both_signed() -> None:
    response = signed_response(sign_assertion=True, sign_response=True)
    status = response.find(names.STATUS)
    assert status is not None
    status.set("ID", response.get("ID", ""))
    expect_error(response, ErrorCode.DUPLICATE_ID)
