"""Write an evaluation report: ``report.html`` with tables, ``metrics.json``, and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, select_autoescape

from eval.logged import LOGGED_OUTCOMES, TOP
from eval.ranking import RankingEvaluation
from features.schema import REASONS
from matching.artifacts import atomic_folder

MAIN_METRICS = (
    "ndcg@10",
    "ndcg@10_sd",  # over the oracle's grading draws (a world only)
    "lift@10",  # (NDCG − random's) / (1 − random's)
    "recall@10",
    "mrr",
    "hires@10",
    "refusal_rate@10",
    "coverage@10",
    "exposure_gini@10",
)
LOGGED_METRICS = (f"ndcg@{TOP}", f"recall@{TOP}", f"refusal_rate@{TOP}")  # logged lists only

_TEMPLATE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Évaluation du classement</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}img{max-width:100%}</style></head><body>
<h1>Évaluation hors ligne du classement des offres</h1>
<p>Protocole : {{ protocol }}</p>
<h2>Métriques par classeur ({{ scope }})</h2>{{ main | safe }}
{% if logged_only %}<p>Notes tirées des seuls résultats journalisés (embauché, candidature, ouverture, refus).
Non calculé sans simulateur : les candidats jamais montrés, le vivier des conseillers, la boucle de rétroaction.</p>{% endif %}
<p>Rapports LTR / référence : {{ ratios }}</p>
<img src="ndcg.png" alt="NDCG@10 par classeur">
<h2>Vivier : candidats classés pour les offres ouvertes (exposition des candidats)</h2>{{ sourcing | safe }}
{% if sourcing_ratios %}<p>Rapports LTR / référence (vivier) : {{ sourcing_ratios }}</p>{% endif %}
<h2>Taux de refus dans le top {{ refusal_k }}, par motif</h2>{{ refusals | safe }}
<img src="refusals.png" alt="Taux de refus par motif et par classeur">
<h2>Équité (rapport min/max entre groupes ; évaluation seulement)</h2>{{ fairness | safe }}
<h2>Boucle de rétroaction : refus répétés pour le même motif</h2>{{ feedback | safe }}
{% if has_feedback %}<img src="feedback.png" alt="Refus répétés par motif, tour 1 et tour 2">{% endif %}
</body></html>"""


def _bar(frame: pd.DataFrame, path: Path, title: str) -> None:
    figure, ax = plt.subplots(figsize=(9, 4))
    frame.plot.bar(ax=ax, rot=25)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _html(frame: pd.DataFrame) -> str:
    return str(frame.to_html(float_format=lambda value: f"{value:.3f}"))


def write_report(evaluation: RankingEvaluation, folder: Path) -> Path:
    """Write the report folder atomically; returns the path of ``report.html``."""
    table = pd.DataFrame(evaluation.table()).T
    # a world's candidates are judged @10; logged lists (a handful of alerts) @3 (eval.logged.TOP)
    refusal_k = next((k for k in (10, TOP) if f"refusal_rate@{k}" in table), 10)
    refusal_columns = [
        f"refusal_rate@{refusal_k}/{r}" for r in REASONS if f"refusal_rate@{refusal_k}/{r}" in table
    ]
    main_columns = [c for c in (*MAIN_METRICS, *LOGGED_METRICS, "logged_ndcg@10") if c in table]
    fairness_columns = [c for c in table.columns if "ratio" in c]
    feedback = pd.DataFrame(evaluation.feedback).T
    logged_only = evaluation.protocol.get("graded_by") == LOGGED_OUTCOMES
    sourcing = pd.DataFrame(evaluation.market.sourcing).T
    with atomic_folder(Path(folder)) as staging:
        _bar(table[["ndcg@10"]], staging / "ndcg.png", "NDCG@10")
        _bar(
            table[refusal_columns].rename(columns=lambda c: c.split("/")[-1]).T,
            staging / "refusals.png",
            f"Taux de refus @{refusal_k} par motif",
        )
        if not feedback.empty:
            _bar(feedback[["round1", "round2_frozen", "round2"]], staging / "feedback.png", "Refus répétés")
        html = (
            Environment(autoescape=select_autoescape())
            .from_string(_TEMPLATE)
            .render(
                protocol=json.dumps(evaluation.protocol, ensure_ascii=False),
                scope="listes d'alertes journalisées après la date de coupure, réordonnées"
                if logged_only
                else "marché simulé, mêmes candidats",
                logged_only=logged_only,
                refusal_k=refusal_k,
                main=_html(table[main_columns]),
                ratios=", ".join(f"{k} {v:.2f}" for k, v in evaluation.ratios().items()),
                refusals=_html(table[refusal_columns]),
                sourcing=_html(sourcing[[c for c in MAIN_METRICS if c != "recall@10" and c in sourcing]])
                if evaluation.market.sourcing
                else "<p>non calculé</p>",
                sourcing_ratios=", ".join(f"{k} {v:.2f}" for k, v in evaluation.sourcing_ratios().items()),
                fairness=_html(table[fairness_columns]),
                feedback=_html(feedback) if not feedback.empty else "<p>non calculée</p>",
                has_feedback=not feedback.empty,
            )
        )
        (staging / "report.html").write_text(html, encoding="utf-8")
        (staging / "metrics.json").write_text(json.dumps(evaluation.as_json(), indent=2, ensure_ascii=False))
    return Path(folder) / "report.html"
