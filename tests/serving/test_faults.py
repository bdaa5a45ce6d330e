"""Fault injection on the API wired by the real bootstrap: each fault gives 503 or a fallback, never a
500, and the API recovers once the fault is gone.

Faults: index truncated (cold start, then a newer build while serving), champion alias missing, MLflow
unreachable, encoder folder missing, database gone (SQLite file; PostgreSQL behind a TCP proxy cut).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from entrypoints import bootstrap
from entrypoints.settings import Settings
from eval.simulator import World
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.candidates import GENERATOR_FILE, CandidateGenerator, save_generator
from matching.referential import Referential
from models.registry import CHAMPION, ModelRegistry
from models.training import TrainingResult
from serving.app import create_app
from serving.container import ServingContainer
from serving.security import Role
from serving.storage.db import make_engine
from serving.storage.tables import RecommendationLogRow

MODEL = "fault-ranker"


@dataclass
class Stack:
    """What a running API stands on, as files and URLs the tests can break and repair."""

    settings: Settings
    tracking_uri: str
    good_index: Path
    offer: str
    owner: str

    def app(self, **overrides: object) -> tuple[TestClient, ServingContainer, dict[str, dict[str, str]]]:
        settings = self.settings.model_copy(update=overrides)
        container = bootstrap.serving_container(settings, tracking_uri=self.tracking_uri)
        container.refresh_s = 0.0  # probe on every request: the tests do not wait 30 s
        headers = {
            role: {"Authorization": f"Bearer {container.tokens.create(kind, subject)}"}
            for role, kind, subject in (
                ("counsellor", Role.COUNSELLOR, "agent-f"),
                ("owner", Role.JOBSEEKER, self.owner),
            )
        }
        return TestClient(create_app(container), raise_server_exceptions=False), container, headers


def statuses(client: TestClient, headers: dict[str, dict[str, str]], offer: str) -> dict[str, int]:
    """The status of each kind of request; none may be a 500."""
    out = {
        "ready": client.get("/ready").status_code,
        "sourcing": client.get(f"/offers/{offer}/candidates", headers=headers["counsellor"]).status_code,
        "alerts": client.get("/me/alerts", headers=headers["owner"]).status_code,
        "poe": client.get(f"/poe/suggestions?offer_id={offer}", headers=headers["counsellor"]).status_code,
    }
    assert all(code < 500 or code == 503 for code in out.values()), out
    return out


@pytest.fixture(scope="module")
def stack(
    small_world: World,
    load_small_world: Callable[[Engine], None],
    small_ranker: TrainingResult,
    index_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Stack:
    root = tmp_path_factory.mktemp("faults")
    database = f"sqlite:///{root / 'api.sqlite'}"
    engine = make_engine(database)
    load_small_world(engine)
    engine.dispose()
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    ranker = small_ranker.ranker
    registry = ModelRegistry(tracking_uri, model_name=MODEL)
    _, version = registry.log_run(ranker, params={}, metrics={"ltr": {"ndcg@10": 0.5}}, data_fingerprint="f")
    registry.promote(version)
    shutil.copytree(index_dir, root / "index")
    settings = Settings(
        database_url=database,
        index_dir=root / "index",
        encoder="hashing",
        ranker_model_name=MODEL,
        cache_dir=root / "cache",
    )
    offer = str(small_world.offers["id"].iloc[0])
    owner = str(small_world.profiles["id"].iloc[0])
    return Stack(settings, tracking_uri, index_dir, offer, owner)


def _truncate(index: Path) -> None:
    vectors = index / "offers" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])


def _restore(stack: Stack) -> None:
    """A fresh build of the good index, as `matching index build` would replace it."""
    shutil.rmtree(stack.settings.index_dir)
    shutil.copytree(stack.good_index, stack.settings.index_dir)
    (stack.settings.index_dir / GENERATOR_FILE).touch()


def _logged_models(stack: Stack) -> list[str]:
    engine = make_engine(stack.settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            select(RecommendationLogRow.model_version)
            .where(RecommendationLogRow.kind == "sourcing")
            .order_by(RecommendationLogRow.id)
        )
        models = [r[0] for r in rows]
    engine.dispose()
    return models


def test_truncated_index_answers_503_then_recovers_and_a_bad_rebuild_keeps_the_last_good(
    stack: Stack,
) -> None:
    _truncate(stack.settings.index_dir)
    client, container, headers = stack.app()
    broken = statuses(client, headers, stack.offer)
    assert broken["ready"] == 503 and broken["sourcing"] == 503 and broken["poe"] == 503
    assert broken["alerts"] == 200  # reading one's alerts needs the database only
    assert (
        "checksum" in client.get("/ready").json()["problem"]
        or "vectors" in client.get("/ready").json()["problem"]
    )
    _restore(stack)
    assert statuses(client, headers, stack.offer) == {
        "ready": 200,
        "sourcing": 200,
        "alerts": 200,
        "poe": 200,
    }
    good_version = client.get("/ready").json()["index_version"]
    # a newer build arrives corrupted while serving: refused, the last-known-good keeps serving
    _truncate(stack.settings.index_dir)
    (stack.settings.index_dir / GENERATOR_FILE).touch()
    assert statuses(client, headers, stack.offer) == {
        "ready": 200,
        "sourcing": 200,
        "alerts": 200,
        "poe": 200,
    }
    ready = client.get("/ready").json()
    assert ready["index_version"] == good_version and "last-known-good" in ready["degraded"]
    _restore(stack)
    statuses(client, headers, stack.offer)
    assert client.get("/ready").json()["degraded"] is None
    assert container.service_error == ""


def test_missing_alias_falls_back_to_rules_and_a_loaded_champion_is_kept(stack: Stack) -> None:
    registry = ModelRegistry(stack.tracking_uri, model_name=MODEL)
    version = registry.champion_version()
    assert version is not None
    registry.client.delete_registered_model_alias(MODEL, CHAMPION)
    try:
        client, _, headers = stack.app()
        cold = statuses(client, headers, stack.offer)
        assert (
            cold["sourcing"] == 200 and cold["ready"] == 503
        )  # rule-based ranking, not ready without kill switch
        assert "champion" in client.get("/ready").json()["problem"]
        assert _logged_models(stack)[-1] == "rule"
    finally:
        registry.promote(version)
    # the alias is back: the next request follows it
    assert statuses(client, headers, stack.offer)["ready"] == 200
    assert _logged_models(stack)[-1] == f"{MODEL}@champion=v{version}"
    # the alias disappears while serving: the loaded champion stays
    registry.client.delete_registered_model_alias(MODEL, CHAMPION)
    try:
        assert statuses(client, headers, stack.offer)["sourcing"] == 200
        assert _logged_models(stack)[-1] == f"{MODEL}@champion=v{version}"
        assert "last-known-good model" in client.get("/ready").json()["degraded"]
    finally:
        registry.promote(version)


def test_unreachable_registry_serves_rules_quickly(stack: Stack) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = Stack(stack.settings, f"http://127.0.0.1:{port}", stack.good_index, stack.offer, stack.owner)
    client, container, headers = dead.app()
    started = time.monotonic()
    answers = statuses(client, headers, stack.offer)
    assert answers["sourcing"] == 200 and answers["ready"] == 503
    assert time.monotonic() - started < 60
    assert "unreachable" in client.get("/ready").json()["problem"]
    assert container.degraded.startswith("cannot check")


# -- encoder missing: a tiny real sentence-transformers folder that can disappear -----------------------
def _tiny_sentence_transformer(folder: Path, texts: list[str]) -> Path:
    """A 1-layer BERT with a word vocabulary taken from ``texts``, saved as a sentence-transformers folder."""
    import re

    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words = sorted({w for t in texts for w in re.findall(r"\w+", t.lower())})[:3000]
    base = folder.parent / "tiny-bert"
    base.mkdir(parents=True, exist_ok=True)
    (base / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]))
    tokenizer = BertTokenizerFast(vocab_file=str(base / "vocab.txt"))
    config = BertConfig(
        vocab_size=len(words) + 5,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    BertModel(config).save_pretrained(base)
    tokenizer.save_pretrained(base)
    transformer = Transformer(str(base), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, Pooling(32), Normalize()])
    model.save(str(folder))
    return folder


@pytest.mark.slow
def test_missing_encoder_answers_503_then_recovers(
    stack: Stack, small_world: World, builtin: Referential, tmp_path: Path
) -> None:
    from matching.encoders import SentenceTransformerEncoder

    texts = list(small_world.offers["title"]) + [f.label for f in builtin.fiches.values()]
    encoder_dir = _tiny_sentence_transformer(tmp_path / "encoder", texts)
    generator = CandidateGenerator(referential=builtin, encoder=SentenceTransformerEncoder(str(encoder_dir)))
    generator.index_offers(list(world_offers(small_world)))
    generator.index_profiles(list(world_profiles(small_world)))
    generator.index_trainings(list(world_trainings(small_world)))
    save_generator(generator, tmp_path / "index")
    away = tmp_path / "encoder-away"
    encoder_dir.rename(away)
    client, _, headers = stack.app(index_dir=tmp_path / "index", encoder=str(encoder_dir))
    broken = statuses(client, headers, stack.offer)
    assert broken["ready"] == 503 and broken["sourcing"] == 503 and broken["alerts"] == 200
    away.rename(encoder_dir)
    assert statuses(client, headers, stack.offer) == {
        "ready": 200,
        "sourcing": 200,
        "alerts": 200,
        "poe": 200,
    }


# -- database gone ----------------------------------------------------------------------------------------
def test_sqlite_database_gone_answers_503_then_recovers(stack: Stack) -> None:
    client, container, headers = stack.app()
    assert statuses(client, headers, stack.offer)["sourcing"] == 200
    path = Path(make_url(stack.settings.database_url).database or "")
    away = path.parent / "away"
    away.mkdir()
    container.engine.dispose()
    for part in path.parent.glob(f"{path.name}*"):  # the file and its write-ahead log go together
        part.rename(away / part.name)
    try:
        down = statuses(client, headers, stack.offer)
        assert down == {"ready": 503, "sourcing": 503, "alerts": 503, "poe": 503}
        assert client.get("/ready").json()["database"] is False
    finally:
        container.engine.dispose()
        for leftover in path.parent.glob(f"{path.name}*"):  # the empty database the outage left behind
            leftover.unlink()
        for part in away.iterdir():
            part.rename(path.parent / part.name)
        away.rmdir()
    assert statuses(client, headers, stack.offer) == {
        "ready": 200,
        "sourcing": 200,
        "alerts": 200,
        "poe": 200,
    }


class CuttableProxy:
    """A TCP proxy to a server, whose link can be cut (every connection closed, new ones refused)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up = False
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_postgres(
    stack: Stack,
    load_small_world: Callable[[Engine], None],
    wipe_database: Callable[[Engine], None],
) -> Iterator[tuple[str, CuttableProxy]]:
    url = os.environ.get("MATCHING_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL not configured (MATCHING_TEST_POSTGRES_URL)")
    direct = make_engine(url)
    wipe_database(direct)
    load_small_world(direct)
    parsed = make_url(url)
    proxy = CuttableProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    yield parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
    proxy.close()
    wipe_database(direct)
    direct.dispose()


