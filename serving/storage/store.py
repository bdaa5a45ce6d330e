"""Persistence of the serving side: alert runs, alerts with their outbox, recommendation log, flags.

Every write that must not be half-done is one transaction: a subscription's alerts, their outbox
messages, their ``alert_sent`` events, the recommendation log row and the run's progress marker are
committed together, so a batch killed at any instant resumes without losing or duplicating alerts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from matching.clock import Clock
from matching.domain import Profile, Subscription
from matching.referential import normalize_label
from serving.storage.db import write_session
from serving.storage.repository import batches, row_to_profile, row_to_subscription
from serving.storage.tables import (
    AlertRow,
    AlertRunItemRow,
    AlertRunRow,
    FlagRow,
    InteractionRow,
    OfferRow,
    OutboxRow,
    ProfileRow,
    RecommendationLogRow,
    SubscriptionRow,
    VivierRow,
)

KILL_SWITCH = "ml_ranking_disabled"


@dataclass(frozen=True)
class OfferListing:
    """An offer as a search result lists it."""

    id: str
    title: str
    rome_code: str
    contract_type: str | None
    place: str | None = None


#: The counsellors' decisions on a candidate of an offer, by their event in the log.
COUNSELLOR_DECISIONS = {"counsellor_proposed": "proposed", "counsellor_dismissed": "dismissed"}


@dataclass(frozen=True)
class CandidateAction:
    """A counsellor's latest decision on a candidate of an offer: ``proposed`` or ``dismissed``."""

    action: str
    at: datetime
    reason: str | None = None


