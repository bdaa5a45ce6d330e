"""``matching rome …`` (query and classify the ROME referential, ``eval rome``) and ``matching geo …``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from entrypoints import bootstrap
from entrypoints.cli.common import (
    EncoderOption,
    RomeDir,
    console,
    err_console,
    eval_app,
    geo_app,
    rome_app,
    user_errors,
)
from entrypoints.settings import get_settings
from matching.encoders import CachedEncoder
from matching.errors import MatchingError


# -- rome ---------------------------------------------------------------------------------------------
@rome_app.command("info")
@user_errors
def rome_info(rome_dir: RomeDir = None) -> None:
    """Print the referential's version and table sizes."""
    ref = bootstrap.referential(rome_dir=rome_dir)
    table = Table(title=ref.version)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in ref.counts().items():
        table.add_row(name, f"{count:,}")
    console.print(table)


@rome_app.command("show")
@user_errors
def rome_show(code: str, rome_dir: RomeDir = None) -> None:
    """Show a fiche: parent, appellations, core skills, mobility neighbours."""
    ref = bootstrap.referential(rome_dir=rome_dir)
    fiche = ref.fiche(code.upper())
    parent = ref.parent(fiche.code)
    console.print(f"[bold]{fiche.code}[/] {fiche.label}")
    console.print(
        f"domain {fiche.domain_code} {ref.domains.get(fiche.domain_code, '')} | parent {parent.code} {parent.label}"
    )
    if fiche.definition:
        console.print(fiche.definition)
    apps = ref.appellations_of(fiche.code)
    console.print(
        f"[bold]appellations[/] ({len(apps)}): "
        + "; ".join(a.label for a in apps[:10])
        + (" …" if len(apps) > 10 else "")
    )
    skills = ref.skills_of(fiche.code)
    console.print(
        f"[bold]core skills[/] ({len(skills.core)}): "
        + "; ".join(ref.skill(s).label for s in skills.core[:8])
    )
    console.print(f"other skills: {len(skills.other)}")
    neighbours = ref.mobility_neighbours(fiche.code)
    console.print("[bold]mobility[/]: " + ", ".join(f"{t} (rank {r})" for t, r in neighbours))


@rome_app.command("appellation")
@user_errors
def rome_appellation(code: str, rome_dir: RomeDir = None) -> None:
    """Show an appellation (OGR code) and its fiche."""
    ref = bootstrap.referential(rome_dir=rome_dir)
    app_ = ref.appellation(code)
    fiche = ref.fiche_of_appellation(code)
    console.print(f"{app_.code} {app_.label} -> {fiche.code} {fiche.label}")


@rome_app.command("distance")
@user_errors
def rome_distance(source: str, target: str, rome_dir: RomeDir = None) -> None:
    """ROME distance from SOURCE to TARGET: same, parent/child, sibling, mobility rank k, domain, far."""
    ref = bootstrap.referential(rome_dir=rome_dir)
    d = ref.rome_distance(source.upper(), target.upper())
    rank = f" rank {d.mobility_rank}" + (" (via parents)" if d.via_parent else "") if d.mobility_rank else ""
    console.print(
        f"{source.upper()} -> {target.upper()}: {d.relation.name.lower()}{rank} (level {int(d.relation)})"
    )


def _labelled_titles(path: Path) -> tuple[list[str], list[str]]:
    """Titles and ROME codes of labelled offers (France Travail v2 JSON)."""
    from matching.ingest import read_offer_records

    titles, codes = [], []
    for raw in read_offer_records(path):
        if isinstance(raw, dict) and isinstance(raw.get("romeCode"), str):
            title = raw.get("intitule") or raw.get("appellationlibelle")
            if isinstance(title, str) and title.strip():
                titles.append(title)
                codes.append(raw["romeCode"])
    if not titles:
        raise MatchingError(f"{path}: no offer with a title and a romeCode")
    return titles, codes


def _classifier_encoder(spec: str | None) -> CachedEncoder | None:
    """The classifier's encoder: ``--encoder``, else ``MATCHING_ENCODER``; ``none`` means lexical only."""
    spec = spec or get_settings().encoder
    return None if spec == "none" else bootstrap.encoder(spec=spec)


