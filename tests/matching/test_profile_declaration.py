"""A jobseeker's declared means of transport, last pay and commute time: read as typed, refused in French."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from matching.domain import MobilityMode
from matching.geo import load_communes
from matching.ingest.profiles import ProfileDeclaration, profile_from_declaration
from matching.referential import Referential


def declare(**fields: object) -> ProfileDeclaration:
    return ProfileDeclaration.model_validate({"id": "P1", "home_insee": "75056", "job_title": "x", **fields})


def french_errors(**fields: object) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        declare(**fields)
    return [error["msg"] for error in raised.value.errors()]


@pytest.mark.parametrize(
    ("typed", "mode"),
    [
        ("voiture", MobilityMode.CAR),
        ("Voiture", MobilityMode.CAR),
        ("transports_en_commun", MobilityMode.PUBLIC_TRANSPORT),
        ("Transports en commun", MobilityMode.PUBLIC_TRANSPORT),
        ("vélo", MobilityMode.BIKE),
        ("velo", MobilityMode.BIKE),
        ("marche", MobilityMode.WALK),
        ("à pied", MobilityMode.WALK),
        ("", None),
        (None, None),
    ],
)
def test_mobility_mode_as_typed(typed: str | None, mode: MobilityMode | None) -> None:
    assert declare(mobility_mode=typed).mobility_mode == mode


def test_amounts_as_typed() -> None:
    assert declare(last_monthly_pay="1 850,50").last_monthly_pay == 1850.5
    assert declare(last_monthly_pay="1.850,50 €").last_monthly_pay == 1850.5
    assert declare(last_monthly_pay="1.850").last_monthly_pay == 1850.0
    assert declare(last_monthly_pay=2100).last_monthly_pay == 2100.0
    assert declare(last_monthly_pay="").last_monthly_pay is None
    assert declare(max_commute_minutes="45").max_commute_minutes == 45
    assert declare(max_commute_minutes=None).max_commute_minutes is None


def test_errors_are_french_and_name_the_field() -> None:
    assert french_errors(mobility_mode="avion") == [
        "Moyen de transport inconnu : « avion ». Choisissez voiture, transports en commun, vélo ou marche."
    ]
    assert french_errors(last_monthly_pay="beaucoup") == [
        "Dernier salaire mensuel brut : « beaucoup » n'est pas un nombre."
    ]
    assert french_errors(last_monthly_pay=0) == [
        "Dernier salaire mensuel brut : indiquez un montant positif, en euros."
    ]
    (annual,) = french_errors(last_monthly_pay=42000)
    assert annual.startswith(
        "Dernier salaire mensuel brut : 42\u202f000 € par mois, est-ce un salaire annuel ?"
    )
    for minutes in (0, 301, 12.5, "une heure"):
        (error,) = french_errors(max_commute_minutes=minutes)
        assert error.startswith("Temps de trajet maximal : ")


def test_labels_are_french() -> None:
    fields = ProfileDeclaration.model_fields
    assert fields["mobility_mode"].title == "Moyen de transport"
    assert fields["last_monthly_pay"].title == "Dernier salaire mensuel brut (€)"
    assert fields["max_commute_minutes"].title == "Temps de trajet maximal (minutes)"


def test_the_profile_gets_them(builtin: Referential) -> None:
    communes = load_communes()
    appellation = next(iter(builtin.appellations.values()))
    profile, audit = profile_from_declaration(
        declare(
            job_title=appellation.label,
            home_insee=str(communes.insee[0]),
            mobility_mode="vélo",
            last_monthly_pay="1 900",
            max_commute_minutes=40,
        ),
        builtin,
        communes,
        today=date(2025, 3, 10),
    )
    assert (profile.mobility_mode, profile.last_monthly_pay, profile.max_commute_minutes) == (
        MobilityMode.BIKE,
        1900.0,
        40,
    )
    # a travel mode and a pay are the profile's, not audit attributes
    assert not {"mobility_mode", "last_monthly_pay"} & set(type(audit).model_fields)
