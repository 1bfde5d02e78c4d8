"""DataTransform (DataIO in FATE 1.5): uploaded text rows become a dataset of float features.

FATE 1.11's DataTransformParam (1.5's DataIOParam and the match-id parameters 1.7 to 1.9 added),
with its defaults and checks. A table comes as its upload left it: the id column, then the
other fields of each line as text. FATE's `value` of a row is those fields joined by the
upload's delimiter; DataTransform splits it on `delimitor`, as FATE does, so a table uploaded
with another delimiter than the job's is read as FATE reads it.

Input formats, as FATE reads a table uploaded without a meta (our uploads have none):

* `dense`: the header names the columns; with `with_label` the `label_name` column (FATE
  lower-cases the name) is the label; with `with_match_id` the first column after the id
  (or `match_id_name`, when given) is the match id; the rest are the features.
* `sparse` (`svmlight`): `[match id,] [label,] fid:value ...`; the features are x0 ... x<max
  fid>, absent ones 0.
* `tag`: `[match id,] [label,] tag ...` (or `tag<tag_value_delimitor>value` with
  `tag_with_value`); the features are the sorted tags seen, 1 (or the value) where a row has
  the tag, else 0.

Missing values (dense, and tag:value): without `missing_fill`, a value in `missing_impute`
(default '', NULL, null, NA) is NaN. With it, a value in `missing_impute` (default '', none,
null, na, None; for tag:value also an absent tag) is replaced by 0 (`missing_fill_method` None,
FATE 1.5's imputer), by `default_value` (`designated`: one value, or one per feature), or by
the feature's min, max or mean over its other values (rounded to 6 decimals). Outliers
(`outlier_replace`, dense only, as in FATE): the values in `outlier_impute` are replaced the
same way, after the missing values. The summary gives FATE's `missing_fill_info` and
`outlier_replace_rate`. The model keeps the header and the fitted values; a predict job reads
its data with them, whatever its own conf says (FATE's `load_model`), takes the trained
features by name in the trained order, and reads no label when the table has none.

Refused by name (our datasets hold float64 features and labels): `data_type` and
`exclusive_data_type` `str`, `label_type` `str`. `output_format` `sparse` gives the same
numbers as `dense` (FATE's sparse vectors hold them with the zeros left out; ours are stored
dense).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components.sdk.context import DELIMITER_KEY, META_KEY, Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "DataTransform"

# FATE 1.11's DataTransformParam defaults (federatedml/param/data_transform_param.py).
DEFAULTS: dict[str, Any] = {
    "input_format": "dense",
    "delimitor": ",",
    "data_type": "float64",
    "exclusive_data_type": None,
    "tag_with_value": False,
    "tag_value_delimitor": ":",
    "missing_fill": False,
    "default_value": 0,
    "missing_fill_method": None,
    "missing_impute": None,
    "outlier_replace": False,
    "outlier_replace_method": None,
    "outlier_impute": None,
    "outlier_replace_value": 0,
    "with_label": False,
    "label_name": "y",
    "label_type": "int",
    "output_format": "dense",
    "with_match_id": False,
    "match_id_name": "",
    "match_id_index": 0,
}

FORMATS = ("dense", "sparse", "svmlight", "tag")
TYPES = ("int", "int64", "float", "float64", "str", "long")
INTEGER_TYPES = frozenset({"int", "int64", "long"})
METHODS = ("min", "max", "mean", "designated")
#: Without `missing_fill`, the values FATE reads as NaN (`gen_output_format`).
NAN_VALUES = ("", "NULL", "null", "NA")
#: FATE's imputer's missing values when `missing_impute` / `outlier_impute` is None.
IMPUTER_VALUES = ("", "none", "null", "na", "None")
#: The statistics FATE's imputer rounds its fill values to (FATE 1.5).
FILL_DECIMALS = 6


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's DataTransformParam.check, and the refusals of what we do not implement."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    input_format = reader.choice("input_format", FORMATS)
    data_type = reader.choice("data_type", TYPES)
    if data_type == "str":
        raise reader.error("data_type", data_type, "str is not supported (features are numbers)")
    delimitor = _nonempty(reader, "delimitor")
    tag_value_delimitor = _nonempty(reader, "tag_value_delimitor")
    exclusive = reader.raw("exclusive_data_type")
    if exclusive is not None:
        if not isinstance(exclusive, Mapping):
            raise reader.error("exclusive_data_type", exclusive, "must be null or an object")
        for column, kind in exclusive.items():
            if not isinstance(kind, str) or kind.lower() not in TYPES:
                raise reader.error(
                    f"exclusive_data_type.{column}", kind, f"must be one of {', '.join(TYPES)}"
                )
            if kind.lower() == "str":
                raise reader.error(
                    f"exclusive_data_type.{column}",
                    kind,
                    "str is not supported (features are numbers)",
                )
        exclusive = {str(column).lower(): kind.lower() for column, kind in exclusive.items()}
    with_label = reader.boolean("with_label")
    label_name, label_type = reader.raw("label_name"), reader.raw("label_type")
    if with_label:
        label_name = reader.string("label_name")
        label_type = reader.choice("label_type", TYPES)
        if label_type == "str":
            raise reader.error(
                "label_type", label_type, "str is not supported (labels are numbers)"
            )
    match_id_index = reader.integer("match_id_index", minimum=0)
    match_id_name = reader.raw("match_id_name")
    if match_id_name is not None and not isinstance(match_id_name, str):
        raise reader.error("match_id_name", match_id_name, "must be a string")
    normalised = {
        "input_format": "sparse" if input_format == "svmlight" else input_format,
        "delimitor": delimitor,
        "data_type": data_type,
        "exclusive_data_type": exclusive,
        "tag_with_value": reader.boolean("tag_with_value"),
        "tag_value_delimitor": tag_value_delimitor,
        "with_label": with_label,
        "label_name": label_name,
        "label_type": label_type,
        "output_format": reader.choice("output_format", ("dense", "sparse")),
        "with_match_id": reader.boolean("with_match_id"),
        "match_id_name": match_id_name or "",
        "match_id_index": match_id_index,
    }
    for switch, method, values, value in _IMPUTERS:
        normalised[switch] = reader.boolean(switch)
        chosen = reader.raw(method)
        normalised[method] = None if chosen is None else reader.choice(method, METHODS)
        listed = reader.raw(values)
        if listed is not None and not isinstance(listed, list):
            raise reader.error(values, listed, "must be null or a list of values")
        normalised[values] = None if listed is None else [_text(v) for v in listed]
        normalised[value] = reader.raw(value)
        if normalised[switch] and normalised[method] == "designated":
            _check_fill_value(reader, value, normalised[value])
    return normalised


#: Each imputer's parameters: its switch, method, values replaced, fill value(s).
_IMPUTERS = (
    ("missing_fill", "missing_fill_method", "missing_impute", "default_value"),
    ("outlier_replace", "outlier_replace_method", "outlier_impute", "outlier_replace_value"),
)


def _nonempty(reader: ParamReader, name: str) -> str:
    value = reader.string(name)
    if not value:
        raise reader.error(name, value, "must not be empty")
    return value


def _check_fill_value(reader: ParamReader, name: str, value: object) -> None:
    for item in value if isinstance(value, list) else [value]:
        if (
            isinstance(item, bool)
            or not isinstance(item, int | float | str)
            or not _is_number(str(item))
        ):
            raise reader.error(name, value, "must be a number or a list of numbers")


def _text(value: object) -> str:
    """A conf value as the text it matches in a table (JSON numbers match their digits)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def _required_columns(params: Mapping[str, Any]) -> list[str]:
    if params.get("with_label") and params.get("input_format", "dense") == "dense":
        return [str(params["label_name"]).lower()]
    return []


