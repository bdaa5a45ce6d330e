"""The served product: FastAPI API and French pages, use cases, batch jobs and storage.

Owns the app and its dependencies (:mod:`serving.app`, :mod:`serving.deps`, :mod:`serving.container`),
thin routers per resource (:mod:`serving.routers`) and pages (:mod:`serving.pages`), the use cases they
call (:mod:`serving.services`), explanations in French (:mod:`serving.explain`), token security
(:mod:`serving.security`), the alert batch, sequential or on Dask (:mod:`serving.batch`), and the
database (:mod:`serving.storage`: tables, repository, serving store, migrations). Imports
:mod:`models`, :mod:`features` and :mod:`matching`; never :mod:`eval` or :mod:`entrypoints`.
"""
