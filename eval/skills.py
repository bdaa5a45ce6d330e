"""Evaluation of skill extraction (offer text → ROME competences) on real offers that list theirs.

Each offer's listed competences (``competences[].code`` of the France Travail v2 JSON, those the
referential knows) are held out and extracted from its title, description and ROME code by an extractor
that never learned from that offer, on three splits:

* ``held-out lists``: folds of offers grouped by their exact list of competences (offers of one
  recruiter's template, or of one appellation's default list, fall in the same fold: 680 real offers
  list only 203 distinct sets);
* ``held-out codes``: folds of whole ROME codes (the code's offers never counted);
* ``held-out domains``: folds of whole professional domains (the code's first three characters).

Beside it, two baselines that learn nothing: the fiche's linked skills, core first, in the export's
order (what the engine assumed before), and label matching (labels ranked by the share of their
French stems the title, then the description, contains). Figures: precision@5, recall@10, MAP (over the first 50), F1 of
precision@5 and recall@10, mean over offers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matching.referential import Referential
from matching.skills import OffersWithSkills, SkillExtractor, SkillLexicon, SkillQuery

SPLITS = ("held-out lists", "held-out codes", "held-out domains")
PRECISION_K = 5
RECALL_K = 10
MAP_DEPTH = 50
#: Outer folds of each split.
OUTER_FOLDS = 5


def retrieval_metrics(rankings: Sequence[Sequence[str]], truths: Sequence[Iterable[str]]) -> dict[str, float]:
    """Precision@5, recall@10, MAP@50 and the F1 of the first two, means over rows.

    Parameters
    ----------
    rankings
        Ranked codes per row, best first.
    truths
        The relevant codes per row (not empty).
    """
    p, r, ap = [], [], []
    for ranked, truth_codes in zip(rankings, truths, strict=True):
        truth = set(truth_codes)
        hits = [code in truth for code in list(ranked)[:MAP_DEPTH]]
        p.append(sum(hits[:PRECISION_K]) / PRECISION_K)
        r.append(sum(hits[:RECALL_K]) / len(truth))
        found, total = 0, 0.0
        for rank, hit in enumerate(hits, start=1):
            if hit:
                found += 1
                total += found / rank
        ap.append(total / len(truth))
    precision, recall = float(np.mean(p)), float(np.mean(r))
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        f"precision@{PRECISION_K}": precision,
        f"recall@{RECALL_K}": recall,
        f"map@{MAP_DEPTH}": float(np.mean(ap)),
        "f1": f1,
    }


def fiche_skills_ranking(referential: Referential, rome_code: str) -> list[str]:
    """The fiche-core baseline: the fiche's linked skills, core first, in the export's order."""
    if rome_code not in referential.fiche_skills:
        return []
    return list(referential.skills_of(rome_code).all)


def label_match_rankings(
    lexicon: SkillLexicon, queries: Sequence[SkillQuery], depth: int = MAP_DEPTH
) -> list[list[str]]:
    """The label-matching baseline: skills ranked by the IDF share of their label's stems the title
    contains, ties broken by the description's share. Of the simple variants tried (the text's share,
    whole labels found, the most specific first), the best on the real offers."""
    in_title = lexicon.coverage([q.title for q in queries]).toarray()
    in_text = lexicon.coverage([f"{q.title} {q.description}" for q in queries]).toarray()
    out = []
    for title, text in zip(in_title, in_text, strict=True):
        score = title + 1e-3 * text
        top = np.argsort(-score, kind="stable")[:depth]
        out.append([lexicon.codes[j] for j in top if score[j] > 0])
    return out


def _groups(data: OffersWithSkills, split: str) -> list[object]:
    if split == "held-out lists":
        return [frozenset(s) for s in data.listed]
    if split == "held-out codes":
        return [q.rome_code for q in data.queries]
    return [q.rome_code[:3] for q in data.queries]


def outer_folds(groups: Sequence[object], n_folds: int, random_state: int) -> np.ndarray:
    """Fold of each row, whole groups per fold, groups dealt at random (``random_state``)."""
    index: dict[object, int] = {}
    group = np.array([index.setdefault(g, len(index)) for g in groups], dtype=np.int64)
    fold_of = np.empty(len(index), dtype=np.int64)
    fold_of[np.random.default_rng(random_state).permutation(len(index))] = np.arange(len(index)) % n_folds
    return fold_of[group]


@dataclass
class SkillsReport:
    """What :func:`evaluate_extraction` measured; ``splits`` maps a split to the extractor's figures
    and the baselines' on the same offers."""

    offers: int
    offers_without_skills: int
    distinct_lists: int
    codes: int
    ceiling_precision: float
    splits: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    misses: list[tuple[str, str, int, int]] = field(default_factory=list)
    inferred_per_offer: float = 0.0
    inferred_precision: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "offers_without_skills": self.offers_without_skills,
            "distinct_lists": self.distinct_lists,
            "rome_codes": self.codes,
            "precision@5_ceiling": self.ceiling_precision,
            "splits": self.splits,
            "inferred_per_offer": self.inferred_per_offer,
            "inferred_precision": self.inferred_precision,
            "misses": [
                {"code": code, "label": label, "missed": missed, "listed": listed}
                for code, label, missed, listed in self.misses
            ],
        }


