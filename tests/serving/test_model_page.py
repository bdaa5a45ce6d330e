"""What the model page tells a data scientist about opening MLflow (``serving.services.admin``)."""

from __future__ import annotations

from pathlib import Path

from serving.services.admin import mlflow_ui_command


def test_the_mlflow_ui_command_is_given_for_a_local_store_only() -> None:
    local = "sqlite:////srv/matching/var/mlflow/mlflow.db"
    assert mlflow_ui_command(local) == f".venv/bin/mlflow ui --backend-store-uri {local}"
    assert mlflow_ui_command("/srv/mlruns") == ".venv/bin/mlflow ui --backend-store-uri /srv/mlruns"
    assert mlflow_ui_command("http://mlflow.internal:5000") is None  # the page links to the server
    assert mlflow_ui_command("postgresql://mlflow:secret@db/mlflow") is None  # never show a password
    assert mlflow_ui_command("") is None  # no registry configured


def test_the_model_page_says_how_to_open_a_local_store() -> None:
    from dataclasses import asdict

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from serving.pages import router
    from serving.services.admin import MLFLOW_UI_URL, ModelOverview

    local = "sqlite:////srv/matching/var/mlflow/mlflow.db"
    pages = Environment(
        loader=FileSystemLoader(Path(router.__file__).parent / "templates"),
        autoescape=select_autoescape(),
    )

    def page(uri: str, url: str | None) -> str:
        overview = ModelOverview(
            model_version="v1",
            index_version="i1",
            kill_switch=False,
            tracking_uri=uri,
            mlflow_url=url,
            mlflow_ui_command=mlflow_ui_command(uri),
        )
        return pages.get_template("modele.html").render(principal=None, **asdict(overview))

    shown = page(local, None)
    assert f"<code>.venv/bin/mlflow ui --backend-store-uri {local}</code>" in shown
    assert f'href="{MLFLOW_UI_URL}"' in shown and "Pas de serveur MLflow" in shown
    served = page("http://mlflow.internal:5000", "http://mlflow.internal:5000")
    assert "mlflow ui" not in served and 'href="http://mlflow.internal:5000"' in served
