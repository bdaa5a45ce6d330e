"""``python -m entrypoints``: the same command line as the ``matching`` script."""

from entrypoints.cli import main

main()
