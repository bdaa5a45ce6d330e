"""Counsellor pages (offer search, ranked candidates with actions, saved viviers) and the data
scientist's model page (champion, metrics and fairness figures, kill switch, link to MLflow)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from serving.deps import ContainerDep
from serving.pages.router import _back, _principal, templates
from serving.schemas import CounsellorActionIn, VivierIn
from serving.security import Principal, Role
from serving.services.admin import model_overview, set_kill_switch
from serving.services.sourcing import (
    offer_place,
    offer_title,
    rank_candidates,
    record_candidate_action,
    search_offers,
)
from serving.services.viviers import create_vivier, refresh_vivier, viviers_of

router = APIRouter(prefix="/pages", include_in_schema=False)
DISMISS_REASONS = [
    ("competences", "compétences insuffisantes"),
    ("experience", "expérience insuffisante"),
    ("disponibilite", "pas disponible"),
    ("mobilite", "trop loin"),
    ("autre", "autre raison"),
]


def _staff(request: Request, container: ContainerDep, *roles: Role) -> Principal:
    principal = _principal(request, container)
    if principal.role not in roles:
        who = "aux administrateurs" if roles == (Role.ADMIN,) else "aux conseillers et administrateurs"
        raise HTTPException(403, f"page réservée {who}")
    return principal


@router.get("/offres", response_class=HTMLResponse)
def offers_page(request: Request, container: ContainerDep, q: str | None = None) -> Response:
    """Offer search by title words or id, newest first."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    offers = search_offers(container, q)
    return templates.TemplateResponse(
        request, "offres.html", {"principal": principal, "offers": offers, "q": q}
    )


@router.get("/offres/{offer_id}", response_class=HTMLResponse)
def offer_page(
    request: Request, container: ContainerDep, offer_id: str, message: str | None = None
) -> Response:
    """An offer's ranked candidates (the API's sourcing list, logged the same way) with their actions."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    result = rank_candidates(container, principal, offer_id, k=20)
    context = {
        "principal": principal,
        "offer": {
            "id": offer_id,
            "title": offer_title(container, offer_id),
            "place": offer_place(container, offer_id),
        },
        "result": result,
        "dismiss_reasons": DISMISS_REASONS,
        "message": message,
    }
    return templates.TemplateResponse(request, "offre.html", context)


@router.post("/offres/{offer_id}/candidats/{profile_id}")
def act_on_candidate(
    request: Request,
    container: ContainerDep,
    offer_id: str,
    profile_id: str,
    action: Annotated[str, Form()],
    reason: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Propose a candidate to the employer or dismiss them with a reason, then back to the offer."""
    _staff(request, container, Role.COUNSELLOR, Role.ADMIN)  # the caller is not logged with the event
    if action not in ("proposed", "dismissed"):
        raise HTTPException(422, "action inconnue")
    body = CounsellorActionIn(action=action, reason=reason if action == "dismissed" else None)
    record_candidate_action(container, offer_id, profile_id, body)
    done = "proposé à l'employeur" if action == "proposed" else "écarté"
    return _back(f"/pages/offres/{offer_id}", f"Candidat {profile_id} {done}.")


@router.get("/viviers", response_class=HTMLResponse)
def viviers_page(request: Request, container: ContainerDep, message: str | None = None) -> Response:
    """The counsellor's viviers and the form to create one."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    viviers = viviers_of(container, principal.subject_id)
    context = {"principal": principal, "viviers": viviers, "message": message}
    return templates.TemplateResponse(request, "viviers.html", context)


@router.post("/viviers")
def create_vivier_page(
    request: Request,
    container: ContainerDep,
    label: Annotated[str, Form(min_length=1, max_length=120)],
    rome_codes: Annotated[str, Form(min_length=1, max_length=200)],
    lat: Annotated[float, Form(ge=-90, le=90)],
    lon: Annotated[float, Form(ge=-180, le=180)],
    radius_km: Annotated[float, Form(gt=0, le=200)] = 20,
    available_within_days: Annotated[int, Form(ge=0, le=365)] = 30,
) -> Response:
    """Create a vivier from the form (ROME codes separated by commas) and fill it now."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    codes = [c.strip().upper() for c in rome_codes.split(",") if c.strip()]
    spec = VivierIn(
        label=label,
        rome_codes=codes,
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        available_within_days=available_within_days,
    )
    vivier = create_vivier(container, principal.subject_id, spec)
    return _back("/pages/viviers", f"Vivier « {vivier.label} » créé : {len(vivier.profile_ids)} personnes.")


@router.post("/viviers/{vivier_id}/actualiser")
def refresh_vivier_page(request: Request, container: ContainerDep, vivier_id: int) -> Response:
    """Recompute who is in one of the counsellor's viviers."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    vivier = refresh_vivier(container, principal.subject_id, vivier_id)
    return _back(
        "/pages/viviers", f"Vivier « {vivier.label} » actualisé : {len(vivier.profile_ids)} personnes."
    )


@router.get("/modele", response_class=HTMLResponse)
def model_page(request: Request, container: ContainerDep, message: str | None = None) -> Response:
    """The data scientist's page: model and index served, the champion's metrics, the kill switch."""
    principal = _staff(request, container, Role.ADMIN)
    context = {"principal": principal, **asdict(model_overview(container)), "message": message}
    return templates.TemplateResponse(request, "modele.html", context)


@router.post("/modele/kill-switch")
def toggle_kill_switch(
    request: Request, container: ContainerDep, enabled: Annotated[bool, Form()]
) -> Response:
    """Switch ML ranking off (rule-based ranking everywhere) or back on."""
    principal = _staff(request, container, Role.ADMIN)
    set_kill_switch(container, enabled, by=principal.subject_id)
    return _back("/pages/modele", "Classement ML désactivé." if enabled else "Classement ML réactivé.")
