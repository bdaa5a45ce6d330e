"""Counsellor pages (offer search, ranked candidates with actions, saved viviers) and the data
scientist's model page (champion, metrics and fairness figures, kill switch, link to MLflow)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from serving.deps import ContainerDep
from serving.explain import experience_label, hours_label
from serving.pages.router import _back, _flashed, _principal, form_number, templates
from serving.schemas import CounsellorActionIn, VivierIn, VivierNearIn
from serving.security import Principal, Role
from serving.services.admin import model_overview, set_kill_switch
from serving.services.alerts import offer_summary
from serving.services.errors import Invalid
from serving.services.sourcing import (
    offer_place,
    offer_title,
    rank_candidates,
    record_candidate_action,
    restore_candidate,
    search_offers,
)
from serving.services.viviers import (
    create_vivier,
    refresh_vivier,
    resolve_commune,
    resolve_occupation,
    spec_near,
    vivier_cards,
    viviers_of,
)

router = APIRouter(prefix="/pages", include_in_schema=False)
DISMISS_REASONS = [
    ("competences", "compétences insuffisantes"),
    ("experience", "expérience insuffisante"),
    ("disponibilite", "pas disponible"),
    ("mobilite", "trop loin"),
    ("autre", "autre raison"),
]
VIVIER_FIELDS = ("label", "occupation", "commune", "radius_km", "available_within_days")


def _day(moment: date | datetime | None) -> str:
    """A day as French pages write it: 17/02/2025."""
    return "" if moment is None else f"{moment:%d/%m/%Y}"


def _km(value: float | None) -> str:
    """A distance as French pages write it: "3,2 km" under 10 km, "48 km", "6 723 km" beyond."""
    if value is None:
        return ""
    shown = f"{value:.1f}".replace(".", ",") if value < 10 else f"{value:,.0f}".replace(",", "\u202f")
    return f"{shown.removesuffix(',0')} km"


templates.env.filters.update(experience=experience_label, heures=hours_label, jour=_day, km=_km)


def _staff(request: Request, container: ContainerDep, *roles: Role) -> Principal:
    principal = _principal(request, container)
    if principal.role not in roles:
        who = "aux administrateurs" if roles == (Role.ADMIN,) else "aux conseillers et administrateurs"
        raise HTTPException(403, f"Page réservée {who}")
    return principal


@router.get("/offres", response_class=HTMLResponse)
def offers_page(request: Request, container: ContainerDep, q: str | None = None) -> Response:
    """Offer search by title words or id, newest first."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    offers = search_offers(container, q)
    return templates.TemplateResponse(
        request, "offres.html", {"principal": principal, "offers": offers, "q": q}
    )


#: Candidates an offer's page lists at first, and at most (each "voir plus" adds a step).
LISTED_STEP, MAX_LISTED = 20, 100


@router.get("/offres/{offer_id}", response_class=HTMLResponse)
def offer_page(request: Request, container: ContainerDep, offer_id: str, k: str = "") -> Response:
    """An offer's ranked candidates (the API's sourcing list, logged the same way) with their actions;
    ``k`` candidates (20 by default, by steps of 20 up to :data:`MAX_LISTED`) through "voir plus"."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    # a hand-edited address never fails: anything but a number reads as the first page
    shown = min(max(int(k), LISTED_STEP), MAX_LISTED) if k.strip().isdigit() else LISTED_STEP
    result = rank_candidates(container, principal, offer_id, k=shown)
    stored = container.repository.get_offer(offer_id)
    context = {
        "principal": principal,
        "offer": {
            "id": offer_id,
            "title": offer_title(container, offer_id),
            "place": offer_place(container, offer_id),
            # what the employer asks, beside who fits: the same summary an alert shows
            "summary": offer_summary(stored, container.communes) if stored is not None else None,
        },
        "result": result,
        # the list was cut at ``shown``: more may follow
        "more": shown + LISTED_STEP if len(result.candidates) >= shown and shown < MAX_LISTED else None,
        "dismiss_reasons": DISMISS_REASONS,
        "reason_labels": dict(DISMISS_REASONS),
        "today": container.clock.today(),
    }
    return _flashed(
        request,
        lambda message: templates.TemplateResponse(request, "offre.html", {**context, "message": message}),
    )


@router.post("/offres/{offer_id}/candidats/{profile_id}")
def act_on_candidate(
    request: Request,
    container: ContainerDep,
    offer_id: str,
    profile_id: str,
    action: Annotated[str, Form()],
    reason: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """Propose a candidate to the employer, dismiss them with a reason (they leave the list), or take
    a dismissal back (``restored``: they are listed again), then back to the offer."""
    _staff(request, container, Role.COUNSELLOR, Role.ADMIN)  # the caller is not logged with the event
    if action == "restored":
        restore_candidate(container, offer_id, profile_id)
        return _back(f"/pages/offres/{offer_id}", f"Candidat {profile_id} remis dans la liste.")
    if action not in ("proposed", "dismissed"):
        raise HTTPException(422, "action inconnue")
    body = CounsellorActionIn(action=action, reason=reason if action == "dismissed" else None)
    record_candidate_action(container, offer_id, profile_id, body)
    done = (
        "proposé à l'employeur : il reste dans la liste, marqué « Proposé(e) »"
        if action == "proposed"
        else "écarté : il ne figure plus dans la liste (voir « Candidats écartés » pour l'y remettre)"
    )
    return _back(f"/pages/offres/{offer_id}", f"Candidat {profile_id} {done}.")


def _viviers_page(
    request: Request,
    container: ContainerDep,
    principal: Principal,
    *,
    message: str | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    """The counsellor's viviers (each with its members' cards) and the creation form, with the values
    typed and a French sentence next to each field in error (answered 422)."""
    viviers = viviers_of(container, principal.subject_id)
    context = {
        "principal": principal,
        "viviers": [(v, vivier_cards(container, v)) for v in viviers],
        "message": message,
        "form": form or {},
        "errors": errors or {},
        "error": (
            "Le vivier n'a pas été créé : corrigez "
            + ("les champs signalés." if len(errors) > 1 else "le champ signalé.")
            if errors
            else None
        ),
        "today": container.clock.today(),
    }
    return templates.TemplateResponse(request, "viviers.html", context, status_code=422 if errors else 200)


@router.get("/viviers", response_class=HTMLResponse)
def viviers_page(request: Request, container: ContainerDep) -> Response:
    """The counsellor's viviers and the form to create one."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    return _flashed(request, lambda message: _viviers_page(request, container, principal, message=message))


