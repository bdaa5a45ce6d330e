"""Working-time attributes of an offer read from its texts, and the size band of its employer.

Pure functions over France Travail's "Offres d'emploi v2" fields (issue 19): :func:`schedule_attributes`
reads the unusual hours a job imposes (nights, weekends, shifts, split days) from ``dureeTravailLibelle``
("35H\\nTravail de nuit"), ``complementExercice``, ``conditionExercice``, ``contexteTravail.horaires`` and
the description; :func:`employer_size_band` reads the establishment's workforce band
(``trancheEffectifEtab``) as the ordinal of INSEE's nomenclature.

The labels France Travail puts after the hours are those of the ROME 4.0 work contexts "Horaires et
durée du travail" (``unix_referentiel_contexte_travail_v460_utf8.csv``: "Travail de nuit", "Travail le
samedi", "Travail le dimanche", "Travail les week-ends et jours fériés", "Travail posté (2x8, 3x8, 5x8,
etc.)", "Travail en horaires décalés", "Travail par roulement", "Travail en horaires fractionnés"); the
same patterns read them and the free text. On free text precision comes before recall: a phrase fires
only where it says the job is worked then ("travail de nuit", "samedis travaillés", "du lundi au
samedi", "un week-end sur deux"), never on the word alone ("continuité", "Nuits-Saint-Georges", "une
bonne nuit de sommeil", "un samedi en terrasse"), and not when its clause denies it ("repos le
week-end", "pas de coupure"), keeps it for on-call duty ("astreintes les nuits et week-ends": not the
job's hours) or leaves it to volunteers ("le samedi sur la base du volontariat").
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from enum import StrEnum


class WorkSchedule(StrEnum):
    """Unusual working hours an offer states (what a "horaires" refusal is about).

    ``SHIFTS`` is shift work in successive teams (travail posté, 2x8/3x8/5x8, horaires décalés, équipes
    alternantes ou successives, travail par roulement), not "travail en équipe", which means teamwork
    in most offers. ``SPLIT`` is a working day cut in two by a long break (horaires fractionnés,
    coupure, journée en deux temps).
    """

    NIGHTS = "nuit"
    WEEKENDS = "week_end"
    SHIFTS = "horaires_decales"
    SPLIT = "coupure"


# -- schedule patterns (case ignored, accents optional where offers drop them) -------------------------

# a word saying that something is done, worked or open at the time named after it
_AT_WORK = (
    r"(?:travail\w*|travaux|horaires?|heures?|[ée]quipes?|postes?|services?|veill\w*|primes?|"
    r"majorations?|major[ée]e?s?|activit[ée]s?|maintenance|interventions?|missions?|shifts?|"
    r"vacations?|permanences?|cycles?|rythmes?|op[ée]rations?|tourn[ée]es?|collectes?)"
)
# the same, for a day named up to 30 characters further ("travail en semaine et le samedi"): the words
# that at such a distance still speak of the job's own hours ("activité" also names a staff club's
# "activités sportives, culturelles, week-ends")
_AT_WORK_ON_DAYS = (
    r"(?:travail\w*|travaux|horaires?|heures?|[ée]quipes?|postes?|services?|primes?|majorations?|"
    r"major[ée]e?s?|interventions?|permanences?|tourn[ée]es?|collectes?|ouvertes?|ouverture|"
    r"pr[ée]sence|disponibilit[ée]s?|disponibles?|plannings?|roulement)"
)
_DAY_OFF = r"(?:samedis?|dimanches?|week[- ]?ends?|weed[- ]?ends?|jours?\s+f[ée]ri[ée]s?|(?-i:\bWE\b))"
_WEEKDAY = r"(?:lundi|mardi|mercredi|jeudi|vendredi)"
_HOUR = r"(?:[01]?\d|2[0-3])\s*(?:h|:\d\d)"  # a time of day: "9h", "07h30", "23:00" (not "35h")

_PATTERNS: dict[WorkSchedule, tuple[str, ...]] = {
    WorkSchedule.NIGHTS: (
        # "travail de nuit", "horaires de nuit", "équipe de nuit", "prime de nuit", "travailler la nuit"
        rf"\b{_AT_WORK}\s+(?:de\s+|en\s+|la\s+|les\s+)?nuits?\b(?!-saint)",
        r"\b(?:travail|horaires?|postes?|services?)\s+nocturnes?\b",
        # "de jour, de nuit", "de jour ou de nuit", "(jours, nuits)", "journée - nuit" (not "jour et nuit":
        # machines and shops are open "jour et nuit", people rarely work both)
        r"\bjours?\s*(?:,|ou|/|-|comme)\s*(?:de\s+)?nuits?\b",
        r"\bjours?\s+et\s+de\s+nuits?\b",
        r"\bjourn[ée]es?\s*[-/]\s*nuits?\b",
        # a shift list: "matin : 5h-13h / nuit : 21h-5h"
        rf"\bnuits?\s*:\s*{_HOUR}",
        # hours across midnight, from 20h or later to 7h at the latest: "21h45 - 05h15", "23:00 / 05:00"
        r"\b2[0-3]\s*[h:]\s*\d{0,2}\s*(?:-|–|/|à)\s*0?[0-7]\s*[h:]",
    ),
    WorkSchedule.WEEKENDS: (
        # "travail le samedi", "travaillerez les week-ends", "disponible le week-end", "ouvert le samedi"
        rf"\b{_AT_WORK_ON_DAYS}\b[^.;!?\n]{{0,30}}?(?<![\w-]){_DAY_OFF}",
        # "samedis travaillés", "week-ends travaillés par roulement", "jours fériés par roulement"
        rf"(?<![\w-]){_DAY_OFF}\s+(?:\w+\s+){{0,2}}?(?:travaill[ée]|par\s+roulement|en\s+roulement)",
        # "y compris les soirs et les week-ends", "en semaine, week-end et jour férié", "de nuit ou de week-end",
        # "samedi et dimanche matin sur planning"
        rf"\by\s+compris\s+[^.;!?\n]{{0,20}}?(?<![\w-]){_DAY_OFF}",
        rf"\b(?:semaines?|nuits?)\s*(?:,|et|ou|/|\+)\s*(?:de\s+|les?\s+|en\s+)?{_DAY_OFF}",
        rf"(?<![\w-]){_DAY_OFF}[^.;!?\n]{{0,25}}?\b(?:sur|selon)\s+(?:le\s+)?planning",
        # "du lundi au samedi", "mardi au samedi", "du mercredi au dimanche"; "mardis et samedis",
        # "Lundi - Mercredi - Jeudi - Samedi"
        rf"\b{_WEEKDAY}\s+au\s+(?:samedi|dimanche)\b",
        rf"\b{_WEEKDAY}s?(?:\s*(?:-|,|/|et)\s*{_WEEKDAY}s?)*\s*(?:-|,|/|et)\s*(?:samedi|dimanche)s?\b",
        # "un week-end sur deux", "1 samedi matin/2", "un samedi par mois", "roulement de 1 weekend / 2"
        rf"\b(?:un|une|1|deux|2|trois|3)\s+{_DAY_OFF}(?:\s+(?:matin|apr[eè]s[- ]midi|soir))?\s*"
        r"(?:sur|/|par)\s*(?:\d|deux|trois|quatre|cinq|mois)",
        # "tous les samedis", "certains dimanches", "chaque week-end"
        rf"\b(?:tous\s+les|certains|certaines|chaque)\s+{_DAY_OFF}",
        # "samedi : 9h-12h", "le samedi de 7h00 à 20h00", "Samedi matin 8h"
        rf"(?<![\w-]){_DAY_OFF}[ \t]*(?:matin|apr[eè]s[- ]midi|soir)?[ \t]*(?::|,)?[ \t]*(?:de[ \t]+)?{_HOUR}",
    ),
    WorkSchedule.SHIFTS: (
        # "2x8", "3x8", "5x8", "2*8", "2 X 8", "2x7", "2x12"; "en 3/8"
        r"(?<![\d,.])\b[2-5]\s*[x×*]\s*(?:7|8|12)(?!\d)(?!\s*(?:mm|cm|m\b|go|gb|ghz))",
        r"\ben\s+[2-5]\s*/\s*8\b",
        # "travail posté", "équipe postée", "horaires : posté" (accent required: "poste" is a job)
        r"\b(?:travail(?:le[rz]?)?|[ée]quipes?|horaires?|rythmes?|organisation)\s*:?\s*(?:en\s+)?"
        r"post(?:é|ée|és|ées)\b",
        r"\b(?:horaires?|rythmes?|travail|planning)\s+(?:en\s+)?d[ée]cal[ée]e?s?\b",
        r"\ben\s+d[ée]cal[ée]e?s?\b",
        r"\b[ée]quipes?\s+(?:alternantes?|altern[ée]es?|successives?|tournantes?)\b",
        r"\b(?:horaires?|plannings?|postes?)\s+tournants?\b",
        # "Travail par roulement" (the ROME context), "par roulement d'équipe"
        r"\b(?:travail|horaires?|organisation|fonctionnement)\s+(?:en|par)\s+roulement\b",
        r"\broulements?\s+d'[ée]quipes?\b",
        # "alternance matin / après-midi", "alternés chaque semaine", "une semaine du matin"
        r"\baltern\w*\s+(?:(?:chaque|une|toutes?\s+les)\s+semaines?|(?:du\s+)?matin|jour|de\s+postes?)\b",
        r"\bune\s+semaine\s+(?:du|le|de)\s+matin\b",
    ),
    WorkSchedule.SPLIT: (
        r"\b(?:horaires?|journ[ée]es?|travail|services?)\s+(?:en\s+)?(?:fractionn[ée]e?s?|discontinue?s?)\b",
        r"\b(?:horaires?|journ[ée]es?|travail|postes?)\s+(?:en\s+|avec\s+)?coup(?:ure|ures|é|ée|és|ées)\b",
        r"\b(?:en|avec)\s+coup(?:ures?|é|ée|és)\b(?!\s+(?:de\s+courant|d'[ée]lectricit|[ée]lectriques?|r[ée]seau|d'eau|de\s+gaz))",
        r"/\s*coupures?\s*/",
        r"\b(?:journ[ée]es?|travail|horaires?)\s+en\s+(?:deux|2)\s+temps\b",
        # a restaurant's two services: "service du midi et du soir", "travail le midi et le soir"
        r"\b(?:services?|travail\w*)\s+(?:du|le)\s+midi\s+et\s+(?:du|le)\s+soir\b",
    ),
}
_COMPILED = {
    attribute: tuple(re.compile(p, re.IGNORECASE) for p in patterns)
    for attribute, patterns in _PATTERNS.items()
}
# A text can state an attribute only if it holds one of these (lower-cased) words, or matches the
# attribute's cue: most descriptions hold none, and a substring test is far cheaper than the patterns,
# which then read only the texts where they may fire.
_WORDS: dict[WorkSchedule, tuple[str, ...]] = {
    WorkSchedule.NIGHTS: ("nuit", "nocturne"),
    WorkSchedule.WEEKENDS: ("samedi", "dimanche", "week", "weed", "féri", "feri"),
    WorkSchedule.SHIFTS: ("posté", "décal", "decal", "altern", "successi", "tournant", "roulement", "matin"),
    WorkSchedule.SPLIT: ("fractionn", "discontinu", "coup", "temps", "midi"),
}
_CUES: dict[WorkSchedule, re.Pattern[str]] = {
    WorkSchedule.NIGHTS: re.compile(r"2[0-3]\s*[h:]"),  # a time from 20h: hours across midnight
    WorkSchedule.WEEKENDS: re.compile(r"\bWE\b"),  # "WE", case kept
    WorkSchedule.SHIFTS: re.compile(r"[2-5]\s*[x×*/]\s*(?:7|8|12)", re.IGNORECASE),  # "2x8", "3/8"
}

# Where a clause ends: its words no longer deny or qualify the next one. A full stop between digits
# ("7.5h") and a star between digits ("2*8") end nothing; "***" separates items in some offers.
_CLAUSE_END = re.compile(r"[;!?\n|•]|(?<!\d)\.|\.(?!\d)|\*{2,}|(?<!\d)\*(?!\d)")
# just before a phrase in its clause: the phrase is denied ("pas de travail le dimanche", "repos le
# samedi", "sauf le dimanche", "hors jours fériés", "fermé le dimanche", "très rarement le samedi")
_DENIED_BEFORE = re.compile(
    r"(?<![^\W\d_])(?:pas|ni|sans|aucune?|jamais|repos|sauf|hors|except[ée]s?|ferm[ée]e?s?|rarement|"
    r"exceptionnel\w*)\b",
    re.IGNORECASE,
)
# anywhere before a phrase in its clause: on-call duty ("astreintes techniques en dehors des heures de
# travail la semaine et le week-end") or volunteers only ("pourra se porter volontaire … (nuit et
# week-ends)"): not the job's own hours
_ASIDE_BEFORE = re.compile(r"\b(?:astreintes?|volontai\w*)\b", re.IGNORECASE)
_LOOK_BEFORE = 40  # characters of the clause before a phrase that can deny it
# inside a phrase, "non" denies it too ("jours fériés non travaillés"); before it, it mostly qualifies
# something else ("horaires non fixes (jours, nuits)")
_DENIED_WITHIN = re.compile(rf"{_DENIED_BEFORE.pattern}|\bnon\b", re.IGNORECASE)
# after a phrase in its clause: days free, or hours left to volunteers ("le samedi sur la base du
# volontariat", "heures de nuit possibles mais non obligatoires")
_DENIED_AFTER = re.compile(
    r"^\W*(?:libres?|off|non\s+travaill\w*|de\s+repos|ch[ôo]m[ée]s?|ferm[ée]s?|exclus?)\b|"
    r"\b(?:volontariat|volontaires?|facultatif\w*|optionnel\w*|non\s+obligatoires?)\b",
    re.IGNORECASE,
)
_LOOK_AFTER = 60


def _clean(text: str) -> str:
    """Entities decoded ("&nbsp;", "&apos;"), typographic apostrophes and spaces made plain."""
    text = html.unescape(text)
    return text.replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ")


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Where the clause holding ``text[start:end]`` begins and ends."""
    begin = 0
    for mark in _CLAUSE_END.finditer(text, 0, start):
        begin = mark.end()
    after = _CLAUSE_END.search(text, end)
    return begin, len(text) if after is None else after.start()


