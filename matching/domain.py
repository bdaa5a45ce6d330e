"""Domain model: offers, jobseeker profiles, trainings, subscriptions and the interaction event log.

These pydantic models are the engine's vocabulary, separate from storage rows
(:mod:`serving.storage.tables`) and from API schemas. Protected attributes are deliberately absent:
they live in :class:`AuditAttributes`, stored in their own table and read by fairness evaluation only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from matching.schedule import WorkSchedule

ROME_CODE_PATTERN = r"^[A-N]\d{4}$"
DEFAULT_COMMUTE_KM = 30.0  # the radius used for someone who declared no commute
POE_MAX_HOURS = 400.0  # a préparation opérationnelle à l'emploi is shorter than this
INSEE_PATTERN = r"^(\d{5}|2[AB]\d{3})$"
FRANCE_TRAVAIL = "france_travail"  # the source of offers read from France Travail's "Offres d'emploi v2"


class ContractType(enum.StrEnum):
    """France Travail contract type codes (``typeContrat``): the whole list of its referential.

    The list and the French labels are those of France Travail's referential of contract types
    (``GET /partenaire/offresdemploi/v2/referentiel/typesContrats``), the labels shortened as the
    offers' ``typeContratLibelle`` writes them. :attr:`family` groups the variants of a contract with
    the contract they are legally a kind of: a CDD Tremplin (DDT) is a fixed-term contract (a CDD).
    """

    CDI = "CDI"  # contrat à durée indéterminée
    CDD = "CDD"  # contrat à durée déterminée
    MIS = "MIS"  # mission intérimaire
    SAI = "SAI"  # contrat travail saisonnier
    LIB = "LIB"  # profession libérale
    FRA = "FRA"  # franchise
    CCE = "CCE"  # profession commerciale
    REP = "REP"  # reprise d'entreprise
    DDI = "DDI"  # contrat durée déterminée insertion
    DIN = "DIN"  # CDI intérimaire
    TTI = "TTI"  # contrat travail temporaire insertion
    DDT = "DDT"  # CDD Tremplin (entreprises adaptées)

    @property
    def label(self) -> str:
        """The contract's French name, as shown to people ("CDD Tremplin" for DDT)."""
        return CONTRACT_LABELS[self]

    @property
    def family(self) -> ContractType:
        """The contract this one is a variant of (DDT: CDD), itself for the others."""
        return _CONTRACT_FAMILIES.get(self, self)


CONTRACT_LABELS: dict[ContractType, str] = {
    ContractType.CDI: "CDI",
    ContractType.CDD: "CDD",
    ContractType.MIS: "Intérim",
    ContractType.SAI: "Saisonnier",
    ContractType.LIB: "Profession libérale",
    ContractType.FRA: "Franchise",
    ContractType.CCE: "Profession commerciale",
    ContractType.REP: "Reprise d'entreprise",
    ContractType.DDI: "CDD Insertion",
    ContractType.DIN: "CDI Intérimaire",
    ContractType.TTI: "Intérim Insertion",
    ContractType.DDT: "CDD Tremplin",
}
# A CDD Tremplin is a fixed-term contract (a CDD of an entreprise adaptée, loi n° 2018-771 of 5
# September 2018, art. 78): whoever asks for CDD is offered it, and history about CDDs applies to it
# (issue 17). The insertion contracts (DDI, TTI) and the CDI intérimaire keep their own code, as before.
_CONTRACT_FAMILIES: dict[ContractType, ContractType] = {ContractType.DDT: ContractType.CDD}
# the same by code, both ways, for the per-pair lookups of features and filters
_FAMILY_OF_CODE: dict[str, str] = {c.value: f.value for c, f in _CONTRACT_FAMILIES.items()}
_VARIANTS_OF_CODE: dict[str, frozenset[str]] = {
    f: frozenset(c for c, family in _FAMILY_OF_CODE.items() if family == f) for f in _FAMILY_OF_CODE.values()
}


def contract_family(code: str | None) -> str | None:
    """The family code of a contract code (``"DDT"`` → ``"CDD"``); any other code or ``None`` as is."""
    return _FAMILY_OF_CODE.get(code, code) if code is not None else None


def contract_label(code: str | None) -> str | None:
    """The French name of a contract code ("DDT" → "CDD Tremplin"); an unknown code as is, ``None``."""
    if code is None:
        return None
    try:
        return ContractType(code).label
    except ValueError:
        return code


