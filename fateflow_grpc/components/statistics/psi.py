"""PSI (FATE's module): the population stability index of each column between two datasets of
one party, `train_data` (expected) and `validate_data` (actual; FATE 1.5's v1 DSL names it
`eval_data`, which the DSL reads as validate_data), computed by each party alone.

As FATE: the expected data's quantile split points (`max_bin_num` bins, FATE's query within
`binning_error`) bin both datasets, missing values in a bin of their own; a bin's PSI is
(a - e) ln(a / e) over the shares of rows e and a (a share of 0 counts as 1e-6); a column's is
the sum over its bins. The model holds FATE's PsiSummary (what a selection's `psi_filter` reads).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np

from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "PSI"
MODEL_NAME = "psi"
ROUND = 6
DEFAULTS: dict[str, Any] = {
    "max_bin_num": 20,
    "dense_missing_val": None,
    "binning_error": binning.ERROR,
}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    missing = reader.raw("dense_missing_val")
    if missing is not None and (not isinstance(missing, int | float) or isinstance(missing, bool)):
        raise reader.error(
            "dense_missing_val", missing, "must be a number here (text values are DataTransform's)"
        )
    return {
        "max_bin_num": reader.integer("max_bin_num", minimum=1),
        "dense_missing_val": missing,
        "binning_error": reader.number("binning_error", minimum=0, maximum=1),
    }


def _share(counts: np.ndarray[Any, Any], rows: int) -> np.ndarray[Any, Any]:
    share = counts / rows
    share[share == 0] = 1e-6
    return share


def compute(expect: Dataset, actual: Dataset, params: Mapping[str, Any]) -> dict[str, Any]:
    """FATE's PsiSummary: total_score per column and each column's bins."""
    if set(expect.header) != set(actual.header):
        raise InvalidArgument(
            "PSI needs the same columns in train_data and validate_data: "
            f"{expect.header} against {actual.header}"
        )
    bins = params["max_bin_num"]
    missing_bin = bins  # FATE's: one past the last possible bin
    total, features = {}, []
    for j, name in enumerate(expect.header):
        values = _missing(expect.features[:, j], params["dense_missing_val"])
        other = _missing(actual.features[:, actual.header.index(name)], params["dense_missing_val"])
        points = binning.quantile_points(values, bins, params["binning_error"])
        counts = []
        for column in (values, other):
            index = binning.bin_indexes(column, points)
            index[np.isnan(column)] = missing_bin
            counts.append(np.bincount(index, minlength=bins + 1).astype(np.float64))
        expected = _share(counts[0], len(values))
        observed = _share(counts[1], len(other))
        psi = (observed - expected) * np.log(observed / expected)
        total[name] = float(psi.sum())
        keys = [*range(len(points)), missing_bin]
        features.append(
            {
                "feature_name": name,
                "psi": [round(float(psi[k]), ROUND) for k in keys],
                "interval": _intervals(name, points),
                "expect_perc": [round(float(counts[0][k] / len(values)), ROUND) for k in keys],
                "actual_perc": [round(float(counts[1][k] / len(other)), ROUND) for k in keys],
            }
        )
    return {"total_score": total, "feature_psi": features, "model_name": MODEL_NAME}


def _missing(column: np.ndarray[Any, Any], value: float | None) -> np.ndarray[Any, Any]:
    if value is None:
        return column
    column = column.copy()
    column[column == value] = np.nan
    return column


def _intervals(name: str, points: list[float]) -> list[str]:
    bounds: list[float | None] = [None, *points[:-1], None]
    out = []
    for low, high in itertools.pairwise(bounds):
        text = name
        if low is not None:
            text = f"{round(low, ROUND)}<{text}"
        if high is not None:
            text = f"{text}<={round(high, ROUND)}"
        out.append(text)
    return [*out, "missing"]


class PSI:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"train_data", "validate_data"}),
        need_deploy=False,
        validate=lambda params: (validate_parameters(params), params)[1],
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        expect = context.input_tables("train_data")
        actual = context.input_tables("validate_data")
        if not expect or not actual:
            raise InvalidArgument(
                f"{context.task.component_name} needs train_data and validate_data"
            )
        summary = compute(Dataset.from_table(expect[0]), Dataset.from_table(actual[0]), params)
        context.save_model({"meta": {"max_bin_num": params["max_bin_num"]}, "param": summary})
        context.save_summary({"psi_scores": summary["total_score"]})
