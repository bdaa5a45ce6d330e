"""The small built-in referential (hand-written, a few dozen fiches) used by the quickstart and fast tests.

Same :class:`~matching.referential.model.Referential` interface as the official export; codes of
appellations and skills live in the 9xxxxx range so they never collide with real OGR codes.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from matching.referential.model import Appellation, Fiche, FicheSkills, Referential, Skill, SkillKind

BUILTIN_RESOURCE = "rome_builtin.json"


def load_builtin() -> Referential:
    """Load the built-in referential shipped with the package."""
    text = resources.files("matching.referential").joinpath("builtin", BUILTIN_RESOURCE).read_text("utf-8")
    return referential_from_dict(json.loads(text))


def referential_from_dict(data: dict[str, Any]) -> Referential:
    """Build a referential from the built-in JSON layout (see ``builtin/rome_builtin.json``)."""
    fiches: dict[str, Fiche] = {}
    appellations: dict[str, Appellation] = {}
    fiche_skills: dict[str, FicheSkills] = {}
    for f in data["fiches"]:
        code = f["code"]
        fiches[code] = Fiche(
            code, f["label"], f["parent"], f["domain"], f["domain"][0], f.get("definition", "")
        )
        for app_code, label, principal in f["appellations"]:
            appellations[app_code] = Appellation(app_code, label, label, code, principal)
        fiche_skills[code] = FicheSkills(core=tuple(f["core_skills"]), other=tuple(f["other_skills"]))
    mobility: dict[str, list[tuple[str, int]]] = {}
    for source, target, rank in data["mobility"]:
        mobility.setdefault(source, []).append((target, int(rank)))
    return Referential(
        version=data["version"],
        fiches=fiches,
        appellations=appellations,
        skills={s["code"]: Skill(s["code"], s["label"], SkillKind(s["kind"])) for s in data["skills"]},
        fiche_skills=fiche_skills,
        mobility={code: tuple(sorted(links, key=lambda link: link[1])) for code, links in mobility.items()},
        domains=data["domains"],
        grand_domains=data["grand_domains"],
    )
