"""``python -m matching``: the same command line as the ``matching`` script."""

from matching.cli import main

main()
