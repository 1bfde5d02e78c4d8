"""FeatureScale (FATE's `FeatureScale`): each party scales its own features; nothing crosses.

    scaler = fit(dataset, validate_parameters(params))     # a Scaler: per column bounds, mean, std
    scaled = scaler.transform(dataset)                      # training data, and new data alike

Per scaled column, values are first clipped to [lower, upper]: in `normal` mode the column's
min and max, narrowed by `feat_lower` and `feat_upper` (numbers, or one per feature); in `cap`
mode its `feat_lower` and `feat_upper` quantiles (default 0 and 1; FATE's quantile query,
`binning.quantile`, with FATE's default error). Then `min_max_scale` maps
x -> (x - lower) / (upper - lower), and `standard_scale` x -> (x - mean) / std with the mean
and the population std of the clipped column (`with_mean: false` takes 0, `with_std: false`
1). A range or std under 1e-6 counts as 1, as in FATE. A predict job applies the trained
bounds, means and stds unchanged, so new values are clipped to the training range. Missing
values (NaN) stay missing and are left out of the statistics.

Columns: `scale_col_indexes: -1` (the default) scales every column and, as in FATE, then
ignores `scale_names`; a list of indexes scales those and the columns `scale_names` names
(names this party does not have are ignored: a job's common parameters reach every party).
FATE 1.5's default `method` is None, which leaves the data as it is (FATE 1.11 made
`standard_scale` the default); we keep 1.5's.

Model: FATE's `ScaleMeta` (method, mode, scale_column, feat_upper, feat_lower, with_mean,
with_std) and `ScaleParam` (`col_scale_param`: column_upper, column_lower, mean, std per
scaled column; `header`). Metric: `train`/`scale` (meta only, `SCALE`, with the method);
summary: the `col_scale_param`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.errors import InvalidArgument

MODULE = "FeatureScale"
METHODS = ("min_max_scale", "standard_scale")
MODES = ("normal", "cap")
#: FATE's threshold under which a range or a std is taken as 1.
TINY = 1e-6

# FATE 1.5's ScaleParam defaults (federatedml/param/scale_param.py).
DEFAULTS: dict[str, Any] = {
    "method": None,
    "mode": "normal",
    "scale_col_indexes": -1,
    "scale_names": None,
    "feat_upper": None,
    "feat_lower": None,
    "with_mean": True,
    "with_std": True,
}

Floats = npt.NDArray[np.float64]
Bound = float | list[float] | None


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's defaults filled in, `method` and `mode` lower case; InvalidArgument naming the
    first parameter that is wrong."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    method = None if reader.raw("method") is None else reader.choice("method", METHODS)
    mode = reader.choice("mode", MODES)
    indexes = reader.raw("scale_col_indexes")
    if indexes != -1 and not (
        isinstance(indexes, list)
        and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indexes)
    ):
        raise reader.error("scale_col_indexes", indexes, "must be -1 or a list of column indexes")
    names = reader.raw("scale_names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise reader.error("scale_names", names, "must be a list of column names")
    upper, lower = _bound(reader, "feat_upper", mode), _bound(reader, "feat_lower", mode)
    if mode == "cap":
        top = 1.0 if upper is None else upper
        bottom = 0.0 if lower is None else lower
        assert isinstance(top, float) and isinstance(bottom, float)  # _bound: no list in cap
        if top < bottom:
            raise reader.error("feat_upper", upper, f"must not be below feat_lower ({bottom:g})")
    return {
        "method": method,
        "mode": mode,
        "scale_col_indexes": indexes,
        "scale_names": list(names or []),
        "feat_upper": upper,
        "feat_lower": lower,
        "with_mean": reader.boolean("with_mean"),
        "with_std": reader.boolean("with_std"),
    }


def _bound(reader: ParamReader, name: str, mode: str) -> Bound:
    value = reader.raw(name)
    if value is None:
        return None
    if isinstance(value, list):
        if mode == "cap":
            raise reader.error(name, value, "must be one number (a quantile) in cap mode")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise reader.error(name, value, "must be a number or a list of numbers")
        return [float(v) for v in value]
    number = reader.number(name, minimum=0, maximum=1) if mode == "cap" else reader.number(name)
    return number


@dataclass(frozen=True)
class Scaler:
    """A fitted scaler: what a predict job applies unchanged."""

    method: str | None
    #: Scaled column name -> (lower, upper, mean, std).
    columns: dict[str, tuple[float, float, float, float]]

    def transform(self, data: Dataset) -> Dataset:
        if self.method is None or not self.columns:
            return data
        missing = [name for name in self.columns if name not in data.header]
        if missing:
            raise InvalidArgument(
                f"{MODULE}: the data lack the scaled columns {', '.join(missing[:5])}",
                missing=len(missing),
            )
        positions = [data.header.index(name) for name in self.columns]
        lower, upper, mean, std = (np.array(v) for v in zip(*self.columns.values(), strict=True))
        values = np.clip(data.features[:, positions], lower, upper)
        if self.method == "min_max_scale":
            scaled = (values - lower) / _at_least_tiny(upper - lower)
        else:
            scaled = (values - mean) / std
        features = data.features.copy()
        features[:, positions] = scaled
        return dataclasses.replace(data, features=features)


def _at_least_tiny(spread: Floats) -> Floats:
    return np.where(np.abs(spread) < TINY, 1.0, spread)


def scaled_columns(header: Sequence[str], params: Mapping[str, Any]) -> list[int]:
    """FATE's choice of columns: all for -1, else the indexes and the named columns."""
    indexes = params["scale_col_indexes"]
    if indexes == -1:
        return list(range(len(header)))
    too_far = [i for i in indexes if i >= len(header)]
    if too_far:
        raise InvalidArgument(
            f"{MODULE} parameter scale_col_indexes names column {max(too_far)}, but this party "
            f"has {len(header)} features",
            parameter="scale_col_indexes",
        )
    named = [header.index(name) for name in params["scale_names"] if name in header]
    return sorted(set(indexes) | set(named))


