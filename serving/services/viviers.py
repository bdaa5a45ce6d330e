"""Counsellors' saved sector viviers: consenting, available people of some occupations in an area.

A counsellor tells a vivier as they would say it, an occupation around a commune: :func:`resolve_occupation`
reads a ROME title or code with the referential, :func:`resolve_commune` a commune name, "Lyon 3e", a
postal or INSEE code with the La Poste base; each answers a French sentence naming the field when it
cannot tell (unknown, or several choices, listed).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from features.tables import MarketTables
from matching.domain import ROME_CODE_PATTERN, Location
from matching.geo import Communes, department_of, display_name, haversine_km, place_key
from matching.referential import Referential, gendered_forms, normalize_label
from serving.container import ServingContainer
from serving.explain import commune_name, occupation_label
from serving.schemas import CandidateFacts, VivierIn, VivierNearIn, VivierOut
from serving.services.checks import unknown_rome_codes
from serving.services.errors import Invalid, NotFound
from serving.services.sourcing import candidate_facts, occupation_labels
from serving.storage.store import search_variants
from serving.storage.tables import VivierRow

MAX_CHOICES = 8  # choices listed when an occupation or a commune is ambiguous
MEMBERS_SHOWN = 30  # members of a vivier shown as cards on the page, nearest first
_ARRONDISSEMENT = re.compile(
    r"^(PARIS|LYON|MARSEILLE) (\d{1,2}) ?(?:E|EME|ER|ERE|EMME)?(?: ARRONDISSEMENT)?$"
)
_DEPARTMENT_SUFFIX = re.compile(r"^(.*?)\s*\(\s*(\d{2,3}|2[AaBb])\s*\)\s*$")


def _problem(field: str, message: str) -> Invalid:
    """A refusal naming its field, in French (the page shows it next to the field)."""
    return Invalid(message, problems=[{"type": "value_error", "loc": ["body", field], "msg": message}])


def _choices(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_CHOICES])
    return shown + (f" et {len(items) - MAX_CHOICES} autres" if len(items) > MAX_CHOICES else "")


# -- occupations ---------------------------------------------------------------------------------------
_TITLES: dict[int, tuple[Referential, list[tuple[frozenset[str], tuple[str, ...], str]]]] = {}


def _titles(referential: Referential) -> list[tuple[frozenset[str], tuple[str, ...], str]]:
    """Every fiche label and appellation as searched: ``(fiche labels in their gendered forms, as
    :func:`normalize_label` writes them (empty for an appellation, found by the referential), the
    words of the label, fiche code)``; built once per referential."""
    cached = _TITLES.get(id(referential))
    if cached is None or cached[0] is not referential:
        rows: list[tuple[frozenset[str], tuple[str, ...], str]] = []
        for fiche in referential.fiches.values():
            forms = frozenset(normalize_label(g) for g in gendered_forms(fiche.label))
            rows.append((forms, _words(fiche.label), fiche.code))
        for app in referential.appellations.values():
            for label in dict.fromkeys((app.label, app.short_label)):
                rows.append((frozenset(), _words(label), app.fiche_code))
        cached = _TITLES[id(referential)] = (referential, rows)
    return cached[1]


def _words(label: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[^a-z0-9]+", normalize_label(label)) if w)


def _one_occupation(referential: Referential, text: str) -> list[str] | None:
    """The fiche codes ``text`` names (a ROME code, a title, words of titles); ``None``: nothing."""
    code = text.strip().upper()
    if re.fullmatch(ROME_CODE_PATTERN, code):
        if code not in referential.fiches:
            raise _problem(
                "occupation",
                f"Code ROME inconnu : {code}. Vérifiez le code ou saisissez le métier en toutes lettres.",
            )
        return [code]
    found = [a.fiche_code for a in referential.find_appellations(text)]
    wanted = normalize_label(text)
    titles = _titles(referential)
    found += [code for forms, _, code in titles if wanted in forms]
    if found:
        return list(dict.fromkeys(found))
    words = [w for w in re.split(r"[^a-z0-9]+", wanted) if w]
    if not words:
        return None
    # each word, or its masculine/singular stem ("analyste" for "Data analyst"), opens a title's word
    variants = [search_variants(w) for w in words]
    matched = [
        (have, code)
        for _, have, code in titles
        if all(any(h.startswith(v) for h in have for v in vs) for vs in variants)
    ]
    hits = {code for _, code in matched}
    if len(hits) > 1:
        # the fiches most titles of which open with the first word come first ("Développeur": M1805)
        opening = Counter(code for have, code in matched if any(have[0].startswith(v) for v in variants[0]))
        listed = [occupation_label(referential, c) for c in sorted(hits, key=lambda c: (-opening[c], c))]
        raise _problem(
            "occupation",
            f"« {text.strip()} » correspond à plusieurs métiers : {_choices(listed)}. "
            "Précisez l'intitulé ou saisissez le code ROME.",
        )
    return sorted(hits) or None


def resolve_occupation(referential: Referential, text: str) -> list[str]:
    """The ROME codes an occupation as typed names: a code ("N1101", any case), a ROME title or
    appellation whatever its accents, case and gender ("cariste", "Serveuse de café"), or words of
    titles naming one fiche ("chariot elevateur"); several, separated by commas.

    Raises
    ------
    Invalid
        Nothing matches, or words match several fiches (listed, to choose from): a French sentence
        about the ``occupation`` field.
    """
    whole = _one_occupation(referential, text)
    if whole:
        return whole
    parts = [p for p in re.split(r"[,;]", text) if p.strip()]
    if len(parts) > 1:
        codes: list[str] = []
        for part in parts:
            codes += resolve_occupation(referential, part)
        return list(dict.fromkeys(codes))
    raise _problem(
        "occupation",
        f"Métier inconnu : « {text.strip()} ». Saisissez un intitulé du ROME (par exemple « Cariste ») "
        "ou un code ROME (par exemple N1101).",
    )


# -- communes ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Commune:
    """A commune found by :func:`resolve_commune`: its INSEE code, name and centre."""

    insee: str
    name: str
    lat: float
    lon: float


def _commune_key(text: str) -> str:
    """A commune name as compared: La Poste's (upper case, no accents or punctuation, "ST" for
    "Saint"), an arrondissement as La Poste numbers it ("lyon 3e" → "LYON 03")."""
    key = re.sub(r"[^A-Z0-9 ]", " ", place_key(text.replace("’", "'").replace("‘", "'")))
    words = [{"SAINT": "ST", "SAINTE": "STE"}.get(w, w) for w in key.split()]
    key = " ".join(words)
    city = _ARRONDISSEMENT.match(key)
    return f"{city.group(1)} {int(city.group(2)):02d}" if city else key


_NAME_INDEX: dict[int, tuple[Communes, dict[str, list[str]]]] = {}


def _names(communes: Communes) -> dict[str, list[str]]:
    """Commune key → INSEE codes, built once per commune base."""
    cached = _NAME_INDEX.get(id(communes))
    if cached is None or cached[0] is not communes:
        index: dict[str, list[str]] = {}
        for code in communes.insee.tolist():
            name = commune_name(communes, code)
            if name:
                index.setdefault(_commune_key(name), []).append(code)
        cached = _NAME_INDEX[id(communes)] = (communes, index)
    return cached[1]


def _commune(communes: Communes, code: str) -> Commune:
    lat, lon = communes.coords(code)
    return Commune(code, commune_name(communes, code) or code, lat, lon)


def _labelled(communes: Communes, codes: list[str]) -> list[str]:
    return sorted(f"{commune_name(communes, c) or c} ({department_of(c)})" for c in codes)


def resolve_commune(communes: Communes | None, text: str) -> Commune:
    """The commune a counsellor typed: a name whatever its accents, case and hyphens ("saint etienne"),
    an arrondissement ("Lyon 3e", "Paris 15"), a name with its département ("Saint-Denis (93)"), a
    postal code ("69003") or an INSEE code.

    Raises
    ------
    Invalid
        Unknown (with close names when there are some), or several communes bear that name or postal
        code (listed with their département, to choose from): a French sentence about the ``commune``
        field.
    """
    typed = text.strip()
    if communes is None or not len(communes):
        raise _problem(
            "commune", "La base des communes n'est pas chargée : le vivier ne peut pas être placé."
        )
    if re.fullmatch(r"\d{5}|2[AaBb]\d{3}", typed):
        code = typed.upper()
        by_postal = sorted({c for c in communes.postal_places.get(code, {}).values() if c in communes})
        if len(by_postal) == 1:
            return _commune(communes, by_postal[0])
        if len(by_postal) > 1:
            raise _problem(
                "commune",
                f"Le code postal {code} couvre plusieurs communes : {_choices(_labelled(communes, by_postal))}. "
                "Saisissez le nom de la commune.",
            )
        if code in communes:
            return _commune(communes, code)
        raise _problem("commune", f"Code postal ou code commune inconnu : {code}.")
    department = None
    suffixed = _DEPARTMENT_SUFFIX.match(typed)
    if suffixed:
        typed, department = suffixed.group(1), suffixed.group(2).upper()
    names = _names(communes)
    key = _commune_key(typed)
    codes = [c for c in names.get(key, []) if department is None or department_of(c) == department]
    if len(codes) == 1:
        return _commune(communes, codes[0])
    if len(codes) > 1:
        example = _labelled(communes, codes)[0]
        raise _problem(
            "commune",
            f"Plusieurs communes s'appellent « {typed} » : {_choices(_labelled(communes, codes))}. "
            f"Précisez le département entre parenthèses, par exemple « {example} », ou saisissez le code postal.",
        )
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.75) if key else []
    hint = f" Vouliez-vous dire : {', '.join(display_name(k) for k in close)} ?" if close else ""
    where = f" dans le département {department}" if department else ""
    raise _problem(
        "commune",
        f"Commune inconnue{where} : « {typed} ».{hint} Saisissez le nom de la commune ou son code postal.",
    )


def nearest_commune(communes: Communes | None, lat: float, lon: float) -> str | None:
    """The name of the commune nearest to a point (a vivier's centre), ``None`` without a commune base."""
    if communes is None or not len(communes):
        return None
    row = int(np.argmin(haversine_km(communes.lat, communes.lon, lat, lon)))
    return commune_name(communes, str(communes.insee[row]))


def spec_near(container: ServingContainer, near: VivierNearIn) -> VivierIn:
    """The vivier an occupation around a commune makes: its ROME codes and the commune's centre.

    Raises
    ------
    Invalid
        The occupation or the commune cannot be told (one problem per field, French sentences).
    """
    problems: list[dict[str, Any]] = []
    codes: list[str] = []
    commune: Commune | None = None
    try:
        codes = resolve_occupation(container.referential, near.occupation)
    except Invalid as error:
        problems += error.problems
    try:
        commune = resolve_commune(container.communes, near.commune)
    except Invalid as error:
        problems += error.problems
    if problems or commune is None:
        raise Invalid(" ".join(p["msg"] for p in problems), problems=problems)
    trade = (
        container.referential.fiches[codes[0]].label if codes[0] in container.referential.fiches else codes[0]
    )
    trades = trade + (
        f" et {len(codes) - 1} autre{'s' if len(codes) > 2 else ''} métier{'s' if len(codes) > 2 else ''}"
        if len(codes) > 1
        else ""
    )
    label = near.label or f"{trades} autour de {commune.name}"[:120]
    return VivierIn(
        label=label,
        rome_codes=codes[:20],
        lat=commune.lat,
        lon=commune.lon,
        radius_km=near.radius_km,
        available_within_days=near.available_within_days,
    )


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
    members' consent read in one pass), with their occupations and centre in words."""
    profiles = container.store.profiles(pid for row in rows for pid in row.profile_ids)
    return [
        VivierOut(
            **_spec(row).model_dump(),
            id=row.id,
            refreshed_at=row.refreshed_at,
            profile_ids=[pid for pid in row.profile_ids if pid in profiles and profiles[pid].visible],
            occupations=occupation_labels(container.referential, row.rome_codes),
            centre=nearest_commune(container.communes, row.lat, row.lon),
        )
        for row in rows
    ]


def vivier_cards(
    container: ServingContainer, vivier: VivierOut, limit: int = MEMBERS_SHOWN
) -> list[tuple[str, CandidateFacts]]:
    """The vivier's members as the candidate cards show them, nearest to its centre first (at most
    ``limit``), with the distance to the centre."""
    profiles = container.store.profiles(vivier.profile_ids)
    people = [profiles[pid] for pid in vivier.profile_ids if pid in profiles and profiles[pid].visible]
    facts = candidate_facts(container, people, Location(lat=vivier.lat, lon=vivier.lon))
    ordered = sorted(
        facts.items(), key=lambda item: (item[1].distance_km is None, item[1].distance_km or 0.0, item[0])
    )
    return ordered[:limit]


def create_vivier(container: ServingContainer, owner_id: str, spec: VivierIn | VivierNearIn) -> VivierOut:
    """Save a counsellor's vivier and fill it now.

    ``spec`` is ROME codes around a point, or an occupation around a commune (:func:`spec_near`).

    Raises
    ------
    Invalid
        A ROME code is not in the referential; an occupation or a commune that cannot be told.
    """
    if isinstance(spec, VivierNearIn):
        spec = spec_near(container, spec)
    unknown = unknown_rome_codes(container.referential, spec.rome_codes)
    if unknown:
        raise Invalid(f"unknown ROME codes: {', '.join(unknown)}")
    members = vivier_members(container.tables(), container.referential, spec, container.clock.today())
    row = container.store.add_vivier(owner_id, spec.model_dump(), members)
    _log_members(container, owner_id, row.id, members)
    return _outs(container, [row])[0]


def _log_members(container: ServingContainer, owner_id: str, vivier_id: int, members: list[str]) -> None:
    """Log a vivier's list as filled, like every served list: a rule over the database (no model; the
    index version says the members were not drawn from an index)."""
    container.store.log_recommendation(
        kind="vivier",
        actor_role="counsellor",
        actor_id=owner_id,
        subject_id=f"vivier:{vivier_id}",
        ranking="rule",
        model_version="vivier-rule",
        index_version="database",
        item_ids=members,
        scores=[1.0] * len(members),
        request={"vivier_id": vivier_id},
    )


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
    _log_members(container, owner_id, vivier_id, list(row.profile_ids))
    return _outs(container, [row])[0]
