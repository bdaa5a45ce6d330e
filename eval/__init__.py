"""Offline metrics, baselines and benchmarks. Filled by the retrieval and ranking issues."""
