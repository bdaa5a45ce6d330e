"""``matching formacode``: build the Formacode → ROME competence links, show a code's links; ``matching
eval poe``: POE suggestions from the real catalogues for the real offers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import (
    CommunesFile,
    RomeDir,
    _progress,
    console,
    err_console,
    eval_app,
    formacode_app,
    user_errors,
)
from entrypoints.cli.referential import _saved_manifest, saved_up_to_date
from entrypoints.settings import get_settings
from matching.errors import MatchingError

if TYPE_CHECKING:
    from matching.formacode import FormacodeSkillLinker, TitleCoder
    from matching.referential import Referential
    from matching.rome_classifier import RomeClassifier


def saved_rome_classifier(referential: Referential) -> RomeClassifier | None:
    """The saved ROME classifier (``matching rome build``) when one was built for this referential,
    else ``None`` (why said on standard error when one is there but refused)."""
    from matching.rome_classifier import RomeClassifier, RomeClassifierError

    folder = get_settings().rome_classifier_dir
    manifest = _saved_manifest(folder)
    if not manifest:
        return None
    try:
        return RomeClassifier.load(
            folder, referential, encoder=bootstrap.rome_classifier_encoder(manifest.get("encoder_spec"))
        )
    except RomeClassifierError as error:
        err_console.print(f"ROME classifier not used ({error})")
        return None


def saved_title_coder(referential: Referential) -> TitleCoder | None:
    """The saved ROME classifier's top codes for a ROME v2 job title, when one was built for this
    referential; ``None`` (exact appellations only) otherwise."""
    classifier = saved_rome_classifier(referential)
    if classifier is None:
        return None
    return lambda title: classifier.classify(title, 3)


def _load_links(folder: Path, referential: Referential) -> FormacodeSkillLinker:
    from matching.formacode import FormacodeLinksError, FormacodeSkillLinker

    try:
        return FormacodeSkillLinker.load(folder, referential)
    except FormacodeLinksError as error:
        raise MatchingError(str(error)) from None


@formacode_app.command("build")
@user_errors
def formacode_build(
    offers: Annotated[
        Path | None,
        typer.Option(
            help="Real offers (FT v2 JSON) whose Formacodes and ROME codes are evidence (default: the reference data's)."
        ),
    ] = None,
    rome_dir: RomeDir = None,
    encoder: Annotated[
        str | None, typer.Option(help="Encoder of the labels (default: MATCHING_ENCODER, the project's).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Build again even if the saved links are up to date.")
    ] = False,
) -> None:
    """Link every Formacode of the reference data's tables, offers and catalogues to the ROME
    competences it teaches (Centre Inffo's tables, real offers, the encoder for the rest) and save the
    links in MATCHING_FORMACODE_LINKS_DIR for `ingest trainings` (skipped when up to date)."""
    from matching.formacode import ARTIFACT_FORMAT
    from serving.batch.formacode import FormacodeSources, build_formacode_links

    settings = get_settings()
    ref = bootstrap.referential(rome_dir=rome_dir)
    sources = FormacodeSources.under(settings.reference_data, offers)
    if offers is not None and not offers.is_file():
        raise MatchingError(f"offers file not found: {offers}")
    enc = bootstrap.encoder(spec=encoder)
    classifier = _saved_manifest(settings.rome_classifier_dir)
    wanted = {
        "format": ARTIFACT_FORMAT,
        "referential": ref.version,
        "encoder": enc.name,
        "sources": sources.checksums(),
        # the classifier codes the tables' ROME v2 titles: one built (or rebuilt) since changes them
        "rome_classifier": classifier.get("files") if classifier.get("referential") == ref.version else None,
    }
    folder = settings.formacode_links_dir
    if not force and saved_up_to_date(folder, wanted, lambda: _load_links(folder, ref), "Formacode links"):
        return
    coder = saved_title_coder(ref)
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(f"embedding {stage} labels", total=total)
            progress.update(tasks[stage], completed=done)

        linker = build_formacode_links(sources, ref, enc, title_coder=coder, progress=report)
    linker.save(folder, build=wanted)
    bootstrap.save_cache(enc)
    counts = linker.source_counts()
    linked = sum(bool(found) for found in linker.links_.values())
    console.print(
        f"{len(linker.links_):,} Formacodes, {linked:,} linked to a ROME competence "
        f"({', '.join(f'{source} {n:,} links' for source, n in counts.items())}); saved in {folder}"
    )


@formacode_app.command("show")
@user_errors
def formacode_show(
    code: Annotated[str, typer.Argument(help="A 5-digit Formacode (V12 or V13).")],
    rome_dir: RomeDir = None,
) -> None:
    """The ROME competences a Formacode teaches, with each link's source and confidence."""
    from matching.ingest.formacode import formacode

    current = formacode(code)
    if current is None:
        raise MatchingError(f"{code!r} is not a Formacode: five digits, e.g. 31081")
    ref = bootstrap.referential(rome_dir=rome_dir)
    linker = bootstrap.formacode_links(ref)
    if linker is None:
        raise MatchingError(
            f"no Formacode links in {get_settings().formacode_links_dir}: run `matching formacode build`"
        )
    links = linker.links(current)
    if not links:
        raise MatchingError(f"Formacode {code}: no link to a ROME competence (unknown or not linked)")
    for link in links:
        via = (
            f" via {link.fiche} {ref.fiches[link.fiche].label}"
            if link.fiche and link.fiche in ref.fiches
            else ""
        )
        console.print(
            f"{link.skill}  {link.confidence:.2f}  {link.source}{via}  {ref.skills[link.skill].label}"
        )


def _default_catalogues() -> list[Path]:
    """The reference data's real catalogues: the LHEO documents and the Mon Compte Formation samples."""
    from serving.batch.formacode import CATALOGUES

    root = get_settings().reference_data
    folders = [root / "trainings/lheo/examples/official_2.2", root / "trainings/lheo/examples/intercarif"]
    return [folder for folder in [*folders, root / CATALOGUES] if folder.is_dir()]


@eval_app.command("poe")
@user_errors
def eval_poe(
    offers: Annotated[
        Path | None, typer.Option(help="Real offers (FT v2 JSON; default: the reference data's).")
    ] = None,
    trainings: Annotated[
        list[Path] | None,
        typer.Option(
            "--trainings",
            help="LHEO / Mon Compte Formation files or folders (repeatable; default: the reference data's).",
        ),
    ] = None,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """POE suggestions on real data: for each real offer, a person at the workplace without its
    competences asks for trainings of the real catalogues (read with the Formacode links), as of the
    offer's day; how many offers get one, by catalogue, with example explanations."""
    import json

    from eval.poe import real_poe_suggestions
    from matching.ingest import parse_offer, read_offer_records
    from serving.batch.formacode import OFFERS
    from serving.batch.trainings import ingest_trainings, training_files

    ref = bootstrap.referential(rome_dir=rome_dir)
    links = bootstrap.formacode_links(ref)
    if links is None:
        raise MatchingError(
            "no Formacode links: run `matching formacode build` first (trainings teach nothing without)"
        )
    communes = bootstrap.communes(communes_file=communes_file)
    offers_file = offers or get_settings().reference_data / OFFERS
    records = read_offer_records(offers_file)
    files = [f for path in (trainings or _default_catalogues()) for f in training_files(path)]
    if not files:
        raise MatchingError("no training catalogue given (--trainings) nor found in the reference data")
    run = ingest_trainings(files, None, referential=ref, communes=communes, links=links)
    for failed in run.failed:
        err_console.print(f"[red]{failed.error}[/red]")
    if not run.trainings:
        raise MatchingError(f"no training read from {len(files)} file(s): nothing to suggest")
    with _progress() as progress:
        task = progress.add_task("parsing offers", total=len(records))
        parsed = []
        for raw in records:
            offer = parse_offer(raw, referential=ref, communes=communes).offer
            if offer is not None:
                parsed.append(offer)
            progress.advance(task)
    enc = bootstrap.encoder()
    with err_console.status(f"suggesting trainings for {len(parsed):,} offers"):
        report = real_poe_suggestions(parsed, run.trainings, ref, enc)
    bootstrap.save_cache(enc)
    figures = {
        "trainings": len(run.trainings),
        "trainings_teaching_a_competence": run.with_skills,
    } | report.as_dict()
    if json_out:
        console.print_json(json.dumps(figures, ensure_ascii=False))
        return
    console.print(
        f"{len(run.trainings)} trainings read from {len(files)} files ({run.with_skills} teach a linked competence); "
        f"{report.offers:,} real offers with a ROME code and a place, {report.with_gap:,} with missing competences"
    )
    by = ", ".join(f"{name} {n:,}" for name, n in sorted(report.by_catalogue.items())) or "none"
    console.print(
        f"offers with a POE suggestion: {report.with_suggestion:,} ({report.suggestions:,} suggestions; by catalogue: {by})"
    )
    for offer, suggestion in report.examples:
        console.print(f"  {offer.id} {offer.title}: {suggestion.explanation}")


@eval_app.command("formacode")
@user_errors
def eval_formacode(
    rome_dir: RomeDir = None,
    encoder: Annotated[
        str | None, typer.Option(help="Encoder of the labels (default: MATCHING_ENCODER, the project's).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Formacode links built without the real offers, against the competences the offers naming each
    Formacode list: coverage and precision, beside chance and the offers' fiches' core competences."""
    import json

    from eval.formacode import offer_agreement
    from matching.formacode import FormacodeSkillLinker
    from matching.ingest.formacode import read_offer_formations, read_rome_v2_formacodes
    from serving.batch.formacode import FormacodeSources, read_source, read_thesaurus

    settings = get_settings()
    ref = bootstrap.referential(rome_dir=rome_dir)
    sources = FormacodeSources.under(settings.reference_data)
    if sources.offers is None:
        raise MatchingError(f"no real offers under {settings.reference_data}: nothing to compare with")
    thesaurus, _ = read_thesaurus(sources)
    offers = read_offer_formations(read_source(sources.offers))
    rome_v2 = read_rome_v2_formacodes(read_source(sources.rome_v2)) if sources.rome_v2 else []
    enc = bootstrap.encoder(spec=encoder)
    with err_console.status("linking the offers' Formacodes without the offers"):
        linker = FormacodeSkillLinker(ref, enc).fit(
            thesaurus, rome_v2=rome_v2, codes=sorted({o.formacode for o in offers})
        )
    bootstrap.save_cache(enc)
    figures = offer_agreement(linker, thesaurus, offers, ref)
    if json_out:
        console.print_json(json.dumps(figures))
        return
    for name, value in figures.items():
        console.print(
            f"{name:>18}  {value:.4f}" if value < 1 or name == "coverage" else f"{name:>18}  {value:,.0f}"
        )
