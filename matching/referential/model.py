"""In-memory ROME 4.0 referential and its query API.

Pure data and computation: loaders (:mod:`matching.referential.rome_csv`,
:mod:`matching.referential.builtin`) build a :class:`Referential` from their tables; everything else
queries it. Codes are strings exactly as France Travail writes them (``"M1811"``, OGR ``"404048"``).
"""

from __future__ import annotations

import difflib
import enum
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from matching.errors import ReferentialError, UnknownCodeError


class SkillKind(enum.StrEnum):
    """The three ROME 4.0 rubrics of the "Compétences" block."""

    SAVOIR_FAIRE = "savoir_faire"
    SAVOIR_ETRE = "savoir_etre"
    SAVOIR = "savoir"


@dataclass(frozen=True, slots=True)
class Fiche:
    """A ROME fiche métier. A parent fiche has ``parent_code == code``."""

    code: str
    label: str
    parent_code: str
    domain_code: str
    grand_domain_code: str
    definition: str = ""

    @property
    def is_parent(self) -> bool:
        return self.parent_code == self.code


@dataclass(frozen=True, slots=True)
class Appellation:
    """A job title (appellation) attached to one fiche."""

    code: str
    label: str
    short_label: str
    fiche_code: str
    principal: bool = False


@dataclass(frozen=True, slots=True)
class Skill:
    """A compétence, savoir-être or savoir item (code OGR); ``category`` is a savoir's sub-category in
    the ROME export (``sous_categorie_savoir``: "Certifications", "Habilitations", "Langues"…), empty
    for the others. ``macro`` tells a macro-compétence (the export's ``nature``), ``macro_code`` is the
    macro-compétence a compétence belongs to (``code_ogr_macro_comp``; empty when none or unknown)."""

    code: str
    label: str
    kind: SkillKind
    category: str = ""
    macro: bool = False
    macro_code: str = ""


@dataclass(frozen=True, slots=True)
class FicheSkills:
    """Skills linked to a fiche, split by the ``coeur_metier`` flag ("Principale" = core)."""

    core: tuple[str, ...]
    other: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.core + self.other


class RomeRelation(enum.IntEnum):
    """How close two fiches are, from closest (0) to farthest; the value is an ordinal feature."""

    SAME = 0
    PARENT_CHILD = 1
    SIBLING = 2
    MOBILITY = 3
    SAME_DOMAIN = 4
    SAME_GRAND_DOMAIN = 5
    FAR = 6


@dataclass(frozen=True, slots=True)
class RomeDistance:
    """Result of :meth:`Referential.rome_distance`.

    ``mobility_rank`` is the rank in the ranked mobility graph (1 = closest) when ``relation`` is
    ``MOBILITY``, else ``None``; ``via_parent`` tells that the link was found between the parents.
    """

    relation: RomeRelation
    mobility_rank: int | None = None
    via_parent: bool = False


_SLASH = re.compile(r"\s*/\s*")


