"""Many rows into one table at the driver's speed, bound exactly as SQLAlchemy binds them.

``Connection.execute(insert, rows)`` spends most of an intake chunk's INSERT time in
SQLAlchemy's per-row parameter handling (a dict per row of every bind name, then each
value through its processor), not in the database. ``insert_many`` does the same work
once per statement shape: the INSERT is compiled by SQLAlchemy for the connection's
dialect with the rows' keys, each bind keeps the processor SQLAlchemy itself would use
(the compiled statement's, so a ``worker.db.types`` column is cleaned and converted
exactly as before) and the Python-side column defaults of the keys left out are
computed per row as SQLAlchemy does. Rows then go to the driver in one ``executemany``
(through ``Connection.exec_driver_sql``: SQLAlchemy's error wrapping and events).

An INSERT ... RETURNING is one multi-row statement, as SQLAlchemy would write it
("insertmanyvalues"): on a positional driver (sqlite3) its one row's VALUES group, which
SQLAlchemy exposes for such batching, is repeated; elsewhere SQLAlchemy writes it.

A value a processor refuses (say a naive datetime) is bound again by SQLAlchemy's own
path, which raises the very error it raised before (``StatementError`` and its text).

A column whose type says its conversion depends on the value alone (``bind_by_value``,
``worker.db.types.Money``: equal values, equal results) converts each distinct value
once per statement shape: an intake chunk binds a few fees, and their net and tax, for
thousands of lines and items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Plan:
    """One compiled INSERT shape: its SQL, the driver's parameter names in order, and
    ``bind``, which makes a row's parameters: its keys' values in that order, each
    through the processor SQLAlchemy would apply, and the Python-side defaults of the
    keys left out, each at its place, already bound."""

    sql: str
    positional: bool
    group: str | None       # a RETURNING statement's row to repeat (``_values_group``)
    batch: int              # rows per such statement
    names: tuple[str, ...]
    bind: Callable[[dict[str, Any]], Any]  # a row's parameters (``_binder``)


_PLANS: dict[tuple[Any, ...], _Plan] = {}
_MAX_PLANS = 256  # a handful of shapes per dialect; tests make many engines


def insert_many(conn: Connection, insert: Insert, rows: Sequence[dict[str, Any]],
                returning: tuple[str, ...] = (), keys: tuple[str, ...] | None = None,
                ) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts, each holding ``keys``: column keys of ``insert``'s table;
    default: all of the first row's keys) with ``insert`` (an INSERT without RETURNING,
    its binds possibly typed by ``.values(bindparam(...))``); rows keep their order
    (ids ascend with it).
    ``returning``: column keys returned, one tuple per row (order not promised:
    match them by a natural key); else [].
    Errors: as ``Connection.execute(insert, rows)`` raises them."""
    if not rows:
        return []
    statement = _with_returning(insert, returning)
    keys = tuple(sorted(rows[0] if keys is None else keys))
    plan = _plan(statement, keys, conn.dialect, bool(returning))
    if returning and plan.group is None:
        # No positional multi-row form here (PostgreSQL's named parameters): SQLAlchemy
        # writes its own ("insertmanyvalues").
        return [tuple(r) for r in conn.execute(statement, [{k: row[k] for k in keys}
                                                           for row in rows])]
    try:
        params = _bound(plan, rows)
    except Exception:
        # A processor refused a value: SQLAlchemy's path raises its own error for it.
        result = conn.execute(statement, [{k: row[k] for k in keys} for row in rows])
        return [tuple(r) for r in result] if returning else []
    if not returning:
        conn.exec_driver_sql(plan.sql, params if len(params) > 1 else params[0])
        return []
    assert plan.group is not None
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(params), plan.batch):
        part = params[start:start + plan.batch]
        sql = plan.sql.replace(plan.group, ", ".join([plan.group] * len(part)), 1)
        out.extend(tuple(r) for r in
                   conn.exec_driver_sql(sql, tuple(v for one in part for v in one)).all())
    return out


@lru_cache(maxsize=64)
def _with_returning(insert: Insert, returning: tuple[str, ...]) -> Insert:
    """Built once per shape: a new statement object would compute its cache key anew."""
    return insert.returning(*(insert.table.c[k] for k in returning)) if returning else insert


