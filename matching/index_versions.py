"""Versions of the candidate indexes: each written whole beside the others, then switched to atomically.

``DIR`` (e.g. ``var/index``) is a symbolic link to ``DIR.versions/<version>``. A new version is
written into ``DIR.versions/.<version>.partial``, flushed to disk, renamed to its name, and only then
is the link replaced (``rename(2)`` of a link over a link: readers see the old version or the new one,
never a mix nor nothing). A crash at any point leaves the link on the last complete version; the
partial folder is removed by the next publication. Older versions beyond ``keep`` are deleted.

Readers resolve the link once (``Path.resolve``) and read every file of one version from there; the
API's probe sees a new version because the settings file it watches is a new file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from matching.candidates import GENERATOR_FILE, CandidateGenerator, read_generator_info, save_generator
from matching.errors import MatchingError
from matching.index import IndexIntegrityError, data_fingerprint, read_index_ids

INDEXES = ("offers", "profiles", "trainings")
KEEP = 3  # the current version and two before it (a rollback is a link away)


class IndexVersionExists(MatchingError, ValueError):
    """A version of that name was published already: versions are never overwritten."""


def versions_dir(index_dir: Path) -> Path:
    """The folder holding the versions of the indexes published at ``index_dir``."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}.versions"


def generator_fingerprint(generator: CandidateGenerator) -> str:
    """SHA-256 over the encoder, referential, each index's live items (ids, vectors, ROME blocks, filter
    attributes) and the training skills.

    Two generators with the same fingerprint search the same way: publishing the second is pointless.
    """
    digest = hashlib.sha256(f"{generator.encoder.name}\0{generator.referential.version}".encode())
    for name in INDEXES:
        index = getattr(generator, f"{name}_", None)
        if index is None:
            digest.update(f"\0{name}\0-".encode())
            continue
        digest.update(f"\0{name}\0{data_fingerprint(index)}".encode())
        alive = np.flatnonzero(index.alive_)
        digest.update(json.dumps([index.blocks_[row] for row in alive.tolist()]).encode())
        for attribute, values in sorted(index.attrs_.items()):
            digest.update(attribute.encode() + np.asarray(values[alive]).astype(str).tobytes())
    skills = getattr(generator, "training_skills_", {})
    digest.update(json.dumps({k: list(v) for k, v in sorted(skills.items())}).encode())
    return digest.hexdigest()


def version_name(moment: datetime, fingerprint: str) -> str:
    """A version's folder name: the UTC moment it was made (sorts in time order) and its fingerprint."""
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}-{fingerprint[:8]}"


def published_ids(index_dir: Path) -> dict[str, set[str]]:
    """Live ids of each index of the version at ``index_dir`` (empty sets when there is none, or it is unreadable)."""
    folder = Path(index_dir).resolve()
    out: dict[str, set[str]] = {}
    for name in INDEXES:
        try:
            out[name] = set(read_index_ids(folder / name))
        except IndexIntegrityError:
            out[name] = set()
    return out


@contextmanager
def _exclusive(store: Path) -> Iterator[None]:
    """One publisher at a time per index folder (an advisory lock, released if the process dies)."""
    with (store / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` and the folders themselves, so a power cut cannot leave a
    renamed version with empty files."""
    for path in sorted(folder.rglob("*"), key=lambda p: -len(p.parts)):
        _sync(path)
    _sync(folder)


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish_generator(
    generator: CandidateGenerator,
    index_dir: Path,
    *,
    version: str,
    info: dict[str, str] | None = None,
    keep: int = KEEP,
) -> Path:
    """Write ``generator`` as a new version and point ``index_dir`` at it atomically.

    Parameters
    ----------
    generator
        The indexes to publish (each index must have been filled).
    index_dir
        The path readers load (a link after the first publication). A real folder there (indexes
        saved in place by an older layout) is first moved among the versions, named ``legacy-<time>``:
        the one step that is not atomic, once per folder.
    version
        The new version's name (a folder name; it must not exist yet).
    info
        Kept with the version (see :func:`~matching.candidates.read_generator_info`), with ``version``.
    keep
        Versions kept, the new one included (at least 1).

    Returns
    -------
    Path
        The new version's folder.

    Raises
    ------
    IndexVersionExists
        A version of that name was published already (a ``ValueError`` and a ``MatchingError``).
    ValueError
        If ``version`` is not a plain folder name, or ``keep`` is below 1.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep}")
    if not version or version.startswith(".") or Path(version).name != version:
        raise ValueError(f"not a version name: {version!r}")
    index_dir = Path(index_dir)
    store = versions_dir(index_dir)
    store.mkdir(parents=True, exist_ok=True)
    with _exclusive(store):
        target = store / version
        if target.exists():
            raise IndexVersionExists(
                f"index version {version} already exists in {store} (two publications in the same "
                "second with different contents): run it again"
            )
        for stale in store.glob(".*.partial"):  # left by a publication that crashed
            shutil.rmtree(stale, ignore_errors=True)
        staging = store / f".{version}.partial"
        try:
            save_generator(generator, staging, info={**(info or {}), "version": version})
            _sync_tree(staging)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _sync(store)
        _point(index_dir, target, store)
        _prune(store, keep, keep_also=target)
    return target


def _point(index_dir: Path, target: Path, store: Path) -> None:
    """Replace the link ``index_dir`` by one to ``target`` (relative, so the tree can move)."""
    link = index_dir.with_name(f".{index_dir.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(target, index_dir.parent))
    if index_dir.is_dir() and not index_dir.is_symlink():
        stamp = (
            (index_dir / GENERATOR_FILE).stat().st_mtime_ns if (index_dir / GENERATOR_FILE).exists() else 0
        )
        index_dir.rename(store / f"legacy-{stamp}")
    os.replace(link, index_dir)
    _sync(index_dir.parent)


def _prune(store: Path, keep: int, *, keep_also: Path) -> None:
    """Delete all but the ``keep`` most recent versions (by modification time), never ``keep_also``."""
    versions = sorted(
        (p for p in store.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    for old in versions[keep:]:
        if old != keep_also:
            shutil.rmtree(old, ignore_errors=True)


def current_version(index_dir: Path) -> str | None:
    """The version ``index_dir`` points at, ``None`` for indexes saved without one (or none at all)."""
    return read_generator_info(index_dir).get("version")
