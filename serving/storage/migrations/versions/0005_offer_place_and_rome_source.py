"""how precise an offer's place is, and where its ROME code comes from

Revision ID: 0005
Revises: 0004

* ``offers.place_precision``, ``place_area``, ``place_extent_km``: a workplace given only as a
  département, a region, a country or "France" is placed at the best known level
  (``matching.domain.Precision``) instead of being treated as national. Rows stored before keep NULL
  (not stated) until their offer is ingested again.
* ``offers.rome_source``, ``stated_rome_code``, ``rome_confidence``: an offer filed under its
  appellation's sub-fiche, kept with a conflicting appellation, or coded by the ROME classifier
  (``matching.domain.RomeSource``). NULL: the source's code, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("rome_source", sa.String(length=16)),
    ("stated_rome_code", sa.String(length=5)),
    ("rome_confidence", sa.Float()),
    ("place_precision", sa.String(length=16)),
    ("place_area", sa.String(length=64)),
    ("place_extent_km", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
