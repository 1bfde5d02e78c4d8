"""FeatureImputation (FATE 1.7's `FeatureImputation`): each party fills the missing values of
its own columns; nothing crosses.

    imputer = fit(dataset, validate_parameters(params))
    filled = imputer.transform(dataset)                     # training data, and new data alike

A column's method is `col_missing_fill_method`'s entry for it, else `missing_fill_method`;
a column with no method is left as it is (FATE's `skip_cols`: with the defaults, every column).
`min`, `max` and `mean` fill with that statistic of the column's present values (0 when none
is present), `designated` with `default_value` (one number, or one per column). A predict job
fills with the trained values.

Missing values: our features are float64, so DataTransform has already made every missing
text (FATE's '', 'none', 'null', 'na', ...) NaN. By default (`missing_impute: null`) NaN is
missing, as FATE's default list counts NaN; a `missing_impute` list names the values that
are missing: numbers, and FATE's missing texts (or null), which stand for NaN here. A text that
is neither is refused: a float column cannot hold it.

Model: FATE's `FeatureImputationMeta` (`imputer_meta`: strategy, missing_value and its types)
and `FeatureImputationParam` (header, `imputer_param`: missing_replace_value and its types,
missing_value_ratio, cols_replace_method, skip_cols). Summary: missing_value,
missing_impute_value and missing_impute_rate per column, skip_cols.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "FeatureImputation"
METHODS = ("min", "max", "mean", "designated")
#: FATE's default missing values (federatedml/feature/imputer.py); NaN stands for the texts.
DEFAULT_MISSING = ("", "none", "null", "na", "None", "nan")
#: Texts FATE and DataTransform read as missing: here they are NaN.
_MISSING_TEXTS = frozenset({"", "none", "null", "na", "nan"})

# FATE 1.11's FeatureImputationParam defaults (federatedml/param/feature_imputation_param.py).
DEFAULTS: dict[str, Any] = {
    "default_value": 0,
    "missing_fill_method": None,
    "col_missing_fill_method": None,
    "missing_impute": None,
}

Floats = npt.NDArray[np.float64]
_STATISTICS: dict[str, Callable[[Floats], Any]] = {"min": np.min, "max": np.max, "mean": np.mean}


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    reader = ParamReader(MODULE, params, DEFAULTS)
    method = reader.raw("missing_fill_method")
    per_column = reader.raw("col_missing_fill_method") or {}
    if not isinstance(per_column, Mapping):
        raise reader.error("col_missing_fill_method", per_column, "must be an object")
    methods = {}
    for column, value in per_column.items():
        found = next((m for m in METHODS if isinstance(value, str) and value.lower() == m), None)
        if found is None:
            raise reader.error(
                f"col_missing_fill_method.{column}", value, f"must be one of {', '.join(METHODS)}"
            )
        methods[str(column)] = found
    default = reader.raw("default_value")
    numbers = default if isinstance(default, list) else [default]
    if not all(_is_number(v) for v in numbers):
        raise reader.error(
            "default_value", default, "must be a number or a list of numbers (features are floats)"
        )
    return {
        "default_value": [float(v) for v in default]
        if isinstance(default, list)
        else float(default),
        "missing_fill_method": None
        if method is None
        else reader.choice("missing_fill_method", METHODS),
        "col_missing_fill_method": methods or None,
        "missing_impute": _missing_values(reader),
    }


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _missing_values(reader: ParamReader) -> list[float | str] | None:
    """The `missing_impute` list, each entry a number or one of FATE's missing texts."""
    values = reader.raw("missing_impute")
    if values is None:
        return None
    if not isinstance(values, list):
        raise reader.error("missing_impute", values, "must be null or a list")
    checked: list[float | str] = []
    for value in values:
        if value is None or (isinstance(value, str) and value.strip().lower() in _MISSING_TEXTS):
            checked.append("" if value is None else value)
        elif _is_number(value):
            checked.append(float(value))
        else:
            try:
                checked.append(float(value))
            except (TypeError, ValueError):
                raise reader.error(
                    "missing_impute",
                    values,
                    f"holds {value!r}, which a float feature cannot hold (features are numbers; "
                    "missing texts are NaN)",
                ) from None
    return checked


def _is_missing(values: Floats, missing: Sequence[float | str] | None) -> npt.NDArray[np.bool_]:
    if missing is None:
        return np.isnan(values)
    numbers = [v for v in missing if isinstance(v, float) and not math.isnan(v)]
    found = np.isin(values, numbers)
    if any(isinstance(v, str) or math.isnan(v) for v in missing):
        found |= np.isnan(values)
    return found