def fit(data: Dataset, params: Mapping[str, Any]) -> Scaler:
    """Learn the scaler of `params` (validated) from `data`."""
    method = params["method"]
    if method is None:
        return Scaler(None, {})
    positions = scaled_columns(data.header, params)
    values = data.features[:, positions]
    lower, upper = _range(values, params, positions, len(data.header))
    mean = np.zeros(len(positions))
    std = np.zeros(len(positions))
    if method == "standard_scale":
        clipped = np.clip(values, lower, upper)
        std = np.ones(len(positions))
        if params["with_mean"]:
            mean = _column(np.nanmean, clipped)
        if params["with_std"]:
            std = _at_least_tiny(_column(np.nanstd, clipped))
    return Scaler(
        method,
        {
            data.header[p]: (float(lower[k]), float(upper[k]), float(mean[k]), float(std[k]))
            for k, p in enumerate(positions)
        },
    )


def _range(
    values: Floats, params: Mapping[str, Any], positions: list[int], features: int
) -> tuple[Floats, Floats]:
    """The clipping bounds of each scaled column."""
    if params["mode"] == "cap":
        top = 1.0 if params["feat_upper"] is None else params["feat_upper"]
        bottom = 0.0 if params["feat_lower"] is None else params["feat_lower"]
        return _quantile(values, bottom), _quantile(values, top)
    lower, upper = _column(np.nanmin, values), _column(np.nanmax, values)
    for name, bound in (("feat_upper", params["feat_upper"]), ("feat_lower", params["feat_lower"])):
        if bound is None:
            continue
        if isinstance(bound, list):
            if len(bound) != features:
                raise InvalidArgument(
                    f"{MODULE} parameter {name} has {len(bound)} values, but this party has "
                    f"{features} features",
                    parameter=name,
                )
            bound = np.array(bound)[positions]
        # FATE narrows both ends: a bound beyond one end moves that end too.
        if name == "feat_upper":
            lower, upper = np.minimum(lower, bound), np.minimum(upper, bound)
        else:
            lower, upper = np.maximum(lower, bound), np.maximum(upper, bound)
    return lower, upper


def _column(function: Any, values: Floats) -> Floats:
    """A NaN-ignoring column statistic; an all-missing (or empty) column gives 0."""
    if values.shape[0] == 0:
        return np.zeros(values.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
        result = function(values, axis=0)
    return np.nan_to_num(np.asarray(result, dtype=np.float64), nan=0.0)


def _quantile(values: Floats, q: float) -> Floats:
    """FATE's quantile `q` of each column's present values (0 for a column of none)."""
    return np.array(
        [
            binning.quantile(np.sort(column[~np.isnan(column)]), q, binning.ERROR)
            for column in values.T
        ]
    )


# --- the model ----------------------------------------------------------------------------


def to_model(scaler: Scaler, params: Mapping[str, Any], header: Sequence[str]) -> dict[str, Any]:
    def shown(bound: Bound) -> list[str]:
        if isinstance(bound, list):
            return [f"{v:g}" for v in bound]
        return [str(bound) if bound is None else f"{bound:g}"] * len(header)

    return {
        "meta": {
            "method": scaler.method,
            "mode": params["mode"],
            "area": "null",
            "scale_column": list(scaler.columns),
            "feat_upper": shown(params["feat_upper"]),
            "feat_lower": shown(params["feat_lower"]),
            "with_mean": params["with_mean"],
            "with_std": params["with_std"],
            "need_run": True,
        },
        "param": {"col_scale_param": _col_scale_param(scaler), "header": list(header)},
    }


def _col_scale_param(scaler: Scaler) -> dict[str, dict[str, float]]:
    return {
        name: {"column_upper": upper, "column_lower": lower, "mean": mean, "std": std}
        for name, (lower, upper, mean, std) in scaler.columns.items()
    }


def from_model(model: Mapping[str, Any]) -> Scaler:
    try:
        columns = {
            name: (
                float(c["column_lower"]),
                float(c["column_upper"]),
                float(c["mean"]),
                float(c["std"]),
            )
            for name, c in model["param"]["col_scale_param"].items()
        }
        return Scaler(model["meta"]["method"], columns)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise InvalidArgument(f"{MODULE}: this is not a FeatureScale model") from None


# --- the component ----------------------------------------------------------------------


class FeatureScale:
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
            scaler = from_model(model)
        else:
            scaler = fit(data, params)
            context.save_model(to_model(scaler, params, data.header))
            context.save_summary(_col_scale_param(scaler))
        if scaler.method is not None:
            context.log_metric(
                "train",
                "scale",
                [],
                {"name": "scale", "metric_type": "SCALE", "method": scaler.method},
            )
        context.log.info(
            "%s: %s of %s columns", scaler.method, len(scaler.columns), len(data.header)
        )
        context.save_output_data(scaler.transform(data).to_table())
