"""``matching ingest …``, ``matching sample`` (simulated worlds) and ``matching db …``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from entrypoints import bootstrap
from entrypoints.cli.common import (
    CommunesFile,
    DatabaseUrl,
    RomeDir,
    _progress,
    app,
    console,
    db_app,
    err_console,
    ingest_app,
    stage_reporter,
    user_errors,
)
from eval.simulator.config import MarketConfig
from matching.domain import Precision
from matching.errors import MatchingError
from matching.ingest import ROME_RESOLUTIONS
from serving.batch.ingest import MAX_CLOSED_SHARE

if TYPE_CHECKING:
    from eval.simulator.config import MarketAnchor
    from matching.geo import Communes
    from matching.referential import Referential
    from serving.batch.ingest import OfferIngest


FullExtract = Annotated[
    bool,
    typer.Option(
        "--full",
        help="The offers are France Travail's full extract of open offers: stored France Travail offers "
        "missing from it are closed (filled or withdrawn at the source), listed ones are open again.",
    ),
]
MaxClosedShare = Annotated[
    float,
    typer.Option(
        "--max-closed-share",
        min=0.0,
        max=1.0,
        help="With --full, refuse an extract that would close more than this share of the open France "
        "Travail offers (a truncated download looks like that).",
    ),
]


# -- ingest -------------------------------------------------------------------------------------------
def ingest_offer_files(
    path: Path,
    *,
    full: bool = False,
    max_closed_share: float = MAX_CLOSED_SHARE,
    dry_run: bool = False,
    rome_dir: Path | None = None,
    communes_file: Path | None = None,
    database_url: str | None = None,
) -> OfferIngest:
    """:func:`serving.batch.ingest.ingest_offers` on the files of ``path``, with a progress bar.

    The database is migrated first, except in a dry run (which reads it only with ``full``, and then
    needs it up to date).
    """
    from serving.batch.ingest import ingest_offers, read_offer_files
    from serving.storage.db import ensure_schema, migrate

    records = read_offer_files(path)
    engine = bootstrap.engine(database_url=database_url)
    if not dry_run:
        migrate(engine)
    elif full:
        ensure_schema(engine)
    referential = bootstrap.referential(rome_dir=rome_dir)
    skills = bootstrap.skill_extractor(referential)
    with _progress() as progress:
        task = progress.add_task("parsing offers", total=len(records))
        return ingest_offers(
            records,
            bootstrap.repository(database_url=database_url),
            referential=referential,
            communes=bootstrap.communes(communes_file=communes_file),
            skills=skills,
            full=full,
            max_closed_share=max_closed_share,
            dry_run=dry_run,
            on_record=lambda: progress.advance(task),
        )


@ingest_app.command("offers")
@user_errors
def ingest_offers(
    path: Annotated[
        Path,
        typer.Argument(
            help="Offers in France Travail 'Offres d'emploi v2' JSON (array, API page or JSON lines), or "
            "a folder of such files."
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Parse and report without writing.")] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="With --dry-run: print one JSON object per record with the fields as read (ROME code and "
            "whether inferred, appellation, place with its precision and coordinates, contract, weekly "
            "hours, monthly salary range, problems); the counts go to standard error.",
        ),
    ] = False,
    full: FullExtract = False,
    max_closed_share: MaxClosedShare = MAX_CLOSED_SHARE,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Parse offers, report field-level problems, and upsert them (same id: update, not duplicate)."""
    if as_json:
        if not dry_run:
            raise MatchingError("--json prints what the parser read without storing it: add --dry-run")
        _print_normalised_offers(path, rome_dir=rome_dir, communes_file=communes_file)
        return
    done = ingest_offer_files(
        path,
        full=full,
        max_closed_share=max_closed_share,
        dry_run=dry_run,
        rome_dir=rome_dir,
        communes_file=communes_file,
        database_url=database_url,
    )
    report = done.report
    _print_ingest_report(report)
    counts = done.counts
    closing = f"{done.closed} {'would be ' if dry_run else ''}closed (not in the full extract)"
    if not dry_run:
        console.print(
            f"stored: {counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged"
            + (f", {counts.republished} open again" if full else "")
            + (f", {counts.conflicts} left to another publisher (same id)" if counts.conflicts else "")
            + (f", {counts.older} older than stored (kept the stored one)" if counts.older else "")
            + (f"; {closing}" if full else "")
        )
    elif full:
        console.print(
            f"{closing}, of {done.open_before} open"
            + (" — a real run would refuse this extract (see --max-closed-share)" if done.refused else "")
        )
    if report.superseded:
        console.print(f"versions left for a newer one of the same id: {report.superseded}")
    if done.skills_inferred is None:
        console.print("skills read from the texts: none (no skill extractor: run `matching skills build`)")
    else:
        console.print(
            f"offers with skills read from their text: {done.skills_inferred} of {report.parsed} parsed "
            "(beside those they list)"
        )
    console.print(f"parsed {report.parsed} rejected {report.rejected}")
    for (field, problem), count in sorted(report.rejections.items(), key=lambda kv: -kv[1]):
        console.print(f"  rejected {count}: {field}: {problem}")