def normalize_label(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of a label, for exact lookups of job titles."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # "applicateur/Technicienne" as "applicateur / Technicienne": ROME spaces its slashes, titles not always
    return " ".join(_SLASH.sub(" / ", stripped.replace("’", "'")).split())


def gendered_forms(label: str) -> tuple[str, ...]:
    """The label as written and its masculine and feminine forms.

    ROME writes both forms in one label, "Serveur / Serveuse de café": the feminine part has as many
    words as the masculine one and is followed by the shared rest, so the forms are "Serveur de café" and
    "Serveuse de café"; a shorter feminine part replaces the last words only ("Cariste polyvalent /
    polyvalente": "Cariste polyvalente"). Epicene labels ("Chef de rang") and labels with several
    slashes come back alone.
    A spaced slash is the gender one when there is one ("Chef / Cheffe de quai réception/expédition"
    keeps its "réception/expédition"); a title written without spaces ("Technicien
    applicateur/Technicienne applicatrice") has only unspaced ones.
    """
    parts = label.split(" / ") if " / " in label else _SLASH.sub(" / ", label).split(" / ")
    if len(parts) != 2:
        return (label,)
    masculine, rest = parts[0].split(), parts[1].split()
    if not masculine or not rest:
        return (label,)
    if len(rest) < len(masculine):
        # only the last words change: "Cariste polyvalent / polyvalente", "Secrétaire médical / médicale"
        return (label, " ".join(masculine), " ".join(masculine[: len(masculine) - len(rest)] + rest))
    shared = rest[len(masculine) :]
    return (label, " ".join(masculine + shared), " ".join(rest))


@dataclass
class Referential:
    """ROME 4.0 referential: fiches, appellations, skills, domains and the ranked mobility graph.

    Build it with :func:`matching.referential.load_referential`; the constructor checks that every link
    points to a known code, so queries never meet a dangling reference.
    """

    def __repr__(self) -> str:  # short: a referential is a parameter of estimators and shows in their repr
        return f"Referential(version={self.version!r}, fiches={len(self.fiches)})"

    version: str
    fiches: Mapping[str, Fiche]
    appellations: Mapping[str, Appellation]
    skills: Mapping[str, Skill]
    fiche_skills: Mapping[str, FicheSkills]
    mobility: Mapping[str, tuple[tuple[str, int], ...]]
    domains: Mapping[str, str]
    grand_domains: Mapping[str, str]
    work_contexts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    context_labels: Mapping[str, str] = field(default_factory=dict)
    naf_sectors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_links()
        children: dict[str, list[str]] = defaultdict(list)
        for fiche in self.fiches.values():
            if not fiche.is_parent:
                children[fiche.parent_code].append(fiche.code)
        self._children = {code: tuple(sorted(kids)) for code, kids in children.items()}
        by_fiche: dict[str, list[str]] = defaultdict(list)
        by_label: dict[str, list[str]] = defaultdict(list)
        for app in self.appellations.values():
            by_fiche[app.fiche_code].append(app.code)
            # a title in either gendered form finds the appellation: "Serveuse de café" as "Serveur de café"
            for text in dict.fromkeys((*gendered_forms(app.label), *gendered_forms(app.short_label))):
                by_label[normalize_label(text)].append(app.code)
        self._appellations_by_fiche = {code: tuple(codes) for code, codes in by_fiche.items()}
        self._appellations_by_label = {label: tuple(dict.fromkeys(c)) for label, c in by_label.items()}
        self._mobility_rank = {
            (source, target): rank for source, links in self.mobility.items() for target, rank in links
        }

    def _check_links(self) -> None:
        problems: list[str] = []
        for fiche in self.fiches.values():
            if fiche.parent_code not in self.fiches:
                problems.append(f"fiche {fiche.code} has unknown parent {fiche.parent_code}")
        for app in self.appellations.values():
            if app.fiche_code not in self.fiches:
                problems.append(f"appellation {app.code} points to unknown fiche {app.fiche_code}")
        for code, linked in self.fiche_skills.items():
            missing = [s for s in linked.all if s not in self.skills]
            if code not in self.fiches or missing:
                problems.append(f"skills of fiche {code}: unknown codes {missing[:3] or [code]}")
        for source, links in self.mobility.items():
            bad = [target for target, _ in links if target not in self.fiches]
            if source not in self.fiches or bad:
                problems.append(f"mobility from {source}: unknown fiches {bad[:3] or [source]}")
        if problems:
            shown = "; ".join(problems[:5])
            raise ReferentialError(f"inconsistent referential ({len(problems)} broken links): {shown}")

    # -- lookups -------------------------------------------------------------------------------------
    def fiche(self, code: str) -> Fiche:
        """Return the fiche with this ROME code, or raise :class:`UnknownCodeError` with suggestions."""
        try:
            return self.fiches[code]
        except KeyError:
            raise UnknownCodeError("ROME", code, self._suggest(code, self.fiches)) from None

    def appellation(self, code: str) -> Appellation:
        """Return the appellation with this OGR code."""
        try:
            return self.appellations[code]
        except KeyError:
            raise UnknownCodeError("appellation", code, self._suggest(code, self.appellations)) from None

    def skill(self, code: str) -> Skill:
        """Return the skill (compétence, savoir-être or savoir) with this OGR code."""
        try:
            return self.skills[code]
        except KeyError:
            raise UnknownCodeError("skill", code) from None

    def fiche_of_appellation(self, appellation_code: str) -> Fiche:
        """Return the fiche an appellation belongs to."""
        return self.fiches[self.appellation(appellation_code).fiche_code]

    def appellations_of(self, fiche_code: str) -> tuple[Appellation, ...]:
        """Return the appellations of a fiche (principal first)."""
        self.fiche(fiche_code)
        apps = [self.appellations[c] for c in self._appellations_by_fiche.get(fiche_code, ())]
        return tuple(sorted(apps, key=lambda a: (not a.principal, a.label)))

    def find_appellations(self, label: str) -> tuple[Appellation, ...]:
        """Return the appellations whose long or short label, in any gendered form, equals ``label``
        up to case and accents."""
        return tuple(
            self.appellations[c] for c in self._appellations_by_label.get(normalize_label(label), ())
        )

    def skills_of(self, fiche_code: str) -> FicheSkills:
        """Return the core and other skills of a fiche (empty when the fiche lists none)."""
        self.fiche(fiche_code)
        return self.fiche_skills.get(fiche_code, FicheSkills(core=(), other=()))

    def core_skills(self, fiche_code: str) -> tuple[str, ...]:
        """The fiche's core (``coeur_metier``) skills; empty for a code the referential does not know,
        which is what an offer filed under a code of another version stands for."""
        linked = self.fiche_skills.get(fiche_code)
        return linked.core if linked is not None else ()

    def parent(self, fiche_code: str) -> Fiche:
        """Return the parent fiche (the fiche itself for a parent)."""
        return self.fiches[self.fiche(fiche_code).parent_code]

    def children(self, fiche_code: str) -> tuple[Fiche, ...]:
        """Return the sub-fiches of a parent fiche."""
        self.fiche(fiche_code)
        return tuple(self.fiches[c] for c in self._children.get(fiche_code, ()))

    def mobility_neighbours(
        self, fiche_code: str, max_rank: int | None = None
    ) -> tuple[tuple[str, int], ...]:
        """Return ``(target code, rank)`` pairs of the mobility graph from a fiche, closest first."""
        self.fiche(fiche_code)
        links = self.mobility.get(fiche_code, ())
        return tuple(link for link in links if max_rank is None or link[1] <= max_rank)

    def rome_distance(self, source: str, target: str) -> RomeDistance:
        """Classify how far ``target`` is from ``source`` (directed: a person in ``source`` moving on).

        The order of checks follows closeness: same code, parent/sub-fiche, siblings under one parent,
        a mobility link (directly, else between the two parents), same professional domain, same grand
        domain, far.
        """
        a, b = self.fiche(source), self.fiche(target)
        if a.code == b.code:
            return RomeDistance(RomeRelation.SAME)
        if a.parent_code == b.code or b.parent_code == a.code:
            return RomeDistance(RomeRelation.PARENT_CHILD)
        if a.parent_code == b.parent_code:
            return RomeDistance(RomeRelation.SIBLING)
        rank = self._mobility_rank.get((a.code, b.code))
        if rank is not None:
            return RomeDistance(RomeRelation.MOBILITY, mobility_rank=rank)
        rank = self._mobility_rank.get((a.parent_code, b.parent_code))
        if rank is not None:
            return RomeDistance(RomeRelation.MOBILITY, mobility_rank=rank, via_parent=True)
        if a.domain_code == b.domain_code:
            return RomeDistance(RomeRelation.SAME_DOMAIN)
        if a.grand_domain_code == b.grand_domain_code:
            return RomeDistance(RomeRelation.SAME_GRAND_DOMAIN)
        return RomeDistance(RomeRelation.FAR)

    # -- summaries -----------------------------------------------------------------------------------
    @property
    def n_mobility_links(self) -> int:
        return sum(len(links) for links in self.mobility.values())

    def counts(self) -> dict[str, int]:
        """Return table sizes, as printed by ``matching rome info``."""
        return {
            "fiches": len(self.fiches),
            "parent_fiches": sum(f.is_parent for f in self.fiches.values()),
            "appellations": len(self.appellations),
            "skills": len(self.skills),
            "fiche_skill_links": sum(len(s.all) for s in self.fiche_skills.values()),
            "core_skill_links": sum(len(s.core) for s in self.fiche_skills.values()),
            "mobility_links": self.n_mobility_links,
            "domains": len(self.domains),
            "grand_domains": len(self.grand_domains),
        }

    @staticmethod
    def _suggest(code: str, known: Iterable[str]) -> list[str]:
        return difflib.get_close_matches(code.upper(), list(known), n=3, cutoff=0.6)
