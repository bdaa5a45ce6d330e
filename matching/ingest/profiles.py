"""A jobseeker's declaration → the profile the engine reads + the audit-only attributes.

What a person (or their counsellor) declares mixes what the engine needs (job project, skills, mobility,
wishes) with identity data it must never read: name, civility, birth and graduation years, postal address,
QPV status. :func:`profile_from_declaration` is the one place where the two are split: identity data
either goes to :class:`~matching.domain.AuditAttributes` (sex, age band, QPV — for fairness audits) or is
dropped (name, address, graduation year, which would only be proxies of origin, place or age).

The job title is resolved to an appellation in a gender-neutral way (both forms of every ROME label are
known, see :func:`~matching.referential.gendered_forms`), so "Serveuse de café" and "Serveur de café"
give the same profile.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from matching.domain import (
    INSEE_PATTERN,
    ROME_CODE_PATTERN,
    AgeBand,
    AuditAttributes,
    ContractType,
    Location,
    Profile,
)
from matching.errors import MatchingError
from matching.geo import Communes
from matching.referential import Referential
from matching.views import clean_title


class DeclarationError(MatchingError):
    """A declaration cannot become a profile (unknown job title and no ROME code, unknown commune)."""


class ProfileDeclaration(BaseModel):
    """What a jobseeker declares: identity (never read by the engine) and job project."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    # identity: audit-only or dropped
    civility: Literal["M.", "Mme"] | None = None
    first_name: str | None = None
    last_name: str | None = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    graduation_year: int | None = Field(default=None, ge=1900, le=2100)
    address: str | None = None
    qpv: bool | None = None  # set by the address service (quartier prioritaire de la politique de la ville)
    # what the engine reads
    home_insee: str = Field(pattern=INSEE_PATTERN)
    job_title: str = Field(min_length=1)
    rome_code: str | None = Field(default=None, pattern=ROME_CODE_PATTERN)
    skills: tuple[str, ...] = ()
    experience_months: int = Field(default=0, ge=0)
    qualification_code: str | None = None
    max_commute_km: float | None = Field(default=None, gt=0, le=500)
    contract_types: tuple[ContractType, ...] = ()
    min_weekly_hours: float | None = Field(default=None, gt=0, le=70)
    max_weekly_hours: float | None = Field(default=None, gt=0, le=70)
    salary_floor_monthly: float | None = Field(default=None, ge=0)
    available_from: date | None = None
    visible: bool = False
    registered_at: datetime | None = None


def age_band(birth_year: int | None, today: date) -> AgeBand | None:
    """The audit age band of someone born in ``birth_year`` (age reached this calendar year)."""
    if birth_year is None:
        return None
    age = today.year - birth_year
    if age < 26:
        return AgeBand.UNDER_26
    return AgeBand.FROM_26_TO_49 if age < 50 else AgeBand.FROM_50


def resolve_job_title(
    title: str, referential: Referential, rome_code: str | None = None
) -> tuple[str, str | None]:
    """``(ROME code, appellation code or None)`` of a declared job title.

    An exact appellation label in either gendered form wins (the one under ``rome_code`` when several
    fiches share it); otherwise the declared ``rome_code`` stands alone.
    """
    matches = referential.find_appellations(clean_title(title))
    if rome_code is not None:
        referential.fiche(rome_code)  # unknown codes are refused with suggestions
        matches = tuple(a for a in matches if a.fiche_code == rome_code) or matches
    if matches:
        chosen = min(matches, key=lambda a: (rome_code is not None and a.fiche_code != rome_code, a.code))
        return chosen.fiche_code, chosen.code
    if rome_code is None:
        raise DeclarationError(
            f"job title {title!r} is no ROME appellation: give its ROME code (rome_code) as well"
        )
    return rome_code, None


def profile_from_declaration(
    declaration: ProfileDeclaration, referential: Referential, communes: Communes, *, today: date
) -> tuple[Profile, AuditAttributes]:
    """Split a declaration into the engine's :class:`Profile` and its :class:`AuditAttributes`.

    Name, postal address and graduation year reach neither.
    """
    rome_code, appellation = resolve_job_title(declaration.job_title, referential, declaration.rome_code)
    if declaration.home_insee not in communes:
        raise DeclarationError(f"unknown home commune {declaration.home_insee!r} (INSEE code)")
    lat, lon = communes.coords(declaration.home_insee)
    profile = Profile(
        id=declaration.id,
        rome_codes=(rome_code,),
        appellation_codes=(appellation,) if appellation else (),
        skills=declaration.skills,
        experience_months=declaration.experience_months,
        qualification_code=declaration.qualification_code,
        # the commune's coordinates, not the street's: distance is the same anywhere in the commune
        home=Location(insee=declaration.home_insee, lat=lat, lon=lon),
        max_commute_km=declaration.max_commute_km,
        contract_types=declaration.contract_types,
        min_weekly_hours=declaration.min_weekly_hours,
        max_weekly_hours=declaration.max_weekly_hours,
        salary_floor_monthly=declaration.salary_floor_monthly,
        available_from=declaration.available_from,
        visible=declaration.visible,
        registered_at=declaration.registered_at,
    )
    audit = AuditAttributes(
        profile_id=declaration.id,
        sex={"M.": "M", "Mme": "F"}.get(declaration.civility or ""),
        age_band=age_band(declaration.birth_year, today),
        qpv=declaration.qpv,
    )
    return profile, audit
