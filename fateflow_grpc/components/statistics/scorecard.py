"""Scorecard (FATE's module): a binary learner's predicted probability as a credit score.

    score = offset + factor / ln(factor_base) * ln((1 - p) / p)

clipped to [lower_limit_value, upper_limit_ratio * offset] and rounded to 2 decimals, as FATE's
`credit` method: p = 0 scores the upper limit, p = 1 the lower, a p outside [0, 1] scores -1
before clipping. The input is a prediction table (HeteroLR's, HomoLR's); the output keeps the
id, label, predict_result and predict_score and adds credit_score (FATE's header).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "Scorecard"
FLOAT_ZERO = 1e-8
DEFAULTS: dict[str, Any] = {
    "method": "credit",
    "offset": 500,
    "factor": 20,
    "factor_base": 2,
    "upper_limit_ratio": 3,
    "lower_limit_value": 0,
}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    reader.choice("method", ("credit",))
    values = {name: reader.number(name) for name in DEFAULTS if name != "method"}
    if values["factor_base"] <= 0 or values["factor_base"] == 1:
        raise reader.error("factor_base", values["factor_base"], "must be positive and not 1")
    return {"method": "credit", **values}


def credit_scores(scores: np.ndarray[Any, Any], params: Mapping[str, Any]) -> list[float]:
    upper = params["upper_limit_ratio"] * params["offset"]
    lower = params["lower_limit_value"]
    out = []
    for p in scores.tolist():
        if abs(p) <= FLOAT_ZERO and p >= 0:
            score = upper
        elif abs(p - 1) <= FLOAT_ZERO and p > 0:
            score = lower
        elif p > 1 or p < 0:
            score = -1.0
        else:
            odds = (1 - p) / p
            score = params["offset"] + params["factor"] / math.log(
                params["factor_base"]
            ) * math.log(odds)
        out.append(round(min(max(score, lower), upper), 2))
    return out


def transform(table: pa.Table, params: Mapping[str, Any]) -> pa.Table:
    needed = {"label", "predict_result", "predict_score"}
    if not needed <= set(table.column_names):
        raise InvalidArgument(
            f"Scorecard reads a prediction table (label, predict_result, predict_score); this one "
            f"has {table.column_names}"
        )
    scores = np.asarray(table.column("predict_score").to_pylist(), dtype=np.float64)
    return pa.table(
        {
            table.column_names[0]: table.column(0),
            "label": table.column("label"),
            "predict_result": table.column("predict_result"),
            "predict_score": table.column("predict_score"),
            "credit_score": pa.array(credit_scores(scores, params), pa.float64()),
        }
    )


class Scorecard:
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
        context.save_output_data(transform(table, params))
        formula = (
            f"Score = {params['offset']:g} + {params['factor']:g} / ln({params['factor_base']:g})"
            " * ln(Odds)"
        )
        context.save_summary({"scorecard_compute_formula": formula})