@ingest_app.command("trainings")
@user_errors
def ingest_trainings_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="An LHEO 2.2 / 2.3 XML file (full export or search summary) or a Mon Compte Formation "
            "catalogue CSV, or a folder of them."
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and report; store nothing.")] = False,
    xsd: Annotated[
        Path | None,
        typer.Option(help="LHEO 2.3 XSD to check the documents against (default: the reference data's)."),
    ] = None,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Read training sessions from LHEO catalogues and courses from Mon Compte Formation catalogues
    (no sessions: dates to confirm) and store them as trainings (same id: replaced, not duplicated),
    with the ROME competences their Formacodes teach (`matching formacode build`); counts per file and
    per problem, and the share of Formacodes linked, by source."""
    from serving.batch.trainings import ingest_trainings, training_files
    from serving.storage.db import migrate

    files = training_files(path)
    schema = bootstrap.lheo_schema(xsd=xsd)
    if schema is None:
        err_console.print("no LHEO XSD found (--xsd): the documents are read without the schema's check")
    repository = None
    if not dry_run:
        migrate(bootstrap.engine(database_url=database_url))
        repository = bootstrap.repository(database_url=database_url)
    ref = bootstrap.referential(rome_dir=rome_dir)
    try:
        links = bootstrap.formacode_links(ref)
    except MatchingError as error:  # links for another referential, or altered: read on without them
        err_console.print(
            f"Formacode links not used ({error}): trainings are stored without the skills they teach"
        )
        links = None
    else:
        if links is None:
            err_console.print(
                "no Formacode links (`matching formacode build`): trainings are stored without the skills they teach"
            )
    with _progress() as progress:
        task = progress.add_task("reading training files", total=len(files))
        run = ingest_trainings(
            files,
            repository,
            referential=ref,
            communes=bootstrap.communes(communes_file=communes_file),
            schema=schema,
            links=links,
            on_file=lambda: progress.advance(task),
        )
    for done in run.files:
        if done.error:
            console.print(f"[red]{done.error}[/red]")  # it names the file
        elif done.shape == "catalogue":
            console.print(
                f"{done.path.name}: Mon Compte Formation catalogue, {done.sessions} courses, "
                f"{done.trainings} trainings (dates to confirm)"
            )
        else:
            console.print(
                f"{done.path.name}: LHEO {done.version} ({'full export' if done.shape == 'offres' else 'summary'}), "
                f"{done.sessions} sessions, {done.trainings} trainings"
            )
    for (name, problem), count in sorted(run.problems.items(), key=lambda kv: (-kv[1], kv[0])):
        console.print(f"  {count}: {name}: {problem}")
    kept = sum(f.trainings for f in run.files)
    if links is not None and run.formacodes:
        share = links.coverage(run.formacodes)
        console.print(
            f"Formacodes: {len(run.formacodes)} distinct, {share['any']:.0%} linked to a ROME competence "
            f"(referentiel {share['referentiel']:.0%}, offres {share['offres']:.0%}, embedding "
            f"{share['embedding']:.0%}); {run.with_skills} of {kept} trainings teach a linked competence"
        )
    console.print(
        f"read {len(run.files) - len(run.failed)} of {len(run.files)} files, {kept} trainings"
        + (" (dry run: nothing stored)" if dry_run else f", {run.stored} stored")
    )
    if run.failed:
        raise MatchingError(f"{len(run.failed)} file(s) could not be read (above)")


def _print_normalised_offers(path: Path, *, rome_dir: Path | None, communes_file: Path | None) -> None:
    """One JSON line per record on standard output (:func:`matching.ingest.normalised.normalised`)."""
    from matching.ingest import parse_offer, rome_classifier_for
    from matching.ingest.normalised import normalised
    from serving.batch.ingest import read_offer_files

    records = read_offer_files(path)
    referential = bootstrap.referential(rome_dir=rome_dir)
    communes = bootstrap.communes(communes_file=communes_file)
    classifier = rome_classifier_for(records, referential)
    refused = 0
    with _progress() as progress:
        task = progress.add_task("parsing offers", total=len(records))
        for raw in records:
            result = parse_offer(raw, referential=referential, communes=communes, classifier=classifier)
            refused += result.offer is None
            sys.stdout.write(json.dumps(normalised(raw, result), ensure_ascii=False) + "\n")
            progress.advance(task)
    err_console.print(f"{len(records)} records read, {len(records) - refused} accepted, {refused} refused")


def _print_ingest_report(report: Any) -> None:
    if report.warnings:
        table = Table(title="fields dropped or corrected (offer kept)")
        for column in ("field", "problem", "offers"):
            table.add_column(column)
        for (field, problem), count in sorted(report.warnings.items(), key=lambda kv: -kv[1]):
            table.add_row(field, problem, str(count))
        console.print(table)
    console.print(
        f"salary parsed {report.coverage(report.salary_parsed, report.salary_stated, report.salary_unread)}; "
        f"weekly hours parsed {report.coverage(report.hours_parsed, report.hours_stated, report.hours_unread)}; "
        f"geolocated {report.located}/{report.parsed}"
    )
    if report.places:
        # the order of matching.domain.Precision: from a point to nowhere
        order = {str(p): k for k, p in enumerate(Precision)}
        console.print(
            "places: "
            + ", ".join(
                f"{count} {level}"
                for level, count in sorted(report.places.items(), key=lambda kv: order.get(kv[0], 99))
            )
        )
    if report.rome_resolutions:
        console.print(
            "ROME codes: "
            + "; ".join(
                f"{report.rome_resolutions[key]} {description}"
                for key, description in ROME_RESOLUTIONS.items()
                if report.rome_resolutions[key]
            )
        )


# -- sample -------------------------------------------------------------------------------------------
# The command's defaults are the simulator's: the committed sample world is `matching sample` as is.
_SIM_DEFAULTS: dict[str, int] = {
    name: int(field.default)
    for name, field in MarketConfig.model_fields.items()
    if name in {"n_profiles", "n_offers", "n_trainings", "months", "seed"}
}


# Above this many profiles a world is generated chunk by chunk straight to Parquet (entities only).
STREAM_ABOVE_PROFILES = 250_000


@app.command("sample")
@user_errors
def sample(
    profiles: Annotated[int, typer.Option(help="Number of jobseeker profiles (10 to 2M).")] = _SIM_DEFAULTS[
        "n_profiles"
    ],
    offers: Annotated[int, typer.Option(help="Number of job offers.")] = _SIM_DEFAULTS["n_offers"],
    trainings: Annotated[int, typer.Option(help="Number of training courses.")] = _SIM_DEFAULTS[
        "n_trainings"
    ],
    months: Annotated[
        int | None,
        typer.Option(
            help=f"Months of interactions to simulate (0: entities only). Default "
            f"{_SIM_DEFAULTS['months']}, or 0 above {STREAM_ABOVE_PROFILES:,} profiles."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed gives the same world.")
    ] = _SIM_DEFAULTS["seed"],
    market: Annotated[
        str,
        typer.Option(
            help="How simulated people decide: one market model of the family (thresholds, utility, "
            "travel_time, own_pay, schedule, relaxing, cascade, noisy_reasons; see data/sample/README.md)."
        ),
    ] = "thresholds",
    out: Annotated[Path | None, typer.Option(help="Output folder (default: data/sample/world).")] = None,
    chunk_rows: Annotated[
        int, typer.Option(help="Rows generated at once when streaming a national-size world.", min=1)
    ] = 100_000,
    load: Annotated[bool, typer.Option("--load", help="Also load the world into the database.")] = False,
    anchor_offers: Annotated[
        Path | None,
        typer.Option(
            "--anchor-offers",
            help="Real offers (France Travail v2 JSON) to anchor the world on: most people, offers and "
            "trainings are drawn at their communes and in their occupations (or ones leading to them).",
        ),
    ] = None,
    lheo: Annotated[
        Path | None,
        typer.Option(
            "--lheo",
            help="Also write the world's trainings as an LHEO 2.3 catalogue to this file (read it with "
            "`matching ingest trainings`; with --load, the trainings are left to it).",
        ),
    ] = None,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Generate a seeded synthetic market (profiles, offers, trainings, interactions) as Parquet.

    Worlds above 250,000 profiles are national-size: their entities are generated chunk by chunk and
    streamed to Parquet (bounded memory), without interactions. With --anchor-offers, the real offers'
    occupations and areas get jobseekers (a demo world for serving real offers).
    """
    from pydantic import ValidationError

    from entrypoints.settings import get_settings
    from eval.simulator import simulate_market, write_world
    from eval.simulator.stream import write_world_streaming

    streamed = profiles > STREAM_ABOVE_PROFILES
    if months is None:
        months = 0 if streamed else _SIM_DEFAULTS["months"]
    if streamed and months:
        raise MatchingError(
            f"interactions are simulated in memory, up to {STREAM_ABOVE_PROFILES:,} profiles; "
            "a national-size world holds entities only: use --months 0"
        )
    if lheo is not None and (lheo.is_dir() or lheo.name in ("", ".", "..")):
        raise MatchingError(f"--lheo names a file to write, not a folder: {lheo}")
    if streamed and (load or lheo is not None):
        raise MatchingError(
            "--load and --lheo read the whole world into memory: use them on worlds of at most "
            f"{STREAM_ABOVE_PROFILES:,} profiles"
        )
    try:
        config = MarketConfig(
            n_profiles=profiles,
            n_offers=offers,
            n_trainings=trainings,
            months=months,
            seed=seed,
            market=market,  # pydantic checks the name (one line, exit 2)
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise MatchingError(f"invalid sample settings: {problems}") from None
    ref = bootstrap.referential(rome_dir=rome_dir)
    geo = bootstrap.communes(communes_file=communes_file)
    folder = out or get_settings().sample_dir
    if out is None:
        _keep_the_sample_world(folder, ref.version)
    if anchor_offers is not None:
        config = config.model_copy(update={"anchor": _anchor(anchor_offers, ref, geo)})
    with _progress() as progress:
        report = stage_reporter(progress, "writing" if streamed else "simulating")

        if streamed:
            counts = write_world_streaming(ref, geo, config, folder, chunk_rows=chunk_rows, progress=report)
        else:
            world = simulate_market(ref, geo, config, progress=report)
            write_world(world, folder)
            counts = {table: len(getattr(world, table)) for table in world.TABLES}
    console.print(f"world written to {folder} ({ref.version}, seed {seed})")
    for table, rows in counts.items():
        console.print(f"  {table}: {rows:,} rows")
    if lheo is not None:
        _write_lheo(world, lheo, ref, geo)
    if load:
        # with --lheo, the trainings reach the database through the catalogue (`ingest trainings`)
        _load_world(world, database_url, trainings=lheo is None)


def _keep_the_sample_world(folder: Path, version: str) -> None:
    """Refuse to replace the default world by one on another referential (the committed sample world
    is made on the built-in one, which is no longer the default when the reference data is there)."""
    from eval.simulator import read_manifest

    if not (folder / "manifest.json").is_file():
        return
    made_on = read_manifest(folder)["referential_version"]
    if made_on != version:
        raise MatchingError(
            f"{folder} holds a world made on {made_on}, not {version}: pass --out DIR for this one, or "
            "--rome-dir builtin --communes builtin to generate that one again"
        )


def _anchor(offers_file: Path, ref: Referential, geo: Communes) -> MarketAnchor:
    """The anchor of a world on real offers: their (commune, ROME code) pairs (see ``eval.simulator.anchor``)."""
    from eval.simulator.anchor import anchor_from_offers
    from matching.ingest import parse_offers, read_offer_records, rome_classifier_for

    records = read_offer_records(offers_file)
    classifier = rome_classifier_for(records, ref)  # codes the offers without a romeCode, if any
    with _progress() as progress:
        task = progress.add_task("reading the anchor offers", total=len(records))
        offers, _report = parse_offers(
            records,
            referential=ref,
            communes=geo,
            classifier=classifier,
            on_record=lambda: progress.advance(task),
        )
    if not offers:
        raise MatchingError(
            f"none of the {len(records):,} offers of {offers_file} has a ROME code of {ref.version}: "
            "anchor on the official referential (--rome-dir)"
        )
    anchor = anchor_from_offers(offers, geo)
    console.print(
        f"anchored on {len(offers):,} offers: {len(anchor.seeds):,} (commune, occupation) seeds, "
        f"{len({s[0] for s in anchor.seeds}):,} communes, {len({s[1] for s in anchor.seeds}):,} ROME codes"
    )
    return anchor


def _write_lheo(world: Any, path: Path, referential: Referential, communes: Any) -> None:
    """The world's dated trainings as an LHEO 2.3 document, written atomically; with Formacode links
    (`matching formacode build`), each course filed under the real Formacode that teaches most of its
    skills, as a catalogue would (else under the world's own code, which teaches nothing once read)."""
    from eval.simulator.lheo import trainings_lheo
    from eval.simulator.records import world_trainings

    trainings = [t for t in world_trainings(world) if t.start_date is not None]
    try:
        links = bootstrap.formacode_links(referential)
    except MatchingError as error:  # stale or altered links: the world's own codes
        err_console.print(f"Formacode links not used ({error}): the trainings keep the world's codes")
        links = None
    if links is not None:
        trainings = [
            t.model_copy(update={"formacode": links.formacode_teaching(t.skills) or t.formacode})
            for t in trainings
        ]
    if not trainings:  # LHEO holds at least one formation
        err_console.print(f"no dated training in the world: no LHEO catalogue written to {path}")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.tmp")
    try:
        staging.write_bytes(trainings_lheo(trainings, communes))
        staging.replace(path)
    except OSError as error:
        staging.unlink(missing_ok=True)
        raise MatchingError(f"cannot write {path}: {error.strerror}") from None
    console.print(f"{len(trainings):,} trainings written as LHEO 2.3 to {path}")


def _load_world(world: Any, database_url: str | None, *, trainings: bool = True) -> None:
    from entrypoints.world_loader import load_world
    from serving.storage.db import migrate

    migrate(bootstrap.engine(database_url=database_url))
    with err_console.status("loading into the database") as status:
        counts = load_world(
            world,
            bootstrap.repository(database_url=database_url),
            lambda t: status.update(f"loading {t}"),
            communes=bootstrap.communes(),  # simulated offers named by their commune, as real ones are
            trainings=trainings,
        )
    console.print("loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


# -- db -----------------------------------------------------------------------------------------------
@db_app.command("upgrade")
@user_errors
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the schema to the latest migration."""
    from serving.storage.db import current_revision, migrate

    engine = bootstrap.engine(database_url=database_url)
    migrate(engine)
    console.print(
        f"schema at revision {current_revision(engine)} ({engine.url.render_as_string(hide_password=True)})"
    )


@db_app.command("load-world")
@user_errors
def db_load_world(
    folder: Annotated[Path, typer.Argument(help="World folder written by `matching sample`.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Load a simulated world into the database (reloading replaces its events, never duplicates)."""
    from eval.simulator import read_world

    _load_world(read_world(folder), database_url)