# --- reading a table ------------------------------------------------------------------------


@dataclass
class _Text:
    """A dense table as FATE's DataTransform sees it: the ids, the header and the columns of
    the rows' values split on `delimitor`."""

    sid: str
    ids: pa.Array
    header: list[str]
    columns: list[pa.Array]


def _dense_text(table: pa.Table, delimitor: str) -> _Text:
    sid, *names = table.column_names
    ids = table.column(0).combine_chunks().cast(pa.string())
    columns = [table.column(name).combine_chunks().cast(pa.string()) for name in names]
    uploaded = _upload_delimiter(table)
    if uploaded == delimitor or not names:
        return _Text(sid, ids, names, columns)
    header = uploaded.join(names).split(delimitor)
    fields = pc.split_pattern(_joined(columns, uploaded), delimitor)
    lengths = pc.list_value_length(fields).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(lengths != len(header))
    if len(bad):
        raise InvalidArgument(
            f"row {ids[bad[0]].as_py()!r} has {lengths[bad[0]]} fields split on "
            f"{delimitor!r} where the header has {len(header)}",
            delimitor=delimitor,
        )
    return _Text(sid, ids, header, [pc.list_element(fields, i) for i in range(len(header))])


def _row_fields(table: pa.Table, delimitor: str) -> tuple[str, pa.Array, pa.ListArray]:
    """The id name, the ids and each row's fields, for the sparse and tag formats."""
    sid = table.column_names[0]
    ids = table.column(0).combine_chunks().cast(pa.string())
    columns = [c.combine_chunks().cast(pa.string()) for c in table.columns[1:]]
    if not columns:
        empty: pa.ListArray = pa.array([[] for _ in range(table.num_rows)], pa.list_(pa.string()))
        return sid, ids, empty
    value = _joined(columns, _upload_delimiter(table))
    return sid, ids, pc.split_pattern(value, delimitor)


