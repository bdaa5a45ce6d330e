"""Candidate generation: profile -> offers, offer -> profiles, (profile, offer) -> trainings.

Each entry point returns ``(ids, scores)`` arrays, best first, like ``implicit``'s ``recommend``.
Candidates come from the ROME blocks near the query (the codes themselves, their parent and sibling
sub-fiches, and mobility neighbours up to a rank), scored exactly by embedding similarity and
filtered by the person's *own* declared mobility, contract and hours preferences.

Only consenting profiles are indexed for sourcing (:meth:`CandidateGenerator.index_profiles` drops the
others), so a counsellor can never be shown a profile that did not agree to be visible.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator

from matching.domain import (
    DEFAULT_COMMUTE_KM,
    POE_MAX_HOURS,
    Location,
    Offer,
    Precision,
    Profile,
    Training,
    accepted_contract_codes,
    missing_skills,
)
from matching.encoders import Encoder
from matching.encoders.base import FloatMatrix
from matching.index import (
    IndexIntegrityError,
    ItemFilter,
    Storage,
    VectorIndex,
    check_index_settings,
    load_index,
    save_index,
)
from matching.referential import Referential
from matching.views import offer_view, profile_view, training_view

Ids = npt.NDArray[np.str_]
Scores = npt.NDArray[np.float32]
DEFAULT_RADIUS_KM = DEFAULT_COMMUTE_KM
EPOCH = date(1970, 1, 1)
UNFILED = ""  # the block of trainings filed under no ROME code


def _day(value: date | None) -> float:
    return float((value - EPOCH).days) if value is not None else np.nan


@dataclass(frozen=True)
class Expansion:
    """How far from a ROME code candidates may come from."""

    family: bool = True  # parent and sibling sub-fiches
    mobility_rank: int = 3  # mobility neighbours up to this rank (0: none)


DEFAULT_EXPANSION = Expansion()


class RomeNeighbourhood:
    """ROME code expansion in both directions of the (directed) mobility graph."""

    def __init__(self, referential: Referential) -> None:
        self.referential = referential
        sources: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for source, links in referential.mobility.items():
            for target, rank in links:
                sources[target].append((source, rank))
        self._sources = {code: tuple(sorted(links, key=lambda x: x[1])) for code, links in sources.items()}

    def _family(self, code: str) -> list[str]:
        parent = self.referential.parent(code).code
        return [parent, *(f.code for f in self.referential.children(parent))]

    def outgoing(self, codes: Iterable[str], expansion: Expansion) -> list[str]:
        """Codes a person with these project codes may move to (their own first).

        A code the referential does not know (data made on another referential) keeps its own block only.
        """
        codes = tuple(codes)
        out: list[str] = []
        for code in codes:
            out.append(code)
            if code not in self.referential.fiches:
                continue
            if expansion.family:
                out.extend(self._family(code))
            out.extend(
                t
                for t, _ in self.referential.mobility_neighbours(code, expansion.mobility_rank or 0)
                if expansion.mobility_rank
            )
        return list(dict.fromkeys(c for c in out if c in self.referential.fiches or c in codes))

    def incoming(self, code: str, expansion: Expansion) -> list[str]:
        """Codes of people who may move to ``code`` (the reverse mobility direction); an unknown code
        keeps its own block only."""
        if code not in self.referential.fiches:
            return [code]
        out = [code, *(self._family(code) if expansion.family else [])]
        if expansion.mobility_rank:
            out.extend(s for s, rank in self._sources.get(code, ()) if rank <= expansion.mobility_rank)
        return list(dict.fromkeys(out))


def _anywhere(place: Location) -> float:
    """The ``anywhere`` index attribute of an offer's place: 1 national, 0 nowhere, NaN: its point."""
    anywhere = place.anywhere
    return np.nan if anywhere is None else float(anywhere)


def _region(place: Location) -> str | None:
    """The ``region`` index attribute: the region code of a place known to its region only."""
    return place.area if place.precision is Precision.REGION else None


