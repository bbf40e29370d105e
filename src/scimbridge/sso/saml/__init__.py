"""SAML 2.0 service provider: Response validation, AuthnRequests and metadata.

The modules, from the bottom up:

- ``xml``: the one hardened parser, and the base64 and DEFLATE decoders.
- ``signature``: enveloped XML Signature checks and xmlsec verification.
- ``encryption``: EncryptedAssertion decryption into the same tree.
- ``assertion`` and ``response``: the ACS checks, as named steps.
- ``metadata``, ``authn_request``, ``bindings`` and ``keys``: what scimbridge
  sends to IdPs and what it reads from them.
"""

from scimbridge.sso.saml.config import IdpConfig, SpConfig
from scimbridge.sso.saml.errors import ErrorCode, SamlError
from scimbridge.sso.saml.replay import InMemoryReplayGuard, ReplayGuard
from scimbridge.sso.saml.response import SamlLogin, StepHook, validate_response
from scimbridge.sso.saml.xml import DEFAULT_LIMITS, XmlLimits

__all__ = [
    "DEFAULT_LIMITS",
    "ErrorCode",
    "IdpConfig",
    "InMemoryReplayGuard",
    "ReplayGuard",
    "SamlError",
    "SamlLogin",
    "SpConfig",
    "StepHook",
    "XmlLimits",
    "validate_response",
]
