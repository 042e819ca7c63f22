"""What an import of a payment export found and did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    """A row that was not stored, and why; or, ``about_file``, something staff must know
    about rows that were (at the header's line), not counted as a row."""

    source: str
    line: int
    detail: str
    about_file: bool = False

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.detail}"


@dataclass
class ImportResult:
    source: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def bad(self) -> int:
        """Rows not stored (a notice about the file is no row)."""
        return sum(not e.about_file for e in self.errors)

    def summary(self) -> str:
        return (f"{self.source}: {self.rows} rows, {self.inserted} new, {self.updated} updated, "
                f"{self.unchanged} unchanged, {self.bad} bad")
