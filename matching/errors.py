"""Errors that the engine raises on bad input.

Every error a user can cause derives from :class:`MatchingError`; the CLI and the API turn it into a
clear message (never a stack trace).
"""

from __future__ import annotations


class MatchingError(Exception):
    """Base class for errors caused by input or configuration, shown to users as a one-line message."""


class ReferentialError(MatchingError):
    """The ROME referential could not be loaded (missing file, wrong columns, inconsistent links)."""


class UnknownCodeError(MatchingError, KeyError):
    """A code (ROME fiche, appellation, skill, commune) is not in the loaded referential."""

    def __init__(self, kind: str, code: str, suggestions: list[str] | None = None) -> None:
        self.kind = kind
        self.code = code
        self.suggestions = suggestions or []
        hint = f" Did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown {kind} code {code!r}.{hint}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class GeoError(MatchingError):
    """The commune base could not be loaded."""


class IngestError(MatchingError):
    """An input file for ingest cannot be read at all (not JSON, not a list of offers...)."""


class StorageError(MatchingError):
    """The database is unreachable or not at the expected schema revision."""
