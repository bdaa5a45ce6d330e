"""what the ranker weighs an offer's hours, employer and pay against (issue 19)

Revision ID: 0008
Revises: 0007

* ``offers.schedule``: the unusual hours the offer states, as ``matching.schedule.WorkSchedule``
  values (``nuit``, ``week_end``, ``horaires_decales``, ``coupure``), read from France Travail's
  ``dureeTravailLibelle``, ``complementExercice``, ``contexteTravail`` and the description;
* ``offers.employer_size_band``: the hiring establishment's workforce band (``trancheEffectifEtab``) as
  the ordinal of INSEE's nomenclature, 0 (no employee) to 14 (10,000 and more).

Offers stored before get no schedule and no band; the next ingest of the same source version fills
them (a newer parser's reading of a version already stored is taken without counting the offer as new,
as for 0007).

* ``profiles.mobility_mode``: the means of transport the person declared (``MobilityMode`` of
  ``matching.domain``: ``voiture``, ``transports_en_commun``, ``velo``, ``marche``), which turns a
  distance into an estimated travel time: a travel mode, not a place, and no protected attribute;
* ``profiles.last_monthly_pay``: the gross monthly pay of the person's last job (or the one they expect
  when they had none), in euros.

Both NULL for the profiles stored before (not declared).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("schedule", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("employer_size_band", sa.Integer(), nullable=True))
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mobility_mode", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_monthly_pay", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_column("last_monthly_pay")
        batch_op.drop_column("mobility_mode")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("employer_size_band")
        batch_op.drop_column("schedule")
