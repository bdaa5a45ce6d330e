"""``matching rome …`` (query and classify the ROME referential, ``eval rome``) and ``matching geo …``."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from entrypoints import bootstrap
from entrypoints.cli.common import (
    RomeDir,
    _progress,
    console,
    err_console,
    eval_app,
    geo_app,
    rome_app,
    stage_reporter,
    user_errors,
)
from entrypoints.settings import get_settings
from matching.encoders import CachedEncoder
from matching.errors import MatchingError
from matching.referential import Referential

if TYPE_CHECKING:
    from eval.rome import LabelledOffers
    from matching.rome_classifier import OfferText, RomeClassifier


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


def _labelled_offers(path: Path, referential: Referential) -> LabelledOffers:
    """The offers of a France Travail v2 JSON file with their ROME code as the engine files them."""
    from eval.rome import LabelledOffers
    from matching.ingest import read_offer_records

    data = LabelledOffers.from_records(read_offer_records(path), referential)
    if not len(data):
        raise MatchingError(f"{path}: no offer with a title and a ROME code of {referential.version}")
    return data


def _classifier_encoder(spec: str | None) -> CachedEncoder | None:
    """The classifier's encoder: ``--encoder``, else ``MATCHING_ROME_ENCODER``; ``none``: lexical only."""
    spec = spec or get_settings().rome_encoder
    return None if spec == "none" else bootstrap.encoder(spec=spec)


def _default_examples() -> Path | None:
    """The reference data's real offers, when they are there: the labelled titles of a default build."""
    path = get_settings().reference_data / "offers_ft_api_v2" / "offers.json"
    return path if path.is_file() else None


RomeEncoderOption = Annotated[
    str | None,
    typer.Option(
        "--encoder",
        help="The classifier's title embedding: 'none' (lexical), 'e5-onnx', 'e5', 'use' or a model folder "
        "(default: MATCHING_ROME_ENCODER, else 'none').",
    ),
]


@rome_app.command("build")
@user_errors
def rome_build(
    examples: Annotated[
        Path | None,
        typer.Option(
            help="Labelled offers (FT v2 JSON) for the title memory (default: the reference data's offers, "
            "if present); 'none' for the referential alone."
        ),
    ] = None,
    rome_dir: RomeDir = None,
    encoder: RomeEncoderOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Build again even if the saved one is up to date.")
    ] = False,
) -> None:
    """Build the ROME classifier (label index, learned weights, title memory) and save it in
    MATCHING_ROME_CLASSIFIER_DIR for `rome classify` (skipped when the saved one is up to date)."""
    _build_classifier(examples, rome_dir, encoder, force, console)


def _build_classifier(
    examples: Path | None, rome_dir: Path | None, encoder: str | None, force: bool, say: Console
) -> None:
    """`rome build`, saying what it did on ``say`` (standard error when `rome classify` builds first)."""
    from matching.artifacts import sha256_file
    from matching.rome_classifier import RomeClassifier

    ref = bootstrap.referential(rome_dir=rome_dir)
    source = _default_examples() if examples is None else None if str(examples) == "none" else examples
    spec = encoder or get_settings().rome_encoder
    wanted = {
        "referential": ref.version,
        "encoder_spec": None if spec == "none" else spec,
        "examples_sha256": sha256_file(source) if source is not None and source.is_file() else None,
    }
    folder = get_settings().rome_classifier_dir
    if not force and _saved_manifest(folder).get("build") == wanted:
        say.print(f"ROME classifier up to date in {folder} (--force to build it again)")
        return
    data = _labelled_offers(source, ref) if source is not None else None
    enc = _classifier_encoder(spec)
    with err_console.status("indexing the referential and learning the signals' weights"):
        classifier = RomeClassifier(ref, encoder=enc).fit(
            data.texts if data else [], data.codes if data else []
        )
    classifier.save(folder, encoder_spec=wanted["encoder_spec"], build=wanted)
    if enc is not None:
        bootstrap.save_cache(enc)
    say.print(
        f"ROME classifier for {ref.version} ({enc.name if enc else 'lexical'}, "
        f"{classifier.n_examples_:,} labelled titles) saved in {folder}"
    )
    used = [f"{name} {w:.2f}" for name, w in classifier.weights().items() if w >= 0.01]
    say.print("signal weights: " + ", ".join(used) + " (the others 0)")


def _saved_manifest(folder: Path) -> dict[str, Any]:
    """An artifact folder's manifest (the ROME classifier's, the Formacode links'), ``{}`` when there is
    none or it cannot be read."""
    from matching.artifacts import read_manifest_file

    try:
        return read_manifest_file(folder, "ROME classifier", MatchingError)
    except MatchingError:
        return {}


def saved_up_to_date(folder: Path, wanted: dict[str, Any], load: Callable[[], object], what: str) -> bool:
    """Whether ``folder`` holds an artifact built from ``wanted`` (its manifest's ``build``) that
    ``load`` still reads; one altered since is said on standard error and counts as out of date."""
    if _saved_manifest(folder).get("build") != wanted:
        return False
    try:
        load()
    except MatchingError as error:
        err_console.print(f"{error}: building {what} again")
        return False
    console.print(f"{what} up to date in {folder} (--force to build again)")
    return True


