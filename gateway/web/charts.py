"""Charts drawn on the server as SVG (pages need no script and print as they show), laid out
right to left from the measured width of every label.

Each text is anchored at its right edge with an explicit `direction="rtl"` and
`text-anchor="start"`: the page is right to left, and a text anchored at its "end" under an
inherited RTL direction grows to the right, out of the chart («یزد» showed as «د»). Widths come
from `gateway.web.fonts` (HarfBuzz over the server's Persian font) with a margin for a browser
font that sets a little wider, so the label column, the room for numbers and the legend's rows
are sized to what they hold, and no bar or legend swatch is drawn over a text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from contracts.persian import persian_digits
from gateway.web.fonts import line_box, text_width

MARGIN = 1.15
"""How much wider a browser's font may set a text than the server's measure of it."""
PAD, GAP = 6.0, 6.0
LABEL_SIZE, VALUE_SIZE, LEGEND_SIZE, TREND_SIZE = 12.0, 10.0, 11.0, 11.0
SWATCH = 10.0
LABEL_SHARE = 0.45
"""At most this share of the width goes to the labels; a longer label wraps onto a second line."""


@dataclass(frozen=True)
class Series:
    """One kind of bar: its legend title, colour, and one value per row."""

    title: str
    colour: str
    values: Sequence[float]
    key: str = ""


def measure(text: str, size: float) -> float:
    """The room `text` needs at `size`, with the margin for a browser's font."""
    return text_width(text, size) * MARGIN


def _number(value: float) -> str:
    rounded = round(float(value), 1)
    return persian_digits(str(int(rounded) if rounded.is_integer() else rounded))


def _as_given(value: float) -> str:
    """The value as the report gives it (and as its table shows it), with Persian digits."""
    return persian_digits(str(value))


def _text(x: float, y: float, value: str, size: float, *, anchor: str = "start") -> str:
    """A text whose `anchor` ("start" = its right edge) is at `x`, right to left."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" direction="rtl" '
        f'text-anchor="{anchor}">{escape(value)}</text>'
    )


def _baseline(top: float, height: float, size: float) -> float:
    """The baseline that centres a line of text of `size` in a slot of `height` from `top`."""
    box = line_box()
    return top + height / 2 + (box.ascent - box.descent) / 2 * size


def _wrap(label: str, room: float, lines: int = 2) -> list[str]:
    """`label` in at most `lines` lines of at most `room` wide, broken between words; the last
    line is shortened with «…» when even that is not enough. Each line but the last keeps its
    space, so the lines read together are the label."""
    if measure(label, LABEL_SIZE) <= room:
        return [label]
    words = label.split(" ")
    result: list[str] = []
    while len(result) < lines - 1 and len(words) > 1:
        taken = 1
        while taken < len(words) - 1 and measure(" ".join(words[: taken + 1]), LABEL_SIZE) <= room:
            taken += 1
        result.append(" ".join(words[:taken]) + " ")
        words = words[taken:]
        if measure(" ".join(words), LABEL_SIZE) <= room:
            break
    last = " ".join(words)
    while len(last) > 1 and measure(last, LABEL_SIZE) > room:
        last = last[:-2] + "…"
    return [*result, last]


def _label(right: float, top: float, height: float, label: str, room: float) -> str:
    lines = _wrap(label, room)
    line = line_box().height * LABEL_SIZE
    first = _baseline(top + (height - line * len(lines)) / 2, line, LABEL_SIZE)
    spans = "".join(
        f'<tspan x="{right:.1f}" y="{first + index * line:.1f}">{escape(text)}</tspan>'
        for index, text in enumerate(lines)
    )
    title = f"<title>{escape(label)}</title>" if "".join(lines) != label else ""
    return (
        f'<g class="label">{title}<text font-size="{LABEL_SIZE:g}" direction="rtl" '
        f'text-anchor="start">{spans}</text></g>'
    )


def _legend(series: Sequence[Series], width: float, top: float) -> tuple[list[str], float]:
    """Swatch and title of each series in rows from the right; the parts and the rows' height."""
    parts: list[str] = []
    row = max(line_box().height * LEGEND_SIZE, SWATCH) + 4
    x, y = width - PAD, top
    for item in series:
        needed = SWATCH + 4 + measure(item.title, LEGEND_SIZE)
        if x - needed < PAD and x < width - PAD:  # the row is full: start another
            x, y = width - PAD, y + row
        parts.append(
            f'<rect class="legend-key" x="{x - SWATCH:.1f}" y="{y + (row - SWATCH) / 2:.1f}" '
            f'width="{SWATCH:g}" height="{SWATCH:g}" fill="{item.colour}"/>'
        )
        parts.append(_text(x - SWATCH - 4, _baseline(y, row, LEGEND_SIZE), item.title, LEGEND_SIZE))
        x -= needed + 3 * GAP
    return parts, (y - top + row) if series else 0.0


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    css_class: str = "chart",
    maximum: float | None = None,
    width: float = 640,
    fluid: bool = True,
    number: Callable[[float], str] = _number,
) -> Markup:
    """Horizontal bars, one group per label: the label at the right, each series' bar growing
    leftwards with its value at its end, and a legend below when there is more than one series."""
    label_room = min(max((measure(label, LABEL_SIZE) for label in labels), default=0.0), width * LABEL_SHARE)
    values = [v for s in series for v in s.values]
    value_room = max((measure(number(v), VALUE_SIZE) for v in values), default=0.0)
    top_value = max([maximum or 0.0, *values, 1e-9])
    bar_right = width - PAD - label_room - GAP
    scale = (bar_right - PAD - value_room - GAP) / top_value
    slot = line_box().height * VALUE_SIZE + 2  # a bar as tall as its value's text
    label_lines = [len(_wrap(label, label_room)) for label in labels]
    parts: list[str] = []
    y = PAD
    for index, label in enumerate(labels):
        group = max(slot * len(series), line_box().height * LABEL_SIZE * label_lines[index])
        parts.append(_label(width - PAD, y, group, label, label_room))
        bars_top = y + (group - slot * len(series)) / 2
        for offset, item in enumerate(series):
            value = item.values[index]
            length = value * scale
            top = bars_top + offset * slot
            css = f' class="bar-{item.key}"' if item.key else ""
            parts.append(
                f'<rect{css} x="{bar_right - length:.1f}" y="{top + 1:.1f}" width="{length:.1f}" '
                f'height="{slot - 2:.1f}" fill="{item.colour}"/>'
            )
            if value:  # a zero shows as no bar; its «۰» would read as a stray dot
                at = bar_right - length - 3
                parts.append(_text(at, _baseline(top, slot, VALUE_SIZE), number(value), VALUE_SIZE))
        y += group + GAP * 2
    if len(series) > 1:
        legend, height = _legend(series, width, y)
        parts += legend
        y += height
    return _svg(parts, title=title, css_class=css_class, width=width, height=y + PAD, fluid=fluid)


