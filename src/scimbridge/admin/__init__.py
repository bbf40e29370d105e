"""Platform admin API at ``/admin``: organizations and their SCIM tokens."""
