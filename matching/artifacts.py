"""Artifact folders (worlds, indexes, models): atomic writes and checksums.

A folder is written into a temporary sibling and swapped into place only once complete, so a reader
never sees a half-written artifact, and a crash leaves the previous version intact.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_problem(folder: Path, files: dict[str, str]) -> str | None:
    """Why ``folder`` does not hold exactly these ``{name: sha256}`` files intact, or ``None`` if it does."""
    for name, digest in files.items():
        path = Path(folder) / name
        if not path.is_file():
            return f"{name} is missing"
        if sha256_file(path) != digest:
            return f"{name} does not match its checksum (truncated or corrupted)"
    return None


def read_manifest_file(folder: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The ``manifest.json`` of an artifact folder; raises ``error`` if it is missing or not JSON."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise error(f"no {what} in {folder}: {MANIFEST} is missing")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise error(f"{path} is not valid JSON (truncated?)") from None
    return manifest


@contextmanager
def atomic_folder(folder: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``folder``, on error it is deleted."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; artifacts are meant to be shared
    try:
        yield staging
        backup = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            shutil.rmtree(backup, ignore_errors=True)
            folder.rename(backup)
        staging.rename(folder)
        shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