def accepted_contract_codes(declared: Iterable[str]) -> frozenset[str]:
    """The offer contract codes a person who declared ``declared`` accepts.

    Each declared code, and every variant in its family: declaring CDD accepts DDT (CDD Tremplin) too;
    declaring DDT accepts DDT only. Used alike by the candidate filter, the pair features and the
    excluded contracts of a subscription, so that all three agree.
    """
    wanted = frozenset(str(code) for code in declared)
    return wanted.union(*(_VARIANTS_OF_CODE.get(code, ()) for code in wanted))


class ExperienceRequirement(enum.StrEnum):
    """``experienceExige``: D = débutant accepté, S = souhaitée, E = exigée."""

    BEGINNER_OK = "D"
    WISHED = "S"
    REQUIRED = "E"


class RefusalReason(enum.StrEnum):
    """Structured reasons a jobseeker gives when refusing an alert."""

    DISTANCE = "distance"
    SALAIRE = "salaire"
    TYPE_CONTRAT = "type_contrat"
    HORAIRES = "horaires"
    METIER = "metier"
    COMPETENCES = "competences"
    DEJA_EN_POSTE = "deja_en_poste"
    AUTRE = "autre"


class EmployerRefusalReason(enum.StrEnum):
    """Reasons an employer gives when refusing an applicant or a proposed candidate."""

    COMPETENCES = "competences"
    EXPERIENCE = "experience"
    QUALIFICATION = "qualification"
    POSTE_POURVU = "poste_pourvu"
    AUTRE = "autre"


class EventType(enum.StrEnum):
    """Kinds of events in the interaction log."""

    ALERT_SENT = "alert_sent"
    ALERT_OPENED = "alert_opened"
    APPLIED = "applied"
    REFUSED = "refused"
    COUNSELLOR_PROPOSED = "counsellor_proposed"
    COUNSELLOR_DISMISSED = "counsellor_dismissed"
    EMPLOYER_ACCEPTED = "employer_accepted"
    EMPLOYER_REFUSED = "employer_refused"
    HIRED = "hired"
    TRAINING_ENROLLED = "training_enrolled"
    TRAINING_COMPLETED = "training_completed"


class TrainingModality(enum.StrEnum):
    ON_SITE = "presentiel"
    REMOTE = "distanciel"
    BLENDED = "mixte"


class Channel(enum.StrEnum):
    EMAIL = "email"
    APP = "app"
    SMS = "sms"


class Cadence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class Precision(enum.StrEnum):
    """How precisely a workplace is known (France Travail's ``lieuTravail`` gives any of these).

    The candidate filter reads each level differently (:attr:`Location.anywhere`,
    :attr:`Location.extent_km`): a commune is a point; a département or a region is its centroid and a
    radius within which the workplace lies; only an explicitly national (or remote) workplace is
    anywhere; a foreign country or an unknown place is nowhere a commute reaches.
    """

    COMMUNE = "commune"  # the commune, or the offer's own point checked against it
    POSTAL_CODE = "code_postal"  # the communes sharing a postal code that names no one of them
    DEPARTEMENT = "departement"
    REGION = "region"
    COUNTRY = "pays"  # abroad: a foreign country or territory
    NATIONAL = "national"  # explicitly the whole of France ("France"), or remote work
    UNKNOWN = "inconnu"  # nothing usable: no commune, département, region or country


#: Levels known to an area only, placed at its centroid with an extent: no point to measure a distance
#: to (the candidate filter reads their edge; features read their distance as unknown).
APPROXIMATE_PRECISIONS = (Precision.POSTAL_CODE, Precision.DEPARTEMENT, Precision.REGION)


class Location(BaseModel):
    """A place: INSEE commune code and/or coordinates, and how precise they are.

    ``precision`` is ``None`` where the source states none (simulated entities, profiles' homes,
    trainings): the coordinates are then a point when present, and a place without them is kept by
    every distance filter, as before precision existed, except a training's: taught on site at an
    unknown place, it reaches no commute (:meth:`matching.candidates.CandidateGenerator.index_trainings`). ``area`` names the département code, region
    code or country of an approximate place; ``extent_km`` is the radius (km) around the coordinates
    within which the place lies (0 for a point).
    """

    model_config = ConfigDict(frozen=True)

    insee: str | None = Field(default=None, pattern=INSEE_PATTERN)
    label: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    precision: Precision | None = None
    area: str | None = None
    extent_km: float = Field(default=0.0, ge=0)

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None

    @property
    def anywhere(self) -> bool | None:
        """Whether a commute filter keeps the place whatever the distance: ``True`` for a national or
        remote place, ``False`` for a place that is nowhere a commute reaches (abroad, unknown), ``None``
        when the coordinates decide (or, without precision or coordinates, nothing is known)."""
        if self.precision is None or (self.has_coordinates and self.precision is not Precision.NATIONAL):
            return None
        return self.precision is Precision.NATIONAL


