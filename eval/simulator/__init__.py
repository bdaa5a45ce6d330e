"""Market simulator: a coherent synthetic labour market with hidden behaviour the engine must learn."""

from eval.simulator.config import MarketConfig
from eval.simulator.io import WorldFormatError, read_manifest, read_world, write_world
from eval.simulator.market import MarketSimulator, World, simulate_market

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
