"""Admin API at ``/admin``: organizations, tokens and their sign-in configuration."""
