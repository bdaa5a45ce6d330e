"""Request and response schemas of the API (separate from storage rows and domain objects)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matching.domain import ROME_CODE_PATTERN, Cadence, Channel, ContractType, RefusalReason

StrictModel = ConfigDict(extra="forbid")


class OfferSummary(BaseModel):
    """What an alert shows of an offer: enough to decide and to apply."""

    id: str
    title: str
    rome_code: str
    contract_type: str | None = None
    contract_label: str | None = Field(default=None, description="the contract in words, e.g. 'Intérim'")
    weekly_hours: float | None = None
    salary_min_monthly: float | None = Field(default=None, description="gross euros a month")
    salary_max_monthly: float | None = Field(default=None, description="gross euros a month")
    location: str | None = None
    distance_km: float | None = Field(
        default=None, description="from the person's home, km (their own alerts only; None: unknown)"
    )
    employer: str | None = Field(default=None, description="when the offer names one")
    published_on: date | None = None
    start_date: date | None = Field(default=None, description="when the employer needs someone")
    apply_url: str | None = Field(default=None, description="where to apply: the offer at its source")
    apply_site: str | None = Field(default=None, description="the host of apply_url, shown with the link")


class Explanation(BaseModel):
    """Why an item was suggested and what is missing, in words and codes."""

    rome_relation: str = Field(description="e.g. 'même métier', 'métier proche (mobilité, rang 2)'")
    skills_covered: list[str] = Field(
        default_factory=list, description="skills the offer asks for (see skills_source) the person has"
    )
    skills_missing: list[str] = Field(
        default_factory=list, description="skills the offer asks for (see skills_source) the person lacks"
    )
    skills_source: Literal["required", "listed", "inferred", "fiche", "none"] = Field(
        default="none",
        description="where the offer's skills come from: required or listed by the offer, read from its "
        "text ('inferred'), or its occupation's core skills ('fiche': the offer says none)",
    )
    commute: str = Field(
        description="distance relative to the person's own limit, e.g. 'moins de la moitié de votre rayon'"
    )
    availability: str | None = None


class AlertOut(BaseModel):
    id: int
    offer: OfferSummary
    rank: int
    score: float
    status: str
    reason: str | None = None
    created_at: datetime
    why: Explanation
    outside_criteria: list[str] = Field(
        default_factory=list,
        description="how the offer departs from the declared contracts and hours (sent because the "
        "person opted in), in words",
    )
    undoable: bool = Field(default=False, description="the answer changed the subscription: it can be undone")


class FeedbackIn(BaseModel):
    model_config = StrictModel
    action: Literal["opened", "applied", "refused"]
    reason: RefusalReason | None = Field(default=None, description="required when refusing")
    change_subscription: bool = Field(
        default=True,
        description="let the reason change the subscription (exclude the contract, stop the alerts…); "
        "false: only this offer is set aside",
    )


class FeedbackOut(BaseModel):
    alert_id: int
    status: str
    subscription_changes: dict[str, object] = Field(default_factory=dict)
    poe_suggestions_url: str | None = None
    note: str | None = Field(
        default=None, description="in French: what the answer does when it changes no setting"
    )


class UndoOut(BaseModel):
    alert_id: int
    status: str
    restored: dict[str, object] = Field(
        default_factory=dict, description="subscription fields put back, with their values now"
    )


class SubscriptionOut(BaseModel):
    id: str
    rome_codes: list[str]
    radius_km: float
    contract_types: list[str]
    excluded_contract_types: list[str]
    excluded_occupations: list[str] = Field(
        default_factory=list, description="ROME or appellation codes refused as 'pas ce métier'"
    )
    beyond_criteria: bool = False
    min_weekly_hours: float | None
    salary_floor_monthly: float | None
    channel: str
    cadence: str
    max_alerts_per_run: int
    active: bool
    quiet_from: int | None = Field(default=None, description="no e-mail from this hour (Paris time)…")
    quiet_until: int | None = Field(default=None, description="… to this one; None: at any hour")


class SubscriptionUpdate(BaseModel):
    """Fields to change; the others keep their value."""

    model_config = StrictModel
    rome_codes: list[str] | None = Field(default=None, min_length=1, max_length=5)
    radius_km: float | None = Field(default=None, gt=0, le=500)
    contract_types: list[ContractType] | None = None
    excluded_contract_types: list[ContractType] | None = None
    excluded_occupations: list[str] | None = Field(default=None, max_length=50)
    beyond_criteria: bool | None = Field(
        default=None, description="also send offers outside the declared contracts and hours, labelled"
    )
    min_weekly_hours: float | None = Field(default=None, ge=0, le=70)
    salary_floor_monthly: float | None = Field(default=None, ge=0, le=100_000)
    channel: Channel | None = None
    cadence: Cadence | None = None
    max_alerts_per_run: int | None = Field(default=None, ge=1, le=100)
    active: bool | None = None
    quiet_from: int | None = Field(default=None, ge=0, le=23, description="no e-mail from this hour (Paris)")
    quiet_until: int | None = Field(default=None, ge=0, le=23, description="… to this one")

    def rome_codes_valid(self) -> list[str]:
        import re

        return [c for c in self.rome_codes or [] if not re.match(ROME_CODE_PATTERN, c)]


class CandidateFacts(BaseModel):
    """What a counsellor decides on about a candidate. Never a protected attribute (age, sex,
    nationality, address or postcode, handicap, QPV…): the home is told by its commune's name only."""

    commune: str | None = Field(default=None, description="the home commune's name, None when unknown")
    distance_km: float | None = Field(
        default=None, description="from the home commune to the offer (or the vivier's centre), km"
    )
    max_commute_km: float | None = Field(default=None, description="the person's declared commute, km")
    occupations: list[str] = Field(default_factory=list, description="the job project, in words")
    experience_months: int = Field(default=0, description="experience in the occupation, months")
    qualification_code: str | None = None
    qualification: str | None = Field(default=None, description="the qualification level in words")
    available_from: date | None = Field(default=None, description="None: available now")
    contract_types: list[str] = Field(default_factory=list, description="contracts wished (codes)")
    min_weekly_hours: float | None = None
    max_weekly_hours: float | None = None
    last_activity_on: date | None = Field(
        default=None, description="the day of the person's latest own action in the event log"
    )
    last_activity: str | None = Field(default=None, description="that action, in words")
    contact: str = Field(description="how to reach the person: through the service only")


