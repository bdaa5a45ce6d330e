"""alert e-mails: contacts, digests, quiet hours (issue 23)

Revision ID: 0011
Revises: 0010

``contacts``: where each person's alerts are e-mailed, and whether delivery there is paused (a
permanent failure). ``digests``: one e-mail per person and dispatcher run, with its delivery state;
``outbox.digest_id`` ties each waiting row to the digest that carries it. ``subscriptions.quiet_from``
/ ``quiet_until``: hours (Paris time) without e-mail, 21 h to 8 h for existing subscriptions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profiles.id"], name=op.f("fk_contacts_profile_id_profiles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_paused_at"), ["paused_at"], unique=False)
    op.create_table(
        "digests",
        sa.Column("id", BIGINT, autoincrement=True, nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digests")),
        sa.UniqueConstraint("message_id", name=op.f("uq_digests_message_id")),
    )
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.create_index("ix_digests_status_next", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_digests_profile_id"), ["profile_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_digests_sent_at"), ["sent_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_id", BIGINT, nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_digest_id"), ["digest_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_digest_id_digests"), "digests", ["digest_id"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quiet_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quiet_until", sa.Integer(), nullable=True))
    op.execute("UPDATE subscriptions SET quiet_from = 21, quiet_until = 8")


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("quiet_until")
        batch_op.drop_column("quiet_from")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_digest_id_digests"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_digest_id"))
        batch_op.drop_column("digest_id")
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_digests_sent_at"))
        batch_op.drop_index(batch_op.f("ix_digests_profile_id"))
        batch_op.drop_index("ix_digests_status_next")
    op.drop_table("digests")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_paused_at"))
    op.drop_table("contacts")