def bar_chart_of(
    values: Mapping[str, float],
    names: Mapping[str, str],
    *,
    title: str,
    colour: str,
    maximum: float | None = None,
    width: float = 520,
) -> Markup:
    """One bar per key of `values`, labelled with its name (for templates)."""
    keys = list(values)
    return bar_chart(
        [names.get(k, k) for k in keys],
        [Series(title=title, colour=colour, values=[values[k] for k in keys])],
        title=title,
        maximum=maximum,
        width=width,
        fluid=False,
        number=_as_given,
    )


def line_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    maximum: float,
    colour: str = "#2e86c1",
    width: float = 520,
) -> Markup:
    """Points joined by a line from right (first) to left (last), each with its value above and
    its label below; the ends are inset by half their labels' width so both stay inside."""
    if not labels:
        return Markup("")
    texts = [persian_digits(str(label)) for label in labels]
    halves = [
        max(measure(t, TREND_SIZE), measure(_as_given(v), TREND_SIZE)) / 2
        for t, v in zip(texts, values, strict=True)
    ]
    right, left = width - PAD - halves[0], PAD + halves[-1]
    step = (right - left) / max(len(labels) - 1, 1)
    line = line_box().height * TREND_SIZE
    plot_top, plot_height = PAD + line + 4, 120.0
    bottom = plot_top + plot_height
    points = [(right - step * i, bottom - plot_height * v / maximum) for i, v in enumerate(values)]
    parts = [
        f'<line x1="{PAD:g}" y1="{bottom:.1f}" x2="{width - PAD:g}" y2="{bottom:.1f}" stroke="#888"/>',
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        ),
    ]
    for (x, y), text, value in zip(points, texts, values, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
        value_at = _baseline(y - 6 - line, line, TREND_SIZE)
        parts.append(_text(x, value_at, _as_given(value), TREND_SIZE, anchor="middle"))
        parts.append(_text(x, _baseline(bottom + 4, line, TREND_SIZE), text, TREND_SIZE, anchor="middle"))
    height = bottom + 4 + line + PAD
    return _svg(parts, title=title, css_class="chart", width=width, height=height, fluid=False)


def _svg(parts: list[str], *, title: str, css_class: str, width: float, height: float, fluid: bool) -> Markup:
    size = 'width="100%"' if fluid else f'width="{width:g}"'
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="{css_class}" '
        f'viewBox="0 0 {width:g} {math.ceil(height)}" {size} aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
