"""Maps drawn on the server: projection, simplification, classes, and basemap tiles that line up."""

from __future__ import annotations

import math

import shapely

from mobtrack.web.pages import _svg as svg


def square(lon, lat, size=1.0):
    return shapely.box(lon, lat, lon + size, lat + size)


def test_north_is_up_and_the_width_is_fixed():
    out = svg.project({"A": ("North", square(44, 9)), "B": ("South", square(44, 1))})
    assert {s.pcode for s in out.shapes} == {"A", "B"}
    north = [float(v) for v in out.shapes[0].path[1:].split("L")[0].split()]
    south = [float(v) for v in out.shapes[1].path[1:].split("L")[0].split()]
    assert north[1] < south[1]  # smaller y is higher on the screen
    assert max(float(p.split()[0]) for s in out.shapes for p in s.path.strip("MZ").replace("ZM", "L").split("L")) \
        <= svg.WIDTH + 0.1
    assert 8.5 < out.height / svg.WIDTH < 9.5  # 9 degrees tall near the equator, 1 wide: nine times taller


def test_detail_below_half_a_pixel_is_dropped():
    wiggly = shapely.Polygon([(44 + i / 10000, 5 + (i % 2) / 100000) for i in range(2000)] + [(44.2, 6), (44, 6)])
    out = svg.project({"W": ("Wiggly", wiggly), "Big": ("Big", square(40, 0, 10))})
    assert out.shapes[0].path.count("L") < 50


def test_quantile_classes_and_colours():
    bounds = svg.classes([5, 10, 20, 40, 80, 160, None])
    assert bounds == sorted(bounds) and bounds[-1] == 160
    assert svg.colour(160, bounds) == svg.PALETTE[-1]
    assert svg.colour(None, bounds) == svg.NO_DATA
    assert svg.colour(None, bounds, suppressed=True) == svg.SUPPRESSED
    assert svg.colour(7, svg.classes([7, 7, 7])) == svg.PALETTE[-1]  # one distinct value: darkest


def test_basemap_tiles_cover_the_map_where_the_shapes_are():
    out = svg.project({"A": ("A", square(41, -1, 10))})
    assert svg.basemap_tiles(out, None) == []
    tiles = svg.basemap_tiles(out, "/tiles/{z}/{x}/{y}.png")
    # The slippy-map tile that holds a point must sit, in the viewBox, where the point is projected.
    lon, lat = 45.3, 2.05
    zoom = int(tiles[0]["href"].split("/")[2])
    n = 2 ** zoom
    tx = int((lon + 180) / 360 * n)
    ty = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    mx, my = svg.mercator(lon, lat)
    x0, _, _, y1 = out.bounds
    px, py = (mx - x0) * out.scale, (y1 - my) * out.scale
    tile = next(t for t in tiles if t["href"] == f"/tiles/{zoom}/{tx}/{ty}.png")
    assert tile["x"] <= px <= tile["x"] + tile["size"] and tile["y"] <= py <= tile["y"] + tile["size"]
    assert 128 <= tile["size"] <= 512  # about one screen tile per tile
