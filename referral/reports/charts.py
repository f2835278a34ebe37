"""The report's charts as inline SVG drawn on the server: no script, no inline style, colours by class.

Every chart is 400 units wide and scales to its column (``.report-chart`` in referral.css), so it stays
readable on a 390-pixel phone; each bar carries a ``<title>`` with its exact figure.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

WIDTH = 400
LABEL_LINE = 16
BAR = 12
GAP = 10


@dataclass(frozen=True)
class Bar:
    """One labelled row of a chart: its segments ``(css class, value, tooltip)`` and an optional marker."""

    label: str
    segments: Sequence[tuple[str, float, str]]
    #: A value drawn as a vertical line across the row (the stage's deadline), with its tooltip.
    marker: tuple[float, str] | None = None
    note: str = ""


def _svg(chart_id: str, title: str, height: float, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" aria-labelledby="{escape(chart_id)}-title">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>' + "".join(body) + "</svg>")


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, stacked: bool = False,
              scale: float | None = None) -> Markup:
    """Return horizontal bars, each under its label; stacked segments add up, others overlap (p90 under median)."""
    if not bars:
        return _svg(chart_id, title, 30, [f'<text class="chart-empty" x="0" y="20">{escape(_("No data"))}</text>'])
    largest = scale or max(
        [sum(value for _c, value, _t in bar.segments) if stacked else max([v for _c, v, _t in bar.segments] or [0])
         for bar in bars] + [bar.marker[0] for bar in bars if bar.marker] + [1])
    body, y = [], 0.0
    room = WIDTH - 8
    for bar in bars:
        body.append(f'<text class="chart-label" x="0" y="{y + 12:.1f}">{escape(bar.label[:60])}</text>')
        top = y + LABEL_LINE
        x = 0.0
        for css, value, tooltip in bar.segments:
            width = room * value / largest if largest else 0
            left = x if stacked else 0.0
            body.append(f'<rect class="bar {css}" x="{left:.1f}" y="{top:.1f}" width="{max(width, 0):.1f}" '
                        f'height="{BAR}"><title>{escape(tooltip)}</title></rect>')
            x += width if stacked else 0
        if bar.note:
            # Under the bar, so that no bar, deadline mark or long label ever hides it.
            body.append(f'<text class="chart-value" x="0" y="{top + BAR + 11:.1f}">{escape(bar.note)}</text>')
        if bar.marker is not None:
            at = room * bar.marker[0] / largest
            body.append(f'<line class="deadline-mark" x1="{at:.1f}" x2="{at:.1f}" y1="{top - 3:.1f}" '
                        f'y2="{top + BAR + 3:.1f}"><title>{escape(bar.marker[1])}</title></line>')
        y = top + BAR + GAP + (12 if bar.note else 0)
    return _svg(chart_id, title, y, body)


def column_chart(chart_id: str, title: str, columns: Sequence[tuple[str, Sequence[tuple[str, float, str]]]]) -> Markup:
    """Return vertical stacked columns (referrals per month), labelled below."""
    height, base = 170.0, 140.0
    if not columns:
        return _svg(chart_id, title, 30, [f'<text class="chart-empty" x="0" y="20">{escape(_("No data"))}</text>'])
    largest = max([sum(v for _c, v, _t in segments) for _label, segments in columns] + [1])
    step = WIDTH / len(columns)
    width = min(step * 0.7, 40)
    body = [f'<line class="axis" x1="0" x2="{WIDTH}" y1="{base}" y2="{base}"/>']
    every = max(1, round(len(columns) / 8))
    for index, (label, segments) in enumerate(columns):
        x = index * step + (step - width) / 2
        top = base
        for css, value, tooltip in segments:
            h = (base - 14) * value / largest
            top -= h
            body.append(f'<rect class="bar {css}" x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{h:.1f}">'
                        f"<title>{escape(tooltip)}</title></rect>")
        total = sum(v for _c, v, _t in segments)
        if total:
            body.append(f'<text class="chart-value" x="{x + width / 2:.1f}" y="{top - 3:.1f}" '
                        f'text-anchor="middle">{total:g}</text>')
        if index % every == 0:
            body.append(f'<text class="chart-label" x="{x + width / 2:.1f}" y="{base + 16:.1f}" '
                        f'text-anchor="middle">{escape(label)}</text>')
    return _svg(chart_id, title, height, body)
