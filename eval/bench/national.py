"""What the parts of the national benchmark share: where things are, the world read in row groups, the
world's tables and the ranker.

Vectors at national scale
-------------------------
Encoding a million profiles and half a million offers with e5 on two CPU cores takes hours (the
``encoder`` part measures the rate), so the index, sourcing and alert parts use the lexical hashing
encoder at e5's dimension (384) for the bulk vectors: search cost, memory and recall depend on the
number of rows and the dimension, not on which model produced them. The ``incremental`` part encodes
its new offers with e5 (int8) for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from eval.simulator import read_manifest, read_world
from eval.simulator.records import world_tables
from features.embeddings import embed_tables
from features.pairs import PairFeatureBuilder
from features.tables import MarketTables
from matching.encoders import HashingEncoder
from matching.referential import Referential, load_referential
from models.ranker import LambdaRankRanker
from models.training import train_ranker

BULK_DIM = 384  # e5-small's dimension
INGEST_TOKENS = 80  # new offers: e5 int8 on ONNX Runtime, truncated (cosine to float32 ~0.97)


@dataclass(frozen=True)
class BenchPaths:
    """Where a benchmark reads its world and keeps what one part builds for the next ones."""

    world: Path
    work: Path
    rome_dir: Path | None
    model_dir: Path

    @property
    def profile_index(self) -> Path:
        """The sourcing index over every profile, saved by the ``index`` part."""
        return self.work / "profile-index"

    @property
    def offer_index(self) -> Path:
        """The offer index, saved by the ``index`` part."""
        return self.work / "offer-index"

    @property
    def exact_profile_vectors(self) -> Path:
        """The profiles' float32 vectors (a NumPy file), the exact reference of the recall."""
        return self.work / "profile-vectors-f32.npy"

    def referential(self) -> Referential:
        """The referential the world was generated on.

        Raises
        ------
        ValueError
            ``rome_dir`` does not hold the world's referential version.
        """
        referential = load_referential(self.rome_dir)
        wanted = read_manifest(self.world)["referential_version"]
        if referential.version != wanted:
            raise ValueError(
                f"the world in {self.world} was generated on referential {wanted}, "
                f"not {referential.version}: pass the matching --rome-dir"
            )
        return referential


def row_groups(path: Path, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """A Parquet file one row group at a time, so that a national table is never whole in memory."""
    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        yield parquet.read_row_group(group, columns=columns).to_pandas()


def national_tables(world: Path) -> MarketTables:
    """Profiles, offers and trainings of a national world (no events: it holds entities only)."""
    from eval.simulator.market import no_interactions

    def read(table: str) -> pd.DataFrame:
        return pd.read_parquet(world / f"{table}.parquet")

    return MarketTables.from_frames(read("profiles"), read("offers"), read("trainings"), no_interactions())


def bench_ranker(referential_dir: Path | None, sample_world: Path) -> LambdaRankRanker:
    """The default ranker trained on the sample world's logged alert lists (hashing embeddings)."""
    world = read_world(sample_world)
    referential = load_referential(referential_dir if world.referential_version != "builtin-1" else None)
    tables = world_tables(world)
    embeddings = embed_tables(tables, referential, HashingEncoder(dim=BULK_DIM))
    cutoff = pd.Timestamp(world.config.start, tz="UTC") + pd.Timedelta(weeks=round(0.7 * world.config.weeks))
    builder = PairFeatureBuilder(referential=referential, embeddings=embeddings).fit(tables)
    return train_ranker(tables, builder, cutoff=cutoff).ranker
