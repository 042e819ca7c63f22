"""Telling "the database refuses this data" from "the database is gone".

A mail whose values the database refuses must be held on its own (the pass goes on);
a lost connection, a full disk or a server shutting down must stop the pass (the
mail stays in the inbox for the next one). Storage code asks ``refused_data(exc)``
before deciding which.

The classes are PostgreSQL's SQLSTATE classes (Appendix A, "PostgreSQL Error Codes"):
22 data exception (NUL in text, value too long, numeric out of range, bad encoding),
23 integrity constraint violation, 54 program limit exceeded (an index entry too
large: psycopg reports it as an ``OperationalError``, which would otherwise read as
"database unavailable"). Classes 08 (connection), 53 (insufficient resources: disk
full, out of memory), 57 (operator intervention) and 58 (system error) are not data.
SQLite reports its data refusals as ``sqlite3.DataError``/``IntegrityError`` and a
full disk or busy database as ``OperationalError``, which the class check keeps.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

DATA_SQLSTATE_CLASSES = ("22", "23", "54")
"""SQLSTATE classes that blame the values sent, not the database (see above)."""


def refused_data(exc: BaseException) -> bool:
    """True when ``exc`` says the database (or its driver) will not take these values;
    False for everything else, infrastructure failures included.

    Covers SQLAlchemy's ``DataError`` and ``IntegrityError``, any DB-API error whose
    SQLSTATE (psycopg's ``sqlstate``) is in ``DATA_SQLSTATE_CLASSES``, a value a
    column type could not convert (``StatementError`` around ``ValueError``,
    ``OverflowError`` or ``TypeError``), and a text or number the driver could not
    encode (``UnicodeError``, ``OverflowError``: sqlite3 raises these unwrapped)."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None)
        return isinstance(state, str) and state[:2] in DATA_SQLSTATE_CLASSES
    if isinstance(exc, StatementError):  # raised while binding, before the database
        return isinstance(exc.orig, ValueError | OverflowError | TypeError)
    return isinstance(exc, UnicodeError | OverflowError)
