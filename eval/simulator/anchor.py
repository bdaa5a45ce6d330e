"""Worlds anchored on real offers: seeds from their communes and ROME codes, and the draws around them.

A world drawn with random hubs and Zipf occupations rarely puts a jobseeker of the right occupation
near a given real offer. An anchored world draws most of its people, offers and trainings at the real
offers' (commune, ROME code) pairs instead — some people with a project that leads to the offer's
fiche by family or mobility — so that sourcing and alerts on the real offers have someone to find.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eval.simulator.config import MarketAnchor
from eval.simulator.entities import Geography, RomeArrays, pick_from_lists
from eval.simulator.ragged import IntArray, Ragged
from matching.domain import Offer
from matching.errors import MatchingError
from matching.geo import Communes, haversine_km
from matching.referential import Referential

FloatArray = npt.NDArray[np.float64]
SEED_EXPONENT = 0.5  # seed weight = offers ** 0.5: a town's lone offer still gets people, Paris not all
MOBILITY_RANK = 3  # fiches leading to a seed's by mobility, up to this rank (as candidate generation)


def anchor_from_offers(
    offers: Iterable[Offer], communes: Communes, *, exponent: float = SEED_EXPONENT
) -> MarketAnchor:
    """Seeds at the offers' (commune, ROME code) pairs, weighted by ``offers ** exponent``.

    An offer placed by coordinates only is anchored at the nearest commune; one without a place
    (a national or regional offer) anchors nothing. The shares are :class:`MarketAnchor`'s defaults.

    Raises
    ------
    MatchingError
        No offer has a place in ``communes``.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for offer in offers:
        place = offer.location
        insee = place.insee if place.insee in communes else None
        if insee is None and place.lat is not None and place.lon is not None:
            insee = nearest_commune(communes, place.lat, place.lon)
        if insee is not None:
            counts[insee, offer.rome_code] += 1
    if not counts:
        raise MatchingError("no offer has a known place to anchor a world on")
    seeds = tuple((insee, code, round(n**exponent, 6)) for (insee, code), n in sorted(counts.items()))
    return MarketAnchor(seeds=seeds)


def nearest_commune(communes: Communes, lat: float, lon: float) -> str:
    """INSEE code of the commune nearest to a point."""
    return str(communes.insee[int(np.argmin(haversine_km(lat, lon, communes.lat, communes.lon)))])


@dataclass(frozen=True)
class Anchoring:
    """A :class:`MarketAnchor` resolved against the world's fiches and hubs, ready to draw from.

    Attributes
    ----------
    hub, fiche : ndarray of int, shape (s,)
        Each usable seed's hub (position in :attr:`Geography.hubs`) and fiche (row of
        :class:`RomeArrays`).
    weights : ndarray of float, shape (s,)
        Seed probabilities (sum 1).
    leading_to : Ragged
        Per fiche, the fiches whose holders are candidates for it: its family and the fiches leading
        to it by mobility up to :data:`MOBILITY_RANK`.
    """

    hub: IntArray
    fiche: IntArray
    weights: FloatArray
    share: float
    neighbour_share: float
    leading_to: Ragged

    @classmethod
    def build(
        cls, anchor: MarketAnchor, rome: RomeArrays, referential: Referential, communes: Communes
    ) -> tuple[Anchoring, Geography]:
        """Resolve the seeds (those whose commune or fiche the world lacks are dropped) and the hubs.

        Raises
        ------
        MatchingError
            No seed is usable (e.g. real offers' codes on the built-in referential).
        """
        fiche_row = {code: i for i, code in enumerate(rome.fiche_codes.tolist())}
        commune_row = {code: i for i, code in enumerate(communes.insee.tolist())}
        usable = [
            (commune_row[insee], fiche_row[code], weight)
            for insee, code, weight in anchor.seeds
            if insee in commune_row and code in fiche_row and weight > 0
        ]
        if not usable:
            raise MatchingError(
                f"none of the {len(anchor.seeds)} anchor seeds has a commune and an occupation of this "
                f"world ({referential.version}): anchor on the referential the offers use"
            )
        rows, fiches, weights = (np.array(column) for column in zip(*usable, strict=True))
        hub_rows, hub = np.unique(rows, return_inverse=True)
        hub_weights = np.bincount(hub, weights=weights).astype(np.float64)
        anchoring = cls(
            hub=hub.astype(np.int64),
            fiche=fiches.astype(np.int64),
            weights=weights / weights.sum(),
            share=anchor.share,
            neighbour_share=anchor.neighbour_share,
            leading_to=_leading_to(rome, referential),
        )
        return anchoring, Geography.around(communes, hub_rows.astype(np.int64), hub_weights)

    def draw(
        self,
        n: int,
        popularity: FloatArray,
        hub_weights: FloatArray,
        rng: np.random.Generator,
        *,
        neighbours: bool = False,
    ) -> tuple[IntArray, IntArray]:
        """Fiche and hub of ``n`` entities, each shape ``(n,)``.

        A share :attr:`share` sits at a seed (its commune and fiche; with ``neighbours``, some take a
        fiche leading to the seed's); the others follow ``popularity`` at a hub drawn by weight. Seeds
        are drawn systematically, not independently: each gets its expected count rounded up or down,
        so a seed expecting two people never gets none (a lone offer in a small town keeps its people).
        """
        anchored = rng.random(n) < self.share
        fiche = rng.choice(len(popularity), size=n, p=popularity)
        hub = rng.choice(len(hub_weights), size=n, p=hub_weights)
        k = int(anchored.sum())
        positions = (np.arange(k) + rng.random()) / max(k, 1)
        seed = np.minimum(np.searchsorted(np.cumsum(self.weights), positions), len(self.weights) - 1)
        seed = rng.permutation(seed)
        fiche[anchored], hub[anchored] = self.fiche[seed], self.hub[seed]
        if neighbours:
            swap = anchored & (rng.random(n) < self.neighbour_share) & (self.leading_to.lengths[fiche] > 0)
            fiche[swap] = pick_from_lists(self.leading_to, fiche[swap], rng)
        return fiche.astype(np.int64), hub.astype(np.int64)


def _leading_to(rome: RomeArrays, referential: Referential) -> Ragged:
    """Per usable fiche, the other usable fiches whose holders sourcing finds for it (family, mobility)."""
    row = {code: i for i, code in enumerate(rome.fiche_codes.tolist())}
    lists: list[set[int]] = [set() for _ in row]
    for code, i in row.items():
        parent = referential.fiches[code].parent_code or code
        family = [parent, *(f.code for f in referential.children(parent))]
        lists[i].update(row[c] for c in family if c in row)
        for target, _rank in referential.mobility_neighbours(code, MOBILITY_RANK):
            if target in row:
                lists[row[target]].add(i)  # holders of `code` may move to `target`
    return Ragged.from_lists([sorted(items - {i}) for i, items in enumerate(lists)])
