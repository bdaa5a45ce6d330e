"""offer lifecycle: withdrawal, reception time; what offers an alert run had seen

Revision ID: 0003
Revises: 0002

* ``offers.withdrawn_at``: when the offer was withdrawn (``DELETE /offers/{id}``); a withdrawn offer is
  out of the indexes, of sourcing, and never alerted.
* ``offers.received_at``: when this engine stored the offer's current content (insert or change). The
  incremental alert batch selects new offers by it, not by France Travail's ``dateCreation``, which
  can be days before the offer reaches the engine. Existing offers get the migration's moment: the
  first incremental run after it considers them once (the ``(subscription, offer)`` key still
  refuses a second alert).
* ``alert_runs.offers_as_of``: the latest offer reception the run's offer index reflects (none for an
  index not built from the database): offers received after it are new to the next incremental run.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    offers = sa.table("offers", sa.column("received_at", sa.DateTime(timezone=True)))
    op.execute(offers.update().values(received_at=datetime.now(UTC)))
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.alter_column("received_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f("ix_offers_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_withdrawn_at"), ["withdrawn_at"], unique=False)
    with op.batch_alter_table("alert_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offers_as_of", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_runs", schema=None) as batch_op:
        batch_op.drop_column("offers_as_of")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_withdrawn_at"))
        batch_op.drop_index(batch_op.f("ix_offers_received_at"))
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("received_at")
