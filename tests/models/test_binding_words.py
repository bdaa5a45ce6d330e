"""What a counsellor's list says when the learned ranker binds a stated reason the rule does not see."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.pairs import stated_constraints
from models.pipeline import UNDECLARED_CONTRACT, binding_beyond_rule
from models.ranker import LambdaRankRanker, RankerConfig
from models.refusals import StatedStrength
from serving.explain import stated_refusals


def test_reasons_bound_by_learned_evidence_are_named_and_an_undeclared_contract_has_its_own_words() -> None:
    X = pd.DataFrame(
        {
            "rome_same_code": [1.0, 1.0, 1.0, 1.0],
            "history_refusal_rate_metier": 0.0,
            "rome_metier_refusals": 0.0,
            "distance_over_refused": [np.nan, np.nan, 0.8, np.nan],
            "salary_over_refused": np.nan,
            "contract_refusals": [0.0, 2.0, 0.0, 0.0],
            "hours_refusals": 0.0,
            "coverage_over_refused": np.nan,
            # interim after a refused CDD (undeclared both), a CDD again, 80 % of a distance refused
            "evidence_type_contrat": [1.0, 1.0, 0.0, 0.0],
            "evidence_distance": [0.0, 0.0, 0.9, 0.0],
        }
    )
    ranker = LambdaRankRanker(config=RankerConfig())
    ranker.stated_strength_ = StatedStrength({"evidence_type_contrat": 0.5, "evidence_distance": 0.5})
    rule = stated_constraints(X)
    masks = {**rule, **binding_beyond_rule(ranker, X, rule)}
    assert masks[UNDECLARED_CONTRACT].tolist() == [True, False, False, False]
    assert masks["type_contrat"].tolist() == [False, True, False, False]
    assert masks["distance"].tolist() == [False, False, True, False]
    stated = [[r for r, mask in masks.items() if mask[i]] for i in range(len(X))]
    words = stated_refusals(stated, "MIS", True)
    assert words[0] == ["a refusé un contrat hors de ses choix déclarés, comme celui-ci"]
    assert len(words[1]) == 1 and words[1][0].startswith("a refusé ce type de contrat (")
    assert len(words[2]) == 1 and "trop loin" in words[2][0] and words[3] == []
    # a ranker without learned strengths binds nothing beyond the rule
    assert binding_beyond_rule(LambdaRankRanker(config=RankerConfig()), X, rule) == {}
