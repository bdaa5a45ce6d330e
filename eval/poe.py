"""POE suggestions on real data: real offers, real training catalogues, how many offers get one.

For each real offer filed under a ROME code, a person with the offer's occupation as project, living at
the workplace (the offer's place, its commune's or its area's centroid), with the default commute and
none of the offer's competences yet, asks for POE trainings "as of" the offer's publication day: under
400 hours, teaching one of the missing competences, starting between that day and the offer's need date
(or with dates to confirm), within the commute or remote (:func:`serving.services.poe.suggest_trainings`,
the served path). The figure is the number of offers with at least one suggestion, by catalogue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matching.candidates import CandidateGenerator
from matching.domain import Offer, Training
from matching.encoders.base import Encoder
from matching.frames import trainings_to_frame
from matching.ingest.trainings import CATALOGUE_PREFIX, ID_PREFIX
from matching.referential import Referential
from serving.schemas import TrainingSuggestion
from serving.services.poe import offer_area_profile, suggest_trainings


@dataclass
class PoeReport:
    """What the real offers got: counts, and up to ``examples`` explanations."""

    offers: int = 0  # offers with a ROME code of the referential and a place
    with_gap: int = 0  # of which with at least one missing competence
    with_suggestion: int = 0
    suggestions: int = 0
    by_catalogue: Counter[str] = field(default_factory=Counter)  # offers served by each catalogue
    examples: list[tuple[Offer, TrainingSuggestion]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "offers_with_missing_competences": self.with_gap,
            "offers_with_a_suggestion": self.with_suggestion,
            "suggestions": self.suggestions,
            "offers_by_catalogue": dict(self.by_catalogue),
            "examples": [
                {
                    "offer_id": o.id,
                    "offer_title": o.title,
                    "training_id": s.training_id,
                    "explanation": s.explanation,
                }
                for o, s in self.examples
            ],
        }


def catalogue_of(training_id: str) -> str:
    """``"LHEO"`` or ``"Mon Compte Formation"`` from a stored training's id prefix, else ``"other"``."""
    if training_id.startswith(ID_PREFIX):
        return "LHEO"
    return "Mon Compte Formation" if training_id.startswith(CATALOGUE_PREFIX) else "other"


def real_poe_suggestions(
    offers: Sequence[Offer],
    trainings: Sequence[Training],
    referential: Referential,
    encoder: Encoder,
    *,
    k: int = 3,
    examples: int = 10,
) -> PoeReport:
    """Suggest POE trainings for each offer (module docstring) and count.

    Parameters
    ----------
    offers
        Real offers (parsed France Travail records).
    trainings
        Trainings ingested from real catalogues, with the competences their Formacodes teach.
    referential, encoder
        The ROME referential; the encoder of the training index.
    k
        Suggestions per offer at most.
    examples
        Explanations kept for the report.
    """
    generator = CandidateGenerator(referential=referential, encoder=encoder).index_trainings(list(trainings))
    frame = trainings_to_frame(trainings)
    report = PoeReport()
    for offer in offers:
        if offer.rome_code not in referential.fiches or not offer.location.has_coordinates:
            continue
        report.offers += 1
        person = offer_area_profile(offer)
        missing, found = suggest_trainings(
            generator, frame, referential, person, offer, today=offer.created_at.date(), k=k
        )
        report.with_gap += bool(missing)
        if not found:
            continue
        report.with_suggestion += 1
        report.suggestions += len(found)
        for catalogue in {catalogue_of(s.training_id) for s in found}:
            report.by_catalogue[catalogue] += 1
        shown = {s.explanation for _, s in report.examples}
        fresh = [s for s in found if s.explanation not in shown]  # a variety of trainings and gaps
        if fresh and len(report.examples) < examples:
            report.examples.append((offer, fresh[0]))
    return report
