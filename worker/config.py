"""Configuration: shipped defaults overridden key by key by a user TOML file.

Read once at start-up into frozen dataclasses; every bad key or value fails here with
the key's dotted name and the reason, never later in the middle of a pass.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULTS_PATH = Path(
    os.environ.get("INVOICE_WORKER_DEFAULTS", PROJECT_ROOT / "config" / "defaults.toml")
)
TEMPLATES_DIR = PROJECT_ROOT / "templates"


@dataclass(frozen=True)
class DatabaseConfig:
    url: str


@dataclass(frozen=True)
class MailboxConfig:
    url: str
    password_env: str
    processed_folder: str
    exceptions_folder: str
    ca_file: str | None
    timeout_seconds: float
    max_mail_bytes: int

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class SmtpConfig:
    url: str | None
    sender: str
    password_env: str
    ca_file: str | None = None

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class ScheduleConfig:
    poll_minutes: float
    manifest_time: time
    timezone: ZoneInfo


@dataclass(frozen=True)
class ProgrammeConfig:
    name: str
    mailbox_address: str
    payment_window_start: datetime
    payment_window_end: datetime
    request_deadline: datetime
    suburban_districts: tuple[str, ...]
    urban_districts: tuple[str, ...]
    fees: dict[int, Decimal]
    in_person_address: str
    card_window: str
    contact_phone: str


@dataclass(frozen=True)
class InvoiceConfig:
    code: str
    first_number: int
    last_number: int
    item_name: str
    unit: str
    tax_rate: Decimal
    per_invoice_limit: Decimal
    issuer: str
    payee: str
    reviewer: str


@dataclass(frozen=True)
class SellerConfig:
    name: str
    tax_id: str
    address_phone: str
    bank_account: str


@dataclass(frozen=True)
class Rate:
    first_kg: Decimal
    extra_kg: Decimal


@dataclass(frozen=True)
class CourierConfig:
    name: str
    email: str
    sender_name: str
    sender_phone: str
    sender_address: str
    waybill_prefix: str
    waybill_first: int
    waybill_last: int
    envelope_grams: int
    invoice_grams: int
    rates: dict[str, Rate]

    def rate_for(self, district: str) -> Rate:
        return self.rates.get(district, self.rates["default"])


@dataclass(frozen=True)
class DocumentsConfig:
    max_invoices_per_batch: int


@dataclass(frozen=True)
class LimitsConfig:
    max_attachment_bytes: int
    max_uncompressed_bytes: int
    max_rows: int
    max_lines: int
    max_headers: int


@dataclass(frozen=True)
class RepliesConfig:
    """Outbox retries: exponential backoff between attempts, capped; a message the
    server keeps refusing is given up after ``max_attempts`` (an unreachable server
    never makes a reply fail, it only delays it)."""

    max_attempts: int
    backoff_first_minutes: float
    backoff_max_minutes: float


@dataclass(frozen=True)
class InvoicingConfig:
    """How invoices are issued (issue 8): ``mode`` print (our numbers, paper stock) or
    platform (the 数电票 platform issues them; ``worker.tax``); ``delivery`` courier
    (parcel) or email (PDF/OFD/XML attached). ``tax_code``/``item_name`` fill the
    platform workbook's 明细; the 发票流水号 is ``serial_prefix`` + ``serial_digits``
    digits (at most 20 characters, letters and digits only)."""

    mode: str
    delivery: str
    tax_code: str
    item_name: str
    serial_prefix: str
    serial_digits: int


INVOICING_MODES = ("print", "platform")
INVOICING_DELIVERIES = ("courier", "email")


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig
    mailbox: MailboxConfig
    output_dir: Path
    smtp: SmtpConfig
    schedule: ScheduleConfig
    programme: ProgrammeConfig
    invoice: InvoiceConfig
    seller: SellerConfig
    courier: CourierConfig
    limits: LimitsConfig
    documents: DocumentsConfig
    replies: RepliesConfig
    invoicing: InvoicingConfig
    source: tuple[str, ...] = field(default=())

    @property
    def tz(self) -> ZoneInfo:
        return self.schedule.timezone


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, any other value replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
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
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(path), f"not valid TOML: {e}") from e


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the user's file, then in-code overrides (tests), validated."""
    data = _read_toml(DEFAULTS_PATH)
    sources = [str(DEFAULTS_PATH)]
    if path is not None:
        data = merge(data, _read_toml(Path(path)))
        sources.append(str(path))
    if overrides:
        data = merge(data, overrides)
    return _build(_Reader(data), tuple(sources))


