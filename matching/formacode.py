"""Formacode → ROME skills: which ROME 4.0 competences a training's Formacode codes teach.

A training catalogue (LHEO, Mon Compte Formation) describes what a course teaches with Formacode
descriptors (Centre Inffo's thesaurus of training fields); an offer's gap is a set of ROME 4.0
competences. :class:`FormacodeSkillLinker` links the two from three kinds of evidence, each link
keeping its source and a confidence in [0, 1]:

``referentiel``
    Centre Inffo's tables link a Formacode to the occupations it trains for (2003 thesaurus, field 14,
    and the ROME v2 → Formacode table). Those ROME v2 occupations are found in ROME 4.0 by their job
    title (an exact appellation: weight 1; else, when a title coder is given, its codes of probability
    0.5 or more, weighted by it).
``offres``
    Real offers asking for a Formacode (``formations[].codeFormation``) with their ``romeCode`` and
    the competences they list: the fiches those offers are filed under, weighted by their share
    ``n(fiche, formacode) / (n(formacode) + 1)`` (one pseudo-offer keeps a single offer from counting as
    certainty); the candidate skills are the fiche's competences and those the offers list.
``embedding``
    For a Formacode neither source links (or whose occupations have no competence near enough), with
    the project's encoder, at half weight (the label
    alone is weaker evidence): the fiche whose label and job titles are nearest the Formacode's label
    and synonyms stands for its occupation; when none of that fiche's competences is near enough, the
    competences nearest the label over all, each kept only if nearer than both neighbourhoods (CSLS).
    A fiche guessed this way files no course under it (:meth:`FormacodeSkillLinker.fiches_of`).

Within an occupation, the skills a Formacode teaches are the fiche's (or the offers') competences whose
labels are nearest to the Formacode's. The label agreement of a (Formacode, skill) pair is its
*specificity*: the share of random (Formacode, skill) pairs whose embeddings are less similar, measured
on the same encoder, so that one rule holds whatever the encoder's scale. A link's confidence is its
evidence weight times its specificity.

Formacode versions: codes are kept in the V13 numbering (the Mon Compte Formation catalogue's); a V12
code renumbered in V13 is read as its V13 code, a suppressed one as unknown (Centre Inffo's V12 → V13
correspondence). Codes of older editions (V11, the 2003 8th edition) are read as the same number.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from matching.artifacts import MANIFEST, atomic_folder, checksum_problem, read_manifest_file, sha256_file
from matching.encoders.base import Encoder
from matching.errors import MatchingError
from matching.ingest.formacode import FormacodeChange, FormacodeTerm, OfferFormation
from matching.referential import Referential
from matching.referential.model import SkillKind, normalize_label

SOURCES = ("referentiel", "offres", "embedding")
EXCLUDED_CATEGORIES = frozenset({"Certifications"})
EMBEDDING_WEIGHT = 0.5
ARTIFACT_FORMAT = 4  # also the linking method: a build of another one is done again
LINKS_FILE = "links.json"
CSLS_NEIGHBOURS = 10
FIT_CHUNK = 256  # Formacodes per similarity block: 256 × 33,655 skills × 4 bytes = 34 MB
#: Confidence from which a link counts as a skill the training teaches. Every link has already passed its
#: specificity bar (0.9 within an occupation, 0.99 from the label alone); this one removes the offer
#: links through a fiche that a small share of the Formacode's offers name (weight n / (N + 1) times the
#: specificity: 1 of 3 offers gives at most 0.25) and classifier-coded table links of low probability.
TAUGHT_CONFIDENCE = 0.45

TitleCoder = Callable[[str], Sequence[tuple[str, float]]]  # job title -> [(fiche code, probability)]


class FormacodeLinksError(MatchingError):
    """Formacode links that cannot be used (missing, altered, built for another referential)."""


def _stems(text: str) -> set[str]:
    """The first five letters of each word of four letters or more (a crude French stem)."""
    return {word[:5] for word in normalize_label(text).replace("-", " ").split() if len(word) >= 4}


def _reused(term: FormacodeTerm, v12_label: str) -> bool:
    """Whether the V12 label names another descriptor than the 2003 ``term`` of the same number."""
    names = [term.label, *term.synonyms]
    wanted = normalize_label(v12_label)
    if any(normalize_label(name) == wanted for name in names):
        return False
    return not (_stems(v12_label) & set().union(*(_stems(name) for name in names)))


class FormacodeThesaurus:
    """Formacode descriptors in the V13 numbering, with the labels and texts the linker embeds.

    Parameters
    ----------
    terms
        The 2003 thesaurus' descriptors by code (:func:`~matching.ingest.formacode.read_formacode_thesaurus`):
        lower-case accented labels, synonyms, ROME v2 occupations.
    changes
        The V12 → V13 correspondence rows (labels in upper case).
    labels
        Recent labels as catalogues and offers print them (``libelle_code_formacode_principal``,
        ``domaineLibelle``), by V13 code; preferred to the tables' labels.
    """

    def __init__(
        self,
        terms: Mapping[str, FormacodeTerm],
        changes: Iterable[FormacodeChange] = (),
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.renumbered: dict[str, str] = {}
        self.suppressed: set[str] = set()
        table_labels: dict[str, str] = {}
        v12_labels: dict[str, str] = {}
        for change in changes:
            if change.v12 is not None:
                v12_labels[change.v12] = change.v12_label
            if change.v13 is None:
                if change.v12 is not None:
                    self.suppressed.add(change.v12)
                continue
            if change.v12 is not None and change.v13 != change.v12:
                self.renumbered[change.v12] = change.v13
            if "\ufffd" not in change.v13_label:  # the table lost some É: keep another source's label
                table_labels[change.v13] = change.v13_label
        # the 2003 descriptors under their V13 code; a number whose V12 label is unrelated to the 2003
        # descriptor (neither its label nor a synonym, no word stem in common) was reused for another
        # one (2003's 95006 "entrée/sortie permanente" is a tool, V12's a certification): its synonyms,
        # type and occupations are not the current code's. A renamed one ("cariste" / "CHARIOT
        # AUTOMOTEUR" shares no stem but lists it among its synonyms) is the same descriptor.
        self.terms: dict[str, FormacodeTerm] = {}
        # the 2003 type of a number stays (a country renamed, "Myanmar" / "BIRMANIE", is still a country)
        self.kinds: dict[str, str] = {}
        for code, term in sorted(terms.items()):
            current = self.current(code)
            if current is not None and (current not in self.kinds or code == current):
                self.kinds[current] = term.kind
            known = v12_labels.get(code)
            if current is None or (known is not None and _reused(term, known)):
                continue
            if current not in self.terms or code == current:  # merged codes: the V13 number's own entry
                self.terms[current] = replace(term, code=current)
        self.labels: dict[str, str] = {}
        for code in sorted(set(self.terms) | set(table_labels)):
            known_term = self.terms.get(code)
            table = table_labels.get(code)
            if known_term is not None and (
                table is None or normalize_label(known_term.label) == normalize_label(table)
            ):
                self.labels[code] = known_term.label  # the same descriptor, with its accents
            elif table is not None:
                self.labels[code] = table.capitalize()
        for code, label in (labels or {}).items():
            current = self.current(code)
            if current is not None and label.strip():
                self.labels[current] = label.strip()

    def current(self, code: str) -> str | None:
        """``code`` in the V13 numbering; ``None`` for a suppressed descriptor."""
        if code in self.renumbered:
            return self.renumbered[code]
        return None if code in self.suppressed else code

    @property
    def codes(self) -> list[str]:
        """The V13 codes with a label, sorted."""
        return sorted(self.labels)

    def is_field(self, code: str) -> bool:
        """Whether a code names a training field: any code but the 2003 edition's publics, tools,
        diplomas and countries (``information non communiquée`` is a tool code)."""
        kind = self.kinds.get(self.current(code) or code)
        return kind is None or FormacodeTerm(code, "", kind=kind).is_field

    def label(self, code: str) -> str | None:
        """The label of a code (any numbering), ``None`` when unknown."""
        current = self.current(code)
        return self.labels.get(current) if current is not None else None

    def text(self, code: str) -> str:
        """What the linker embeds for a code: its label, then its synonyms."""
        current = self.current(code) or code
        term = self.terms.get(current)
        synonyms = [s for s in (term.synonyms if term else ()) if s]
        label = self.labels.get(current, "")
        return label + (" (" + ", ".join(synonyms[:6]) + ")" if synonyms else "")


@dataclass(frozen=True)
class SkillLink:
    """A Formacode (V13) teaches a ROME competence, by one source, with a confidence in [0, 1]; ``fiche``
    is the occupation through which it was found (``None`` for a link from the label alone)."""

    formacode: str
    skill: str
    source: str
    confidence: float
    fiche: str | None = None


FloatArray = npt.NDArray[np.float32]


class FormacodeSkillLinker:
    """Links Formacode descriptors to the ROME competences they teach (module docstring).

    Parameters
    ----------
    referential
        The ROME 4.0 referential (fiches, appellations, competences).
    encoder
        The project's encoder; labels are embedded as queries (Formacode) and documents (skills).
    skills_per_fiche
        At most this many skills per (Formacode, occupation) evidence.
    embedding_top
        At most this many skills per Formacode from the embedding alone.
    min_specificity
        Label agreement a skill needs within an occupation.
    min_embedding_specificity
        Label agreement an embedding-only link needs.
    null_pairs
        Random (Formacode, skill) pairs measuring the encoder's similarity scale.
    random_state
        Seed of those pairs.

    Attributes
    ----------
    links_ : dict of str to tuple of SkillLink
        Links by V13 Formacode, strongest first.
    version_ : str
        The referential's version.
    encoder_name_ : str
        The encoder the labels were embedded with.
    skill_codes_ : list of str
        The competences a training may teach (know-how and knowledge linked to a fiche, no
        certification).
    null_ : ndarray of float32, shape (null_pairs,)
        Sorted similarities of random (Formacode, competence) pairs (:meth:`specificity`).
    current_ : dict of str to str or None
        Older codes to their V13 code (``None``: suppressed).
    """

    def __init__(
        self,
        referential: Referential,
        encoder: Encoder | None,
        *,
        skills_per_fiche: int = 3,
        embedding_top: int = 3,
        min_specificity: float = 0.9,
        min_embedding_specificity: float = 0.99,
        null_pairs: int = 20_000,
        random_state: int = 0,
    ) -> None:
        self.referential = referential
        self.encoder = encoder
        self.skills_per_fiche = skills_per_fiche
        self.embedding_top = embedding_top
        self.min_specificity = min_specificity
        self.min_embedding_specificity = min_embedding_specificity
        self.null_pairs = null_pairs
        self.random_state = random_state

    # -- fitting --------------------------------------------------------------------------------------
    def fit(
        self,
        thesaurus: FormacodeThesaurus,
        *,
        rome_v2: Iterable[tuple[str, str, tuple[str, ...]]] = (),
        offer_formations: Iterable[OfferFormation] = (),
        codes: Iterable[str] | None = None,
        title_coder: TitleCoder | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> FormacodeSkillLinker:
        """Link every Formacode of ``codes`` (default: the thesaurus' codes and the offers').

        Parameters
        ----------
        thesaurus
            Labels, synonyms and the 2003 thesaurus' ROME v2 occupations.
        rome_v2
            ``(ROME v2 code, label, Formacodes)`` rows of the ROME v2 → Formacode table.
        offer_formations
            The Formacodes real offers ask for, with their ROME code and listed competences.
        codes
            The Formacodes to link (any numbering).
        title_coder
            Codes a ROME v2 job title that is no ROME 4.0 appellation (the ROME classifier); ``None``:
            exact appellations only.
        progress
            Called with (stage, done, total) while embedding.

        Returns
        -------
        FormacodeSkillLinker
            ``self``.
        """
        ref = self.referential
        offer_formations = list(offer_formations)
        if self.encoder is None:
            raise FormacodeLinksError("linking Formacodes needs an encoder")
        pool = codes if codes is not None else [*thesaurus.codes, *(o.formacode for o in offer_formations)]
        wanted = sorted({c for c in map(thesaurus.current, pool) if c and thesaurus.is_field(c)})
        evidence: dict[str, dict[tuple[str, str], tuple[float, frozenset[str] | None]]] = defaultdict(dict)
        self._table_evidence(thesaurus, rome_v2, title_coder, evidence)
        self._offer_evidence(thesaurus, offer_formations, evidence)

        # the skills a training may teach: know-how and knowledge of some occupation; not savoir-être
        # (no course content) nor the certifications themselves (a diploma is what a course leads to,
        # matched on its RNCP code, not a skill it teaches)
        linked = {s for fiche in ref.fiches for s in ref.skills_of(fiche).all}
        skills = sorted(
            code
            for code, skill in ref.skills.items()
            if code in linked
            and skill.kind != SkillKind.SAVOIR_ETRE
            and skill.category not in EXCLUDED_CATEGORIES
        )
        self.skill_codes_ = skills
        texts = [thesaurus.text(c) or c for c in wanted]
        encoder = self.encoder
        F = self._encode(encoder.encode_query, texts, encoder.dim, "formacodes", progress)
        labels = [ref.skills[s].label for s in skills]
        S = self._encode(encoder.encode_document, labels, encoder.dim, "skills", progress)
        self._occupation_evidence(wanted, F, evidence, progress)
        rng = np.random.default_rng(self.random_state)
        if len(wanted) and len(skills):
            rows = rng.integers(0, len(wanted), self.null_pairs)
            cols = rng.integers(0, len(skills), self.null_pairs)
            self.null_ = np.sort(np.einsum("ij,ij->i", F[rows], S[cols]).astype(np.float32))
        else:
            self.null_ = np.zeros(1, dtype=np.float32)
        column = {s: j for j, s in enumerate(skills)}

        # CSLS neighbourhoods (Conneau et al. 2018, "Word translation without parallel data"): the mean
        # similarity of each Formacode to its k nearest skills and of each skill to its k nearest
        # Formacodes; a pair counts only if nearer than both neighbourhoods (hub skills such as
        # "Informatique" are near everything and are discounted).
        k_f, k_s = min(CSLS_NEIGHBOURS, len(skills)), min(CSLS_NEIGHBOURS, len(wanted))
        near_f = np.zeros(len(wanted), dtype=np.float32)
        top_s = np.full((k_s, len(skills)), -np.inf, dtype=np.float32)
        for start, block in self._blocks(F, S):
            near_f[start : start + len(block)] = np.partition(block, -k_f, axis=1)[:, -k_f:].mean(axis=1)
            top_s = np.partition(np.vstack([top_s, block]), -k_s, axis=0)[-k_s:]
        if len(wanted) >= CSLS_NEIGHBOURS:
            near_s = top_s.mean(axis=0)
        else:
            # too few Formacodes to tell a hub skill (linking a handful of codes, as a catalogue's):
            # every skill gets the Formacodes' typical neighbourhood instead
            near_s = np.full(len(skills), near_f.mean() if len(wanted) else 0.0, dtype=np.float32)

        links: dict[str, list[SkillLink]] = {}
        for start, block in self._blocks(F, S):
            for row, similarity in enumerate(block):
                code = wanted[start + row]
                csls = 2 * similarity - near_f[start + row] - near_s
                links[code] = self._links_of(code, similarity, csls, evidence.get(code, {}), column)
        self.links_ = {code: tuple(found) for code, found in links.items()}
        self.current_ = {code: thesaurus.current(code) for code in thesaurus.renumbered} | {
            code: None for code in thesaurus.suppressed
        }
        self.version_ = ref.version
        self.encoder_name_ = encoder.name
        return self

    def _links_of(
        self,
        code: str,
        similarity: FloatArray,
        csls: FloatArray,
        evidence: Mapping[tuple[str, str], tuple[float, frozenset[str] | None]],
        column: Mapping[str, int],
    ) -> list[SkillLink]:
        """The links of one Formacode from its similarity to every skill and its occupations' evidence."""
        skills = self.skill_codes_
        found: list[SkillLink] = []
        for (source, fiche), (weight, listed) in sorted(evidence.items()):
            pool = sorted(listed if listed is not None else self.referential.skills_of(fiche).all)
            cols = np.array([column[s] for s in pool if s in column], dtype=np.int64)
            if not len(cols):
                continue
            spec = self.specificity(similarity[cols])
            for j in np.argsort(-spec, kind="stable")[: self.skills_per_fiche]:
                if spec[j] >= self.min_specificity:
                    confidence = round(float(weight * spec[j]), 4)
                    found.append(SkillLink(code, skills[cols[j]], source, confidence, fiche))
        if not found and len(skills):
            spec = self.specificity(similarity)
            for j in np.argsort(-csls, kind="stable")[: self.embedding_top]:
                if csls[j] > 0 and spec[j] >= self.min_embedding_specificity:
                    confidence = round(float(EMBEDDING_WEIGHT * spec[j]), 4)
                    found.append(SkillLink(code, skills[j], "embedding", confidence))
        return sorted(found, key=lambda x: (-x.confidence, x.skill, x.source))

    @staticmethod
    def _blocks(F: FloatArray, S: FloatArray) -> Iterator[tuple[int, FloatArray]]:
        """``(first row, F[rows] @ S.T)`` by chunks of :data:`FIT_CHUNK` Formacodes (one BLAS product each)."""
        if not len(S):
            return
        for start in range(0, len(F), FIT_CHUNK):
            yield start, F[start : start + FIT_CHUNK] @ S.T

    def _encode(
        self,
        encode: Callable[..., FloatArray],
        texts: list[str],
        dim: int,
        stage: str,
        progress: Callable[[str, int, int], None] | None,
    ) -> FloatArray:
        from matching.encoders.base import encode_chunked

        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        return encode_chunked(encode, texts, dim=dim, stage=stage, progress=progress)

    def _table_evidence(
        self,
        thesaurus: FormacodeThesaurus,
        rome_v2: Iterable[tuple[str, str, tuple[str, ...]]],
        title_coder: TitleCoder | None,
        evidence: dict[str, dict[tuple[str, str], tuple[float, frozenset[str] | None]]],
    ) -> None:
        occupations: dict[str, set[str]] = defaultdict(set)  # ROME v2 title -> Formacodes (V13)
        for term in thesaurus.terms.values():
            for _, title in term.rome_v2:
                occupations[title].add(term.code)
        for _, title, listed in rome_v2:
            occupations[title].update(listed)
        for title, formacodes in occupations.items():
            for fiche, weight in self._fiches_of_title(title, title_coder):
                for raw in formacodes:
                    code = thesaurus.current(raw)
                    if code is None:
                        continue
                    key = ("referentiel", fiche)
                    if weight > evidence[code].get(key, (0.0, None))[0]:
                        evidence[code][key] = (weight, None)

    def _occupation_evidence(
        self,
        wanted: list[str],
        F: FloatArray,
        evidence: dict[str, dict[tuple[str, str], tuple[float, frozenset[str] | None]]],
        progress: Callable[[str, int, int], None] | None,
    ) -> None:
        """For a Formacode no table or offer links: the fiche whose label and job titles are nearest its
        label (the fiche's document as the ROME classifier reads it), at :data:`EMBEDDING_WEIGHT`."""
        alone = [i for i, code in enumerate(wanted) if not evidence.get(code)]
        if not alone:
            return
        ref = self.referential
        fiches = sorted(ref.fiches)
        documents = [
            ref.fiches[f].label + " : " + ", ".join(a.label for a in ref.appellations_of(f)) for f in fiches
        ]
        assert self.encoder is not None  # fit checked it
        D = self._encode(self.encoder.encode_document, documents, self.encoder.dim, "fiches", progress)
        best = np.argmax(F[alone] @ D.T, axis=1)
        for i, j in zip(alone, best, strict=True):
            evidence[wanted[i]][("embedding", fiches[j])] = (EMBEDDING_WEIGHT, None)

    def _fiches_of_title(self, title: str, title_coder: TitleCoder | None) -> list[tuple[str, float]]:
        exact = {a.fiche_code for a in self.referential.find_appellations(title)}
        if exact:
            return [(fiche, 1.0) for fiche in sorted(exact)]
        if title_coder is None:
            return []
        return [(fiche, float(p)) for fiche, p in title_coder(title) if p >= 0.5]

    def _offer_evidence(
        self,
        thesaurus: FormacodeThesaurus,
        offer_formations: list[OfferFormation],
        evidence: dict[str, dict[tuple[str, str], tuple[float, frozenset[str] | None]]],
    ) -> None:
        offers: dict[str, int] = Counter()
        with_fiche: dict[tuple[str, str], int] = Counter()
        listed: dict[tuple[str, str], set[str]] = defaultdict(set)
        for item in offer_formations:
            code = thesaurus.current(item.formacode)
            if code is None:
                continue
            offers[code] += 1
            if item.rome_code and item.rome_code in self.referential.fiches:
                with_fiche[code, item.rome_code] += 1
                listed[code, item.rome_code].update(
                    c for c in item.competences if c in self.referential.skills
                )
        for (code, fiche), n in with_fiche.items():
            pool = listed[code, fiche] | set(self.referential.skills_of(fiche).all)
            evidence[code][("offres", fiche)] = (n / (offers[code] + 1), frozenset(pool))

    # -- reading --------------------------------------------------------------------------------------
    def specificity(self, similarity: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Share of random (Formacode, skill) pairs less similar than each value, in [0, 1]."""
        values = np.asarray(similarity, dtype=np.float32)
        return np.searchsorted(self.null_, values, side="left") / len(self.null_)

    def _v13(self, code: str) -> str | None:
        return self.current_.get(code, code)

    def links(self, code: str) -> tuple[SkillLink, ...]:
        """The links of one Formacode (any numbering), strongest first; ``()`` when none."""
        current = self._v13(code)
        return self.links_.get(current, ()) if current is not None else ()

    def skills_of(
        self, codes: Iterable[str], *, min_confidence: float = TAUGHT_CONFIDENCE
    ) -> tuple[str, ...]:
        """The competences taught by a training with these Formacodes: links at ``min_confidence`` or
        more, the strongest first, each skill once."""
        best: dict[str, float] = {}
        for code in codes:
            for link in self.links(code):
                if link.confidence >= min_confidence:
                    best[link.skill] = max(best.get(link.skill, 0.0), link.confidence)
        return tuple(sorted(best, key=lambda s: (-best[s], s)))

    def fiches_of(self, codes: Iterable[str]) -> tuple[str, ...]:
        """The occupations these Formacodes train for (table and offer evidence), strongest first."""
        best: dict[str, float] = {}
        for code in codes:
            for link in self.links(code):
                # a fiche guessed from the label alone files no course under an occupation
                if link.fiche is not None and link.source != "embedding":
                    best[link.fiche] = max(best.get(link.fiche, 0.0), link.confidence)
        return tuple(sorted(best, key=lambda f: (-best[f], f)))

    def formacode_teaching(
        self, skills: Iterable[str], *, min_confidence: float = TAUGHT_CONFIDENCE
    ) -> str | None:
        """The Formacode that teaches most of ``skills`` (ties: the larger summed confidence, then the
        smaller code), ``None`` when none teaches any: how a catalogue would file such a course."""
        wanted = set(skills)
        best: tuple[int, float, str] | None = None
        for code, found in self.links_.items():
            taught = {link.skill: link.confidence for link in found if link.confidence >= min_confidence}
            hits = wanted & set(taught)
            if not hits:
                continue
            key = (len(hits), sum(taught[s] for s in hits), code)
            if best is None or (key[0], key[1]) > (best[0], best[1]):
                best = key
        return best[2] if best is not None else None

    def coverage(self, codes: Iterable[str]) -> dict[str, float]:
        """Share of the distinct ``codes`` linked to at least one skill: ``any`` and by source."""
        distinct = sorted(set(codes))
        if not distinct:
            return {"any": 0.0, **dict.fromkeys(SOURCES, 0.0)}
        sources = [{link.source for link in self.links(code)} for code in distinct]
        out = {"any": sum(bool(s) for s in sources) / len(distinct)}
        for source in SOURCES:
            out[source] = sum(source in s for s in sources) / len(distinct)
        return out

    def source_counts(self) -> dict[str, int]:
        """How many links each source gave."""
        counts = Counter(link.source for found in self.links_.values() for link in found)
        return {source: counts.get(source, 0) for source in SOURCES}

    # -- artifact -------------------------------------------------------------------------------------
    def save(self, folder: Path, *, build: Mapping[str, object] | None = None) -> Path:
        """Write the links atomically into ``folder`` with a manifest (referential, encoder, checksum,
        what it was built from); :meth:`load` refuses anything else."""
        state = {
            "links": {code: [asdict(link) for link in found] for code, found in self.links_.items()},
            "current": self.current_,
            "null": self.null_.tolist(),
            "skills": self.skill_codes_,
        }
        with atomic_folder(folder) as staging:
            # sorted keys: the same links give the same bytes (and checksum)
            (staging / LINKS_FILE).write_text(json.dumps(state, ensure_ascii=False, sort_keys=True))
            manifest = {
                "format": ARTIFACT_FORMAT,
                "referential": self.version_,
                "encoder": self.encoder_name_,
                "build": dict(build or {}),
                "formacodes": len(self.links_),
                "linked": sum(bool(found) for found in self.links_.values()),
                "links_by_source": self.source_counts(),
                "files": {LINKS_FILE: sha256_file(staging / LINKS_FILE)},
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return Path(folder)

    @classmethod
    def load(
        cls, folder: Path, referential: Referential, encoder: Encoder | None = None
    ) -> FormacodeSkillLinker:
        """Links :meth:`save` wrote for this referential (and, when given, this encoder).

        Raises
        ------
        FormacodeLinksError
            No manifest, a file missing or altered, another format, referential or encoder.
        """
        manifest = read_manifest_file(folder, "Formacode links", FormacodeLinksError)
        if manifest.get("format") != ARTIFACT_FORMAT:
            raise FormacodeLinksError(
                f"{folder}: format {manifest.get('format')!r}, expected {ARTIFACT_FORMAT}"
            )
        problem = checksum_problem(folder, manifest.get("files") or {LINKS_FILE: ""})
        if problem:
            raise FormacodeLinksError(f"{folder}: {problem}")
        if manifest.get("referential") != referential.version:
            raise FormacodeLinksError(
                f"{folder} was built for referential {manifest.get('referential')!r}, not {referential.version!r}"
            )
        if encoder is not None and manifest.get("encoder") != encoder.name:
            raise FormacodeLinksError(
                f"{folder} was built with encoder {manifest.get('encoder')!r}, not {encoder.name!r}"
            )
        state = json.loads((Path(folder) / LINKS_FILE).read_text())
        linker = cls(referential, encoder)  # reading needs no encoder
        linker.links_ = {
            code: tuple(SkillLink(**link) for link in found) for code, found in state["links"].items()
        }
        linker.current_ = state["current"]
        linker.null_ = np.asarray(state["null"], dtype=np.float32)
        linker.skill_codes_ = list(state["skills"])
        linker.version_ = manifest["referential"]
        linker.encoder_name_ = manifest["encoder"]
        return linker