def _stated(text: str, match: re.Match[str]) -> bool:
    """Whether a phrase says the job is worked then: not denied nor qualified away in its clause."""
    begin, finish = _clause_bounds(text, match.start(), match.end())
    before = text[max(begin, match.start() - _LOOK_BEFORE) : match.start()]
    after = text[match.end() : min(finish, match.end() + _LOOK_AFTER)]
    # the phrase itself may carry the denial too ("samedis non travaillés", "ne travaillez pas le samedi")
    return not (
        _DENIED_BEFORE.search(before)
        or _ASIDE_BEFORE.search(text, begin, match.start())
        or _DENIED_WITHIN.search(match.group(0))
        or _DENIED_AFTER.search(after)
    )


def schedule_evidence(*texts: str | None) -> Iterator[tuple[WorkSchedule, str]]:
    """Each phrase of ``texts`` that states an unusual schedule, with the attribute it gives.

    What :func:`schedule_attributes` reads, phrase by phrase: for checking a pattern against real
    offers and for explaining an attribute.

    Parameters
    ----------
    *texts
        Offer texts (labels, free text); ``None`` and empty ones are skipped.

    Yields
    ------
    tuple[WorkSchedule, str]
        The attribute and the phrase as written.
    """
    for raw in texts:
        if not raw or not isinstance(raw, str):
            continue
        text = _clean(raw)
        lower = text.lower()
        for attribute, patterns in _COMPILED.items():
            cue = _CUES.get(attribute)
            if not any(word in lower for word in _WORDS[attribute]) and (cue is None or not cue.search(text)):
                continue
            for pattern in patterns:
                for match in pattern.finditer(text):
                    if _stated(text, match):
                        yield attribute, match.group(0)


