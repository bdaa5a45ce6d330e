"""Benchmarks, run by ``matching bench``; each module takes its parts as arguments and returns figures.

- National scale (``matching bench``): :mod:`~eval.bench.runner` runs each part in its own process so
  that its peak memory is its own, and gathers the figures into a JSON file and a Markdown table. The
  parts: :mod:`~eval.bench.encoder`, :mod:`~eval.bench.index`, :mod:`~eval.bench.sourcing`,
  :mod:`~eval.bench.incremental`, :mod:`~eval.bench.alerts`; what they share in
  :mod:`~eval.bench.national`.
- :mod:`~eval.bench.api` (``matching bench api``): latency of the serving endpoints on a small world.
- :mod:`~eval.bench.retrieval` (``matching bench retrieval``): encoder speed, candidate recall, query
  latency.
- :mod:`~eval.bench.measure`: latency percentiles, throughput, memory and tie-aware recall, measured the
  same way by all of them.
"""
