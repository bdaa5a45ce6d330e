"""Market simulator: a coherent synthetic labour market with hidden behaviour the engine must learn.

The names below load their module on first use (PEP 562): a command that reads only the settings'
market models does not import the whole simulator (SciPy, pandas).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eval.simulator.config import MarketConfig
    from eval.simulator.io import WorldFormatError, read_manifest, read_world, write_world
    from eval.simulator.market import MarketSimulator, World, simulate_market

_MODULES = {
    "MarketConfig": "eval.simulator.config",
    "WorldFormatError": "eval.simulator.io",
    "read_manifest": "eval.simulator.io",
    "read_world": "eval.simulator.io",
    "write_world": "eval.simulator.io",
    "MarketSimulator": "eval.simulator.market",
    "World": "eval.simulator.market",
    "simulate_market": "eval.simulator.market",
}

__all__ = [
    "MarketConfig",
    "MarketSimulator",
    "World",
    "WorldFormatError",
    "read_manifest",
    "read_world",
    "simulate_market",
    "write_world",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(_MODULES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
