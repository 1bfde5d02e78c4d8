"""Union (FATE's `Union`): the rows of several tables of one party, as one table; nothing
crosses.

Its data inputs (two or more, under any input names: FATE 1.5 names them `data_0`, `data_1`;
tables as Reader leaves them, or datasets) must have the same columns: for datasets, the same id name, label, weight and features (FATE's `check_id`,
`check_label_name`, `check_header`). An empty table is skipped. A row whose id an earlier
table already has is dropped (FATE keeps the first), unless `keep_duplicate`: then every id
becomes `<id>_<input>`, where the input is named `<component>.<output>` as FATE names it
(`data_transform_0.data`). `allow_missing` is accepted at either value: it lets FATE's sparse
rows be shorter than the header, and our rows are dense.

Metric: `train`/`union` (`UNION`), a point per input with its row count, and `Total`; the
summary holds the same counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "Union"
#: The schema keys of a dataset that must agree across the inputs (see `Dataset`).
_DATASET_KEYS = (b"sid", b"label_name", b"sample_weight", b"header")

# FATE's UnionParam defaults (federatedml/param/union_param.py).
DEFAULTS: dict[str, Any] = {"allow_missing": False, "keep_duplicate": False}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    return {
        "allow_missing": reader.boolean("allow_missing"),
        "keep_duplicate": reader.boolean("keep_duplicate"),
    }


def union(tables: Mapping[str, pa.Table], keep_duplicate: bool) -> tuple[pa.Table, dict[str, int]]:
    """The union of `tables` (by input name, in order), and the row count of each and in all."""
    if len(tables) < 2:
        raise InvalidArgument(f"{MODULE} needs two or more data inputs, not {len(tables)}")
    counts = {name: table.num_rows for name, table in tables.items()}
    filled = {name: table for name, table in tables.items() if table.num_rows}
    if not filled:
        first = next(iter(tables.values()))
        return first, {**counts, "Total": 0}
    (first_name, first), *others = filled.items()
    for name, table in others:
        _check_alike(first_name, first, name, table)
    metadata = first.schema.metadata
    parts = []
    seen: pa.Array = pa.array([], pa.string())
    for name, table in filled.items():
        table = table.replace_schema_metadata(None)
        ids = table.column(0).cast(pa.string())
        if keep_duplicate:
            renamed = pc.binary_join_element_wise(ids, pa.scalar(name), "_")
            table = table.set_column(0, table.column_names[0], renamed)
        else:
            table = table.filter(pc.invert(pc.is_in(ids, value_set=seen)))
            seen = pa.concat_arrays([seen, *table.column(0).cast(pa.string()).chunks])
        parts.append(table)
    combined = pa.concat_tables(parts).replace_schema_metadata(metadata)
    return combined, {**counts, "Total": combined.num_rows}


def _check_alike(first_name: str, first: pa.Table, name: str, table: pa.Table) -> None:
    def dataset_keys(t: pa.Table) -> dict[bytes, bytes] | None:
        metadata = t.schema.metadata or {}
        return (
            {k: metadata[k] for k in _DATASET_KEYS if k in metadata}
            if b"header" in metadata
            else None
        )

    mine, theirs = dataset_keys(first), dataset_keys(table)
    if (mine is None) != (theirs is None):
        raise InvalidArgument(
            f"{MODULE}: {first_name} and {name} are not both datasets (DataTransform's output) "
            "or both raw tables"
        )
    for key in _DATASET_KEYS:
        if mine is not None and theirs is not None and mine.get(key) != theirs.get(key):
            what = key.decode().replace("sid", "id name").replace("_", " ")
            raise InvalidArgument(
                f"{MODULE}: the {what} of {name} ({_shown(theirs.get(key))}) is not that of "
                f"{first_name} ({_shown(mine.get(key))})"
            )
    if first.schema.remove_metadata() != table.schema.remove_metadata():
        raise InvalidArgument(
            f"{MODULE}: the columns of {name} ({', '.join(table.column_names)}) are not those "
            f"of {first_name} ({', '.join(first.column_names)})"
        )


def _shown(value: bytes | None) -> str:
    return "none" if value is None else value.decode()


class Union:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        # Any data input names: FATE 1.5's examples give Union `data_0`, `data_1`, ...
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        tables = {
            f"{source}.{name}": table
            for kind, sources in context.wiring.data_inputs.items()
            for (source, name), table in zip(sources, context.input_tables(kind), strict=True)
        }
        combined, counts = union(tables, params["keep_duplicate"])
        context.log_metric(
            "train", "union", list(counts.items()), {"name": "union", "metric_type": "UNION"}
        )
        context.save_summary(counts)
        context.log.info("%s rows from %s", counts["Total"], counts)
        context.save_output_data(combined)
