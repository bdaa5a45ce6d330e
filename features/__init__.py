"""Pair features for (profile, offer), (offer, profile) and (profile/offer, training).

Reads only feature-readable tables (``serving.storage.tables.FEATURE_READABLE_TABLES``); protected
attributes never enter here. Filled by the learning-to-rank issue.
"""
