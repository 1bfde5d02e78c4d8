"""OneHotEncoder (FATE's `OneHotEncoder`): each party one-hot encodes its own columns.

    encoder = fit(dataset, validate_parameters(params))
    encoded = encoder.transform(dataset)                    # training data, and new data alike

A column to encode becomes one 0/1 column per value it holds, named `<column>_<value>`, in
place and in increasing order of value; the other columns stay as they are. As in FATE, the
values must be integers (our features are float64: 3.0 is the category 3, 3.5 is an error), at
most 1024 of them per column (FATE's `ONE_HOT_LIMIT`), and a value the training data did not
hold encodes as all zeros. A predict job applies the trained categories unchanged.

Columns: `transform_col_indexes: -1` (the default) encodes every column and ignores
`transform_col_names`; a list of indexes encodes those and the named columns (indexes past
the end and names this party lacks are ignored, as FATE does: a job's common parameters reach
every party).

Model: FATE's `OneHotMeta` (transform_col_names, header) and `OneHotParam` (`col_map`: per
column its `values` as text and `transformed_headers`; `result_header`). Summary:
`original_dimension` and `transferred_dimension`. HomoOneHotEncoder (`homo_onehot.py`) shares
all of this and aligns the categories across parties first.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "OneHotEncoder"
#: FATE's `consts.ONE_HOT_LIMIT`: values a column may hold.
ONE_HOT_LIMIT = 1024

# FATE's OneHotEncoderParam defaults (federatedml/param/onehot_encoder_param.py).
DEFAULTS: dict[str, Any] = {"transform_col_indexes": -1, "transform_col_names": None}


def read_columns(reader: ParamReader) -> dict[str, Any]:
    """`transform_col_indexes` and `transform_col_names`, checked (shared with the homo one)."""
    indexes = reader.raw("transform_col_indexes")
    if indexes is None:
        indexes = []
    if indexes != -1 and not (
        isinstance(indexes, list)
        and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indexes)
    ):
        raise reader.error(
            "transform_col_indexes", indexes, "must be -1 or a list of column indexes"
        )
    names = reader.raw("transform_col_names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise reader.error("transform_col_names", names, "must be a list of column names")
    return {"transform_col_indexes": indexes, "transform_col_names": list(names or [])}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return read_columns(ParamReader(MODULE, params, DEFAULTS))


def encoded_columns(header: Sequence[str], params: Mapping[str, Any]) -> list[str]:
    """The columns to encode, in FATE's order: the indexes', then the names'."""
    indexes = params["transform_col_indexes"]
    if indexes == -1:
        return list(header)
    chosen = [header[i] for i in indexes if i < len(header)]
    chosen += [name for name in params["transform_col_names"] if name in header]
    return list(dict.fromkeys(chosen))


def categories(data: Dataset, columns: Sequence[str], module: str = MODULE) -> dict[str, list[int]]:
    """The values each column holds, as integers, in increasing order."""
    found = {}
    for name in columns:
        values = data.features[:, data.header.index(name)]
        distinct = np.unique(values)
        if not np.all(np.isfinite(distinct)) or not np.all(np.floor(distinct) == distinct):
            bad = next(float(v) for v in distinct if not (math.isfinite(v) and v == math.floor(v)))
            raise InvalidArgument(
                f"{module}: column {name!r} holds {bad:g}; one-hot encoding takes integer "
                "values only (fill missing values first)",
                column=name,
            )
        found[name] = checked_categories(name, [int(v) for v in distinct], module)
    return found


def checked_categories(name: str, values: list[int], module: str = MODULE) -> list[int]:
    if len(values) > ONE_HOT_LIMIT:
        raise InvalidArgument(
            f"{module}: column {name!r} holds {len(values)} values, more than the "
            f"{ONE_HOT_LIMIT} one-hot encoding takes",
            column=name,
        )
    return sorted(values)


@dataclass(frozen=True)
class Encoder:
    """Fitted categories: what a predict job applies unchanged."""

    #: The columns of the data it was fitted on.
    header: list[str]
    #: Encoded column -> its values, in order.
    columns: dict[str, list[int]]

    @property
    def result_header(self) -> list[str]:
        return [
            new
            for name in self.header
            for new in (self.new_names(name) if name in self.columns else [name])
        ]

    def new_names(self, name: str) -> list[str]:
        return [f"{name}_{value}" for value in self.columns[name]]

    def transform(self, data: Dataset, module: str = MODULE) -> Dataset:
        missing = [name for name in self.header if name not in data.header]
        if missing:
            raise InvalidArgument(
                f"{module}: the data lack the columns {', '.join(missing[:5])} of the model",
                missing=len(missing),
            )
        parts = []
        for name in self.header:
            column = data.features[:, data.header.index(name)]
            if name in self.columns:
                values = np.array(self.columns[name], dtype=np.float64)
                parts.append((column[:, None] == values[None, :]).astype(np.float64))
            else:
                parts.append(column[:, None])
        features = np.hstack(parts) if parts else np.zeros((len(data.ids), 0))
        return dataclasses.replace(data, features=features, header=self.result_header)


def fit(data: Dataset, params: Mapping[str, Any]) -> Encoder:
    return Encoder(list(data.header), categories(data, encoded_columns(data.header, params)))


def to_model(encoder: Encoder, transform_names: Sequence[str]) -> dict[str, Any]:
    return {
        "meta": {
            "transform_col_names": list(transform_names),
            "header": encoder.header,
            "need_run": True,
        },
        "param": {
            "col_map": {
                name: {
                    "values": [str(v) for v in values],
                    "transformed_headers": encoder.new_names(name),
                }
                for name, values in encoder.columns.items()
            },
            "result_header": encoder.result_header,
        },
    }


def from_model(model: Mapping[str, Any], module: str = MODULE) -> Encoder:
    try:
        return Encoder(
            [str(name) for name in model["meta"]["header"]],
            {
                str(name): [int(v) for v in column["values"]]
                for name, column in model["param"]["col_map"].items()
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidArgument(f"{module}: this is not a one-hot encoder model") from None


def summary(before: Dataset, after: Dataset) -> dict[str, Any]:
    return {"original_dimension": len(before.header), "transferred_dimension": len(after.header)}


def one_input(context: TaskContext) -> Dataset:
    tables = context.input_tables("data")
    if len(tables) != 1:
        raise InvalidArgument(f"{context.task.component_name} needs one data input")
    return Dataset.from_table(tables[0])


# --- the component ----------------------------------------------------------------------


class OneHotEncoder:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        data = one_input(context)
        trained = context.input_models()
        if trained:
            (model,) = trained.values()
            encoder = from_model(model)
        else:
            encoder = fit(data, params)
            context.save_model(to_model(encoder, list(encoder.columns)))
        encoded = encoder.transform(data)
        context.save_summary(summary(data, encoded))
        context.log.info(
            "%s columns encoded: %s features", len(encoder.columns), len(encoded.header)
        )
        context.save_output_data(encoded.to_table())