class CandidateGenerator(BaseEstimator):
    """Embedding indexes over offers, consenting profiles and trainings, and the three recommenders.

    A scikit-learn estimator (``get_params``, ``clone``): the settings are keyword-only and stored as given; the ``index_*`` methods
    are the fit (they check the settings) and :meth:`load_indexes` adopts indexes built or loaded
    elsewhere. A recommender whose index was never filled returns nothing.

    Parameters
    ----------
    referential, encoder
        The ROME referential (for text views and expansion) and the text encoder.
    expansion
        ROME neighbourhood searched around a query's codes.
    ivf_threshold
        Passed to each :class:`~matching.index.VectorIndex` (approximate open search above it).
    storage
        Vector storage of new indexes: ``"float16"`` halves the memory (national scale).

    Attributes
    ----------
    offers_, profiles_, trainings_ : VectorIndex
        The indexes, each set by its ``index_*`` method (or :meth:`load_indexes`).
    training_skills_ : dict of str to tuple of str
        Skills taught by each indexed training.
    neighbourhood_ : RomeNeighbourhood
        ROME code expansion over ``referential``.
    """

    offers_: VectorIndex
    profiles_: VectorIndex
    trainings_: VectorIndex
    training_skills_: dict[str, tuple[str, ...]]
    neighbourhood_: RomeNeighbourhood

    def __init__(
        self,
        *,
        referential: Referential,
        encoder: Encoder,
        expansion: Expansion = DEFAULT_EXPANSION,
        ivf_threshold: int = 20_000,
        storage: Storage = "float32",
    ) -> None:
        self.referential = referential
        self.encoder = encoder
        self.expansion = expansion
        self.ivf_threshold = ivf_threshold
        self.storage = storage

    def _start(self) -> None:
        """First fit: check the settings and derive the ROME neighbourhood (``ValueError`` if invalid)."""
        if hasattr(self, "neighbourhood_"):
            return
        if self.expansion.mobility_rank < 0:
            raise ValueError(f"expansion.mobility_rank must be >= 0, not {self.expansion.mobility_rank}")
        check_index_settings(
            dim=self.encoder.dim, ivf_threshold=self.ivf_threshold, nprobe=None, storage=self.storage
        )
        self.neighbourhood_ = RomeNeighbourhood(self.referential)
        self.training_skills_ = {}

    def _index(self, items: str) -> VectorIndex | None:
        """The ``offers``, ``profiles`` or ``trainings`` index, ``None`` while it was never filled."""
        index: VectorIndex | None = getattr(self, f"{items}_", None)
        return index

    def _fitting(self, items: str) -> VectorIndex:
        """Start a fit of the ``items`` index: the one filled so far, or a new empty one."""
        self._start()
        index = self._index(items)
        if index is None:
            index = VectorIndex(
                dim=self.encoder.dim,
                encoder=self.encoder.name,
                ivf_threshold=self.ivf_threshold,
                storage=self.storage,
            )
        return index

    def load_indexes(
        self,
        *,
        offers: VectorIndex | None = None,
        profiles: VectorIndex | None = None,
        trainings: VectorIndex | None = None,
        training_skills: dict[str, tuple[str, ...]] | None = None,
    ) -> CandidateGenerator:
        """Adopt indexes built or loaded elsewhere (the ones left ``None`` are kept as they are).

        Parameters
        ----------
        offers, profiles, trainings
            Indexes built with this generator's encoder.
        training_skills
            Skills taught by each training of ``trainings``, replacing the known ones.

        Returns
        -------
        CandidateGenerator
            ``self``.

        Raises
        ------
        IndexIntegrityError
            If an index was built with another encoder or dimension.
        """
        self._start()
        for items, index in (("offers", offers), ("profiles", profiles), ("trainings", trainings)):
            if index is None:
                continue
            if index.encoder != self.encoder.name or index.dim != self.encoder.dim:
                raise IndexIntegrityError(
                    f"the {items} index was built with encoder {index.encoder!r} (d={index.dim}), "
                    f"not {self.encoder.name!r} (d={self.encoder.dim})"
                )
            setattr(self, f"{items}_", index)
        if training_skills is not None:
            self.training_skills_ = dict(training_skills)
        return self

    # -- indexing -------------------------------------------------------------------------------------
    def index_offers(
        self, offers: Sequence[Offer], *, vectors: FloatMatrix | None = None, show_progress: bool = False
    ) -> CandidateGenerator:
        """Add (or replace) offers in the offer index; call again with new offers to grow it.

        Parameters
        ----------
        offers
            The offers to index, ``m`` of them.
        vectors
            Their document vectors, shape ``(m, dim)``, when computed elsewhere (skips encoding).
        show_progress
            Show the encoder's progress bar.

        Returns
        -------
        CandidateGenerator
            ``self``.
        """
        index = self._fitting("offers")
        if vectors is None:
            vectors = self.encoder.encode_document(
                [offer_view(o, self.referential) for o in offers], show_progress=show_progress
            )
        index.add(
            [o.id for o in offers],
            vectors,
            [[o.rome_code] for o in offers],
            {
                "lat": [o.location.lat if o.location.lat is not None else np.nan for o in offers],
                "lon": [o.location.lon if o.location.lon is not None else np.nan for o in offers],
                "extent_km": [o.location.extent_km for o in offers],
                "anywhere": [_anywhere(o.location) for o in offers],
                "region": [_region(o.location) for o in offers],
                "hours": [o.weekly_hours if o.weekly_hours is not None else np.nan for o in offers],
                "contract": [o.contract_type.value if o.contract_type else None for o in offers],
            },
        )
        self.offers_ = index
        return self

    def remove_offers(self, offer_ids: Iterable[str]) -> int:
        """Drop offers (expired, filled) from the index; returns how many were there."""
        index = self._index("offers")
        return index.remove(offer_ids) if index is not None else 0

    def index_profiles(
        self, profiles: Sequence[Profile], *, vectors: FloatMatrix | None = None, show_progress: bool = False
    ) -> CandidateGenerator:
        """Index the profiles that agreed to be visible (the others are skipped, and removed if present).

        Parameters
        ----------
        profiles
            The profiles, ``m`` of them; those with ``visible`` false are removed from the index.
        vectors
            Their document vectors, shape ``(m, dim)`` (rows of invisible profiles ignored), when
            computed elsewhere (skips encoding).
        show_progress
            Show the encoder's progress bar.

        Returns
        -------
        CandidateGenerator
            ``self``.
        """
        index = self._fitting("profiles")
        index.remove(p.id for p in profiles if not p.visible)
        shown = [k for k, p in enumerate(profiles) if p.visible]
        visible = [profiles[k] for k in shown]
        # Added even when nobody consents: an empty profile index is still a fitted, saveable one.
        if not visible:
            vectors = np.zeros((0, self.encoder.dim), dtype=np.float32)
        elif vectors is None:
            vectors = self.encoder.encode_document(
                [profile_view(p, self.referential) for p in visible], show_progress=show_progress
            )
        else:
            vectors = np.asarray(vectors, dtype=np.float32)[shown]
        index.add(
            [p.id for p in visible],
            vectors,
            [p.rome_codes for p in visible],
            {
                "lat": [p.home.lat if p.home.lat is not None else np.nan for p in visible],
                "lon": [p.home.lon if p.home.lon is not None else np.nan for p in visible],
                "radius_km": [p.max_commute_km or DEFAULT_RADIUS_KM for p in visible],
            },
        )
        self.profiles_ = index
        return self

    def index_trainings(
        self,
        trainings: Sequence[Training],
        *,
        vectors: FloatMatrix | None = None,
        show_progress: bool = False,
    ) -> CandidateGenerator:
        """Add (or replace) trainings in the training index, with the skills each one teaches.

        Parameters
        ----------
        trainings
            The trainings to index, ``m`` of them (distance learning ones are indexed without
            coordinates).
        vectors
            Their document vectors, shape ``(m, dim)``, when computed elsewhere (skips encoding).
        show_progress
            Show the encoder's progress bar.

        Returns
        -------
        CandidateGenerator
            ``self``.
        """
        index = self._fitting("trainings")
        if vectors is None:
            vectors = self.encoder.encode_document(
                [training_view(t, self.referential) for t in trainings], show_progress=show_progress
            )
        index.add(
            [t.id for t in trainings],
            vectors,
            [t.rome_codes or (UNFILED,) for t in trainings],
            {
                "lat": [
                    t.location.lat if t.location.lat is not None and t.modality != "distanciel" else np.nan
                    for t in trainings
                ],
                "lon": [
                    t.location.lon if t.location.lon is not None and t.modality != "distanciel" else np.nan
                    for t in trainings
                ],
                "hours": [t.hours for t in trainings],
                "contract": ["poe" if t.poe_eligible else None for t in trainings],
                "start_day": [_day(t.start_date) for t in trainings],
                # taught remotely: anywhere; on site at an unknown place: nowhere a commute reaches
                "anywhere": [
                    1.0 if t.modality == "distanciel" else (np.nan if t.location.has_coordinates else 0.0)
                    for t in trainings
                ],
            },
        )
        self.training_skills_.update({t.id: t.skills for t in trainings})
        self.trainings_ = index
        return self

    # -- recommenders ---------------------------------------------------------------------------------
    def recommend_offers(
        self,
        profile: Profile,
        k: int = 100,
        *,
        respect_preferences: bool = True,
        radius_factor: float = 1.0,
        query: FloatMatrix | None = None,
    ) -> tuple[Ids, Scores]:
        """Offers for a jobseeker: near their project's ROME codes, within their declared commute.

        Parameters
        ----------
        profile
            The jobseeker; offers must be filed under a code of :meth:`RomeNeighbourhood.outgoing` of
            their ROME codes and lie within their commute (``max_commute_km`` km, default
            :data:`DEFAULT_RADIUS_KM`) of their home when both have coordinates.
        k
            Most offers returned.
        respect_preferences
            Wanted contract types and weekly hours are hard filters too.
        radius_factor
            Widens the commute filter (e.g. 1.5: up to 1.5 × the declared commute), for a reranker that
            weighs distance against the person's observed tolerance.
        query
            The person's query vector, shape ``(dim,)``, when the caller encoded it (e.g. a whole batch
            at once); otherwise the profile is encoded.

        Returns
        -------
        ids : ndarray of str, shape (<= k,)
            Offer ids, best first.
        scores : ndarray of float32, same shape
            Inner products with the query, non-increasing (ties by index row).
        """
        offers = self._index("offers")
        if offers is None:
            return np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        if query is None:
            query = self.encoder.encode_query([profile_view(profile, self.referential)])[0]
        center = (profile.home.lat, profile.home.lon) if profile.home.has_coordinates else None
        item_filter = ItemFilter(
            center=center,  # type: ignore[arg-type]
            radius_km=(profile.max_commute_km or DEFAULT_RADIUS_KM) * radius_factor,
            # declaring CDD accepts a CDD Tremplin (DDT) too: see accepted_contract_codes
            contract_types=accepted_contract_codes(profile.contract_types)
            if respect_preferences and profile.contract_types
            else None,
            min_hours=profile.min_weekly_hours if respect_preferences else None,
            max_hours=profile.max_weekly_hours if respect_preferences else None,
        )
        blocks = self.neighbourhood_.outgoing(profile.rome_codes, self.expansion)
        return offers.search_blocks(query, blocks, k, item_filter)

    def recommend_profiles(
        self, offer: Offer, k: int = 100, *, query: FloatMatrix | None = None
    ) -> tuple[Ids, Scores]:
        """Consenting candidates for an offer, each within *their own* declared commute of it.

        Parameters
        ----------
        offer
            The offer; candidates must be filed under a code of :meth:`RomeNeighbourhood.incoming` of
            its ROME code and live within their own ``max_commute_km`` km of it when both have
            coordinates.
        k
            Most profiles returned.
        query
            The offer's query vector, shape ``(dim,)``, when the caller has it (e.g. from the offer
            index); otherwise the offer is encoded.

        Returns
        -------
        ids : ndarray of str, shape (<= k,)
            Ids of indexed (hence consenting) profiles, best first.
        scores : ndarray of float32, same shape
            Inner products with the query, non-increasing (ties by index row).
        """
        profiles = self._index("profiles")
        if profiles is None:
            return np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        if query is None:
            query = self.encoder.encode_query([offer_view(offer, self.referential)])[0]
        center = (offer.location.lat, offer.location.lon) if offer.location.has_coordinates else None
        item_filter = ItemFilter(
            center=center,  # type: ignore[arg-type]
            extent_km=offer.location.extent_km,
            region=_region(offer.location),
            item_radius=True,
        )
        blocks = self.neighbourhood_.incoming(offer.rome_code, self.expansion)
        return profiles.search_blocks(query, blocks, k, item_filter)

    def missing_skills(self, profile: Profile, offer: Offer) -> list[str]:
        """Skills the offer asks for (:func:`matching.domain.wanted_skills`) the person lacks."""
        return missing_skills(profile, offer, self.referential.core_skills(offer.rome_code))

    def recommend_trainings(
        self,
        profile: Profile,
        offer: Offer,
        k: int = 20,
        *,
        today: date,
        poe_only: bool = True,
    ) -> tuple[Ids, Scores]:
        """Trainings that close the missing skills before the offer's need date, within reach.

        Score: share of the missing skills the training teaches, plus 0.1 × the embedding similarity
        between the missing skills and the training (a tie-breaker for trainings teaching no listed
        skill). Trainings filed under no ROME code (transverse courses) come in only when they teach a
        missing skill.

        Parameters
        ----------
        profile, offer
            The jobseeker and the offer they aim at; trainings are filed under the offer's fiche or its
            family and lie within the person's commute (or are taught remotely).
        k
            Most trainings returned.
        today
            The day of the search: trainings starting before it are left out (as are those starting
            after the offer's ``need_date``); a course without dates (to confirm) is kept.
        poe_only
            Only POE-eligible trainings shorter than :data:`~matching.domain.POE_MAX_HOURS` hours.

        Returns
        -------
        ids : ndarray of str, shape (<= k,)
            Training ids, best first.
        scores : ndarray of float32, same shape
            Non-increasing scores.
        """
        index = self._index("trainings")
        if index is None:
            return np.zeros(0, dtype=str), np.zeros(0, dtype=np.float32)
        missing = self.missing_skills(profile, offer)
        labels = [self.referential.skills[s].label for s in missing if s in self.referential.skills]
        text = (
            "Compétences à acquérir : " + ", ".join(labels) if labels else offer_view(offer, self.referential)
        )
        query = self.encoder.encode_query([text])[0]
        first_day, last_day = _day(today), _day(offer.need_date)

        def timely(attrs: dict[str, np.ndarray]) -> npt.NDArray[np.bool_]:
            starts = attrs["start_day"]
            keep = starts >= first_day
            if not np.isnan(last_day):
                keep &= starts <= last_day
            keep |= np.isnan(starts)  # a catalogue course: its dates are to confirm, not missed
            if poe_only:
                keep &= attrs["contract"] == "poe"
            return np.asarray(keep, dtype=bool)

        center = (profile.home.lat, profile.home.lon) if profile.home.has_coordinates else None
        item_filter = ItemFilter(
            center=center,  # type: ignore[arg-type]
            radius_km=profile.max_commute_km or DEFAULT_RADIUS_KM,
            max_hours=POE_MAX_HOURS - 1e-9 if poe_only else None,
            where=timely,
        )
        blocks = self.neighbourhood_.outgoing([offer.rome_code], Expansion(family=True, mobility_rank=0))
        # every course passing the filters is scored (an exact scan of its blocks): a shortlist by
        # similarity could drop the one teaching the gap behind closer ones teaching nothing
        everything = max(len(self.training_skills_), 1)
        ids, similarity = index.search_blocks(query, blocks, everything, item_filter)
        if not missing:
            return ids[:k], similarity[:k]
        gap = set(missing)

        def coverage_of(found: Ids) -> npt.NDArray[np.float32]:
            taught = [set(self.training_skills_.get(i, ())) for i in found.tolist()]
            return np.array([len(t & gap) / len(gap) for t in taught], dtype=np.float32)

        # courses filed under no occupation (transverse: office software, languages…) count only for
        # the missing skills they teach
        unfiled, unfiled_similarity = index.search_blocks(query, [UNFILED], everything, item_filter)
        useful = coverage_of(unfiled) > 0
        ids = np.concatenate([ids, unfiled[useful]])
        similarity = np.concatenate([similarity, unfiled_similarity[useful]])
        if len(ids) == 0:
            return ids, similarity
        scores = coverage_of(ids) + 0.1 * similarity
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order].astype(np.float32)