def _upload_delimiter(table: pa.Table) -> str:
    delimiter: bytes = (table.schema.metadata or {}).get(DELIMITER_KEY, b",")
    return delimiter.decode()


def _joined(columns: Sequence[pa.Array], delimiter: str) -> pa.Array:
    if len(columns) == 1:
        return columns[0]
    return pc.binary_join_element_wise(*columns, delimiter)


# --- the fitted state -----------------------------------------------------------------------


@dataclass
class _Fill:
    """One imputer (missing values or outliers) as fitted: what it replaces, by what, how often."""

    values: list[str]
    method: str | None
    fill: list[str]
    rates: list[float]


def _fit_fill(
    columns: list[pa.Array],
    header: list[str],
    values: list[str],
    method: str | None,
    designated: object,
) -> _Fill:
    if isinstance(designated, list) and method == "designated" and len(designated) != len(header):
        raise InvalidArgument(
            f"{len(designated)} fill values for {len(header)} features ({', '.join(header)})",
            features=len(header),
        )
    fill = []
    for index, (name, column) in enumerate(zip(header, columns, strict=True)):
        if method is None:
            fill.append("0")  # FATE 1.5's imputer fills 0 when no method is given
        elif method == "designated":
            chosen = designated[index] if isinstance(designated, list) else designated
            fill.append(_text(chosen))
        else:
            kept = pc.filter(column, pc.invert(_among(column, values)))
            numbers = _parse(kept, name, "float64")
            if not len(numbers):
                # FATE's statistics of a column with no value give NaN: the column stays
                # missing, and a learner refuses it by name.
                fill.append("nan")
                continue
            statistic = (
                numbers.min()
                if method == "min"
                else numbers.max()
                if method == "max"
                else numbers.mean()
            )
            fill.append(str(round(float(statistic), FILL_DECIMALS)))
    return _Fill(values, method, fill, [])


def _apply_fill(columns: list[pa.Array], fitted: _Fill) -> tuple[list[pa.Array], list[float]]:
    replaced, rates = [], []
    for column, value in zip(columns, fitted.fill, strict=True):
        mask = _among(column, fitted.values)
        rates.append(float(pc.sum(mask).as_py() or 0) / len(column) if len(column) else 0.0)
        replaced.append(pc.if_else(mask, value, column))
    return replaced, rates


def _among(column: pa.Array, values: Sequence[str]) -> pa.Array:
    if not values:
        return pa.array([False] * len(column))
    return pc.fill_null(pc.is_in(column, value_set=pa.array(list(values), pa.string())), False)


# --- numbers --------------------------------------------------------------------------------


def _parse(column: pa.Array, name: str, kind: str, nan: Sequence[str] = ()) -> np.ndarray:
    """The column as float64, `nan` values as NaN; `kind` int types refuse non-integers."""
    text = pc.utf8_trim_whitespace(column)
    if nan:
        text = pc.if_else(_among(column, nan), pa.scalar(None, pa.string()), text)
    target = pa.int64() if kind in INTEGER_TYPES else pa.float64()
    try:
        numbers = text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = text.to_pylist()
        bad = next(i for i, v in enumerate(values) if v is not None and not _is_number(v, kind))
        raise InvalidArgument(
            f"column {name!r} row {bad + 1} holds {values[bad]!r}, not "
            f"{'an integer' if kind in INTEGER_TYPES else 'a number'} ({kind})",
            column=name,
            row=bad + 1,
        ) from None
    result: np.ndarray = numbers.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return result.astype(np.float64, copy=False)


def _is_number(value: str, kind: str = "float64") -> bool:
    try:
        int(value) if kind in INTEGER_TYPES else float(value)
    except ValueError:
        return False
    return True


# --- the formats ----------------------------------------------------------------------------


