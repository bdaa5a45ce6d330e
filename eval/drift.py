"""Data drift between two weeks of offers and profiles: population stability index (PSI) per field,
Kolmogorov–Smirnov for numbers, and the share of missing values.

A ranker learns from last month's market; when this week's offers or newcomers look different
(salaries shift, a ROME domain surges, hours stop being filled in) its features no longer mean what
they meant. Conventional reading of the PSI: < 0.1 stable, 0.1–0.25 moderate, ≥ 0.25 major.

Two samples of the same distribution already differ by chance: their expected PSI is about
(bins − 1) · (1/n₁ + 1/n₂), 0.09 for two weeks of 230 offers in 10 bins. The status reads the PSI
*above* that noise floor, so that small weeks do not raise false alarms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import ks_2samp

from features.tables import MarketTables

MODERATE, MAJOR = 0.1, 0.25
BINS = 10
EPSILON = 1e-4  # share given to an empty bin, so that the logarithm stays finite
MIN_ROWS = 30  # below this a week is too small to compare

OFFER_FIELDS: dict[str, tuple[str, ...]] = {
    "numeric": ("salary_min_monthly", "weekly_hours", "experience_months", "positions"),
    "categorical": ("grand_domain", "contract_type", "qualification_code", "experience"),
}
PROFILE_FIELDS: dict[str, tuple[str, ...]] = {
    "numeric": ("experience_months", "max_commute_km", "min_weekly_hours", "salary_floor_monthly"),
    "categorical": ("grand_domain", "qualification_code", "visible"),
}


def _shares(counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    total = counts.sum()
    shares = counts / total if total else counts
    return np.maximum(shares, EPSILON)


def psi_from_counts(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """PSI of two histograms over the same bins: Σ (c − r) · ln(c / r) on shares."""
    r = _shares(np.asarray(reference, dtype=float))
    c = _shares(np.asarray(current, dtype=float))
    return float(np.sum((c - r) * np.log(c / r)))


def noise_floor(n_bins: int, n_reference: int, n_current: int) -> float:
    """Expected PSI between two samples of one distribution (chi-square approximation)."""
    if min(n_reference, n_current) == 0:
        return float("inf")
    return (n_bins - 1) * (1 / n_reference + 1 / n_current)


def numeric_psi(reference: pd.Series, current: pd.Series, bins: int = BINS) -> tuple[float, int]:
    """``(PSI, bins used)`` with quantile bins of the reference; missing values form a bin of their own."""
    ref, cur = reference.astype(float), current.astype(float)
    edges = np.unique(np.nanquantile(ref, np.linspace(0, 1, bins + 1))) if ref.notna().any() else np.array([])
    inner = edges[1:-1]

    def histogram(values: pd.Series) -> npt.NDArray[np.float64]:
        present = values.dropna().to_numpy()
        counts = np.bincount(np.searchsorted(inner, present, side="right"), minlength=len(inner) + 1)
        return np.append(counts, values.isna().sum()).astype(float)

    first, second = histogram(ref), histogram(cur)
    used = int(((first + second) > 0).sum())
    return psi_from_counts(first, second), used


def categorical_psi(reference: pd.Series, current: pd.Series) -> tuple[float, int]:
    """``(PSI, categories)`` over the categories of either week (missing counted as a category)."""
    ref, cur = reference.astype(str).fillna("∅"), current.astype(str).fillna("∅")
    categories = sorted(set(ref) | set(cur))
    psi = psi_from_counts(
        ref.value_counts().reindex(categories, fill_value=0),
        cur.value_counts().reindex(categories, fill_value=0),
    )
    return psi, len(categories)


def status(psi: float) -> str:
    return "major" if psi >= MAJOR else "moderate" if psi >= MODERATE else "stable"


def compare(
    reference: pd.DataFrame, current: pd.DataFrame, fields: dict[str, tuple[str, ...]]
) -> pd.DataFrame:
    """One row per field: ``field, kind, psi, noise, ks, missing_reference, missing_current, status``
    (the status reads ``psi − noise``)."""
    rows = []
    for kind, names in fields.items():
        for name in names:
            if name not in reference or name not in current:
                continue
            ref, cur = reference[name], current[name]
            psi, bins = numeric_psi(ref, cur) if kind == "numeric" else categorical_psi(ref, cur)
            noise = noise_floor(bins, len(ref), len(cur))
            ks = float("nan")
            if kind == "numeric" and ref.notna().any() and cur.notna().any():
                ks = float(ks_2samp(ref.dropna().astype(float), cur.dropna().astype(float)).statistic)
            rows.append(
                {
                    "field": name,
                    "kind": kind,
                    "psi": psi,
                    "noise": noise,
                    "ks": ks,
                    "missing_reference": float(ref.isna().mean()),
                    "missing_current": float(cur.isna().mean()),
                    "status": status(psi - noise),
                }
            )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DriftReport:
    """Offers created and profiles registered in each week, compared field by field."""

    reference_week: pd.Timestamp
    current_week: pd.Timestamp
    sizes: dict[str, tuple[int, int]]
    offers: pd.DataFrame
    profiles: pd.DataFrame

    @property
    def drifted(self) -> list[str]:
        """``table.field`` of every field whose PSI is moderate or major."""
        return [
            f"{table}.{row.field}"
            for table, frame in (("offers", self.offers), ("profiles", self.profiles))
            for row in frame.itertuples()
            if row.status != "stable"
        ]

    def markdown(self) -> str:
        lines = [
            f"# Drift: week of {self.current_week:%Y-%m-%d} against week of {self.reference_week:%Y-%m-%d}",
            "",
            "Status from the PSI above its noise floor (what two samples of one distribution of these sizes "
            "give by chance): < 0.1 stable, 0.1–0.25 moderate, ≥ 0.25 major. KS = largest gap between the two "
            "cumulative distributions.",
        ]
        for table, frame in (("offers", self.offers), ("profiles", self.profiles)):
            before, after = self.sizes[table]
            lines += ["", f"## {table.capitalize()} ({before:,} then {after:,})", ""]
            if frame.empty:
                lines.append(f"Too few rows to compare (at least {MIN_ROWS} a week).")
                continue
            lines += [
                "| field | PSI | noise floor | KS | missing before | missing after | status |",
                "|---|---|---|---|---|---|---|",
            ]
            for row in frame.to_dict(orient="records"):
                ks = "" if np.isnan(row["ks"]) else f"{row['ks']:.3f}"
                lines.append(
                    f"| {row['field']} | {row['psi']:.3f} | {row['noise']:.3f} | {ks} | "
                    f"{row['missing_reference']:.1%} | {row['missing_current']:.1%} | {row['status']} |"
                )
        return "\n".join(lines) + "\n"


def week_start(moment: pd.Timestamp) -> pd.Timestamp:
    """Monday 00:00 UTC of the week holding ``moment``."""
    moment = moment.tz_convert("UTC") if moment.tzinfo else moment.tz_localize("UTC")
    return moment.normalize() - pd.Timedelta(days=moment.weekday())


def _with_domain(frame: pd.DataFrame, code_column: str) -> pd.DataFrame:
    codes = frame[code_column]
    first = codes.map(lambda c: c[0] if isinstance(c, str) else (next(iter(c)) if len(c) else None))
    return frame.assign(grand_domain=first.map(lambda c: c[0] if isinstance(c, str) and c else None))


def _in_week(times: pd.Series, start: pd.Timestamp) -> pd.Series:
    times = pd.to_datetime(times, utc=True)
    return (times >= start) & (times < start + pd.Timedelta(days=7))


def drift_between_weeks(
    tables: MarketTables, reference_week: pd.Timestamp, current_week: pd.Timestamp
) -> DriftReport:
    """Compare the offers created and profiles registered in two weeks (each given by any moment in it)."""
    reference_week, current_week = week_start(reference_week), week_start(current_week)
    offers = _with_domain(tables.offers.reset_index(drop=True), "rome_code")
    profiles = _with_domain(tables.profiles.reset_index(drop=True), "rome_codes")
    sizes, results = {}, {}
    for table, frame, when, fields in (
        ("offers", offers, "created_at", OFFER_FIELDS),
        ("profiles", profiles, "registered_at", PROFILE_FIELDS),
    ):
        before = frame[_in_week(frame[when], reference_week)]
        after = frame[_in_week(frame[when], current_week)]
        sizes[table] = (len(before), len(after))
        enough = min(len(before), len(after)) >= MIN_ROWS
        results[table] = compare(before, after, fields) if enough else pd.DataFrame()
    return DriftReport(reference_week, current_week, sizes, results["offers"], results["profiles"])


def last_complete_week(tables: MarketTables) -> pd.Timestamp:
    """Monday of the most recent complete week of offers (the week of the newest offer is ongoing)."""
    newest = pd.to_datetime(tables.offers["created_at"], utc=True).max()
    return week_start(newest) - pd.Timedelta(days=7)
