"""Subcommands of the ``scimbridge`` command line, one module per group."""
