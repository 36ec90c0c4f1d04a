"""Charts drawn once, as SVG, from the rows the report quotes; the HTML inlines them and the PDF
embeds the same files.

Legible in black and white: every series has its own marker shape and grey level, every point
carries its value as a label, intervals are drawn as whiskers, and axis ticks carry no ``%`` (the
unit is in the axis title) so that only quoted, traced figures read as percentages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import altair as alt
import pandas as pd
import vl_convert

# The PDF's font (embedded in the typst wheel). vl-convert cannot see it, and looking for an
# unknown font doubles its time, so charts are laid out with the generic serif and the SVG then
# names Libertinus first (Typst uses it; a browser falls back to its serif).
FONT = "serif"
SVG_FONT = "Libertinus Serif, serif"
SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
GREYS = ["#000000", "#555555", "#888888", "#222222", "#666666", "#999999"]
FILLED = [True, False, True, False, True, False]
WIDTH = 260
LABEL_LIMIT = 420


@dataclass(frozen=True)
class Point:
    label: str  # the row of the chart (y axis)
    series: str  # wave, territory or source: shape and grey
    value: float
    low: float | None
    high: float | None
    text: str  # the formatted, traced value


def interval_chart(points: list[Point], x_title: str, *, log: bool = False,
                   reference: float | None = None, scale_percent: bool = True,
                   id_prefix: str = "chart-") -> str:
    """Dot-and-whisker chart, one row per label, one marker shape per series; returns SVG."""
    factor = 100.0 if scale_percent else 1.0
    frame = pd.DataFrame([{
        "label": p.label, "series": p.series, "value": p.value * factor,
        "low": (p.low if p.low is not None else p.value) * factor,
        "high": (p.high if p.high is not None else p.value) * factor,
        "text": p.text,
    } for p in points])
    series = list(dict.fromkeys(frame["series"]))
    labels = list(dict.fromkeys(frame["label"]))
    per_label = int(frame.groupby("label")["series"].nunique().max()) if len(frame) else 1
    many = per_label > 1  # several markers on one row: offset them vertically
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True, nice=True)
    x = alt.X("value:Q", title=x_title, scale=scale,
              axis=alt.Axis(format="~r" if log else "d", grid=True, gridColor="#dddddd"))
    y = alt.Y("label:N", title=None, sort=labels,
              axis=alt.Axis(labelLimit=LABEL_LIMIT, labelFontSize=10))
    offset = {"yOffset": alt.YOffset("series:N", sort=series)} if many else {}
    legend = alt.Legend(title=None, orient="bottom", direction="horizontal", labelFontSize=10,
                        labelLimit=230, columns=min(2, len(series))) if len(series) > 1 else None
    shape = alt.Shape("series:N", sort=series, scale=alt.Scale(domain=series,
                      range=SHAPES[:len(series)]), legend=legend)
    colour = alt.Color("series:N", sort=series, scale=alt.Scale(domain=series,
                       range=GREYS[:len(series)]), legend=legend)
    fill = alt.Fill("series:N", sort=series, scale=alt.Scale(
        domain=series, range=[GREYS[i] if FILLED[i] else "white" for i in range(len(series))]),
        legend=legend)
    base = alt.Chart(frame).encode(y=y, **offset)
    whiskers = base.mark_rule(strokeWidth=1.4).encode(x=alt.X("low:Q", scale=scale),
                                                       x2="high:Q", color=colour)
    dots = base.mark_point(size=55, strokeWidth=1.5, opacity=1).encode(
        x=x, shape=shape, color=colour, fill=fill)
    texts = base.mark_text(align="left", dx=5, fontSize=9, font=FONT, color="black").encode(
        x=alt.X("high:Q", scale=scale), text="text:N")
    layers = [whiskers, dots, texts]
    if reference is not None:
        layers.insert(0, alt.Chart(pd.DataFrame({"ref": [reference]})).mark_rule(
            strokeDash=[4, 3], color="#444444").encode(x=alt.X("ref:Q", scale=scale)))
    step = 12 * per_label + 6 if many else 18
    height = max(60, step * len(labels))
    chart = alt.layer(*layers).properties(width=WIDTH, height=height).configure(
        font=FONT).configure_view(stroke=None).configure_axis(
        labelFont=FONT, titleFont=FONT, labelColor="black", titleColor="black",
        domainColor="black", tickColor="black").configure_legend(labelFont=FONT)
    # French number format (decimal comma) on the axes; the labels are already French.
    svg = vl_convert.vegalite_to_svg(chart.to_dict(validate=False), format_locale="fr-FR")
    svg = svg.replace(f'font-family="{FONT}"', f'font-family="{SVG_FONT}"')
    return _unique_ids(svg, id_prefix)


def svg_size(svg: str) -> tuple[float, float]:
    """The SVG's width and height in CSS pixels (as written by vl-convert)."""
    match = re.search(r'<svg[^>]*\bwidth="([\d.]+)"[^>]*\bheight="([\d.]+)"', svg)
    return (float(match.group(1)), float(match.group(2))) if match else (500.0, 300.0)


def _unique_ids(svg: str, prefix: str) -> str:
    """Prefix every id (clip paths, gradients) so several SVGs can be inlined in one page; the
    prefix is the figure's own anchor, so the same tables always give the same bytes."""
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    for name in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}{name}"')
        svg = svg.replace(f"url(#{name})", f"url(#{prefix}{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}{name}"')
    return svg
