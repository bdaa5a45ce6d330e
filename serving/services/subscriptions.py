"""A jobseeker's alert subscription: reading and editing it."""

from __future__ import annotations

from serving.container import ServingContainer
from serving.schemas import SubscriptionOut, SubscriptionUpdate
from serving.services.checks import unknown_rome_codes
from serving.services.errors import Invalid, NotFound

# fields a person may clear (``null``: no minimum, no quiet hours); the others keep their value when ``null``
NULLABLE = {"min_weekly_hours", "salary_floor_monthly", "quiet_from", "quiet_until"}


def subscription_of(container: ServingContainer, profile_id: str) -> SubscriptionOut:
    """The person's subscription.

    Raises
    ------
    NotFound
        None yet: a subscription is created once a job project is known.
    """
    subscription = container.store.subscription_of(profile_id)
    if subscription is None:
        raise NotFound("no subscription: no job project is known yet")
    return SubscriptionOut(**subscription.model_dump(mode="json", exclude={"profile_id"}))


def edit_subscription(
    container: ServingContainer, profile_id: str, update: SubscriptionUpdate
) -> SubscriptionOut:
    """Change the fields set in ``update`` (ROME codes, radius, contracts, hours, salary floor, …).

    Parameters
    ----------
    container
        The API's dependencies.
    profile_id
        Whose subscription.
    update
        The fields to change; unset ones keep their value.

    Returns
    -------
    SubscriptionOut
        The subscription as stored after the change.

    Raises
    ------
    NotFound
        The person has no subscription.
    Invalid
        A ROME code is malformed or not in the referential, or an excluded occupation is neither a
        ROME code nor an appellation code of it.
    """
    current = subscription_of(container, profile_id)
    wrong = update.rome_codes_valid() or unknown_rome_codes(container.referential, update.rome_codes or [])
    if wrong:
        raise Invalid(f"unknown ROME codes: {', '.join(wrong)}")
    referential = container.referential
    unknown = [
        c
        for c in update.excluded_occupations or []
        if c not in referential.fiches and c not in referential.appellations
    ]
    if unknown:
        raise Invalid(f"excluded occupations are ROME or appellation codes; unknown: {', '.join(unknown)}")
    changes = {
        k: v
        for k, v in update.model_dump(mode="json", exclude_unset=True).items()
        if v is not None or k in NULLABLE
    }
    container.store.update_subscription(current.id, changes)
    return subscription_of(container, profile_id)