def evaluate_extraction(
    data: OffersWithSkills,
    referential: Referential,
    make_extractor: Callable[[], SkillExtractor],
    *,
    splits: Sequence[str] = SPLITS,
    random_state: int = 0,
    progress: Callable[[str], None] | None = None,
) -> SkillsReport:
    """Extract each offer's skills with an extractor fitted on the other folds, for each split.

    Returns
    -------
    SkillsReport
        Figures per split (``extractor``, ``fiche core skills``, ``label matching``), the 20 codes the
        extractor most often left out of its first 10 on ``held-out lists``, and how many skills the
        ingest would store as inferred per offer there (:meth:`SkillExtractor.infer`) and the share of
        them the offer listed.
    """
    lexicon = SkillLexicon(referential)
    baselines = {
        "fiche core skills": [fiche_skills_ranking(referential, q.rome_code) for q in data.queries],
        "label matching": label_match_rankings(lexicon, data.queries),
    }
    report = SkillsReport(
        offers=len(data),
        offers_without_skills=data.without,
        distinct_lists=len(set(map(frozenset, data.listed))),
        codes=len({q.rome_code for q in data.queries}),
        ceiling_precision=float(np.mean([min(len(s), PRECISION_K) / PRECISION_K for s in data.listed])),
    )
    for split in splits:
        fold = outer_folds(_groups(data, split), OUTER_FOLDS, random_state)
        rankings: list[list[str]] = [[] for _ in data.ids]
        inferred: list[tuple[str, ...]] = [() for _ in data.ids]
        for k in range(OUTER_FOLDS):
            train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            if not len(test):
                continue
            if progress:
                progress(
                    f"{split}: fold {k + 1}/{OUTER_FOLDS} ({len(train)} offers learned from, {len(test)} held out)"
                )
            extractor = make_extractor().fit(
                [data.queries[i] for i in train], [data.listed[i] for i in train]
            )
            held = [data.queries[i] for i in test]
            for row, (ranked, _) in zip(test.tolist(), extractor.extract_batch(held, MAP_DEPTH), strict=True):
                rankings[row] = ranked
            if split == SPLITS[0]:
                for row, (kept, _) in zip(test.tolist(), extractor.infer(held), strict=True):
                    inferred[row] = kept
        figures = {"extractor": retrieval_metrics(rankings, data.listed)}
        figures |= {name: retrieval_metrics(ranked, data.listed) for name, ranked in baselines.items()}
        report.splits[split] = figures
        if split == SPLITS[0]:
            missed: Counter[str] = Counter()
            listed: Counter[str] = Counter()
            for ranked, truth in zip(rankings, data.listed, strict=True):
                top = set(ranked[:RECALL_K])
                listed.update(truth)
                missed.update(code for code in truth if code not in top)
            report.misses = [
                (code, referential.skills[code].label, n, listed[code]) for code, n in missed.most_common(20)
            ]
            stored = sum(len(codes) for codes in inferred)
            right = sum(
                len(set(codes) & set(truth)) for codes, truth in zip(inferred, data.listed, strict=True)
            )
            report.inferred_per_offer = stored / max(len(data), 1)
            report.inferred_precision = right / max(stored, 1)
    return report


def extraction_speed(extractor: SkillExtractor, queries: Sequence[SkillQuery], *, batch: int = 512) -> float:
    """Offers per second :meth:`SkillExtractor.infer` extracts, batches of ``batch`` (the ingest's way)."""
    start = time.perf_counter()
    for begin in range(0, len(queries), batch):
        extractor.infer(queries[begin : begin + batch])
    return len(queries) / max(time.perf_counter() - start, 1e-9)
