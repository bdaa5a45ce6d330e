"""Matching and recommendation engine: job offers, jobseeker profiles and training courses on ROME 4.0.

Data flows one way: ingest -> features -> candidates -> rerank -> serve/eval. This package holds the
referential, the domain model, ingest, storage, the market simulator and (later) encoders, indexes and
candidate generation.
"""

__version__ = "0.1.0"