class CandidateOut(BaseModel):
    profile_id: str
    rank: int
    score: float
    why: Explanation
    facts: CandidateFacts | None = None
    placed_lower: list[str] = Field(
        default_factory=list,
        description="why the candidate comes after the others, in words (stated refusals the offer "
        "repeats, e.g. 'a refusé ce type de contrat (CDD)')",
    )
    proposed_at: datetime | None = Field(default=None, description="when a counsellor proposed them")


class TrainingSuggestion(BaseModel):
    training_id: str
    title: str
    hours: float
    start_date: date | None = Field(description="None: a catalogue course whose dates are to confirm")
    distance_km: float | None
    skills_taught: list[str]
    outcome_rate: float | None
    explanation: str


class TrainableCandidateOut(CandidateOut):
    training: TrainingSuggestion


class DismissedCandidateOut(BaseModel):
    profile_id: str
    dismissed_at: datetime
    reason: str | None = None


class NobodyFitsOut(BaseModel):
    """Why no candidate is listed for an offer: who exists in its trade and neighbouring ones, how far."""

    rome_code: str
    rome_label: str | None = None
    place_known: bool = Field(description="the offer has a place distances can be measured from")
    same_trade: int = Field(description="consenting people, not hired, whose project is the offer's trade")
    same_trade_in_reach: int = Field(description="… of them within their own commute of the offer")
    same_trade_in_reach_later: int = Field(
        description="… of those, available only after the offer's need date"
    )
    nearest_same_trade_km: float | None = Field(
        default=None, description="distance of the nearest of them to the offer, km"
    )
    neighbour_trades: list[str] = Field(
        default_factory=list, description="neighbouring occupations (family and ROME mobility), in words"
    )
    neighbours: int = 0
    neighbours_in_reach: int = 0
    nearest_neighbour_km: float | None = None
    need_date: date
    dismissed: int = Field(default=0, description="candidates a counsellor dismissed for this offer")


