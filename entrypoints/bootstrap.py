"""The one place that wires settings to concrete parts: referential, geography, database."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from entrypoints.settings import BUILTIN, Settings, get_settings, is_builtin
from matching.clock import Clock
from matching.encoders import CachedEncoder, Encoder, load_encoder
from matching.errors import MatchingError
from matching.geo import Communes, load_communes
from matching.referential import Referential, load_referential

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from features.tables import MarketTables
    from matching.encoders.base import Progress
    from matching.formacode import FormacodeSkillLinker
    from matching.skills import SkillExtractor
    from models.pipeline import RankingService
    from models.registry import ModelRegistry
    from serving.batch.distributed import Context, Loader
    from serving.container import ServingContainer
    from serving.links import MailSettings
    from serving.mail.transport import MailTransport
    from serving.storage.repository import SqlRepository


@lru_cache(maxsize=4)
def _referential(rome_dir: Path | None) -> Referential:
    return load_referential(rome_dir)


@lru_cache(maxsize=4)
def _communes(communes_file: Path | None) -> Communes:
    return load_communes(communes_file)


def _chosen(given: Path | None, configured: Path | None) -> Path | None:
    """An option given on the command line (``builtin``: ``None``), else the setting."""
    if given is None:
        return configured
    return None if is_builtin(given) else given


def referential(settings: Settings | None = None, rome_dir: Path | None = None) -> Referential:
    """The official export of ``rome_dir`` (else ``MATCHING_ROME_DIR``, else the reference data's), or the
    built-in referential when that is ``builtin`` or there is none."""
    return _referential(_chosen(rome_dir, (settings or get_settings()).rome_dir))


def communes(settings: Settings | None = None, communes_file: Path | None = None) -> Communes:
    """The La Poste base of ``communes_file`` (else ``MATCHING_COMMUNES_FILE``, else the reference data's),
    or the built-in département centroids when that is ``builtin`` or there is none."""
    return _communes(_chosen(communes_file, (settings or get_settings()).communes_file))


def referential_of_world(
    folder: Path, version: str, settings: Settings | None = None, rome_dir: Path | None = None
) -> Referential:
    """The referential a world (or anything made on one) was generated on, from its recorded ``version``.

    A world made on the built-in referential reads with it whatever the settings say (the committed
    sample world is one); any other needs the official export of that version: ``rome_dir`` when given,
    else the configured one.

    Raises
    ------
    MatchingError
        No referential at hand has that version; the message names the fix.
    """
    if rome_dir is None and version == _referential(None).version:
        return _referential(None)
    chosen = referential(settings, rome_dir)
    if chosen.version == version:
        return chosen
    where = "--rome-dir" if rome_dir is not None else "MATCHING_ROME_DIR"
    raise MatchingError(
        f"{folder} was generated on {version}, not on {chosen.version} ({where}): pass --rome-dir with "
        f"the {version} referential ('{BUILTIN}' for the built-in one), or generate it again with "
        f"`matching sample --out {folder}`"
    )


@dataclass(frozen=True)
class EncoderChoice:
    """An encoder and how it is run: what an index version records, and what loads it again.

    Attributes
    ----------
    spec
        ``e5``, ``e5-onnx``, ``use``, ``hashing`` or a sentence-transformers folder.
    int8
        PyTorch dynamic int8 (sentence-transformers models only).
    max_tokens
        Truncation of the inputs (``None``: the model's own limit).
    """

    spec: str
    int8: bool = False
    max_tokens: int | None = None

    def info(self) -> dict[str, str]:
        """The choice as an index version's ``info`` entries (strings)."""
        return {
            "encoder_spec": self.spec,
            "encoder_int8": "1" if self.int8 else "0",
            "encoder_max_tokens": "" if self.max_tokens is None else str(self.max_tokens),
        }

    @classmethod
    def from_info(cls, info: dict[str, str]) -> EncoderChoice | None:
        """The choice recorded in an index version's ``info``; ``None`` for a version that has none."""
        if not info.get("encoder_spec"):
            return None
        tokens = info.get("encoder_max_tokens", "")
        return cls(
            info["encoder_spec"], info.get("encoder_int8") == "1", int(tokens) if tokens.isdigit() else None
        )


def encoder_choice(
    settings: Settings | None = None, spec: str | None = None, *, index_dir: Path | None = None
) -> EncoderChoice:
    """Which encoder a command uses, field by field.

    Parameters
    ----------
    settings
        The settings (default: the process's); a ``MATCHING_ENCODER*`` variable, in the environment or
        in ``.env``, counts as set on purpose.
    spec
        ``--encoder``, which wins over ``MATCHING_ENCODER``.
    index_dir
        Published indexes to follow: what is not set on purpose comes from the choice recorded with
        them (its truncation and int8 only while the encoder asked for, if any, is the recorded one);
        ``None``, or indexes that recorded none: the settings' defaults.

    Returns
    -------
    EncoderChoice
        A command run after ``make run`` (``matching serve``, ``daily``, ``train``, the alert batch)
        thereby embeds with the encoder of the indexes it searches, without the variables that built
        them; a choice made on purpose still wins (indexes built otherwise are then refused).
    """
    from matching.candidates import read_generator_info

    settings = settings or get_settings()
    chosen = settings.model_fields_set
    asked = spec or (settings.encoder if "encoder" in chosen else None)
    recorded = EncoderChoice.from_info(read_generator_info(index_dir)) if index_dir is not None else None
    if recorded is None or (asked is not None and asked != recorded.spec):
        return EncoderChoice(asked or settings.encoder, settings.encoder_int8, settings.encoder_max_tokens)
    return EncoderChoice(
        recorded.spec,
        settings.encoder_int8 if "encoder_int8" in chosen else recorded.int8,
        settings.encoder_max_tokens if "encoder_max_tokens" in chosen else recorded.max_tokens,
    )


def encoder(
    settings: Settings | None = None, spec: str | None = None, *, choice: EncoderChoice | None = None
) -> CachedEncoder:
    """The encoder (``choice``, else :func:`encoder_choice` without an index) behind an embedding cache
    persisted in ``cache_dir`` (see :func:`save_cache`)."""
    settings = settings or get_settings()
    choice = choice or encoder_choice(settings, spec)
    cached = CachedEncoder(
        load_encoder(
            choice.spec,
            model_dir=settings.model_dir,
            int8=choice.int8,
            max_tokens=choice.max_tokens,
            offline=settings.hub_offline,
        )
    )
    cached.load(_cache_file(settings, cached))
    return cached


def rome_classifier_encoder(spec: str | None, settings: Settings | None = None) -> Encoder | None:
    """The encoder a saved ROME classifier was built with, from its manifest's ``encoder_spec``
    (:meth:`RomeClassifier.save`); ``None`` for a lexical one. No embedding cache: one title to
    classify from a cold process should not wait for the cache file of every text ever embedded."""
    if not spec:
        return None
    settings = settings or get_settings()
    return load_encoder(spec, model_dir=settings.model_dir, offline=settings.hub_offline)


def formacode_links(
    referential_: Referential, settings: Settings | None = None
) -> FormacodeSkillLinker | None:
    """The saved Formacode → ROME competence links (``matching formacode build``), ``None`` when none
    was built.

    Raises
    ------
    MatchingError
        If they exist but cannot be used (altered, another referential): fail-closed, with the fix.
    """
    from matching.formacode import FormacodeLinksError
    from matching.formacode import FormacodeSkillLinker as Linker  # the annotation's, imported lazily

    folder = (settings or get_settings()).formacode_links_dir
    if not folder.exists():
        return None
    try:
        return Linker.load(folder, referential_)
    except FormacodeLinksError as error:
        raise MatchingError(
            f"{error}: run `matching formacode build --force` (with the same --rome-dir)"
        ) from None


def skill_extractor(referential_: Referential, settings: Settings | None = None) -> SkillExtractor | None:
    """The saved skill extractor (``matching skills build``) with the encoder it was built with,
    ``None`` when none was built (offers then keep only the skills they list).

    Raises
    ------
    MatchingError
        If one exists but cannot be used (altered, another referential): fail-closed, with the fix.
    """
    from matching.skills import SkillExtractor as Extractor  # the annotation's, imported lazily
    from matching.skills import SkillExtractorError

    settings = settings or get_settings()
    folder = settings.skill_extractor_dir
    if not folder.exists():
        return None
    try:
        spec = (Extractor.manifest(folder).get("build") or {}).get("encoder_spec")
        return Extractor.load(folder, referential_, encoder=rome_classifier_encoder(spec, settings))
    except SkillExtractorError as error:
        raise MatchingError(
            f"{error}: run `matching skills build` (an altered or outdated one is built again)"
        ) from None


def lheo_schema(settings: Settings | None = None, xsd: Path | None = None) -> Any | None:
    """The LHEO 2.3 XML Schema (``xmlschema.XMLSchema``): ``xsd``, else the reference data's
    ``trainings/lheo/xsd/lheo-2.3.xsd``; ``None`` when there is none (documents are then read
    without the schema's check).

    Raises
    ------
    MatchingError
        If ``xsd`` is given but missing or not an XML Schema.
    """
    path = xsd or (settings or get_settings()).reference_data / "trainings" / "lheo" / "xsd" / "lheo-2.3.xsd"
    if not path.is_file():
        if xsd is not None:
            raise MatchingError(f"LHEO schema not found: {xsd}")
        return None
    import xmlschema

    try:
        return xmlschema.XMLSchema(str(path))
    except (xmlschema.XMLSchemaException, OSError, ValueError) as error:
        raise MatchingError(f"{path}: not a usable XML Schema ({str(error).splitlines()[0]})") from None


def save_cache(cached: CachedEncoder, settings: Settings | None = None) -> None:
    """Persist the embedding cache of ``cached`` beside the others (``MATCHING_CACHE_DIR``)."""
    path = _cache_file(settings or get_settings(), cached)
    path.parent.mkdir(parents=True, exist_ok=True)
    cached.save(path)


def _cache_file(settings: Settings, cached: CachedEncoder) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cached.name)
    return settings.cache_dir / f"embeddings-{safe}.npz"


def engine(settings: Settings | None = None, database_url: str | None = None) -> Engine:
    """The database engine: ``database_url``, else ``MATCHING_DATABASE_URL`` (SQLite under ``var/``)."""
    from serving.storage.db import make_engine  # SQLAlchemy: only for the commands that reach the database

    return make_engine(database_url or (settings or get_settings()).database_url)


def repository(settings: Settings | None = None, database_url: str | None = None) -> SqlRepository:
    """The repository of domain objects over :func:`engine`."""
    from serving.storage.repository import SqlRepository

    return SqlRepository(engine(settings, database_url))


def model_registry(
    settings: Settings | None = None, tracking_uri: str | None = None, model_name: str | None = None
) -> ModelRegistry:
    """The MLflow registry at ``tracking_uri`` (else the settings'), MLflow quietened for the command line."""
    from models.registry import ModelRegistry

    settings = settings or get_settings()
    # no download bars or pickling advice on the command line; errors still surface
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    return ModelRegistry(
        settings.tracking_uri(tracking_uri), model_name=model_name or settings.ranker_model_name
    )


def ranking_service(
    settings: Settings | None = None,
    *,
    index_dir: Path | None = None,
    encoder_spec: str | None = None,
    tracking_uri: str | None = None,
    rome_dir: Path | None = None,
    chosen_encoder: EncoderChoice | None = None,
) -> RankingService:
    """Candidate indexes (fail-closed) and the champion ranker; rule-based ranking when there is none.

    The encoder is ``chosen_encoder``, else :func:`encoder_choice` (that of the indexes unless set).
    """
    from models.artifact import ModelIntegrityError
    from models.pipeline import RankingService
    from models.registry import RegistryError

    settings = settings or get_settings()
    folder = index_dir or settings.index_dir
    choice = chosen_encoder or encoder_choice(settings, encoder_spec, index_dir=folder)
    parts = (folder, referential(settings, rome_dir), encoder(settings, choice=choice))
    registry = model_registry(settings, tracking_uri)
    try:
        ranker, version = registry.load()
    except (RegistryError, ModelIntegrityError) as error:
        # no usable champion: today's rule-based ranking, logged as such on every recommendation
        return RankingService.load(*parts, unavailable_model=str(error))
    return RankingService.load(*parts, ranker, f"{settings.ranker_model_name}@champion=v{version}")


def clock(settings: Settings | None = None) -> Clock:
    """The engine's clock: pinned at ``MATCHING_NOW`` when set (demos, tests), else real time."""
    return Clock(pinned_at=(settings or get_settings()).now)


def serving_container(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    index_dir: Path | None = None,
    encoder_spec: str | None = None,
    tracking_uri: str | None = None,
) -> ServingContainer:
    """Everything the API needs; the indexes and the champion load on first use (readiness reports failures)."""
    from serving.container import ServingContainer

    settings = settings or get_settings()
    # a registry that does not answer must not hold requests for minutes (MLflow retries 7 times)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    return ServingContainer(
        engine=engine(settings, database_url),
        referential=referential(settings),
        load_service=lambda: ranking_service(
            settings, index_dir=index_dir, encoder_spec=encoder_spec, tracking_uri=tracking_uri
        ),
        probe_service=service_probe(settings, index_dir=index_dir, tracking_uri=tracking_uri),
        refresh_s=settings.refresh_seconds,
        tracking_uri=settings.tracking_uri(tracking_uri),
        model_name=settings.ranker_model_name,
        communes=communes(settings),
        load_skills=lambda referential_: skill_extractor(referential_, settings),
        clock=clock(settings),
        mail=mail_settings(settings),
    )


def delivery_container(
    settings: Settings | None = None, *, database_url: str | None = None
) -> ServingContainer:
    """What the alert dispatcher reads with: the database, referential, communes, clock and mail
    settings; no ranking service (it ranks nothing), so no registry to reach and no index to load."""
    from serving.container import ServiceUnavailable, ServingContainer

    settings = settings or get_settings()

    def no_ranking() -> RankingService:
        raise ServiceUnavailable("the alert dispatcher ranks nothing")

    return ServingContainer(
        engine=engine(settings, database_url),
        referential=referential(settings),
        load_service=no_ranking,
        communes=communes(settings),
        clock=clock(settings),
        mail=mail_settings(settings),
    )


def link_secret(settings: Settings | None = None) -> str:
    """The secret signing the links of alert e-mails: ``MATCHING_LINK_SECRET``, else the key file
    (``MATCHING_LINK_SECRET_FILE``, created once with a random secret, readable by its owner only).

    Raises
    ------
    MatchingError
        The secret is shorter than 32 characters, or the key file cannot be read or written.
    """
    import secrets

    settings = settings or get_settings()
    if settings.link_secret is not None:
        value = settings.link_secret.get_secret_value()
    else:
        path = settings.link_secret_file
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                # created exclusively: two processes starting together keep the first one's secret
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
            value = path.read_text().strip()
        except FileExistsError:
            value = path.read_text().strip()
        except OSError as error:
            raise MatchingError(f"link secret file {path}: {error.strerror or error}") from None
    if len(value) < 32:
        raise MatchingError("MATCHING_LINK_SECRET: at least 32 characters")
    return value


def mail_settings(settings: Settings | None = None) -> MailSettings:
    """Sender, public address and link signer of alert e-mails."""
    from datetime import timedelta

    from serving.links import LinkSigner, MailSettings

    settings = settings or get_settings()
    signer = LinkSigner(link_secret(settings), max_age=timedelta(days=settings.link_days))
    return MailSettings(sender=settings.mail_from, base_url=settings.public_url, signer=signer)


def check_mail_delivery(settings: Settings | None = None, smtp_url: str | None = None) -> None:
    """Refuse to e-mail real people with links that cannot work: an SMTP server that is not on this
    machine needs ``MATCHING_LINK_SECRET`` (the API and every dispatcher must share it; a key file is
    per machine) and an https ``MATCHING_PUBLIC_URL`` that is not this machine.

    Raises
    ------
    MatchingError
        Either is missing.
    """
    from urllib.parse import urlsplit

    from serving.mail.transport import SmtpSettings, is_loopback

    settings = settings or get_settings()
    url = smtp_url or settings.smtp_url
    server = SmtpSettings.from_url(url) if url else None
    if server is None or is_loopback(server.host):
        return
    if settings.link_secret is None:
        raise MatchingError(
            "MATCHING_LINK_SECRET: set it (the same for the API and every dispatcher) before e-mailing through "
            f"{server.describe()}: the links of the e-mails are signed with it"
        )
    public = urlsplit(settings.public_url)
    if public.scheme != "https" or public.hostname is None or is_loopback(public.hostname):
        raise MatchingError(
            f"MATCHING_PUBLIC_URL: the https address people reach the pages at, not {settings.public_url!r}: "
            "the links of the e-mails start with it"
        )


def mail_transport(settings: Settings | None = None, smtp_url: str | None = None) -> MailTransport:
    """The SMTP server of ``smtp_url`` or ``MATCHING_SMTP_URL``; unset: the local Maildir
    ``MATCHING_MAIL_DIR`` (``var/mail``).

    Raises
    ------
    MatchingError
        A malformed SMTP URL.
    """
    from serving.mail.transport import MaildirTransport, SmtpSettings, SmtpTransport

    settings = settings or get_settings()
    url = smtp_url or settings.smtp_url
    if url:
        return SmtpTransport(SmtpSettings.from_url(url))
    return MaildirTransport(settings.mail_dir)


def service_probe(
    settings: Settings, *, index_dir: Path | None = None, tracking_uri: str | None = None
) -> Callable[[], str]:
    """A cheap key of what :func:`ranking_service` would load: the index version and the champion.

    Index versions are published whole (:mod:`matching.index_versions`): the index folder links to a
    new version, whose settings file is a new file (another modification time).
    """
    from matching.candidates import GENERATOR_FILE

    stamp_file = (index_dir or settings.index_dir) / GENERATOR_FILE
    registry = model_registry(settings, tracking_uri)

    def probe() -> str:
        stamp = f"{stamp_file.resolve()}@{stamp_file.stat().st_mtime_ns}" if stamp_file.exists() else "none"
        return f"index={stamp};champion={registry.champion_version()}"

    return probe


# -- the alert batch on Dask: what each worker loads ------------------------------------------------
def database_context(
    database_url: str,
    as_of: pd.Timestamp,
    *,
    index_dir: Path | None = None,
    chosen_encoder: EncoderChoice | None = None,
    tracking_uri: str | None = None,
    rome_dir: Path | None = None,
) -> Context:
    """What a worker loads for a run on a database: the serving indexes and champion, tables as of the run."""
    service = ranking_service(
        index_dir=index_dir, chosen_encoder=chosen_encoder, tracking_uri=tracking_uri, rome_dir=rome_dir
    )
    return service, database_tables(database_url).events_before(as_of)


def database_tables(database_url: str, *, progress: Progress | None = None) -> MarketTables:
    """Every profile, offer, training and logged event of a database (its feature-readable tables).

    Parameters
    ----------
    database_url
        SQLAlchemy URL.
    progress
        ``(table, rows read, rows in the table)`` while reading (see
        :func:`serving.storage.market.read_market_tables`).

    Raises
    ------
    StorageError
        If the URL is malformed or names an unsupported backend.
    """
    from serving.storage.market import read_market_tables

    return read_market_tables(engine(database_url=database_url), progress=progress)


def database_loader(
    database_url: str,
    *,
    index_dir: Path | None = None,
    encoder_spec: str | None = None,
    tracking_uri: str | None = None,
    rome_dir: Path | None = None,
) -> Callable[[pd.Timestamp], Loader]:
    """``loader(now)`` for :func:`run_alert_batch_dask` on a database (what ``matching alerts run --dask`` uses).

    Every setting a worker needs is resolved here, in the driver, and shipped with the task: a remote
    worker's own environment must not make it load another encoder, referential, index or champion.
    """
    settings = get_settings()
    # the version the index link points at now: workers must not load one published during the run
    resolved_index = (index_dir or settings.index_dir).resolve()
    # spec, int8 and truncation alike: a worker's own variables must not change the vectors
    resolved_encoder = encoder_choice(settings, encoder_spec, index_dir=resolved_index)
    resolved_uri = settings.tracking_uri(tracking_uri)
    # "builtin" rather than None: a worker given None would read its own MATCHING_ROME_DIR
    resolved_rome = _chosen(rome_dir, settings.rome_dir) or Path(BUILTIN)

    def for_run(now: pd.Timestamp) -> Loader:
        return functools.partial(
            database_context,
            database_url,
            now,
            index_dir=resolved_index,
            chosen_encoder=resolved_encoder,
            tracking_uri=resolved_uri,
            rome_dir=resolved_rome,
        )

    return for_run
