"""Ingest of external data: France Travail offers (v2 JSON format)."""

from matching.ingest.files import read_offer_records
from matching.ingest.ft_offers import (
    IngestReport,
    OfferParse,
    parse_experience,
    parse_offer,
    parse_offers,
    parse_salary,
    parse_weekly_hours,
)

__all__ = [
    "IngestReport",
    "OfferParse",
    "parse_experience",
    "parse_offer",
    "parse_offers",
    "parse_salary",
    "parse_weekly_hours",
    "read_offer_records",
]
