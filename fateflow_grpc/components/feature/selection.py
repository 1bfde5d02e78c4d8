"""HeteroFeatureSelection (FATE's module): each party keeps some of its columns, by FATE's
filters, in the order `filter_methods` gives them; each filter sees the columns the previous one
left (of those `select_col_indexes` / `select_names` chose; the others are always kept).

    params = validate_parameters(component_parameters)
    kept = fit_guest(transport, data, params, parties, models)   # models: isometric, by name
    kept = fit_host(transport, data, params, parties, models, local=host)

The filters, as FATE 1.11 defines them (1.5's older names map onto them as in FATE):

| filter | keeps a column when | reads |
|---|---|---|
| `manually` | not in filter_out_* (or in left_col_*) | the parameters |
| `unique_value` | stddev >= eps | a DataStatistics model |
| `coefficient_of_variation_value_thres` | coefficient_of_variance >= value_threshold | DataStatistics |
| `outlier_cols` | its `percentile` quantile <= upper_threshold | DataStatistics |
| `statistic_filter` | each metric by threshold / top_k / top_percentile | DataStatistics |
| `percentage_value` | no value fills more than upper_pct of the rows | the data |
| `iv_value_thres`, `iv_percentile`, `iv_top_k`, `iv_filter` | IV by threshold / top_k / top_percentile | a HeteroFeatureBinning model |
| `psi_filter` | PSI by threshold (low kept) | a PSI model |
| `hetero_sbt_filter`, `homo_sbt_filter`, `hetero_fast_sbt_filter` | the party's own feature importance by threshold / top_k / top_percentile | that SecureBoost's model |
| `vif_filter` | its variance inflation factor by threshold / top_k / top_percentile (FATE: <= 5 kept) | a HeteroPearson model (`calc_local_vif`) |
| `correlation_filter` | no column of higher IV correlates with it above `threshold` | HeteroPearson and HeteroFeatureBinning models |

Every filter keeps at least one column (the best by its value). The IV filters are federated
(unless `local_only` / `select_federated: false`): a host sends the anonymous names of the
columns it still selects (`select_cols`); the guest, which holds every party's IV in its
binning model, decides for all (hosts' by `host_thresholds` when given) and tells each host
which of its columns stay (`result_left_cols`). A host never learns an IV; the guest never a
host's column name. A predict job keeps the columns the training kept.

The SecureBoost and VIF filters are each party's alone, on its own columns' values, as in FATE
(its IsoModelFilter). `correlation_filter` is FATE's: the guest ranks its columns and, with
`select_federated`, the Pearson model's host's by IV, highest first; walking down, each column
not yet dropped drops every other column whose correlation with it exceeds `threshold` in
absolute value (the guest's by the local matrix, the host's by the cross matrix both parties
learnt from HeteroPearson). As in FATE, a host column dropped by a guest column still drops
the guest columns it correlates with when its turn comes (FATE checks the guest's dropped
set only). The host learns which of its columns stay, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from fateflow_grpc.components.feature import binning
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HeteroFeatureSelection"
_VARIABLES = "HeteroFeatureSelectionTransferVariable"
SELECT_COLS = f"{_VARIABLES}.host_select_cols"
RESULT_LEFT_COLS = f"{_VARIABLES}.result_left_cols"

FILTERS = (
    "unique_value",
    "iv_value_thres",
    "iv_percentile",
    "iv_top_k",
    "coefficient_of_variation_value_thres",
    "outlier_cols",
    "manually",
    "percentage_value",
    "iv_filter",
    "statistic_filter",
    "psi_filter",
    "hetero_sbt_filter",
    "homo_sbt_filter",
    "hetero_fast_sbt_filter",
    "vif_filter",
    "correlation_filter",
)
#: The SecureBoost filters, with the model each reads (FATE's model_name, or its prefix).
SBT_FILTERS = {
    "hetero_sbt_filter": "hetero_sbt",
    "homo_sbt_filter": "homo_sbt",
    "hetero_fast_sbt_filter": "hetero_fast_sbt",
}
FILTER_TYPES = ("threshold", "top_k", "top_percentile")


def _common(metrics: Any, threshold: Any = 1, take_high: bool = True) -> dict[str, Any]:
    return {
        "metrics": metrics,
        "filter_type": "threshold",
        "take_high": take_high,
        "threshold": threshold,
        "host_thresholds": None,
        "select_federated": True,
    }


# FATE 1.11's FeatureSelectionParam (1.5's, plus vif_param, correlation_param, use_anonymous
# and iv_param.mul_class_merge_type).
DEFAULTS: dict[str, Any] = {
    "select_col_indexes": -1,
    "select_names": None,
    "filter_methods": None,
    "unique_param": {"eps": 1e-5},
    "iv_value_param": {"value_threshold": 0.0, "host_thresholds": None, "local_only": False},
    "iv_percentile_param": {"percentile_threshold": 1.0, "local_only": False},
    "iv_top_k_param": {"k": 10, "local_only": False},
    "variance_coe_param": {"value_threshold": 1.0},
    "outlier_param": {"percentile": 1.0, "upper_threshold": 1.0},
    "manually_param": {
        "filter_out_indexes": None,
        "filter_out_names": None,
        "left_col_indexes": None,
        "left_col_names": None,
    },
    "percentage_value_param": {"upper_pct": 1.0},
    "iv_param": {**_common("iv"), "mul_class_merge_type": "average"},
    "statistic_param": _common("mean"),
    "psi_param": _common("psi", take_high=False),
    "vif_param": _common("vif", threshold=5.0, take_high=False),
    "sbt_param": _common("feature_importance"),
    "correlation_param": {"sort_metric": "iv", "threshold": 0.1, "select_federated": True},
    "use_anonymous": False,
}


@dataclass(frozen=True)
class Filter:
    """One filter as it runs: FATE's filter name in results, and what it keeps."""

    method: str  # the filter_methods entry
    name: str  # FATE's result name (`iv_threshold`, `skewness`, `manually`...)
    metric: str = ""
    filter_type: str = "threshold"
    take_high: bool = True
    threshold: float = 1.0
    host_thresholds: list[float | None] | None = None
    federated: bool = False
    merge: str = "average"
    manual: Mapping[str, Any] = field(default_factory=dict)
    upper_pct: float = 1.0

    def meta(self) -> dict[str, Any]:
        if self.method == "correlation_filter":  # FATE's CorrelationFilter.get_meta_obj
            return {
                "metrics": "correlation",
                "filter_type": "Sort and filter by threshold",
                "threshold": self.threshold,
                "select_federated": self.federated,
            }
        return {
            "metrics": self.metric,
            "filter_type": self.filter_type,
            "take_high": self.take_high,
            "threshold": self.threshold,
            "select_federated": self.federated,
        }


