"""Explanations in French: ROME relation, required skills covered and missing, commute bucket, availability.

Distance is always told relative to the person's own commute limit, never as an address.
"""

from __future__ import annotations

from datetime import date

from matching.domain import DEFAULT_COMMUTE_KM, Location, Offer, Precision, Profile, missing_skills
from matching.geo import Communes, haversine_km, region_edge_km
from matching.referential import Referential, RomeRelation
from serving.schemas import Explanation

RELATION_LABELS = {
    RomeRelation.SAME: "même métier",
    RomeRelation.PARENT_CHILD: "même fiche métier (variante)",
    RomeRelation.SIBLING: "métier voisin (même famille)",
    RomeRelation.MOBILITY: "métier proche (mobilité)",
    RomeRelation.SAME_DOMAIN: "même domaine professionnel",
    RomeRelation.SAME_GRAND_DOMAIN: "même grand domaine",
    RomeRelation.FAR: "autre domaine",
}


def rome_relation(referential: Referential, profile: Profile, offer: Offer) -> str:
    known = [c for c in profile.rome_codes if c in referential.fiches]
    if offer.rome_code not in referential.fiches or not known:
        return "métier non référencé"
    best = min((referential.rome_distance(c, offer.rome_code) for c in known), key=lambda d: d.relation)
    label = RELATION_LABELS[best.relation]
    return f"{label}, rang {best.mobility_rank}" if best.mobility_rank else label


def place_label(place: Location, communes: Communes | None = None) -> str | None:
    """Where a job is, for people: the offer's own label (France Travail's "69 - Lyon 1er
    Arrondissement"), else its commune's name, never a bare INSEE code; ``None`` when unknown."""
    return place.label or (communes.name_of(place.insee) if communes is not None else None)


def km_between(a: Location, b: Location) -> float | None:
    """Great-circle distance between two places, ``None`` when either has no coordinates."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    return float(haversine_km(a.lat, a.lon, b.lat, b.lon))


def edge_km(home: Location, place: Location) -> float | None:
    """How far ``place`` is from ``home`` for a commute: to its point, to the edge of an approximate
    place (its centroid's distance minus its extent, at least 0), or for a region to its nearest
    département's edge; ``None`` when either has no coordinates. The candidate filter reads places the
    same way (:class:`matching.index.ItemFilter`)."""
    km = km_between(home, place)
    if km is None or home.lat is None or home.lon is None:
        return None
    if place.precision is Precision.REGION and place.area:
        return float(region_edge_km(place.area, home.lat, home.lon))
    return max(0.0, km - place.extent_km)


#: How an approximate place is told: "known to the département only".
_APPROXIMATE = {
    Precision.POSTAL_CODE: "lieu connu au code postal près",
    Precision.DEPARTEMENT: "lieu connu au département près",
    Precision.REGION: "lieu connu à la région près",
}


def commute_bucket(profile: Profile, offer: Offer) -> str:
    """The commute told relative to the person's own limit, and how precisely the place is known."""
    place = offer.location
    if place.anywhere:
        return "offre nationale, sans lieu précis"
    if place.precision is Precision.COUNTRY:
        return "à l'étranger"
    km = edge_km(profile.home, place)
    if km is None:
        return "distance inconnue"
    ratio = km / (profile.max_commute_km or DEFAULT_COMMUTE_KM)
    approximate = _APPROXIMATE.get(place.precision) if place.precision is not None else None
    if approximate is not None:
        within = (
            "peut-être dans le rayon de déplacement" if ratio <= 1.0 else "au-delà du rayon de déplacement"
        )
        return f"{approximate} : {within}"
    if ratio <= 0.5:
        return "moins de la moitié du rayon de déplacement"
    if ratio <= 1.0:
        return "dans le rayon de déplacement"
    return "au-delà du rayon de déplacement"


def availability(profile: Profile, today: date) -> str | None:
    if profile.available_from is None:
        return None
    if profile.available_from <= today:
        return "disponible"
    return f"disponible à partir du {profile.available_from:%d/%m/%Y}"


def explain(referential: Referential, profile: Profile, offer: Offer, today: date) -> Explanation:
    core = referential.skills_of(offer.rome_code).core if offer.rome_code in referential.fiches else ()
    missing = missing_skills(profile, offer, core)
    wanted = offer.required_skills or offer.skills or core
    label = {code: referential.skills[code].label for code in wanted if code in referential.skills}
    return Explanation(
        rome_relation=rome_relation(referential, profile, offer),
        skills_covered=[label.get(s, s) for s in wanted if s not in set(missing)],
        skills_missing=[label.get(s, s) for s in missing],
        commute=commute_bucket(profile, offer),
        availability=availability(profile, today),
    )
