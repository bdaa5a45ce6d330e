"""The ``matching`` command line, one module per command group.

Every user error (:class:`~matching.errors.MatchingError`) ends as a one-line red message and exit
code 2, never a stack trace. Heavy libraries are imported inside the commands.
"""

from entrypoints.cli import (  # noqa: F401  (registration)
    audit,
    bench,
    daily,
    data,
    delivery,
    formacode,
    index,
    ranking,
    referential,
    serving,
    skills,
)
from entrypoints.cli.common import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry point
    """Run the ``matching`` command line (``python -m entrypoints`` too)."""
    app()
