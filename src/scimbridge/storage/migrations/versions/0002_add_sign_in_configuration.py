"""Add sign-in configuration: connections, domains, roles, policies, links.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the column types in storage/types.py, so that this
# revision keeps creating the same schema when those types change.
TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", JSON_DOCUMENT, nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_connections_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_connections")),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connections_org_id_kind"), ["org_id", "kind"], unique=False
        )

    op.create_table(
        "login_policies",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("link_by", sa.String(length=16), nullable=False),
        sa.Column("jit_provisioning", sa.Boolean(), nullable=False),
        sa.Column("session_lifetime_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_login_policies_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_login_policies")),
    )
    op.create_table(
        "org_admin_tokens",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_org_admin_tokens_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_org_admin_tokens")),
        sa.UniqueConstraint(
            "org_id", "prefix", name=op.f("uq_org_admin_tokens_org_id_prefix")
        ),
        sa.UniqueConstraint(
            "org_id", "token_hash", name=op.f("uq_org_admin_tokens_org_id_token_hash")
        ),
    )
    op.create_table(
        "org_domains",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_org_domains_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "domain", name=op.f("pk_org_domains")),
    )
    with op.batch_alter_table("org_domains", schema=None) as batch_op:
        batch_op.create_index(
            "uq_org_domains_verified_domain",
            ["domain"],
            unique=True,
            sqlite_where=sa.text("verified"),
            postgresql_where=sa.text("verified"),
        )

    op.create_table(
        "roles",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("permissions", JSON_DOCUMENT, nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_roles_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_roles")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_roles_org_id_name")),
    )
    op.create_table(
        "login_identities",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=1024), nullable=False),
        sa.Column("subject", sa.String(length=1024), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "connection_id"],
            ["connections.org_id", "connections.id"],
            name=op.f("fk_login_identities_org_id_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id", "member_id"],
            ["users.org_id", "users.id"],
            name=op.f("fk_login_identities_org_id_member_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "org_id",
            "connection_id",
            "issuer",
            "subject",
            name=op.f("pk_login_identities"),
        ),
    )
    with op.batch_alter_table("login_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_identities_org_id_member_id"),
            ["org_id", "member_id"],
            unique=False,
        )

    op.create_table(
        "role_mappings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("role_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("attribute", sa.String(length=256), nullable=True),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "role_id"],
            ["roles.org_id", "roles.id"],
            name=op.f("fk_role_mappings_org_id_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "id", name=op.f("pk_role_mappings")),
    )
    with op.batch_alter_table("role_mappings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_role_mappings_org_id_source"),
            ["org_id", "source"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("role_mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_mappings_org_id_source"))

    op.drop_table("role_mappings")
    with op.batch_alter_table("login_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_identities_org_id_member_id"))

    op.drop_table("login_identities")
    op.drop_table("roles")
    with op.batch_alter_table("org_domains", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_org_domains_verified_domain",
            sqlite_where=sa.text("verified"),
            postgresql_where=sa.text("verified"),
        )

    op.drop_table("org_domains")
    op.drop_table("org_admin_tokens")
    op.drop_table("login_policies")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_org_id_kind"))

    op.drop_table("connections")
