"""Jobseeker pages: log in with a token, read my alerts (why each was sent), answer in one click, edit
my subscription, see short trainings when skills are missing.

The token lives in an ``HttpOnly`` cookie with ``SameSite=Strict`` (no cross-site form can post with
it); every page calls the same use cases as the API (:mod:`serving.services`), so the same object-level
checks and logging apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from matching.domain import ContractType, RefusalReason, contract_label
from serving.deps import ContainerDep
from serving.explain import occupation_label
from serving.schemas import FeedbackIn, SubscriptionUpdate
from serving.security import AuthError, Principal, Role
from serving.services.alerts import alert_of, alerts_of, record_feedback, trusted_apply_url, undo_answer
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
    "excluded_occupations": "métier exclu",
    "salary_floor_monthly": "salaire minimum relevé",
    "min_weekly_hours": "heures minimum relevées",
    "active": "alertes arrêtées",
}
# answers that change every later alert, not this one: asked for confirmation first, with the choice of
# setting this offer aside only
SWEEPING = {RefusalReason.TYPE_CONTRAT, RefusalReason.DEJA_EN_POSTE}
RESTORED_LABELS = {
    "radius_km": "distance maximale rétablie",
    "excluded_contract_types": "type de contrat de nouveau accepté",
    "excluded_occupations": "métier de nouveau accepté",
    "salary_floor_monthly": "salaire minimum rétabli",
    "min_weekly_hours": "heures minimum rétablies",
    "active": "alertes reprises",
}
STATUSES = {"applied": "vous avez postulé", "refused": "offre écartée", "opened": "vue"}


#: What a page says when a request cannot be served, by HTTP status (the API says it in its JSON).
ERROR_SENTENCES = {
    403: "Vous n'avez pas accès à cette page ou à cet élément.",
    404: "Cette page ou cet élément n'existe pas, ou plus.",
    422: "Un champ du formulaire est vide ou mal rempli : revenez en arrière, corrigez-le et renvoyez le formulaire.",
    429: "Trop de requêtes : réessayez dans une minute.",
    503: "Le service est momentanément indisponible : réessayez dans quelques minutes.",
}


def is_page(request: Request) -> bool:
    """Whether a request is for the pages (answered in French HTML) rather than the API (JSON)."""
    return request.url.path.startswith(router.prefix + "/")


def error_page(request: Request, status_code: int, sentence: str | None = None) -> Response:
    """A French page saying why a request failed, with the status kept and a way back."""
    text = sentence if sentence and not sentence.isascii() else None  # an English detail is not shown
    message = text or ERROR_SENTENCES.get(status_code, "La demande n'a pas pu aboutir.")
    return templates.TemplateResponse(
        request, "erreur.html", {"principal": None, "error": message}, status_code=status_code
    )


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
        raise HTTPException(403, "Page réservée aux demandeurs d'emploi")
    return principal


#: The confirmation shown once on the page a form action leads back to. A cookie set by our own
#: answer, not a ``?message=`` in the address: a link from anywhere could otherwise show any text as
#: the service's own notice ("Votre compte est suspendu : appelez le…").
FLASH_COOKIE = "flash"


def _change_words(changes: Mapping[str, object]) -> list[str]:
    """What a refusal changed in the subscription, with the new values ("salaire minimum relevé à
    2 590 € par mois"); ``changes`` maps each changed setting to its new value."""

    def value(key: str, new: object) -> str:
        if key == "radius_km" and isinstance(new, int | float):
            return f" à {new:.0f} km"
        if key == "salary_floor_monthly" and isinstance(new, int | float):
            return f" à {new:,.0f} € par mois".replace(",", "\u202f")
        if key == "min_weekly_hours" and isinstance(new, int | float):
            return f" à {new:.0f} h par semaine"
        if key == "excluded_contract_types" and isinstance(new, list | tuple) and new:
            return " (" + ", ".join(contract_label(str(c)) or str(c) for c in new) + ")"
        return ""

    return [CHANGE_LABELS.get(k, k) + value(k, v) for k, v in changes.items()]


def _back(path: str, message: str) -> RedirectResponse:
    """Redirect to ``path`` (303) carrying ``message`` for one display (see :func:`_flashed`)."""
    response = RedirectResponse(path, status_code=303)
    response.set_cookie(
        FLASH_COOKIE, quote(message), max_age=60, path="/pages", httponly=True, samesite="strict"
    )
    return response


def _flashed(request: Request, render: Callable[[str | None], Response]) -> Response:
    """The page ``render`` builds with the pending confirmation, which is then spent."""
    value = request.cookies.get(FLASH_COOKIE)
    response = render(unquote(value) if value else None)
    if value:
        response.delete_cookie(FLASH_COOKIE, path="/pages", httponly=True, samesite="strict")
    return response


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


def _alerts_page(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    *,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """My alerts and my subscription's settings; with ``errors``, the form as typed and a French
    sentence next to each wrong field (422)."""
    try:
        subscription = subscription_of(container, principal.subject_id)
    except NotFound:  # no job project known yet: the page shows the alerts without the settings form
        subscription = None
    exclusions = []
    if subscription is not None:
        exclusions = [
            ("contrat", c, contract_label(c) or c) for c in subscription.excluded_contract_types
        ] + [
            ("metier", c, occupation_label(container.referential, c))
            for c in subscription.excluded_occupations
        ]
    context = {
        "principal": principal,
        "alerts": alerts_of(container, principal, principal.subject_id, limit=50),
        "subscription": subscription,
        "exclusions": exclusions,
        # the contracts still wanted: an excluded one is listed under the exclusions, not here too
        "wanted_contracts": [
            contract_label(c)
            for c in subscription.contract_types
            if c not in subscription.excluded_contract_types
        ]
        if subscription
        else [],
        "project": [occupation_label(container.referential, c) for c in subscription.rome_codes]
        if subscription
        else [],
        "reasons": list(REASON_LABELS.items()),
        "reason_labels": REASON_LABELS,
        "statuses": STATUSES,
        "message": message,
        "errors": errors or {},
        "typed": typed or {},
    }
    return templates.TemplateResponse(
        request, "mes_alertes.html", context, status_code=422 if errors else 200
    )


@router.get("/mes-alertes", response_class=HTMLResponse)
def alerts_page(request: Request, container: ContainerDep) -> Response:
    """My alerts with why each was sent, one-click answers, and my subscription's settings."""
    principal = _jobseeker(request, container)
    return _flashed(request, lambda message: _alerts_page(request, container, principal, message=message))


@router.post("/alertes/{alert_id}/retour", response_model=None)
def answer_alert(
    alert_id: int,
    request: Request,
    container: ContainerDep,
    action: Annotated[str | None, Form()] = None,
    reason: Annotated[RefusalReason | None, Form()] = None,
    confirme: Annotated[str | None, Form()] = None,
) -> Response:
    """One click: "Je postule" (recorded, then on to the offer's application page), or "Non : <motif>".

    A sweeping motif (a contract type excluded from every later alert, all alerts stopped) is asked for
    confirmation first (``confirme``: ``oui`` applies it, ``non`` sets this offer aside only).
    """
    principal = _jobseeker(request, container)
    if action not in (None, "applied"):
        raise HTTPException(422, "action inconnue")
    if reason in SWEEPING and confirme not in ("oui", "non"):
        context = {
            "principal": principal,
            "alert": alert_of(container, principal, alert_id),
            "reason": reason.value,
        }
        return templates.TemplateResponse(request, "confirmer.html", context)
    body = (
        FeedbackIn(action="refused", reason=reason, change_subscription=confirme != "non")
        if reason
        else FeedbackIn(action="applied")
    )
    feedback = record_feedback(container, principal, alert_id, body)
    if feedback.poe_suggestions_url:
        said = (
            "Merci : offre écartée (compétences manquantes). « Annuler ma réponse » sur l'offre la reprend."
        )
        return _back(f"/pages/formations?offer_id={quote(feedback.offer_id)}", said)
    if reason:
        changed = ", ".join(_change_words(feedback.subscription_changes))
        what = f"abonnement mis à jour : {changed}" if changed else feedback.note or "rien à changer"
        return _back(
            "/pages/mes-alertes",
            f"Merci : offre écartée ({REASON_LABELS[reason.value]}) ; {what}. "
            "« Annuler ma réponse » sur l'offre la reprend.",
        )
    offer = container.repository.get_offer(feedback.offer_id)
    if offer is not None and trusted_apply_url(offer.apply_url):  # on to where one applies
        return RedirectResponse(str(offer.apply_url), status_code=303)
    if offer is not None and offer.apply_url:  # another site: named, followed by the person's own click
        site = urlsplit(offer.apply_url).hostname
        return _back(
            "/pages/mes-alertes",
            f"Candidature notée. Pour postuler, suivez le lien « Voir l'offre complète sur {site} » de l'offre.",
        )
    return _back(
        "/pages/mes-alertes",
        f"Candidature notée. Cette offre ne donne pas de lien pour postuler : contactez votre conseiller "
        f"en citant l'offre n° {feedback.offer_id}.",
    )


@router.post("/alertes/{alert_id}/annuler")
def undo_alert_answer(alert_id: int, request: Request, container: ContainerDep) -> Response:
    """Take back a refusal: the offer is open again and what the refusal changed goes back."""
    principal = _jobseeker(request, container)
    restored = undo_answer(container, principal, alert_id)
    back = ", ".join(RESTORED_LABELS.get(k, k) for k in restored)
    return _back(
        "/pages/mes-alertes",
        "Réponse annulée : l'offre est de nouveau ouverte" + (f" ; {back}." if back else "."),
    )


def form_number(
    value: str, low: float, high: float, errors: dict[str, str], name: str, what: str, *, empty: float | None
) -> float | None:
    """A number typed in a form field, or a French sentence in ``errors[name]`` (``empty``: the value
    of a cleared field; ``None`` there makes the field required)."""
    text = value.strip().replace(",", ".").replace(" ", "")
    if not text:
        if empty is None:
            errors[name] = f"Indiquez {what}."
        return empty
    try:
        number = float(text)
    except ValueError:
        errors[name] = f"{what[0].upper()}{what[1:]} doit être un nombre."
        return None
    if not low <= number <= high:
        errors[name] = f"{what[0].upper()}{what[1:]} doit être entre {low:g} et {high:g}."
        return None
    return number


@router.post("/abonnement")
def save_subscription(
    request: Request,
    container: ContainerDep,
    radius_km: Annotated[str, Form(max_length=20)] = "",
    salary_floor_monthly: Annotated[str, Form(max_length=20)] = "",
    max_alerts_per_run: Annotated[str, Form(max_length=20)] = "",
    beyond_criteria: Annotated[str | None, Form(max_length=10)] = None,
    quiet_from: Annotated[str | None, Form(max_length=5)] = None,
    quiet_until: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    """Save the settings form: radius, salary floor (empty or 0: none), alerts per run, and whether
    offers outside the declared contracts and hours are wanted too. A wrong value re-renders the form
    with a French sentence next to the field."""
    principal = _jobseeker(request, container)
    errors: dict[str, str] = {}
    radius = form_number(radius_km, 1, 500, errors, "radius_km", "la distance maximale", empty=None)
    floor = form_number(
        salary_floor_monthly, 0, 100_000, errors, "salary_floor_monthly", "le salaire minimum", empty=0
    )
    per_run = form_number(
        max_alerts_per_run, 1, 100, errors, "max_alerts_per_run", "le nombre d'alertes", empty=None
    )
    if per_run is not None and per_run != int(per_run):
        errors["max_alerts_per_run"] = "Le nombre d'alertes doit être un nombre entier."
    # quiet hours: both empty, no quiet hours; a form without the fields keeps them as they are
    quiet: dict[str, int | None] = {}
    if quiet_from is not None or quiet_until is not None:
        hours = {
            name: form_number(value or "", 0, 23, errors, name, what, empty=-1)
            for name, value, what in (
                ("quiet_from", quiet_from, "l'heure de début"),
                ("quiet_until", quiet_until, "l'heure de fin"),
            )
        }
        for name, value in hours.items():
            if value is not None and value != int(value):
                errors[name] = "Indiquez une heure entière, de 0 à 23."
        given = [v for v in hours.values() if v is not None and v >= 0]
        if len(given) == 1:
            errors["quiet_until" if hours["quiet_from"] != -1 else "quiet_from"] = (
                "Indiquez les deux heures, ou aucune pour recevoir les courriels à toute heure."
            )
        quiet = {k: (int(v) if v is not None and v >= 0 else None) for k, v in hours.items()}
    if errors:
        typed = {
            "radius_km": radius_km,
            "salary_floor_monthly": salary_floor_monthly,
            "max_alerts_per_run": max_alerts_per_run,
            "quiet_from": quiet_from or "",
            "quiet_until": quiet_until or "",
        }
        return _alerts_page(request, container, principal, errors=errors, typed=typed)
    assert radius is not None and per_run is not None
    update = SubscriptionUpdate(
        radius_km=radius,
        salary_floor_monthly=floor or None,
        max_alerts_per_run=int(per_run),
        beyond_criteria=beyond_criteria is not None,
        **quiet,
    )
    edit_subscription(container, principal.subject_id, update)
    return _back("/pages/mes-alertes", "Abonnement enregistré.")


@router.post("/abonnement/lever")
def lift_exclusion(
    request: Request,
    container: ContainerDep,
    kind: Annotated[str, Form(max_length=10)],
    code: Annotated[str, Form(max_length=16)],
) -> Response:
    """Lift one exclusion: a contract type or an occupation is alerted again."""
    principal = _jobseeker(request, container)
    current = subscription_of(container, principal.subject_id)
    if kind == "contrat" and code in current.excluded_contract_types:
        rest = [ContractType(c) for c in current.excluded_contract_types if c != code]
        edit_subscription(container, principal.subject_id, SubscriptionUpdate(excluded_contract_types=rest))
        return _back(
            "/pages/mes-alertes", f"Les offres en {contract_label(code)} vous seront de nouveau envoyées."
        )
    if kind == "metier" and code in current.excluded_occupations:
        rest_codes = [c for c in current.excluded_occupations if c != code]
        edit_subscription(
            container, principal.subject_id, SubscriptionUpdate(excluded_occupations=rest_codes)
        )
        label = occupation_label(container.referential, code)
        return _back("/pages/mes-alertes", f"Les offres de {label} vous seront de nouveau envoyées.")
    return _back("/pages/mes-alertes", "Cette exclusion n'existe plus : rien à changer.")


@router.post("/abonnement/alertes")
def switch_alerts(
    request: Request, container: ContainerDep, actives: Annotated[str, Form(max_length=5)]
) -> Response:
    """Stop my alerts, or take them up again (``actives``: ``oui`` or ``non``)."""
    principal = _jobseeker(request, container)
    on = actives == "oui"
    edit_subscription(container, principal.subject_id, SubscriptionUpdate(active=on))
    return _back(
        "/pages/mes-alertes",
        "Vos alertes reprennent : les prochaines offres vous seront envoyées."
        if on
        else "Vos alertes sont arrêtées. Vous pouvez les reprendre à tout moment.",
    )


@router.get("/formations", response_class=HTMLResponse)
def trainings_page(request: Request, container: ContainerDep, offer_id: str) -> Response:
    """Short trainings that close my missing skills for an offer (logged like the API's suggestions)."""
    principal = _jobseeker(request, container)
    poe = poe_suggestions(container, principal, offer_id, principal.subject_id, k=5)
    return _flashed(
        request,
        lambda message: templates.TemplateResponse(
            request, "formations.html", {"principal": principal, "poe": poe, "message": message}
        ),
    )
