"""The registry against a real MLflow tracking server (started here, on a free local port)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from features.schema import FEATURE_NAMES
from models.ranker import LambdaRankRanker, RankerConfig
from models.registry import ModelRegistry

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'store.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"MLflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()


def test_registry_through_a_tracking_server(mlflow_server: str) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.random((400, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    y = (X["core_skill_coverage"] * 4).astype(int).to_numpy()
    ranker = LambdaRankRanker(config=RankerConfig(n_estimators=10)).fit(X, y, np.full(50, 8))
    registry = ModelRegistry(mlflow_server, model_name="server-ranker")
    _, version = registry.log_run(ranker, params={}, metrics={"ltr": {"ndcg@10": 0.5}}, data_fingerprint="f")
    registry.promote(version)
    loaded, champion = registry.load()
    assert champion == version
    np.testing.assert_allclose(loaded.predict(X), ranker.predict(X))
