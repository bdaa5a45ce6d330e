"""initial schema

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("training_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("list_id", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interactions_event"), ["event"], unique=False)
        batch_op.create_index(batch_op.f("ix_interactions_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index("ix_interactions_profile_time", ["profile_id", "occurred_at"], unique=False)

    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("rome_code", sa.String(length=5), nullable=False),
        sa.Column("appellation_code", sa.String(length=16), nullable=True),
        sa.Column("appellation_label", sa.Text(), nullable=True),
        sa.Column("insee", sa.String(length=5), nullable=True),
        sa.Column("location_label", sa.Text(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("contract_type", sa.String(length=8), nullable=True),
        sa.Column("weekly_hours", sa.Float(), nullable=True),
        sa.Column("full_time", sa.Boolean(), nullable=True),
        sa.Column("salary_min_monthly", sa.Float(), nullable=True),
        sa.Column("salary_max_monthly", sa.Float(), nullable=True),
        sa.Column("experience", sa.String(length=1), nullable=True),
        sa.Column("experience_months", sa.Integer(), nullable=True),
        sa.Column("qualification_code", sa.String(length=4), nullable=True),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("required_skills", sa.JSON(), nullable=False),
        sa.Column("formacodes", sa.JSON(), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("need_date", sa.Date(), nullable=True),
        sa.Column("expires_at", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_rome_code"), ["rome_code"], unique=False)

    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("rome_codes", sa.JSON(), nullable=False),
        sa.Column("appellation_codes", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("experience_months", sa.Integer(), nullable=False),
        sa.Column("qualification_code", sa.String(length=4), nullable=True),
        sa.Column("home_insee", sa.String(length=5), nullable=True),
        sa.Column("home_lat", sa.Float(), nullable=True),
        sa.Column("home_lon", sa.Float(), nullable=True),
        sa.Column("max_commute_km", sa.Float(), nullable=True),
        sa.Column("max_commute_minutes", sa.Integer(), nullable=True),
        sa.Column("contract_types", sa.JSON(), nullable=False),
        sa.Column("min_weekly_hours", sa.Float(), nullable=True),
        sa.Column("max_weekly_hours", sa.Float(), nullable=True),
        sa.Column("salary_floor_monthly", sa.Float(), nullable=True),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_visible"), ["visible"], unique=False)

    op.create_table(
        "trainings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("rome_codes", sa.JSON(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("insee", sa.String(length=5), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("organisation", sa.Text(), nullable=False),
        sa.Column("outcome_rate", sa.Float(), nullable=True),
        sa.Column("poe_eligible", sa.Boolean(), nullable=False),
        sa.Column("formacode", sa.String(length=8), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trainings")),
    )
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trainings_start_date"), ["start_date"], unique=False)

    op.create_table(
        "audit_attributes",
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("qpv", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_audit_attributes_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_audit_attributes")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("rome_codes", sa.JSON(), nullable=False),
        sa.Column("radius_km", sa.Float(), nullable=False),
        sa.Column("contract_types", sa.JSON(), nullable=False),
        sa.Column("excluded_contract_types", sa.JSON(), nullable=False),
        sa.Column("min_weekly_hours", sa.Float(), nullable=True),
        sa.Column("salary_floor_monthly", sa.Float(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("max_alerts_per_run", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_subscriptions_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_profile_id"), ["profile_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_profile_id"))

    op.drop_table("subscriptions")
    op.drop_table("audit_attributes")
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trainings_start_date"))

    op.drop_table("trainings")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_visible"))

    op.drop_table("profiles")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_rome_code"))
        batch_op.drop_index(batch_op.f("ix_offers_expires_at"))
        batch_op.drop_index(batch_op.f("ix_offers_created_at"))

    op.drop_table("offers")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_profile_time")
        batch_op.drop_index(batch_op.f("ix_interactions_offer_id"))
        batch_op.drop_index(batch_op.f("ix_interactions_event"))

    op.drop_table("interactions")
