"""what a counsellor's offer search reads, accent-free and lower case

Revision ID: 0006
Revises: 0005

* ``offers.search_text``: the offer's id, title, appellation, ROME code and place label as
  ``matching.referential.normalize_label`` writes them, so that a search ignores accents and case on
  SQLite and PostgreSQL alike ("infirmiere" finds "Infirmière") and finds offers by id, ROME code,
  appellation or commune. Filled here for the stored offers, by every upsert afterwards.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from serving.storage.repository import offer_search_text

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    offers = sa.table(
        "offers",
        sa.column("id", sa.String()),
        sa.column("title", sa.Text()),
        sa.column("appellation_label", sa.Text()),
        sa.column("rome_code", sa.String()),
        sa.column("location_label", sa.Text()),
        sa.column("search_text", sa.Text()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            offers.c.id,
            offers.c.title,
            offers.c.appellation_label,
            offers.c.rome_code,
            offers.c.location_label,
        )
    ).all()
    for start in range(0, len(rows), BATCH):
        connection.execute(
            offers.update()
            .where(offers.c.id == sa.bindparam("key"))
            .values(search_text=sa.bindparam("text")),
            [{"key": row[0], "text": offer_search_text(*row)} for row in rows[start : start + BATCH]],
        )


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("search_text")
