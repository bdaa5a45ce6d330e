"""Pure parsers of external data: France Travail offers (v2 JSON format) with per-field problem reports,
and a jobseeker's declaration split into the profile the engine reads and audit-only attributes.

Parsers take records and return domain objects; reading files is limited to
:func:`~matching.ingest.files.read_offer_records` on a path the caller names.
"""

from matching.ingest.files import read_offer_records
from matching.ingest.ft_offers import (
    MIN_INFERRED_ROME_CONFIDENCE,
    ROME_RESOLUTIONS,
    IngestReport,
    OfferParse,
    fit_rome_classifier,
    lacks_rome_code,
    parse_experience,
    parse_offer,
    parse_offers,
    parse_salary,
    parse_weekly_hours,
    rome_classifier_for,
)

__all__ = [
    "MIN_INFERRED_ROME_CONFIDENCE",
    "ROME_RESOLUTIONS",
    "IngestReport",
    "OfferParse",
    "fit_rome_classifier",
    "lacks_rome_code",
    "parse_experience",
    "parse_offer",
    "parse_offers",
    "parse_salary",
    "parse_weekly_hours",
    "read_offer_records",
    "rome_classifier_for",
]
