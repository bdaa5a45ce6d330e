"""``matching alerts deliver | contacts | bounces``: alert e-mails handed over, addresses, bounces."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import DatabaseUrl, _progress, console, err_console, user_errors
from entrypoints.cli.serving import alerts_app
from matching.errors import MatchingError

if TYPE_CHECKING:
    from serving.batch.delivery import DeliverySummary

SmtpUrl = Annotated[
    str | None,
    typer.Option(
        "--smtp-url",
        help="SMTP server, e.g. smtp://user:password@host:587?starttls=require (default: MATCHING_SMTP_URL; "
        "unset: the Maildir MATCHING_MAIL_DIR, var/mail).",
    ),
]
#: An address as forms check it (WHATWG's "valid e-mail address"): enough to refuse a typo or a
#: column swap; the server says the rest.
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def parse_shard(value: str) -> tuple[int, int]:
    """``"i/n"`` → ``(i, n)``, with ``0 <= i < n``.

    Raises
    ------
    MatchingError
        Anything else.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise MatchingError(f"--shard: expected i/n with 0 <= i < n (e.g. 0/4), got {value!r}")
    return int(match[1]), int(match[2])


def deliver_alerts(
    *,
    smtp_url: str | None = None,
    database_url: str | None = None,
    shard: tuple[int, int] = (0, 1),
    limit: int | None = None,
    rate_per_domain: float | None = None,
) -> DeliverySummary:
    """Run the dispatcher on the database with the configured transport, with a progress line."""
    from sqlalchemy.exc import SQLAlchemyError

    from matching.errors import StorageError
    from serving.batch.delivery import deliver_digests
    from serving.mail.digest import DigestComposer
    from serving.storage.db import ensure_schema
    from serving.storage.delivery import DeliveryStore

    settings = bootstrap.get_settings()
    bootstrap.check_mail_delivery(settings, smtp_url)
    transport = bootstrap.mail_transport(settings, smtp_url)
    engine = bootstrap.engine(settings, database_url)
    ensure_schema(engine)
    container = bootstrap.delivery_container(settings, database_url=database_url)
    assert container.mail is not None
    composer = DigestComposer(container, container.mail)
    store = DeliveryStore(engine, clock=container.clock)
    with _progress() as bar:
        task = bar.add_task("gathering alerts into digests", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total, description="handing digests over")

        try:
            return deliver_digests(
                store,
                composer,
                transport,
                shard=shard,
                rate_per_domain=rate_per_domain or settings.smtp_rate_per_domain,
                limit=limit,
                progress=progress,
            )
        except SQLAlchemyError as error:  # the database went away mid-run: every digest keeps its state
            raise StorageError(
                f"database error during delivery: {error.__class__.__name__}: {getattr(error, 'orig', None) or error}"
            ) from None


def delivery_line(summary: DeliverySummary) -> str:
    """One line saying what a dispatcher run did."""
    if summary.locked:
        return "deliver: another dispatcher holds this shard; nothing done"
    g = summary.gathered
    waiting = {
        "without an address": g.no_address,
        "address paused": g.paused,
        "in quiet hours": g.quiet,
        "not due (cadence)": g.cadence,
        "with a digest on its way": g.pending,
    }
    said = ", ".join(f"{n:,} {why}" for why, n in waiting.items() if n)
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    return (
        f"deliver: {g.digests:,} digests gathered ({g.rows:,} alerts), {summary.sent:,} sent, "
        f"{summary.retried:,} to retry, {summary.failed:,} failed (address paused), {summary.dropped:,} dropped "
        f"(offers withdrawn); {summary.seconds:.1f} s ({rate:.0f} e-mails/s)"
        + (f"; {g.app_only:,} alerts shown on the pages only" if g.app_only else "")
        + (f"; people waiting: {said}" if said else "")
        + (
            f"; {summary.settled:,} left mid-handover by a stopped run, counted sent"
            if summary.settled
            else ""
        )
        + (
            f"; {summary.errors:,} could not be rendered (retried later, see the log)"
            if summary.errors
            else ""
        )
        + (f"; {summary.taken:,} left to another dispatcher" if summary.taken else "")
    )


