"""scimbridge: SCIM 2.0 provisioning, per-organization SSO and OIDC for apps."""

__version__ = "0.1.0"
