"""The database: SQLAlchemy tables, Alembic migrations, the repository of domain objects, the serving store.

SQLite by default, PostgreSQL by URL (:mod:`serving.storage.db`). Rows are separate from the domain
models (:mod:`serving.storage.tables`); :mod:`serving.storage.repository` turns one into the other;
:mod:`serving.storage.store` holds alert runs, alerts and their outbox, the recommendation log and
flags; :mod:`serving.storage.market` reads the feature-readable tables into
:class:`~features.tables.MarketTables`.
"""
