"""Alembic environment: runs migrations on the engine passed by :func:`serving.storage.db.migrate`."""

from __future__ import annotations

from alembic import context

from serving.storage.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table rebuilds for ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
