"""Load a simulated world (data frames) into the database through the domain models.

Going through :mod:`matching.domain` validates every row on the way in, so a corrupt world cannot
reach the database half-valid.
"""

from __future__ import annotations

from collections.abc import Callable

from eval.simulator.market import World
from eval.simulator.records import world_offers, world_profiles, world_trainings
from matching.domain import AuditAttributes, Interaction, Offer, Subscription
from matching.frames import records
from matching.geo import Communes
from serving.storage.delivery import DeliveryStore
from serving.storage.repository import SqlRepository

#: Where a simulated person's alerts are e-mailed: a domain reserved for examples (RFC 2606), so that
#: a demo wired to a real SMTP server by mistake reaches nobody.
SIMULATED_MAIL_DOMAIN = "demandeurs.example"


def simulated_address(profile_id: str) -> str:
    """The e-mail address of a simulated person."""
    return f"{profile_id.lower()}@{SIMULATED_MAIL_DOMAIN}"


def named(offer: Offer, communes: Communes | None) -> Offer:
    """The offer with its commune's name as place label when it has none (a simulated offer), so that
    pages name it and a counsellor's search finds it by its commune, as a real offer's label is."""
    place = offer.location
    name = communes.name_of(place.insee) if communes is not None and place.insee and not place.label else None
    return offer.model_copy(update={"location": place.model_copy(update={"label": name})}) if name else offer


def load_world(
    world: World,
    repository: SqlRepository,
    progress: Callable[[str], None] | None = None,
    communes: Communes | None = None,
    *,
    trainings: bool = True,
) -> dict[str, int]:
    """Write a world's profiles, offers, trainings, subscriptions, contacts (addresses of
    :data:`SIMULATED_MAIL_DOMAIN`), audit table and events; returns counts.

    With ``communes``, offers are labelled with their commune's name (see :func:`named`). With
    ``trainings=False`` the trainings are left out (they come through an LHEO catalogue instead).
    """
    say = progress or (lambda _table: None)
    counts = {}
    say("profiles")
    counts["profiles"] = repository.upsert_profiles(list(world_profiles(world)))
    say("offers")
    counts["offers"] = repository.upsert_offers([named(o, communes) for o in world_offers(world)]).inserted
    if trainings:
        say("trainings")
        counts["trainings"] = repository.upsert_trainings(list(world_trainings(world)))
    say("subscriptions")
    counts["subscriptions"] = repository.upsert_subscriptions(
        Subscription(**r) for r in records(world.subscriptions)
    )
    say("contacts")
    counts["contacts"] = sum(
        DeliveryStore(repository.engine).set_contacts((p, simulated_address(p)) for p in world.profiles["id"])
    )
    say("audit_attributes")
    counts["audit_attributes"] = repository.upsert_audit_attributes(
        AuditAttributes(**r) for r in records(world.audit)
    )
    say("interactions")
    repository.delete_interactions_of(world.profiles["id"].tolist())  # reloading replaces, never duplicates
    counts["interactions"] = repository.add_interactions(
        Interaction(**r) for r in records(world.interactions)
    )
    return counts
