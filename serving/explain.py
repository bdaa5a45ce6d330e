"""Explanations in French: ROME relation, required skills covered and missing, commute bucket, availability.

Distance is always told relative to the person's own commute limit, never as an address.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from matching.domain import (
    DEFAULT_COMMUTE_KM,
    Location,
    Offer,
    Precision,
    Profile,
    contract_label,
    missing_skills,
    skills_asked,
)
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


def occupation_label(referential: Referential, code: str) -> str:
    """An occupation in words: a ROME fiche's label with its code ("Cariste (N1101)"), an appellation's
    label, an unknown code as is."""
    if code in referential.fiches:
        return f"{referential.fiches[code].label} ({code})"
    if code in referential.appellations:
        return referential.appellations[code].label
    return code


def rome_relation(referential: Referential, profile: Profile, offer: Offer) -> str:
    known = [c for c in profile.rome_codes if c in referential.fiches]
    if offer.rome_code not in referential.fiches or not known:
        return "métier non référencé"
    best = min((referential.rome_distance(c, offer.rome_code) for c in known), key=lambda d: d.relation)
    label = RELATION_LABELS[best.relation]
    return f"{label}, rang {best.mobility_rank}" if best.mobility_rank else label


def commune_name(communes: Communes | None, insee: str | None) -> str | None:
    """A commune's name for people ("Lyon 03", "Saint-Denis"), never a bare code; ``None`` when unknown."""
    name = communes.name_of(insee) if communes is not None and insee else None
    return None if name is None or name == insee else name


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
    core = referential.core_skills(offer.rome_code)
    missing = missing_skills(profile, offer, core)
    wanted, source = skills_asked(offer.required_skills, offer.skills, offer.inferred_skills, core)
    label = {code: referential.skills[code].label for code in wanted if code in referential.skills}
    return Explanation(
        rome_relation=rome_relation(referential, profile, offer),
        skills_covered=[label.get(s, s) for s in wanted if s not in set(missing)],
        skills_missing=[label.get(s, s) for s in missing],
        skills_source=source.value,
        commute=commute_bucket(profile, offer),
        availability=availability(profile, today),
    )


# -- what a counsellor reads on a candidate's card ------------------------------------------------------

#: France Travail's qualification levels (``qualificationCode`` 1–9 of its referential), in words.
QUALIFICATION_LABELS = {
    "1": "manœuvre",
    "2": "ouvrier spécialisé",
    "3": "ouvrier qualifié (P1, P2)",
    "4": "ouvrier qualifié (P3, P4, OHQ)",
    "5": "employé non qualifié",
    "6": "employé qualifié",
    "7": "technicien",
    "8": "agent de maîtrise",
    "9": "cadre",
}


def qualification_label(code: str | None) -> str | None:
    """A qualification code in words ("6" → "employé qualifié"); ``None`` when none or unknown."""
    if not code:
        return None
    digits = "".join(ch for ch in str(code) if ch.isdigit())  # "6", "NV6"
    return QUALIFICATION_LABELS.get(digits.lstrip("0") or digits)


def experience_label(months: int | None) -> str:
    """Months of experience in words: "aucune expérience déclarée", "8 mois", "2 ans et 3 mois"."""
    if not months or months <= 0:
        return "aucune expérience déclarée"
    years, rest = divmod(int(months), 12)
    parts = []
    if years:
        parts.append(f"{years} an{'s' if years > 1 else ''}")
    if rest:
        parts.append(f"{rest} mois")
    return " et ".join(parts)


def hours_label(min_hours: float | None, max_hours: float | None) -> str | None:
    """Weekly hours wished in words ("de 15 à 30 h par semaine"); ``None`` when none was declared."""

    def h(value: float) -> str:
        return f"{value:g} h"

    if min_hours and max_hours:
        if min_hours == max_hours:
            return f"{h(min_hours)} par semaine"
        return f"de {h(min_hours)} à {h(max_hours)} par semaine"
    if min_hours:
        return f"au moins {h(min_hours)} par semaine"
    if max_hours:
        return f"au plus {h(max_hours)} par semaine"
    return None


#: The person's own actions in the event log, in words (their latest is their "last activity").
ACTIVITY_LABELS = {
    "alert_opened": "a consulté une offre reçue en alerte",
    "applied": "a postulé à une offre",
    "refused": "a répondu à une alerte",
    "training_enrolled": "s'est inscrit(e) à une formation",
}
#: How a counsellor reaches a candidate: through the service, never with personal contact data.
CONTACT = "Contacter via son conseiller France Travail ou la messagerie France Travail"


def stated_refusals(
    stated: Sequence[Sequence[str]], contract: str | None, full_time: bool | None
) -> list[list[str]]:
    """Why each candidate is placed lower, in words: the stated refusal reasons the offer repeats.

    The sourcing ranking (:func:`models.pipeline.rank_profiles_for_offer`) subtracts
    :data:`models.scoring.STATED_PENALTY` per reason :func:`features.pairs.stated_constraints` finds,
    and returns those reasons; this names them, one sentence each, so that a card tells why its
    candidate comes after the others instead of a score of −1000.

    Parameters
    ----------
    stated
        For each of ``m`` candidates, the keys of the reasons repeated (``distance``, ``salaire``,
        ``type_contrat``, ``horaires``, ``metier``, ``competences``).
    contract
        The offer's contract code (named in the contract sentence).
    full_time
        Whether the offer is full time (named in the hours sentence); ``None`` when unknown.

    Returns
    -------
    list of list of str
        ``m`` lists, empty for a candidate who repeats no stated refusal.
    """
    contract_words = f"a refusé ce type de contrat ({contract_label(contract)})" if contract else None
    rhythm = (
        {True: " à temps plein", False: " à temps partiel"}.get(full_time, "")
        if full_time is not None
        else ""
    )
    words = {
        "distance": "a déjà refusé comme trop loin une offre à une distance comparable ou moindre",
        "salaire": "a déjà refusé pour le salaire une offre payée autant ou mieux",
        "type_contrat": contract_words or "a refusé ce type de contrat",
        "horaires": f"a refusé des offres{rhythm} pour leurs horaires",
        "metier": "offre hors de son projet, et a déjà refusé des offres comme « pas mon métier »",
        "competences": "a déjà refusé, faute de compétences, une offre qui lui correspondait autant que celle-ci",
    }
    return [[words[reason] for reason in reasons] for reasons in stated]
