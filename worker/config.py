"""Configuration: shipped defaults, then the user's TOML file, then environment variables.

Read once at start-up into frozen pydantic v2 models; every unknown key, wrong type or
inconsistent pair of values fails here with the key's dotted name and the reason
(``ConfigError``), never later in the middle of a pass.

Layers, deep-merged key by key (tables merge, any other value replaces):

1. ``config/defaults.toml``, shipped inside the package (``worker.config_files``; set
   ``INVOICE_WORKER_DEFAULTS`` to read another file);
2. the file given with ``--config`` (or env ``INVOICE_WORKER_CONFIG``);
3. in-code ``overrides`` (tests);
4. environment variables ``INVOICE_WORKER_<SECTION>__<KEY>``, e.g.
   ``INVOICE_WORKER_SCHEDULE__POLL_MINUTES=10`` or
   ``INVOICE_WORKER_PROGRAMME__FEES__2019=150.00`` (read by pydantic-settings'
   ``EnvSettingsSource``; lists as JSON: ``'["武清区", "静海区"]'``).

Relative paths (``database.url`` for SQLite, ``mailbox.url`` for a Maildir,
``output.dir``, the ``ca_file`` keys) resolve against the folder of the config file,
never the current directory; only without any config file is the current directory
the base (the demo and tests), and ``check-config`` prints which base was used.

Adding a key is one line in the section's model below plus its default in
``config/defaults.toml`` and a commented line in ``config/example.toml`` (a test checks
the example covers every default)::

    class LimitsConfig(Section):
        max_forms: Int = Field(ge=1)          # type, then constraints

A new section is a ``Section`` subclass and one field on ``Config``; the courier's
sections (``[courier]``, its rates, pickup and providers) are in
``worker/config_courier.py``. Use the value
types of ``worker/config_types.py`` (``Text``, ``NonEmpty``, ``Int``, ``Number``,
``Amount``, ``Moment``, ``ConfigPath``, ``OptionalPath``, ...) so a kind of value is
checked the same way everywhere. A rule between two keys of a section goes in a
``@model_validator(mode="after")`` that raises ``problem("key", "reason")``; the error
then names ``section.key``. Example, an ``[invoicing]`` section::

    class InvoicingConfig(Section):
        mode: Literal["print", "platform"]
        delivery: Literal["parcel", "email"]

    class Config(Section):
        ...
        invoicing: InvoicingConfig
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tomllib
from collections.abc import Mapping
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import EnvSettingsSource
from pydantic_settings.exceptions import SettingsError

from worker.config_courier import CourierConfig
from worker.config_types import (
    Amount,
    ConfigPath,
    DatabaseUrl,
    ExistingFile,
    Int,
    MailboxUrl,
    Moment,
    NonEmpty,
    Number,
    OptionalPath,
    Section,
    SmtpUrl,
    Text,
    TimeZone,
    Year,
    config_problems,
    did_you_mean,
    problem,
    zone,
)
from worker.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "INVOICE_WORKER_"
ENV_DELIMITER = "__"


def _package_dir(package: str, source_folder: str) -> Path:
    """A data folder shipped as a package (``pyproject.toml`` maps the top-level folder
    into ``worker``); a source checkout whose editable install predates that mapping
    falls back to the folder itself. Installed wheels are unpacked, so the files are
    real paths (WeasyPrint, Jinja2 and Flask need a directory)."""
    try:
        folder = resources.files(package)
    except ModuleNotFoundError:
        return PROJECT_ROOT / source_folder
    if isinstance(folder, Path):
        return folder
    # a folder without __init__.py is a namespace package: files() gives a MultiplexedPath
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else PROJECT_ROOT / source_folder


TEMPLATES_DIR = _package_dir("worker.templates", "templates")
CONFIG_FILES_DIR = _package_dir("worker.config_files", "config")
DEFAULTS_PATH = Path(os.environ.get("INVOICE_WORKER_DEFAULTS") or CONFIG_FILES_DIR / "defaults.toml")
EXAMPLE_PATH = CONFIG_FILES_DIR / "example.toml"


class DatabaseConfig(Section):
    url: DatabaseUrl


class MailboxConfig(Section):
    url: MailboxUrl
    password_env: Text
    processed_folder: NonEmpty
    exceptions_folder: NonEmpty
    ca_file: OptionalPath = None      # extra CA bundle for imaps://
    timeout_seconds: Number
    max_mail_bytes: Int = Field(ge=1024)
    chunk_mails: Int = Field(ge=1, le=1000)  # per transaction (worker.intake.run_pass)
    chunk_bytes: Int = Field(ge=1)           # ... or fewer, once their sizes reach this

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class OutputConfig(Section):
    dir: ConfigPath


class SmtpConfig(Section):
    url: SmtpUrl = None               # empty: .eml files
    sender: NonEmpty = Field(alias="from")
    password_env: Text
    ca_file: ExistingFile = None

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class ScheduleConfig(Section):
    poll_minutes: Number
    manifest_time: time               # "16:00", in ``timezone``
    timezone: TimeZone


class ProgrammeConfig(Section):
    name: NonEmpty
    mailbox_address: NonEmpty
    payment_window_start: Moment
    payment_window_end: Moment
    request_deadline: Moment
    suburban_districts: tuple[NonEmpty, ...]
    urban_districts: tuple[NonEmpty, ...]
    fees: dict[Year, Amount]          # 培训年度 -> fee (CNY)
    in_person_address: NonEmpty
    card_window: NonEmpty
    contact_phone: NonEmpty

    @model_validator(mode="after")
    def _check(self) -> ProgrammeConfig:
        if not self.fees:
            raise problem("fees", "must list at least one year")
        if self.payment_window_start > self.payment_window_end:
            raise problem("payment_window_end", "is before payment_window_start")
        overlap = set(self.suburban_districts) & set(self.urban_districts)
        if overlap:
            raise problem("urban_districts", f"also listed as suburban: {sorted(overlap)}")
        return self


class InvoiceConfig(Section):
    code: NonEmpty
    first_number: Int = Field(ge=1)
    last_number: Int = Field(ge=1, le=99999999)
    item_name: NonEmpty
    unit: NonEmpty
    tax_rate: Amount
    per_invoice_limit: Amount
    issuer: NonEmpty
    payee: Text
    reviewer: Text

    @model_validator(mode="after")
    def _check(self) -> InvoiceConfig:
        if self.last_number < self.first_number:
            raise problem("last_number", "must be between first_number and 99999999")
        if self.per_invoice_limit <= 0:
            raise problem("per_invoice_limit", "must be greater than 0")
        return self


class SellerConfig(Section):
    name: NonEmpty
    tax_id: NonEmpty
    address_phone: NonEmpty
    bank_account: NonEmpty


class DocumentsConfig(Section):
    max_invoices_per_batch: Int = Field(ge=1)
    render_processes: Int = Field(ge=1)   # batches rendered at once, each in its own process


class LimitsConfig(Section):
    max_attachment_bytes: Int = Field(ge=1024)
    max_uncompressed_bytes: Int = Field(ge=1024)
    max_rows: Int = Field(ge=10)
    max_lines: Int = Field(ge=1)
    max_headers: Int = Field(ge=50)
    max_forms: Int = Field(ge=1)  # applications one mail may yield; beyond: one held application


class RepliesConfig(Section):
    """Outbox retries: exponential backoff between attempts, capped; a message the
    server keeps refusing is given up after ``max_attempts`` (an unreachable server
    never makes a reply fail, it only delays it)."""

    max_attempts: Int = Field(ge=1)
    backoff_first_minutes: Number
    backoff_max_minutes: Number

    @model_validator(mode="after")
    def _check(self) -> RepliesConfig:
        if self.backoff_max_minutes < self.backoff_first_minutes:
            raise problem("backoff_max_minutes", "is below backoff_first_minutes")
        return self


class InvoicingConfig(Section):
    """Who issues the legal fapiao (issue 8): ``mode`` print (our numbers on the
    ``[invoice]`` paper stock) or platform (the 数电票 platform issues them; ``worker.tax``);
    ``delivery`` courier (parcel) or email (PDF/OFD/XML attached, no parcel).
    ``tax_code``/``item_name`` fill the platform workbook's 明细; the 发票流水号 is
    ``serial_prefix`` + ``serial_digits`` digits (at most 20 characters)."""

    mode: Literal["print", "platform"]
    delivery: Literal["courier", "email"]
    tax_code: NonEmpty
    item_name: NonEmpty
    serial_prefix: NonEmpty
    serial_digits: Int = Field(ge=1)

    @model_validator(mode="after")
    def _check(self) -> InvoicingConfig:
        code = self.tax_code
        if not (code.isascii() and code.isdigit() and len(code) == 19):
            raise problem("tax_code", "must be the 19-digit 商品和服务税收分类编码")
        # A digits-only 流水号 could come back from a spreadsheet as a number.
        if not (self.serial_prefix.isascii() and self.serial_prefix.isalnum()):
            raise problem("serial_prefix", "must be ASCII letters and digits")
        if len(self.serial_prefix) + self.serial_digits > 20:
            raise problem("serial_digits", "serial_prefix + serial_digits exceed 20 characters")
        # Print mode has no platform files to mail: its invoices exist only on paper.
        if self.delivery == "email" and self.mode != "platform":
            raise problem("delivery", 'email needs mode = "platform" (the files come from the platform)')
        return self

    @property
    def platform(self) -> bool:
        return self.mode == "platform"

    @property
    def by_email(self) -> bool:
        return self.delivery == "email"


class ReplyLimitsConfig(Section):
    """Who the mailbox answers on its own, and how often (``worker/replies/policy.py``,
    SECURITY.md): at most ``per_address_per_day`` automatic replies to one address in
    24 h and ``per_hour`` to everyone in 60 min; a reply repeats at most
    ``subject_chars`` characters of the unit's subject; a domain in
    ``public_mail_domains`` never makes a sender known by its domain alone."""

    per_address_per_day: Int = Field(ge=1)
    per_hour: Int = Field(ge=1)
    subject_chars: Int = Field(ge=8)
    public_mail_domains: frozenset[str]

    @field_validator("public_mail_domains", mode="after")
    @classmethod
    def _lower(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(d.lower() for d in value)


class Config(Section):
    """The merged, validated configuration; one field per TOML section."""

    database: DatabaseConfig
    mailbox: MailboxConfig
    output: OutputConfig
    smtp: SmtpConfig
    schedule: ScheduleConfig
    programme: ProgrammeConfig
    invoice: InvoiceConfig
    seller: SellerConfig
    courier: CourierConfig
    limits: LimitsConfig
    documents: DocumentsConfig
    replies: RepliesConfig
    reply_limits: ReplyLimitsConfig
    invoicing: InvoicingConfig
    _source: tuple[str, ...] = PrivateAttr(default=())
    _base_dir: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _time_zone_first(cls, data: Any, info: ValidationInfo) -> Any:
        """Date-times without an offset are read in ``schedule.timezone``: find it
        before the programme is validated (a bad name is reported by its field)."""
        if isinstance(data, dict) and info.context is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                info.context["tz"] = zone(data["schedule"]["timezone"])
        return data

    @property
    def output_dir(self) -> Path:
        return self.output.dir

    @property
    def tz(self) -> ZoneInfo:
        return self.schedule.timezone

    @property
    def source(self) -> tuple[str, ...]:
        """The files merged, defaults first."""
        return self._source

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths were resolved against."""
        return self._base_dir


