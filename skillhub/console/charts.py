"""Small charts for console pages, drawn on the server as inline SVG: no script, no outside library."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 180
LEFT, RIGHT, TOP, BOTTOM = 44, 56, 24, 34


@dataclass
class Series:
    label: str
    color: str
    values: Sequence[float | None]
    dashed: bool = False


@dataclass
class Chart:
    """Stacked bars on the left axis, lines on the right one, one column per x label."""

    title: str
    x_labels: Sequence[str]
    bars: list[Series] = field(default_factory=list)
    lines: list[Series] = field(default_factory=list)
    bar_unit: str = ""
    line_unit: str = ""
    label_every: int = 3


def _nice(top: float) -> float:
    if top <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(top))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= top:
            return float(step * magnitude)
    return float(10 * magnitude)


def _text(x: float, y: float, body: str, *, anchor: str = "middle", size: int = 10, color: str = "#6b7280") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}">{escape(body)}</text>'


def render(chart: Chart) -> SafeString:
    """Return the chart as an `<svg>` element with a title and a legend (screen readers get the title)."""
    columns = max(len(chart.x_labels), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / columns
    stacks = [sum((series.values[i] or 0) for series in chart.bars) for i in range(columns)]
    bar_top = _nice(max(stacks, default=0))
    line_values = [v for series in chart.lines for v in series.values if v is not None]
    line_top = _nice(max(line_values, default=0))
    parts = [
        f'<svg class="console-chart" role="img" aria-label="{escape(chart.title)}" viewBox="0 0 {WIDTH} {HEIGHT + 18}" '
        f'width="{WIDTH}" height="{HEIGHT + 18}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(_text(LEFT - 4, y + 3, f"{bar_top * fraction:g}", anchor="end"))
        if chart.lines:
            parts.append(_text(LEFT + plot_w + 4, y + 3, f"{line_top * fraction:g}{chart.line_unit}", anchor="start"))
    for i in range(columns):
        x = LEFT + i * step
        base = float(TOP + plot_h)
        for series in chart.bars:
            value = series.values[i] or 0
            if value <= 0:
                continue
            height = plot_h * value / bar_top
            base -= height
            parts.append(
                f'<rect x="{x + step * 0.12:.1f}" y="{base:.1f}" width="{step * 0.76:.1f}" height="{height:.1f}" '
                f'fill="{series.color}"><title>{escape(chart.x_labels[i])}: {value:g} {escape(series.label)}</title></rect>'
            )
        if i % chart.label_every == 0:
            parts.append(_text(x + step / 2, TOP + plot_h + 13, chart.x_labels[i]))
    for series in chart.lines:
        points = [
            f"{LEFT + (i + 0.5) * step:.1f},{TOP + plot_h * (1 - value / line_top):.1f}"
            for i, value in enumerate(series.values)
            if value is not None
        ]
        if not points:
            continue
        dash = ' stroke-dasharray="4 3"' if series.dashed else ""
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{series.color}" stroke-width="2"{dash}/>')
        for point in points:
            cx, cy = point.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.2" fill="{series.color}"/>')
    x = LEFT
    legend_y = HEIGHT + 8
    for series in chart.bars:
        parts.append(f'<rect x="{x}" y="{legend_y - 8}" width="10" height="10" fill="{series.color}"/>')
        parts.append(_text(x + 14, legend_y + 1, series.label, anchor="start", color="#374151"))
        x += 22 + 6.2 * len(series.label)
    for series in chart.lines:
        dash = ' stroke-dasharray="4 3"' if series.dashed else ""
        parts.append(f'<line x1="{x}" x2="{x + 14}" y1="{legend_y - 3}" y2="{legend_y - 3}" stroke="{series.color}" stroke-width="2"{dash}/>')
        parts.append(_text(x + 18, legend_y + 1, series.label, anchor="start", color="#374151"))
        x += 26 + 6.2 * len(series.label)
    if chart.bar_unit:
        parts.append(_text(4, TOP - 12, chart.bar_unit, anchor="start"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
