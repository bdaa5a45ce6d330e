"""Realistic job-title variants of ROME appellations: labelled training titles for every fiche.

A few thousand labelled offers cover a few dozen ROME codes; the referential names 13,120 appellations
of all 1,584 fiches. Offers write those titles with the habits of job boards, which the variants
reproduce: one gendered form or an inclusive mark ("Serveur(se)", "Serveur·se"), a gender mark
("H/F", "(F/H)"), a seniority or contract word ("Senior", "Apprenti", "CDI"), a place ("- Lyon",
"Nantes (44)"), an employer or an urgency before the job ("URGENT -"), capitals, common
abbreviations ("Resp.", "Tech."), and one typing error.
"""

from __future__ import annotations

import re

import numpy as np

from matching.referential import gendered_forms

SENIORITY = (
    "Senior",
    "Junior",
    "Confirmé",
    "Expérimenté",
    "Débutant accepté",
    "Apprenti",
    "Stagiaire",
    "Lead",
)
PLACES = ("- Lyon", "- Paris", "Nantes (44)", "- Bordeaux", "Lille", "- Marseille 13", "(Toulouse)", "- 92")
GENDER_MARKS = ("H/F", "(H/F)", "F/H", "(F/H)", "- H/F", "(H/F/X)")
CONTRACT_WORDS = ("CDI", "CDD", "en alternance", "Intérim", "temps partiel", "saisonnier")
#: What job boards put before the job: an employer or agency name, an urgency, a reference.
PREFIXES = (
    "URGENT -",
    "Recrutement :",
    "GROUPE MARTIN -",
    "Adecco recrute",
    "Réf. 2451 -",
    "Nous recrutons un",
)
#: Abbreviations seen in real offer titles (whole words, case ignored).
ABBREVIATIONS = {
    "responsable": "Resp.",
    "technicien": "Tech.",
    "technicienne": "Tech.",
    "ingenieur": "Ing.",
    "ingénieur": "Ing.",
    "assistant": "Asst.",
    "administrateur": "Admin",
    "développeur": "Dév.",
    "commercial": "Cial",
    "conducteur": "Cond.",
}
_WORD = re.compile(r"\w+", re.UNICODE)


def _inclusive(masculine: str, feminine: str, rng: np.random.Generator) -> str:
    """ "Serveur(se)", "Serveur·se" or "Serveur/Serveuse" from the two forms of a first word."""
    common = 0
    while common < min(len(masculine), len(feminine)) and masculine[common] == feminine[common]:
        common += 1
    ending = feminine[common:]
    if not ending or common < 3:
        return f"{masculine}/{feminine}"
    return f"{masculine}({ending})" if rng.random() < 0.5 else f"{masculine}·{ending}"


def _typo(text: str, rng: np.random.Generator) -> str:
    """One typing error (a dropped or swapped letter) in a word of at least five letters."""
    words = [m for m in _WORD.finditer(text) if len(m.group()) >= 5]
    if not words:
        return text
    word = words[int(rng.integers(len(words)))]
    i = word.start() + int(rng.integers(1, len(word.group()) - 2))
    if rng.random() < 0.5:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def title_variant(label: str, rng: np.random.Generator) -> str:
    """One job-board style title for an appellation ``label`` (drawn with ``rng``).

    Parameters
    ----------
    label
        A ROME appellation or fiche label, both gendered forms in one ("Serveur / Serveuse de café").
    rng
        Source of the random choices (each variant draws a few numbers).

    Returns
    -------
    str
        A title as offers write it, e.g. "SERVEUR(SE) DE CAFÉ - Lyon (H/F)".
    """
    forms = gendered_forms(label)
    title = forms[1 + int(rng.integers(len(forms) - 1))] if len(forms) > 1 else forms[0]
    if len(forms) == 3 and rng.random() < 0.25:
        masculine, feminine = forms[1].split(), forms[2].split()
        if masculine and feminine and masculine[1:] == feminine[1:]:
            title = " ".join([_inclusive(masculine[0], feminine[0], rng), *masculine[1:]])
    if rng.random() < 0.2:
        words = title.split()
        title = " ".join(ABBREVIATIONS.get(w.casefold(), w) if rng.random() < 0.7 else w for w in words)
    if rng.random() < 0.3:
        seniority = SENIORITY[int(rng.integers(len(SENIORITY)))]
        title = f"{seniority} {title}" if rng.random() < 0.4 else f"{title} {seniority}"
    if rng.random() < 0.25:
        title = f"{title} {PLACES[int(rng.integers(len(PLACES)))]}"
    if rng.random() < 0.15:
        title = f"{title} {CONTRACT_WORDS[int(rng.integers(len(CONTRACT_WORDS)))]}"
    if rng.random() < 0.15:
        title = f"{PREFIXES[int(rng.integers(len(PREFIXES)))]} {title}"
    if rng.random() < 0.6:
        title = f"{title} {GENDER_MARKS[int(rng.integers(len(GENDER_MARKS)))]}"
    if rng.random() < 0.25:
        title = title.upper()
    if rng.random() < 0.15:
        title = _typo(title, rng)
    return title