# --- loading ----------------------------------------------------------------------------

def merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as e:
        raise ConfigError(str(path), "file not found") from e
    except IsADirectoryError as e:
        raise ConfigError(str(path), "is a folder, not a TOML file") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), f"not valid TOML: {e}") from e
    except UnicodeDecodeError as e:  # TOML is UTF-8; Notepad's "ANSI" here is GBK
        raise ConfigError(str(path), f"not UTF-8 text (byte {e.start + 1}): TOML files are "
                                     "UTF-8; save it as UTF-8 (记事本：另存为，编码选 UTF-8)") from e
    except PermissionError as e:
        raise ConfigError(str(path), "cannot be read (no permission)") from e


def env_overrides(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``INVOICE_WORKER_<SECTION>__<KEY>=value`` as a nested dict (pydantic-settings).
    A misspelt section would be skipped silently by the source, so it is refused here."""
    environ = os.environ if environ is None else environ
    for name in environ:
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and ENV_DELIMITER in upper:
            section = upper[len(ENV_PREFIX):].split(ENV_DELIMITER)[0].lower()
            if section not in Config.model_fields:
                raise ConfigError(name, f"unknown section {section!r}{did_you_mean(section, Config)}")
    source = EnvSettingsSource(Config, env_prefix=ENV_PREFIX, env_nested_delimiter=ENV_DELIMITER,
                               case_sensitive=False)
    source.env_vars = {k.lower(): v for k, v in environ.items()}  # the mapping given, not os.environ
    try:
        return source()
    except SettingsError as e:
        raise ConfigError(ENV_PREFIX + "*", str(e)) from e


def load_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                *, environ: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the user's file, then in-code overrides, then the environment;
    validated. Raises ``ConfigError`` naming the first bad key (``problems`` has all)."""
    data = _read_toml(DEFAULTS_PATH)
    sources = [str(DEFAULTS_PATH)]
    base_dir = Path.cwd()
    if path is not None:
        user_file = Path(path).resolve()
        data = merge(data, _read_toml(user_file))
        sources.append(str(user_file))
        base_dir = user_file.parent
    if overrides:
        data = merge(data, overrides)
    data = merge(data, env_overrides(environ))
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as e:
        problems = list(config_problems(e, Config))
        key, reason = problems[0]
        raise ConfigError(key, reason, problems=problems) from None
    config._source = tuple(sources)
    config._base_dir = base_dir
    return config