class SourcingOut(BaseModel):
    offer_id: str
    ranking: str
    model_version: str
    index_version: str
    candidates: list[CandidateOut]
    reachable_with_training: list[TrainableCandidateOut]
    dismissed: list[DismissedCandidateOut] = Field(
        default_factory=list, description="candidates a counsellor dismissed for this offer (not listed)"
    )
    nobody: NobodyFitsOut | None = Field(
        default=None, description="why the list is empty (None when it is not)"
    )


class CounsellorActionIn(BaseModel):
    model_config = StrictModel
    action: Literal["proposed", "dismissed", "hired"]
    reason: str | None = Field(default=None, max_length=64)


class PoeOut(BaseModel):
    offer_id: str
    profile_id: str | None = Field(description="none: suggestions for the offer alone")
    missing_skills: list[str]
    trainings: list[TrainingSuggestion]


class KillSwitchIn(BaseModel):
    model_config = StrictModel
    enabled: bool


class ReadyOut(BaseModel):
    ready: bool
    database: bool
    index_version: str | None = None
    model_version: str | None = None
    kill_switch: bool = False
    problem: str | None = None
    degraded: str | None = None  # ready, but on the last-known-good index/model (a newer one was refused)


class VivierIn(BaseModel):
    """A saved sector vivier: ROME codes, an area (centre and radius) and an availability horizon."""

    model_config = StrictModel
    label: str = Field(min_length=1, max_length=120)
    rome_codes: list[str] = Field(min_length=1, max_length=20)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=200)
    available_within_days: int = Field(default=30, ge=0, le=365)


class VivierNearIn(BaseModel):
    """A vivier told as a counsellor says it: an occupation (a ROME title or code) around a commune
    (a name, "Lyon 3e", a postal or INSEE code), resolved to ROME codes and the commune's centre."""

    model_config = StrictModel
    label: str | None = Field(default=None, min_length=1, max_length=120, description="default: made up")
    occupation: str = Field(min_length=1, max_length=200, description="e.g. 'Cariste' or 'N1101'")
    commune: str = Field(min_length=1, max_length=100, description="e.g. 'Lyon', 'lyon 3e', '69003'")
    radius_km: float = Field(gt=0, le=200)
    available_within_days: int = Field(default=30, ge=0, le=365)


class VivierOut(VivierIn):
    id: int
    refreshed_at: datetime | None
    profile_ids: list[str]
    occupations: list[str] = Field(default_factory=list, description="the ROME codes in words")
    centre: str | None = Field(default=None, description="the commune at the centre, by name")


class Contribution(BaseModel):
    feature: str
    meaning: str
    value: float | None
    contribution: float


class ExplanationOut(BaseModel):
    """Why the ranker scores this offer as it does for this person: the features that mattered most."""

    profile_id: str
    offer_id: str
    ranking: str
    model_version: str
    score: float
    why: Explanation
    contributions: list[Contribution]


class FieldProblem(BaseModel):
    """A field of a published offer that was dropped or corrected (the offer is kept)."""

    field: str = Field(description="the France Travail v2 field, e.g. 'salaire.libelle'")
    problem: str


class OfferPublishedOut(BaseModel):
    """What became of an offer published through the API."""

    id: str
    status: Literal["created", "updated", "unchanged"]
    republished: bool = Field(description="the offer had been withdrawn and is published again")
    live: bool = Field(
        description="in the API's live index now (false: the database has it; the index follows "
        "within the refresh period)"
    )
    index_version: str | None = Field(description="the live index version, none before the indexes load")
    problems: list[FieldProblem] = Field(description="fields dropped or corrected, the offer kept")


class OfferWithdrawnOut(BaseModel):
    id: str
    withdrawn_at: datetime
    live: bool = Field(description="out of the API's live index now")