def schedule_attributes(*texts: str | None) -> tuple[WorkSchedule, ...]:
    """The unusual working hours an offer states in any of its texts.

    Parameters
    ----------
    *texts
        France Travail's ``dureeTravailLibelle`` ("35H\\nTravail de nuit", "35 H  Travail en horaires
        fractionnés"), ``complementExercice``, ``conditionExercice``, each of ``contexteTravail.horaires``,
        the description; ``None`` and empty texts are skipped. Each text is read alone.

    Returns
    -------
    tuple[WorkSchedule, ...]
        Each attribute found once, in the order of their values; ``()`` when none is stated (a
        daytime job, or hours not said).

    Notes
    -----
    On the 3,589 real offers (``tests/matching/test_schedule.py`` prints the counts): weekends in 104
    (2.9 %), shifts in 50 (1.4 %), nights in 22 (0.6 %), split days in 10 (0.3 %); every phrase that
    fired was read in its offer when the patterns were written, and the offers naming a day, a night or
    a break that none fired on too (on-call duty, "repos le week-end", staff-club week-ends…).
    """
    found = {attribute for attribute, _ in schedule_evidence(*texts)}
    return tuple(sorted(found))


# -- employer size -------------------------------------------------------------------------------------

#: INSEE's workforce bands ("tranches d'effectif salarié"), by ordinal: the code and the lowest and
#: highest number of employees of each (``None``: no upper bound).
INSEE_WORKFORCE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("00", 0, 0),
    ("01", 1, 2),
    ("02", 3, 5),
    ("03", 6, 9),
    ("11", 10, 19),
    ("12", 20, 49),
    ("21", 50, 99),
    ("22", 100, 199),
    ("31", 200, 249),
    ("32", 250, 499),
    ("41", 500, 999),
    ("42", 1000, 1999),
    ("51", 2000, 4999),
    ("52", 5000, 9999),
    ("53", 10000, None),
)
_BAND_OF_CODE = {code: ordinal for ordinal, (code, _, _) in enumerate(INSEE_WORKFORCE_BANDS)}
# "NN": a unit without employees through the year (no salaried workforce): the smallest band
_BAND_OF_CODE["NN"] = 0
# a number of employees, its thousands grouped or not: "10 000", "1 999", "5000", "1.000"
_NUMBER = r"\d{1,3}(?:[ .]\d{3})+|\d+"
_RANGE_RE = re.compile(rf"(?P<low>{_NUMBER})\s*(?:à|a|-|–|ou)\s*(?P<high>{_NUMBER})")
_AT_LEAST_RE = re.compile(
    rf"(?:plus\s+de\s+|au\s+moins\s+)(?P<low>{_NUMBER})|(?P<from>{_NUMBER})\D*\bet\s+plus\b"
)
_ONE_RE = re.compile(rf"(?P<one>{_NUMBER})")
_UNKNOWN_RE = re.compile(r"non\s+renseign|inconnu|non\s+pr[ée]cis|^\W*$", re.IGNORECASE)


