"""what an alert shows a jobseeker and what their answers change


Revision ID: 0007
Revises: 0006

* ``offers.employer``: the employer's name when the offer names one (France Travail's
  ``entreprise.nom``);
* ``offers.apply_url``: where to apply (``contact.urlPostulation``, else the offer's page at France
  Travail, ``origineOffre.urlOrigine``).

Both are NULL for offers stored before; the next ingest of the same source version fills them (a newer
parser's reading of a version already stored is taken without counting the offer as new).

* ``subscriptions.excluded_occupations``: occupations refused as "pas ce métier" (ROME or appellation
  codes), none before;
* ``subscriptions.beyond_criteria``: also send offers outside the declared contracts and hours
  (false: what the person declared is respected, as it always should have been);
* ``alerts.undo``: the alert's status and the subscription's values before a refusal, for "Annuler";
* ``interactions.cancelled_at``: an answer taken back stays in the log, marked, and is no longer read.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from serving.storage.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employer", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("apply_url", sa.Text(), nullable=True))
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded_occupations", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("beyond_criteria", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undo", sa.JSON(), nullable=True))
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("undo")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_column("beyond_criteria")
        batch_op.drop_column("excluded_occupations")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("apply_url")
        batch_op.drop_column("employer")
