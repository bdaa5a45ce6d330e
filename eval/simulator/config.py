"""Settings of the market simulator."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The market models of the simulator family (see :mod:`eval.simulator.behaviour` and
#: ``data/sample/README.md`` for what each one changes and the published figures behind it).
MarketModel = Literal[
    "thresholds",
    "utility",
    "travel_time",
    "own_pay",
    "schedule",
    "relaxing",
    "cascade",
    "noisy_reasons",
]
MARKET_MODELS: tuple[str, ...] = MarketModel.__args__  # type: ignore[attr-defined]


class MarketAnchor(BaseModel):
    """Real places and occupations a world is drawn around, e.g. those of real offers.

    Each seed is ``(INSEE commune, ROME code, weight)``: a share of the profiles, offers and trainings
    is drawn at a seed's commune (spread by ``hub_radius_km``) in its occupation, seeds picked in
    proportion to their weights, so that the real offers' occupations and areas have jobseekers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seeds: tuple[tuple[str, str, float], ...] = Field(
        min_length=1, description="(INSEE commune, ROME code, weight) of each anchor"
    )
    share: float = Field(
        default=0.85,
        ge=0,
        le=1,
        description="share of entities drawn at a seed; the others follow the usual occupation "
        "popularity, around the seeds' communes",
    )
    neighbour_share: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="share of anchored profiles whose project is a fiche leading to the seed's "
        "(same family, or mobility towards it): candidates by mobility",
    )


class MarketConfig(BaseModel):
    """Size, period and behaviour knobs of a simulated labour market.

    Defaults give the committed sample world. Every random draw derives from ``seed`` through
    independent streams, so changing ``months`` does not change the generated people and offers.
    Optional fields left at ``None`` are not written to a world's manifest, so adding one never
    changes the bytes of a world generated without it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_profiles: int = Field(default=2000, ge=10, le=2_000_000)
    n_offers: int = Field(default=4000, ge=10, le=1_000_000)
    n_trainings: int = Field(default=300, ge=0, le=500_000)
    months: int = Field(default=3, ge=0, le=24, description="months of interactions to simulate (0: none)")
    start: date = date(2025, 1, 6)
    seed: int = 42
    alerts_per_week: int = Field(default=5, ge=1, le=50)
    candidates_per_alert_list: int = Field(default=30, ge=5, le=500)
    profiles_per_hub: int = Field(
        default=400, ge=10, description="one employment area per this many profiles"
    )
    hub_radius_km: float = Field(
        default=12.0, gt=0, description="spread of homes and workplaces around a hub"
    )
    visible_share: float = Field(default=0.7, ge=0, le=1)
    reason_noise: float = Field(
        default=0.1, ge=0, le=1, description="share of refusals whose reason is 'autre'"
    )
    spurious_refusal: float = Field(
        default=0.03, ge=0, le=1, description="refusals with no violated preference"
    )
    weekly_exit_rate: float = Field(
        default=0.01, ge=0, le=1, description="weekly hazard of finding a job elsewhere"
    )
    counsellor_share: float = Field(
        default=0.1, ge=0, le=1, description="share of open offers sourced each week"
    )
    market: MarketModel = Field(
        default="thresholds",
        description="how simulated people decide (one model of the family; entities are the same "
        "for every model of a seed, only the behaviour differs)",
    )
    anchor: MarketAnchor | None = Field(
        default=None,
        description="real places and occupations to draw around (None: random hubs, Zipf occupations)",
    )

    @property
    def weeks(self) -> int:
        return round(self.months * 52 / 12)
