"""What the links of alert e-mails do: answer an alert, stop the e-mails, without logging in; and the
counsellors' preview of a person's next digest."""

from __future__ import annotations

from dataclasses import dataclass

from matching.domain import Channel, RefusalReason
from serving.container import ServingContainer
from serving.links import APPLY, AnswerClaim, LinkError, LinkSigner, UnsubscribeClaim
from serving.mail.digest import DigestComposer, DigestView
from serving.schemas import AlertOut, FeedbackIn, SubscriptionUpdate
from serving.security import Principal, Role
from serving.services.alerts import ANSWERED, Feedback, alert_of, record_feedback, undo_answer
from serving.services.errors import Forbidden, NotFound, ServiceError
from serving.services.subscriptions import edit_subscription, subscription_of
from serving.storage.delivery import DeliveryState, DeliveryStore, next_digest_alerts
from serving.storage.store import utcnow


class LinkRefused(ServiceError):
    """A link that cannot be used: expired (410) or not valid (400); the message is French."""

    french = True

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def _signer(container: ServingContainer) -> LinkSigner:
    if container.mail is None:
        raise LinkRefused(
            "Les liens des courriels ne sont pas configurés sur ce service : connectez-vous à « Mes alertes ».",
            status_code=503,
        )
    return container.mail.signer


def _refused(error: LinkError) -> LinkRefused:
    if error.expired:
        return LinkRefused(
            "Ce lien a expiré : retrouvez vos offres et répondez depuis « Mes alertes » après connexion.",
            status_code=410,
        )
    return LinkRefused(
        "Ce lien n'est pas valide (il est incomplet ou a été modifié) : retrouvez vos offres sur « Mes alertes ».",
        status_code=400,
    )


def answer_claim(container: ServingContainer, token: str) -> AnswerClaim:
    """What an answer link allows; :class:`LinkRefused` when it cannot be used."""
    try:
        return _signer(container).read_answer(token)
    except LinkError as error:
        raise _refused(error) from None


def unsubscribe_claim(container: ServingContainer, token: str) -> UnsubscribeClaim:
    """What an unsubscribe link allows; :class:`LinkRefused` when it cannot be used."""
    try:
        return _signer(container).read_unsubscribe(token)
    except LinkError as error:
        raise _refused(error) from None


def link_principal(profile_id: str) -> Principal:
    """The person a link acts for, with no more rights than on their own alerts."""
    return Principal(token_id=f"link:{profile_id}", role=Role.JOBSEEKER, subject_id=profile_id)


@dataclass(frozen=True)
class LinkAnswer:
    """What following an answer link did: the alert as it is now, and the answer's effect (``None``:
    the alert was already answered, nothing changed)."""

    alert: AlertOut
    feedback: Feedback | None


def linked_alert(container: ServingContainer, claim: AnswerClaim) -> AlertOut:
    """The alert a link is about (404 when gone: the offer withdrawn, the person removed)."""
    return alert_of(container, link_principal(claim.profile_id), claim.alert_id)


def answer_by_link(
    container: ServingContainer, claim: AnswerClaim, answer: str, *, change_subscription: bool = True
) -> LinkAnswer:
    """Record ``answer`` (``applied`` or a refusal reason, :data:`serving.links.ANSWERS`) to the link's
    alert, once: a replay, or any link of an alert answered since, changes nothing (``feedback`` is
    ``None``).

    Raises
    ------
    NotFound
        The alert is gone.
    """
    principal = link_principal(claim.profile_id)
    alert = alert_of(container, principal, claim.alert_id)
    if alert.status in ANSWERED:
        return LinkAnswer(alert, None)
    body = (
        FeedbackIn(action="applied")
        if answer == APPLY
        else FeedbackIn(
            action="refused", reason=RefusalReason(answer), change_subscription=change_subscription
        )
    )
    feedback = record_feedback(container, principal, claim.alert_id, body)
    return LinkAnswer(alert_of(container, principal, claim.alert_id), feedback)


def undo_by_link(container: ServingContainer, claim: AnswerClaim) -> dict[str, object]:
    """Take back the refusal a link recorded (see :func:`serving.services.alerts.undo_answer`)."""
    return undo_answer(container, link_principal(claim.profile_id), claim.alert_id)


def set_email_alerts(container: ServingContainer, claim: UnsubscribeClaim, *, on: bool) -> bool:
    """Stop (``on=False``) or take up again the e-mails of the link's subscription: its channel
    becomes the pages (``app``) or e-mail again; the alerts go on either way. Returns whether
    anything changed.

    Raises
    ------
    NotFound
        The subscription is gone or is no longer the person's.
    """
    try:
        current = subscription_of(container, claim.profile_id)
    except NotFound:
        raise NotFound("Cet abonnement n'existe plus.") from None
    if current.id != claim.subscription_id:
        raise NotFound("Cet abonnement n'existe plus.")
    wanted = Channel.EMAIL if on else Channel.APP
    if current.channel == wanted.value:
        return False
    edit_subscription(container, claim.profile_id, SubscriptionUpdate(channel=wanted))
    return True


@dataclass(frozen=True)
class DigestPreview:
    """A person's next digest as a counsellor sees it (inert links), and their delivery state."""

    profile_id: str
    state: DeliveryState
    view: DigestView | None
    text: str | None
    html: str | None
    channel: str | None
    active: bool


def preview_digest(container: ServingContainer, principal: Principal, profile_id: str) -> DigestPreview:
    """The next digest of ``profile_id``, rendered with inert links, and where it would go.

    Raises
    ------
    Forbidden
        A jobseeker (the page is for counsellors and administrators).
    NotFound
        No such profile, or (for a counsellor) one that did not agree to be visible.
    """
    if principal.role not in (Role.COUNSELLOR, Role.ADMIN):
        raise Forbidden("the preview is for counsellors and administrators")
    profile = container.repository.get_profile(profile_id)
    if profile is None or (principal.role == Role.COUNSELLOR and not profile.visible):
        raise NotFound(f"no consenting profile {profile_id!r}")
    subscription = container.store.subscription_of(profile_id)
    view = text = html = None
    if container.mail is not None:
        composer = DigestComposer(container, container.mail)
        view = composer.view(
            profile_id, next_digest_alerts(container.engine, profile_id), issued_at=utcnow(), preview=True
        )
        if view is not None:
            text, html = composer.render(view)
    return DigestPreview(
        profile_id=profile_id,
        state=DeliveryStore(container.engine).delivery_state(profile_id),
        view=view,
        text=text,
        html=html,
        channel=subscription.channel if subscription else None,
        active=bool(subscription and subscription.active),
    )
