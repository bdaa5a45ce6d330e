"""National-size worlds: entities generated chunk by chunk and streamed to Parquet.

A world of a million profiles and half a million offers does not fit comfortably in memory as data
frames (list columns are Python lists). Here every table is produced in chunks of ``chunk_rows``
rows, each chunk drawn from its own random stream (``SeedSequence([seed, table, chunk])``), converted
to Arrow and appended to the table's Parquet file as one row group; only one chunk is in memory at a
time. The folder is the same format as :func:`eval.simulator.io.write_world` (same manifest, read
by :func:`~eval.simulator.io.read_world` or column by column with pyarrow), written atomically.

Interactions are not simulated here: the weekly loop needs every person in memory at once, so
national worlds hold entities only (the ``interactions`` table is empty and ``months`` must be 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from eval.simulator.config import MarketConfig
from eval.simulator.entities import (
    generate_audit,
    generate_offer_conditions,
    generate_offers,
    generate_profile_behaviour,
    generate_profiles,
    generate_trainings,
    schedule_propensities,
)
from eval.simulator.io import table_entry, write_manifest
from eval.simulator.market import MarketSimulator, World, canonical, make_ids, no_interactions
from matching.artifacts import atomic_folder
from matching.errors import MatchingError
from matching.geo import Communes
from matching.referential import Referential

DEFAULT_CHUNK_ROWS = 100_000
# Chunk streams are keyed by these numbers, so adding a table never changes the others.
_TABLE_STREAM = {"profiles": 1, "offers": 2, "trainings": 3, "occupations": 4}
Progress = Callable[[str, int, int], None]


class _TableWriter:
    """Appends data frames to one Parquet file, keeping the first chunk's Arrow schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False, schema=self._schema)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self._writer.write_table(table)
        self.rows += len(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _chunks(n: int, chunk_rows: int) -> Iterator[tuple[int, int, int]]:
    """``(number, start, stop)`` of each chunk; an empty table still gets one (empty) chunk."""
    for number, start in enumerate(range(0, max(n, 1), chunk_rows)):
        yield number, start, min(n, start + chunk_rows)


def write_world_streaming(
    referential: Referential,
    communes: Communes,
    config: MarketConfig,
    folder: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Generate the entities of ``config`` chunk by chunk into the world folder ``folder``.

    Parameters
    ----------
    referential, communes
        As for :class:`~eval.simulator.market.MarketSimulator`.
    config
        Sizes and seed; ``config.months`` must be 0 (no interactions at this scale).
    folder
        Output folder, replaced atomically.
    chunk_rows
        Rows generated and held in memory at once.
    progress
        Called as ``progress(table, rows_done, rows_total)``.

    Returns
    -------
    dict
        Row count of every table.
    """
    if config.months:
        raise MatchingError(
            "a streamed (national-size) world holds entities only: interactions are simulated in memory, "
            "for worlds up to a few hundred thousand profiles; use months = 0"
        )
    if chunk_rows < 1:
        raise MatchingError("chunk_rows must be at least 1")
    report = progress or (lambda _table, _done, _total: None)
    sim = MarketSimulator(referential, communes, config)
    rome, geo = sim.rome, sim.geo

    def rng(table: str, number: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([config.seed, _TABLE_STREAM[table], number]))

    def sized(n: int, table: str) -> MarketConfig:
        field = {"profiles": "n_profiles", "offers": "n_offers", "trainings": "n_trainings"}[table]
        return config.model_copy(update={field: n})

    with atomic_folder(Path(folder)) as staging:
        writers = {table: _TableWriter(staging / f"{table}.parquet") for table in World.TABLES}
        ids = make_ids("P", config.n_profiles, 7)
        for number, start, stop in _chunks(config.n_profiles, chunk_rows):
            chunk = rng("profiles", number)
            cols = generate_profiles(
                sized(stop - start, "profiles"),
                rome,
                geo,
                sim.profile_popularity,
                sim.fiche_pay,
                chunk,
                sim.anchoring,
            )
            cols.update(
                generate_profile_behaviour(sized(stop - start, "profiles"), cols, sim.fiche_pay, chunk)
            )
            profiles = canonical(sim.profiles_frame(cols, ids[start:stop]))
            writers["profiles"].write(profiles)
            writers["subscriptions"].write(sim.subscriptions_frame(profiles))
            writers["hidden"].write(sim.hidden_frame(cols, ids[start:stop]))
            audit = generate_audit(stop - start, chunk)
            writers["audit"].write(pd.DataFrame({"profile_id": ids[start:stop], **audit}))
            report("profiles", stop, config.n_profiles)
        ids = make_ids("SIM", config.n_offers, 7)
        # the occupations' working-time propensities hold for every chunk of offers
        propensity = schedule_propensities(rome.n_fiches, rng("occupations", 0))
        for number, start, stop in _chunks(config.n_offers, chunk_rows):
            offers_rng = rng("offers", number)
            cols = generate_offers(
                sized(stop - start, "offers"),
                rome,
                geo,
                sim.offer_popularity,
                sim.fiche_pay,
                offers_rng,
                sim.anchoring,
            )
            cols.update(
                generate_offer_conditions(sized(stop - start, "offers"), cols, propensity, offers_rng)
            )
            writers["offers"].write(canonical(sim.offers_frame(cols, ids[start:stop])))
            report("offers", stop, config.n_offers)
        ids = make_ids("T", config.n_trainings, 6)
        for number, start, stop in _chunks(config.n_trainings, chunk_rows):
            cols = generate_trainings(
                sized(stop - start, "trainings"),
                rome,
                geo,
                sim.offer_popularity,
                rng("trainings", number),
                sim.anchoring,
            )
            writers["trainings"].write(canonical(sim.trainings_frame(cols, ids[start:stop])))
            report("trainings", stop, config.n_trainings)
        writers["interactions"].write(no_interactions())
        for writer in writers.values():
            writer.close()
        files = {table: table_entry(w.path, w.rows) for table, w in writers.items()}
        write_manifest(staging, config, referential.version, files)
    return {table: writer.rows for table, writer in writers.items()}
