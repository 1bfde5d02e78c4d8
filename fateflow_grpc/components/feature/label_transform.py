"""LabelTransform (FATE 1.7's `LabelTransform`): labels mapped to new values, and predictions
mapped back; nothing crosses.

Fed a dataset, it maps the labels by `label_encoder` ({"label": new label}; labels it does
not name keep their value, as FATE 1.9 does), or, with no encoder, maps the sorted distinct
labels to 0, 1, 2, ... Fed a learner's predictions (FATE's prediction table) with an encoder
model, as FATE's examples feed `hetero_lr_0.data` and `label_transform_0.model`, it maps
`label`, `predict_result` and the classes of `predict_detail` back through the inverse
encoder; a regression's predictions pass unchanged. A predict job applies the trained encoder.

Our labels are float64 (DataTransform reads them as numbers), so the encoder's keys must be
numbers written as text ("0", "1.5") and its values numbers; `label_list`, when given, lists
the labels the keys stand for (FATE types the keys by it), one per key.

Model: FATE's `LabelTransformMeta` and `LabelTransformParam` (label_encoder as text, with
encoder_key_type and encoder_value_type). Metric: `train`/`label_transform` (`LABEL_TRANSFORM`,
with the encoder).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import COLUMNS as PREDICTION_COLUMNS
from fateflow_grpc.components.sdk.learning import label_text
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "LabelTransform"

# FATE's LabelTransformParam defaults (federatedml/param/label_transform_param.py).
DEFAULTS: dict[str, Any] = {"label_encoder": None, "label_list": None}

Encoding = dict[float, float]


def _type(value: float) -> str:
    return "int" if float(value).is_integer() else "float"


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    encoder = reader.raw("label_encoder") or None
    if encoder is not None and not isinstance(encoder, Mapping):
        raise reader.error("label_encoder", encoder, "must be an object of label: new label")
    labels = reader.raw("label_list") or None
    if labels is not None:
        if not isinstance(labels, list) or not all(_is_number(v) for v in labels):
            raise reader.error("label_list", labels, "must be a list of numbers (labels here)")
        if encoder is not None and len(labels) != len(encoder):
            raise reader.error(
                "label_list", labels, f"must list as many labels as label_encoder ({len(encoder)})"
            )
    mapping = {}
    for key, value in (encoder or {}).items():
        try:
            number = float(key)
        except ValueError:
            raise reader.error(
                f"label_encoder.{key}", value, "is keyed by a text, but labels here are numbers"
            ) from None
        if not _is_number(value):
            raise reader.error(f"label_encoder.{key}", value, "must be a number: labels are floats")
        if labels is not None and number not in [float(v) for v in labels]:
            raise reader.error(
                f"label_encoder.{key}", value, f"is keyed by a label label_list lacks ({labels})"
            )
        mapping[label_text(number)] = value
    return {"label_encoder": mapping or None, "label_list": labels}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fit(labels: np.ndarray[Any, Any], params: Mapping[str, Any]) -> Encoding:
    """The encoder: the given one completed with the labels it leaves as they are, or the
    sorted labels numbered from 0."""
    distinct = sorted(set(np.unique(labels).tolist()))
    given = params["label_encoder"]
    if given is None:
        return {float(label): float(k) for k, label in enumerate(distinct)}
    encoding = {float(key): float(value) for key, value in given.items()}
    return {**{float(label): float(label) for label in distinct}, **encoding}


def relabel(values: np.ndarray[Any, Any], encoding: Mapping[float, float]) -> np.ndarray[Any, Any]:
    unknown = sorted({float(v) for v in np.unique(values)} - set(encoding))
    if unknown:
        raise InvalidArgument(
            f"{MODULE}: label {label_text(unknown[0])} is not in the label encoder "
            f"({', '.join(label_text(k) for k in encoding)})",
            label=label_text(unknown[0]),
        )
    return np.array([encoding[float(v)] for v in values], dtype=np.float64)


def is_prediction_table(table: pa.Table) -> bool:
    return set(PREDICTION_COLUMNS) <= set(table.column_names)


def transform_predictions(table: pa.Table, encoding: Mapping[float, float]) -> pa.Table:
    """A learner's predictions with labels, results and detail classes mapped back."""
    inverse = {new: old for old, new in encoding.items()}
    details = [json.loads(text) for text in table.column("predict_detail").to_pylist()]
    if details and set(details[0]) == {"label"}:
        return table  # a regression's predictions: values, not classes
    named = {label_text(new): label_text(old) for new, old in inverse.items()}
    try:
        mapped = [json.dumps({named[key]: score for key, score in d.items()}) for d in details]
    except KeyError as missing:
        raise InvalidArgument(
            f"{MODULE}: class {missing.args[0]} of the predictions is not a value of the encoder"
        ) from None
    labels = table.column("label")
    present = pc.is_valid(labels).to_numpy(zero_copy_only=False)
    label_values = labels.to_numpy(zero_copy_only=False).astype(np.float64)
    new_labels = label_values.copy()
    new_labels[present] = relabel(label_values[present], inverse)
    results = relabel(table.column("predict_result").to_numpy(), inverse)
    result_type = pa.int64() if all(v.is_integer() for v in results) else pa.float64()
    for name, column in (
        ("label", pa.array(new_labels, pa.float64(), mask=~present)),
        ("predict_result", pa.array(results).cast(result_type)),
        ("predict_detail", pa.array(mapped, pa.string())),
    ):
        table = table.set_column(table.column_names.index(name), name, column)
    return table


# --- the model ----------------------------------------------------------------------------


def to_model(encoding: Mapping[float, float]) -> dict[str, Any]:
    return {
        "meta": {"need_run": True},
        "param": {
            "label_encoder": {label_text(k): label_text(v) for k, v in encoding.items()},
            "encoder_key_type": {label_text(k): _type(k) for k in encoding},
            "encoder_value_type": {label_text(k): _type(v) for k, v in encoding.items()},
        },
    }


def from_model(model: Mapping[str, Any]) -> Encoding:
    try:
        return {float(k): float(v) for k, v in model["param"]["label_encoder"].items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidArgument(f"{MODULE}: this is not a LabelTransform model") from None


def _metric_meta(encoding: Mapping[float, float]) -> dict[str, Any]:
    shown = {label_text(k): (int(v) if v.is_integer() else v) for k, v in encoding.items()}
    return {"name": "train", "metric_type": "LABEL_TRANSFORM", "label_encoder": shown}


# --- the component ----------------------------------------------------------------------


class LabelTransform:
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
        if len(tables) != 1:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        (table,) = tables
        trained = context.input_models()
        encoding: Encoding | None = None
        if trained:
            (model,) = trained.values()
            encoding = from_model(model)
        if is_prediction_table(table):
            if encoding is None:
                raise InvalidArgument(
                    f"{context.task.component_name}: mapping predictions back needs the model "
                    "of the LabelTransform that encoded the labels (a model input)"
                )
            output = transform_predictions(table, encoding)
        else:
            data = Dataset.from_table(table)
            if data.labels is None:
                raise InvalidArgument(
                    f"{context.task.component_name} needs labelled data; a party without labels "
                    "runs it with need_run false"
                )
            if encoding is None:
                encoding = fit(data.labels, params)
                context.save_model(to_model(encoding))
            output = dataclasses.replace(data, labels=relabel(data.labels, encoding)).to_table()
        context.log_metric(
            "train", "label_transform", [("label_transform", 0)], _metric_meta(encoding)
        )
        context.log.info("labels mapped: %s", {label_text(k): v for k, v in encoding.items()})
        context.save_output_data(output)
