"""Market simulator: a coherent synthetic labour market with hidden behaviour the engine must learn."""

from matching.simulator.config import MarketConfig
from matching.simulator.io import WorldFormatError, read_manifest, read_world, write_world
from matching.simulator.market import MarketSimulator, World, simulate_market

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