class _Reader:
    """Typed access to the merged dict; every failure names the dotted key."""

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def raw(self, name: str) -> Any:
        if name not in self.data:
            raise ConfigError(self.key(name), "missing")
        return self.data[name]

    def table(self, name: str) -> _Reader:
        value = self.raw(name)
        if not isinstance(value, dict):
            raise ConfigError(self.key(name), "must be a table")
        return _Reader(value, f"{self.key(name)}.")

    def str(self, name: str, *, allow_empty: bool = False) -> str:
        value = self.raw(name)
        if not isinstance(value, str):
            raise ConfigError(self.key(name), f"must be a string, got {type(value).__name__}")
        if not allow_empty and not value.strip():
            raise ConfigError(self.key(name), "must not be empty")
        return value

    def int(self, name: str, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.key(name), "must be an integer")
        if minimum is not None and value < minimum:
            raise ConfigError(self.key(name), f"must be at least {minimum}")
        return value

    def number(self, name: str, *, positive: bool = True) -> float:
        value = self.raw(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(self.key(name), "must be a number")
        if positive and value <= 0:
            raise ConfigError(self.key(name), "must be greater than 0")
        return float(value)

    def decimal(self, name: str) -> Decimal:
        return _decimal(self.raw(name), self.key(name))

    def datetime(self, name: str, tz: ZoneInfo) -> datetime:
        value = self.raw(name)
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError as e:
                raise ConfigError(self.key(name), "must be an ISO date-time") from e
        else:
            raise ConfigError(self.key(name), "must be an ISO date-time")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(self.key(name), "must be a list of non-empty strings")
        return tuple(value)


def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(key, "must be an amount such as \"150.00\"")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as e:
        raise ConfigError(key, f"not an amount: {value!r}") from e
    if not amount.is_finite() or amount < 0:
        raise ConfigError(key, "must be a non-negative amount")
    return amount.quantize(Decimal("0.01"))


def _build(r: _Reader, sources: tuple[str, ...]) -> Config:
    sched = r.table("schedule")
    tz_name = sched.str("timezone")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError("schedule.timezone", f"unknown time zone {tz_name!r}") from e
    try:
        manifest_time = time.fromisoformat(sched.str("manifest_time"))
    except ValueError as e:
        raise ConfigError("schedule.manifest_time", "must be HH:MM") from e
    schedule = ScheduleConfig(sched.number("poll_minutes"), manifest_time, tz)

    db = r.table("database")
    url = db.str("url")
    if "://" not in url:
        raise ConfigError(
            "database.url", "must be an SQLAlchemy URL such as sqlite:///var/invoices.db"
        )

    mb = r.table("mailbox")
    mailbox_url = mb.str("url")
    if not mailbox_url.startswith(("maildir:", "imap://", "imaps://")):
        raise ConfigError("mailbox.url", "must start with maildir:, imap:// or imaps://")
    mailbox = MailboxConfig(
        url=mailbox_url,
        password_env=mb.str("password_env", allow_empty=True),
        processed_folder=mb.str("processed_folder"),
        exceptions_folder=mb.str("exceptions_folder"),
        ca_file=mb.str("ca_file", allow_empty=True) or None,
        timeout_seconds=mb.number("timeout_seconds"),
        max_mail_bytes=mb.int("max_mail_bytes", minimum=1024),
    )

    smtp_t = r.table("smtp")
    smtp_url = smtp_t.str("url", allow_empty=True) or None
    if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
        raise ConfigError("smtp.url", "must start with smtp:// or smtps://")
    smtp_ca = smtp_t.str("ca_file", allow_empty=True) if "ca_file" in smtp_t.data else ""
    if smtp_ca and not Path(smtp_ca).is_file():
        raise ConfigError("smtp.ca_file", f"no such file: {smtp_ca}")
    smtp = SmtpConfig(smtp_url, smtp_t.str("from"), smtp_t.str("password_env", allow_empty=True),
                      smtp_ca or None)

    p = r.table("programme")
    fees_t = p.table("fees")
    fees: dict[int, Decimal] = {}
    for year, fee in fees_t.data.items():
        if not str(year).isdigit():
            raise ConfigError(f"programme.fees.{year}", "keys must be years such as 2018")
        fees[int(year)] = _decimal(fee, f"programme.fees.{year}")
    if not fees:
        raise ConfigError("programme.fees", "must list at least one year")
    programme = ProgrammeConfig(
        name=p.str("name"),
        mailbox_address=p.str("mailbox_address"),
        payment_window_start=p.datetime("payment_window_start", tz),
        payment_window_end=p.datetime("payment_window_end", tz),
        request_deadline=p.datetime("request_deadline", tz),
        suburban_districts=p.str_list("suburban_districts"),
        urban_districts=p.str_list("urban_districts"),
        fees=fees,
        in_person_address=p.str("in_person_address"),
        card_window=p.str("card_window"),
        contact_phone=p.str("contact_phone"),
    )
    if programme.payment_window_start > programme.payment_window_end:
        raise ConfigError("programme.payment_window_end", "is before payment_window_start")
    overlap = set(programme.suburban_districts) & set(programme.urban_districts)
    if overlap:
        raise ConfigError(
            "programme.urban_districts", f"also listed as suburban: {sorted(overlap)}"
        )

    inv = r.table("invoice")
    invoice = InvoiceConfig(
        code=inv.str("code"),
        first_number=inv.int("first_number", minimum=1),
        last_number=inv.int("last_number", minimum=1),
        item_name=inv.str("item_name"),
        unit=inv.str("unit"),
        tax_rate=inv.decimal("tax_rate"),
        per_invoice_limit=inv.decimal("per_invoice_limit"),
        issuer=inv.str("issuer"),
        payee=inv.str("payee", allow_empty=True),
        reviewer=inv.str("reviewer", allow_empty=True),
    )
    if invoice.last_number < invoice.first_number or invoice.last_number > 99999999:
        raise ConfigError("invoice.last_number", "must be between first_number and 99999999")
    if invoice.per_invoice_limit <= 0:
        raise ConfigError("invoice.per_invoice_limit", "must be greater than 0")

    s = r.table("seller")
    seller = SellerConfig(
        s.str("name"), s.str("tax_id"), s.str("address_phone"), s.str("bank_account")
    )

    c = r.table("courier")
    rates_t = c.table("rates")
    rates: dict[str, Rate] = {}
    for district in rates_t.data:
        rt = rates_t.table(district)
        rates[district] = Rate(rt.decimal("first_kg"), rt.decimal("extra_kg"))
    if "default" not in rates:
        raise ConfigError("courier.rates.default", "missing")
    courier = CourierConfig(
        name=c.str("name"),
        email=c.str("email"),
        sender_name=c.str("sender_name"),
        sender_phone=c.str("sender_phone"),
        sender_address=c.str("sender_address"),
        waybill_prefix=c.str("waybill_prefix", allow_empty=True),
        waybill_first=c.int("waybill_first", minimum=0),
        waybill_last=c.int("waybill_last", minimum=0),
        envelope_grams=c.int("envelope_grams", minimum=0),
        invoice_grams=c.int("invoice_grams", minimum=0),
        rates=rates,
    )
    if courier.waybill_last < courier.waybill_first:
        raise ConfigError("courier.waybill_last", "is below waybill_first")

    lim = r.table("limits")
    limits = LimitsConfig(
        max_attachment_bytes=lim.int("max_attachment_bytes", minimum=1024),
        max_uncompressed_bytes=lim.int("max_uncompressed_bytes", minimum=1024),
        max_rows=lim.int("max_rows", minimum=10),
        max_lines=lim.int("max_lines", minimum=1),
        max_headers=lim.int("max_headers", minimum=50),
    )

    rep = r.table("replies")
    replies = RepliesConfig(
        max_attempts=rep.int("max_attempts", minimum=1),
        backoff_first_minutes=rep.number("backoff_first_minutes"),
        backoff_max_minutes=rep.number("backoff_max_minutes"),
    )
    if replies.backoff_max_minutes < replies.backoff_first_minutes:
        raise ConfigError("replies.backoff_max_minutes", "is below backoff_first_minutes")

    docs = r.table("documents")
    documents = DocumentsConfig(docs.int("max_invoices_per_batch", minimum=1))

    invoicing = _invoicing(r.table("invoicing"))

    out = r.table("output")
    return Config(
        database=DatabaseConfig(url),
        mailbox=mailbox,
        output_dir=Path(out.str("dir")),
        smtp=smtp,
        schedule=schedule,
        programme=programme,
        invoice=invoice,
        seller=seller,
        courier=courier,
        limits=limits,
        documents=documents,
        replies=replies,
        invoicing=invoicing,
        source=sources,
    )


def _invoicing(t: _Reader) -> InvoicingConfig:
    inv = InvoicingConfig(
        mode=t.str("mode"),
        delivery=t.str("delivery"),
        tax_code=t.str("tax_code"),
        item_name=t.str("item_name"),
        serial_prefix=t.str("serial_prefix", allow_empty=True),
        serial_digits=t.int("serial_digits", minimum=1),
    )
    if inv.mode not in INVOICING_MODES:
        raise ConfigError("invoicing.mode", f"must be one of {', '.join(INVOICING_MODES)}")
    if inv.delivery not in INVOICING_DELIVERIES:
        raise ConfigError("invoicing.delivery", f"must be one of {', '.join(INVOICING_DELIVERIES)}")
    if not (inv.tax_code.isascii() and inv.tax_code.isdigit() and len(inv.tax_code) == 19):
        raise ConfigError("invoicing.tax_code", "must be the 19-digit 商品和服务税收分类编码")
    if not (inv.serial_prefix.isascii() and (inv.serial_prefix.isalnum() or not inv.serial_prefix)):
        raise ConfigError("invoicing.serial_prefix", "must be ASCII letters and digits")
    if len(inv.serial_prefix) + inv.serial_digits > 20:
        raise ConfigError("invoicing.serial_digits", "serial_prefix + serial_digits exceed 20 characters")
    return inv
