"""DataTransform (DataIO in FATE 1.5): uploaded text rows become a dataset of float features.

FATE's DataIOParam names and defaults. Dense input only: a table whose first column is the id
and whose other columns hold numbers as text. With `with_label`, the `label_name` column is the
label (`label_type` int or float); the other columns are the features. A value among
`missing_fill_values` (or empty) is missing: it becomes `default_value` with `missing_fill`,
NaN otherwise (the learners then refuse it). Anything else that is not a number is an error
naming its column and row. In a predict job, the training model's header is checked.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

#: The settings a predict job takes from the trained model rather than from its own conf.
TRAINED_SETTINGS = ("with_label", "label_name", "label_type", "missing_fill", "default_value")
#: FATE's `missing_fill_values` when none are given.
MISSING = ("", "NA", "na", "null", "NULL", "none", "None", "nan", "NaN", "?")


class DataTransform:
    info = ModuleInfo(
        name="DataTransform",
        aliases=frozenset({"DataIO"}),
        roles=frozenset({"guest", "host"}),
        parameters={
            "input_format": "dense",
            "delimitor": ",",
            "data_type": "float64",
            "with_label": False,
            "label_name": "y",
            "label_type": "int",
            "output_format": "dense",
            "missing_fill": False,
            "default_value": 0,
            "missing_fill_method": None,
            "missing_fill_values": None,
            "outlier_replace": False,
            "tag_with_value": False,
            "with_match_id": False,
            "exclusive_data_type": None,
        },
        input_kinds=frozenset({"data"}),
        validate=lambda params: validate_parameters(params),
        required_columns=lambda params: [params["label_name"]] if params["with_label"] else [],
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        (table,) = context.input_tables("data") or [None]
        if table is None:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        models = context.input_models()
        if models:
            # Predict: read the data as it was read for training.
            (trained,) = models.values()
            params = {**params, **{key: trained[key] for key in TRAINED_SETTINGS}}
        # Slice by slice, on the job's computing engine.
        transformed = context.computing.map_table(
            functools.partial(_transform, params=params), table
        )
        dataset = Dataset.from_table(transformed)
        if models:  # the features must be the ones the model was trained on
            if trained["header"] != dataset.header:
                raise InvalidArgument(
                    f"the data's features {dataset.header} are not the trained model's "
                    f"{trained['header']}"
                )
        else:
            context.save_model(
                {
                    "header": dataset.header,
                    "sid": dataset.sid,
                    "label_name": params["label_name"],
                    "with_label": params["with_label"],
                    "label_type": params["label_type"],
                    "missing_fill": params["missing_fill"],
                    "default_value": params["default_value"],
                }
            )
        context.log.info("%s rows, %s features", len(dataset.ids), len(dataset.header))
        context.save_output_data(dataset.to_table())


def validate_parameters(params: dict[str, Any]) -> dict[str, Any]:
    if params["input_format"] != "dense" or params["output_format"] != "dense":
        raise InvalidArgument(
            "DataTransform supports input_format and output_format dense only",
            input_format=params["input_format"],
        )
    if params["label_type"] not in ("int", "float"):
        raise InvalidArgument(
            f"label_type must be int or float, not {params['label_type']!r}",
            label_type=params["label_type"],
        )
    if not isinstance(params["with_label"], bool):
        raise InvalidArgument("with_label must be true or false")
    return params


def _transform(table: pa.Table, first_row: int, params: dict[str, Any]) -> pa.Table:
    return transform(table, params, first_row).to_table()


def transform(table: pa.Table, params: dict[str, Any], first_row: int = 0) -> Dataset:
    """The dataset of `table`, rows `first_row`... of the whole (in messages naming a row)."""
    sid, *columns = table.column_names
    label_name = params["label_name"]
    if params["with_label"] and label_name not in columns:
        raise InvalidArgument(
            f"label column {label_name!r} is not in the data (columns: {', '.join(columns)})",
            label_name=label_name,
        )
    missing = list(params["missing_fill_values"] or MISSING)
    header = [c for c in columns if not (params["with_label"] and c == label_name)]
    features = np.empty((table.num_rows, len(header)))
    for index, name in enumerate(header):
        features[:, index] = _numbers(table.column(name), name, missing, params, first_row)
    labels = None
    if params["with_label"]:
        labels = _numbers(table.column(label_name), label_name, [], params, first_row)
        if params["label_type"] == "int" and not np.all(np.equal(np.mod(labels, 1), 0)):
            raise InvalidArgument(
                f"label column {label_name!r} holds non-integers", label_name=label_name
            )
    ids = np.asarray(table.column(sid).to_pylist(), dtype=object)
    return Dataset(ids, features, labels, header, sid=sid, label_name=label_name)


def _numbers(
    column: pa.ChunkedArray, name: str, missing: list[str], params: dict[str, Any], first_row: int
) -> np.ndarray[Any, np.dtype[np.float64]]:
    text = pc.utf8_trim_whitespace(column.cast(pa.string()))
    absent = pc.is_in(text, value_set=pa.array(missing)) if missing else None
    if absent is not None:
        fill = str(params["default_value"]) if params["missing_fill"] else "nan"
        text = pc.if_else(absent, fill, text)
    try:
        numbers: np.ndarray[Any, np.dtype[np.float64]] = text.cast(pa.float64()).to_numpy()
        return numbers
    except pa.ArrowInvalid:
        bad = next(i for i, v in enumerate(text.to_pylist()) if not _is_number(v))
        row = first_row + bad + 1
        raise InvalidArgument(
            f"column {name!r} row {row} holds {text[bad].as_py()!r}, not a number",
            column=name,
            row=row,
        ) from None


def _is_number(value: str | None) -> bool:
    try:
        float(value or "")
    except ValueError:
        return False
    return True
