"""Request and response schemas of the API (separate from storage rows and domain objects)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matching.domain import ROME_CODE_PATTERN, Cadence, Channel, ContractType, RefusalReason

StrictModel = ConfigDict(extra="forbid")


class OfferSummary(BaseModel):
    id: str
    title: str
    rome_code: str
    contract_type: str | None = None
    weekly_hours: float | None = None
    salary_max_monthly: float | None = None
    location: str | None = None


class Explanation(BaseModel):
    """Why an item was suggested and what is missing, in words and codes."""

    rome_relation: str = Field(description="e.g. 'même métier', 'métier proche (mobilité, rang 2)'")
    skills_covered: list[str] = Field(default_factory=list, description="required skills the person has")
    skills_missing: list[str] = Field(default_factory=list, description="required skills the person lacks")
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


class FeedbackIn(BaseModel):
    model_config = StrictModel
    action: Literal["opened", "applied", "refused"]
    reason: RefusalReason | None = Field(default=None, description="required when refusing")


class FeedbackOut(BaseModel):
    alert_id: int
    status: str
    subscription_changes: dict[str, object] = Field(default_factory=dict)
    poe_suggestions_url: str | None = None


class SubscriptionOut(BaseModel):
    id: str
    rome_codes: list[str]
    radius_km: float
    contract_types: list[str]
    excluded_contract_types: list[str]
    min_weekly_hours: float | None
    salary_floor_monthly: float | None
    channel: str
    cadence: str
    max_alerts_per_run: int
    active: bool


class SubscriptionUpdate(BaseModel):
    """Fields to change; the others keep their value."""

    model_config = StrictModel
    rome_codes: list[str] | None = Field(default=None, min_length=1, max_length=5)
    radius_km: float | None = Field(default=None, gt=0, le=500)
    contract_types: list[ContractType] | None = None
    excluded_contract_types: list[ContractType] | None = None
    min_weekly_hours: float | None = Field(default=None, ge=0, le=70)
    salary_floor_monthly: float | None = Field(default=None, ge=0, le=100_000)
    channel: Channel | None = None
    cadence: Cadence | None = None
    max_alerts_per_run: int | None = Field(default=None, ge=1, le=100)
    active: bool | None = None

    def rome_codes_valid(self) -> list[str]:
        import re

        return [c for c in self.rome_codes or [] if not re.match(ROME_CODE_PATTERN, c)]


class CandidateOut(BaseModel):
    profile_id: str
    rank: int
    score: float
    why: Explanation


class TrainingSuggestion(BaseModel):
    training_id: str
    title: str
    hours: float
    start_date: date
    distance_km: float | None
    skills_taught: list[str]
    outcome_rate: float | None
    explanation: str


class TrainableCandidateOut(CandidateOut):
    training: TrainingSuggestion


class SourcingOut(BaseModel):
    offer_id: str
    ranking: str
    model_version: str
    index_version: str
    candidates: list[CandidateOut]
    reachable_with_training: list[TrainableCandidateOut]


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


class VivierOut(VivierIn):
    id: int
    refreshed_at: datetime | None
    profile_ids: list[str]


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
