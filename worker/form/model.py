"""What the parser hands to the rest of the worker: a form's header, lines and 合计."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Line:
    """One trainee line as the form gives it, normalised but not validated: what the
    checks (``worker.validation``), issuing and the stored line read.

    Raw texts are kept next to parsed numbers so replies can quote what the unit wrote.
    """

    position: int  # 1-based order among the form's lines
    seq: int | None  # 序号 as written; None when blank or not a number
    name: str
    id_number: str  # squashed, lower-case x upper-cased
    order_no: str  # squashed digit string (numbers typed as numbers lose their '.0')
    year: int | None
    amount: Decimal | None
    year_raw: str = ""
    amount_raw: str = ""
    row: int | None = None  # 1-based spreadsheet row, for messages

    @property
    def ref(self) -> int:
        """The line number reasons cite: the trainee's 序号, else its position."""
        return self.seq if self.seq is not None else self.position


@dataclass
class ParsedForm:
    """A form as found on the sheet that holds the trainee table."""

    sheet: str
    header: dict[str, str] = field(default_factory=dict)  # absent key = label absent
    lines: list[Line] = field(default_factory=list)
    total_count: int | None = None
    total_amount: Decimal | None = None
    has_total_row: bool = False
    below_blank: list[int] = field(default_factory=list)  # worker.form.table.Table's
    hidden_rows: list[int] = field(default_factory=list)  # Table.hidden: trainees in hidden rows