class RomeSource(enum.StrEnum):
    """Where an offer's ROME code comes from."""

    STATED = "offre"  # the source's ``romeCode``, consistent with its appellation (or without one)
    SUBFICHE = "sous_fiche"  # the appellation's fiche, a sub-fiche of the stated code (filed under it)
    CONFLICT = "conflit"  # the stated code kept, its appellation belonging to an unrelated fiche
    INFERRED = "classifieur"  # no ``romeCode``: the ROME classifier's, with its confidence


class Offer(BaseModel):
    """A job offer, as ingested from France Travail or generated by the simulator.

    Salaries are monthly gross euros; hours are weekly; experience is in months. ``stated_rome_code``
    is the source's code when ``rome_code`` differs from it (:attr:`RomeSource.SUBFICHE`) or disagrees
    with the appellation (:attr:`RomeSource.CONFLICT`); ``rome_confidence`` is the classifier's
    confidence in ``[0, 1]`` for an inferred code. ``schedule`` holds the unusual hours the offer states
    (:func:`matching.schedule.schedule_attributes`: nights, weekends, shifts, split days; empty when it
    states none); ``employer_size_band`` the workforce band of the hiring establishment as INSEE's ordinal,
    0 (no employee) to 14 (10,000 and more; :func:`matching.schedule.employer_size_band`), ``None`` when
    not stated.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1)
    description: str = ""
    rome_code: str = Field(pattern=ROME_CODE_PATTERN)
    rome_source: RomeSource = RomeSource.STATED
    stated_rome_code: str | None = None
    rome_confidence: float | None = Field(default=None, ge=0, le=1)
    appellation_code: str | None = None
    appellation_label: str | None = None
    location: Location = Field(default_factory=Location)
    contract_type: ContractType | None = None
    weekly_hours: float | None = Field(default=None, gt=0, le=70)
    full_time: bool | None = None
    salary_min_monthly: float | None = Field(default=None, gt=0)
    salary_max_monthly: float | None = Field(default=None, gt=0)
    experience: ExperienceRequirement | None = None
    experience_months: int | None = Field(default=None, ge=0)
    qualification_code: str | None = None
    skills: tuple[str, ...] = ()
    required_skills: tuple[str, ...] = ()
    # skills read from the title and description (matching.skills.SkillExtractor), best first, with the
    # probability that the offer would list each; never the listed ones, which stay in ``skills``
    inferred_skills: tuple[str, ...] = ()
    inferred_skill_scores: tuple[float, ...] = ()
    formacodes: tuple[str, ...] = ()
    positions: int = Field(default=1, ge=1)
    created_at: datetime
    updated_at: datetime | None = None
    need_date: date | None = None
    expires_at: date | None = None
    source: str = FRANCE_TRAVAIL
    # who hires (when the offer names them) and where a jobseeker applies: the source's application
    # page or the offer's own page there; shown on alerts, never a feature
    employer: str | None = None
    apply_url: str | None = Field(default=None, pattern=r"^https?://")
    # what the ranker weighs against the person's answers (issue 19): the hours it imposes and the size
    # of the hiring establishment
    schedule: tuple[WorkSchedule, ...] = ()
    employer_size_band: int | None = Field(default=None, ge=0, le=14)

    @field_validator("schedule")
    @classmethod
    def _schedule_canonical(cls, schedule: tuple[WorkSchedule, ...]) -> tuple[WorkSchedule, ...]:
        # one order whatever the source's (a frame's list, a partner's JSON): the content hash and the
        # round trips through storage compare equal
        return tuple(sorted(set(schedule)))

    @model_validator(mode="after")
    def _salary_range_ordered(self) -> Offer:
        if (
            self.salary_min_monthly is not None
            and self.salary_max_monthly is not None
            and self.salary_max_monthly < self.salary_min_monthly
        ):
            raise ValueError("salary_max_monthly is below salary_min_monthly")
        if len(self.inferred_skill_scores) != len(self.inferred_skills):
            raise ValueError("inferred_skill_scores must give one score per inferred skill")
        return self


def older_version(updated_at: datetime | None, than: datetime | None) -> bool:
    """Whether the version of an offer updated at ``updated_at`` is older than one updated at ``than``.

    Versions are ordered by ``updated_at`` (France Travail's ``dateActualisation``). A version without
    it is older than any dated one: it cannot show that it is the newer. A naive date is read as UTC,
    as the database stores it. Equal dates are not older either way, so the caller decides (the ingest
    takes the version it read last).

    Parameters
    ----------
    updated_at
        The update time of the version in question, ``None`` if unknown.
    than
        The update time of the version it is compared with, ``None`` if unknown.

    Returns
    -------
    bool
        True when ``than`` is strictly later, or dated while ``updated_at`` is not.
    """
    if than is None:
        return False
    if updated_at is None:
        return True
    return _as_utc(updated_at) < _as_utc(than)


def _as_utc(moment: datetime) -> datetime:
    # a naive and an aware datetime do not compare: a feed may drop the "Z" of one record only
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


class MobilityMode(enum.StrEnum):
    """How a person gets to work, as they declared it (a vehicle and a driving licence, or none).

    The travel mode, never a place: it only turns a distance into an estimated travel time.
    """

    CAR = "voiture"
    PUBLIC_TRANSPORT = "transports_en_commun"
    BIKE = "velo"
    WALK = "marche"


class Profile(BaseModel):
    """A jobseeker profile with a known job project.

    The home commune serves only to compute distances, and only relative to the person's own declared
    mobility (``max_commute_km`` / ``max_commute_minutes``, and ``mobility_mode``, the means of transport
    they declared). ``last_monthly_pay`` is the gross monthly pay of their last job (or the pay they
    expect when they had none), in euros, what an offer's salary is weighed against.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    rome_codes: tuple[str, ...] = Field(min_length=1)
    appellation_codes: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    experience_months: int = Field(default=0, ge=0)
    qualification_code: str | None = None
    home: Location
    max_commute_km: float | None = Field(default=None, gt=0, le=500)
    max_commute_minutes: int | None = Field(default=None, gt=0, le=300)
    mobility_mode: MobilityMode | None = None
    contract_types: tuple[ContractType, ...] = ()
    min_weekly_hours: float | None = Field(default=None, gt=0, le=70)
    max_weekly_hours: float | None = Field(default=None, gt=0, le=70)
    salary_floor_monthly: float | None = Field(default=None, ge=0)
    last_monthly_pay: float | None = Field(default=None, gt=0)
    available_from: date | None = None
    visible: bool = False
    registered_at: datetime | None = None

    @field_validator("rome_codes")
    @classmethod
    def _rome_codes_well_formed(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in codes if not re.match(ROME_CODE_PATTERN, c)]
        if bad:
            raise ValueError(f"not ROME codes: {bad}")
        return codes


class Training(BaseModel):
    """A training course; ``poe_eligible`` marks courses usable as a POE (< 400 hours).

    A course from a catalogue that lists no sessions (Mon Compte Formation) has no dates: its dates are
    to confirm with the training body (:attr:`dates_to_confirm`), and a suggestion says so.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1)
    rome_codes: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    hours: float = Field(gt=0, le=3000)
    start_date: date | None = None
    end_date: date | None = None
    location: Location = Field(default_factory=Location)
    modality: TrainingModality = TrainingModality.ON_SITE
    organisation: str = ""
    outcome_rate: float | None = Field(default=None, ge=0, le=1)
    poe_eligible: bool = False
    formacode: str | None = None

    @model_validator(mode="after")
    def _dates_and_poe(self) -> Training:
        if (self.start_date is None) != (self.end_date is None):
            raise ValueError("a training states both its start and end dates, or neither (dates to confirm)")
        if self.start_date is not None and self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.poe_eligible and self.hours >= 400:
            raise ValueError("a POE training lasts less than 400 hours")
        return self

    @property
    def dates_to_confirm(self) -> bool:
        """Whether the course states no session dates (to confirm with the training body)."""
        return self.start_date is None


class Subscription(BaseModel):
    """An offer-alert subscription, created from a profile's job project and editable by the person."""

    model_config = ConfigDict(frozen=True)

    id: str
    profile_id: str
    rome_codes: tuple[str, ...] = Field(min_length=1)
    radius_km: float = Field(default=30, gt=0, le=500)
    contract_types: tuple[ContractType, ...] = ()
    min_weekly_hours: float | None = None
    salary_floor_monthly: float | None = None
    excluded_contract_types: tuple[ContractType, ...] = ()
    # occupations refused as "pas ce métier": ROME codes (a neighbouring fiche) or OGR appellation
    # codes (a job of the person's own fiche), never alerted again until lifted
    excluded_occupations: tuple[str, ...] = ()
    # also send offers outside the declared contracts and hours (labelled as such); off by default
    beyond_criteria: bool = False
    channel: Channel = Channel.EMAIL
    cadence: Cadence = Cadence.DAILY
    max_alerts_per_run: int = Field(default=10, ge=1, le=100)
    active: bool = True
    # no e-mail from ``quiet_from`` o'clock to ``quiet_until`` o'clock, Paris time (``None``: at any
    # hour); the digest waits for the end of the quiet hours
    quiet_from: int | None = Field(default=21, ge=0, le=23)
    quiet_until: int | None = Field(default=8, ge=0, le=23)


class Interaction(BaseModel):
    """One event of the interaction log.

    ``rank`` is the position at which the offer was shown (1 = top) for exposure events, so that
    position bias can be corrected; ``list_id`` groups the items shown together in one list.
    """

    model_config = ConfigDict(frozen=True)

    occurred_at: datetime
    event: EventType
    profile_id: str
    offer_id: str | None = None
    training_id: str | None = None
    reason: str | None = None
    rank: int | None = Field(default=None, ge=1)
    list_id: str | None = None
    actor: str = "system"

    @model_validator(mode="after")
    def _reason_matches_event(self) -> Interaction:
        if self.event is EventType.REFUSED:
            RefusalReason(self.reason or "")
        elif self.event is EventType.EMPLOYER_REFUSED:
            EmployerRefusalReason(self.reason or "")
        elif self.reason is not None:
            raise ValueError(f"event {self.event} carries no reason")
        return self


# The columns of the event log, in order: one row per :class:`Interaction` (simulated worlds, the
# database's ``interactions`` table and the frames feature code reads all share them).
EVENT_COLUMNS = tuple(Interaction.model_fields)


class SkillSource(enum.StrEnum):
    """Where the skills an offer asks for come from (:func:`skills_asked`)."""

    REQUIRED = "required"  # the offer's required skills
    LISTED = "listed"  # the competences it lists
    INFERRED = "inferred"  # read from its text (matching.skills)
    FICHE = "fiche"  # its fiche's core skills: the offer says none
    NONE = "none"


def skills_asked(
    required: Sequence[str], listed: Sequence[str], inferred: Sequence[str], core_skills: Sequence[str] = ()
) -> tuple[tuple[str, ...], SkillSource]:
    """The skills an offer asks for and where they come from: its required skills, else those it
    lists, else those read from its text (:attr:`Offer.inferred_skills`), else its fiche's
    ``core_skills`` (ROME ``coeur_metier``).

    What an employer stated wins over what the engine inferred; inferred skills stand in only for an
    offer that lists none (four in five real offers), so that "skills missing" describes the offer
    rather than the occupation.
    """
    for skills, source in (
        (required, SkillSource.REQUIRED),
        (listed, SkillSource.LISTED),
        (inferred, SkillSource.INFERRED),
        (core_skills, SkillSource.FICHE),
    ):
        if len(skills):
            return tuple(skills), source
    return (), SkillSource.NONE


def wanted_skills(
    required: Sequence[str], listed: Sequence[str], inferred: Sequence[str], core_skills: Sequence[str] = ()
) -> tuple[str, ...]:
    """The skills of :func:`skills_asked`, without their source."""
    return skills_asked(required, listed, inferred, core_skills)[0]


def missing_skills(profile: Profile, offer: Offer, core_skills: tuple[str, ...] = ()) -> list[str]:
    """Skills the offer asks for (:func:`wanted_skills`) that the person lacks, in the offer's order."""
    wanted = wanted_skills(offer.required_skills, offer.skills, offer.inferred_skills, core_skills)
    have = set(profile.skills)
    return [s for s in dict.fromkeys(wanted) if s not in have]


class AgeBand(enum.StrEnum):
    UNDER_26 = "<26"
    FROM_26_TO_49 = "26-49"
    FROM_50 = "50+"


class AuditAttributes(BaseModel):
    """Protected attributes kept for fairness audits only; never read by features or the ranker."""

    model_config = ConfigDict(frozen=True)

    profile_id: str
    sex: str | None = Field(default=None, pattern=r"^[FM]$")
    age_band: AgeBand | None = None
    qpv: bool | None = None
