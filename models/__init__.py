"""Ranking models: LightGBM LambdaRank re-ranking, its training data, artifacts, registry and the rerank pipeline.

Owns learning-to-rank data from the event log (:mod:`models.dataset`), the ranker (:mod:`models.ranker`)
and its fitting (:mod:`models.training`), atomic fail-closed artifacts (:mod:`models.artifact`), the
MLflow registry with its gated ``champion`` alias (:mod:`models.registry`, URIs passed in), the scoring
policy (:mod:`models.scoring`: learned or rule scores, the stated-refusal penalty) and the pipeline that
serving and evaluation share (:mod:`models.pipeline`: candidate generation -> features -> scores).
Imports :mod:`features` and :mod:`matching` only.
"""

# The registered ranker that serving follows (``models:/NAME@champion``); light to import on purpose.
DEFAULT_MODEL_NAME = "matching-alert-ranker"
