"""Counsellor pages (offer search, ranked candidates with actions, saved viviers) and the data
scientist's model page (champion, metrics and fairness figures, kill switch, link to MLflow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from serving.container import ServiceUnavailable
from serving.deps import ContainerDep
from serving.pages.router import _back, _principal, templates
from serving.routers.admin import set_kill_switch
from serving.routers.sourcing import candidate_action, candidates
from serving.routers.viviers import create_vivier, my_viviers, refresh_vivier
from serving.schemas import CounsellorActionIn, KillSwitchIn, VivierIn
from serving.security import Principal, Role
from serving.storage.tables import OfferRow

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
        raise HTTPException(403, "page réservée aux conseillers et administrateurs")
    return principal


@router.get("/offres", response_class=HTMLResponse)
def offers_page(request: Request, container: ContainerDep, q: str | None = None) -> Response:
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    query = select(OfferRow.id, OfferRow.title, OfferRow.rome_code, OfferRow.contract_type).order_by(
        OfferRow.created_at.desc()
    )
    if q:
        pattern = f"%{q.strip()[:100]}%"
        query = query.where(or_(OfferRow.title.ilike(pattern), OfferRow.id == q.strip()))
    with Session(container.engine) as session:
        offers = session.execute(query.limit(30)).all()
    return templates.TemplateResponse(
        request, "offres.html", {"principal": principal, "offers": offers, "q": q}
    )


@router.get("/offres/{offer_id}", response_class=HTMLResponse)
def offer_page(
    request: Request, container: ContainerDep, offer_id: str, message: str | None = None
) -> Response:
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    result = candidates(offer_id, container, principal, k=20)
    offers = container.tables().offers
    offer = offers.loc[offer_id] if offer_id in offers.index else None
    context = {
        "principal": principal,
        "offer": {"id": offer_id, "title": offer["title"] if offer is not None else offer_id},
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
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    if action not in ("proposed", "dismissed"):
        raise HTTPException(422, "action inconnue")
    body = CounsellorActionIn(action=action, reason=reason if action == "dismissed" else None)
    candidate_action(offer_id, profile_id, body, container, principal)
    done = "proposé à l'employeur" if action == "proposed" else "écarté"
    return _back(f"/pages/offres/{offer_id}", f"Candidat {profile_id} {done}.")


@router.get("/viviers", response_class=HTMLResponse)
def viviers_page(request: Request, container: ContainerDep, message: str | None = None) -> Response:
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    context = {"principal": principal, "viviers": my_viviers(container, principal), "message": message}
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
    vivier = create_vivier(spec, container, principal)
    return _back("/pages/viviers", f"Vivier « {vivier.label} » créé : {len(vivier.profile_ids)} personnes.")


@router.post("/viviers/{vivier_id}/actualiser")
def refresh_vivier_page(request: Request, container: ContainerDep, vivier_id: int) -> Response:
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    vivier = refresh_vivier(vivier_id, container, principal)
    return _back(
        "/pages/viviers", f"Vivier « {vivier.label} » actualisé : {len(vivier.profile_ids)} personnes."
    )


@router.get("/modele", response_class=HTMLResponse)
def model_page(request: Request, container: ContainerDep, message: str | None = None) -> Response:
    from models.registry import ModelRegistry

    principal = _staff(request, container, Role.ADMIN)
    kill_switch = container.store.kill_switch()
    try:
        service = container.service()
        model_version, index_version = service.served_model(kill_switch), service.index_version
    except ServiceUnavailable as error:
        model_version, index_version = f"indisponible ({error})", "indisponible"
    metrics: list[tuple[str, float]] = []
    problem = ""
    uri = container.tracking_uri or ""
    try:
        if not uri:
            raise LookupError("registre non configuré")
        registry = ModelRegistry(uri, model_name=container.model_name)
        version = registry.champion_version()
        if version is None:
            problem = "pas de champion enregistré"
        else:
            run_id = registry.client.get_model_version(registry.model_name, version).run_id or ""
            run_metrics = registry.client.get_run(run_id).data.metrics
            metrics = sorted(
                (k.removeprefix("ltr."), v) for k, v in run_metrics.items() if k.startswith("ltr.")
            )
    except LookupError as error:
        problem = str(error)
    except Exception as error:  # the page must show even when MLflow is unreachable
        problem = f"MLflow injoignable : {type(error).__name__}"
    context = {
        "principal": principal,
        "model_version": model_version,
        "index_version": index_version,
        "kill_switch": kill_switch,
        "tracking_uri": uri,
        "mlflow_url": uri if uri.startswith("http") else None,
        "metrics": metrics,
        "metrics_problem": problem,
        "message": message,
    }
    return templates.TemplateResponse(request, "modele.html", context)


@router.post("/modele/kill-switch")
def toggle_kill_switch(
    request: Request, container: ContainerDep, enabled: Annotated[bool, Form()]
) -> Response:
    principal = _staff(request, container, Role.ADMIN)
    set_kill_switch(KillSwitchIn(enabled=enabled), container, principal)
    return _back("/pages/modele", "Classement ML désactivé." if enabled else "Classement ML réactivé.")
