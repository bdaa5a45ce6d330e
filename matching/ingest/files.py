"""Reading raw offer files: a JSON array, an API page ``{"resultats": [...]}``, or JSON lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from matching.errors import IngestError


def read_offer_records(path: Path) -> list[Any]:
    """Return the raw offer records of a France Travail v2 file.

    Raises
    ------
    IngestError
        If the file is missing or is neither a JSON array, an object with ``resultats``, nor JSON lines.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"offers file not found: {path}")
    data = path.read_bytes()
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
        lines = [line for line in data.splitlines() if line.strip()]
        try:
            return [orjson.loads(line) for line in lines]
        except orjson.JSONDecodeError as error:
            raise IngestError(f"{path.name}: not JSON nor JSON lines ({error})") from None
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("resultats"), list):
        return list(document["resultats"])
    raise IngestError(f"{path.name}: expected a JSON array of offers or an object with 'resultats'")
