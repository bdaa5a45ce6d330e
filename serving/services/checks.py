"""Checks shared by the use cases: object-level access to a person's data, known ROME codes."""

from __future__ import annotations

from collections.abc import Iterable

from matching.domain import Profile
from matching.referential import Referential
from serving.container import ServingContainer
from serving.security import Principal, Role
from serving.services.errors import Forbidden


def forbid_unless_own(principal: Principal, profile_id: str) -> None:
    """A jobseeker acts on their own profile only (object-level check); staff pass.

    Parameters
    ----------
    principal
        The authenticated caller.
    profile_id
        The profile the request is about.

    Raises
    ------
    Forbidden
        A jobseeker asks about someone else.
    """
    if principal.role == Role.JOBSEEKER and principal.subject_id != profile_id:
        raise Forbidden("a jobseeker can only see their own data")


def readable_profile(container: ServingContainer, principal: Principal, profile_id: str) -> Profile | None:
    """The profile as this caller may read it.

    Parameters
    ----------
    container
        The API's dependencies (its repository is read).
    principal
        The authenticated caller; a counsellor only sees people who consented to be visible.
    profile_id
        The profile to read.

    Returns
    -------
    Profile or None
        ``None`` when the profile does not exist or, for a counsellor, did not consent: both are
        answered "not found" so that a counsellor cannot tell a hidden person exists.
    """
    profile = container.repository.get_profile(profile_id)
    if profile is None or (principal.role == Role.COUNSELLOR and not profile.visible):
        return None
    return profile


def unknown_rome_codes(referential: Referential, codes: Iterable[str]) -> list[str]:
    """The codes that are not fiches of the ROME referential, in the given order."""
    return [code for code in codes if code not in referential.fiches]
