"""Jobseeker pages: log in with a token, read my alerts (why each was sent), answer in one click, edit
my subscription, see short trainings when skills are missing.

The token lives in an ``HttpOnly`` cookie with ``SameSite=Strict`` (no cross-site form can post with
it); every page calls the same use cases as the API (:mod:`serving.services`), so the same object-level
checks and logging apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from matching.domain import RefusalReason, contract_label
from serving.deps import ContainerDep
from serving.schemas import FeedbackIn, SubscriptionUpdate
from serving.security import AuthError, Principal, Role
from serving.services.alerts import alerts_of, record_feedback
from serving.services.errors import NotFound
from serving.services.poe import poe_suggestions
from serving.services.subscriptions import edit_subscription, subscription_of

router = APIRouter(prefix="/pages", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["contrat"] = contract_label  # "DDT" is shown as "CDD Tremplin"
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
    """The login form: paste the token received from one's counsellor."""
    return templates.TemplateResponse(request, "connexion.html", {"principal": None})


@router.post("/connexion")
def login(request: Request, container: ContainerDep, jeton: Annotated[str, Form(max_length=200)]) -> Response:
    """Check the token, keep it in the cookie and go to the role's home page; 401 with the form again."""
    try:
        principal = container.tokens.verify(jeton.strip())
    except AuthError:
        return templates.TemplateResponse(
            request,
            "connexion.html",
            {"principal": None, "error": "Jeton invalide ou verrouillé."},
            status_code=401,
        )
    if principal.role not in HOME:  # a partner publishes offers through the API: no pages
        return templates.TemplateResponse(
            request,
            "connexion.html",
            {"principal": None, "error": "Ce jeton sert à l'API seulement : aucune page pour ce rôle."},
            status_code=403,
        )
    response = RedirectResponse(HOME[principal.role], status_code=303)
    response.set_cookie(COOKIE, jeton.strip(), httponly=True, samesite="strict", max_age=8 * 3600)
    return response


@router.post("/deconnexion")
def logout() -> Response:
    """Forget the token cookie."""
    response = RedirectResponse("/pages/connexion", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/mes-alertes", response_class=HTMLResponse)
def alerts_page(request: Request, container: ContainerDep, message: str | None = None) -> Response:
    """My alerts with why each was sent, one-click answers, and my subscription's settings."""
    principal = _jobseeker(request, container)
    try:
        subscription = subscription_of(container, principal.subject_id)
    except NotFound:  # no job project known yet: the page shows the alerts without the settings form
        subscription = None
    context = {
        "principal": principal,
        "alerts": alerts_of(container, principal, principal.subject_id, limit=50),
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
    feedback = record_feedback(container, principal, alert_id, body)
    if feedback.poe_suggestions_url:
        return RedirectResponse(f"/pages/formations?offer_id={quote(feedback.offer_id)}", status_code=303)
    if reason:
        changed = (
            ", ".join(CHANGE_LABELS.get(k, k) for k in feedback.subscription_changes) or "rien à changer"
        )
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
    """Save the settings form (radius, salary floor: 0 for none, alerts per run)."""
    principal = _jobseeker(request, container)
    update = SubscriptionUpdate(
        radius_km=radius_km,
        salary_floor_monthly=salary_floor_monthly or None,
        max_alerts_per_run=max_alerts_per_run,
    )
    edit_subscription(container, principal.subject_id, update)
    return _back("/pages/mes-alertes", "Abonnement enregistré.")


@router.get("/formations", response_class=HTMLResponse)
def trainings_page(request: Request, container: ContainerDep, offer_id: str) -> Response:
    """Short trainings that close my missing skills for an offer (logged like the API's suggestions)."""
    principal = _jobseeker(request, container)
    poe = poe_suggestions(container, principal, offer_id, principal.subject_id, k=5)
    return templates.TemplateResponse(request, "formations.html", {"principal": principal, "poe": poe})