def _people(count: int) -> str:
    """ "0 personne", "1 personne", "2 personnes" (French counts one and zero in the singular)."""
    return f"{count} personne{'s' if count > 1 else ''}"


@router.post("/viviers", response_class=HTMLResponse)
def create_vivier_page(
    request: Request,
    container: ContainerDep,
    occupation: Annotated[str, Form()] = "",
    commune: Annotated[str, Form()] = "",
    radius_km: Annotated[str | None, Form()] = None,
    available_within_days: Annotated[str | None, Form()] = None,
    label: Annotated[str, Form()] = "",
) -> Response:
    """Create a vivier from an occupation (a ROME title or code) around a commune within a radius, and
    fill it now; a field that cannot be read is told next to it and the form shown again (422)."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    form = {
        "label": label,
        "occupation": occupation,
        "commune": commune,
        "radius_km": radius_km or "",
        "available_within_days": available_within_days or "",
    }
    errors = {
        field: f"Ce champ est trop long : {limit} caractères au plus."
        for field, limit in (("label", 120), ("occupation", 200), ("commune", 100))
        if len(form[field]) > limit
    }
    if not occupation.strip():
        errors["occupation"] = "Saisissez un métier (par exemple « Cariste ») ou un code ROME (N1101)."
    if not commune.strip():
        errors["commune"] = "Saisissez une commune (par exemple « Lyon ») ou son code postal."
    radius = form_number(radius_km or "", 1, 200, errors, "radius_km", "le rayon", empty=20)
    days = form_number(
        available_within_days or "", 0, 365, errors, "available_within_days", "le nombre de jours", empty=30
    )
    for field in ("radius_km", "available_within_days"):
        form[field] = form[field][:20]
    spec: VivierIn | None = None
    if "occupation" not in errors and "commune" not in errors:  # told even when another field is wrong
        near = VivierNearIn(
            label=(label.strip() or None) if "label" not in errors else None,
            occupation=occupation.strip(),
            commune=commune.strip(),
            radius_km=radius if radius is not None and "radius_km" not in errors else 20,
            available_within_days=int(days)
            if days is not None and "available_within_days" not in errors
            else 30,
        )
        try:
            spec = spec_near(container, near)
        except Invalid as problem:
            errors.update(_field_errors(problem))
    elif "occupation" not in errors or "commune" not in errors:  # the other one is told all the same
        try:
            if "occupation" not in errors:
                resolve_occupation(container.referential, occupation)
            else:
                resolve_commune(container.communes, commune)
        except Invalid as problem:
            errors.update(_field_errors(problem))
    if errors or spec is None:
        return _viviers_page(request, container, principal, form=form, errors=errors)
    vivier = create_vivier(container, principal.subject_id, spec)
    return _back("/pages/viviers", f"Vivier « {vivier.label} » créé : {_people(len(vivier.profile_ids))}.")


def _field_errors(problem: Invalid) -> dict[str, str]:
    """A use case's refusal as French sentences by form field (its message on the occupation field
    when it names none)."""
    out: dict[str, str] = {}
    for item in problem.problems:
        where: list[Any] = list(item.get("loc", []))
        field = str(where[-1]) if where else "occupation"
        out[field if field in VIVIER_FIELDS else "occupation"] = str(item.get("msg", problem))
    return out or {"occupation": str(problem)}


@router.post("/viviers/{vivier_id}/actualiser")
def refresh_vivier_page(request: Request, container: ContainerDep, vivier_id: int) -> Response:
    """Recompute who is in one of the counsellor's viviers."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    vivier = refresh_vivier(container, principal.subject_id, vivier_id)
    return _back(
        "/pages/viviers", f"Vivier « {vivier.label} » actualisé : {_people(len(vivier.profile_ids))}."
    )


@router.get("/modele", response_class=HTMLResponse)
def model_page(request: Request, container: ContainerDep) -> Response:
    """The data scientist's page: model and index served, the champion's metrics, the kill switch."""
    principal = _staff(request, container, Role.ADMIN)
    overview = asdict(model_overview(container))
    return _flashed(
        request,
        lambda message: templates.TemplateResponse(
            request, "modele.html", {"principal": principal, **overview, "message": message}
        ),
    )


@router.post("/modele/kill-switch")
def toggle_kill_switch(
    request: Request, container: ContainerDep, enabled: Annotated[bool, Form()]
) -> Response:
    """Switch ML ranking off (rule-based ranking everywhere) or back on."""
    principal = _staff(request, container, Role.ADMIN)
    set_kill_switch(container, enabled, by=principal.subject_id)
    return _back("/pages/modele", "Classement ML désactivé." if enabled else "Classement ML réactivé.")
