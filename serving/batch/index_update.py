"""The indexes follow the database: a new version from the open offers, consenting profiles and trainings.

Whatever wrote them (France Travail ingest, the API, the simulator's loader), the rows are read as
domain objects, embedded through the embedding cache (an unchanged text costs no encoder call), and
published as a new version of the indexes (:mod:`matching.index_versions`: written whole beside the
current one, then switched to atomically). Withdrawn offers, offers expiring by the day of the
update and profiles whose consent was withdrawn are left out; the summary says how many of each left
since the previous version. When nothing changed, no version is written (the API keeps its indexes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from matching.candidates import CandidateGenerator, read_generator_info
from matching.domain import Offer, Profile, Training
from matching.encoders import CachedEncoder
from matching.encoders.base import FloatMatrix, Progress, encode_chunked
from matching.index_versions import (
    KEEP,
    generator_fingerprint,
    publish_generator,
    published_ids,
    version_name,
)
from matching.referential import Referential
from matching.views import offer_view, profile_view, training_view
from serving.storage.repository import SqlRepository


@dataclass(frozen=True)
class IndexedCounts:
    """One index of an update: items in the new version, texts embedded, items gone since the last one."""

    indexed: int
    embedded: int
    dropped: Counter[str] = field(default_factory=Counter)  # why each left: expired, withdrawn...

    @property
    def dropped_total(self) -> int:
        """Items of the previous version left out of this one, whatever the reason."""
        return sum(self.dropped.values())


@dataclass(frozen=True)
class IndexUpdate:
    """What :func:`update_index` did.

    Attributes
    ----------
    version
        The version the index folder points at after the update.
    published
        ``False`` when nothing changed: ``version`` is the previous one, left in place.
    data_as_of
        The latest offer reception or withdrawal the version holds (UTC; the read moment when there is
        no offer): offers received or withdrawn after it are not reflected in it.
    offers, profiles, trainings
        Counts per index.
    """

    version: str
    published: bool
    data_as_of: datetime
    offers: IndexedCounts
    profiles: IndexedCounts
    trainings: IndexedCounts

    @property
    def embedded(self) -> int:
        return self.offers.embedded + self.profiles.embedded + self.trainings.embedded


def embed_texts(
    encoder: CachedEncoder, texts: Sequence[str], stage: str, progress: Progress | None
) -> tuple[FloatMatrix, int]:
    """Document vectors of ``texts`` and how many of them the encoder computed (the cache gave the rest).

    Parameters
    ----------
    encoder
        The encoder behind its embedding cache.
    texts
        The ``n`` document views.
    stage
        Reported with the counts (``"offers"``…).
    progress
        ``progress(stage, done, total)``, called before the first chunk of
        ``matching.encoders.base.EMBED_CHUNK`` texts and after each; ``None``: nothing shown.

    Returns
    -------
    tuple[FloatMatrix, int]
        Shape ``(n, dim)``; the texts embedded by the encoder itself.
    """
    misses = encoder.misses
    out = encode_chunked(
        encoder.encode_document, texts, dim=encoder.dim, stage=stage, progress=progress or _silent
    )
    return out, encoder.misses - misses


def _silent(stage: str, done: int, total: int) -> None:
    """No progress shown; the texts are still embedded chunk by chunk (bounded encoder calls)."""


def build_generator(
    referential: Referential,
    encoder: CachedEncoder,
    offers: Sequence[Offer],
    profiles: Sequence[Profile],
    trainings: Sequence[Training],
    progress: Progress | None = None,
) -> tuple[CandidateGenerator, dict[str, int]]:
    """A candidate generator over these offers, profiles and trainings, their views embedded by
    :func:`embed_texts` (stages ``offers``, ``profiles``, ``trainings``).

    Returns
    -------
    tuple[CandidateGenerator, dict[str, int]]
        The fitted generator, and per index the texts the encoder computed (the cache gave the rest).
    """
    generator = CandidateGenerator(referential=referential, encoder=encoder)
    embedded: dict[str, int] = {}
    vectors, embedded["offers"] = embed_texts(
        encoder, [offer_view(o, referential) for o in offers], "offers", progress
    )
    generator.index_offers(offers, vectors=vectors)
    vectors, embedded["profiles"] = embed_texts(
        encoder, [profile_view(p, referential) for p in profiles], "profiles", progress
    )
    generator.index_profiles(profiles, vectors=vectors)
    vectors, embedded["trainings"] = embed_texts(
        encoder, [training_view(t, referential) for t in trainings], "trainings", progress
    )
    generator.index_trainings(trainings, vectors=vectors)
    return generator, embedded


def update_index(
    repository: SqlRepository,
    referential: Referential,
    encoder: CachedEncoder,
    index_dir: Path,
    *,
    as_of: date,
    now: datetime | None = None,
    progress: Progress | None = None,
    keep: int = KEEP,
    info: dict[str, str] | None = None,
) -> IndexUpdate:
    """Build the indexes from the database and publish them as a new version of ``index_dir``.

    Parameters
    ----------
    repository
        The database: open offers, consenting profiles, trainings.
    referential, encoder
        Text views and their embeddings; the cache of ``encoder`` serves every unchanged text (the
        caller persists it afterwards).
    index_dir
        Where readers load the indexes (see :func:`~matching.index_versions.publish_generator`).
    as_of
        Offers expiring on or before this day are left out (closed on their ``expires_at`` day).
    now
        The moment the database is read (default: now), which names the version.
    progress
        Called with ``(stage, done, total)`` as texts are embedded (stages ``offers``, ``profiles``,
        ``trainings``).
    keep
        Versions kept on disk, the new one included.
    info
        Recorded with the new version besides its own entries (e.g. how the encoder is run, so that
        readers load it the same way).

    Returns
    -------
    IndexUpdate
        The version and the counts.

    Raises
    ------
    IndexVersionExists
        The version to publish already exists (two updates in the same second on different data). An
        unreadable previous version is no error: it counts as empty.
    """
    read_at = now or datetime.now(UTC)
    before = published_ids(index_dir)
    current = read_generator_info(index_dir)
    # read first: whatever it covers is in the rows read next (what comes after is the API's to apply)
    data_as_of = repository.offers_until() or read_at
    offers = repository.live_offers(as_of)
    profiles = repository.consenting_profiles()
    trainings = repository.trainings()
    # the cache must hold every text of this version, or the next update would embed some again
    encoder.max_items = max(encoder.max_items, len(offers) + len(profiles) + len(trainings))
    generator, embedded = build_generator(referential, encoder, offers, profiles, trainings, progress)

    gone_offers = sorted(before["offers"] - {o.id for o in offers})
    gone_profiles = before["profiles"] - {p.id for p in profiles}
    gone_trainings = before["trainings"] - {t.id for t in trainings}
    counts = {
        "offers": IndexedCounts(
            len(offers), embedded["offers"], Counter(repository.offer_exits(gone_offers, as_of).values())
        ),
        "profiles": IndexedCounts(
            len(profiles), embedded["profiles"], Counter({"no longer consenting": len(gone_profiles)})
        ),
        "trainings": IndexedCounts(
            len(trainings), embedded["trainings"], Counter({"deleted": len(gone_trainings)})
        ),
    }
    fingerprint = generator_fingerprint(generator)
    if current.get("fingerprint") == fingerprint and current.get("version"):
        return IndexUpdate(current["version"], False, data_as_of, **counts)
    version = version_name(read_at, fingerprint)
    publish_generator(
        generator,
        index_dir,
        version=version,
        keep=keep,
        info={
            **(info or {}),
            "data_as_of": data_as_of.isoformat(),
            "fingerprint": fingerprint,
            "as_of": as_of.isoformat(),
        },
    )
    return IndexUpdate(version, True, data_as_of, **counts)
