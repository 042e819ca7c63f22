"""Simple bar charts drawn on the server as inline SVG (``templates/console/_charts.html``).

The console's Content-Security-Policy forbids scripts and inline styles, so a chart
is plain SVG: shapes with presentation attributes (``fill``, ``font-size``), which CSP
does not treat as styles, laid out here and written by a Jinja macro, so every label
is autoescaped like any other page text. Amounts are in 元 (Decimal, the invoices'
``amount``, tax included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Bar:
    label: str
    value: str        # "1,234.50"
    x: float          # the bar's rectangle
    y: float
    w: float
    h: float
    label_x: float    # where the label and the value are written
    label_y: float
    value_x: float
    value_y: float


@dataclass(frozen=True)
class Chart:
    title: str
    kind: str         # "bars" (horizontal, labels left) or "columns" (vertical, labels under)
    width: int
    height: int
    bars: tuple[Bar, ...]
    baseline: float = 0.0


def _yuan(value: Decimal) -> str:
    return f"{value:,.2f}"


def bars(items: Sequence[tuple[str, Decimal]], title: str, *, width: int = 560) -> Chart:
    """Horizontal bars, one row per label (districts), the amount at each bar's end."""
    row, label_w, value_w = 26, 80, 120
    top = max((v for _, v in items), default=Decimal(0)) or Decimal(1)
    span = width - label_w - value_w
    shapes = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        w = max(1.0, float(span * value / top)) if value > 0 else 0.0
        shapes.append(Bar(label, _yuan(value), label_w, y + 3, w, row - 8,
                          label_w - 6, y + 16, label_w + w + 6, y + 16))
    return Chart(title, "bars", width, row * len(items) + 8, tuple(shapes))


def columns(items: Sequence[tuple[str, Decimal]], title: str, *, width: int = 560,
            height: int = 220) -> Chart:
    """Vertical columns in the given order (months), labels under, amounts above."""
    left, bottom, top_pad = 8, 24, 22
    slot = (width - 2 * left) / max(1, len(items))
    bar_w = max(6.0, min(48.0, slot * 0.6))
    top = max((v for _, v in items), default=Decimal(0)) or Decimal(1)
    plot = height - bottom - top_pad
    base = height - bottom
    shapes = []
    for i, (label, value) in enumerate(items):
        cx = left + slot * (i + 0.5)
        h = float(plot * value / top) if value > 0 else 0.0
        shapes.append(Bar(label, _yuan(value), round(cx - bar_w / 2, 1), round(base - h, 1),
                          round(bar_w, 1), round(h, 1), round(cx, 1), height - 7,
                          round(cx, 1), round(base - h - 6, 1)))
    return Chart(title, "columns", width, height, tuple(shapes), baseline=base)
