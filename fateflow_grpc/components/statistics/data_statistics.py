"""DataStatistics (FATE's module): each party's statistics of its own columns, computed alone.

FATE's StatisticsParam and its rules: whatever `statistics` asks, the summary statistics (sum,
mean, stddev, median, min, max, missing_ratio, missing_count, skewness, kurtosis,
coefficient_of_variance) are computed, then the others asked for (`count`, `variance`, and
percentiles such as `"95%"`), in FATE's order. As FATE computes them:

- over the values that are not missing (NaN, or a value of `abnormal_list`);
- variance is the population variance E[x^2] - E[x]^2 (0 below 1e-8), stddev its root, and
  coefficient_of_variance |stddev / mean|;
- skewness m3 / m2^1.5 and kurtosis m4 / m2^2 - 3 (central moments), bias-corrected as
  scipy's when `bias` is false;
- median and percentiles are FATE's quantile query within `quantile_error` (see `binning`).

The model (`StatisticMeta`, `ModelParam` with `self_values`) is what HeteroFeatureSelection's
statistic filters read as an `isometric_model`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "DataStatistics"
#: FATE's consts.STATISTIC_MODEL: how a selection recognises a statistics model.
MODEL_NAME = "statistic_model"
BASIC = (
    "sum",
    "mean",
    "stddev",
    "median",
    "min",
    "max",
    "missing_ratio",
    "missing_count",
    "skewness",
    "kurtosis",
    "coefficient_of_variance",
)
LEGAL = (
    "count",
    "sum",
    "mean",
    "stddev",
    "median",
    "min",
    "max",
    "variance",
    "coefficient_of_variance",
    "missing_count",
    "missing_ratio",
    "skewness",
    "kurtosis",
)
PERCENTILE = re.compile(r"^(100|[1-9]?[0-9])%$")
FLOAT_ZERO = 1e-8

DEFAULTS: dict[str, Any] = {
    "statistics": "summary",
    "column_names": None,
    "column_indexes": -1,
    "abnormal_list": None,
    "quantile_error": binning.ERROR,
    "bias": True,
}

Floats = npt.NDArray[np.float64]


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    asked = reader.raw("statistics")
    statistics = list(BASIC)
    for name in asked if isinstance(asked, list) else [asked]:
        if name == "summary" and not isinstance(asked, list):
            continue
        if not isinstance(name, str) or not (name in LEGAL or PERCENTILE.match(name)):
            raise reader.error("statistics", asked, f"names an unknown statistic {name!r}")
        if name not in statistics:
            statistics.append(name)
    indexes = reader.raw("column_indexes")
    if indexes != -1 and (
        not isinstance(indexes, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indexes)
    ):
        raise reader.error("column_indexes", indexes, "must be -1 or a list of column indexes")
    names = reader.raw("column_names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise reader.error("column_names", names, "must be a list of column names")
    abnormal = reader.raw("abnormal_list") or []
    if not isinstance(abnormal, list):
        raise reader.error("abnormal_list", abnormal, "must be a list of values")
    error = reader.number("quantile_error", minimum=0, maximum=1)
    return {
        "statistics": statistics,
        "column_indexes": indexes,
        "column_names": names,
        "abnormal_list": abnormal,
        "quantile_error": error,
        "bias": reader.boolean("bias"),
    }


def columns_of(params: Mapping[str, Any], header: Sequence[str]) -> list[str]:
    """FATE's StatisticInnerParam: every column for -1, else the indexes then the names (an
    index or name beyond the header is skipped, as FATE does with a warning)."""
    if params["column_indexes"] == -1:
        return list(header)
    chosen = [header[i] for i in params["column_indexes"] if i < len(header)]
    chosen += [name for name in params["column_names"] if name in header]
    return list(dict.fromkeys(chosen))


def compute(
    features: Floats, header: Sequence[str], params: Mapping[str, Any]
) -> tuple[list[str], dict[str, list[float]]]:
    """The statistics of the chosen columns: {statistic: [value per column]}."""
    columns = columns_of(params, header)
    abnormal = [float(v) for v in params["abnormal_list"] if isinstance(v, int | float)]
    results: dict[str, list[float]] = {name: [] for name in params["statistics"]}
    rows = features.shape[0]
    for name in columns:
        column = features[:, list(header).index(name)]
        missing = np.isnan(column) | np.isin(column, abnormal)
        values = column[~missing]
        for statistic, value in _column(values, rows, params).items():
            if statistic in results:
                results[statistic].append(value)
        ordered = np.sort(values)
        for statistic in results:
            if statistic.endswith("%"):
                rate = float(statistic[:-1]) / 100
                results[statistic].append(binning.quantile(ordered, rate, params["quantile_error"]))
    return columns, results


def _column(values: Floats, rows: int, params: Mapping[str, Any]) -> dict[str, float]:
    count = len(values)
    n = float(count)
    if count == 0:
        # FATE divides by a zero count; we answer NaN rather than fail the job.
        nan = float("nan")
        return dict.fromkeys(LEGAL, nan) | {
            "count": 0.0,
            "sum": 0.0,
            "missing_count": float(rows),
            "missing_ratio": 1.0,
        }
    mean = float(values.sum() / n)
    variance = float((values**2).sum() / n - mean**2)
    if abs(variance) < FLOAT_ZERO:
        variance = 0.0
    std = math.sqrt(variance)
    m3 = float((values**3).mean() - 3 * mean * (values**2).mean() + 2 * mean**3)
    m4 = float(
        (values**4).mean()
        - 4 * mean * (values**3).mean()
        + 6 * mean**2 * (values**2).mean()
        - 3 * mean**4
    )
    skewness = 0.0 if variance == 0 else m3 / variance**1.5
    kurtosis = 0.0 if variance == 0 else m4 / variance**2
    if not params["bias"]:
        if n > 2 and variance > 0:
            skewness = math.sqrt((n - 1) * n) / (n - 2) * m3 / variance**1.5
        if n > 3 and variance > 0:
            kurtosis = (
                1 / (n - 2) / (n - 3) * ((n**2 - 1) * m4 / variance**2 - 3 * (n - 1) ** 2) + 3
            )
    ordered = np.sort(values)
    return {
        "count": n,
        "sum": float(values.sum()),
        "mean": mean,
        "variance": variance,
        "stddev": std,
        "min": float(ordered[0]),
        "max": float(ordered[-1]),
        "median": binning.quantile(ordered, 0.5, params["quantile_error"]),
        "missing_count": float(rows - count),
        "missing_ratio": (rows - count) / rows,
        "skewness": skewness,
        "kurtosis": kurtosis - 3,
        "coefficient_of_variance": abs(std / mean) if mean != 0 else float("inf"),
    }


def model_of(
    columns: list[str], results: Mapping[str, list[float]], params: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "meta": {
            "statistics": list(params["statistics"]),
            "static_columns": columns,
            "quantile_error": params["quantile_error"],
            "need_run": True,
        },
        "param": {
            "self_values": {
                "results": [
                    {"values": values, "col_names": columns, "value_name": name}
                    for name, values in results.items()
                ]
            },
            "model_name": MODEL_NAME,
        },
    }


class DataStatistics:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: (validate_parameters(params), params)[1],
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        (table,) = context.input_tables("data") or [None]
        if table is None:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        data = Dataset.from_table(table)
        columns, results = compute(data.features, data.header, params)
        context.save_model(model_of(columns, results, params))
        context.save_summary(
            {
                name: {statistic: values[k] for statistic, values in results.items()}
                for k, name in enumerate(columns)
            }
        )
        context.log.info("statistics of %s columns of %s rows", len(columns), len(data.ids))
