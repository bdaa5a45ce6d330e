"""How far Formacode → ROME competence links agree with what real offers ask for.

Real offers that name a Formacode (``formations[].codeFormation``) and list their competences say which
competences go with that training field. The links are built **without** the offers (tables and
embedding only), and for each Formacode the offers name, the competences it is said to teach are
compared with the competences those offers list:

* ``coverage``: share of those Formacodes with at least one taught competence;
* ``precision``: share of the taught competences that the offers list (micro-averaged); a lower bound,
  as offers list a few competences, not all that go with the field;
* ``chance precision``: the same for competences drawn at random among those a training may teach;
* ``fiche precision``: the same for competences drawn at random among the core competences of the
  offers' fiches (knowing the occupation, not the field).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from matching.formacode import FormacodeSkillLinker, FormacodeThesaurus
from matching.ingest.formacode import OfferFormation
from matching.referential import Referential


def offer_agreement(
    linker: FormacodeSkillLinker,
    thesaurus: FormacodeThesaurus,
    offer_formations: Iterable[OfferFormation],
    referential: Referential,
) -> dict[str, float]:
    """Agreement of ``linker``'s taught competences with the competences real offers list.

    Parameters
    ----------
    linker
        Links fitted without these offers.
    thesaurus
        Reads the offers' codes in the V13 numbering.
    offer_formations
        The offers' Formacodes with their ROME code and listed competences.
    referential
        The competences a training may teach (``linker.skill_codes_``) and the fiches' core ones.

    Returns
    -------
    dict of str to float
        ``formacodes`` (named by offers listing competences), ``coverage``, ``taught``,
        ``precision``, ``chance precision``, ``fiche precision``.
    """
    listed: dict[str, set[str]] = defaultdict(set)
    fiches: dict[str, set[str]] = defaultdict(set)
    for item in offer_formations:
        code = thesaurus.current(item.formacode)
        if code is None or not item.competences:
            continue
        listed[code].update(c for c in item.competences if c in referential.skills)
        if item.rome_code is not None and item.rome_code in referential.fiches:
            fiches[code].add(item.rome_code)
    teachable = set(getattr(linker, "skill_codes_", ()) or referential.skills)
    hits = taught_total = covered = 0
    chance = fiche_chance = 0.0
    for code, wanted in listed.items():
        taught = linker.skills_of([code])
        covered += bool(taught)
        taught_total += len(taught)
        hits += len(set(taught) & wanted)
        chance += len(taught) * len(wanted & teachable) / max(len(teachable), 1)
        core = {s for f in fiches[code] for s in referential.skills_of(f).core} & teachable
        fiche_chance += len(taught) * (len(wanted & core) / len(core) if core else 0.0)
    n = len(listed)
    return {
        "formacodes": float(n),
        "coverage": covered / n if n else 0.0,
        "taught": float(taught_total),
        "precision": hits / taught_total if taught_total else 0.0,
        "chance precision": chance / taught_total if taught_total else 0.0,
        "fiche precision": fiche_chance / taught_total if taught_total else 0.0,
    }