@rome_app.command("classify")
@user_errors
def rome_classify(
    text: Annotated[str, typer.Argument(help="Free text, e.g. a job title.")],
    k: Annotated[int, typer.Option("-k", min=1, max=20, help="How many codes.")] = 5,
    examples: Annotated[
        Path | None, typer.Option(help="Labelled offers (FT v2 JSON) used as a kNN memory.")
    ] = None,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = None,
) -> None:
    """Rank ROME codes for a free text, with confidences."""
    from matching.rome_classifier import RomeClassifier

    ref = bootstrap.referential(rome_dir=rome_dir)
    enc = _classifier_encoder(encoder)
    titles, codes = _labelled_titles(examples) if examples else ([], [])
    with err_console.status("indexing the referential's labels"):
        classifier = RomeClassifier(ref, encoder=enc).fit(titles, codes)
    for code, confidence in classifier.classify(text, k):
        console.print(f"{code}  {confidence:.3f}  {ref.fiche(code).label}")
    if enc is not None:
        bootstrap.save_cache(enc)


@eval_app.command("rome")
@user_errors
def eval_rome(
    offers: Annotated[
        Path, typer.Option("--offers", help="Labelled offers (FT v2 JSON): title -> romeCode.")
    ],
    rome_dir: RomeDir = None,
    folds: Annotated[
        int, typer.Option(min=2, max=20, help="Folds for the runs that learn from labelled titles.")
    ] = 5,
    encoder: EncoderOption = None,
) -> None:
    """ROME classification accuracy (exact code and parent fiche, top-1/top-3): ours vs a character TF-IDF baseline.

    Zero-shot rows use the referential's labels only; "+ examples" rows also learn from the labelled
    titles, evaluated out-of-fold.
    """
    from eval.rome import cross_validated_accuracy, rome_accuracy
    from matching.rome_classifier import RomeClassifier, TfidfBaseline

    ref = bootstrap.referential(rome_dir=rome_dir)
    titles, codes = _labelled_titles(offers)
    unknown = sorted({c for c in codes if c not in ref.fiches})
    if unknown:
        raise MatchingError(
            f"{len(unknown)} ROME code(s) of the offers are not in {ref.version}: {', '.join(unknown[:5])}"
        )
    enc = _classifier_encoder(encoder)
    rows: dict[str, dict[str, float]] = {}
    with err_console.status("evaluating") as status:
        status.update("TF-IDF baseline, zero-shot")
        rows["tfidf baseline (labels)"] = rome_accuracy(TfidfBaseline(ref).fit().predict, titles, codes, ref)
        status.update("ours, zero-shot (encoding the referential's labels)")
        rows["ours (labels)"] = rome_accuracy(
            RomeClassifier(ref, encoder=enc).fit().predict, titles, codes, ref
        )
        status.update("TF-IDF baseline with examples, cross-validated")
        rows[f"tfidf baseline + examples ({folds}-fold)"] = cross_validated_accuracy(
            lambda t, c: TfidfBaseline(ref).fit(t, c).predict, titles, codes, ref, folds=folds
        )
        status.update("ours with examples, cross-validated")
        rows[f"ours + examples ({folds}-fold)"] = cross_validated_accuracy(
            lambda t, c: RomeClassifier(ref, encoder=enc).fit(t, c).predict, titles, codes, ref, folds=folds
        )
    if enc is not None:
        bootstrap.save_cache(enc)
    table = Table(
        title=f"ROME classification on {len(titles):,} offers ({ref.version}, encoder {enc.name if enc else 'none'})"
    )
    table.add_column("method")
    metrics = list(next(iter(rows.values())))
    for metric in metrics:
        table.add_column(metric, justify="right")
    for name, scores in rows.items():
        table.add_row(name, *(f"{scores[m]:.3f}" for m in metrics))
    console.print(table)
    best = rows[f"ours + examples ({folds}-fold)"]
    for metric in ("parent top-1", "parent top-3", "exact top-1", "exact top-3"):
        console.print(f"{metric} {best[metric]:.2f}")


# -- geo ----------------------------------------------------------------------------------------------
@geo_app.command("build-fallback")
@user_errors
def geo_build_fallback(
    communes_file: Annotated[Path, typer.Option("--communes", help="La Poste commune base CSV.")],
    out: Annotated[Path, typer.Option(help="Output CSV.")] = Path("matching/geo_data/departements.csv"),
    cog: Annotated[
        Path | None,
        typer.Option(help="INSEE COG commune CSV (v_commune), for each département's region."),
    ] = None,
) -> None:
    """Compute the built-in fallback (département centroids, extents, regions and a main commune each)
    from the La Poste base."""
    from matching.geo import build_department_table, load_laposte, read_cog_regions, write_department_table

    rows = build_department_table(load_laposte(communes_file), read_cog_regions(cog) if cog else None)
    write_department_table(rows, out)
    console.print(f"{len(rows)} départements written to {out}")
