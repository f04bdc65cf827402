"""Presentation of the head's reports: Indonesian (or English) numbers and dates with Babel, and
charts drawn on the server as inline SVG (readable without JavaScript and in print)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from html import escape

from babel import Locale
from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_group_symbol, get_minus_sign_symbol, parse_pattern
from markupsafe import Markup

LOCALES = {"id": "id_ID", "en": "en_GB"}
_PATTERNS = {digits: parse_pattern("#,##0" + ("." + "0" * digits if digits else "")) for digits in range(4)}


@lru_cache(maxsize=4096)
def _date(d: date, pattern: str, locale: str) -> str:
    return format_date(d, pattern, locale=locale)


class _Numbers:
    """One locale's decimal and group symbols and grouping, from Babel's CLDR data, applied with
    Python's decimal formatting (the same half-even rounding of the shortest repr as Babel's
    ``NumberPattern.apply``, at a tenth of its cost: a report page formats thousands of figures).
    Locales whose grouping is not in threes, or whose minus sign is not ASCII, go through Babel."""

    def __init__(self, locale: str) -> None:
        self.babel = Locale.parse(locale)
        grouping = self.babel.decimal_formats[None].grouping
        self.fast = grouping == (3, 3) and get_minus_sign_symbol(locale) == "-"
        self.symbols = str.maketrans({",": get_group_symbol(locale), ".": get_decimal_symbol(locale)})

    def format(self, n: float | int, digits: int) -> str:
        if not self.fast:
            return _PATTERNS[digits].apply(n, self.babel)
        if isinstance(n, int) and digits == 0:
            return format(n, ",").translate(self.symbols)
        value = n if isinstance(n, Decimal) else Decimal(str(n))
        text = format(value, f",.{digits}f")
        if text.startswith("-") and not text.strip("-0.,"):
            text = text[1:]  # a negative figure that rounds to zero reads 0 (Babel writes "-0")
        return text.translate(self.symbols)


@lru_cache(maxsize=8)
def _numbers(locale: str) -> _Numbers:
    return _Numbers(locale)


class Fmt:
    """Bound to one language; templates call ``f.pct(x)``, ``f.num(n)``, ``f.day(d)``."""

    def __init__(self, lang: str) -> None:
        self.locale = LOCALES.get(lang, "id_ID")
        self._numbers = _numbers(self.locale)

    def num(self, n: float | int | None) -> str:
        return "—" if n is None else self._numbers.format(n, 0)

    def dec(self, n: float | None, digits: int = 1) -> str:
        return "—" if n is None else self._numbers.format(n, digits)

    def pct(self, share: float | None, digits: int = 1) -> str:
        """``0.995`` -> ``99,5 %`` (Indonesian) or ``99.5 %``."""
        return "—" if share is None else f"{self.dec(share * 100, digits)}\u00a0%"

    def day(self, d: date | None) -> str:
        """``Selasa, 1 Desember 2026``."""
        return "—" if d is None else _date(d, "EEEE, d MMMM y", self.locale)

    def short_day(self, d: date | None) -> str:
        return "—" if d is None else _date(d, "d MMM y", self.locale)

    def month(self, d: date) -> str:
        return _date(d, "MMMM y", self.locale)


def bar_chart(items: list[tuple[str, float | None]], target: float | None, title: str, lo: float = 0.9, fmt: Fmt | None = None) -> Markup:
    """Horizontal bars of shares (``lo`` to 100 %), a dashed line at ``target``."""
    fmt = fmt or Fmt("id")
    row, label_w, bar_w, pad = 22, 170, 330, 6
    height = row * len(items) + 30
    width = label_w + bar_w + 70

    def x(v: float) -> float:
        return label_w + max(0.0, min(1.0, (v - lo) / (1 - lo))) * bar_w

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(items):
        y = 10 + i * row
        parts.append(f'<text x="{label_w - pad}" y="{y + 14}" text-anchor="end" font-size="12">{escape(label)}</text>')
        if value is not None:
            bad = target is not None and value < target
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{x(value) - label_w:.1f}" height="{row - 8}" fill="{"#b3261e" if bad else "#1a7f37"}"/>')
            parts.append(f'<text x="{x(value) + pad:.1f}" y="{y + 14}" font-size="11">{escape(fmt.pct(value))}</text>')
    if target is not None:
        tx = x(target)
        parts.append(f'<line x1="{tx:.1f}" y1="4" x2="{tx:.1f}" y2="{height - 18}" stroke="#0b5cad" stroke-width="2" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{tx:.1f}" y="{height - 5}" text-anchor="middle" font-size="11" fill="#0b5cad">{escape(fmt.pct(target))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(items: list[tuple[str, float | None]], title: str, target: float | None = None, fmt: Fmt | None = None) -> Markup:
    """Vertical columns of shares 0–100 % (a weekly trend), a dashed line at ``target``."""
    fmt = fmt or Fmt("id")
    col, chart_h, top = 34, 140, 10
    width = max(200, col * len(items) + 40)
    height = chart_h + 50
    parts = [
        f'<svg class="chart columns" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="30" y1="{top + chart_h}" x2="{width}" y2="{top + chart_h}" stroke="#57606a"/>',
    ]
    for i, (label, value) in enumerate(items):
        x = 34 + i * col
        if value is not None:
            h = value * chart_h
            parts.append(f'<rect x="{x}" y="{top + chart_h - h:.1f}" width="{col - 8}" height="{h:.1f}" fill="#0b5cad"><title>{escape(label)}: {escape(fmt.pct(value))}</title></rect>')
        parts.append(f'<text x="{x + (col - 8) / 2}" y="{top + chart_h + 14}" text-anchor="middle" font-size="10">{escape(label)}</text>')
    if target is not None:
        y = top + chart_h - target * chart_h
        parts.append(f'<line x1="30" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#b3261e" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="2" y="{top + 8}" font-size="10">100 %</text><text x="2" y="{top + chart_h}" font-size="10">0</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