def _plan(insert: Insert, keys: tuple[str, ...], dialect: Dialect, returning: bool) -> _Plan:
    cache_key = (insert, keys, dialect)
    plan = _PLANS.get(cache_key)
    if plan is not None:
        return plan
    compiled = insert.compile(dialect=dialect, column_keys=list(keys),
                              for_executemany=returning)
    assert isinstance(compiled, SQLCompiler)
    names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
    defaults = {c.key: c.default for c in compiled.insert_prefetch}
    processors = compiled._bind_processors  # what the execution context applies
    filled: dict[int, _Default] = {}
    for place, name in enumerate(names):
        if name in keys:
            continue
        default = defaults.get(name)
        if default is None or not (default.is_scalar or default.is_callable):
            raise ValueError(f"{insert.table.name}: no value nor Python default for {name}")
        filled[place] = _default(default, processors.get(name))
    given = [name for name in names if name in keys]
    escaped = compiled.escaped_bind_names or {}
    group = _values_group(compiled, insert, dialect) if returning else None
    bound_as = tuple(escaped.get(n, n) for n in names)
    processed = {i: processors[n] for i, n in enumerate(given)  # type: ignore[misc]
                 if processors.get(n) is not None}
    by_value = {i for i, n in enumerate(given)
                if i in processed and getattr(compiled.binds[n].type, "bind_by_value", False)}
    plan = _Plan(
        sql=compiled.string, positional=compiled.positional, group=group,
        batch=max(1, min(dialect.insertmanyvalues_page_size,
                         (dialect.insertmanyvalues_max_parameters or 32766) // len(names))),
        names=bound_as,
        bind=_binder(compiled.positional, bound_as, given, processed, by_value, filled),
    )
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[cache_key] = plan
    return plan


def _values_group(compiled: SQLCompiler, insert: Insert, dialect: Dialect) -> str | None:
    """The one row's ``(?, ?, ...)`` of a positional INSERT ... RETURNING, which a
    multi-row statement repeats (SQLAlchemy's ``insert_single_values_expr``, meant for
    such batching); None where that is not safe: named parameters, the group found
    more than once, or a returned column whose type converts results (the driver's
    rows are not processed)."""
    expr = compiled.insert_single_values_expr
    if not compiled.positional or expr is None:
        return None
    group = f"({expr})"
    if compiled.string.count(group) != 1:
        return None
    for column in compiled.effective_returning or ():
        if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
            return None
    return group


@dataclass(frozen=True)
class _Default:
    """A column default as bound (see ``_default``): ``value`` itself, or ``call()``'s
    result per row when ``call`` is set."""

    value: Any = None
    call: Callable[[], Any] | None = None


def _default(default: Any, process: Callable[[Any], Any] | None) -> _Default:
    """A column default's value as bound (``process``: its bind processor): a scalar's
    bound once here (a processor that refuses it: bound per row, where the refusal is
    handled), a callable's computed per row, as SQLAlchemy does."""
    if default.is_scalar:
        value = default.arg
        if process is None:
            return _Default(value)
        try:
            return _Default(process(value))
        except Exception:
            return _Default(call=lambda: process(default.arg))
    call = default.arg  # SQLAlchemy's wrapper takes the execution context; ours ignore it
    if process is None:
        return _Default(call=lambda: call(None))
    return _Default(call=lambda: process(call(None)))


def _bound(plan: _Plan, rows: Sequence[dict[str, Any]]) -> list[Any]:
    """The driver's parameters: a tuple per row (positional) or a dict."""
    return list(map(plan.bind, rows))


#: Distinct values a ``bind_by_value`` (or ``result_by_value``) column keeps converted, per
#: statement shape: a handful of fees, nets and taxes in practice; more are converted
#: each time they come.
_BY_VALUE_LIMIT = 4096


def _binder(positional: bool, names: tuple[str, ...], given: list[str],
            processors: dict[int, Callable[[Any], Any]], by_value: set[int],
            defaults: dict[int, _Default]) -> Callable[[dict[str, Any]], Any]:
    """One function that makes a row's parameters in the statement's order: each given
    key's value (through its processor, ``processors`` by its index among ``given``;
    those in ``by_value`` looked up among the values already converted) and each
    default left out at its place (``defaults`` by place; a constant one is bound as
    it is), as a tuple (positional) or a dict keyed by the driver's ``names``.
    Generated once per plan (as ``dataclasses`` generates ``__init__``): a loop per row
    over the keys, the processors and the defaults cost intake a third of its binding
    time. Its source holds only the statement's own column keys (``repr``), never a
    value."""
    scope: dict[str, Any] = {}
    exprs: list[str] = []
    taken = 0
    for place in range(len(names)):
        if place in defaults:
            default = defaults[place]
            scope[f"_d{place}"] = default.call or default.value
            exprs.append(f"_d{place}()" if default.call else f"_d{place}")
            continue
        key = given[taken]
        if taken in by_value:
            scope[f"_c{taken}"], scope[f"_p{taken}"] = converted_by_value(processors[taken])
            exprs.append(f"_c{taken}[v{taken}] if (v{taken} := row[{key!r}]) in _c{taken} "
                         f"else _p{taken}(v{taken})")
        elif taken in processors:
            scope[f"_p{taken}"] = processors[taken]
            exprs.append(f"_p{taken}(row[{key!r}])")
        else:
            exprs.append(f"row[{key!r}]")
        taken += 1
    body = (f"({''.join(e + ', ' for e in exprs)})" if positional else
            "{" + ", ".join(f"{name!r}: {e}" for name, e in zip(names, exprs, strict=True)) + "}")
    exec(f"def bind(row):\n    return {body}\n", scope)  # noqa: S102 (keys, not data)
    bind: Callable[[dict[str, Any]], Any] = scope["bind"]
    return bind


def converted_by_value(process: Callable[[Any], Any],
                       ) -> tuple[dict[Any, Any], Callable[[Any], Any]]:
    """The values a by-value processor (a type's ``bind_by_value`` bind processor here,
    its ``result_by_value`` result processor in ``worker.db.select_in``) converted
    (value -> converted), and the processor that adds to them (up to
    ``_BY_VALUE_LIMIT``; a value it refuses is not kept: it raises again each time)."""
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        bound = process(value)
        if len(done) < _BY_VALUE_LIMIT:
            done[value] = bound
        return bound

    return done, convert