@dataclass
class _Read:
    """What a format reader gives: everything of the dataset but its features' numbers."""

    sid: str
    ids: pa.Array
    header: list[str]
    columns: list[pa.Array]
    labels: np.ndarray | None
    label_name: str
    match_ids: pa.Array | None
    match_id_name: str


def _read_dense(table: pa.Table, settings: dict[str, Any], header: list[str] | None) -> _Read:
    text = _dense_text(table, settings["delimitor"])
    names = text.header
    positions = {name: i for i, name in enumerate(names)}
    label_name = str(settings["label_name"]).lower()
    label_at = None
    if settings["with_label"]:
        if label_name in positions:
            label_at = positions[label_name]
        elif header is None:  # training needs its label; a predict job may have none
            raise InvalidArgument(
                f"label column {label_name!r} is not in the data (columns: {', '.join(names)})",
                label_name=label_name,
            )
    match_at = None
    match_id_name = ""
    if settings["with_match_id"]:
        match_id_name = settings["match_id_name"] or (names[0] if names else "")
        if match_id_name not in positions:
            raise InvalidArgument(
                f"match id column {match_id_name!r} is not in the data "
                f"(columns: {', '.join(names)})",
                match_id_name=match_id_name,
            )
        match_at = positions[match_id_name]
    features = [i for i in range(len(names)) if i not in (label_at, match_at)]
    found = [names[i] for i in features]
    if header is not None:
        absent = [
            name
            for name in header
            if name not in positions or positions[name] in (label_at, match_at)
        ]
        if absent:
            raise InvalidArgument(
                f"the data's features {found} lack the trained model's {absent} "
                f"(it was trained on {header})",
                missing=",".join(absent),
            )
        features = [positions[name] for name in header]
    return _Read(
        sid=text.sid,
        ids=text.ids,
        header=[names[i] for i in features],
        columns=[text.columns[i] for i in features],
        labels=None
        if label_at is None
        else _parse(text.columns[label_at], label_name, settings["label_type"]),
        label_name=label_name if label_at is not None else "y",
        match_ids=None if match_at is None else text.columns[match_at],
        match_id_name=match_id_name,
    )


def _leading(
    fields: pa.ListArray, ids: pa.Array, settings: dict[str, Any]
) -> tuple[pa.ListArray, pa.Array | None, np.ndarray | None]:
    """A sparse or tag row's fields split: its features' fields, its match id, its label."""
    lengths = pc.list_value_length(fields).to_numpy(zero_copy_only=False)

    def field(index: int, what: str) -> pa.Array:
        short = np.flatnonzero(lengths <= index)
        if len(short):
            raise InvalidArgument(
                f"row {ids[short[0]].as_py()!r} has no field {index} to take its {what} from",
                field=index,
            )
        return pc.list_element(fields, index)

    offset = 0
    match_ids = None
    if settings["with_match_id"]:
        offset = 1
        match_ids = field(settings["match_id_index"], "match id")
    labels = None
    if settings["with_label"]:
        labels = _parse(field(offset, "label"), "label", settings["label_type"])
        offset += 1
    return pc.list_slice(fields, offset), match_ids, labels


def _pairs(
    items: pa.ListArray, ids: pa.Array, separator: str, what: str
) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Each `key<separator>value` item: its row, its key and its value."""
    flat = pc.list_flatten(items)
    rows = pc.list_parent_indices(items).to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(pc.count_substring(flat, separator).to_numpy(zero_copy_only=False) != 1)
    if len(bad):
        raise InvalidArgument(
            f"row {ids[rows[bad[0]]].as_py()!r} holds {flat[bad[0]].as_py()!r}, not {what}"
        )
    parts = pc.split_pattern(flat, separator, max_splits=1)
    return rows, pc.list_element(parts, 0), pc.list_element(parts, 1)


def _scatter(
    rows: np.ndarray, positions: np.ndarray, values: pa.Array, shape: tuple[int, int], absent: str
) -> list[pa.Array]:
    """Text columns of `shape`, `values` at (row, position), `absent` elsewhere; a later item
    of a row wins over an earlier one of the same position, as FATE's loop assigns them."""
    grid = np.full(shape, absent, dtype=object)
    grid[rows, positions] = np.asarray(values.to_pylist(), dtype=object)
    return [pa.array(grid[:, index], pa.string()) for index in range(shape[1])]


