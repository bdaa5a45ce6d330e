"""What a jobseeker's answers change, what an alert says of criteria, where "Je postule" may lead, and
how the engine's clock is set: pure rules, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from entrypoints.settings import Settings
from matching.domain import ContractType, Location, Offer, Profile, RefusalReason, Subscription
from matching.ingest import parse_offer
from matching.referential import Referential
from serving.services.alerts import outside_criteria, subscription_changes, trusted_apply_url


def _offer(referential: Referential, code: str, **fields: object) -> Offer:
    return Offer(
        id="O1",
        title="Offre",
        rome_code=code,
        location=Location(lat=48.85, lon=2.35),
        created_at=datetime(2025, 3, 1, tzinfo=UTC),
        **fields,  # type: ignore[arg-type]
    )


def test_pas_ce_metier_excludes_a_neighbouring_fiche_or_an_appellation_of_ones_own(
    builtin: Referential,
) -> None:
    own, other = sorted(builtin.fiches)[:2]
    appellation = next(a.code for a in builtin.appellations_of(own))
    person = Profile(id="P1", rome_codes=(own,), home=Location(lat=48.85, lon=2.35))
    current = Subscription(id="S1", profile_id="P1", rome_codes=(own,)).model_dump(mode="json")
    neighbour = subscription_changes(RefusalReason.METIER, person, _offer(builtin, other), current)
    assert neighbour == {"excluded_occupations": [other]}
    mine = subscription_changes(
        RefusalReason.METIER, person, _offer(builtin, own, appellation_code=appellation), current
    )
    assert mine == {"excluded_occupations": [appellation]}
    # one's own fiche without an appellation: nothing to exclude (the answer says why instead)
    assert subscription_changes(RefusalReason.METIER, person, _offer(builtin, own), current) == {}
    already = {**current, "excluded_occupations": [other]}
    assert subscription_changes(RefusalReason.METIER, person, _offer(builtin, other), already) == {}


def test_offers_outside_the_declared_criteria_are_labelled_only_for_who_opted_in(
    builtin: Referential,
) -> None:
    code = sorted(builtin.fiches)[0]
    person = Profile(id="P1", rome_codes=(code,), home=Location(lat=48.85, lon=2.35), max_weekly_hours=24)
    interim = _offer(builtin, code, contract_type=ContractType.MIS, weekly_hours=35)
    cdi_only = Subscription(id="S1", profile_id="P1", rome_codes=(code,), contract_types=(ContractType.CDI,))
    assert outside_criteria(cdi_only, interim, person) == []  # not opted in: such alerts are not sent
    opted = cdi_only.model_copy(update={"beyond_criteria": True})
    assert outside_criteria(opted, interim, person) == [
        "contrat Intérim (vous cherchez : CDI)",
        "35 h par semaine (vous cherchez au plus 24 h)",
    ]
    cdi = _offer(builtin, code, contract_type=ContractType.CDI, weekly_hours=20)
    assert outside_criteria(opted, cdi, person) == []


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://candidat.francetravail.fr/offres/recherche/detail/185JTQS", True),
        ("https://www.pole-emploi.fr/x", True),
        ("http://candidat.francetravail.fr/x", False),  # not over https
        ("https://francetravail.fr@evil.example/", False),  # the host is evil.example
        ("https://francetravail.fr.evil.example/", False),
        ("https://recrutement.example.fr/postuler", False),  # shown as a link with its host, not followed
        (None, False),
    ],
)
def test_je_postule_leads_at_once_only_to_france_travail(url: str | None, trusted: bool) -> None:
    assert trusted_apply_url(url) is trusted


def test_an_application_link_naming_another_host_is_not_kept() -> None:
    parsed = parse_offer(
        {
            "id": "T1",
            "intitule": "Serveur",
            "romeCode": "G1803",
            "dateCreation": "2025-02-01T10:00:00.000Z",
            "contact": {"urlPostulation": "https://francetravail.fr@evil.example/"},
        }
    )
    assert parsed.offer is not None and parsed.offer.apply_url is None


def test_matching_now_pins_a_day_or_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATCHING_NOW", "2025-03-10")
    assert Settings().now == date(2025, 3, 10)
    monkeypatch.setenv("MATCHING_NOW", "2025-03-10T00:00:00Z")  # midnight is a moment, not a day
    assert Settings().now == datetime(2025, 3, 10, tzinfo=UTC)
    monkeypatch.setenv("MATCHING_NOW", "hier")
    with pytest.raises(ValueError, match=r"now"):
        Settings()
