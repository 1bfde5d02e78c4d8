"""What every learner shares: where it finds its data, and FATE's prediction table it outputs
(what Evaluation reads): after the id, `label`,
`predict_result`, `predict_score`, `predict_detail` (JSON of the class scores) and `type`
(train, validate or predict).

FATE's shapes of it (`ModelBase.predict_score_to_output`): classes (`prediction_table` for 0
and 1 from the positive class's score, `class_prediction_table` for any classes from their
probabilities) and regression (`regression_prediction_table`: the value twice, the detail
`{"label": value}`)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.errors import InvalidArgument

#: FATE's column names after the id, in FATE's order.
COLUMNS = ("label", "predict_result", "predict_score", "predict_detail", "type")


def prediction_table(
    ids: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any] | None,
    scores: np.ndarray[Any, Any],
    threshold: float,
    kind: str,
    sid: str = "id",
) -> pa.Table:
    """Binary predictions: the positive class when the score is above `threshold`."""
    scores = np.asarray(scores, dtype=np.float64)
    details = [json.dumps({"0": round(1.0 - s, 6), "1": round(s, 6)}) for s in scores.tolist()]
    results = (scores > threshold).astype(np.int64)
    return _table(ids, labels, results, scores, details, kind, sid)


def regression_prediction_table(
    ids: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any] | None,
    values: np.ndarray[Any, Any],
    kind: str,
    sid: str = "id",
) -> pa.Table:
    """Regression predictions, as FATE's `predict_score_to_output` without classes makes them:
    the prediction is both `predict_result` and `predict_score`, and the detail
    `{"label": prediction}`."""
    values = np.asarray(values, dtype=np.float64)
    details = [json.dumps({"label": v}) for v in values.tolist()]
    return _table(ids, labels, values, values, details, kind, sid)


def _table(
    ids: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any] | None,
    results: np.ndarray[Any, Any],
    scores: np.ndarray[Any, Any],
    details: list[str],
    kind: str,
    sid: str,
) -> pa.Table:
    return pa.table(
        {
            sid: pa.array(ids.tolist(), pa.string()),
            "label": pa.nulls(len(scores), pa.float64())
            if labels is None
            else pa.array(np.asarray(labels, dtype=np.float64)),
            "predict_result": pa.array(results),
            "predict_score": pa.array(scores),
            "predict_detail": pa.array(details, pa.string()),
            "type": pa.array([kind] * len(scores), pa.string()),
        }
    )


def label_text(value: float) -> str:
    """A label (a float here) as FATE writes it: an integer label as an integer ("1", not
    "1.0"), as FATE's int labels print."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def class_prediction_table(
    ids: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any] | None,
    probabilities: np.ndarray[Any, Any],
    classes: list[float],
    threshold: float,
    kind: str,
    sid: str = "id",
) -> pa.Table:
    """Predictions over any classes (one column of `probabilities` per class, in `classes`'
    order), as FATE's `predict_score_to_output` makes them: with two classes, the second when
    its probability is above `threshold` (the score is that probability); with more, the most
    probable class (the score is its probability)."""
    names = [label_text(c) for c in classes]
    if len(classes) == 2:
        scores = probabilities[:, 1]
        results = np.where(scores > threshold, classes[1], classes[0])
    else:
        best = np.argmax(probabilities, axis=1)
        scores = probabilities[np.arange(len(best)), best]
        results = np.asarray(classes, dtype=np.float64)[best]
    details = [
        json.dumps({name: round(float(p), 6) for name, p in zip(names, row, strict=True)})
        for row in probabilities.tolist()
    ]
    integral = all(float(c).is_integer() for c in classes)
    return pa.table(
        {
            sid: pa.array(ids.tolist(), pa.string()),
            "label": pa.nulls(len(scores), pa.float64())
            if labels is None
            else pa.array(np.asarray(labels, dtype=np.float64)),
            "predict_result": pa.array(results.astype(np.int64) if integral else results),
            "predict_score": pa.array(np.asarray(scores, dtype=np.float64)),
            "predict_detail": pa.array(details, pa.string()),
            "type": pa.array([kind] * len(scores), pa.string()),
        }
    )


#: The input kinds a learner reads, in the order it looks for its data.
TRAIN_KINDS = ("train_data", "data", "test_data")


def learner_input(context: TaskContext) -> tuple[Dataset, str]:
    """The dataset a learner fits or scores, and FATE's `type` for its predictions."""
    for kind in TRAIN_KINDS:
        tables = context.input_tables(kind)
        if tables:
            return Dataset.from_table(tables[0]), "train" if kind == "train_data" else "predict"
    raise InvalidArgument(f"{context.task.component_name} needs a train_data or data input")
