"""Département outlines as SVG paths, projected once at build time.

The map is drawn as plain SVG (not a map library) so each département can be a focusable
element with its own accessible name, and withheld départements can be hatched with an SVG
pattern. The projection is equirectangular with the x axis shrunk by cos(mean latitude): at the
scale of one académie (about 3° of latitude) it is visually indistinguishable from Lambert-93.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shape:
    code: str
    name: str
    path: str
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Map:
    width: float
    height: float
    shapes: tuple[Shape, ...]


def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return geometry["coordinates"]
    if geometry["type"] == "MultiPolygon":
        return [ring for polygon in geometry["coordinates"] for ring in polygon]
    raise ValueError(f"unsupported geometry type {geometry['type']!r} (Polygon or MultiPolygon expected)")


def load_map(path: Path, width: float = 400.0, margin: float = 6.0) -> Map:
    """Project a GeoJSON FeatureCollection (properties ``code`` and ``nom``) to SVG paths."""
    try:
        collection = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the département outlines: {exc}") from exc
    features = collection.get("features") or []
    if not features:
        raise ValueError(f"{path}: no feature in the GeoJSON")
    points = [pt for f in features for ring in _rings(f["geometry"]) for pt in ring]
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    shrink = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = (max(lons) - min(lons)) * shrink
    span_y = max(lats) - min(lats)
    scale = (width - 2 * margin) / span_x
    height = span_y * scale + 2 * margin

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (margin + (lon - min(lons)) * shrink * scale, margin + (max(lats) - lat) * scale)

    shapes = []
    for feature in features:
        props = feature.get("properties") or {}
        parts = []
        xs, ys, weight = 0.0, 0.0, 0.0
        for ring in _rings(feature["geometry"]):
            projected = [project(lon, lat) for lon, lat in ring]
            parts.append("M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in projected) + "Z")
            # Area-weighted centroid of the ring (shoelace), where the value label goes.
            for (x0, y0), (x1, y1) in zip(projected, projected[1:], strict=False):
                cross = x0 * y1 - x1 * y0
                weight += cross
                xs += (x0 + x1) * cross
                ys += (y0 + y1) * cross
        cx, cy = (xs / (3 * weight), ys / (3 * weight)) if weight else projected[0]
        shapes.append(Shape(str(props.get("code")), str(props.get("nom", props.get("code"))), "".join(parts),
                            round(cx, 1), round(cy, 1)))
    shapes.sort(key=lambda s: s.code)
    return Map(round(width, 1), round(height, 1), tuple(shapes))
