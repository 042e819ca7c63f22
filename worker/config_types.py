"""Value types of the config models (``worker/config.py``, ``worker/config_courier.py``):
one place for each kind of check, so a key of a kind is validated the same way in every
section; and how a failed check is worded (``problem`` raised by a rule between keys,
``config_problems`` turning pydantic's errors into dotted keys and reasons).

Validators read the validation context that ``load_config`` passes: ``base_dir`` (the
config file's folder, for relative paths) and ``tz`` (``schedule.timezone``, for
date-times written without an offset). Built without a context (in code), values are
kept as given.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError


class Section(BaseModel):
    """A TOML table: unknown keys refused, frozen after start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def problem(key: str, reason: str) -> PydanticCustomError:
    """A rule between keys, raised from a model validator: ``key`` is relative to the
    model (``"payment_window_end"``), the loader prefixes the section."""
    return PydanticCustomError("config_rule", "{reason}", {"key": key, "reason": reason})


def config_problems(error: ValidationError, root: type[BaseModel]) -> Iterator[tuple[str, str]]:
    """Pydantic's errors validating ``root`` (the whole config) as (dotted key, reason);
    list items as ``key[3]``, a ``problem`` raised by a section's rule under its key."""
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if part != "[key]"]
        ctx = item.get("ctx") or {}
        if item["type"] == "config_rule":
            loc += ctx["key"].split(".")
        key = ""
        for part in loc:
            key += f"[{part}]" if isinstance(part, int) else f"{'.' if key else ''}{part}"
        if item["type"] == "extra_forbidden":
            reason = f"unknown key{did_you_mean(str(loc[-1]), _model_at(root, loc[:-1]))}"
        elif item["type"] == "missing":
            reason = "missing"
        else:
            reason = item["msg"].removeprefix("Value error, ")
            value = item.get("input")
            if isinstance(value, (str, int, float)) and item["type"] != "config_rule":
                reason += f" (got {value!r})"
        yield key, reason


def _model_at(root: type[BaseModel], loc: list[Any]) -> type[BaseModel] | None:
    """The model of the table at ``loc`` under ``root``; None for a plain value."""
    model: Any = root
    for part in loc:
        if typing.get_origin(model) is dict:      # a table of free keys: courier.rates
            model = typing.get_args(model)[1]
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        model = field.annotation
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def did_you_mean(name: str, model: type[BaseModel] | None) -> str:
    """`` (did you mean 'key'?)`` for a misspelt key of ``model``, else its known keys."""
    if model is None:
        return ""
    known = [f.alias or n for n, f in model.model_fields.items()]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"


def _not_bool(value: Any) -> Any:
    # TOML true/false would otherwise pass as 1/0
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError('must be an amount such as "150.00"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation as e:
        raise ValueError(f"not an amount: {value!r}") from e
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a non-negative amount")
    return amount.quantize(Decimal("0.01"))


def zone(value: Any) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a time zone name such as Asia/Shanghai")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {value!r}") from e


def _moment(value: datetime, info: ValidationInfo) -> datetime:
    """A date-time without an offset is in ``schedule.timezone``."""
    tz = (info.context or {}).get("tz")
    return value.replace(tzinfo=tz) if value.tzinfo is None and tz else value


def _base(info: ValidationInfo) -> Path | None:
    return (info.context or {}).get("base_dir")


def _path(value: Path, info: ValidationInfo) -> Path:
    base = _base(info)
    return base / value if base and not value.is_absolute() else value


def _optional_path(value: str, info: ValidationInfo) -> str | None:
    return str(_path(Path(value), info)) if value else None


Text = str                                            # may be empty
NonEmpty = Annotated[str, AfterValidator(_not_blank)]
Int = Annotated[int, BeforeValidator(_not_bool)]
Number = Annotated[float, BeforeValidator(_not_bool), Field(gt=0)]
Amount = Annotated[Decimal, BeforeValidator(_amount), PlainSerializer(str)]
Moment = Annotated[datetime, AfterValidator(_moment)]
TimeZone = Annotated[ZoneInfo, BeforeValidator(zone), PlainSerializer(str)]
ConfigPath = Annotated[Path, AfterValidator(_path)]   # relative: against the config file
OptionalPath = Annotated[str | None, BeforeValidator(lambda v: v or ""),
                         AfterValidator(_optional_path)]   # "" = none
Year = Annotated[int, BeforeValidator(_not_bool)]


def _database_url(url: str, info: ValidationInfo) -> str:
    """Any SQLAlchemy URL; a relative SQLite file is made absolute against the base."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ValueError("must be an SQLAlchemy URL such as sqlite:///var/invoices.db") from e
    name, base = parsed.database or "", _base(info)
    if (base and parsed.drivername.startswith("sqlite") and name and name != ":memory:"
            and not name.startswith("file:") and not Path(name).is_absolute()):
        return parsed.set(database=str(base / name)).render_as_string(hide_password=False)
    return url


def _mailbox_url(url: str, info: ValidationInfo) -> str:
    """``maildir:PATH`` (a relative PATH made absolute against the base), ``imap://``
    or ``imaps://`` (parsed in full when the mailbox is opened)."""
    scheme, _, rest = url.partition(":")
    if scheme not in ("maildir", "imap", "imaps") or (scheme != "maildir" and not rest.startswith("//")):
        raise ValueError("must start with maildir:, imap:// or imaps://")
    base = _base(info)
    if scheme == "maildir" and base and rest and not rest.startswith("/"):
        return f"maildir:{base / rest}"
    return url


def _smtp_url(url: str | None) -> str | None:
    if url and not url.startswith(("smtp://", "smtps://")):
        raise ValueError("must start with smtp:// or smtps://")
    return url or None


def _existing_file(path: str | None) -> str | None:
    if path and not Path(path).is_file():
        raise ValueError(f"no such file: {path}")
    return path


DatabaseUrl = Annotated[NonEmpty, AfterValidator(_database_url)]
MailboxUrl = Annotated[NonEmpty, AfterValidator(_mailbox_url)]
SmtpUrl = Annotated[Text | None, AfterValidator(_smtp_url)]            # "" = none
ExistingFile = Annotated[OptionalPath, AfterValidator(_existing_file)]  # "" = none
