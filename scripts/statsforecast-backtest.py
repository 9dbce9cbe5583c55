#!/usr/bin/env python3
"""The same rolling-origin backtest as `empmon bench forecast --series`, done by Nixtla's statsforecast: AutoETS,
AutoARIMA, AutoTheta (season length 12) and the equal-weight mean of the three, on a long-form CSV
(unit,period,value). `empmon bench forecast --statsforecast PYTHON` runs it with a Python that has statsforecast
(python3 -m venv /tmp/sf && /tmp/sf/bin/pip install statsforecast) and prints its figures beside its own.

Usage: statsforecast-backtest.py CSV HOLDOUT ORIGINS
Prints one JSON object: {"methods": {name: {"series": {unit: {"mase": x, "smape": y}}, "seconds": s}}}.
MASE is scaled by the in-sample mean absolute seasonal difference (lag 12) of each origin's training part, and
sMAPE is in percent (0-200), as `Accuracy` in Sources/Analysis defines them; scores are averaged over origins.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

warnings.filterwarnings("ignore")
path, holdout, origins = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
table = pd.read_csv(path, dtype={"unit": str, "period": str})
table["ds"] = pd.to_datetime(table["period"] + "-01")
frame = table.rename(columns={"unit": "unique_id", "value": "y"})[["unique_id", "ds", "y"]]
series = {unit: group["y"].to_numpy(dtype=float) for unit, group in frame.groupby("unique_id")}


def mase(actual, forecast, training, m=12):
    if len(training) <= m:
        return None
    scale = np.mean(np.abs(training[m:] - training[:-m]))
    return None if scale == 0 else float(np.mean(np.abs(actual - forecast)) / scale)


def smape(actual, forecast):
    denominator = np.abs(actual) + np.abs(forecast)
    terms = np.where(denominator == 0, 0.0, 200 * np.abs(actual - forecast) / np.where(denominator == 0, 1, denominator))
    return float(np.mean(terms))


models = {"AutoETS": AutoETS(season_length=12), "AutoARIMA": AutoARIMA(season_length=12),
          "AutoTheta": AutoTheta(season_length=12)}
forecasts = {}
seconds = {}
for name, model in models.items():
    started = time.perf_counter()
    engine = StatsForecast(models=[model], freq="MS", n_jobs=1)
    cv = engine.cross_validation(df=frame, h=holdout, step_size=1, n_windows=origins)
    seconds[name] = time.perf_counter() - started
    forecasts[name] = cv.rename(columns={name: "forecast"})[["unique_id", "ds", "cutoff", "y", "forecast"]]
combined = forecasts["AutoETS"].copy()
combined["forecast"] = sum(forecasts[name]["forecast"].to_numpy() for name in models) / len(models)
forecasts["mean of the three"] = combined
seconds["mean of the three"] = sum(seconds.values())

result = {"methods": {}}
for name, cv in forecasts.items():
    scores = {}
    for unit, group in cv.groupby("unique_id"):
        values = series[unit]
        dates = frame[frame["unique_id"] == unit]["ds"].to_list()
        per_origin = []
        for cutoff, window in group.groupby("cutoff"):
            end = dates.index(cutoff) + 1
            training = values[:end]
            actual = window["y"].to_numpy(dtype=float)
            forecast = window["forecast"].to_numpy(dtype=float)
            per_origin.append((mase(actual, forecast, training), smape(actual, forecast)))
        mases = [m for m, _ in per_origin if m is not None]
        scores[unit] = {"mase": float(np.mean(mases)) if mases else None,
                        "smape": float(np.mean([s for _, s in per_origin]))}
    result["methods"][name] = {"series": scores, "seconds": seconds[name]}
print(json.dumps(result))
