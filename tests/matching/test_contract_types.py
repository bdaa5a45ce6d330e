"""France Travail contract codes: the whole referential known, and a CDD Tremplin (DDT) taken as the
fixed-term contract it is — by the candidate filter, the pair features, a subscription's excluded
contracts and the pages — without a feature more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.pairs import RomeRelations, pair_values
from features.schema import FEATURE_NAMES
from matching.candidates import CandidateGenerator
from matching.domain import (
    ContractType,
    Location,
    Offer,
    Profile,
    Subscription,
    accepted_contract_codes,
    contract_family,
    contract_label,
)
from matching.encoders import HashingEncoder
from matching.ingest import parse_offers, read_offer_records
from matching.referential import Referential

# France Travail's referential of contract types (GET /offresdemploi/v2/referentiel/typesContrats)
FRANCE_TRAVAIL_CODES = {"CDI", "CDD", "MIS", "SAI", "CCE", "FRA", "LIB", "REP", "TTI", "DDI", "DIN", "DDT"}


def test_the_whole_contract_referential_is_known_and_labelled_in_french() -> None:
    assert {c.value for c in ContractType} == FRANCE_TRAVAIL_CODES
    assert ContractType.DDT.label == contract_label("DDT") == "CDD Tremplin"
    assert all(c.label for c in ContractType)
    assert contract_label("XYZ") == "XYZ" and contract_label(None) is None


def test_a_cdd_tremplin_is_read_as_a_fixed_term_contract(ft_cases: Path) -> None:
    offers, report = parse_offers(read_offer_records(ft_cases / "05-typecontrat-ddt.json"))
    by_id = {o.id: o.contract_type for o in offers}
    assert by_id == {"BH05A": ContractType.DDT, "BH05B": ContractType.DDI}
    assert by_id["BH05A"] is not None and by_id["BH05A"].family is ContractType.CDD
    assert not [w for w in report.warnings if w[0] == "typeContrat"]


def test_every_contract_code_of_the_real_offers_is_known(offers_file: Path) -> None:
    _, report = parse_offers(read_offer_records(offers_file))
    assert not [w for w in report.warnings if w[0] == "typeContrat"]


@pytest.mark.parametrize(
    ("declared", "accepted"),
    [
        (["CDD"], {"CDD", "DDT"}),  # asking for CDD accepts a CDD Tremplin
        (["CDI", "CDD"], {"CDI", "CDD", "DDT"}),
        (["DDT"], {"DDT"}),  # asking for a CDD Tremplin does not accept every CDD
        (["DDI"], {"DDI"}),
        ([], set()),
    ],
)
def test_accepted_contract_codes(declared: list[str], accepted: set[str]) -> None:
    assert accepted_contract_codes([ContractType(c) for c in declared]) == accepted
    assert contract_family("DDT") == "CDD" and contract_family("CDI") == "CDI"


def _offer(offer_id: str, contract: str) -> Offer:
    return Offer(
        id=offer_id,
        title="Agent de propreté",
        rome_code="K2204",
        location=Location(lat=45.0, lon=4.0),
        contract_type=ContractType(contract),
        created_at="2025-01-01T00:00:00Z",
    )


def test_a_person_asking_for_cdd_is_offered_cdd_tremplin(builtin: Referential) -> None:
    generator = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    generator.index_offers([_offer("tremplin", "DDT"), _offer("cdi", "CDI"), _offer("cdd", "CDD")])
    person = Profile(
        id="p",
        rome_codes=("K2204",),
        home=Location(lat=45.0, lon=4.0),
        max_commute_km=20,
        contract_types=(ContractType.CDD,),
    )
    assert set(generator.recommend_offers(person, k=10)[0]) == {"tremplin", "cdd"}


def test_pair_features_take_a_cdd_tremplin_as_a_cdd(builtin: Referential) -> None:
    profiles = {
        "max_commute_km": [20.0] * 3,
        "home_lat": [45.0] * 3,
        "home_lon": [4.0] * 3,
        "skills": [()] * 3,
        "rome_codes": [("K2204",)] * 3,
        "salary_floor_monthly": [None] * 3,
        "contract_types": [("CDD",), ("DDT",), ("CDI",)],
        "min_weekly_hours": [None] * 3,
        "max_weekly_hours": [None] * 3,
        "experience_months": [None] * 3,
        "qualification_code": [None] * 3,
    }
    offers = {
        "lat": [45.0] * 3,
        "lon": [4.0] * 3,
        "required_skills": [()] * 3,
        "skills": [()] * 3,
        "rome_code": ["K2204"] * 3,
        "salary_max_monthly": [None] * 3,
        "salary_min_monthly": [None] * 3,
        "contract_type": ["DDT", "DDT", "DDT"],
        "weekly_hours": [35.0] * 3,
        "full_time": [True] * 3,
        "experience_months": [None] * 3,
        "experience": [None] * 3,
        "qualification_code": [None] * 3,
        "positions": [1] * 3,
    }
    values = pair_values(profiles, offers, builtin, RomeRelations(builtin))
    assert values["contract_declared_ok"].tolist() == [1.0, 1.0, 0.0]
    assert values["offer_permanent"].tolist() == [0.0, 0.0, 0.0]
    assert values["_contract"].tolist() == ["CDD"] * 3  # contract history counted per family
    assert not [name for name in FEATURE_NAMES if "DDT" in name or "tremplin" in name.lower()]


def test_excluding_cdd_excludes_cdd_tremplin() -> None:
    from models.pipeline import _hard_filters

    subscriptions = [
        Subscription(
            id="s1", profile_id="p1", rome_codes=("K2204",), excluded_contract_types=(ContractType.CDD,)
        ),
        Subscription(
            id="s2", profile_id="p2", rome_codes=("K2204",), excluded_contract_types=(ContractType.DDT,)
        ),
    ]
    pool = pd.DataFrame({"subscription_id": ["s1", "s1", "s2", "s2"]})
    offers = {
        "contract_type": np.array(["DDT", "CDI", "DDT", "CDD"], dtype=object),
        "salary_max_monthly": np.full(4, np.nan),
        "weekly_hours": np.full(4, np.nan),
        "expires_at": np.array([None] * 4, dtype=object),
        "created_at": np.array([pd.Timestamp("2025-01-01", tz="UTC")] * 4, dtype=object),
    }
    keep = _hard_filters(offers, subscriptions, pool, pd.Timestamp("2025-02-01", tz="UTC"), None)
    assert keep.tolist() == [False, True, False, True]


def test_pages_show_the_french_contract_name() -> None:
    from serving.pages.router import templates

    page = templates.env.from_string('{{ "DDT"|contrat }} · {{ ["CDD", "DDT"]|map("contrat")|join(", ") }}')
    assert page.render() == "CDD Tremplin · CDD, CDD Tremplin"
