"""One offer as the engine read it, as plain JSON: what ``matching ingest offers --dry-run --json`` prints,
so that anyone can check a value against the source record without reading the database."""

from __future__ import annotations

from typing import Any

from matching.domain import RomeSource
from matching.ingest.ft_offers import OfferParse


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def normalised(raw: Any, result: OfferParse) -> dict[str, Any]:
    """The normalised fields of one parsed record.

    Parameters
    ----------
    raw
        The source record (its ``id`` is echoed when the offer was refused).
    result
        What :func:`~matching.ingest.parse_offer` gave for it.

    Returns
    -------
    dict
        ``id``; ``accepted``; ``rome`` (``code``, ``source`` as :class:`~matching.domain.RomeSource`
        writes it, ``inferred``, ``stated_code``, ``confidence``); ``appellation`` (``code``,
        ``label``); ``place`` (``precision``, ``insee``, ``label``, ``area``, ``lat``, ``lon`` in
        degrees, ``extent_km``); ``contract``; ``weekly_hours``; ``salary_monthly`` (``min``, ``max``:
        gross euros a month); ``schedule`` (the :class:`~matching.schedule.WorkSchedule` values the
        offer states); ``employer_size_band`` (INSEE's workforce band, 0 to 14); ``problems``: ``{"field", "problem", "kind"}`` with ``kind`` ``refused``
        (the record was not kept) or ``corrected`` (the field was dropped or fixed). Fields of a
        refused record are ``None``.
    """
    problems = [{"field": r.field, "problem": r.problem, "kind": "refused"} for r in result.rejections] + [
        {"field": w.field, "problem": w.problem, "kind": "corrected"} for w in result.warnings
    ]
    offer = result.offer
    if offer is None:
        record_id = raw.get("id") if isinstance(raw, dict) else None
        return {
            "id": record_id if isinstance(record_id, str) else None,
            "accepted": False,
            "rome": None,
            "appellation": None,
            "place": None,
            "contract": None,
            "weekly_hours": None,
            "salary_monthly": None,
            "schedule": None,
            "employer_size_band": None,
            "problems": problems,
        }
    place = offer.location
    return {
        "id": offer.id,
        "accepted": True,
        "rome": {
            "code": offer.rome_code,
            "source": offer.rome_source.value,
            "inferred": offer.rome_source is RomeSource.INFERRED,
            "stated_code": offer.stated_rome_code,
            "confidence": _rounded(offer.rome_confidence, 3),
        },
        "appellation": {"code": offer.appellation_code, "label": offer.appellation_label},
        "place": {
            "precision": None if place.precision is None else place.precision.value,
            "insee": place.insee,
            "label": place.label,
            "area": place.area,
            "lat": _rounded(place.lat, 5),
            "lon": _rounded(place.lon, 5),
            "extent_km": round(place.extent_km, 1),
        },
        "contract": None if offer.contract_type is None else offer.contract_type.value,
        "weekly_hours": offer.weekly_hours,
        "salary_monthly": {
            "min": _rounded(offer.salary_min_monthly, 2),
            "max": _rounded(offer.salary_max_monthly, 2),
        },
        "schedule": [attribute.value for attribute in offer.schedule],
        "employer_size_band": offer.employer_size_band,
        "problems": problems,
    }