@pytest.mark.integration
def test_postgres_link_cut_answers_503_then_recovers(
    stack: Stack, proxied_postgres: tuple[str, CuttableProxy]
) -> None:
    url, proxy = proxied_postgres
    client, _, headers = stack.app(database_url=url)
    assert statuses(client, headers, stack.offer)["sourcing"] == 200
    proxy.cut()
    down = statuses(client, headers, stack.offer)
    assert down == {"ready": 503, "sourcing": 503, "alerts": 503, "poe": 503}
    proxy.restore()
    assert statuses(client, headers, stack.offer) == {
        "ready": 200,
        "sourcing": 200,
        "alerts": 200,
        "poe": 200,
    }


def test_a_failed_load_is_not_retried_on_every_request(builtin: Referential, tmp_path: Path) -> None:
    from serving.container import ServiceUnavailable

    loads: list[int] = []
    key = ["index-v1"]

    def load() -> object:
        loads.append(1)
        raise RuntimeError("built with another encoder")

    container = ServingContainer(
        engine=make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"),
        referential=builtin,
        load_service=load,  # type: ignore[arg-type]
        probe_service=lambda: key[0],
        refresh_s=3600.0,
    )
    for _ in range(3):  # the same inputs within the refresh period: one load, three quick 503
        with pytest.raises(ServiceUnavailable, match="another encoder"):
            container.service()
    assert len(loads) == 1
    key[0] = "index-v2"  # a new index version: tried at once
    with pytest.raises(ServiceUnavailable):
        container.service()
    assert len(loads) == 2
    container.refresh_s = 0.05  # the same inputs are tried again once the period is over (a transient fault)
    time.sleep(0.1)
    with pytest.raises(ServiceUnavailable):
        container.service()
    assert len(loads) == 3