GENERATOR_FILE = "generator.json"


def save_generator(
    generator: CandidateGenerator, folder: Path, *, info: dict[str, str] | None = None
) -> Path:
    """Save the three indexes (each atomically, with its manifest) and the generator's settings.

    ``info`` (e.g. the version's name and when its data was read) is kept beside the settings; read it
    back with :func:`read_generator_info`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("offers", "profiles", "trainings"):
        index = generator._index(name)
        if index is not None:
            save_index(
                index, folder / name, extra={"items": name, "referential": generator.referential.version}
            )
    settings = {
        "encoder": generator.encoder.name,
        "referential": generator.referential.version,
        "expansion": {
            "family": generator.expansion.family,
            "mobility_rank": generator.expansion.mobility_rank,
        },
        "ivf_threshold": generator.ivf_threshold,
        "training_skills": getattr(generator, "training_skills_", {}),
        "info": info or {},
    }
    staging = folder / f".{GENERATOR_FILE}.tmp"
    staging.write_text(json.dumps(settings, ensure_ascii=False))
    staging.replace(folder / GENERATOR_FILE)  # atomic on POSIX
    return folder


def read_generator_info(folder: Path) -> dict[str, str]:
    """The ``info`` saved with the indexes in ``folder`` (empty when none was, or there are no indexes)."""
    path = Path(folder) / GENERATOR_FILE
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text()).get("info", {})
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in info.items()} if isinstance(info, dict) else {}


def load_generator(folder: Path, referential: Referential, encoder: Encoder) -> CandidateGenerator:
    """Load indexes saved by :func:`save_generator`, refusing another encoder or referential.

    Parameters
    ----------
    folder
        The folder :func:`save_generator` wrote.
    referential, encoder
        Those the indexes must have been built with; the generator is given them.

    Returns
    -------
    CandidateGenerator
        With the saved settings (expansion, IVF threshold) and indexes.

    Raises
    ------
    IndexIntegrityError
        If the folder holds no indexes, or they were built on another referential version or encoder,
        or an index fails its checks (see :func:`~matching.index.load_index`).
    """
    folder = Path(folder)
    path = folder / GENERATOR_FILE
    if not path.is_file():
        raise IndexIntegrityError(f"no candidate indexes in {folder}: run `matching index update`")
    settings = json.loads(path.read_text())
    if settings["referential"] != referential.version:
        raise IndexIntegrityError(
            f"indexes in {folder} were built on {settings['referential']}, not {referential.version}"
        )
    indexes = {
        name: load_index(folder / name, encoder=encoder.name)
        for name in ("offers", "profiles", "trainings")
        if (folder / name).exists()
    }
    generator = CandidateGenerator(
        referential=referential,
        encoder=encoder,
        expansion=Expansion(**settings["expansion"]),
        ivf_threshold=settings["ivf_threshold"],
    )
    return generator.load_indexes(
        offers=indexes.get("offers"),
        profiles=indexes.get("profiles"),
        trainings=indexes.get("trainings"),
        training_skills={k: tuple(v) for k, v in settings["training_skills"].items()},
    )
