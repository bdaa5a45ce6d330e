"""Offline evaluation and everything that supplies it: metrics, baselines, protocols, simulator, audit, benchmarks.

Owns ranking metrics (:mod:`eval.metrics`), baselines (:mod:`eval.baselines`), the market protocol
(:mod:`eval.market`, :mod:`eval.ranking`), the feedback-loop experiment (:mod:`eval.feedback`), reports
(:mod:`eval.report`), ROME classification evaluation (:mod:`eval.rome`), drift (:mod:`eval.drift`), the
fairness audit (:mod:`eval.audit`), the market simulator with its oracle (:mod:`eval.simulator`) and
the benchmarks (:mod:`eval.bench`). May import every stage below it, serving included.
"""