@alerts_app.command("deliver")
@user_errors
def alerts_deliver(
    smtp_url: SmtpUrl = None,
    shard: Annotated[
        str,
        typer.Option(
            help="This dispatcher's share, i/n: n dispatchers, each with its own i, share the people."
        ),
    ] = "0/1",
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most this many digests.")] = None,
    rate_per_domain: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="E-mails per second to one recipient domain (default: MATCHING_SMTP_RATE_PER_DOMAIN, 10).",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Send the waiting alerts: one French e-mail digest per person, each offer with one-click answers.

    Killed at any moment and started again, it neither loses nor duplicates an e-mail. Exit code 1
    when the SMTP server cannot be reached (every digest waits for the next run).
    """
    summary = deliver_alerts(
        smtp_url=smtp_url,
        database_url=database_url,
        shard=parse_shard(shard),
        limit=limit,
        rate_per_domain=rate_per_domain,
    )
    console.print(delivery_line(summary), soft_wrap=True)
    if summary.stopped:
        err_console.print(
            f"[bold red]error:[/] delivery stopped: {summary.stopped}; the rest waits for the next run"
        )
        raise typer.Exit(code=1)


@alerts_app.command("contacts")
@user_errors
def alerts_contacts(
    file: Annotated[Path, typer.Argument(help="CSV with a header: profile_id,email (UTF-8).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Store where each person's alerts are e-mailed; a changed address lifts a pause.

    The whole file is checked first: one wrong line and nothing is stored.
    """
    from serving.storage.db import ensure_schema
    from serving.storage.delivery import DeliveryStore

    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"profile_id", "email"} <= {f.strip() for f in reader.fieldnames}:
                raise MatchingError(
                    f"{file}: expected a header with profile_id and email, got {reader.fieldnames}"
                )
            pairs: dict[str, str] = {}
            for line, row in enumerate(reader, start=2):
                profile = (row.get("profile_id") or "").strip()
                email = (row.get("email") or "").strip()
                if not profile or not EMAIL.match(email):
                    raise MatchingError(
                        f"{file}, line {line}: expected a profile id and an e-mail address, got {profile!r}, {email!r}"
                    )
                pairs[profile] = email
    except UnicodeDecodeError:
        raise MatchingError(f"{file}: not UTF-8 text") from None
    engine = bootstrap.engine(database_url=database_url)
    ensure_schema(engine)
    added, changed = DeliveryStore(engine).set_contacts(pairs.items())
    console.print(
        f"contacts: {added:,} added, {changed:,} changed, {len(pairs) - added - changed:,} unchanged"
    )


@alerts_app.command("bounces")
@user_errors
def alerts_bounces(
    path: Annotated[Path, typer.Argument(help="A bounce (.eml), or a folder of them (a Maildir).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Read delivery status notifications (RFC 3464) and pause the addresses that failed for good.

    Only reports that return one of our digests (their Message-ID) count: a forged one pauses nothing.
    """
    from serving.mail.bounces import permanent_failures, report_files
    from serving.storage.db import ensure_schema
    from serving.storage.delivery import DeliveryStore

    if not path.exists():
        raise MatchingError(f"{path}: no such file or folder")
    engine = bootstrap.engine(database_url=database_url)
    ensure_schema(engine)
    store = DeliveryStore(engine)
    files = report_files(path)
    ours = bootstrap.mail_settings().domain
    bounces = [b for f in files for b in permanent_failures(f.read_bytes(), ours=ours)]
    paused = sum(store.pause_address(b.address, f"bounce {b.status} {b.diagnostic}".strip()) for b in bounces)
    console.print(
        f"bounces: {len(files):,} messages read, {len(bounces):,} permanent failures, {paused:,} addresses paused"
    )
