"""skills read from an offer's text (issue 22)

Revision ID: 0010
Revises: 0009

``offers.inferred_skills`` and ``offers.inferred_skill_scores``: the ROME competences and savoirs
(``code_ogr``) the skill extractor (``matching.skills.SkillExtractor``, ``matching skills build``) read
from the offer's title and description, best first, and the probability that the offer would list
each. The skills an offer lists stay in ``offers.skills``, as given.

Offers stored before get none; the next ingest of the same source version fills them (a newer
reading of a version already stored is taken without counting the offer as new, as for 0007).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inferred_skills", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("inferred_skill_scores", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_column("inferred_skill_scores")
        batch_op.drop_column("inferred_skills")
