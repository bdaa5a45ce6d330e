"""The declared feature allowlist: every name the ranker may see, with what it means.

Protected attributes (sex, age, origin, nationality, family situation, health, disability, address,
postcode, commune, QPV) never appear: they are not even readable by the feature code, which reads only
:data:`serving.storage.tables.FEATURE_READABLE_TABLES`. Distance enters only relative to the person's
own declared (or observed) mobility, never in kilometres or as a place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from matching.domain import RefusalReason

REASONS: tuple[str, ...] = tuple(r.value for r in RefusalReason)
#: A stated refusal reason counts half as much after this many days: a constraint a person told us
#: weakens as their search goes on (preferences relax with time since registration).
EVIDENCE_HALF_LIFE_DAYS = 60

PAIR_FEATURES: dict[str, str] = {
    "embedding_similarity": "cosine between the profile's and the offer's ROME-aware text embeddings",
    "rome_same_code": "the offer's ROME code is one of the person's project codes",
    "rome_relation": "closest ROME relation (0 same, 1 parent/sub, 2 siblings, 3 mobility, 4 domain, 5 grand domain, 6 far)",
    "rome_mobility_rank": "rank of the link in the mobility graph when the relation is mobility (else missing)",
    "rome_second_project": "the offer's code is the person's second project code",
    "core_skill_coverage": "share of the offer's required skills (its fiche's core skills if none listed) the person has",
    "missing_required_skills": "count of required skills the person lacks",
    "skill_overlap": "Jaccard overlap between the person's skills and the offer's skills",
    "distance_ratio": "commute distance divided by the person's declared maximum commute",
    "beyond_declared_radius": "the offer lies beyond the person's declared commute",
    "salary_ratio": "offer's maximum monthly salary divided by the person's declared salary floor",
    "salary_vs_occupation": "offer's salary over the median salary offered for its ROME code (the going rate)",
    "contract_declared_ok": "the offer's contract type is among those the person declared (or none declared)",
    "offer_permanent": "the offer is a CDI",
    "hours_within_declared": "the offer's weekly hours lie within the person's declared range",
    "offer_full_time": "the offer is full time",
    "experience_gap_months": "months of experience the offer asks beyond the person's",
    "experience_required": "0 beginner accepted, 1 experience wished, 2 experience required",
    "qualification_gap": "offer's qualification level minus the person's",
    "offer_days_online": "days since the offer was published (freshness)",
    "offer_applications": "applications the offer had received before now (competition)",
    "offer_positions": "open positions of the offer",
    "travel_time_ratio": "estimated door-to-door minutes by the person's declared means of transport (a car if "
    "none declared) over their commute budget (declared minutes, else the declared radius at that mode's speed)",
    "salary_vs_own_pay": "offer's maximum monthly salary over the person's last (or expected) monthly pay",
    "offer_nights": "the offer works nights (France Travail working conditions or text)",
    "offer_weekends": "the offer works weekends",
    "offer_shifted_hours": "the offer works shifts or staggered hours (2x8, 3x8, horaires décalés)",
    "offer_split_days": "the offer's days are split (coupure, horaires fractionnés)",
    "employer_size_band": "the hiring establishment's workforce band (INSEE tranche d'effectif, 0..14)",
    "months_since_registration": "months since the person registered as a jobseeker (preferences relax with time)",
}

HISTORY_FEATURES: dict[str, str] = {
    "history_alerts": "alerts the person received before now",
    "history_open_rate": "share of the person's past alerts they opened",
    "history_apply_rate": "share of the person's past opened alerts they applied to",
    **{
        f"history_refusal_rate_{reason}": f"share of the person's past alerts refused for '{reason}'"
        for reason in REASONS
    },
    "distance_over_refused": "distance ratio over the smallest distance ratio the person refused as too far",
    "distance_over_applied": "distance ratio over the largest distance ratio the person applied at",
    "salary_over_refused": "offer salary over the highest salary the person refused as too low",
    "contract_refusals": "past refusals of this contract type for 'type_contrat'",
    "contract_applications": "past applications to this contract type",
    "hours_refusals": "past 'horaires' refusals of offers with the same full/part-time pattern",
    "rome_metier_refusals": "past 'metier' refusals of offers with this ROME code",
    "rome_applications": "past applications to offers with this ROME code",
    "coverage_over_refused": "skill coverage minus the highest coverage the person refused for 'competences'",
    "distance_over_tolerance": "distance ratio over the person's tolerated ratio: at least the declared radius "
    "and the farthest offer they applied to, capped by 0.8 of the nearest offer refused as too far, the cap "
    "trusted the more the more such refusals (shrunk toward the declared radius while the history is short)",
    **{
        f"evidence_{reason}": f"decaying evidence (half-life {EVIDENCE_HALF_LIFE_DAYS} days) that the person "
        f"refuses this offer for '{reason}': {what}"
        for reason, what in {
            "distance": "their distance refusals, in full where the offer is at least as far as the nearest "
            "of them, fading to nothing at 70 % of that distance",
            "salaire": "their salary refusals, in full where the offer pays no more than the best paid of "
            "them, fading to nothing at 28 % more",
            "type_contrat": "the larger of their refusals of this contract type and, where this one is not "
            "among the contracts they declared, their refusals of contracts they did not declare",
            "horaires": "their hours refusals of offers sharing a working-time attribute with this one "
            "(nights, weekends, shifts, split days), summed over its attributes",
            "horaires_pattern": "their hours refusals of offers with no working-time attribute and this one's "
            "full/part-time pattern",
            "metier": "for an offer outside their project only (one refused offer does not undo a declared "
            "project code): their refusals of this ROME code plus all their occupation refusals (one of "
            "this code counts twice)",
            "competences": "their skill refusals, where the offer covers no more of their skills",
        }.items()
    },
}

FEATURES: dict[str, str] = {**PAIR_FEATURES, **HISTORY_FEATURES}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)

TRAINING_FEATURES: dict[str, str] = {
    "missing_covered_share": "share of the person's missing skills for the offer that the training teaches",
    "missing_covered_count": "missing skills the training teaches",
    "training_hours": "length of the training in hours",
    "poe_eligible": "the training can be a POE (under 400 h)",
    "days_to_start": "days between today and the training's start",
    "ends_before_need": "the training ends before the offer's need date",
    "training_distance_ratio": "distance to the training over the person's declared commute (0 if remote)",
    "outcome_rate": "share of trainees in a job six months later",
}

# Words that name protected or location-identity fields; a feature name containing one is refused.
PROTECTED_TOKENS = (
    "sex",
    "gender",
    "genre",
    "civilite",
    "age",
    "birth",
    "naissance",
    "origin",
    "nationalit",
    "family",
    "famil",
    "marital",
    "child",
    "enfant",
    "health",
    "sante",
    "handicap",
    "disab",
    "rqth",
    "address",
    "adresse",
    "postcode",
    "postal",
    "commune",
    "insee",
    "city",
    "ville",
    "qpv",
    "density",
    "urban",
    "rural",
    "lat",
    "lon",
    "name",
    "nom",
)
_WORD = re.compile(r"[a-z]+")


class FeatureAllowlistError(ValueError):
    """A feature list names something outside the allowlist or a protected attribute."""


def protected_words(name: str) -> list[str]:
    """Protected tokens found among the ``_``-separated words of a feature name."""
    words = _WORD.findall(name.lower())
    return [t for t in PROTECTED_TOKENS if any(w == t or w.startswith(t) for w in words)]


def check_allowlist(names: Iterable[str], allowlist: Iterable[str] = FEATURE_NAMES) -> None:
    """Raise :class:`FeatureAllowlistError` unless every name is allowlisted and none is protected."""
    names = list(names)
    allowed = set(allowlist)
    unknown = [n for n in names if n not in allowed]
    protected = {n: protected_words(n) for n in names if protected_words(n)}
    if unknown or protected:
        raise FeatureAllowlistError(
            "feature list refused: "
            + "; ".join(
                [f"not allowlisted: {', '.join(unknown)}"] * bool(unknown)
                + [f"protected: {n} ({', '.join(w)})" for n, w in protected.items()]
            )
        )