def _read_sparse(table: pa.Table, settings: dict[str, Any], header: list[str] | None) -> _Read:
    sid, ids, fields = _row_fields(table, settings["delimitor"])
    items, match_ids, labels = _leading(fields, ids, settings)
    rows, keys, values = _pairs(items, ids, ":", "an svmlight fid:value pair")
    trimmed = pc.utf8_trim_whitespace(keys)
    if len(trimmed) and not pc.all(pc.utf8_is_digit(trimmed)).as_py():
        bad = int(np.flatnonzero(~pc.utf8_is_digit(trimmed).to_numpy(zero_copy_only=False))[0])
        raise InvalidArgument(
            f"row {ids[rows[bad]].as_py()!r} has feature {keys[bad].as_py()!r}, not a number"
        )
    fids = trimmed.cast(pa.int64()).to_numpy(zero_copy_only=False)
    top = int(fids.max()) if len(fids) else -1
    names = header if header is not None else [f"x{i}" for i in range(top + 1)]
    if not names:
        raise InvalidArgument("no feature value in the data (svmlight format)")
    beyond = np.flatnonzero(fids >= len(names))
    if len(beyond):
        raise InvalidArgument(
            f"row {ids[rows[beyond[0]]].as_py()!r} has feature {fids[beyond[0]]}, beyond the "
            f"trained model's {len(names)} features",
            fid=int(fids[beyond[0]]),
        )
    columns = _scatter(rows, fids, values, (table.num_rows, len(names)), "0")
    return _Read(sid, ids, list(names), columns, labels, "label", match_ids, "match_id")


def _read_tag(
    table: pa.Table, settings: dict[str, Any], header: list[str] | None
) -> tuple[_Read, bool]:
    """The tag format; also whether absent tags are missing values (tag:value with
    `missing_fill`), where they are 0 otherwise."""
    sid, ids, fields = _row_fields(table, settings["delimitor"])
    items, match_ids, labels = _leading(fields, ids, settings)
    with_value = settings["tag_with_value"]
    if with_value:
        separator = settings["tag_value_delimitor"]
        rows, tags, values = _pairs(items, ids, separator, f"tag{separator}value")
    else:
        tags = pc.list_flatten(items)
        rows = pc.list_parent_indices(items).to_numpy(zero_copy_only=False)
        values = pa.array(["1"] * len(tags), pa.string())
    names = header if header is not None else sorted(set(tags.to_pylist()))
    position = {tag: index for index, tag in enumerate(names)}
    positions = np.array([position.get(tag, -1) for tag in tags.to_pylist()], dtype=np.int64)
    known = positions >= 0  # a predict job drops the tags its model does not know
    missing = with_value and settings["missing_fill"]
    columns = _scatter(
        rows[known],
        positions[known],
        values.filter(pa.array(known)),
        (table.num_rows, len(names)),
        "" if missing else "0",
    )
    read = _Read(sid, ids, list(names), columns, labels, "label", match_ids, "match_id")
    return read, missing


# --- the transform --------------------------------------------------------------------------