def _count(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def _band_of(employees: int) -> int:
    """The ordinal of the band holding ``employees``."""
    for ordinal, (_, low, high) in enumerate(INSEE_WORKFORCE_BANDS):
        if employees >= low and (high is None or employees <= high):
            return ordinal
    raise AssertionError("the bands cover every count")  # pragma: no cover


def workforce_stated(text: str | None) -> bool:
    """Whether a ``trancheEffectifEtab`` says anything: not empty, not "Non renseigné" (France Travail's
    word for an establishment whose workforce it does not know)."""
    return text is not None and not _UNKNOWN_RE.search(_clean(str(text)).strip())


def employer_size_band(text: str | None) -> int | None:
    """The INSEE workforce band of an establishment as an ordinal, 0 (no employee) to 14 (10,000 and more).

    Reads France Travail's ``trancheEffectifEtab`` as written ("0 salarié", "1 ou 2 salariés", "20 à 49
    salariés", "1 000 à 1 999 salariés", "10 000 salariés et plus", "Non renseigné") and INSEE's two-
    character codes ("00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42", "51",
    "52", "53"; "NN", a unit without employees, as 0).

    Parameters
    ----------
    text
        The band as written, or its code.

    Returns
    -------
    int or None
        0 for "0 salarié", 1 for "1 ou 2", 2 for "3 à 5", 3 for "6 à 9", 4 for "10 à 19", 5 for "20 à
        49", 6 for "50 à 99", 7 for "100 à 199", 8 for "200 à 249", 9 for "250 à 499", 10 for "500 à
        999", 11 for "1 000 à 1 999", 12 for "2 000 à 4 999", 13 for "5 000 à 9 999", 14 for "10 000
        et plus"; ``None`` when not stated or not a band. A range that is not one of INSEE's (the API
        documentation's example, "1 à 5 employés") is read as the band of its middle; "N et plus" as
        the band of N.

    Notes
    -----
    The bands are INSEE's "tranche d'effectif salarié" of the Sirene register (variables
    ``trancheEffectifsEtablissement`` and ``trancheEffectifsUniteLegale``; INSEE, *Sirene : description
    des variables*, https://www.sirene.fr/static-resources/htm/v_sommaire.htm), the nomenclature France
    Travail's ``trancheEffectifEtab`` spells out in words.
    """
    if text is None:
        return None
    cleaned = _clean(str(text)).strip()
    # a code sent as a number loses its leading zero (1 for "01"): put it back
    code = cleaned.upper().zfill(2) if cleaned.isdigit() else cleaned.upper()
    if code in _BAND_OF_CODE:
        return _BAND_OF_CODE[code]
    if _UNKNOWN_RE.search(cleaned):
        return None
    if (at_least := _AT_LEAST_RE.search(cleaned)) is not None:
        return _band_of(_count(at_least["low"] or at_least["from"]))
    if (both := _RANGE_RE.search(cleaned)) is not None:
        low, high = sorted((_count(both["low"]), _count(both["high"])))
        return _band_of((low + high) // 2)
    if (one := _ONE_RE.search(cleaned)) is not None and re.search(r"salari|employ|personne", cleaned, re.I):
        return _band_of(_count(one["one"]))
    return None