@rome_app.command("classify")
@user_errors
def rome_classify(
    text: Annotated[str, typer.Argument(help="Free text, e.g. a job title.")],
    description: Annotated[str, typer.Option(help="The offer's description, if any.")] = "",
    competence: Annotated[
        list[str] | None, typer.Option(help="A ROME competence code (code_ogr) the offer lists; repeatable.")
    ] = None,
    k: Annotated[int, typer.Option("--top", "-k", min=1, max=20, help="How many codes.")] = 5,
) -> None:
    """Rank ROME codes for an offer's title (and description, competences), with probabilities, with
    the classifier `matching rome build` saved (built first if there is none)."""
    from matching.rome_classifier import OfferText, RomeClassifier, RomeClassifierError

    if not text.strip() and not description.strip():
        raise MatchingError("nothing to classify: give a title (or a --description)")
    settings = get_settings()
    folder = settings.rome_classifier_dir
    manifest = _saved_manifest(folder)
    if not manifest:
        err_console.print(f"no ROME classifier in {folder}: building it (once)")
        _build_classifier(None, None, None, True, err_console)
        manifest = _saved_manifest(folder)
    asked = settings.rome_encoder if "rome_encoder" in settings.model_fields_set else None
    if asked is not None and (None if asked == "none" else asked) != manifest.get("encoder_spec"):
        raise MatchingError(
            f"the saved ROME classifier uses encoder {manifest.get('encoder_spec') or 'none'}, "
            f"MATCHING_ROME_ENCODER says {asked}: run `matching rome build`"
        )
    try:
        classifier = RomeClassifier.load(
            folder, None, encoder=bootstrap.rome_classifier_encoder(manifest.get("encoder_spec"))
        )
    except RomeClassifierError as error:
        raise MatchingError(f"{error}: run `matching rome build --force`") from None
    unknown = [c for c in competence or () if not classifier.knows_competence(c)]
    if unknown:
        err_console.print(
            f"competence code(s) unknown to {classifier.version_}, not read: {', '.join(unknown)}"
        )
    offer = OfferText(text, description, tuple(competence or ()))
    for code, probability in classifier.classify(offer, k):
        console.print(f"{code}  {probability:.3f}  {classifier.fiche_label(code)}")


def _throughput(classifier: RomeClassifier, texts: Sequence[OfferText]) -> dict[str, float]:
    """Texts classified per second in one batch: the titles alone, then the whole offers."""
    from matching.rome_classifier import OfferText

    out = {}
    for name, batch in (("titles", [OfferText(t.title) for t in texts]), ("offers", list(texts))):
        started = time.perf_counter()
        classifier.predict(batch, 3)
        out[name] = len(batch) / max(time.perf_counter() - started, 1e-9)
    return out


@eval_app.command("rome")
@user_errors
def eval_rome(
    offers: Annotated[
        Path, typer.Option("--offers", help="Labelled offers (FT v2 JSON): title, description -> ROME code.")
    ],
    rome_dir: RomeDir = None,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Folds of the transfer splits.")] = 5,
    encoder: RomeEncoderOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """ROME coding on splits that test transfer (labels only, leave codes out, leave regions out): ours
    against a character TF-IDF baseline, exact code and parent fiche, top-1/top-3, calibration error.

    The headline is the worst split; the 20 most frequent confusions are those of that split.
    """

    from eval.rome import SPLITS, confusions, evaluate_split
    from matching.rome_classifier import RomeClassifier, TfidfBaseline

    ref = bootstrap.referential(rome_dir=rome_dir)
    data = _labelled_offers(offers, ref)
    enc = _classifier_encoder(encoder)
    methods = {
        "tfidf baseline": lambda t, c: TfidfBaseline(ref).fit(t, c).predict,
        "ours": lambda t, c: RomeClassifier(ref, encoder=enc).fit(t, c).predict,
    }
    steps = [(split, name) for split in SPLITS for name in methods]
    results = {}
    with _progress() as progress:
        report = stage_reporter(progress, "coding offers:")
        for done, (split, name) in enumerate(steps):
            report("splits × methods", done, len(steps))
            results[(split, name)] = evaluate_split(methods[name], data, split, ref, folds=folds)
        report("splits × methods", len(steps), len(steps))
    throughput = _throughput(RomeClassifier(ref, encoder=enc).fit(), data.texts)
    if enc is not None:
        bootstrap.save_cache(enc)
    worst = min(SPLITS, key=lambda split: results[(split, "ours")].metrics["parent top-1"])
    rows = {f"{split} · {name}": results[(split, name)].metrics for split, name in results}
    confused = confusions(results[(worst, "ours")], data)
    if json_out:
        console.print_json(
            json.dumps(
                {
                    "offers": len(data),
                    "headline": worst,
                    "splits": rows,
                    "confusions": confused,
                    "throughput per s": throughput,
                }
            )
        )
        return
    table = Table(
        title=f"ROME coding of {len(data):,} offers ({ref.version}, encoder {enc.name if enc else 'none'}, "
        f"{folds} folds)"
    )
    table.add_column("split · method")
    metrics = list(next(iter(rows.values())))
    for metric in metrics:
        table.add_column(metric.upper() if metric == "ece" else metric, justify="right")
    for name, scores in rows.items():
        table.add_row(name, *(f"{scores[m]:.3f}" for m in metrics))
    console.print(table)
    best = results[(worst, "ours")].metrics
    baseline = results[(worst, "tfidf baseline")].metrics
    console.print(f"headline: {worst} (the worst split)")
    for metric in ("parent top-1", "parent top-3", "exact top-1", "exact top-3"):
        console.print(
            f"{metric} {best[metric]:.3f} (tfidf {baseline[metric]:.3f}, {best[metric] - baseline[metric]:+.3f})"
        )
    console.print(f"calibration error (ECE) {best['ece']:.3f}")
    console.print(
        f"throughput (labels-only classifier, one batch, this machine): {throughput['titles']:,.0f} titles/s, "
        f"{throughput['offers']:,.0f} offers/s with their descriptions and competences"
    )
    console.print("most frequent confusions (true → predicted, offers):")
    for truth, predicted, count in confused:
        console.print(
            f"  {truth} {ref.fiches[truth].label} → {predicted} {ref.fiches[predicted].label}: {count}"
        )


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
