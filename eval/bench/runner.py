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

from eval.bench.alerts import alerts_part
from eval.bench.encoder import encoder_part
from eval.bench.incremental import incremental_part
from eval.bench.index import index_part
from eval.bench.national import BenchPaths
from eval.bench.sourcing import sourcing_part

PARTS = ("encoder", "index", "sourcing", "incremental", "alerts")
# What each part needs built by an earlier one.
NEEDS = {"sourcing": "index", "incremental": "index", "alerts": "index"}


def machine() -> dict[str, Any]:
    """The machine the figures were measured on: core count, processor, Python version, system."""
    return {
        "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def run_part(name: str, paths: BenchPaths, options: dict[str, Any]) -> dict[str, Any]:
    """Run one part in this process (the child side of :func:`run_parts`).

    Parameters
    ----------
    name
        One of :data:`PARTS`.
    paths
        The world read and the work folder shared by the parts.
    options
        Keyword arguments of the part's function (e.g. ``queries`` for ``sourcing``).

    Returns
    -------
    dict[str, Any]
        The part's flat figures (durations in seconds or milliseconds, memory in MiB, as the key says).
    """
    functions: dict[str, Callable[..., dict[str, Any]]] = {
        "encoder": encoder_part,
        "index": index_part,
        "sourcing": sourcing_part,
        "incremental": incremental_part,
        "alerts": alerts_part,
    }
    return functions[name](paths, **options)


def run_parts(names: Sequence[str], paths: BenchPaths, options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each part in a child process (``python -m eval.bench.runner``), so that its peak RSS is its own.

    Parameters
    ----------
    names
        Parts to run, in order (a part that reads the saved indexes needs ``index`` run first, now or
        earlier into the same work folder).
    paths
        The world read and the work folder shared by the parts.
    options
        Keyword arguments of each part's function, by part name.

    Returns
    -------
    dict[str, Any]
        ``machine`` (see :func:`machine`), ``world`` and each part's figures under its name.

    Raises
    ------
    ValueError
        A part needs indexes that no earlier part built.
    RuntimeError
        A child process failed or wrote no figures.
    """
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
    """The results of :func:`run_parts` as a Markdown table, one row per figure: part, figure, value."""
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
    paths = BenchPaths(
        world=Path(raw["world"]),
        work=Path(raw["work"]),
        rome_dir=Path(raw["rome_dir"]) if raw["rome_dir"] else None,
        model_dir=Path(raw["model_dir"]),
    )
    options = json.loads(options_json)
    if "sample_world" in options:
        options["sample_world"] = Path(options["sample_world"])
    _write_json(Path(out), run_part(name, paths, options))


def _write_json(path: Path, figures: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    _child(sys.argv[1:])
