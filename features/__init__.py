"""Pair features: what the ranker sees of a (profile, offer) pair, and of a (profile, offer, training) triple.

Owns the declared allowlist (:mod:`features.schema`), the market tables feature code may read
(:mod:`features.tables`: profiles, offers, trainings, the event log — never audit attributes), the
pair features as of a moment with refusal-aware history (:mod:`features.pairs`, as-of lookups in
:mod:`features.asof`), embedding similarity (:mod:`features.embeddings`), POE training features
(:mod:`features.poe`) and the validation of training data (:mod:`features.validation`). Pure: frames
in, frames out; imports only :mod:`matching`.
"""
