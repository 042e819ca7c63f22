"""Rows whose key is one of many values (``column IN (...)``) at the driver's speed,
bound and read exactly as SQLAlchemy binds and reads them.

``Connection.execute(select, {"keys": [...]})`` with an expanding parameter spends most
of an intake chunk's lookup time in SQLAlchemy, not in the database: per execution it
rewrites the statement for the number of values, runs every value through its bind
processor and every row through its result processors, and builds a ``Row`` per row.
``select_in`` does the rewriting once per number of values (rounded up to a ``_STEP``:
the list is padded with its last value, which matches no other row): SQLAlchemy
compiles the statement for the connection's dialect and expands it
(``SQLCompiler.construct_expanded_state``, the same expansion execute does), keeping
each parameter's own processor. Values then go to the driver through
``Connection.exec_driver_sql`` (SQLAlchemy's error wrapping and events), and each row
gets only the result processors its columns' types have (``TypeEngine.result_processor``
for the driver's column type, as SQLAlchemy asks for it); a column without one is
taken as the driver gives it, as SQLAlchemy does. A column whose type says its result
depends on the value alone (``result_by_value``, ``worker.db.types.Money``) converts
each distinct value once per statement: a chunk's payments hold a few fees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from worker.db.bulk import converted_by_value

#: Numbers of values are rounded up to a multiple of this (padding with the last
#: value): a handful of expanded statements per query, each a few padded binds long.
_STEP = 32


@dataclass(frozen=True)
class _Shape:
    """One query expanded for ``size`` values: its SQL, and per driver parameter (in
    the driver's order) where its value comes from: the n-th key, or a named
    parameter, with the processor SQLAlchemy binds it with."""

    sql: str
    positional: bool
    names: tuple[str, ...]                 # the driver's parameter names, in order
    sources: tuple[int | str, ...]         # key index, or the parameter's name
    processors: tuple[Callable[[Any], Any] | None, ...]  # the named parameters' (by position)
    key_processor: Callable[[Any], Any] | None         # the keys' (one type: one processor)
    keys_only: bool  # the parameters are the keys, in order (no named one): bound as they are


_SHAPES: dict[tuple[Any, ...], _Shape] = {}
_RESULTS: dict[tuple[Any, ...], Callable[[Sequence[Any]], tuple[Any, ...]] | None] = {}
_MAX_SHAPES = 256  # a few queries by a few sizes per dialect; tests make many engines


def select_in(conn: Connection, statement: Select[Any], expanding: str,
              keys: Sequence[Any], params: Mapping[str, Any] | None = None, *,
              bound: dict[Any, list[Any]] | None = None,
              into: type[tuple[Any, ...]] | None = None) -> list[tuple[Any, ...]]:
    """The rows of ``statement`` (a SELECT whose ``expanding`` parameter is an
    ``IN``'s expanding bindparam; its other parameters given in ``params``) for
    ``keys`` (a non-empty list), each row a tuple of the values SQLAlchemy's
    ``Connection.execute`` would give. Errors: as ``Connection.execute`` raises them (a
    value a bind processor refuses is bound again by SQLAlchemy's own path, which
    raises its own error for it). ``bound``: a dict the caller passes to each query of
    the same ``keys``, where the keys as bound are kept by processor: queries whose
    keys share a type (``bindparam(..., type_=...)``) bind them once. ``into``: a
    NamedTuple class each row is made as (as its ``_make`` makes it, without a call
    to it per row), one field per selected column."""
    if not keys:
        raise ValueError("select_in needs at least one key")
    params = params or {}
    size = -(-len(keys) // _STEP) * _STEP
    shape = _shape(statement, expanding, tuple(sorted(params)), size, conn.dialect)
    try:
        # The keys' binds share one processor: each key is processed once, padding after.
        process_key = shape.key_processor
        done = bound.get(process_key) if bound is not None else None
        if done is None:
            done = list(keys) if process_key is None else [process_key(key) for key in keys]
            if bound is not None:
                bound[process_key] = done
        padded = done + [done[-1]] * (size - len(keys))
        values = padded if shape.keys_only else [
            padded[source] if isinstance(source, int)
            else params[source] if process is None else process(params[source])
            for source, process in zip(shape.sources, shape.processors, strict=True)]
    except Exception:
        result = conn.execute(statement, {expanding: list(keys), **params})
        return [tuple(row) if into is None else into._make(row) for row in result.all()]
    bound: Any = tuple(values) if shape.positional else dict(zip(shape.names, values,
                                                                 strict=True))
    result = conn.exec_driver_sql(shape.sql, bound)
    cursor = result.cursor
    try:
        convert = _converter(statement, conn.dialect, cursor.description, into)
        rows = cursor.fetchall()  # the driver's tuples: no Row object each
    finally:
        result.close()
    if convert is not None:
        return list(map(convert, rows))
    make = tuple if into is None else into._make
    return list(map(make, rows))


def _shape(statement: Select[Any], expanding: str, others: tuple[str, ...], size: int,
           dialect: Dialect) -> _Shape:
    cache_key = (statement, expanding, others, size, dialect)
    shape = _SHAPES.get(cache_key)
    if shape is not None:
        return shape
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    # Placeholder values: only their number shapes the expansion.
    state = compiled.construct_expanded_state({expanding: [None] * size,
                                               **dict.fromkeys(others)})
    expanded = state.parameter_expansion[expanding]
    index = {name: i for i, name in enumerate(expanded)}
    names = tuple(state.positiontup) if compiled.positional and state.positiontup \
        else tuple(state.parameters)
    escaped = {v: k for k, v in (compiled.escaped_bind_names or {}).items()}
    sources: list[int | str] = []
    for name in names:
        original = escaped.get(name, name)
        if name in index:
            sources.append(index[name])
        elif original in others:
            sources.append(original)
        else:
            raise ValueError(f"no value for the parameter {original!r}")
    key_processors = {state.processors.get(name) for name in expanded}
    if len(key_processors) != 1:
        raise ValueError(f"the values of {expanding!r} are not bound alike")
    shape = _Shape(sql=state.statement, positional=compiled.positional, names=names,
                   sources=tuple(sources),
                   processors=tuple(None if isinstance(source, int)
                                    else state.processors.get(name)
                                    for name, source in zip(names, sources, strict=True)),
                   key_processor=key_processors.pop(),
                   keys_only=tuple(sources) == tuple(range(size)))
    if len(_SHAPES) >= _MAX_SHAPES:
        _SHAPES.clear()
        _RESULTS.clear()
    _SHAPES[cache_key] = shape
    return shape


def _converter(statement: Select[Any], dialect: Dialect, description: Sequence[Any] | None,
               into: type[tuple[Any, ...]] | None = None,
               ) -> Callable[[Sequence[Any]], tuple[Any, ...]] | None:
    """A driver row as ``Connection.execute`` gives it (made as ``into``, when given):
    each column whose type converts what the driver gives (for the driver's column
    types, ``cursor.description``) through that conversion (a ``result_by_value``
    type's looked up among the values it converted before), in one generated function
    per statement (its source holds column positions only); None when no column
    converts."""
    coltypes = tuple(d[1] for d in description) if description else ()
    cache_key = (statement, dialect, coltypes, into)
    if cache_key in _RESULTS:
        return _RESULTS[cache_key]
    scope: dict[str, Any] = {}
    exprs = []
    for i, column in enumerate(statement.selected_columns):
        coltype = coltypes[i] if i < len(coltypes) else None
        process = column.type.dialect_impl(dialect).result_processor(dialect, coltype)
        if process is None:
            exprs.append(f"row[{i}]")
        elif getattr(column.type, "result_by_value", False):
            scope[f"_c{i}"], scope[f"_p{i}"] = converted_by_value(process)
            exprs.append(f"_c{i}[v{i}] if (v{i} := row[{i}]) in _c{i} else _p{i}(v{i})")
        else:
            scope[f"_p{i}"] = process
            exprs.append(f"_p{i}(row[{i}])")
    convert = None
    if scope:
        # ``tuple.__new__(into, values)`` is what ``into._make(values)`` returns.
        made = "({},)" if into is None else "_new(_into, ({},))"
        scope.update(_new=tuple.__new__, _into=into)
        exec(f"def convert(row):\n    return {made.format(', '.join(exprs))}\n",  # noqa: S102
             scope)
        convert = scope["convert"]
    _RESULTS[cache_key] = convert
    return convert

