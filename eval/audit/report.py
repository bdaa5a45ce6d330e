"""The audit report: ``report.md`` with its plots (``parity.png``, ``twins.png``) and ``audit.json``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
import orjson

from eval.audit.runner import TWIN_TOLERANCE, AuditResult
from matching.artifacts import atomic_folder

RANKER_LABELS = {
    "model": "model audited",
    "biased": "deliberately biased ranker",
    "label-biased": "retrained on biased labels",
}


def _parity_plot(result: AuditResult, path: Path) -> None:
    keys = [r.key for r in result.parity["model"]]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(keys) + 1.5))
    height = 0.8 / len(result.parity)
    y = np.arange(len(keys))
    for i, (name, ratios) in enumerate(result.parity.items()):
        values = [r.ratio for r in ratios]
        low = [r.ratio - r.low for r in ratios]
        high = [r.high - r.ratio for r in ratios]
        ax.barh(
            y + i * height,
            values,
            height,
            xerr=np.clip([low, high], 0, None),
            label=RANKER_LABELS.get(name, name),
            capsize=2,
        )
    ax.axvline(result.config.floor, color="black", linestyle="--", linewidth=1, label="floor")
    ax.set_yticks(y + height * (len(result.parity) - 1) / 2, keys)
    ax.invert_yaxis()
    ax.set_xlim(0.5, 1.02)
    ax.set_xlabel("parity ratio: smallest group mean / largest (1 = parity), 95 % bootstrap interval")
    ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.09), ncol=4, fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _twins_plot(result: AuditResult, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 3), sharey=True)
    for ax, (side, shift) in zip(
        axes, (("alerts", result.twins.alerts_shift), ("sourcing", result.twins.sourcing_shift)), strict=True
    ):
        counts = np.bincount(shift.to_numpy(int).clip(0, 5), minlength=6) / max(len(shift), 1)
        ax.bar([str(i) for i in range(5)] + ["5+"], counts)
        ax.set_title(f"{side}: {len(shift):,} pairs")
        ax.set_xlabel("places moved by the twin")
    axes[0].set_ylabel("share of pairs")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(result: AuditResult, command: str) -> str:
    out = result.as_json()
    lines = [
        "# Trust audit",
        "",
        f"Command: `{command}`",
        "",
        f"Model audited: {out['protocol'].get('model', 'unnamed')}.",
        "",
        "Simulated market with audit-only attributes drawn independently of everything else (no true "
        f"group effect). Cut-off {out['protocol']['cutoff']}; {out['protocol']['people']:,} people "
        f"({out['protocol']['alert_pairs']:,} alert candidates), {out['protocol']['offers_sourced']:,} offers "
        f"sourced ({out['protocol']['sourcing_pairs']:,} candidates); encoder {out['protocol']['encoder']}.",
        "",
        "## Verdict",
        "",
        "| check | holds |",
        "|---|---|",
        *(f"| {name} | {'yes' if ok else '**NO**'} |" for name, ok in out["checks"].items()),
        "",
        "## Parity by group (exposure, equal opportunity@20)",
        "",
        f"Ratio = smallest group mean over largest; the monitor alarms under {result.config.floor}.",
        "",
        "| metric / attribute | " + " | ".join(RANKER_LABELS.get(n, n) for n in out["parity"]) + " |",
        "|---|" + "---|" * len(out["parity"]),
    ]
    for key in out["parity"]["model"]:
        cells = []
        for values in out["parity"].values():
            v = values[key]
            low, high = v["ci95"]
            cells.append(f"{v['ratio']} [{low}, {high}]")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines += ["", "![parity](parity.png)", "", "### Monitor alarms", ""]
    for name, alarms in out["alarms"].items():
        lines.append(f"- {RANKER_LABELS.get(name, name)}: " + ("; ".join(alarms) if alarms else "none"))
    bias = out["label_bias"]
    config = result.config
    lines += [
        "",
        "## Bias injected into historical labels",
        "",
        f"{config.label_drop:.0%} of the positive outcomes (applications, acceptances, hires) of "
        f"{config.bias_attribute} = {config.bias_group} were removed from the history before the cut-off, "
        "and the ranker retrained on it.",
        "",
        "| | parity on " + config.bias_attribute + " |",
        "|---|---|",
        f"| positive labels, true history | {bias['labels_parity_true']} |",
        f"| positive labels, biased history | {bias['labels_parity_biased']} |",
        f"| ranking of the model audited (worst metric) | {bias['model_parity']} |",
        f"| ranking after retraining on biased labels (worst metric) | {bias['retrained_parity']} |",
        f"| amplification (ranking gap / label gap; > 1 = amplified) | {bias['amplification']} |",
        "",
        "## Counterfactual twins",
        "",
        "Each person declared twice through the real intake: once as M. Julien Martin, graduated 2008, "
        "masculine job title, ordinary address; once as Mme Aïcha Benali, graduated 2019, feminine job "
        "title, an address in a quartier prioritaire. Everything else equal.",
        "",
        "| side | pairs | moved ≤ 1 place | unchanged |",
        "|---|---|---|---|",
    ]
    twins = out["twins"]
    for side in ("alerts", "sourcing"):
        lines.append(
            f"| {side} | {twins[f'pairs_{side}']:,} | {twins['within_1_place'][side]:.4f} | "
            f"{twins['unchanged'][side]:.4f} |"
        )
    lines += [
        "",
        f"Goal: ≥ {TWIN_TOLERANCE:.0%} within one place. The intake made the same profile for "
        f"{twins['identical_profiles']:.1%} of the pairs.",
        "",
        "![twins](twins.png)",
        "",
    ]
    return "\n".join(lines)


def write_report(result: AuditResult, folder: Path, command: str) -> Path:
    """Write ``report.md``, ``parity.png``, ``twins.png`` and ``audit.json`` into ``folder`` (atomically)."""
    with atomic_folder(folder) as staging:
        _parity_plot(result, staging / "parity.png")
        _twins_plot(result, staging / "twins.png")
        (staging / "audit.json").write_bytes(orjson.dumps(result.as_json(), option=orjson.OPT_INDENT_2))
        (staging / "report.md").write_text(_markdown(result, command))
    return folder / "report.md"
