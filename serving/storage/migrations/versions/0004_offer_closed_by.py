"""who withdrew an offer: its publisher through the API, or its source's full extract

Revision ID: 0004
Revises: 0003

* ``offers.withdrawn_by``: ``api`` (``DELETE /offers/{id}``: a person's decision, which a file
  re-ingested never undoes) or ``extract`` (France Travail's full extract no longer listed the offer:
  a later extract that lists it again opens it again). Offers withdrawn before this revision were
  withdrawn through the API, the only way there was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=16), nullable=True))
    offers = sa.table(
        "offers",
        sa.column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.column("withdrawn_by", sa.String(length=16)),
    )
    op.execute(offers.update().where(offers.c.withdrawn_at.is_not(None)).values(withdrawn_by="api"))


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_by")
