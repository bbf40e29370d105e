"""The one exception of the OIDC relying party, with a stable code per failure.

Each code names one rule, so logs and alerts can count failures by cause. The
detail is written for the organization's admin. It contains no token, client
secret, state, nonce or PKCE verifier, and text that the provider sent, such
as an ``error_description``, is quoted and cut short. A browser should see
generic text only, and the log gets the code and the detail.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable codes of :class:`OidcError`, one for each rule."""

    DISCOVERY_INVALID = "oidc.discovery_invalid"
    JWKS_INVALID = "oidc.jwks_invalid"
    PROVIDER_ERROR = "oidc.provider_error"
    CALLBACK_INVALID = "oidc.callback_invalid"
    STATE_MISMATCH = "oidc.state_mismatch"
    LOGIN_EXPIRED = "oidc.login_expired"
    CONNECTION_MISMATCH = "oidc.connection_mismatch"
    ISS_MISSING = "oidc.iss_missing"
    ISS_MISMATCH = "oidc.iss_mismatch"
    # Error codes, not credentials, so bandit's password check does not apply.
    TOKEN_ERROR = "oidc.token_error"  # noqa: S105
    ID_TOKEN_MALFORMED = "oidc.id_token_malformed"  # noqa: S105
    CRIT_UNSUPPORTED = "oidc.crit_unsupported"
    ALG_NOT_ALLOWED = "oidc.alg_not_allowed"
    UNKNOWN_KID = "oidc.unknown_kid"
    KID_AMBIGUOUS = "oidc.kid_ambiguous"
    SIGNATURE_INVALID = "oidc.signature_invalid"
    CLAIM_MISSING = "oidc.claim_missing"
    CLAIM_INVALID = "oidc.claim_invalid"
    AUDIENCE_MISMATCH = "oidc.audience_mismatch"
    AZP_MISMATCH = "oidc.azp_mismatch"
    EXPIRED = "oidc.expired"
    NOT_YET_VALID = "oidc.not_yet_valid"
    IAT_IN_FUTURE = "oidc.iat_in_future"
    NONCE_MISMATCH = "oidc.nonce_mismatch"
    MAX_AGE_EXCEEDED = "oidc.max_age_exceeded"
    AT_HASH_MISMATCH = "oidc.at_hash_mismatch"
    USERINFO_ERROR = "oidc.userinfo_error"
    USERINFO_SUB_MISMATCH = "oidc.userinfo_sub_mismatch"


class OidcError(Exception):
    """A failed OIDC setup or login, with a stable ``code`` and an admin ``detail``."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def quote_value(value: object, limit: int = 100) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for provider-sent values.

    Use it only for values that are not secrets, such as an ``iss`` or an
    ``aud``, so a detail shows what arrived without letting a provider fill
    the log.
    """
    text = repr(value)
    if len(text) > limit:
        return text[: limit - 3] + "..."
    return text
