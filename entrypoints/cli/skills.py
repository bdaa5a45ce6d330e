"""``matching skills``: build the skill extractor from real offers that list their competences, read an
offer's skills with it; ``matching eval skills``: how well it reads them, on held-out offers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from entrypoints import bootstrap
from entrypoints.cli.common import RomeDir, console, err_console, eval_app, skills_app, user_errors
from entrypoints.cli.formacode import saved_rome_classifier
from entrypoints.cli.referential import saved_up_to_date
from entrypoints.settings import get_settings
from matching.errors import MatchingError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matching.domain import Offer
    from matching.encoders.base import Encoder
    from matching.referential import Referential
    from matching.skills import OffersWithSkills

OffersOption = Annotated[
    Path | None,
    typer.Option(
        help="Real offers (France Travail v2 JSON) whose listed competences are learned from "
        "(default: the reference data's)."
    ),
]
EncoderOption = Annotated[
    str,
    typer.Option(
        help="Encoder of the title-similarity signal: 'none' (lexical, the default: the embedding was "
        "measured to add nothing) or 'e5-onnx', 'e5'…"
    ),
]


def _offers_file(offers: Path | None) -> Path:
    from serving.batch.formacode import OFFERS

    path = offers or get_settings().reference_data / OFFERS
    if not path.is_file():
        raise MatchingError(f"offers file not found: {path} (give --offers, or set MATCHING_REFERENCE_DATA)")
    return path


def _labelled(
    path: Path, referential: Referential, offers: Sequence[Offer] | None = None
) -> OffersWithSkills:
    """The offers of ``path`` that list their skills (``offers``: those of ``path`` already parsed)."""
    from matching.ingest import read_offer_records
    from matching.skills import OffersWithSkills

    with err_console.status(f"reading {path.name}"):
        if offers is None:
            data = OffersWithSkills.from_records(read_offer_records(path), referential)
        else:
            data = OffersWithSkills.from_offers(offers, referential)
    if not len(data):
        raise MatchingError(f"no offer of {path} lists a ROME competence or savoir: nothing to learn from")
    return data


def _encoder(spec: str) -> Encoder | None:
    return bootstrap.rome_classifier_encoder(None if spec == "none" else spec)


@skills_app.command("build")
@user_errors
def skills_build(
    offers: OffersOption = None,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = "none",
    force: Annotated[
        bool, typer.Option("--force", help="Build again even if the saved extractor is up to date.")
    ] = False,
) -> None:
    """Learn which ROME competences offers ask for from the real offers that list theirs, and save the
    extractor in MATCHING_SKILL_EXTRACTOR_DIR for the ingest (skipped when up to date)."""
    from matching.artifacts import sha256_file
    from matching.skills import ARTIFACT_FORMAT, SkillExtractor, SkillExtractorError

    settings = get_settings()
    ref = bootstrap.referential(rome_dir=rome_dir)
    path = _offers_file(offers)
    wanted = {
        "format": ARTIFACT_FORMAT,
        "referential": ref.version,
        "encoder_spec": None if encoder == "none" else encoder,
        "offers": sha256_file(path),
    }
    folder = settings.skill_extractor_dir
    if not force and saved_up_to_date(
        folder, wanted, lambda: bootstrap.skill_extractor(ref, settings), "skill extractor"
    ):
        return
    data = _labelled(path, ref)
    with err_console.status(f"learning from {len(data):,} offers that list their competences"):
        try:
            extractor = SkillExtractor(ref, _encoder(encoder)).fit(data.queries, data.listed)
        except SkillExtractorError as error:
            raise MatchingError(str(error)) from None
    extractor.save(folder, build=wanted)
    console.print(
        f"skill extractor learned from {len(data):,} offers ({len({q.rome_code for q in data.queries})} "
        f"ROME codes; {data.without:,} offers list none); saved in {folder}"
    )


@skills_app.command("extract")
@user_errors
def skills_extract(
    title: Annotated[str, typer.Argument(help="The offer's title.")],
    description: Annotated[str, typer.Option(help="The offer's description.")] = "",
    rome: Annotated[
        str | None, typer.Option(help="The offer's ROME code (default: the ROME classifier's for the title).")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="How many skills to show.")] = 10,
    rome_dir: RomeDir = None,
) -> None:
    """Read the skills an offer asks for with the saved extractor: codes, labels and the probability
    that the offer would list each; those the ingest stores as inferred are marked."""
    from rich.table import Table

    from matching.ingest import fit_rome_classifier
    from matching.rome_classifier import OfferText
    from matching.skills import SkillQuery

    ref = bootstrap.referential(rome_dir=rome_dir)
    extractor = bootstrap.skill_extractor(ref)
    if extractor is None:
        raise MatchingError("no skill extractor: run `matching skills build` first")
    if not title.strip():
        raise MatchingError("nothing to extract: the title is empty")
    if rome is None:  # the saved ROME classifier's code for title and description, else one fitted now
        classifier = saved_rome_classifier(ref) or fit_rome_classifier(ref)
        code, _ = classifier.classify(OfferText(title, description), 1)[0]
    elif rome.strip().upper() not in ref.fiches:
        raise MatchingError(f"{rome!r} is not a ROME code of the referential {ref.version}")
    else:
        code = rome.strip().upper()
    query = SkillQuery(title, description, code)
    codes, probabilities = extractor.extract(query, k)
    kept = set(extractor.infer([query])[0][0])
    table = Table(title=f"{title} — {code} {ref.fiches[code].label}")
    for column in ("code", "compétence / savoir", "probabilité", "stockée"):
        table.add_column(column)
    for skill, probability in zip(codes, probabilities, strict=True):
        table.add_row(skill, ref.skills[skill].label, f"{probability:.2f}", "oui" if skill in kept else "")
    console.print(table)
    if extractor.cold(code):
        console.print(
            f"No offer of domain {code[:3]} was learned from: the fiche's skills in the export's order (core "
            "first), each with the share of learned offers listing the skill at that place."
        )


@eval_app.command("skills")
@user_errors
def eval_skills(
    offers: OffersOption = None,
    rome_dir: RomeDir = None,
    encoder: EncoderOption = "none",
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Skill extraction on real offers that list their competences: each offer's list held out and read
    from its text by an extractor that never learned from it (held-out lists, codes, domains), beside
    the fiche's core skills and label matching; the 20 most frequent misses; offers/s."""
    import json

    from eval.skills import SPLITS, evaluate_extraction, extraction_speed
    from matching.encoders.base import CachedEncoder
    from matching.ingest import parse_offer, read_offer_records
    from matching.skills import SkillExtractor, SkillQuery

    ref = bootstrap.referential(rome_dir=rome_dir)
    path = _offers_file(offers)
    # parsed once: the labelled ones are evaluated, all are extracted for the speed
    parsed = [o for o in (parse_offer(raw, referential=ref).offer for raw in read_offer_records(path)) if o]
    data = _labelled(path, ref, parsed)
    enc = _encoder(encoder)
    if enc is not None:  # the 33,655 labels embedded once for the 15 extractors fitted, not each time
        enc = CachedEncoder(enc)
    with err_console.status("evaluating") as status:
        report = evaluate_extraction(data, ref, lambda: SkillExtractor(ref, enc), progress=status.update)
        status.update("measuring the extraction's speed on every offer of the file")
        queries = [SkillQuery(o.title, o.description, o.rome_code) for o in parsed]
        extractor = SkillExtractor(ref, enc).fit(data.queries, data.listed)
        speed = extraction_speed(extractor, queries)
    figures = report.as_dict() | {"offers_per_second": speed, "speed_offers": len(queries)}
    if json_out:
        console.print_json(json.dumps(figures, ensure_ascii=False))
        return
    console.print(
        f"{report.offers:,} offers list a known ROME skill ({report.distinct_lists} distinct lists, "
        f"{report.codes} ROME codes; {report.offers_without_skills:,} list none); precision@5 cannot "
        f"exceed {report.ceiling_precision:.3f} (offers listing fewer than 5)"
    )
    for split in SPLITS:
        console.print(f"[bold]{split}[/bold]")
        for name, values in report.splits[split].items():
            console.print(
                f"  {name:<18} " + "  ".join(f"{metric} {value:.3f}" for metric, value in values.items())
            )
    console.print(
        f"stored as inferred (held-out lists): {report.inferred_per_offer:.2f} skills per offer, "
        f"{report.inferred_precision:.1%} of them listed by the offer"
    )
    console.print("most frequent misses (listed, not in the first 10; held-out lists):")
    for code, label, missed, listed in report.misses:
        console.print(f"  {code} {label}: missed {missed} of {listed}")
    console.print(
        f"extraction: {speed:,.0f} offers/s over {len(queries):,} offers ({enc.name if enc else 'lexical'})"
    )
