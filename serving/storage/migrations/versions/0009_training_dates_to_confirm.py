"""trainings from catalogues without sessions: dates to confirm (issue 21)

Revision ID: 0009
Revises: 0008

``trainings.start_date`` and ``trainings.end_date`` become nullable: a course read from the Mon Compte
Formation catalogue lists no session, so its dates are to confirm with the training body (NULL), and a
POE suggestion of it says so. Rows stored before all have dates and keep them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.alter_column("start_date", existing_type=sa.Date(), nullable=True)
        batch_op.alter_column("end_date", existing_type=sa.Date(), nullable=True)


def downgrade() -> None:
    # courses without dates cannot be kept by the older schema
    op.execute("DELETE FROM trainings WHERE start_date IS NULL OR end_date IS NULL")
    with op.batch_alter_table("trainings", schema=None) as batch_op:
        batch_op.alter_column("start_date", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("end_date", existing_type=sa.Date(), nullable=False)
