"""Writing and reading a simulated world: one Parquet file per table plus ``manifest.json``.

The folder is written atomically (a temporary sibling renamed into place) and its manifest records
the configuration, the referential version, row counts and a SHA-256 of every file; reading checks
them and refuses a folder that does not match (fail closed). No timestamp goes in, so the same
configuration always writes byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from eval.simulator.config import MarketConfig
from eval.simulator.market import World
from matching import __version__
from matching.artifacts import atomic_folder, sha256_file
from matching.errors import MatchingError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class WorldFormatError(MatchingError):
    """A world folder is missing, incomplete, or does not match its manifest."""


def write_world(world: World, folder: Path) -> Path:
    """Write ``world`` to ``folder`` atomically (replacing a previous world there)."""
    folder = Path(folder)
    with atomic_folder(folder) as staging:
        files = {}
        for table in World.TABLES:
            frame: pd.DataFrame = getattr(world, table)
            path = staging / f"{table}.parquet"
            frame.to_parquet(path, index=False, compression="zstd")
            files[table] = table_entry(path, len(frame))
        write_manifest(staging, world.config, world.referential_version, files)
    return folder


def table_entry(path: Path, rows: int) -> dict[str, object]:
    """The manifest entry of one table file."""
    return {"file": path.name, "rows": rows, "sha256": sha256_file(path)}


def write_manifest(
    folder: Path, config: MarketConfig, referential_version: str, files: dict[str, dict[str, object]]
) -> None:
    """Write the world manifest (no timestamp: the same world always gives the same bytes)."""
    manifest = {
        "format_version": FORMAT_VERSION,
        "generator": f"matching-engine {__version__}",
        "referential_version": referential_version,
        # optional settings left unset are left out: a world made without them keeps its bytes
        "config": config.model_dump(mode="json", exclude_none=True),
        "tables": files,
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def read_manifest(folder: Path) -> dict[str, object]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise WorldFormatError(
            f"no world in {folder}: {MANIFEST} is missing (generate one with `matching sample`)"
        )
    manifest: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise WorldFormatError(f"{path}: unsupported world format {manifest.get('format_version')!r}")
    return manifest


def read_world(folder: Path, *, verify: bool = True) -> World:
    """Read a world written by :func:`write_world`; with ``verify``, check every file's checksum."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    tables = manifest["tables"]
    assert isinstance(tables, dict)
    frames = {}
    for table in World.TABLES:
        entry = tables.get(table)
        path = folder / str(entry["file"]) if isinstance(entry, dict) else None
        if path is None or not path.is_file() or not isinstance(entry, dict):
            raise WorldFormatError(f"world in {folder} is incomplete: table {table!r} is missing")
        if verify and sha256_file(path) != entry["sha256"]:
            raise WorldFormatError(f"{path} does not match its manifest checksum (corrupted or edited)")
        frames[table] = pd.read_parquet(path)
    config = manifest["config"]
    assert isinstance(config, dict)
    return World(
        config=MarketConfig(**config),
        referential_version=str(manifest["referential_version"]),
        **frames,
    )
