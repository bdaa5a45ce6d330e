"""National-scale benchmarks (``matching bench``): each part runs in its own process so that its peak
memory is its own; results go to a JSON file and a Markdown table."""
