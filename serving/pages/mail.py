"""Pages behind the links of alert e-mails (no login: the signed link is the authority, for that one
alert or subscription only), and the counsellors' view of delivery: a person's next digest, paused
addresses.

An answer link first shows what it will record, and the page sends it at once (a tiny script, a
button without it): a link scanner that fetches the address records nothing, a person answers in
one click. Answers that change every later alert (a contract type, "déjà en poste") are confirmed
first, as on « Mes alertes ».
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from matching.domain import RefusalReason
from serving.deps import ContainerDep
from serving.links import ANSWERS, APPLY
from serving.pages.router import (
    REASON_LABELS,
    RESTORED_LABELS,
    STATUSES,
    SWEEPING,
    _back,
    _change_words,
    _flashed,
    templates,
)
from serving.pages.staff import _staff
from serving.security import Role
from serving.services.alerts import trusted_apply_url
from serving.services.links import (
    answer_by_link,
    answer_claim,
    linked_alert,
    preview_digest,
    set_email_alerts,
    undo_by_link,
    unsubscribe_claim,
)
from serving.storage.delivery import DeliveryStore

router = APIRouter(prefix="/pages", include_in_schema=False)
SWEEPING_VALUES = {r.value for r in SWEEPING}


def _answer_words(answer: str) -> str:
    return "Je postule" if answer == APPLY else f"Pas pour moi : {REASON_LABELS.get(answer, answer)}"


def _answer(answer: str) -> str:
    """The answer of a link's path; an unknown one is no page (404)."""
    if answer not in ANSWERS:
        raise HTTPException(404, "Ce lien n'existe pas : retrouvez vos offres sur « Mes alertes ».")
    return answer


@router.post("/lien/{token}/annuler", response_class=HTMLResponse)
def undo_link_answer(token: str, request: Request, container: ContainerDep) -> Response:
    """Take back the refusal the link recorded."""
    claim = answer_claim(container, token)
    restored = undo_by_link(container, claim)
    context = {
        "principal": None,
        "alert": linked_alert(container, claim),
        "restored": [RESTORED_LABELS.get(k, k) for k in restored],
    }
    return templates.TemplateResponse(request, "lien_annule.html", context)


@router.get("/lien/{token}/{answer}", response_class=HTMLResponse)
def answer_link(token: str, answer: str, request: Request, container: ContainerDep) -> Response:
    """What the link will record, sent at once by the page (confirmed first for a sweeping answer)."""
    claim = answer_claim(container, token)
    answer = _answer(answer)
    alert = linked_alert(container, claim)
    context = {
        "principal": None,
        "alert": alert,
        "token": token,
        "answer": answer,
        "words": _answer_words(answer),
        "sweeping": answer in SWEEPING_VALUES,
        "already": alert.status in ("applied", "refused"),
        "statuses": STATUSES,
        "reason_labels": REASON_LABELS,
    }
    return templates.TemplateResponse(request, "lien.html", context)


@router.post("/lien/{token}/{answer}", response_class=HTMLResponse)
def answer_link_post(
    token: str,
    answer: str,
    request: Request,
    container: ContainerDep,
    confirme: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    """Record the link's answer once and say what it changed in the subscription."""
    claim = answer_claim(container, token)
    answer = _answer(answer)
    if answer in SWEEPING_VALUES and confirme not in ("oui", "non"):
        raise HTTPException(422, "Choisissez une des deux réponses proposées.")
    done = answer_by_link(container, claim, answer, change_subscription=confirme != "non")
    offer = container.repository.get_offer(done.alert.offer.id)
    apply_url = offer.apply_url if offer is not None else None
    changes = _change_words(done.feedback.subscription_changes) if done.feedback else []
    context = {
        "principal": None,
        "alert": done.alert,
        "token": token,
        "answer": answer,
        "words": _answer_words(answer),
        "feedback": done.feedback,
        "changes": changes,
        "apply_url": apply_url,
        "apply_site": urlsplit(apply_url).hostname if apply_url else None,
        "trusted": trusted_apply_url(apply_url),
        "statuses": STATUSES,
        "reason_labels": REASON_LABELS,
        "skills": answer == RefusalReason.COMPETENCES.value,
    }
    return templates.TemplateResponse(request, "lien_fait.html", context)


@router.get("/desabonnement/{token}", response_class=HTMLResponse)
def unsubscribe_page(token: str, request: Request, container: ContainerDep) -> Response:
    """Ask before stopping the e-mails (RFC 8058: a GET never unsubscribes)."""
    unsubscribe_claim(container, token)
    return templates.TemplateResponse(
        request, "desabonnement.html", {"principal": None, "token": token, "done": None}
    )


def _switch_emails(token: str, request: Request, container: ContainerDep, *, on: bool) -> Response:
    claim = unsubscribe_claim(container, token)
    set_email_alerts(container, claim, on=on)
    done = "resumed" if on else "stopped"
    return templates.TemplateResponse(
        request, "desabonnement.html", {"principal": None, "token": token, "done": done}
    )


@router.post("/desabonnement/{token}", response_class=HTMLResponse)
def unsubscribe(token: str, request: Request, container: ContainerDep) -> Response:
    """Stop the e-mails: a person's click, or a mail client's one-click POST
    (``List-Unsubscribe=One-Click``, RFC 8058). The alerts stay on « Mes alertes »."""
    return _switch_emails(token, request, container, on=False)


@router.post("/desabonnement/{token}/reprendre", response_class=HTMLResponse)
def resubscribe(token: str, request: Request, container: ContainerDep) -> Response:
    """Take the e-mails up again (the same link, from the page that stopped them)."""
    return _switch_emails(token, request, container, on=True)


@router.get("/apercu-alerte/{profile_id}", response_class=HTMLResponse)
def digest_preview(profile_id: str, request: Request, container: ContainerDep) -> Response:
    """A person's next digest as it will be sent (links inert), and their delivery state."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    preview = preview_digest(container, principal, profile_id)
    return _flashed(
        request,
        lambda message: templates.TemplateResponse(
            request, "apercu_alerte.html", {"principal": principal, "preview": preview, "message": message}
        ),
    )


@router.post("/apercu-alerte/{profile_id}/reprendre")
def resume_delivery(profile_id: str, request: Request, container: ContainerDep) -> Response:
    """Lift the pause of a person's address: their alerts go in the next digest."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    preview_digest(container, principal, profile_id)  # the same 403 / 404 as the page
    resumed = DeliveryStore(container.engine, clock=container.clock).resume(profile_id)
    said = (
        "Envoi repris : les alertes partiront avec le prochain envoi."
        if resumed
        else "Les envois à cette adresse n'étaient pas suspendus."
    )
    return _back(f"/pages/apercu-alerte/{profile_id}", said)


@router.get("/envois", response_class=HTMLResponse)
def paused_addresses(request: Request, container: ContainerDep) -> Response:
    """Addresses whose delivery is paused after a permanent failure (a counsellor sees those of
    people who agreed to be visible; an administrator all)."""
    principal = _staff(request, container, Role.COUNSELLOR, Role.ADMIN)
    store = DeliveryStore(container.engine)
    context = {
        "principal": principal,
        "paused": store.paused_contacts(visible_only=principal.role == Role.COUNSELLOR),
        "counts": store.counts(),
    }
    return templates.TemplateResponse(request, "envois.html", context)
