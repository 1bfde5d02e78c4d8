"""ColumnExpand (FATE's `ColumnExpand`): new columns of a constant value, appended after the
others; nothing crosses.

FATE appends `fill_value` (one for all, or one per name) under the names of `append_header`
to each row of a table as Reader leaves it, before DataTransform: here, text columns appended
to such a table. Fed a dataset (after DataTransform), it appends float features instead, and
then the fill values must be numbers. No `append_header` leaves the data as they are. A
predict job appends what the training job did (the model keeps it).

Model: FATE's `ColumnExpandMeta` (append_header, method, fill_value as text) and
`ColumnExpandParam` (header: the columns after the id, expanded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "ColumnExpand"
#: FATE's `consts.FLOAT_ZERO`, ColumnExpand's default fill value.
FLOAT_ZERO = 1e-8

# FATE's ColumnExpandParam defaults (federatedml/param/column_expand_param.py).
DEFAULTS: dict[str, Any] = {"append_header": None, "method": "manual", "fill_value": FLOAT_ZERO}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    method = reader.choice("method", ("manual",))
    names = reader.raw("append_header") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise reader.error("append_header", names, "must be null or a list of column names")
    if len(set(names)) != len(names):
        raise reader.error("append_header", names, "names a column twice")
    fill = reader.raw("fill_value")
    values = fill if isinstance(fill, list) else [fill] * len(names)
    if isinstance(fill, list) and len(fill) != len(names):
        raise reader.error(
            "fill_value", fill, f"must have one value per append_header name ({len(names)})"
        )
    if not all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in values):
        raise reader.error("fill_value", fill, "must be numbers or texts")
    return {"append_header": names, "method": method, "fill_value": values}


def expand(table: pa.Table, names: Sequence[str], texts: Sequence[str]) -> pa.Table:
    """`table` (a dataset, or a table as Reader leaves it) with the new columns appended; the
    values are FATE's text of each fill value (`str(value)`)."""
    taken = [name for name in names if name in table.column_names]
    if taken:
        raise InvalidArgument(
            f"{MODULE}: the data already have the columns {', '.join(taken)}", column=taken[0]
        )
    if not names:
        return table
    if table.schema.metadata and b"header" in table.schema.metadata:
        data = Dataset.from_table(table)
        added = np.tile(np.array([_number(text) for text in texts]), (len(data.ids), 1))
        return dataclasses.replace(
            data,
            features=np.hstack([data.features, added]),
            header=[*data.header, *names],
        ).to_table()
    for name, text in zip(names, texts, strict=True):
        table = table.append_column(name, pa.array([text] * table.num_rows, pa.string()))
    return table


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidArgument(
            f"{MODULE}: fill_value {text!r} is text, but this input is a dataset of float "
            "features: expand the table before DataTransform, or fill with numbers",
            parameter="fill_value",
        ) from None


def header_after_id(table: pa.Table) -> list[str]:
    if table.schema.metadata and b"header" in table.schema.metadata:
        return Dataset.from_table(table).header
    return list(table.column_names[1:])


# --- the component ----------------------------------------------------------------------


class ColumnExpand:
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
        trained = context.input_models()
        if trained:
            (model,) = trained.values()
            try:
                meta = model["meta"]
                names, texts = list(meta["append_header"]), [str(v) for v in meta["fill_value"]]
            except (KeyError, TypeError):
                raise InvalidArgument(f"{MODULE}: this is not a ColumnExpand model") from None
            expanded = expand(tables[0], names, texts)
        else:
            names, texts = params["append_header"], [str(v) for v in params["fill_value"]]
            expanded = expand(tables[0], names, texts)
            context.save_model(
                {
                    "meta": {
                        "append_header": names,
                        "method": params["method"],
                        "fill_value": texts,
                        "need_run": True,
                    },
                    "param": {"header": header_after_id(expanded)},
                }
            )
        context.log.info("appended %s columns", len(names))
        context.save_output_data(expanded)
