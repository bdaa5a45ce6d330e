"""The indexes follow the database: real-format offers, consenting profiles and trainings read back as
domain objects, only new texts embedded, withdrawn/expired/non-consenting rows dropped, new versions
published atomically (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from eval.simulator import World
from eval.simulator.records import world_profiles, world_trainings
from matching.candidates import GENERATOR_FILE, CandidateGenerator, load_generator
from matching.encoders import CachedEncoder, HashingEncoder
from matching.encoders.base import FloatMatrix
from matching.geo import load_communes
from matching.index_versions import publish_generator, versions_dir
from matching.ingest import parse_offers
from matching.referential import Referential
from models.pipeline import RankingService
from serving.batch.index_update import update_index
from serving.storage.db import migrate
from serving.storage.repository import SqlRepository

AS_OF = date(2025, 3, 10)


class CountingEncoder:
    """The hashing encoder, counting the texts it is asked to embed (what the cache did not serve)."""

    def __init__(self) -> None:
        self.inner = HashingEncoder()
        self.name, self.dim = self.inner.name, self.inner.dim
        self.documents = 0

    def encode_query(self, texts: Sequence[str], **kwargs: object) -> FloatMatrix:
        return self.inner.encode_query(texts)

    def encode_document(self, texts: Sequence[str], **kwargs: object) -> FloatMatrix:
        self.documents += len(texts)
        return self.inner.encode_document(texts)


def real_records(offers_file: Path, builtin: Referential, n: int) -> list[dict[str, object]]:
    """The first ``n`` real France Travail offers whose occupation the built-in referential knows."""
    records = json.loads(offers_file.read_text())
    return [r for r in records if r.get("romeCode") in builtin.fiches][:n]


def test_the_index_follows_the_database(
    engine: Engine, offers_file: Path, small_world: World, builtin: Referential, tmp_path: Path
) -> None:
    migrate(engine)
    repository = SqlRepository(engine)
    offers, report = parse_offers(
        real_records(offers_file, builtin, 12), referential=builtin, communes=load_communes()
    )
    assert report.parsed == 12 and len(offers) == 12
    repository.upsert_offers(offers)
    profiles = list(world_profiles(small_world))[:40]
    repository.upsert_profiles(profiles)
    repository.upsert_trainings(list(world_trainings(small_world))[:10])
    visible = {p.id for p in profiles if p.visible}
    assert 0 < len(visible) < len(profiles)

    counting = CountingEncoder()
    encoder = CachedEncoder(counting)
    index_dir = tmp_path / "index"
    first = update_index(repository, builtin, encoder, index_dir, as_of=AS_OF)
    assert first.published and index_dir.is_symlink()
    assert (first.offers.indexed, first.profiles.indexed, first.trainings.indexed) == (12, len(visible), 10)
    # every distinct text once (two simulated people share a text)
    assert first.embedded == counting.documents and 40 < first.embedded <= 12 + len(visible) + 10
    assert first.offers.dropped_total == first.profiles.dropped_total == 0
    service = RankingService.load(index_dir, builtin, HashingEncoder())
    assert service.index_version == first.version and service.index_as_of == first.data_as_of
    assert set(service.generator.offers_.ids_.tolist()) == {o.id for o in offers}
    assert set(service.generator.profiles_.ids_.tolist()) == visible  # consenting profiles only
    stamp = (index_dir / GENERATOR_FILE).resolve(), (index_dir / GENERATOR_FILE).stat().st_mtime_ns

    again = update_index(repository, builtin, encoder, index_dir, as_of=AS_OF)
    assert not again.published and again.version == first.version
    assert again.embedded == 0 and counting.documents == first.embedded  # no encoder call at all
    assert (index_dir / GENERATOR_FILE).stat().st_mtime_ns == stamp[1]  # the API reloads nothing

    # an offer withdrawn, one expired, one retitled; a person withdraws consent
    withdrawn, expired, retitled = offers[0], offers[1], offers[2]
    repository.withdraw_offer(withdrawn.id)
    repository.upsert_offers(
        [
            expired.model_copy(update={"expires_at": AS_OF - timedelta(days=1)}),
            retitled.model_copy(update={"title": "Développeur Python confirmé"}),
        ]
    )
    hidden = next(p for p in profiles if p.visible)
    repository.upsert_profiles([hidden.model_copy(update={"visible": False})])
    third = update_index(repository, builtin, encoder, index_dir, as_of=AS_OF)
    assert third.published and third.version != first.version
    assert third.offers.indexed == 10 and dict(third.offers.dropped) == {"withdrawn": 1, "expired": 1}
    assert third.profiles.dropped_total == 1 and third.profiles.indexed == len(visible) - 1
    assert third.embedded == 1  # the retitled offer; everything else came from the cache
    loaded = load_generator(index_dir, builtin, HashingEncoder())
    assert not loaded.offers_.has(withdrawn.id) and not loaded.offers_.has(expired.id)
    assert loaded.offers_.has(retitled.id) and not loaded.profiles_.has(hidden.id)
    # a new version is a new settings file: the API's probe (path and modification time) sees it
    new_stamp = (index_dir / GENERATOR_FILE).resolve(), (index_dir / GENERATOR_FILE).stat().st_mtime_ns
    assert new_stamp != stamp
    assert (versions_dir(index_dir) / first.version).is_dir()  # the previous version is kept
    # an offer closes on its expiry day, as the alert batch has it: the day before it is open
    repository.upsert_offers([expired.model_copy(update={"expires_at": AS_OF})])
    assert update_index(repository, builtin, encoder, index_dir, as_of=AS_OF).offers.indexed == 10
    repository.upsert_offers([expired.model_copy(update={"expires_at": AS_OF + timedelta(days=1)})])
    assert update_index(repository, builtin, encoder, index_dir, as_of=AS_OF).offers.indexed == 11


def _generator(builtin: Referential, small_world: World) -> CandidateGenerator:
    generator = CandidateGenerator(referential=builtin, encoder=HashingEncoder())
    generator.index_profiles(list(world_profiles(small_world))[:50])
    return generator.index_trainings(list(world_trainings(small_world))[:5])


def test_a_crash_mid_write_leaves_the_last_version(
    builtin: Referential, small_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matching.index_versions as versions

    generator = _generator(builtin, small_world)
    index_dir = tmp_path / "index"
    publish_generator(generator, index_dir, version="v1")
    good = load_generator(index_dir, builtin, HashingEncoder())

    def dies_midway(gen: CandidateGenerator, folder: Path, **kwargs: object) -> Path:
        (folder / "profiles").mkdir(parents=True)
        (folder / "profiles" / "vectors.npy").write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(versions, "save_generator", dies_midway)
    with pytest.raises(OSError, match="disk full"):
        publish_generator(generator, index_dir, version="v2")
    monkeypatch.undo()
    assert os.readlink(index_dir).endswith("v1")
    assert not (versions_dir(index_dir) / "v2").exists()
    assert not list(versions_dir(index_dir).glob(".*.partial"))
    reloaded = load_generator(index_dir, builtin, HashingEncoder())
    assert reloaded.profiles_.ids_.tolist() == good.profiles_.ids_.tolist()
    # a process killed mid-write leaves its partial folder: the next publication removes it
    stale = versions_dir(index_dir) / ".v2.partial"
    (stale / "offers").mkdir(parents=True)
    publish_generator(generator, index_dir, version="v2", keep=2)
    assert os.readlink(index_dir).endswith("v2") and not stale.exists()
    publish_generator(generator, index_dir, version="v3", keep=2)
    assert sorted(p.name for p in versions_dir(index_dir).iterdir() if not p.name.startswith(".")) == [
        "v2",
        "v3",
    ]
    with pytest.raises(ValueError, match="already exists"):
        publish_generator(generator, index_dir, version="v3")


def test_a_folder_saved_in_place_becomes_a_version(
    builtin: Referential, small_world: World, index_dir: Path, tmp_path: Path
) -> None:
    import shutil

    legacy = tmp_path / "index"
    shutil.copytree(index_dir, legacy)  # `save_generator` into a plain folder, as older builds did
    publish_generator(_generator(builtin, small_world), legacy, version="v1")
    assert legacy.is_symlink() and os.readlink(legacy).endswith("v1")
    kept = [p for p in versions_dir(legacy).iterdir() if p.name.startswith("legacy-")]
    assert len(kept) == 1 and (kept[0] / GENERATOR_FILE).is_file()


def test_the_live_offer_index_is_copied_on_write(
    index_dir: Path, builtin: Referential, small_world: World
) -> None:
    from eval.simulator.records import world_offers

    service = RankingService.load(index_dir, builtin, HashingEncoder())
    withdrawn = service.generator.offers_.ids_[0]
    moved = next(world_offers(small_world)).model_copy(update={"id": "NEW-1"})
    copy = service.with_offers([moved], [withdrawn], index_version="v+2")
    assert not copy.generator.offers_.has(withdrawn) and copy.generator.offers_.has("NEW-1")
    assert service.generator.offers_.has(withdrawn) and not service.generator.offers_.has("NEW-1")
    assert len(copy.generator.offers_) == len(service.generator.offers_)
    assert copy.index_version == "v+2" and copy.generator.profiles_ is service.generator.profiles_
