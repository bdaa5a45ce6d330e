"""Group fairness of rankings by audit attribute, and the monitor that raises alarms on it.

Two sides, each read from a *ranked frame* (:mod:`eval.metrics`: ``query``, ``item``, ``position``,
``grade``) and the audit table (``profile_id`` + attributes, read by this module alone):

* **alerts** — a query is a person, the items are offers. A person's *exposure* is the attention their
  list gives to offers relevant to them (grade ≥ applied), as a share of the most it could give:
  Σ attention(position) over relevant offers / Σ attention(1..r) for their ``r`` relevant offers.
* **sourcing** — a query is an offer, the items are people. A person's *exposure* is the mean attention
  they receive over the lists they appear in (the exposure of Singh & Joachims, 2018).

Attention is the DCG discount ``1 / log2(1 + position)`` down to position ``k`` and 0 below.
*Equal opportunity@20*: per person, the share of their relevant pairs ranked in the top 20.
Each is compared across the groups of an attribute as the smallest group mean over the largest
(1 = parity), with a bootstrap interval over people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from eval.metrics import APPLIED_GRADE

AUDIT_ATTRIBUTES = ("sex", "age_band", "qpv")
PARITY_FLOOR = 0.9  # a ratio below this trips the monitor
EXPOSURE_K = 20
OPPORTUNITY_K = 20


def attention(positions: npt.ArrayLike, k: int = EXPOSURE_K) -> npt.NDArray[np.float64]:
    """DCG discount of each position (1-based), 0 below ``k``; shape of ``positions``."""
    pos = np.asarray(positions, dtype=float)
    return np.where(pos <= k, 1.0 / np.log2(1.0 + pos), 0.0)


def alert_exposure(ranked: pd.DataFrame, k: int = EXPOSURE_K) -> pd.Series:
    """Per person with a relevant offer: attention on relevant offers over the ideal (in [0, 1])."""
    relevant = ranked[ranked["grade"] >= APPLIED_GRADE]
    got = pd.Series(attention(relevant["position"], k), index=relevant.index).groupby(relevant["query"]).sum()
    counts = relevant.groupby("query").size()
    ideal_by_count = np.cumsum(attention(np.arange(1, int(counts.max() if len(counts) else 0) + 1), k))
    ideal = counts.map(lambda r: ideal_by_count[r - 1])
    return (got / ideal).astype(float)


def sourcing_exposure(ranked: pd.DataFrame, k: int = EXPOSURE_K) -> pd.Series:
    """Per person (item): mean attention over the offers' lists they appear in."""
    return pd.Series(attention(ranked["position"], k), index=ranked.index).groupby(ranked["item"]).mean()


def opportunity(ranked: pd.DataFrame, person: str, k: int = OPPORTUNITY_K) -> pd.Series:
    """Per person: share of their relevant pairs ranked in the top ``k``; ``person`` names its column."""
    relevant = ranked[ranked["grade"] >= APPLIED_GRADE]
    return (relevant["position"] <= k).groupby(relevant[person]).mean().astype(float)


@dataclass(frozen=True)
class ParityRatio:
    """Smallest over largest group mean of a per-person metric, with its groups and a 95 % interval."""

    metric: str
    attribute: str
    ratio: float
    low: float
    high: float
    group_means: dict[str, float]
    people: int

    @property
    def key(self) -> str:
        return f"{self.metric}/{self.attribute}"


def _ratio(values: npt.NDArray[np.float64], codes: npt.NDArray[np.int64], n_groups: int) -> float:
    sums = np.bincount(codes, weights=values, minlength=n_groups)
    counts = np.bincount(codes, minlength=n_groups)
    means = sums[counts > 0] / counts[counts > 0]
    if len(means) < 2 or means.max() <= 0:
        return float("nan")
    return float(means.min() / means.max())


def parity_ratio(
    per_person: pd.Series,
    groups: pd.Series,
    *,
    metric: str,
    attribute: str,
    n_boot: int = 200,
    random_state: int = 0,
) -> ParityRatio:
    """Parity of ``per_person`` (indexed by profile id) across ``groups`` (same index), with a bootstrap."""
    joined = pd.concat([per_person.rename("value"), groups.rename("group")], axis=1, join="inner").dropna()
    labels, codes = np.unique(joined["group"].astype(str).to_numpy(), return_inverse=True)
    values = joined["value"].to_numpy(float)
    ratio = _ratio(values, codes, len(labels))
    rng = np.random.default_rng(random_state)
    draws = [
        _ratio(values[sample], codes[sample], len(labels))
        for sample in (rng.integers(0, len(values), len(values)) for _ in range(n_boot if len(values) else 0))
    ]
    low, high = np.nanpercentile(draws, [2.5, 97.5]) if draws else (np.nan, np.nan)
    means = joined.groupby(joined["group"].astype(str))["value"].mean()
    return ParityRatio(
        metric,
        attribute,
        ratio,
        float(low),
        float(high),
        {str(g): float(v) for g, v in means.items()},
        len(values),
    )


def side_parity(
    ranked: pd.DataFrame, audit: pd.DataFrame, *, side: str, random_state: int = 0
) -> list[ParityRatio]:
    """Exposure and equal-opportunity@20 parity of one side (``"alerts"`` or ``"sourcing"``)."""
    if side == "alerts":
        per_person = {"exposure": alert_exposure(ranked), "opportunity@20": opportunity(ranked, "query")}
    elif side == "sourcing":
        per_person = {"exposure": sourcing_exposure(ranked), "opportunity@20": opportunity(ranked, "item")}
    else:
        raise ValueError(f"side is 'alerts' or 'sourcing', not {side!r}")
    attributes = audit.set_index("profile_id")
    return [
        parity_ratio(
            values,
            attributes[attribute],
            metric=f"{side}.{name}",
            attribute=attribute,
            random_state=random_state,
        )
        for name, values in per_person.items()
        for attribute in AUDIT_ATTRIBUTES
    ]


@dataclass(frozen=True, kw_only=True)
class FairnessMonitor:
    """Raises an alarm for every parity ratio under ``floor`` (undefined ratios are reported, not alarmed)."""

    floor: float = PARITY_FLOOR

    def alarms(self, ratios: list[ParityRatio]) -> list[str]:
        """One line per ratio under the floor, naming the metric, the attribute and the groups."""
        return [
            f"{r.key} = {r.ratio:.3f} < {self.floor} (group means {', '.join(f'{g}: {v:.3f}' for g, v in r.group_means.items())})"
            for r in ratios
            if np.isfinite(r.ratio) and r.ratio < self.floor
        ]