def _escaped(word: str) -> str:
    """A word for SQL ``LIKE`` with ``\\`` as escape: its wildcards taken literally."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


#: Words a place is written with either way: France Travail's labels write "ST ETIENNE".
_ABBREVIATED = {"saint": "st", "sainte": "ste"}


def search_variants(word: str) -> tuple[str, ...]:
    """What a searched word (normalised: no accent, lower case) may appear as in an offer: itself, its
    masculine or singular stem ("infirmiere" also finds "infirmier", "cuisiniers" "cuisinier"), the
    abbreviation of "saint"."""
    variants = [word]
    if word in _ABBREVIATED:
        variants.append(_ABBREVIATED[word])
    stem = word[:-1] if len(word) > 4 and word.endswith("s") else word
    stem = stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem
    if stem != word:
        variants.append(stem)
    return tuple(variants)


def utcnow() -> datetime:
    """Real time (tokens expire by it, whatever the world's clock says)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Run:
    """An alert run: its id, the moment it ranks at (kept when resumed) and whether it was resumed."""

    id: str
    as_of: datetime
    mode: str
    resumed: bool


def alert_list_id(run_id: str, subscription_id: str) -> str:
    """The ``list_id`` of a subscription's alerts in a run: feedback events reuse it, so that the ranker
    groups each answer with the list it was shown in."""
    return f"{run_id[:12]}-{subscription_id}"[:64]


def recommendation_row(
    *,
    created_at: datetime,
    kind: str,
    actor_role: str,
    actor_id: str,
    subject_id: str,
    ranking: str,
    model_version: str,
    index_version: str,
    item_ids: list[str],
    scores: list[float],
    request: dict[str, Any],
) -> RecommendationLogRow:
    """A served list: who asked, about whom, how it was ranked (model and index versions), what was shown."""
    return RecommendationLogRow(
        created_at=created_at,
        kind=kind,
        actor_role=actor_role,
        actor_id=actor_id,
        subject_id=subject_id,
        ranking=ranking,
        model_version=model_version,
        index_version=index_version,
        item_ids=item_ids,
        scores=[round(float(x), 6) for x in scores],
        request=request,
    )


class ServingStore:
    """Reads and writes the serving tables of one database."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        # the world's clock (pinned in demos and tests) stamps events, alerts and runs, so that answers
        # given through the API are seen by a batch ranking at the same clock
        self.clock = clock or Clock()

    # -- reads ----------------------------------------------------------------------------------------
    def active_subscriptions(self) -> list[Subscription]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(SubscriptionRow).where(SubscriptionRow.active).order_by(SubscriptionRow.id)
            )
            return [row_to_subscription(r) for r in rows]

    def profiles(self, ids: Iterable[str]) -> dict[str, Profile]:
        wanted = sorted(set(ids))
        out: dict[str, Profile] = {}
        with Session(self.engine) as session:
            for chunk in batches(wanted):
                rows = session.scalars(select(ProfileRow).where(ProfileRow.id.in_(chunk)))
                out.update({r.id: row_to_profile(r) for r in rows})
        return out

    def alerted_offers(self, subscription_ids: Sequence[str]) -> dict[str, set[str]]:
        """Offers already alerted to each subscription (never alerted twice)."""
        out: dict[str, set[str]] = {s: set() for s in subscription_ids}
        with Session(self.engine) as session:
            for chunk in batches(subscription_ids):
                for sub, offer in session.execute(
                    select(AlertRow.subscription_id, AlertRow.offer_id).where(
                        AlertRow.subscription_id.in_(chunk)
                    )
                ):
                    out[sub].add(offer)
        return out

    def last_alerted(self, subscription_ids: Sequence[str]) -> dict[str, datetime]:
        """The ranking moment of each subscription's last run that sent it alerts (for cadence)."""
        out: dict[str, datetime] = {}
        with Session(self.engine) as session:
            for chunk in batches(subscription_ids):
                rows = session.execute(
                    select(AlertRunItemRow.subscription_id, func.max(AlertRunRow.as_of))
                    .join(AlertRunRow, AlertRunRow.id == AlertRunItemRow.run_id)
                    .where(AlertRunItemRow.subscription_id.in_(chunk), AlertRunItemRow.alerts > 0)
                    .group_by(AlertRunItemRow.subscription_id)
                )
                out.update({sub: when for sub, when in rows})
        return out

    def ensure_subscriptions(self, *, max_alerts_per_run: int = 5) -> int:
        """Create a subscription for every profile with a job project that has none; returns how many.

        It mirrors the profile's declared preferences (project codes, commute, contracts, hours, salary
        floor); the person can edit it afterwards.
        """
        with write_session(self.engine) as session:
            missing = session.scalars(
                select(ProfileRow).where(~ProfileRow.id.in_(select(SubscriptionRow.profile_id)))
            ).all()
            rows = [
                {
                    "id": f"S{p.id}"[:64],
                    "profile_id": p.id,
                    "rome_codes": list(p.rome_codes),
                    "radius_km": p.max_commute_km or 30.0,
                    "contract_types": list(p.contract_types),
                    "excluded_contract_types": [],
                    "min_weekly_hours": p.min_weekly_hours,
                    "salary_floor_monthly": p.salary_floor_monthly,
                    "channel": "email",
                    "cadence": "weekly",
                    "max_alerts_per_run": max_alerts_per_run,
                    "active": True,
                }
                for p in missing
                if p.rome_codes
            ]
            if rows:
                session.execute(insert(SubscriptionRow), rows)
        return len(rows)

    # -- runs -----------------------------------------------------------------------------------------
    def start_or_resume_run(
        self,
        mode: str,
        *,
        model_version: str,
        index_version: str,
        as_of: datetime | None = None,
        offers_as_of: datetime | None = None,
    ) -> Run:
        """Resume the unfinished run of this mode (a crash left it), else start one ranking at ``as_of`` (now).

        ``offers_as_of`` is the latest offer reception the run's offer index reflects (``None``: an
        index not built from this database, which tells nothing): offers received after it are new to
        the next incremental run.
        """
        with write_session(self.engine) as session:
            running = session.scalars(
                select(AlertRunRow).where(AlertRunRow.status == "running", AlertRunRow.mode == mode)
            ).first()
            if running is not None:
                return Run(running.id, running.as_of, mode, resumed=True)
            started = self.clock.now()
            run = AlertRunRow(
                id=uuid.uuid4().hex,
                mode=mode,
                status="running",
                started_at=started,
                as_of=as_of or started,
                model_version=model_version,
                index_version=index_version,
                # receptions are stamped in real time (the engine's bookkeeping), whatever the clock says
                offers_as_of=min(offers_as_of, utcnow()) if offers_as_of is not None else None,
                subscriptions_done=0,
                alerts_created=0,
            )
            session.add(run)
            return Run(run.id, run.as_of, mode, resumed=False)

    def processed_subscriptions(self, run_id: str) -> set[str]:
        with Session(self.engine) as session:
            return set(
                session.scalars(
                    select(AlertRunItemRow.subscription_id).where(AlertRunItemRow.run_id == run_id)
                )
            )

    def offers_seen(self, subscription_ids: Sequence[str]) -> dict[str, datetime]:
        """For each subscription a finished run ranked, the latest ``offers_as_of`` of those runs.

        Offers received after it were not in the index of any run that ranked the subscription: they
        are what an incremental run must consider for it. A subscription no such run ranked (new,
        always waiting for its cadence, or ranked only with indexes not built from the database) is
        absent: every open offer is new to it.
        """
        seen = func.max(AlertRunRow.offers_as_of)
        out: dict[str, datetime] = {}
        with Session(self.engine) as session:
            for chunk in batches(subscription_ids):
                rows = session.execute(
                    select(AlertRunItemRow.subscription_id, seen)
                    .join(AlertRunRow, AlertRunRow.id == AlertRunItemRow.run_id)
                    .where(
                        AlertRunItemRow.subscription_id.in_(chunk),
                        AlertRunRow.status == "done",
                        AlertRunRow.offers_as_of.is_not(None),
                    )
                    .group_by(AlertRunItemRow.subscription_id)
                )
                out.update({sub: when for sub, when in rows if when is not None})
        return out

    def finish_run(self, run_id: str) -> dict[str, int]:
        with write_session(self.engine) as session:
            done = session.scalar(select(func.count()).where(AlertRunItemRow.run_id == run_id)) or 0
            created = (
                session.scalar(
                    select(func.sum(AlertRunItemRow.alerts)).where(AlertRunItemRow.run_id == run_id)
                )
                or 0
            )
            alerted = session.scalar(
                select(func.count()).where(AlertRunItemRow.run_id == run_id, AlertRunItemRow.alerts > 0)
            )
            session.execute(
                update(AlertRunRow)
                .where(AlertRunRow.id == run_id)
                .values(
                    status="done",
                    finished_at=self.clock.now(),
                    subscriptions_done=done,
                    alerts_created=created,
                )
            )
        return {"subscriptions": int(done), "alerts": int(created), "alerted": int(alerted or 0)}

    def record_alerts(
        self,
        run: Run,
        subscription: Subscription,
        ranked: pd.DataFrame,
        *,
        ranking: str,
        model_version: str,
        index_version: str,
    ) -> int:
        """Write one subscription's alerts, outbox, events, log row and progress marker atomically."""
        now = self.clock.now()
        list_id = alert_list_id(run.id, subscription.id)
        with write_session(self.engine) as session:
            rows = zip(
                ranked["offer_id"].tolist(), ranked["rank"].tolist(), ranked["score"].tolist(), strict=True
            )
            for offer_id, rank, score in rows:
                alert_id = session.scalar(
                    insert(AlertRow)
                    .values(
                        subscription_id=subscription.id,
                        profile_id=subscription.profile_id,
                        offer_id=offer_id,
                        run_id=run.id,
                        rank=int(rank),
                        score=float(score),
                        created_at=now,
                        status="new",
                    )
                    .returning(AlertRow.id)
                )
                session.execute(
                    insert(OutboxRow).values(
                        alert_id=alert_id,
                        channel=str(subscription.channel),
                        payload={
                            "profile_id": subscription.profile_id,
                            "offer_id": offer_id,
                            "rank": int(rank),
                        },
                        created_at=now,
                    )
                )
                session.execute(
                    insert(InteractionRow).values(
                        occurred_at=now,
                        event="alert_sent",
                        profile_id=subscription.profile_id,
                        offer_id=offer_id,
                        rank=int(rank),
                        list_id=list_id,
                        actor="system",
                    )
                )
            session.add(
                recommendation_row(
                    created_at=now,
                    kind="alerts",
                    actor_role="system",
                    actor_id=f"alert-run:{run.id}",
                    subject_id=subscription.profile_id,
                    ranking=ranking,
                    model_version=model_version,
                    index_version=index_version,
                    item_ids=ranked["offer_id"].tolist(),
                    scores=ranked["score"].tolist(),
                    request={"subscription_id": subscription.id, "run_id": run.id, "mode": run.mode},
                )
            )
            session.add(AlertRunItemRow(run_id=run.id, subscription_id=subscription.id, alerts=len(ranked)))
        return len(ranked)

    # -- API reads and writes -------------------------------------------------------------------------
    def alerts_of(self, profile_id: str, limit: int = 100) -> list[AlertRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.scalars(
                    select(AlertRow)
                    .where(AlertRow.profile_id == profile_id)
                    .order_by(AlertRow.created_at.desc(), AlertRow.rank)
                    .limit(limit)
                )
            )

    def alerts_by_ids(self, alert_ids: Iterable[int]) -> list[AlertRow]:
        """These alerts (those that exist), detached from their session."""
        wanted = sorted(set(alert_ids))
        out: list[AlertRow] = []
        with Session(self.engine, expire_on_commit=False) as session:
            for chunk in batches(wanted):
                out.extend(session.scalars(select(AlertRow).where(AlertRow.id.in_(chunk))))
        return out

    def alert(self, alert_id: int) -> AlertRow | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(AlertRow, alert_id)

    def subscriptions_of(self, profile_ids: Iterable[str]) -> dict[str, Subscription]:
        """Each person's subscription (the first by id, as :meth:`subscription_of`), by person."""
        wanted = sorted(set(profile_ids))
        out: dict[str, Subscription] = {}
        with Session(self.engine) as session:
            for chunk in batches(wanted):
                rows = session.scalars(
                    select(SubscriptionRow)
                    .where(SubscriptionRow.profile_id.in_(chunk))
                    .order_by(SubscriptionRow.id)
                )
                for row in rows:
                    out.setdefault(row.profile_id, row_to_subscription(row))
        return out

    def subscription_of(self, profile_id: str) -> Subscription | None:
        with Session(self.engine) as session:
            row = session.scalars(
                select(SubscriptionRow)
                .where(SubscriptionRow.profile_id == profile_id)
                .order_by(SubscriptionRow.id)
            ).first()
            return row_to_subscription(row) if row else None

    def update_subscription(self, subscription_id: str, changes: dict[str, Any]) -> None:
        if changes:
            with write_session(self.engine) as session:
                session.execute(
                    update(SubscriptionRow).where(SubscriptionRow.id == subscription_id).values(**changes)
                )

    def record_feedback(
        self,
        alert: AlertRow,
        *,
        event: str,
        status: str,
        reason: str | None,
        subscription_changes: dict[str, Any],
        undo: dict[str, Any] | None = None,
    ) -> None:
        """The event, the alert's new status and the subscription's update, in one transaction.

        ``undo`` (the subscription's values before and after the change, see
        :meth:`undo_answer`) is kept on the alert.
        """
        now = self.clock.now()
        with write_session(self.engine) as session:
            session.add(
                InteractionRow(
                    occurred_at=now,
                    event=event,
                    profile_id=alert.profile_id,
                    offer_id=alert.offer_id,
                    reason=reason,
                    rank=alert.rank,
                    list_id=alert_list_id(alert.run_id, alert.subscription_id),
                    actor="jobseeker",
                )
            )
            session.execute(
                update(AlertRow)
                .where(AlertRow.id == alert.id)
                .values(status=status, reason=reason, updated_at=now, undo=undo)
            )
            if subscription_changes:
                session.execute(
                    update(SubscriptionRow)
                    .where(SubscriptionRow.id == alert.subscription_id)
                    .values(**subscription_changes)
                )

    def undo_answer(self, alert_id: int) -> dict[str, Any] | None:
        """Take back a refusal: the alert gets its status before it again, the refusal event of its list
        is marked cancelled (kept, no longer read), and each subscription field the refusal changed goes
        back, unless something changed it since (a list field loses only what the refusal added).

        Returns
        -------
        dict or None
            The subscription fields put back, with their values now; ``None`` when the alert is not
            refused (any more: a double submit takes it back once).
        """
        restored: dict[str, Any] = {}
        now = self.clock.now()
        with write_session(self.engine) as session:
            alert = session.get(AlertRow, alert_id)
            if alert is None or alert.status != "refused":
                return None
            undo = alert.undo or {}
            refusal = session.scalars(
                select(InteractionRow)
                .where(
                    InteractionRow.profile_id == alert.profile_id,
                    InteractionRow.offer_id == alert.offer_id,
                    InteractionRow.list_id == alert_list_id(alert.run_id, alert.subscription_id),
                    InteractionRow.event == "refused",
                    InteractionRow.actor == "jobseeker",
                    InteractionRow.cancelled_at.is_(None),
                )
                .order_by(InteractionRow.occurred_at.desc(), InteractionRow.id.desc())
            ).first()
            if refusal is not None:
                refusal.cancelled_at = now
            subscription = session.get(SubscriptionRow, alert.subscription_id)
            if subscription is not None:
                before, after = undo.get("before", {}), undo.get("after", {})
                for name, old in before.items():
                    current = getattr(subscription, name)
                    if isinstance(old, list):  # only what the refusal added goes
                        added = [v for v in after.get(name, []) if v not in old]
                        restored[name] = [v for v in current if v not in added]
                    elif current == after.get(name):  # untouched since the refusal
                        restored[name] = old
                for name, value in restored.items():
                    setattr(subscription, name, value)
            alert.status, alert.reason, alert.undo = undo.get("status", "new"), None, None
            alert.updated_at = now
        return restored

    def add_event(
        self,
        event: str,
        profile_id: str,
        *,
        offer_id: str | None = None,
        reason: str | None = None,
        actor: str,
    ) -> None:
        with write_session(self.engine) as session:
            session.add(
                InteractionRow(
                    occurred_at=self.clock.now(),
                    event=event,
                    profile_id=profile_id,
                    offer_id=offer_id,
                    reason=reason,
                    actor=actor,
                )
            )

    def log_recommendation(self, **fields: Any) -> None:
        """Log a served list (see :func:`recommendation_row` for the fields)."""
        with write_session(self.engine) as session:
            session.add(recommendation_row(created_at=self.clock.now(), **fields))

    def sourcing_exposure(self, days: int = 7) -> dict[str, int]:
        """How many sourcing lists showed each person over the last ``days`` (for rotation)."""
        since = self.clock.now() - timedelta(days=days)
        counts: dict[str, int] = {}
        with Session(self.engine) as session:
            for items in session.scalars(
                select(RecommendationLogRow.item_ids).where(
                    RecommendationLogRow.kind == "sourcing", RecommendationLogRow.created_at >= since
                )
            ):
                for item in items:
                    counts[item] = counts.get(item, 0) + 1
        return counts

    # -- flags ----------------------------------------------------------------------------------------
    def flag(self, key: str) -> str | None:
        with Session(self.engine) as session:
            row = session.get(FlagRow, key)
            return row.value if row else None

    def set_flag(self, key: str, value: str, *, by: str) -> None:
        with write_session(self.engine) as session:
            session.merge(FlagRow(key=key, value=value, updated_at=self.clock.now(), updated_by=by))

    def kill_switch(self) -> bool:
        return self.flag(KILL_SWITCH) == "on"

    # -- offer search and viviers (counsellors) -------------------------------------------------------
    def search_offers(self, query: str | None, *, limit: int = 30) -> list[OfferListing]:
        """The latest open offers (published by today, not withdrawn nor expired), matching every word of
        ``query`` (or its gendered/plural variant, "saint" as "st"), or whose id is ``query``.

        A word matches the offer's id, title, appellation, ROME code or place label, whatever its accents
        and case (see :func:`~serving.storage.repository.offer_search_text`).

        Parameters
        ----------
        query
            Words (their first 100 characters: "infirmiere lyon", "M1805", "Nantes") or an offer id;
            ``None`` or empty: all offers.
        limit
            At most this many offers, newest first.
        """
        today = self.clock.today()
        statement = select(
            OfferRow.id, OfferRow.title, OfferRow.rome_code, OfferRow.contract_type, OfferRow.location_label
        ).where(
            OfferRow.withdrawn_at.is_(None),
            or_(OfferRow.expires_at.is_(None), OfferRow.expires_at > today),
            OfferRow.created_at < datetime.combine(today + timedelta(days=1), time.min, UTC),
        )
        if query and query.strip():
            wanted = query.strip()[:100]

            def matches(word: str) -> Any:
                return or_(
                    *(
                        OfferRow.search_text.like(f"%{_escaped(w)}%", escape="\\")
                        for w in search_variants(word)
                    )
                )

            # "saint-etienne" is two words: a label may write "ST ETIENNE" or "Saint-Étienne"
            words = [w for w in re.split(r"[\s\-'’]+", normalize_label(wanted)) if w]
            every_word = and_(*(matches(w) for w in words))
            statement = statement.where(or_(every_word, OfferRow.id == wanted))
        with Session(self.engine) as session:
            rows = session.execute(statement.order_by(OfferRow.created_at.desc()).limit(limit))
            return [OfferListing(*row) for row in rows]

    def add_vivier(self, owner_id: str, spec: dict[str, Any], profile_ids: list[str]) -> VivierRow:
        """Save a vivier (``spec``: label, ROME codes, centre, radius, horizon) filled with ``profile_ids``."""
        now = self.clock.now()
        row = VivierRow(owner_id=owner_id, **spec, created_at=now, refreshed_at=now, profile_ids=profile_ids)
        with write_session(self.engine, expire_on_commit=False) as session:
            session.add(row)
        return row

    def viviers_of(self, owner_id: str) -> list[VivierRow]:
        """A counsellor's viviers, oldest first."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.scalars(
                    select(VivierRow).where(VivierRow.owner_id == owner_id).order_by(VivierRow.id)
                )
            )

    def vivier(self, vivier_id: int) -> VivierRow | None:
        """The saved vivier with this id, detached from its session; ``None`` if there is none."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(VivierRow, vivier_id)

    def set_vivier_members(self, vivier_id: int, profile_ids: list[str]) -> VivierRow | None:
        """Replace a vivier's members, marked refreshed now; ``None`` when there is no such vivier."""
        with write_session(self.engine, expire_on_commit=False) as session:
            row = session.get(VivierRow, vivier_id)
            if row is not None:
                row.profile_ids, row.refreshed_at = profile_ids, self.clock.now()
            return row

    # -- counsellors' decisions and people's activity (sourcing cards) ---------------------------------
    def candidate_actions(self, offer_id: str) -> dict[str, CandidateAction]:
        """The counsellors' latest decision on each candidate of an offer: proposed or dismissed.

        Read from the event log (``counsellor_proposed`` / ``counsellor_dismissed`` of this offer), the
        latest per person, so that a candidate proposed after being dismissed is proposed again.
        """
        out: dict[str, CandidateAction] = {}
        with Session(self.engine) as session:
            rows = session.execute(
                select(
                    InteractionRow.profile_id,
                    InteractionRow.event,
                    InteractionRow.occurred_at,
                    InteractionRow.reason,
                )
                .where(
                    InteractionRow.offer_id == offer_id,
                    InteractionRow.event.in_(list(COUNSELLOR_DECISIONS)),
                    InteractionRow.cancelled_at.is_(None),
                )
                .order_by(InteractionRow.occurred_at, InteractionRow.id)
            )
            for profile_id, event, occurred_at, reason in rows:
                out[profile_id] = CandidateAction(COUNSELLOR_DECISIONS[event], occurred_at, reason)
        return out

    def undo_dismissal(self, offer_id: str, profile_id: str) -> bool:
        """Take back a counsellor's latest dismissal of a candidate for an offer: the event is marked
        cancelled (kept in the log, no longer read: the ranker does not learn from it, the candidate is
        listed again). ``False``: there was none."""
        with write_session(self.engine) as session:
            latest = session.scalars(
                select(InteractionRow)
                .where(
                    InteractionRow.offer_id == offer_id,
                    InteractionRow.profile_id == profile_id,
                    InteractionRow.event == "counsellor_dismissed",
                    InteractionRow.cancelled_at.is_(None),
                )
                .order_by(InteractionRow.occurred_at.desc(), InteractionRow.id.desc())
            ).first()
            if latest is None:
                return False
            latest.cancelled_at = self.clock.now()
        return True

    def last_activity(self, profile_ids: Iterable[str]) -> dict[str, tuple[datetime, str]]:
        """Each person's latest own action in the event log (``actor`` jobseeker) up to the clock's now:
        its moment and event. People without any are absent.
        """
        wanted = sorted(set(profile_ids))
        latest = func.max(InteractionRow.occurred_at).label("latest")
        now = self.clock.now()
        out: dict[str, tuple[datetime, str]] = {}
        with Session(self.engine) as session:
            for chunk in batches(wanted):
                mine = and_(
                    InteractionRow.profile_id.in_(chunk),
                    InteractionRow.actor == "jobseeker",
                    InteractionRow.occurred_at <= now,
                    InteractionRow.cancelled_at.is_(None),
                )
                last = (
                    select(InteractionRow.profile_id, latest)
                    .where(mine)
                    .group_by(InteractionRow.profile_id)
                    .subquery()
                )
                rows = session.execute(
                    select(InteractionRow.profile_id, InteractionRow.occurred_at, InteractionRow.event)
                    .join(
                        last,
                        and_(
                            InteractionRow.profile_id == last.c.profile_id,
                            InteractionRow.occurred_at == last.c.latest,
                        ),
                    )
                    .where(mine)
                    .order_by(InteractionRow.id)
                )
                out.update({pid: (when, event) for pid, when, event in rows})
        return out
