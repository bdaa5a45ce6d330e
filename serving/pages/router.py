"""Jobseeker pages: log in with a token, read my alerts (why each was sent), answer in one click, edit
my subscription, see short trainings when skills are missing.

The token lives in an ``HttpOnly`` cookie with ``SameSite=Strict`` (no cross-site form can post with
it); every page reuses the API handlers, so the same object-level checks and logging apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from matching.domain import RefusalReason
from serving.deps import ContainerDep
from serving.routers.alerts import alert_feedback, edit_my_subscription, my_alerts, my_subscription
from serving.routers.poe import poe_suggestions
from serving.schemas import FeedbackIn, SubscriptionUpdate
from serving.security import AuthError, Principal, Role

router = APIRouter(prefix="/pages", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COOKIE = "matching_token"
HOME = {Role.JOBSEEKER: "/pages/mes-alertes", Role.COUNSELLOR: "/pages/offres", Role.ADMIN: "/pages/modele"}
REASON_LABELS = {
    RefusalReason.DISTANCE.value: "trop loin",
    RefusalReason.SALAIRE.value: "salaire trop bas",
    RefusalReason.TYPE_CONTRAT.value: "type de contrat",
    RefusalReason.HORAIRES.value: "horaires",
    RefusalReason.METIER.value: "pas ce métier",
    RefusalReason.COMPETENCES.value: "compétences manquantes",
    RefusalReason.DEJA_EN_POSTE.value: "j'ai trouvé un emploi",
    RefusalReason.AUTRE.value: "autre raison",
}
CHANGE_LABELS = {
    "radius_km": "distance maximale réduite",
    "excluded_contract_types": "type de contrat exclu",
    "salary_floor_monthly": "salaire minimum relevé",
    "min_weekly_hours": "heures minimum relevées",
    "active": "alertes arrêtées",
}
STATUSES = {"applied": "vous avez postulé", "refused": "offre écartée", "opened": "vue"}


class LoginRequired(Exception):
    """No valid token in the cookie: the page redirects to the login form."""


def _principal(request: Request, container: ContainerDep) -> Principal:
    token = request.cookies.get(COOKIE)
    if not token:
        raise LoginRequired
    try:
        principal = container.tokens.verify(token)
    except AuthError:
        raise LoginRequired from None
    if not container.limiter.allow(principal.token_id):
        raise HTTPException(429, "trop de requêtes, réessayez dans une minute")
    return principal


def _jobseeker(request: Request, container: ContainerDep) -> Principal:
    principal = _principal(request, container)
    if principal.role != Role.JOBSEEKER:
        raise HTTPException(403, "page réservée aux demandeurs d'emploi")
    return principal


def _back(path: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?message={quote(message)}", status_code=303)


@router.get("/connexion", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return templates.TemplateResponse(request, "connexion.html", {"principal": None})


@router.post("/connexion")
def login(request: Request, container: ContainerDep, jeton: Annotated[str, Form(max_length=200)]) -> Response:
    try:
        principal = container.tokens.verify(jeton.strip())
    except AuthError:
        return templates.TemplateResponse(
            request,
            "connexion.html",
            {"principal": None, "error": "Jeton invalide ou verrouillé."},
            status_code=401,
        )
    response = RedirectResponse(HOME[principal.role], status_code=303)
    response.set_cookie(COOKIE, jeton.strip(), httponly=True, samesite="strict", max_age=8 * 3600)
    return response


@router.post("/deconnexion")
def logout() -> Response:
    response = RedirectResponse("/pages/connexion", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/mes-alertes", response_class=HTMLResponse)
def alerts_page(request: Request, container: ContainerDep, message: str | None = None) -> Response:
    principal = _jobseeker(request, container)
    try:
        subscription = my_subscription(container, principal)
    except HTTPException:
        subscription = None
    context = {
        "principal": principal,
        "alerts": my_alerts(container, principal, limit=50),
        "subscription": subscription,
        "reasons": list(REASON_LABELS.items()),
        "reason_labels": REASON_LABELS,
        "statuses": STATUSES,
        "message": message,
    }
    return templates.TemplateResponse(request, "mes_alertes.html", context)


@router.post("/alertes/{alert_id}/retour")
def answer_alert(
    alert_id: int,
    request: Request,
    container: ContainerDep,
    action: Annotated[str | None, Form()] = None,
    reason: Annotated[RefusalReason | None, Form()] = None,
) -> Response:
    """One click: "Je postule", or "Non : <motif>" (the motif is the refusal reason)."""
    principal = _jobseeker(request, container)
    body = FeedbackIn(action="refused", reason=reason) if reason else FeedbackIn(action="applied")
    if action not in (None, "applied"):
        raise HTTPException(422, "action inconnue")
    out = alert_feedback(alert_id, body, container, principal)
    if out.poe_suggestions_url:
        offer = container.store.alert(alert_id)
        return RedirectResponse(
            f"/pages/formations?offer_id={quote(offer.offer_id if offer else '')}", status_code=303
        )
    if reason:
        changed = ", ".join(CHANGE_LABELS.get(k, k) for k in out.subscription_changes) or "rien à changer"
        return _back(
            "/pages/mes-alertes",
            f"Merci : offre écartée ({REASON_LABELS[reason.value]}). Abonnement mis à jour : {changed}.",
        )
    return _back("/pages/mes-alertes", "Candidature enregistrée.")


@router.post("/abonnement")
def save_subscription(
    request: Request,
    container: ContainerDep,
    radius_km: Annotated[float, Form(gt=0, le=500)],
    salary_floor_monthly: Annotated[float, Form(ge=0, le=100_000)],
    max_alerts_per_run: Annotated[int, Form(ge=1, le=100)],
) -> Response:
    principal = _jobseeker(request, container)
    update = SubscriptionUpdate(
        radius_km=radius_km,
        salary_floor_monthly=salary_floor_monthly or None,
        max_alerts_per_run=max_alerts_per_run,
    )
    edit_my_subscription(update, container, principal)
    return _back("/pages/mes-alertes", "Abonnement enregistré.")


@router.get("/formations", response_class=HTMLResponse)
def trainings_page(request: Request, container: ContainerDep, offer_id: str) -> Response:
    principal = _jobseeker(request, container)
    poe = poe_suggestions(container, principal, offer_id=offer_id, profile_id=principal.subject_id, k=5)
    return templates.TemplateResponse(request, "formations.html", {"principal": principal, "poe": poe})
