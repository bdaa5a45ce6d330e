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

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from matching.domain import (
    INSEE_PATTERN,
    ROME_CODE_PATTERN,
    AgeBand,
    AuditAttributes,
    ContractType,
    Location,
    MobilityMode,
    Profile,
)
from matching.errors import MatchingError
from matching.geo import Communes
from matching.referential import Referential, normalize_label
from matching.views import clean_title

#: The highest gross monthly pay a declaration may state: above it the amount is far more likely a
#: year's pay typed in the wrong box than a month's (France Travail's offers top out there too, see
#: ``matching.ingest.ft_offers.PLAUSIBLE_MONTHLY_SALARY``).
MAX_DECLARED_MONTHLY_PAY = 30_000.0
MAX_COMMUTE_MINUTES = 300
#: The means of transport as people write them, to their :class:`MobilityMode` (accents, case, spaces
#: and hyphens ignored).
_MODE_WORDS = {
    **{normalize_label(m.value.replace("_", " ")): m for m in MobilityMode},
    "vehicule": MobilityMode.CAR,
    "auto": MobilityMode.CAR,
    "automobile": MobilityMode.CAR,
    "transport en commun": MobilityMode.PUBLIC_TRANSPORT,
    "transports en commun": MobilityMode.PUBLIC_TRANSPORT,
    "bus": MobilityMode.PUBLIC_TRANSPORT,
    "a pied": MobilityMode.WALK,
    "pied": MobilityMode.WALK,
}
_MODE_LABELS = "voiture, transports en commun, vélo ou marche"


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
    max_commute_minutes: int | None = Field(
        default=None,
        title="Temps de trajet maximal (minutes)",
        description="La durée d'un trajet domicile-travail que la personne accepte, en minutes (1 à 300).",
    )
    mobility_mode: MobilityMode | None = Field(
        default=None,
        title="Moyen de transport",
        description="Comment la personne se rend au travail : voiture, transports en commun, vélo ou marche.",
    )
    contract_types: tuple[ContractType, ...] = ()
    min_weekly_hours: float | None = Field(default=None, gt=0, le=70)
    max_weekly_hours: float | None = Field(default=None, gt=0, le=70)
    salary_floor_monthly: float | None = Field(default=None, ge=0)
    last_monthly_pay: float | None = Field(
        default=None,
        title="Dernier salaire mensuel brut (€)",
        description="Le salaire mensuel brut du dernier emploi, ou celui attendu sans emploi précédent, en euros.",
    )
    available_from: date | None = None
    visible: bool = False
    registered_at: datetime | None = None

    # What a person types in a form: each error says in French what is expected (pydantic's own
    # messages are English and name types, "Input should be 'voiture', …").
    @field_validator("mobility_mode", mode="before")
    @classmethod
    def _known_mode(cls, value: Any) -> MobilityMode | None:
        if value is None or isinstance(value, MobilityMode):
            return value
        text = value if isinstance(value, str) else ""
        if not text.strip():
            if isinstance(value, str):
                return None  # an empty field of a form: not declared
            raise PydanticCustomError(
                "moyen_de_transport", f"Moyen de transport : choisissez {_MODE_LABELS}."
            )
        mode = _MODE_WORDS.get(normalize_label(text.replace("_", " ").replace("-", " ")))
        if mode is None:
            raise PydanticCustomError(
                "moyen_de_transport",
                "Moyen de transport inconnu : « {value} ». Choisissez {labels}.",
                {"value": text.strip(), "labels": _MODE_LABELS},
            )
        return mode

    @field_validator("last_monthly_pay", mode="before")
    @classmethod
    def _plausible_pay(cls, value: Any) -> float | None:
        label = "Dernier salaire mensuel brut"
        amount = _amount(value, label)
        if amount is None:
            return None
        if amount <= 0:
            raise PydanticCustomError("salaire", f"{label} : indiquez un montant positif, en euros.")
        if amount > MAX_DECLARED_MONTHLY_PAY:
            raise PydanticCustomError(
                "salaire",
                "{label} : {amount} € par mois, est-ce un salaire annuel ? Indiquez le montant mensuel "
                "brut (au plus {ceiling} €).",
                {"label": label, "amount": _euros(amount), "ceiling": _euros(MAX_DECLARED_MONTHLY_PAY)},
            )
        return amount

    @field_validator("max_commute_minutes", mode="before")
    @classmethod
    def _commute_minutes(cls, value: Any) -> int | None:
        label = "Temps de trajet maximal"
        amount = _amount(value, label)
        if amount is None:
            return None
        if amount != int(amount) or not 1 <= amount <= MAX_COMMUTE_MINUTES:
            raise PydanticCustomError(
                "temps_de_trajet",
                f"{label} : indiquez un nombre entier de minutes, de 1 à {MAX_COMMUTE_MINUTES}.",
            )
        return int(amount)


def _euros(amount: float) -> str:
    """An amount as French writes it: "42 000", "1 850,5" (narrow no-break spaces between thousands)."""
    whole = f"{amount:,.2f}".rstrip("0").rstrip(".")
    return whole.replace(",", "\u202f").replace(".", ",")


def _amount(value: Any, label: str) -> float | None:
    """A number typed in a form ("1 850,50", "1850.5", 1850) as a float; empty as ``None``.

    Raises
    ------
    PydanticCustomError
        In French, naming the field (``label``), when the value is not a number.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        text = re.sub(r"[\s\u00a0\u202f€]", "", str(value))
        # "1.850,50", "1.850": dots group thousands where a comma marks the decimals, or before three
        # digits (a decimal part in euros has two)
        if "," in text or re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
            text = text.replace(".", "")
        text = text.replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise PydanticCustomError(
                "nombre", "{label} : « {value} » n'est pas un nombre.", {"label": label, "value": str(value)}
            ) from None
    if number != number or number in (float("inf"), float("-inf")):  # NaN, infinities
        raise PydanticCustomError("nombre", "{label} : indiquez un nombre.", {"label": label})
    return number


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
        max_commute_minutes=declaration.max_commute_minutes,
        mobility_mode=declaration.mobility_mode,
        contract_types=declaration.contract_types,
        min_weekly_hours=declaration.min_weekly_hours,
        max_weekly_hours=declaration.max_weekly_hours,
        salary_floor_monthly=declaration.salary_floor_monthly,
        last_monthly_pay=declaration.last_monthly_pay,
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