def transform(
    table: pa.Table, settings: dict[str, Any], trained: Mapping[str, Any] | None = None
) -> tuple[Dataset, dict[str, Any], dict[str, Any]]:
    """The dataset of `table`, the model to keep and the summary. With `trained` (a model this
    function made), the data are read as they were for training."""
    if table.num_rows == 0:
        raise InvalidArgument("the input table is empty")
    if trained is not None:
        settings = {**settings, **{k: trained[k] for k in _TRAINED if k in trained}}
    header = None if trained is None else list(trained["header"])
    input_format = settings["input_format"]
    can_fill = input_format == "dense"
    if input_format == "dense":
        read = _read_dense(table, settings, header)
    elif input_format == "sparse":
        read = _read_sparse(table, settings, header)
    else:
        read, can_fill = _read_tag(table, settings, header)
    columns = read.columns
    summary: dict[str, Any] = {}
    fills: dict[str, Any] = {}
    for switch, method, values, value in _IMPUTERS:
        if not (settings[switch] and can_fill):
            continue
        if input_format == "tag" and switch == "outlier_replace":
            continue  # FATE's tag reader replaces no outliers
        # FATE's tag imputer takes its default list whatever `missing_impute` says.
        given = None if input_format == "tag" else settings[values]
        chosen = list(given or IMPUTER_VALUES)
        if trained is None:
            fitted = _fit_fill(columns, read.header, chosen, settings[method], settings[value])
        else:
            fitted = _Fill(chosen, settings[method], list(trained[f"{switch}_values"]), [])
        columns, fitted.rates = _apply_fill(columns, fitted)
        fills[switch] = fitted
        prefix = "missing" if switch == "missing_fill" else "outlier"
        summary["missing_fill_info" if prefix == "missing" else "outlier_replace_rate"] = {
            f"{prefix}_value": chosen,
            "missing_impute_value" if prefix == "missing" else "outlier_replace_value": {
                name: _shown(value) for name, value in zip(read.header, fitted.fill, strict=True)
            },
            "missing_impute_rate" if prefix == "missing" else "outlier_replace_rate": dict(
                zip(read.header, fitted.rates, strict=True)
            ),
        }
    if input_format == "dense":
        nan = (
            list(fills["missing_fill"].values)
            if "missing_fill" in fills
            else list(settings["missing_impute"] or NAN_VALUES)
        )
    else:
        nan = []
    exclusive = settings["exclusive_data_type"] or {}
    features = np.empty((table.num_rows, len(read.header)))
    for index, (name, column) in enumerate(zip(read.header, columns, strict=True)):
        kind = exclusive.get(name.lower(), settings["data_type"])
        features[:, index] = _parse(column, name, kind, nan)
    dataset = Dataset(
        ids=np.asarray(read.ids.to_pylist(), dtype=object),
        features=features,
        labels=read.labels,
        header=read.header,
        sid=read.sid,
        label_name=read.label_name,
        match_ids=None
        if read.match_ids is None
        else np.asarray(read.match_ids.to_pylist(), dtype=object),
        match_id_name=read.match_id_name or "match_id",
    )
    model = {
        **{key: settings[key] for key in _TRAINED},
        "header": read.header,
        "sid": read.sid,
        **{f"{switch}_values": fills[switch].fill for switch in fills},
    }
    if trained is not None:
        model = dict(trained)
    return dataset, model, summary


def _shown(fill: str) -> float | None:
    """A fill value in the summary: the number FATE shows (None for a feature left NaN)."""
    number = float(fill)
    return None if math.isnan(number) else number


def meta_parameters(table: pa.Table) -> dict[str, Any]:
    """The settings a table uploaded with its meta gives, in place of the conf's: FATE 1.9+'s
    DataTransform reads them from the meta, with its defaults for those left out."""
    text = (table.schema.metadata or {}).get(META_KEY)
    if text is None:
        return {}
    meta = json.loads(text)
    settings = {
        "input_format": meta.get("input_format", "dense"),
        "delimitor": meta.get("delimiter", ","),
        "data_type": meta.get("data_type"),
        "with_label": meta.get("with_label", False),
        "with_match_id": meta.get("with_match_id", False),
        "exclusive_data_type": meta.get("exclusive_data_type"),
        "tag_with_value": meta.get("tag_with_value"),
        "tag_value_delimitor": meta.get("tag_value_delimiter", ":"),
    }
    if settings["with_label"]:
        settings["label_type"] = meta.get("label_type", "int")
        settings["label_name"] = meta.get("label_name", "")
    # A setting the meta leaves None is the parameter's default.
    return {key: value for key, value in settings.items() if value is not None}


#: What a predict job takes from the trained model rather than from its own conf.
_TRAINED = (
    "input_format",
    "delimitor",
    "data_type",
    "exclusive_data_type",
    "tag_with_value",
    "tag_value_delimitor",
    "with_label",
    "label_name",
    "label_type",
    "output_format",
    "with_match_id",
    "match_id_name",
    "match_id_index",
    "missing_fill",
    "missing_fill_method",
    "missing_impute",
    "outlier_replace",
    "outlier_replace_method",
    "outlier_impute",
)


class DataTransform:
    info = ModuleInfo(
        name=MODULE,
        aliases=frozenset({"DataIO"}),
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: validate_parameters(params),
        required_columns=_required_columns,
    )

    def run(self, context: TaskContext) -> None:
        (table,) = context.input_tables("data") or [None]
        if table is None:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        params = validate_parameters({**context.parameters, **meta_parameters(table)})
        models = context.input_models()
        trained = next(iter(models.values())) if models else None
        dataset, model, summary = transform(table, params, trained)
        # A predict job keeps no model; a training job's second DataTransform (validate data,
        # FATE's `data_transform_1`) keeps the one it was given, as FATE's exports it.
        if not any(source == "pipeline" for source, _ in context.wiring.model_inputs):
            context.save_model(model)
        if summary and trained is None:
            context.save_summary(summary)
        context.log.info(
            "%s rows, %s features (%s input)",
            len(dataset.ids),
            len(dataset.header),
            model["input_format"],
        )
        context.save_output_data(dataset.to_table())
