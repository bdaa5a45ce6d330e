"""The trust audit: parity metrics on known answers, the monitor, the intake that makes twins equal,
twins that do move when the intake leaks, and the whole audit on a small market."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eval.audit.experiments import (
    biased_scorer,
    default_intake,
    group_members,
    inject_label_bias,
    twin_declarations,
    twin_ranks,
)
from eval.audit.fairness import (
    FairnessMonitor,
    ParityRatio,
    alert_exposure,
    attention,
    opportunity,
    parity_ratio,
    sourcing_exposure,
)
from eval.audit.report import write_report
from eval.audit.runner import AuditConfig, run_audit
from eval.baselines import ltr_scorer
from eval.market import MarketContext, MarketEvalConfig, graded_pool, graded_sourcing_pool
from matching.domain import Profile
from matching.frames import profiles_from_frame
from matching.geo import Communes, load_communes
from matching.ingest.profiles import (
    DeclarationError,
    ProfileDeclaration,
    profile_from_declaration,
    resolve_job_title,
)
from matching.referential import Referential, gendered_forms
from models.training import TrainingResult

TODAY = date(2025, 6, 1)


def ranked(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["query", "item", "position", "grade"])


def test_exposure_and_opportunity_on_known_answers() -> None:
    # alerts: p1's only relevant offer is first (full exposure); p2's is third of three
    alerts = ranked([("p1", "o1", 1, 2), ("p1", "o2", 2, 0), ("p2", "o3", 1, 0), ("p2", "o4", 3, 3)])
    exposure = alert_exposure(alerts, k=20)
    assert exposure["p1"] == pytest.approx(1.0)
    assert exposure["p2"] == pytest.approx(1 / np.log2(4))
    # sourcing: person a is first then second, b is second then beyond k
    sourcing = ranked([("o1", "a", 1, 2), ("o1", "b", 2, 2), ("o2", "a", 2, 0), ("o2", "b", 3, 2)])
    people = sourcing_exposure(sourcing, k=2)
    assert people["a"] == pytest.approx((1 + 1 / np.log2(3)) / 2)
    assert people["b"] == pytest.approx((1 / np.log2(3) + 0) / 2)
    assert opportunity(sourcing, "item", k=2).to_dict() == {"a": 1.0, "b": 0.5}
    assert attention([1, 21], k=20).tolist() == [1.0, 0.0]


def test_parity_ratio_and_the_monitor() -> None:
    values = pd.Series({"a": 1.0, "b": 1.0, "c": 0.5, "d": 0.5})
    groups = pd.Series({"a": "M", "b": "M", "c": "F", "d": "F"})
    ratio = parity_ratio(values, groups, metric="alerts.exposure", attribute="sex")
    assert ratio.ratio == pytest.approx(0.5)
    assert ratio.group_means == {"F": 0.5, "M": 1.0}
    assert ratio.low <= ratio.ratio <= ratio.high
    fair = replace(ratio, ratio=0.95)
    undefined = ParityRatio("alerts.exposure", "qpv", float("nan"), np.nan, np.nan, {}, 0)
    alarms = FairnessMonitor(floor=0.9).alarms([ratio, fair, undefined])
    assert len(alarms) == 1 and alarms[0].startswith("alerts.exposure/sex = 0.500 < 0.9")


def test_gendered_forms_find_the_same_appellation(builtin: Referential) -> None:
    assert gendered_forms("Cariste polyvalent / polyvalente") == (
        "Cariste polyvalent / polyvalente",
        "Cariste polyvalent",
        "Cariste polyvalente",
    )
    assert gendered_forms("Serveur / Serveuse de café") == (
        "Serveur / Serveuse de café",
        "Serveur de café",
        "Serveuse de café",
    )
    assert gendered_forms("Chef de rang") == ("Chef de rang",)
    gendered = [a for a in builtin.appellations.values() if len(gendered_forms(a.label)) == 3]
    assert gendered, "the built-in referential has gendered labels"
    for appellation in gendered:
        _, masculine, feminine = gendered_forms(appellation.label)
        assert appellation in builtin.find_appellations(masculine)
        assert appellation in builtin.find_appellations(feminine.upper())


def declaration(**overrides: object) -> ProfileDeclaration:
    base: dict[str, object] = {
        "id": "P1",
        "civility": "M.",
        "first_name": "Julien",
        "last_name": "Martin",
        "birth_year": 1990,
        "graduation_year": 2008,
        "address": "12 rue Victor Hugo",
        "qpv": False,
        "home_insee": "75056",
        "job_title": "placeholder",
        "rome_code": None,
    }
    return ProfileDeclaration.model_validate({**base, **overrides})


def test_intake_keeps_identity_out_of_the_profile(builtin: Referential) -> None:
    communes = load_communes()
    appellation = next(a for a in builtin.appellations.values() if len(gendered_forms(a.label)) == 3)
    _, masculine, feminine = gendered_forms(appellation.label)
    insee = str(communes.insee[0])
    profile, audit = profile_from_declaration(
        declaration(job_title=masculine, home_insee=insee), builtin, communes, today=TODAY
    )
    twin, twin_audit = profile_from_declaration(
        declaration(
            job_title=f"{feminine} H/F",
            home_insee=insee,
            civility="Mme",
            first_name="Aïcha",
            last_name="Benali",
            graduation_year=2019,
            address="Résidence Les Tilleuls",
            qpv=True,
        ),
        builtin,
        communes,
        today=TODAY,
    )
    assert profile == twin
    assert profile.appellation_codes == (appellation.code,)
    assert profile.rome_codes == (appellation.fiche_code,)
    assert (audit.sex, audit.age_band, audit.qpv) == ("M", "26-49", False)
    assert (twin_audit.sex, twin_audit.qpv) == ("F", True)
    dumped = profile.model_dump_json()
    for identity in ("Julien", "Martin", "Victor Hugo", "2008"):
        assert identity not in dumped


def test_intake_refuses_what_it_cannot_place(builtin: Referential) -> None:
    communes = load_communes()
    with pytest.raises(DeclarationError, match="give its ROME code"):
        resolve_job_title("Dompteur de licornes", builtin)
    code = next(iter(builtin.fiches))
    assert resolve_job_title("Dompteur de licornes", builtin, code) == (code, None)
    with pytest.raises(DeclarationError, match="unknown home commune"):
        profile_from_declaration(
            declaration(job_title="x", rome_code=code, home_insee="99999"), builtin, communes, today=TODAY
        )


@pytest.fixture(scope="module")
def audit_inputs(
    small_market: MarketContext, small_ranker: TrainingResult
) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    config = MarketEvalConfig(max_people=300, max_offers=100, random_state=0)
    ranker = small_ranker.ranker  # the default config on small_market's history, as train_ranker fits it
    return graded_pool(small_market, config)[0], graded_sourcing_pool(small_market, config)[0], ranker


def _leaky_intake(
    decl: ProfileDeclaration, referential: Referential, communes: Communes, today: date
) -> Profile:
    """A plausible bug: experience counted from the graduation year (an age proxy)."""
    profile = default_intake(decl, referential, communes, today)
    return profile.model_copy(
        update={"experience_months": 12 * (today.year - (decl.graduation_year or today.year))}
    )


def test_twins_measure_what_the_intake_leaks(small_market: MarketContext, audit_inputs: tuple) -> None:
    alerts_pool, sourcing_pool, ranker = audit_inputs
    people = alerts_pool["profile_id"].drop_duplicates().head(60).to_numpy()
    profiles = list(profiles_from_frame(small_market.tables.profiles.loc[people]))
    pairs = twin_declarations(profiles, small_market.referential)
    assert all(p.original.job_title != p.twin.job_title for p in pairs if "/" in p.original.job_title)
    common = {
        "alerts_pool": alerts_pool,
        "sourcing_pool": sourcing_pool,
        "tables": small_market.tables,
        "embeddings": small_market.embeddings,
        "encoder": small_market.encoder,
        "referential": small_market.referential,
        "communes": load_communes(),
        "scorer": ltr_scorer(ranker),
        "today": TODAY,
    }
    honest = twin_ranks(pairs, **common)
    assert honest.identical_profiles == 1.0
    assert honest.within(1) == {"alerts": 1.0, "sourcing": 1.0}
    assert len(honest.alerts_shift) > 100 and len(honest.sourcing_shift) > 10
    leaky = twin_ranks(pairs, **common, intake=_leaky_intake)
    assert leaky.identical_profiles == 0.0
    assert min(leaky.within(0).values()) < 0.99  # the twins' ranks move: the audit sees the leak


def test_biased_scorer_and_label_injection_hit_the_group_only(small_market: MarketContext) -> None:
    members = group_members(small_market.world.audit, "sex", "F")
    assert 0 < len(members) < len(small_market.world.audit)
    rows = pd.DataFrame(
        {
            "profile_id": sorted(members)[:5]
            + sorted(set(small_market.world.audit["profile_id"]) - members)[:5]
        }
    )
    scores = biased_scorer(lambda r, X: np.arange(len(r), dtype=float), members, strength=1.0)(rows, rows)
    assert np.all(scores[:5] <= np.arange(5)) and np.all(scores[5:] == np.arange(5, 10))
    biased = inject_label_bias(small_market.tables, members, drop=1.0, before=small_market.cutoff)
    events, kept = small_market.tables.events, biased.events
    positive = events["event"].isin(["applied", "employer_accepted", "hired"])
    before = events["occurred_at"] < small_market.cutoff
    hit = positive & before & events["profile_id"].isin(members)
    assert hit.sum() > 0
    assert len(kept) == len(events) - hit.sum()
    assert not (
        kept["event"].isin(["applied", "hired"])
        & kept["profile_id"].isin(members)
        & (kept["occurred_at"] < small_market.cutoff)
    ).any()


@pytest.mark.slow
def test_the_audit_passes_on_a_fair_market_and_catches_the_biased_ranker(
    small_market: MarketContext, audit_inputs: tuple, tmp_path: Path
) -> None:
    ranker = audit_inputs[2]
    result = run_audit(
        small_market, ranker, load_communes(), AuditConfig(max_people=800, max_offers=400, twins=100)
    )
    checks = result.checks()
    assert checks["biased ranker trips the monitor"]
    assert checks["label bias not amplified"]
    assert result.twins.within(1)["alerts"] >= 0.99
    report = write_report(result, tmp_path / "audit", "matching audit (test)")
    text = report.read_text()
    assert "## Counterfactual twins" in text and "sourcing.exposure/sex" in text
    assert {p.name for p in report.parent.iterdir()} == {"report.md", "parity.png", "twins.png", "audit.json"}
