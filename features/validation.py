"""Data validation before training (pandera): the tables a ranker learns from, and its feature matrix.

A model trained on broken data fails silently (a salary in cents, a refusal without a reason, an
infinite ratio); ``matching train`` refuses such data with the failing rows named instead.
Schemas check what the features rely on, not every column: values in range, codes well formed,
events of known kinds with their reasons, one row per id.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from features.schema import FEATURE_NAMES
from features.tables import MarketTables
from matching.domain import ROME_CODE_PATTERN, EventType, RefusalReason
from matching.errors import MatchingError

MAX_LISTED_FAILURES = 8


class TrainingDataError(MatchingError):
    """The training data breaks its schema; the message names the checks and a few failing rows."""


def _codes_well_formed(values: pd.Series) -> pd.Series:
    return values.map(
        lambda codes: len(codes) > 0 and all(pd.Series(list(codes)).str.match(ROME_CODE_PATTERN))
    )


def _ordered(low: str, high: str) -> pa.Check:
    """A range's bounds in order where both are given (a missing bound orders with anything)."""
    return pa.Check(lambda f: ~(f[low] > f[high]), error=f"{low} ≤ {high}")


PROFILES = pa.DataFrameSchema(
    {
        "id": pa.Column(str, unique=True),
        "rome_codes": pa.Column(object, pa.Check(_codes_well_formed, error="ROME codes (at least one)")),
        "experience_months": pa.Column(int, pa.Check.in_range(0, 12 * 60)),
        "home_lat": pa.Column(float, pa.Check.in_range(-90, 90), nullable=True),
        "home_lon": pa.Column(float, pa.Check.in_range(-180, 180), nullable=True),
        "max_commute_km": pa.Column(float, pa.Check.in_range(0, 500, include_min=False), nullable=True),
        "min_weekly_hours": pa.Column(float, pa.Check.in_range(0, 70), nullable=True),
        "max_weekly_hours": pa.Column(float, pa.Check.in_range(0, 70), nullable=True),
        "salary_floor_monthly": pa.Column(float, pa.Check.in_range(0, 30_000), nullable=True),
        "visible": pa.Column(bool),
    },
    checks=_ordered("min_weekly_hours", "max_weekly_hours"),
    coerce=True,
    name="profiles",
)

OFFERS = pa.DataFrameSchema(
    {
        "id": pa.Column(str, unique=True),
        "rome_code": pa.Column(str, pa.Check.str_matches(ROME_CODE_PATTERN)),
        "lat": pa.Column(float, pa.Check.in_range(-90, 90), nullable=True),
        "lon": pa.Column(float, pa.Check.in_range(-180, 180), nullable=True),
        "weekly_hours": pa.Column(float, pa.Check.in_range(0, 70, include_min=False), nullable=True),
        "salary_min_monthly": pa.Column(
            float, pa.Check.in_range(0, 30_000, include_min=False), nullable=True
        ),
        "salary_max_monthly": pa.Column(
            float, pa.Check.in_range(0, 30_000, include_min=False), nullable=True
        ),
        "experience_months": pa.Column(float, pa.Check.ge(0), nullable=True),
        "created_at": pa.Column(nullable=False),
    },
    checks=_ordered("salary_min_monthly", "salary_max_monthly"),
    coerce=True,
    name="offers",
)

EVENTS = pa.DataFrameSchema(
    {
        "occurred_at": pa.Column(nullable=False),
        "event": pa.Column(str, pa.Check.isin([e.value for e in EventType])),
        "profile_id": pa.Column(str, nullable=False),
        "rank": pa.Column("Int64", pa.Check.ge(1), nullable=True),
    },
    checks=[
        pa.Check(
            lambda f: (f["event"] != EventType.REFUSED) | f["reason"].isin([r.value for r in RefusalReason]),
            error="a refusal carries a known reason",
        ),
        pa.Check(
            lambda f: ~f["event"].isin([EventType.ALERT_SENT, EventType.APPLIED]) | f["offer_id"].notna(),
            error="alerts and applications name their offer",
        ),
        pa.Check(
            lambda f: f["occurred_at"].is_monotonic_increasing,
            element_wise=False,
            error="events sorted by time",
        ),
    ],
    name="events",
)


def _finite_or_missing(X: pd.DataFrame) -> pd.Series:
    values = X.to_numpy(dtype=float)
    return pd.Series(~np.isinf(values).any(axis=1), index=X.index)


def feature_schema(names: list[str]) -> pa.DataFrameSchema:
    """The ranker's input: exactly the allowlisted columns, numbers, never infinite."""
    return pa.DataFrameSchema(
        {name: pa.Column(float, nullable=True, coerce=True) for name in names},
        checks=pa.Check(_finite_or_missing, error="no infinite feature value"),
        strict=True,
        ordered=True,
        name="features",
    )


def _summary(error: SchemaErrors) -> str:
    cases = error.failure_cases
    lines = []
    for (schema, check), group in cases.groupby(["schema_context", "check"], sort=False, dropna=False):
        rows = group["index"].dropna().astype(str).unique()
        values = group["failure_case"].dropna().astype(str).unique()[:3]
        where = f" (rows {', '.join(rows[:3])})" if len(rows) else f" ({', '.join(values)})"
        column = group["column"].dropna().astype(str).unique() if schema == "Column" else []
        lines.append(f"{', '.join(column) or 'table'}: {check}: {max(len(rows), 1)} failing{where}")
    shown = lines[:MAX_LISTED_FAILURES]
    more = f"; and {len(lines) - len(shown)} more checks" if len(lines) > len(shown) else ""
    return "; ".join(shown) + more


def validate_tables(tables: MarketTables) -> None:
    """Check profiles, offers and events; raise :class:`TrainingDataError` naming what fails."""
    problems = []
    for name, schema, frame in (
        ("profiles", PROFILES, tables.profiles),
        ("offers", OFFERS, tables.offers),
        ("events", EVENTS, tables.events),
    ):
        try:
            schema.validate(frame.reset_index(drop=True), lazy=True)
        except SchemaErrors as error:
            problems.append(f"{name}: {_summary(error)}")
    if problems:
        raise TrainingDataError("training data refused — " + " | ".join(problems))


def validate_training_set(X: pd.DataFrame, labels: npt.ArrayLike, groups: npt.ArrayLike) -> None:
    """Check the feature matrix (allowlisted columns, finite), the grades (0..5) and the list sizes."""
    problems = []
    try:
        feature_schema([c for c in X.columns if c in FEATURE_NAMES]).validate(X, lazy=True)
    except SchemaErrors as error:
        problems.append(f"features: {_summary(error)}")
    grades = np.asarray(labels)
    if len(grades) and (grades.min() < 0 or grades.max() > 5):
        problems.append(f"labels: grades outside 0..5 ({grades.min()}..{grades.max()})")
    sizes = np.asarray(groups)
    if sizes.sum() != len(X) or (sizes <= 0).any():
        problems.append(f"groups: list sizes sum to {sizes.sum()} for {len(X)} rows")
    if problems:
        raise TrainingDataError("training set refused — " + " | ".join(problems))
