"""PositiveUnlabeled (FATE 1.10+'s `PositiveUnlabeled`): the guest relabels unlabeled samples
(label 0) as positive (1) by a classifier's scores on them, for a second model to train on;
nothing crosses. As FATE's examples wire it, it reads two data inputs, the training data and
the classifier's predictions on it (FATE's prediction table, told apart by its columns), and
outputs the training data with its labels replaced. A host passes its data on unchanged.

Strategies (`threshold`'s meaning): `probability`, every unlabeled sample scored at least the
threshold; `quantity`, the `threshold` best-scored unlabeled samples; `proportion`, the
unlabeled among the best `int(n * threshold)` scored samples; `distribution`, the unlabeled
among the best `int(unlabeled / n * threshold)` (FATE's formula, not times n). Metric `train`/`positive_unlabeled`
(FATE's type PU_MODEL) and summary: the count of converted unlabeled samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.feature.label_transform import is_prediction_table
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "PositiveUnlabeled"
# FATE 1.10's PositiveUnlabeledParam.
DEFAULTS: dict[str, Any] = {"strategy": "probability", "threshold": 0.9}
STRATEGIES = ("probability", "quantity", "proportion", "distribution")
#: What FATE counts, as its metric's point and its summary's key.
CONVERTED = "count of converted unlabeled"


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's PositiveUnlabeledParam checks."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    strategy = reader.choice("strategy", STRATEGIES)
    if strategy == "quantity":
        threshold: float = reader.integer("threshold", minimum=1)
    elif strategy == "distribution":
        threshold = reader.number("threshold", above=0)
    else:
        threshold = reader.number("threshold", minimum=0, maximum=1)
    return {"strategy": strategy, "threshold": threshold}


def relabel(
    labels: npt.NDArray[np.float64],
    scores: npt.NDArray[np.float64],
    strategy: str,
    threshold: float,
) -> npt.NDArray[np.float64]:
    """The labels after FATE's strategy: some unlabeled (0) become positive (1)."""
    unlabeled = labels == 0
    if strategy == "probability":
        converted = unlabeled & (scores >= threshold)
    else:
        # Best scores first; a stable sort keeps the rows' order among equal scores.
        order = np.argsort(-scores, kind="stable")
        if strategy == "quantity":
            ranked = order[unlabeled[order]][: int(threshold)]
        elif strategy == "proportion":
            ranked = order[: int(len(labels) * threshold)]
        else:
            ranked = order[: int(unlabeled.mean() * threshold)]
        converted = np.zeros(len(labels), dtype=bool)
        converted[ranked] = True
        converted &= unlabeled
    return np.where(converted, 1.0, labels)


class PositiveUnlabeled:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        tables = context.input_tables("data")
        predictions = [table for table in tables if is_prediction_table(table)]
        data = [table for table in tables if not is_prediction_table(table)]
        if len(data) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input to relabel")
        if context.task.role != "guest":
            context.save_output_data(data[0])
            return
        if len(predictions) != 1:
            raise InvalidArgument(
                f"{context.task.component_name} needs a classifier's predictions beside the data "
                "(its data output)"
            )
        dataset = Dataset.from_table(data[0])
        if dataset.labels is None:
            raise InvalidArgument(f"{context.task.component_name} needs labelled data")
        predicted = predictions[0]
        sid = predicted.column_names[0]
        score_of = dict(
            zip(
                (str(v) for v in predicted.column(sid).to_pylist()),
                predicted.column("predict_score").to_pylist(),
                strict=True,
            )
        )
        missing = [str(v) for v in dataset.ids.tolist() if str(v) not in score_of]
        if missing:
            raise InvalidArgument(
                f"{context.task.component_name}: the predictions lack {len(missing)} of the "
                f"data's ids (such as {missing[0]!r})"
            )
        scores = np.array([float(score_of[str(v)]) for v in dataset.ids.tolist()])
        labels = relabel(dataset.labels, scores, params["strategy"], params["threshold"])
        converted = int((labels != dataset.labels).sum())
        context.log.info("%s unlabeled samples relabeled positive", converted)
        context.log_metric(
            "train",
            "positive_unlabeled",
            [(CONVERTED, converted)],
            {"name": "positive_unlabeled", "metric_type": "PU_MODEL"},
        )
        context.save_summary({CONVERTED: converted})
        context.save_output_data(dataclasses.replace(dataset, labels=labels).to_table())
