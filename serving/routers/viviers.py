"""Counsellors' saved sector viviers: consenting, available people of some occupations in an area."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.tables import MarketTables
from matching.geo import haversine_km
from matching.referential import Referential
from serving.container import ServingContainer
from serving.deps import ContainerDep, Counsellor, DatabaseId
from serving.schemas import VivierIn, VivierOut
from serving.storage.store import utcnow
from serving.storage.tables import VivierRow

router = APIRouter(prefix="/viviers", tags=["viviers"])


def vivier_members(
    tables: MarketTables, referential: Referential, vivier: VivierIn, today: date
) -> list[str]:
    """Consenting people whose project is in the vivier's occupations (or their sub-fiches), living
    within its radius, available within its horizon, and not hired."""
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
    return VivierIn(
        label=row.label,
        rome_codes=row.rome_codes,
        lat=row.lat,
        lon=row.lon,
        radius_km=row.radius_km,
        available_within_days=row.available_within_days,
    )


def _outs(rows: list[VivierRow], container: ServingContainer) -> list[VivierOut]:
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


@router.post("", response_model=VivierOut, status_code=status.HTTP_201_CREATED)
def create_vivier(body: VivierIn, container: ContainerDep, principal: Counsellor) -> VivierOut:
    """Save a vivier and fill it now."""
    unknown = [c for c in body.rome_codes if c not in container.referential.fiches]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown ROME codes: {', '.join(unknown)}"
        )
    members = vivier_members(container.tables(), container.referential, body, date.today())
    with Session(container.engine, expire_on_commit=False) as session, session.begin():
        row = VivierRow(
            owner_id=principal.subject_id,
            **body.model_dump(),
            created_at=utcnow(),
            refreshed_at=utcnow(),
            profile_ids=members,
        )
        session.add(row)
    return _outs([row], container)[0]


@router.get("", response_model=list[VivierOut])
def my_viviers(container: ContainerDep, principal: Counsellor) -> list[VivierOut]:
    with Session(container.engine, expire_on_commit=False) as session:
        rows = list(
            session.scalars(
                select(VivierRow).where(VivierRow.owner_id == principal.subject_id).order_by(VivierRow.id)
            )
        )
    return _outs(rows, container)  # outside the session: one connection at a time


@router.post(
    "/{vivier_id}/refresh",
    response_model=VivierOut,
    responses={404: {"description": "no such vivier of yours"}},
)
def refresh_vivier(vivier_id: DatabaseId, container: ContainerDep, principal: Counsellor) -> VivierOut:
    """Recompute who is in the vivier today (consent, availability and hires change)."""
    with Session(container.engine, expire_on_commit=False) as session, session.begin():
        row = session.get(VivierRow, vivier_id)
        if row is None or row.owner_id != principal.subject_id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vivier {vivier_id} of yours")
        spec = _spec(row)
        row.profile_ids = vivier_members(container.tables(), container.referential, spec, date.today())
        row.refreshed_at = utcnow()
    return _outs([row], container)[0]
