"""The one declarative base: every table of ``worker.db.models`` is in its metadata."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
