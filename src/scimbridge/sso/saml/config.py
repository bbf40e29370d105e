"""The configuration of one SAML connection: the IdP it trusts and the SP it is."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IdpConfig:
    """The customer IdP of a connection, from its admin or its metadata.

    Every trust decision comes from here, never from the message being checked.
    """

    entity_id: str
    sso_url: str
    """SingleSignOnService URL for the HTTP-Redirect binding."""
    signing_certificates: Sequence[str]
    """PEM certificates; any of them may verify, so an IdP can roll its key over."""
    slo_url: str | None = None
    """SingleLogoutService URL, HTTP-Redirect binding preferred."""
    sso_post_url: str | None = None
    """SingleSignOnService URL for the HTTP-POST binding, when the IdP has one."""
    name_id_formats: Sequence[str] = ()
    allow_sha1: bool = False
    """Accept rsa-sha1 signatures and sha1 digests, for IdPs that cannot use SHA-2."""
    require_signed_assertion: bool = False
    """Require a signature on the Assertion itself, not only on the Response."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "signing_certificates", tuple(self.signing_certificates)
        )
        object.__setattr__(self, "name_id_formats", tuple(self.name_id_formats))


@dataclass(frozen=True, slots=True)
class SpConfig:
    """scimbridge as the service provider of one connection."""

    entity_id: str
    """SP entity ID, distinct per connection, so assertions for one fail at another."""
    acs_url: str
    """AssertionConsumerService URL from configuration, never from request headers."""
    decryption_keys: Sequence[str] = field(default=(), repr=False)
    """PEM private keys for EncryptedAssertion, current first, then the next one."""
    clock_skew: timedelta = field(default=timedelta(seconds=120))
    """Tolerance applied to every time check, at most 5 minutes."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "decryption_keys", tuple(self.decryption_keys))
        if not timedelta(0) <= self.clock_skew <= MAX_CLOCK_SKEW:
            raise ValueError(
                f"clock_skew must be between 0 and {MAX_CLOCK_SKEW}, "
                f"not {self.clock_skew}"
            )
