"""Evaluation: FATE's metrics of the predictions a learner output, saved through tracking.

Each data input is a prediction table (id, label, predict_result, predict_score,
predict_detail, type) from an upstream learner; its rows are evaluated per `type` (train,
validate), under the learner's component name, with `evaluation_metrics.evaluate`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fateflow_grpc.components.evaluation import metrics
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

EVAL_TYPES = (metrics.BINARY, metrics.MULTI, metrics.REGRESSION)


def validate_parameters(params: dict[str, Any]) -> dict[str, Any]:
    if params["eval_type"] not in EVAL_TYPES:
        raise InvalidArgument(
            f"eval_type must be one of {', '.join(EVAL_TYPES)}, not {params['eval_type']!r}",
            eval_type=params["eval_type"],
        )
    if params["metrics"] is not None:
        metrics.resolve_metrics(params["eval_type"], params["metrics"])  # names the unknown one
    return params


class Evaluation:
    info = ModuleInfo(
        name="Evaluation",
        roles=frozenset({"guest", "host"}),
        parameters={
            "eval_type": "binary",
            "pos_label": 1,
            "metrics": None,
            "unfold_multi_result": False,
        },
        input_kinds=frozenset({"data"}),
        need_deploy=False,
        validate=validate_parameters,
    )

    def run(self, context: TaskContext) -> None:
        params = context.parameters
        evaluations = []
        sources = context.wiring.data_inputs.get("data", [])
        for (source, _), table in zip(sources, context.input_tables("data"), strict=True):
            names = set(table.column_names)
            if not {"label", "predict_score", "predict_result", "type"} <= names:
                raise InvalidArgument(
                    f"{source}'s output is not a prediction table: Evaluation needs label, "
                    f"predict_result, predict_score and type columns (it has {sorted(names)})"
                )
            kinds = np.asarray(table.column("type").to_pylist())
            labels = np.asarray(table.column("label").to_pylist(), dtype=float)
            column = "predict_score" if params["eval_type"] == metrics.BINARY else "predict_result"
            predictions = np.asarray(table.column(column).to_pylist(), dtype=float)
            for kind in dict.fromkeys(kinds.tolist()):
                rows = kinds == kind
                evaluation = metrics.evaluate(
                    source,
                    kind,
                    params["eval_type"],
                    labels[rows],
                    predictions[rows],
                    pos_label=params["pos_label"],
                    metrics=params["metrics"],
                )
                evaluations.append(evaluation)
                for record in evaluation.records:
                    context.log_metric(
                        record.metric_namespace, record.metric_name, record.points, record.meta
                    )
                context.log.info("%s %s: %s", source, kind, evaluation.summary)
        context.save_summary(metrics.component_summary(evaluations))
