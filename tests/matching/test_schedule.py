"""Working-time attributes and employer size read from France Travail offers (matching.schedule).

The sentences below are written by hand after the wordings of the real offers (labels as France Travail
writes them, free-text phrasings of the descriptions); the last test reads the real file itself.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from matching.domain import Offer
from matching.ingest import parse_offer
from matching.ingest.normalised import normalised
from matching.schedule import (
    INSEE_WORKFORCE_BANDS,
    WorkSchedule,
    employer_size_band,
    schedule_attributes,
    schedule_evidence,
    workforce_stated,
)

NIGHTS, WEEKENDS, SHIFTS, SPLIT = (
    WorkSchedule.NIGHTS,
    WorkSchedule.WEEKENDS,
    WorkSchedule.SHIFTS,
    WorkSchedule.SPLIT,
)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("35H\nTravail de nuit", (NIGHTS,)),
        ("35H Travail en horaires décalés", (SHIFTS,)),
        ("35H\nTravail le samedi", (WEEKENDS,)),
        ("temps partiel\nTravail le samedi", (WEEKENDS,)),
        ("35H\nTravail le week-end", (WEEKENDS,)),
        ("35H\nTravail dimanche et jours fériés", (WEEKENDS,)),
        ("Travail les week-ends et jours fériés", (WEEKENDS,)),
        ("35H\nTravail posté (2x8, 3x8, 5x8, etc.)", (SHIFTS,)),
        ("Travail par roulement", (SHIFTS,)),
        ("35 H  Travail en horaires fractionnés", (SPLIT,)),
        ("35H\nTravail en horaires fractionnés", (SPLIT,)),
        # the labels of an ordinary day, and "travail en équipe" (teamwork, not shifts)
        ("35H\nTravail en journée", ()),
        ("39H Autre", ()),
        ("35H\nHoraires annuels", ()),
        ("35H Possibilité de télétravail", ()),
        ("Temps plein", ()),
        ("Travail en équipe", ()),
        ("", ()),
        (None, ()),
    ],
)
def test_france_travail_labels(label: str | None, expected: tuple[WorkSchedule, ...]) -> None:
    assert schedule_attributes(label) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Poste à pourvoir en horaires de nuit de 21h à 4h, à temps plein.",
        "Vous intégrerez notre équipe de nuit sur le site de tri.",
        "Avantages : prime de nuit, prime d'habillage, panier repas.",
        "Travail de nuit possible selon la charge.",
        "Le poste peut être de jour ou de nuit selon le planning.",
        "Horaires non fixes (jours, nuits).",
        "Rotation 5x8 (matin : 5h-13h / après-midi : 13h-21h / nuit : 21h-5h).",
        "Mission du lundi au vendredi, 22h - 6h.",
        "Vous réaliserez des opérations de maintenance de nuit.",
    ],
)
def test_nights_stated(sentence: str) -> None:
    assert NIGHTS in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        # the word alone, or "nuit" inside another
        "Vous garantissez la continuité de service des applications.",
        "Nos six agences, de Beaune à Nuits-Saint-Georges, recrutent.",
        "Une bonne nuit de sommeil vous attend après nos séminaires.",
        "Le forfait comprend deux nuitées à l'hôtel.",
        "Nos distributeurs régalent les gourmands jour et nuit.",
        # on-call, volunteers only, or denied
        "Participer aux astreintes (nuit et week-end, une semaine sur cinq).",
        "Des heures de nuit sont possibles mais non obligatoires.",
        "Pas de travail de nuit sur ce site.",
    ],
)
def test_nights_not_stated(sentence: str) -> None:
    assert NIGHTS not in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Travail le samedi.",
        "Vous travaillerez du lundi au samedi avec un jour de repos en semaine.",
        "Temps plein : du mardi au samedi, amplitude 11h-19h30.",
        "Week-ends travaillés par roulement.",
        "Travail un week-end sur deux.",
        "Planning sur 35h et 1 samedi matin/2 travaillé.",
        "Travail un samedi par mois d'avril à octobre.",
        "Disponible tous les samedis.",
        "Certains dimanches travaillés, repos à définir.",
        "Horaires : lundi au vendredi 6h-8h, samedi : 9h - 11h.",
        "Horaire flexible, y compris les soirs et les week-ends.",
        "Travail les jours fériés et les week-ends.",
        "Poste pouvant être de jour, de nuit ou de week-end.",
        "Vous ne travaillez que le week-end.",
    ],
)
def test_weekends_stated(sentence: str) -> None:
    assert WEEKENDS in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Horaires : du lundi au vendredi, repos le week-end, travail en journée.",
        "Du lundi au vendredi, week-ends libres.",
        "Vous ne travaillez pas le week-end, le luxe pour ce métier !",
        "Pas d'astreinte ni de travail le week-end.",
        "Repos le samedi et le dimanche.",
        "Restaurant du personnel ouvert chaque midi (sauf le dimanche).",
        "Possibilité de travailler le samedi sur la base du volontariat.",
        "Astreinte le week-end et les jours fériés sur le siège.",
        "Terrasse de café, un samedi en fin de matinée : deux amies parlent de données.",
        "CSE : activités sportives, culturelles, courts séjours et week-end.",
        "Horaire : 9h00 / 18h00, repos les samedis et dimanches.",
        "Jours fériés non travaillés.",
    ],
)
def test_weekends_not_stated(sentence: str) -> None:
    assert WEEKENDS not in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Horaires en 2x8, une semaine du matin, l'autre d'après-midi.",
        "Poste en 3X8 à pourvoir rapidement.",
        "Horaires 2*8 : 5h - 13h et 13h - 21h.",
        "Rythme de travail : poste en 5x8h.",
        "Au sein d'une équipe postée, vous contrôlez la production.",
        "Travail posté en usine.",
        "Ramassage des ordures ménagères (horaires décalés).",
        "Vous travaillerez en équipes alternantes.",
        "Amplitude 6h - 19h par roulement d'équipe.",
        "Alternance matin / après-midi une semaine sur deux.",
    ],
)
def test_shifts_stated(sentence: str) -> None:
    assert SHIFTS in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Vous aimez le travail en équipe et le contact client.",
        "Esprit d'équipe indispensable.",
        "Vous êtes à l'aise avec le poste de travail Windows.",
        "Tolérance de 3x8 mm sur les pièces usinées.",
        "Pas d'horaires décalés : travail en journée.",
    ],
)
def test_shifts_not_stated(sentence: str) -> None:
    assert SHIFTS not in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Poste en coupure, deux jours et demi de repos par semaine.",
        "Serveur en coupures et les week-ends.",
        "Poste 35h / coupure / repos le lundi.",
        "Travail en horaires fractionnés.",
        "Possibilité d'horaires en coupé : matin ou soir.",
        "Vous travaillerez en service du midi et du soir.",
        "Journée en deux temps, de 7h à 10h puis de 16h à 19h.",
    ],
)
def test_split_days_stated(sentence: str) -> None:
    assert SPLIT in schedule_attributes(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Heures continues (pas de coupure).",
        "Travail du lundi au samedi en matinée, pas de coupures.",
        "Assurer l'accueil lors de la coupure de l'agent en poste.",
        "Intervenir en cas de coupure de courant.",
        "Deux jours de fractionnement des congés.",
        "Opérations de découpe et de soudure.",
    ],
)
def test_split_days_not_stated(sentence: str) -> None:
    assert SPLIT not in schedule_attributes(sentence)


def test_attributes_sorted_unique_over_texts() -> None:
    found = schedule_attributes(
        "35H\nTravail de nuit",
        None,
        "Travail de nuit en 2x8, le samedi de 6h à 12h. Travail de nuit majoré.",
    )
    assert found == tuple(sorted({NIGHTS, SHIFTS, WEEKENDS}))
    assert len(found) == len(set(found))
    # each phrase is given with what it fires, for checking
    assert (NIGHTS, "Travail de nuit") in list(schedule_evidence("35H\nTravail de nuit"))


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("0 salarié", 0),
        ("1 ou 2 salariés", 1),
        ("3 à 5 salariés", 2),
        ("6 à 9 salariés", 3),
        ("10 à 19 salariés", 4),
        ("20 à 49 salariés", 5),
        ("50 à 99 salariés", 6),
        ("100 à 199 salariés", 7),
        ("200 à 249 salariés", 8),
        ("250 à 499 salariés", 9),
        ("500 à 999 salariés", 10),
        ("1 000 à 1 999 salariés", 11),
        ("2000 à 4999 salariés", 12),
        ("5\u00a0000 à 9\u00a0999 salariés", 13),
        ("10 000 salariés et plus", 14),
        ("Plus de 500 salariés", 10),
        ("1 à 5 employés", 2),  # the API documentation's example: the band of its middle
        ("Non renseigné", None),
        ("", None),
        (None, None),
        ("une grande entreprise", None),
    ],
)
def test_employer_size_band_from_wordings(text: str | None, band: int | None) -> None:
    assert employer_size_band(text) == band


def test_employer_size_band_from_insee_codes() -> None:
    codes = ["00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42", "51", "52", "53"]
    assert [code for code, _, _ in INSEE_WORKFORCE_BANDS] == codes
    assert [employer_size_band(code) for code in codes] == list(range(15))
    assert employer_size_band("NN") == 0  # a unit without employees
    assert employer_size_band("1") == 1  # "01" sent as a number
    assert not workforce_stated("Non renseigné") and workforce_stated("20 à 49 salariés")


# -- through the France Travail parser -----------------------------------------------------------------


def _record(**fields: Any) -> dict[str, Any]:
    return {
        "id": "SCHED1",
        "intitule": "Agent de tri (H/F)",
        "romeCode": "K2304",
        "dateCreation": "2025-01-10T08:00:00.000Z",
        "description": "Tri des déchets sur tapis.",
        **fields,
    }


def test_parser_reads_schedule_and_employer_size() -> None:
    result = parse_offer(
        _record(
            dureeTravailLibelle="temps partiel\nTravail le samedi",
            complementExercice="et jours fériés",
            contexteTravail={
                "horaires": ["35H Travail en horaires décalés"],
                "conditionsExercice": ["Autre"],
            },
            description="Équipe de nuit, prime de nuit.",
            trancheEffectifEtab="20 à 49 salariés",
        )
    )
    assert result.offer is not None and not result.warnings
    assert result.offer.schedule == (SHIFTS, NIGHTS, WEEKENDS)
    assert result.offer.employer_size_band == 5
    row = normalised({}, result)
    assert row["schedule"] == ["horaires_decales", "nuit", "week_end"]
    assert row["employer_size_band"] == 5


def test_parser_reads_the_documented_forms_and_warns_wrong_types() -> None:
    # the API documentation writes contexteTravail.horaires as one text and conditionExercice as text
    documented = parse_offer(
        _record(
            contexteTravail={"horaires": "35H Travail le samedi"},
            conditionExercice="Travail de nuit",
            trancheEffectifEtab=12,
        )
    )
    assert documented.offer is not None
    assert documented.offer.schedule == (NIGHTS, WEEKENDS)
    assert documented.offer.employer_size_band == 5
    unknown = parse_offer(_record(trancheEffectifEtab="Non renseigné"))
    assert unknown.offer is not None and unknown.offer.employer_size_band is None and not unknown.warnings

    wrong = parse_offer(
        _record(
            contexteTravail={"horaires": [35, "Travail de nuit"]},
            complementExercice=["Travail le samedi"],
            trancheEffectifEtab="une PME",
        )
    )
    assert wrong.offer is not None
    assert wrong.offer.schedule == (NIGHTS,)
    assert wrong.offer.employer_size_band is None
    assert {(w.field, w.problem) for w in wrong.warnings} == {
        ("contexteTravail.horaires", "expected text, got a number: dropped"),
        ("complementExercice", "expected text, got a list: dropped"),
        ("trancheEffectifEtab", "not a workforce band: dropped"),
    }
    assert parse_offer(_record(contexteTravail="nuit")).warnings[0].field == "contexteTravail"


def test_offer_schedule_is_canonical() -> None:
    created = datetime(2025, 1, 10, tzinfo=UTC)
    offer = Offer(
        id="O", title="t", rome_code="K2304", created_at=created, schedule=("week_end", "nuit", "nuit")
    )
    assert offer.schedule == (NIGHTS, WEEKENDS)
    with pytest.raises(ValueError, match="employer_size_band"):
        Offer(id="O", title="t", rome_code="K2304", created_at=created, employer_size_band=15)


# -- the real offers -------------------------------------------------------------------------------------


def test_real_offers_plausible_counts(offers_file: Path) -> None:
    """Each attribute found in some of the 3,589 real offers, none in more than 15 % (when the patterns
    were written: weekends 104, shifts 50, nights 22, split days 10)."""
    records = json.loads(offers_file.read_text(encoding="utf-8"))
    counts: Counter[WorkSchedule] = Counter()
    for raw in records:
        result = parse_offer(raw)
        assert result.offer is not None
        counts.update(result.offer.schedule)
    shares = {attribute.value: counts[attribute] / len(records) for attribute in WorkSchedule}
    print(f"\nschedule attributes of {len(records)} real offers: {dict(counts)} ({shares})")
    assert set(counts) == set(WorkSchedule)
    assert all(share <= 0.15 for share in shares.values()), shares
    # the labels alone are read without fail: every "Travail de nuit" label gives nights, and so on
    labelled = {
        "Travail de nuit": NIGHTS,
        "Travail le samedi": WEEKENDS,
        "Travail posté": SHIFTS,
        "horaires fractionnés": SPLIT,
    }
    for raw in records:
        label = raw.get("dureeTravailLibelle") or ""
        for words, attribute in labelled.items():
            if words in label:
                assert attribute in schedule_attributes(label), label
