"""Counsellors' saved sector viviers: consenting, available people of some occupations in an area."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from features.tables import MarketTables
from matching.geo import haversine_km
from matching.referential import Referential
from serving.container import ServingContainer
from serving.schemas import VivierIn, VivierOut
from serving.services.checks import unknown_rome_codes
from serving.services.errors import Invalid, NotFound
from serving.storage.tables import VivierRow


def vivier_members(
    tables: MarketTables, referential: Referential, vivier: VivierIn, today: date
) -> list[str]:
    """Who is in a vivier today.

    Parameters
    ----------
    tables
        The feature tables (profiles and the event log, for hires).
    referential
        The ROME referential: a fiche's sub-fiches count as the fiche.
    vivier
        The vivier's occupations, area and availability horizon.
    today
        The day the horizon counts from.

    Returns
    -------
    list of str
        Sorted ids of the consenting people whose project is in the vivier's occupations, living within
        its radius, available within its horizon, and not hired.
    """
    codes = set(vivier.rome_codes)
    codes |= {
        child.code
        for code in vivier.rome_codes
        if code in referential.fiches
        for child in referential.children(code)
    }
    profiles = tables.profiles
    in_trade = profiles["rome_codes"].map(lambda project: bool(codes & set(project))).to_numpy(bool)
    km = haversine_km(
        profiles["home_lat"].to_numpy(float), profiles["home_lon"].to_numpy(float), vivier.lat, vivier.lon
    )
    horizon = pd.Timestamp(today + timedelta(days=vivier.available_within_days))
    available = pd.to_datetime(profiles["available_from"]).fillna(pd.Timestamp(today)) <= horizon
    hired = tables.profiles_with("hired")
    keep = (
        profiles["visible"].to_numpy(bool)
        & in_trade
        & (np.nan_to_num(km, nan=np.inf) <= vivier.radius_km)
        & available.to_numpy(bool)
        & ~profiles["id"].isin(hired).to_numpy()
    )
    return sorted(profiles["id"].to_numpy()[keep].tolist())


def _spec(row: VivierRow) -> VivierIn:
    return VivierIn.model_validate(row, from_attributes=True)  # the row's own columns, none else


def _outs(container: ServingContainer, rows: list[VivierRow]) -> list[VivierOut]:
    """The viviers as stored, less anyone who withdrew their consent since they were filled (their
    members' consent read in one pass)."""
    profiles = container.store.profiles(pid for row in rows for pid in row.profile_ids)
    return [
        VivierOut(
            **_spec(row).model_dump(),
            id=row.id,
            refreshed_at=row.refreshed_at,
            profile_ids=[pid for pid in row.profile_ids if pid in profiles and profiles[pid].visible],
        )
        for row in rows
    ]


def create_vivier(container: ServingContainer, owner_id: str, spec: VivierIn) -> VivierOut:
    """Save a counsellor's vivier and fill it now.

    Raises
    ------
    Invalid
        A ROME code is not in the referential.
    """
    unknown = unknown_rome_codes(container.referential, spec.rome_codes)
    if unknown:
        raise Invalid(f"unknown ROME codes: {', '.join(unknown)}")
    members = vivier_members(container.tables(), container.referential, spec, container.clock.today())
    return _outs(container, [container.store.add_vivier(owner_id, spec.model_dump(), members)])[0]


def viviers_of(container: ServingContainer, owner_id: str) -> list[VivierOut]:
    """A counsellor's viviers, oldest first."""
    return _outs(container, container.store.viviers_of(owner_id))


def refresh_vivier(container: ServingContainer, owner_id: str, vivier_id: int) -> VivierOut:
    """Recompute who is in the vivier today (consent, availability and hires change).

    Raises
    ------
    NotFound
        No such vivier, or not this counsellor's (the two are not told apart).
    """
    row = container.store.vivier(vivier_id)
    if row is not None and row.owner_id == owner_id:
        members = vivier_members(
            container.tables(), container.referential, _spec(row), container.clock.today()
        )
        row = container.store.set_vivier_members(vivier_id, members)  # None: deleted meanwhile
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"no vivier {vivier_id} of yours")
    return _outs(container, [row])[0]
