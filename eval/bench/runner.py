"""Run the national benchmark's parts, each in a fresh process, and report them.

    matching bench --world var/national [--parts encoder,index,sourcing,incremental,alerts]

A part writes its figures (with its own peak RSS) to ``<work>/<part>.json``; the runner gathers them
into ``<work>/bench.json`` with the machine's description and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eval.bench import parts as bench_parts

PARTS = ("encoder", "index", "sourcing", "incremental", "alerts")
# What each part needs built by an earlier one.
NEEDS = {"sourcing": "index", "incremental": "index", "alerts": "index"}


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def run_part(name: str, paths: bench_parts.BenchPaths, options: dict[str, Any]) -> dict[str, Any]:
    """Run one part in this process (the child side of :func:`run_parts`)."""
    functions: dict[str, Callable[..., dict[str, Any]]] = {
        "encoder": bench_parts.encoder_part,
        "index": bench_parts.index_part,
        "sourcing": bench_parts.sourcing_part,
        "incremental": bench_parts.incremental_part,
        "alerts": bench_parts.alerts_part,
    }
    return functions[name](paths, **options)


def run_parts(
    names: Sequence[str], paths: bench_parts.BenchPaths, options: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Each part in a child process (``python -m eval.bench.runner``); returns every part's figures."""
    results: dict[str, Any] = {"machine": machine(), "world": str(paths.world)}
    for name in names:
        needed = NEEDS.get(name)
        if needed and needed not in names and not paths.profile_index.exists():
            raise ValueError(f"part {name!r} needs the indexes built by part {needed!r}: run it first")
        out = paths.work / f"{name}.json"
        out.unlink(missing_ok=True)
        command = [
            sys.executable,
            "-m",
            "eval.bench.runner",
            name,
            json.dumps(
                {
                    "world": str(paths.world),
                    "work": str(paths.work),
                    "rome_dir": str(paths.rome_dir) if paths.rome_dir else None,
                    "model_dir": str(paths.model_dir),
                }
            ),
            json.dumps(options.get(name, {}), default=str),
            str(out),
        ]
        completed = subprocess.run(command, check=False)
        if completed.returncode != 0 or not out.exists():
            raise RuntimeError(f"benchmark part {name!r} failed (exit {completed.returncode})")
        results[name] = json.loads(out.read_text())
    return results


def markdown(results: dict[str, Any]) -> str:
    """One table row per figure: part, figure, value."""
    lines = [
        f"Machine: {results['machine']['cores']} cores, Python {results['machine']['python']}.",
        "",
        "| part | figure | value |",
        "|---|---|---|",
    ]
    for name in PARTS:
        for key, value in results.get(name, {}).items():
            shown = (
                f"{value:,.1f}"
                if isinstance(value, float)
                else f"{value:,}"
                if isinstance(value, int)
                else value
            )
            lines.append(f"| {name} | {key} | {shown} |")
    return "\n".join(lines)


def _child(argv: list[str]) -> None:
    name, paths_json, options_json, out = argv
    raw = json.loads(paths_json)
    paths = bench_parts.BenchPaths(
        world=Path(raw["world"]),
        work=Path(raw["work"]),
        rome_dir=Path(raw["rome_dir"]) if raw["rome_dir"] else None,
        model_dir=Path(raw["model_dir"]),
    )
    options = json.loads(options_json)
    if "sample_world" in options:
        options["sample_world"] = Path(options["sample_world"])
    bench_parts.write_json(Path(out), run_part(name, paths, options))


if __name__ == "__main__":
    _child(sys.argv[1:])