@dataclass(frozen=True)
class Imputer:
    """What a predict job applies unchanged."""

    header: list[str]
    missing: list[float | str] | None
    #: Filled column -> (method, value).
    fills: dict[str, tuple[str, float]]

    def transform(self, data: Dataset) -> tuple[Dataset, dict[str, float]]:
        """The filled data, and the share of rows filled in each column."""
        missing_columns = [name for name in self.fills if name not in data.header]
        if missing_columns:
            raise InvalidArgument(
                f"{MODULE}: the data lack the columns {', '.join(missing_columns[:5])} of the model",
                missing=len(missing_columns),
            )
        features = data.features.copy()
        rates = dict.fromkeys(data.header, 0.0)
        for name, (_, value) in self.fills.items():
            column = data.header.index(name)
            holes = _is_missing(features[:, column], self.missing)
            features[holes, column] = value
            rates[name] = float(holes.mean()) if len(holes) else 0.0
        return dataclasses.replace(data, features=features), rates


def fit(data: Dataset, params: Mapping[str, Any]) -> Imputer:
    per_column = params["col_missing_fill_method"] or {}
    unknown = [name for name in per_column if name not in data.header]
    if unknown:
        raise InvalidArgument(
            f"{MODULE} parameter col_missing_fill_method names {', '.join(unknown)}, which "
            f"this party's data do not have",
            parameter="col_missing_fill_method",
        )
    default = params["default_value"]
    if isinstance(default, list) and len(default) != len(data.header):
        raise InvalidArgument(
            f"{MODULE} parameter default_value has {len(default)} values, but this party has "
            f"{len(data.header)} features",
            parameter="default_value",
        )
    fills = {}
    for index, name in enumerate(data.header):
        method = per_column.get(name, params["missing_fill_method"])
        if method is None:
            continue
        if method == "designated":
            value = default[index] if isinstance(default, list) else default
        else:
            column = data.features[:, index]
            present = column[~_is_missing(column, params["missing_impute"])]
            value = float(_STATISTICS[method](present)) if len(present) else 0.0
        fills[name] = (method, float(value))
    return Imputer(list(data.header), params["missing_impute"], fills)


# --- the model ----------------------------------------------------------------------------


def _missing_shown(missing: Sequence[float | str] | None) -> list[str]:
    return [_text(v) for v in (DEFAULT_MISSING if missing is None else missing)]


def _text(value: float | str) -> str:
    return value if isinstance(value, str) else repr(value)


def to_model(
    imputer: Imputer, params: Mapping[str, Any], rates: Mapping[str, float]
) -> dict[str, Any]:
    missing = DEFAULT_MISSING if imputer.missing is None else imputer.missing
    skipped = [name for name in imputer.header if name not in imputer.fills]
    return {
        "meta": {
            "need_run": True,
            "imputer_meta": {
                "is_imputer": True,
                "strategy": params["missing_fill_method"] or "",
                "missing_value": _missing_shown(imputer.missing),
                "missing_value_type": ["str" if isinstance(v, str) else "float" for v in missing],
            },
        },
        "param": {
            "header": imputer.header,
            "imputer_param": {
                "missing_replace_value": {n: repr(v) for n, (_, v) in imputer.fills.items()},
                "missing_replace_value_type": dict.fromkeys(imputer.fills, "float"),
                "missing_value_ratio": dict(rates),
                "cols_replace_method": {
                    name: imputer.fills[name][0] if name in imputer.fills else "None"
                    for name in imputer.header
                },
                "skip_cols": skipped,
            },
        },
    }


def from_model(model: Mapping[str, Any]) -> Imputer:
    try:
        meta, param = model["meta"]["imputer_meta"], model["param"]["imputer_param"]
        missing: list[float | str] = [
            text if kind == "str" else float(text)
            for text, kind in zip(meta["missing_value"], meta["missing_value_type"], strict=True)
        ]
        methods = param["cols_replace_method"]
        return Imputer(
            [str(name) for name in model["param"]["header"]],
            missing,
            {
                str(name): (str(methods[name]), float(value))
                for name, value in param["missing_replace_value"].items()
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidArgument(f"{MODULE}: this is not a FeatureImputation model") from None


def summary(imputer: Imputer, rates: Mapping[str, float]) -> dict[str, Any]:
    return {
        "missing_value": _missing_shown(imputer.missing),
        "missing_impute_value": {
            name: imputer.fills[name][1] if name in imputer.fills else 0 for name in imputer.header
        },
        "missing_impute_rate": dict(rates),
        "skip_cols": [name for name in imputer.header if name not in imputer.fills],
    }


# --- the component ----------------------------------------------------------------------


class FeatureImputation:
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
        data = Dataset.from_table(tables[0])
        trained = context.input_models()
        if trained:
            (model,) = trained.values()
            imputer = from_model(model)
            filled, rates = imputer.transform(data)
        else:
            imputer = fit(data, params)
            filled, rates = imputer.transform(data)
            context.save_model(to_model(imputer, params, rates))
            context.save_summary(summary(imputer, rates))
        context.log.info(
            "filled %s of %s columns (%s values)",
            len(imputer.fills),
            len(data.header),
            round(sum(rates.values()) * len(data.ids)),
        )
        context.save_output_data(filled.to_table())