@dataclass(frozen=True)
class SelectionParams:
    select_col_indexes: list[int] | None
    select_names: list[str]
    filters: list[Filter]
    use_anonymous: bool


def validate_parameters(params: Mapping[str, Any] | None = None) -> SelectionParams:
    reader = ParamReader(MODULE, params, DEFAULTS)
    methods = reader.raw("filter_methods")
    if methods is None:
        methods = ["manually"]
    if not isinstance(methods, list):
        raise reader.error("filter_methods", methods, "must be a list of filter names")
    filters: list[Filter] = []
    for raw in methods:
        method = raw.lower() if isinstance(raw, str) else raw
        if method not in FILTERS:
            raise reader.error("filter_methods", methods, f"names an unknown filter {raw!r}")
        filters += _filters(reader, method)
    # Sections the chosen filters do not use are still FATE's and checked for their names.
    for name in (
        "unique_param",
        "variance_coe_param",
        "outlier_param",
        "manually_param",
        "percentage_value_param",
        "iv_value_param",
        "iv_percentile_param",
        "iv_top_k_param",
        "iv_param",
        "statistic_param",
        "psi_param",
        "vif_param",
        "sbt_param",
        "correlation_param",
    ):
        reader.section(name)
    indexes = reader.raw("select_col_indexes")
    if indexes != -1 and (
        not isinstance(indexes, list)
        or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in indexes)
    ):
        raise reader.error("select_col_indexes", indexes, "must be -1 or a list of indexes")
    names = reader.raw("select_names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise reader.error("select_names", names, "must be a list of column names")
    return SelectionParams(
        None if indexes == -1 else list(indexes),
        list(names),
        filters,
        reader.boolean("use_anonymous"),
    )


def _filters(reader: ParamReader, method: str) -> list[Filter]:
    if method == "manually":
        section = reader.section("manually_param")
        manual = {k: section.raw(k) for k in DEFAULTS["manually_param"]}
        for key, value in manual.items():
            if value is not None and not isinstance(value, list):
                raise section.error(key, value, "must be a list")
        if (manual["filter_out_indexes"] or manual["filter_out_names"]) is not None and (
            manual["left_col_names"] or manual["left_col_indexes"]
        ) is not None:
            raise section.error(
                "left_col_names", manual["left_col_names"], "cannot be used with filter_out_*"
            )
        return [Filter(method, "manually", manual=manual)]
    if method == "percentage_value":
        section = reader.section("percentage_value_param")
        upper = section.number("upper_pct", minimum=0.1, maximum=1)
        return [Filter(method, "percentage_value", upper_pct=upper)]
    if method == "unique_value":
        eps = reader.section("unique_param").number("eps", above=0)
        return [Filter(method, "stddev", "stddev", threshold=eps)]
    if method == "coefficient_of_variation_value_thres":
        value = reader.section("variance_coe_param").number("value_threshold", above=0)
        return [
            Filter(method, "coefficient_of_variance", "coefficient_of_variance", threshold=value)
        ]
    if method == "outlier_cols":
        section = reader.section("outlier_param")
        percentile = section.number("percentile", minimum=0, maximum=1)
        metric = f"{int(percentile * 100)}%"
        upper = section.number("upper_threshold")
        return [Filter(method, metric, metric, take_high=False, threshold=upper)]
    if method in ("iv_value_thres", "iv_percentile", "iv_top_k"):
        section = reader.section(
            {"iv_value_thres": "iv_value_param", "iv_percentile": "iv_percentile_param"}.get(
                method, "iv_top_k_param"
            )
        )
        federated = not section.boolean("local_only")
        if method == "iv_value_thres":
            value = _unlisted(section, "value_threshold")
            hosts = section.raw("host_thresholds")
            return [
                Filter(
                    method,
                    "iv_threshold",
                    "iv",
                    "threshold",
                    True,
                    value,
                    _host_thresholds(section, hosts),
                    federated,
                )
            ]
        if method == "iv_percentile":
            value = _unlisted(section, "percentile_threshold")
            if not 0 <= value <= 1:
                raise section.error("percentile_threshold", value, "must be within [0, 1]")
            return [
                Filter(
                    method,
                    "iv_top_percentile",
                    "iv",
                    "top_percentile",
                    True,
                    value,
                    None,
                    federated,
                )
            ]
        k = section.integer("k", minimum=1)
        return [Filter(method, "iv_top_k", "iv", "top_k", True, k, None, federated)]
    if method == "correlation_filter":
        section = reader.section("correlation_param")
        section.choice("sort_metric", ("iv",))
        threshold = section.number("threshold", above=0)
        federated = section.boolean("select_federated")
        return [
            Filter(
                method, "correlation", "correlation", "threshold", False, threshold, None, federated
            )
        ]
    section_name = {
        "iv_filter": "iv_param",
        "statistic_filter": "statistic_param",
        "psi_filter": "psi_param",
        "vif_filter": "vif_param",
    }.get(method, "sbt_param")
    # The metric each iso-model filter reads, where FATE fixes it.
    fixed_metric = {"iv_filter": "iv", "psi_filter": "psi", "vif_filter": "vif"}.get(
        method, "feature_importance" if method in SBT_FILTERS else None
    )
    section = reader.section(section_name)
    metrics = section.raw("metrics")
    listed = isinstance(metrics, list)
    metric_list = metrics if listed else [metrics]
    if not metric_list or not all(isinstance(m, str) for m in metric_list):
        raise section.error("metrics", metrics, "must be a metric name or a list of them")

    def per_metric(name: str) -> list[Any]:
        value = section.raw(name)
        if isinstance(value, list):
            if not listed or len(value) != len(metric_list):
                raise section.error(name, value, "must have one value per metric")
            return value
        return [value] * len(metric_list)

    types, highs, thresholds = (
        per_metric("filter_type"),
        per_metric("take_high"),
        per_metric("threshold"),
    )
    federations = per_metric("select_federated")
    merges = (
        per_metric("mul_class_merge_type")
        if method == "iv_filter"
        else ["average"] * len(metric_list)
    )
    hosts = section.raw("host_thresholds")
    result = []
    for k, metric in enumerate(metric_list):
        if types[k] not in FILTER_TYPES:
            raise section.error(
                "filter_type", types[k], f"must be one of {', '.join(FILTER_TYPES)}"
            )
        if not isinstance(highs[k], bool) or not isinstance(federations[k], bool):
            raise section.error("take_high", highs[k], "must be true or false")
        if not isinstance(thresholds[k], int | float) or isinstance(thresholds[k], bool):
            raise section.error("threshold", thresholds[k], "must be a number")
        if fixed_metric is not None and metric != fixed_metric:
            raise section.error("metrics", metrics, f"must be {fixed_metric} for {method}")
        if method == "iv_filter" and not highs[k]:
            raise section.error(
                "take_high", highs[k], "must be true (iv, taken high) for iv_filter"
            )
        if method == "psi_filter" and highs[k]:
            raise section.error(
                "take_high", highs[k], "must be false (psi, taken low) for psi_filter"
            )
        if merges[k] not in ("average", "max", "min"):
            raise section.error("mul_class_merge_type", merges[k], "must be average, max or min")
        name = f"{metric}_{types[k]}" if method != "statistic_filter" else metric
        host_k = (
            hosts[k]
            if isinstance(hosts, list)
            and hosts
            and isinstance(hosts[0], list | type(None))
            and len(hosts) == len(metric_list)
            else hosts
        )
        result.append(
            Filter(
                method,
                name,
                metric,
                types[k],
                highs[k],
                float(thresholds[k]),
                _host_thresholds(section, host_k),
                method == "iv_filter" and federations[k],
                merges[k],
            )
        )
    return result


def _unlisted(section: ParamReader, name: str) -> float:
    """FATE's v1 confs give some thresholds as one-element lists."""
    value = section.raw(name)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise section.error(name, value, "must be a number")
    return float(value)


def _host_thresholds(section: ParamReader, value: Any) -> list[float | None] | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    if isinstance(value, list):
        flat: list[float | None] = []
        for v in value:
            if isinstance(v, list) and len(v) == 1:
                v = v[0]
            if v is not None and (not isinstance(v, int | float) or isinstance(v, bool)):
                raise section.error("host_thresholds", value, "must be numbers, one per host")
            flat.append(None if v is None else float(v))
        return flat
    raise section.error("host_thresholds", value, "must be numbers, one per host")


# --- what the filters read ------------------------------------------------------------------


@dataclass(frozen=True)
class Pearson:
    """What a HeteroPearson model gives the correlation filter: the party's own columns and
    their correlations, and, crossed with one host, that host's anonymous columns."""

    names: list[str]
    local_corr: np.ndarray[Any, Any]
    host: int | None = None
    host_names: list[str] = field(default_factory=list)
    #: The guest's columns (rows) by the host's (columns).
    corr: np.ndarray[Any, Any] | None = None


@dataclass(frozen=True)
class Metrics:
    """The values the isometric models give: {metric: {column: value}}; the binning model's IV
    per class, and the hosts' IV (guest only) per host party id: {party: {anonymous: [iv per class]}}.
    `sources` names the model (FATE's model_name) each metric came from."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    iv: dict[str, list[float]] = field(default_factory=dict)
    host_iv: dict[int, dict[str, list[float]]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    pearson: list[Pearson] = field(default_factory=list)

    @classmethod
    def of(cls, models: Mapping[str, Mapping[str, Any]], local: PartyRole) -> Metrics:
        metrics = cls()
        for key, model in models.items():
            param = model.get("param", {})
            name = param.get("model_name") if isinstance(param, dict) else None
            if name == binning.MODEL_NAME:
                multi = param["multi_class_result"]
                for result in multi["results"]:
                    for column, value in result["binning_result"].items():
                        metrics.iv.setdefault(column, []).append(float(value["iv"]))
                for result in multi["host_results"]:
                    party = metrics.host_iv.setdefault(int(result["party_id"]), {})
                    for column, value in result["binning_result"].items():
                        party.setdefault(column, []).append(float(value["iv"]))
            elif name == "statistic_model":
                for result in param["self_values"]["results"]:
                    metrics.values[result["value_name"]] = {
                        c: _number(v)
                        for c, v in zip(result["col_names"], result["values"], strict=True)
                    }
            elif name == "psi":
                metrics.values["psi"] = {c: _number(v) for c, v in param["total_score"].items()}
            elif name == "HeteroPearson":
                metrics.pearson.append(_pearson(param, local))
                if param.get("local_vif"):
                    names = metrics.pearson[-1].names
                    metrics.values["vif"] = {
                        c: _number(v) for c, v in zip(names, param["local_vif"], strict=True)
                    }
                    metrics.sources["vif"] = name
            elif isinstance(name, str) and name.startswith(tuple(SBT_FILTERS.values())):
                # The party's own columns: FATE's guest skips the hosts' importances it holds.
                importance = dict.fromkeys(param["feature_name_fid_mapping"].values(), 0.0)
                for record in param["feature_importances"]:
                    if str(record["sitename"]).split(":")[0] == local.role:
                        fid = str(record["fid"])
                        importance[param["feature_name_fid_mapping"][fid]] = float(
                            record["importance"]
                        )
                metrics.values["feature_importance"] = importance
                metrics.sources["feature_importance"] = name
            else:
                raise InvalidArgument(
                    f"{MODULE} cannot read the isometric model {key}: it is not a binning, "
                    "statistics, PSI, HeteroPearson or SecureBoost model"
                )
        return metrics


def _pearson(param: Mapping[str, Any], local: PartyRole) -> Pearson:
    """The party's view of a HeteroPearson model: its own columns' correlations, and (crossed)
    the host's anonymous columns and the guest-by-host matrix."""
    own = f"({local.role},{local.party_id})"
    parties = [str(p) for p in param["parties"]]
    all_names = [list(entry["names"]) for entry in param["all_names"]]
    names = all_names[parties.index(own)] if own in parties else list(param["names"])
    size = len(names)
    local_corr = np.asarray(param["local_corr"], dtype=np.float64).reshape(size, size)
    if len(parties) != 2:
        return Pearson(names, local_corr)
    shape = tuple(int(v) for v in param["shapes"])
    host = int(parties[1].strip("()").split(",")[1])
    corr = np.asarray(param["corr"], dtype=np.float64).reshape(shape)
    return Pearson(names, local_corr, host, all_names[1], corr)


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _merge(values: list[float], how: str) -> float:
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    return sum(values) / len(values)


# --- selecting --------------------------------------------------------------------------------


@dataclass
class Step:
    """One filter's outcome at one party: the columns it looked at, their values, those kept."""

    name: str
    selected: list[str]
    values: dict[str, float]
    left: list[str]
    host_values: list[dict[str, float]] = field(default_factory=list)
    host_selected: list[list[str]] = field(default_factory=list)
    host_left: list[list[str]] = field(default_factory=list)


@dataclass
class Selection:
    header: list[str]
    selected: list[str]  # the columns the filters work on
    steps: list[Step]
    filters: list[Filter]

    @property
    def left(self) -> list[str]:
        kept = set(self.steps[-1].left if self.steps else self.selected) | (
            set(self.header) - set(self.selected)
        )
        return [name for name in self.header if name in kept]


def _selected(
    params: SelectionParams, header: Sequence[str], anonymous: Sequence[str]
) -> list[str]:
    if params.select_col_indexes is None:
        return list(header)
    chosen = [header[i] for i in params.select_col_indexes if i < len(header)]
    names = params.select_names
    if params.use_anonymous:
        by_anonymous = dict(zip(anonymous, header, strict=True))
        names = [by_anonymous[n] for n in names if n in by_anonymous]
    chosen += [n for n in names if n in header]
    return list(dict.fromkeys(chosen))


def _keep(
    values: Mapping[str, float],
    columns: Sequence[str],
    flt: Filter,
    thresholds: Mapping[str, float] | None = None,
) -> list[str]:
    """FATE's IsoModelFilter: by threshold (>= when taking high, <= else), top k, or the top
    ceil(percentile * n)."""
    if flt.filter_type == "threshold":
        limits = thresholds or {}
        return [
            c
            for c in columns
            if (
                values[c] >= limits.get(c, flt.threshold)
                if flt.take_high
                else values[c] <= limits.get(c, flt.threshold)
            )
        ]
    k = flt.threshold if flt.filter_type == "top_k" else math.ceil(flt.threshold * len(columns))
    order = np.argsort([values[c] for c in columns], kind="stable")
    ranked = order[::-1] if flt.take_high else order
    return [columns[i] for i in ranked[: int(k)]]


def _keep_one(
    left: list[str], values: Mapping[str, float], columns: Sequence[str], high: bool
) -> list[str]:
    if left or not columns:
        return left
    if not values:
        return [columns[0]]
    best = sorted(values.items(), key=lambda item: item[1], reverse=high)[0][0]
    return [best]


def _local_step(flt: Filter, selected: list[str], data: Dataset, metrics: Metrics) -> Step:
    if flt.method == "manually":
        m = flt.manual
        out_names = set(m["filter_out_names"] or [])
        out_indexes = set(m["filter_out_indexes"] or [])
        if m["left_col_indexes"] is not None or m["left_col_names"] is not None:
            keep = {data.header[i] for i in m["left_col_indexes"] or [] if i < len(data.header)}
            keep |= set(m["left_col_names"] or [])
            out_names = set(data.header) - keep
        left = [
            c for c in selected if c not in out_names and data.header.index(c) not in out_indexes
        ]
        return Step(flt.name, selected, {}, _keep_one(left, {}, selected, True))
    if flt.method == "percentage_value":
        rows = len(data.ids)
        limit = math.ceil(rows * flt.upper_pct)
        values: dict[str, float] = {}
        left = []
        for c in selected:
            column = np.round(data.features[:, data.header.index(c)], 8)
            _, counts = np.unique(column, return_counts=True)
            crowded = bool(len(counts)) and int(counts.max()) > limit
            values[c] = float(crowded)
            if not crowded:
                left.append(c)
        return Step(flt.name, selected, values, _keep_one(left, {}, selected, True))
    if flt.metric == "iv":
        values = {c: _merge(metrics.iv[c], flt.merge) for c in selected if c in metrics.iv}
    else:
        wanted = SBT_FILTERS.get(flt.method)
        if wanted and not metrics.sources.get(flt.metric, "").startswith(wanted):
            raise InvalidArgument(
                f"{MODULE}: filter {flt.method} reads the feature importance of a {wanted} "
                "model: give one as isometric_model",
                metric=flt.metric,
            )
        if flt.metric not in metrics.values:
            raise InvalidArgument(
                f"{MODULE}: filter {flt.method} needs {flt.metric!r}, which no isometric model "
                "gives (feed it a DataStatistics model that computes it, or a PSI model)",
                metric=flt.metric,
            )
        values = {
            c: metrics.values[flt.metric][c] for c in selected if c in metrics.values[flt.metric]
        }
    missing = [c for c in selected if c not in values]
    if missing:
        raise InvalidArgument(
            f"{MODULE}: the isometric model has no {flt.metric} of {', '.join(missing)}",
            metric=flt.metric,
        )
    left = _keep(values, selected, flt)
    return Step(flt.name, selected, values, _keep_one(left, values, selected, flt.take_high))


def fit_guest(
    transport: Transport,
    data: Dataset,
    params: SelectionParams,
    parties: Participants,
    models: Mapping[str, Mapping[str, Any]],
    *,
    local: PartyRole,
    timeout: float = GET_TIMEOUT_S,
) -> Selection:
    metrics = Metrics.of(models, local)
    anonymous = _anonymous(local, data.header)
    selected = _selected(params, data.header, anonymous)
    steps: list[Step] = []
    current = selected
    hosts = list(parties.hosts)
    for index, flt in enumerate(params.filters):
        tag = f"fit.{index}"
        host_cols = _host_columns_offered(transport, hosts, tag, timeout) if flt.federated else []
        if flt.method == "correlation_filter":
            step = _correlation_step(flt, current, metrics, hosts, host_cols)
        elif flt.federated:
            step = _iv_step(flt, current, metrics, hosts, host_cols)
        else:
            step = _local_step(flt, current, data, metrics)
        if flt.federated:
            for host, host_left in zip(hosts, step.host_left, strict=True):
                transport.remote(host_left, RESULT_LEFT_COLS, tag, [host])
        steps.append(step)
        current = step.left
    return Selection(data.header, selected, steps, params.filters)


def _host_columns_offered(
    transport: Transport, hosts: list[PartyRole], tag: str, timeout: float
) -> list[list[str]]:
    """The anonymous names of the columns each host still selects."""
    offered: list[list[str]] = []
    for host, cols in zip(hosts, transport.get(SELECT_COLS, tag, hosts, timeout), strict=True):
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise FederatedError(f"host {host.party_id} sent no column names")
        offered.append(cols)
    return offered


def _iv_step(
    flt: Filter,
    current: list[str],
    metrics: Metrics,
    hosts: list[PartyRole],
    host_cols: list[list[str]],
) -> Step:
    """A federated IV filter: every party's columns ranked or thresholded together."""
    values = {c: _merge(metrics.iv[c], flt.merge) for c in current if c in metrics.iv}
    columns: list[tuple[PartyRole | None, str]] = [(None, c) for c in current]
    thresholds: dict[str, float] = {}
    keyed = {f"guest:{c}": v for c, v in values.items()}
    for k, (host, cols) in enumerate(zip(hosts, host_cols, strict=True)):
        host_iv = metrics.host_iv.get(host.party_id, {})
        unknown = [c for c in cols if c not in host_iv]
        if unknown:
            raise InvalidArgument(
                f"{MODULE}: the binning model has no IV of host {host.party_id}'s "
                f"{', '.join(unknown)}"
            )
        columns += [(host, c) for c in cols]
        for c in cols:
            keyed[f"{host.party_id}:{c}"] = _merge(host_iv[c], flt.merge)
            if flt.host_thresholds and k < len(flt.host_thresholds):
                threshold = flt.host_thresholds[k]
                if threshold is not None:
                    thresholds[f"{host.party_id}:{c}"] = threshold
    keys = [f"guest:{c}" if h is None else f"{h.party_id}:{c}" for h, c in columns]
    kept = set(_keep(keyed, keys, flt, thresholds))
    left = _keep_one([c for c in current if f"guest:{c}" in kept], values, current, True)
    step = Step(flt.name, current, values, left)
    for host, cols in zip(hosts, host_cols, strict=True):
        host_values = {c: keyed[f"{host.party_id}:{c}"] for c in cols}
        host_left = _keep_one(
            [c for c in cols if f"{host.party_id}:{c}" in kept], host_values, cols, True
        )
        step.host_values.append(host_values)
        step.host_selected.append(list(cols))
        step.host_left.append(host_left)
    return step


def _correlation_step(
    flt: Filter,
    current: list[str],
    metrics: Metrics,
    hosts: list[PartyRole],
    host_cols: list[list[str]],
) -> Step:
    """FATE's CorrelationFilter at the guest (see the module's docstring). A dropped column's
    value is its correlation with the column that dropped it; a kept one's 0."""
    if len(metrics.pearson) != 1:
        raise InvalidArgument(
            f"{MODULE}: correlation_filter needs one HeteroPearson model as isometric_model, "
            f"not {len(metrics.pearson)}"
        )
    (pearson,) = metrics.pearson
    crossed: tuple[PartyRole, list[str]] | None = None
    if flt.federated:
        if pearson.corr is None or pearson.host is None:
            raise InvalidArgument(
                f"{MODULE}: correlation_filter with select_federated needs a HeteroPearson "
                "model with cross_parties"
            )
        found = [k for k, host in enumerate(hosts) if host.party_id == pearson.host]
        if not found:
            raise InvalidArgument(f"{MODULE}: the Pearson model's host {pearson.host} is not here")
        crossed = (hosts[found[0]], host_cols[found[0]])
    unknown = [c for c in current if c not in metrics.iv or c not in pearson.names]
    if unknown:
        raise InvalidArgument(
            f"{MODULE}: correlation_filter has no IV or correlation of {', '.join(unknown)}"
        )
    ranked: list[tuple[str, str]] = [("guest", c) for c in current]
    ivs = [_merge(metrics.iv[c], "average") for c in current]
    if crossed is not None:
        host, cols = crossed
        host_iv = metrics.host_iv.get(host.party_id, {})
        unknown = [c for c in cols if c not in host_iv or c not in pearson.host_names]
        if unknown:
            raise InvalidArgument(
                f"{MODULE}: correlation_filter has no IV or correlation of host "
                f"{host.party_id}'s {', '.join(unknown)}"
            )
        ranked += [("host", c) for c in cols]
        ivs += [_merge(host_iv[c], "average") for c in cols]
    dropped: dict[str, float] = {}
    host_dropped: dict[str, float] = {}

    def drop(correlations: Any, names: list[str], into: dict[str, float], skip: str) -> None:
        for name, value in zip(names, correlations.tolist(), strict=True):
            if abs(value) > flt.threshold and name != skip and name not in into:
                into[name] = float(value)

    for k in np.argsort(ivs, kind="stable")[::-1].tolist():
        party, name = ranked[k]
        if name in dropped:
            continue
        if party == "guest":
            row = pearson.names.index(name)
            drop(pearson.local_corr[row, :], pearson.names, dropped, name)
            if crossed is not None and pearson.corr is not None:
                drop(pearson.corr[row, :], pearson.host_names, host_dropped, "")
        elif pearson.corr is not None:
            column = pearson.host_names.index(name)
            drop(pearson.corr[:, column], pearson.names, dropped, "")
    values = {c: dropped.get(c, 0.0) for c in current}
    left = _keep_one([c for c in current if c not in dropped], values, current, False)
    step = Step(flt.name, current, values, left)
    for cols in host_cols:
        host_values = {c: host_dropped.get(c, 0.0) for c in cols}
        kept = [c for c in cols if c not in host_dropped]
        step.host_values.append(host_values)
        step.host_selected.append(list(cols))
        step.host_left.append(_keep_one(kept, host_values, cols, False))
    return step


def fit_host(
    transport: Transport,
    data: Dataset,
    params: SelectionParams,
    parties: Participants,
    models: Mapping[str, Mapping[str, Any]],
    *,
    local: PartyRole,
    timeout: float = GET_TIMEOUT_S,
) -> Selection:
    metrics = Metrics.of(
        {
            k: m
            for k, m in models.items()
            if m.get("param", {}).get("model_name") != binning.MODEL_NAME
        },
        local,
    )
    anonymous = _anonymous(local, data.header)
    by_anonymous = dict(zip(anonymous, data.header, strict=True))
    selected = _selected(params, data.header, anonymous)
    steps: list[Step] = []
    current = selected
    for index, flt in enumerate(params.filters):
        if flt.federated:
            tag = f"fit.{index}"
            names = [anonymous[data.header.index(c)] for c in current]
            transport.remote(names, SELECT_COLS, tag, [parties.guest])
            [left] = transport.get(RESULT_LEFT_COLS, tag, [parties.guest], timeout)
            if not isinstance(left, list) or not set(left) <= set(names):
                raise FederatedError("the guest sent back columns this host did not offer")
            kept = [by_anonymous[c] for c in left]
            step = Step(flt.name, current, {}, [c for c in current if c in kept])
        elif flt.metric in ("iv", "correlation"):
            step = Step(flt.name, current, {}, list(current))  # the guest selects alone
        else:
            step = _local_step(flt, current, data, metrics)
        steps.append(step)
        current = step.left
    return Selection(data.header, selected, steps, params.filters)


def _anonymous(local: PartyRole, header: Sequence[str]) -> list[str]:
    return [binning.anonymous_name(local.role, local.party_id, i) for i in range(len(header))]


# --- the model --------------------------------------------------------------------------------


def model_of(selection: Selection, local: PartyRole, parties: Participants) -> dict[str, Any]:
    """FATE's FeatureSelectionMeta and FeatureSelectionParam, as JSON."""
    anonymous = _anonymous(local, selection.header)
    results = []
    for step in selection.steps:
        results.append(
            {
                "feature_values": step.values,
                "host_feature_values": [{"feature_values": v} for v in step.host_values],
                "left_cols": {
                    "original_cols": step.selected,
                    "left_cols": {c: c in step.left for c in step.selected},
                },
                "host_left_cols": [
                    {"original_cols": cols, "left_cols": {c: c in left for c in cols}}
                    for cols, left in zip(step.host_selected, step.host_left, strict=True)
                ],
                "filter_name": step.name,
            }
        )
    left = selection.left
    host_col_names = (
        [
            {"col_names": step_cols, "party_id": str(host.party_id)}
            for host, step_cols in zip(parties.hosts, _host_columns(selection), strict=False)
        ]
        if local.role == "guest"
        else [{"col_names": anonymous, "party_id": str(local.party_id)}]
    )
    return {
        "meta": {
            "filter_methods": [f.method for f in selection.filters],
            "cols": selection.selected,
            "need_run": True,
            "filter_metas": [f.meta() for f in selection.filters],
        },
        "param": {
            "results": results,
            "final_left_cols": {
                "original_cols": selection.selected,
                "left_cols": dict.fromkeys(left, True),
            },
            "col_names": selection.header,
            "host_col_names": host_col_names,
            "header": selection.header,
            "col_name_to_anonym_dict": dict(zip(selection.header, anonymous, strict=True)),
        },
    }


def _host_columns(selection: Selection) -> list[list[str]]:
    for step in selection.steps:
        if step.host_selected:
            return step.host_selected
    return []


def summary_of(selection: Selection) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for step in selection.steps:
        summary[step.name] = {
            "last_col_nums": len(step.selected),
            "left_col_nums": len(step.left),
            "left_col_names": step.left,
        }
    summary["all"] = {
        "last_col_nums": len(selection.selected),
        "left_col_nums": len(selection.left),
        "left_col_names": selection.left,
    }
    return summary


def apply(model: Mapping[str, Any], data: Dataset) -> Dataset:
    """The trained selection's columns of new data, in the data's order."""
    try:
        header = list(model["param"]["header"])
        left = set(model["param"]["final_left_cols"]["left_cols"])
    except (KeyError, TypeError):
        raise InvalidArgument(f"the input model is not a {MODULE} model") from None
    if data.header != header:
        raise InvalidArgument(
            f"the data's features {data.header} are not the selection model's {header}"
        )
    return keep_columns(data, [c for c in header if c in left])


def keep_columns(data: Dataset, names: Sequence[str]) -> Dataset:
    indexes = [data.header.index(n) for n in names]
    return replace(data, features=data.features[:, indexes], header=list(names))


class HeteroFeatureSelection:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"data"}),
        validate=lambda params: (validate_parameters(params), params)[1],
    )

    def run(self, context: TaskContext) -> None:
        (table,) = context.input_tables("data") or [None]
        if table is None:
            raise InvalidArgument(f"{context.task.component_name} needs one data input")
        data = Dataset.from_table(table)
        trained = next(iter(context.input_models().values()), None)
        if trained is not None:
            context.save_output_data(apply(trained, data).to_table())
            return
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        models = context.isometric_models()
        fit = fit_guest if context.task.role == "guest" else fit_host
        selection = fit(context.federation, data, params, parties, models, local=context.local)
        context.log.info("kept %s of %s columns", len(selection.left), len(data.header))
        context.save_model(model_of(selection, context.local, parties))
        context.save_summary(summary_of(selection))
        context.save_output_data(keep_columns(data, selection.left).to_table())
