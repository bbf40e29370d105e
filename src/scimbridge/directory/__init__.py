"""The domain core: organizations, members and groups, and the rules that keep them.

Nothing here imports a web framework, an ORM, Redis or an XML library. Protocol
packages call :class:`~scimbridge.directory.service.Directory`, and storage
implements the protocols in :mod:`scimbridge.directory.ports`.
"""
