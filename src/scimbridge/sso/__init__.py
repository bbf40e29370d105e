"""Single sign-on with each organization's own IdP, over SAML 2.0 or OpenID Connect.

``saml`` and ``oidc`` are independent packages. Each validates what the IdP sends
with trust taken only from the connection's configuration.
"""
