"""What FATE's binning modules share: their parameters, the columns they bin, split points
(quantile, bucket, category, optimal), bin indexes, WOE and IV from label counts, the transform
of a dataset (bin index or WOE), and the model as FATE writes it.

    params = read_parameters(component_parameters, module="HeteroFeatureBinning")
    columns = Columns.of(params, header)
    points = split_points(params, features, columns, labels)      # {name: [split points]}
    bins = bin_indexes(features[:, j], points[name])              # NaN -> len(points): missing
    counts = label_counts(bins, onehot)                           # bins x labels
    result = woe_iv(counts[:, 0], counts.sum(1) - counts[:, 0], adjustment_factor)

Quantiles: FATE's quantile binning asks a Greenwald-Khanna summary for the values at ranks
p * N, p = 1/bin_num, 2/bin_num, ..., 1, within `error` (`floor((p - 2 error) N) <= rank <=
ceil((p + 2 error) N)`). We hold each party's column whole, so we answer the same query from the
sorted values, with FATE's rule (the first value whose rank reaches ceil(p N) - ceil(error N)):
it is what FATE's summary answers while it is exact (fewer rows than 1 / (2 error)), and within
FATE's bound always. Split points are the distinct answers; the last is the column's maximum.

A value x falls in bin `bisect_left(split_points[:-1], x)`, so a bin holds the values up to its
split point and the last bin everything above; a missing value (NaN) in bin len(split_points).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.errors import InvalidArgument

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

#: FATE's consts: G_BIN_NUM, DEFAULT_COMPRESS_THRESHOLD, DEFAULT_HEAD_SIZE, DEFAULT_RELATIVE_ERROR.
BIN_NUM, COMPRESS_THRES, HEAD_SIZE, ERROR = 10, 10000, 10000, 1e-4
QUANTILE, BUCKET, OPTIMAL = "quantile", "bucket", "optimal"
VIRTUAL_SUMMARY, RECURSIVE_QUERY = "virtual_summary", "recursive_query"
#: FATE's consts.BINNING_MODEL: how a selection recognises a binning model among its inputs.
MODEL_NAME = "binning_model"
OPTIMAL_METRICS = ("iv", "gini", "chi_square", "ks")

#: FeatureBinningParam (FATE 1.5), the part every binning module has.
COMMON_DEFAULTS: dict[str, Any] = {
    "method": QUANTILE,
    "compress_thres": COMPRESS_THRES,
    "head_size": HEAD_SIZE,
    "error": ERROR,
    "bin_num": BIN_NUM,
    "bin_indexes": -1,
    "bin_names": None,
    "adjustment_factor": 0.5,
    "transform_param": {"transform_cols": -1, "transform_names": None, "transform_type": "bin_num"},
    "local_only": False,
    "category_indexes": None,
    "category_names": None,
    "skip_static": False,
}
OPTIMAL_DEFAULTS: dict[str, Any] = {
    "metric_method": "iv",
    "min_bin_pct": 0.05,
    "max_bin_pct": 1.0,
    "init_bin_nums": 1000,
    "mixture": True,
    "init_bucket_method": QUANTILE,
}


@dataclass(frozen=True)
class Optimal:
    metric_method: str = "iv"
    min_bin_pct: float = 0.05
    max_bin_pct: float = 1.0
    init_bin_nums: int = 1000
    mixture: bool = True
    init_bucket_method: str = QUANTILE


@dataclass(frozen=True)
class BinningParams:
    """A binning module's parameters, checked and normalised."""

    method: str
    error: float
    bin_num: int
    # Index lists are None for FATE's -1 (every column); FATE's null is an empty list.
    bin_indexes: list[int] | None
    bin_names: list[str]
    category_indexes: list[int] | None
    category_names: list[str]
    adjustment_factor: float
    transform_cols: list[int] | None  # None: the binned columns
    transform_names: list[str]
    transform_type: str | None
    local_only: bool
    skip_static: bool
    compress_thres: int = COMPRESS_THRES
    head_size: int = HEAD_SIZE
    optimal: Optimal = Optimal()
    key_length: int = 1024
    #: Split points given by the conf (FATE 1.11's split_points_by_index / _by_col_name).
    split_points_by_index: dict[int, list[float]] | None = None
    split_points_by_col_name: dict[str, list[float]] | None = None
    #: HomoFeatureBinning's.
    sample_bins: int = 100
    max_iter: int = 100

    @property
    def manual(self) -> bool:
        return self.split_points_by_index is not None or self.split_points_by_col_name is not None


def read_common(reader: ParamReader, methods: Sequence[str]) -> dict[str, Any]:
    """The FeatureBinningParam part of a binning module's parameters (FATE's `check`)."""
    transform = reader.section("transform_param")
    transform_type = transform.raw("transform_type")
    if transform_type is not None:
        transform_type = transform.choice("transform_type", ("bin_num", "woe"))
    bin_indexes = reader.raw("bin_indexes")
    category_indexes = reader.raw("category_indexes")
    transform_cols = transform.raw("transform_cols")
    params = {
        "method": reader.choice("method", methods),
        "compress_thres": reader.integer("compress_thres", minimum=1),
        "head_size": reader.integer("head_size", minimum=1),
        "error": reader.number("error", minimum=0, maximum=1),
        "bin_num": reader.integer("bin_num", minimum=1),
        "bin_indexes": None if bin_indexes == -1 else _indexes(reader, "bin_indexes"),
        "bin_names": _names(reader, "bin_names"),
        "category_indexes": None
        if category_indexes == -1
        else _indexes(reader, "category_indexes"),
        "category_names": _names(reader, "category_names"),
        "adjustment_factor": reader.number("adjustment_factor", above=0),
        "transform_cols": None if transform_cols == -1 else _indexes(transform, "transform_cols"),
        "transform_names": _names(transform, "transform_names"),
        "transform_type": transform_type,
        "local_only": reader.boolean("local_only"),
        "skip_static": reader.boolean("skip_static"),
    }
    if params["adjustment_factor"] >= 1:
        raise reader.error("adjustment_factor", params["adjustment_factor"], "must be below 1")
    if params["error"] >= 1:
        raise reader.error("error", params["error"], "must be below 1")
    if params["skip_static"] and params["transform_type"] == "woe":
        raise transform.error("transform_type", "woe", "needs skip_static false (WOE is a static)")
    return params


def read_optimal(reader: ParamReader) -> Optimal:
    section = reader.section("optimal_binning_param")
    metric = section.raw("metric_method")
    if isinstance(metric, str) and metric.lower() == "chi-square":
        metric = "chi_square"
    if metric not in OPTIMAL_METRICS and not (
        isinstance(metric, str) and metric.lower() in OPTIMAL_METRICS
    ):
        raise section.error("metric_method", metric, f"must be one of {', '.join(OPTIMAL_METRICS)}")
    optimal = Optimal(
        metric_method=str(metric).lower(),
        min_bin_pct=section.number("min_bin_pct", minimum=0, maximum=1),
        max_bin_pct=section.number("max_bin_pct", minimum=0, maximum=1),
        init_bin_nums=section.integer("init_bin_nums", minimum=1),
        mixture=section.boolean("mixture"),
        init_bucket_method=section.choice("init_bucket_method", (QUANTILE, BUCKET)),
    )
    if optimal.min_bin_pct > optimal.max_bin_pct:
        raise section.error("min_bin_pct", optimal.min_bin_pct, "must not exceed max_bin_pct")
    return optimal


def _indexes(reader: ParamReader, name: str) -> list[int]:
    value = reader.raw(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise reader.error(name, value, "must be -1 or a list of column indexes")
    return list(value)


def _names(reader: ParamReader, name: str) -> list[str]:
    value = reader.raw(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise reader.error(name, value, "must be a list of column names")
    return list(value)


# --- columns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """Which columns of a header are binned, taken as categories, and transformed (FATE's
    BinInnerParam): names in FATE's order, indexes into the header beside them."""

    header: list[str]
    bin_names: list[str]
    category_names: list[str]
    transform_names: list[str]

    @classmethod
    def of(cls, params: BinningParams, header: Sequence[str]) -> Columns:
        header = list(header)
        position = {name: index for index, name in enumerate(header)}

        def picked(indexes: list[int] | None, names: list[str], what: str) -> list[str]:
            if indexes is None:
                return list(header)
            chosen: list[str] = []
            for index in indexes:
                if index >= len(header):
                    raise InvalidArgument(
                        f"{what} {index} is beyond the {len(header)} columns of the data",
                        parameter=what,
                    )
                chosen.append(header[index])
            chosen += [name for name in names if name in position]
            return list(dict.fromkeys(chosen))

        bins = picked(params.bin_indexes, params.bin_names, "bin_indexes")
        categories = picked(params.category_indexes, params.category_names, "category_indexes")
        bins = [name for name in bins if name not in set(categories)]
        if params.transform_cols is None:
            transform = bins + categories
        else:
            transform = []
            for index in params.transform_cols:
                if index >= len(header):
                    raise InvalidArgument(
                        f"transform_param.transform_cols {index} is beyond the {len(header)} "
                        "columns of the data",
                        parameter="transform_param.transform_cols",
                    )
                transform.append(header[index])
            for name in params.transform_names:
                if name not in position:
                    raise InvalidArgument(
                        f"transform_param.transform_names names {name!r}, not a column",
                        parameter="transform_param.transform_names",
                    )
                transform.append(name)
            transform = list(dict.fromkeys(transform))
            unbinned = [name for name in transform if name not in set(bins + categories)]
            if unbinned:
                raise InvalidArgument(
                    f"transform_param names columns that are not binned: {', '.join(unbinned)}",
                    parameter="transform_param.transform_cols",
                )
        return cls(header, bins, categories, transform)

    @property
    def binned(self) -> list[str]:
        """Every column with split points (and IV): FATE's `get_need_cal_iv_cols_map` order."""
        return self.bin_names + self.category_names

    def index(self, name: str) -> int:
        return self.header.index(name)


def anonymous_name(role: str, party_id: int, index: int) -> str:
    """FATE 1.11's anonymous column name (`host_10000_x3`): what other parties see of it."""
    return f"{role}_{party_id}_x{index}"


# --- split points ---------------------------------------------------------------------------


def quantile_points(values: Floats, bin_num: int, error: float) -> list[float]:
    """Split points at ranks p N, p = 1/bin_num ... 1, by FATE's query (module docstring)."""
    present = np.sort(values[~np.isnan(values)])
    if len(present) == 0:
        return [0.0]  # FATE's summary answers 0 when it saw nothing
    rates = [i / bin_num for i in range(1, bin_num)] + [1.0]
    return [float(v) for v in np.unique([quantile(present, rate, error) for rate in rates])]


def quantile(ordered: Floats, rate: float, error: float) -> float:
    """FATE's answer to the quantile `rate` of these sorted values (`quantile_position`)."""
    count = len(ordered)
    if count == 0:
        return 0.0
    return float(ordered[quantile_position(count, rate, error)])


def quantile_position(count: int, rate: float, error: float) -> int:
    """Where FATE's summary answers the quantile `rate` of `count` sorted values: the first
    value whose rank, as it counts them (from the second value, as rank 1), reaches
    ceil(rate N) - ceil(error N); the minimum and maximum within `error` of the ends."""
    if rate <= error:
        return 0
    if rate >= 1 - error:
        return count - 1
    position = max(1, math.ceil(rate * count) - math.ceil(error * count))
    return min(position, count - 1)


def bucket_points(values: Floats, bin_num: int) -> list[float]:
    """Equal-width bins between the column's minimum and maximum (FATE's bucket binning)."""
    present = values[~np.isnan(values)]
    if len(present) == 0:
        return [0.0] * bin_num
    low, high = float(present.min()), float(present.max())
    width = (high - low) / bin_num
    return [low + (k + 1) * width for k in range(bin_num - 1)] + [high]


def category_points(values: Floats) -> list[float]:
    """A category column's distinct values: each its own bin."""
    return [float(v) for v in np.unique(values[~np.isnan(values)])]


def bin_indexes(values: Floats, points: Sequence[float]) -> Ints:
    """FATE's `get_bin_num` for a whole column: bisect_left on all but the last split point;
    NaN (missing) goes to bin len(points)."""
    index: Ints = np.searchsorted(np.asarray(points[:-1], dtype=np.float64), values, side="left")
    index = index.astype(np.int64)
    index[np.isnan(values)] = len(points)
    return index


def label_counts(bins: Ints, onehot: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Rows per (bin, label): FATE's per-bin label sums, up to the last bin that has a row."""
    width = int(bins.max()) + 1 if len(bins) else 0
    counts = np.zeros((width, onehot.shape[1]), dtype=np.int64)
    np.add.at(counts, bins, onehot)
    return counts


def onehot_labels(labels: Floats, classes: Sequence[float]) -> npt.NDArray[np.int64]:
    """Rows x classes, 1 where the row's label is that class (FATE's `convert_label`)."""
    matrix: npt.NDArray[np.int64] = (
        labels[:, None] == np.asarray(classes, dtype=np.float64)[None, :]
    ).astype(np.int64)
    return matrix


def label_classes(labels: Floats) -> list[float]:
    """The labels in FATE's order (sorted, then reversed: label 1 is the event of 0/1 labels)."""
    return sorted({float(v) for v in np.unique(labels)}, reverse=True)


# --- WOE and IV -----------------------------------------------------------------------------


def woe_iv(
    event: Sequence[int] | Ints, non_event: Sequence[int] | Ints, adjustment_factor: float
) -> dict[str, Any]:
    """FATE's `woe_1d`: per-bin rates, WOE and IV of one column, as an IVParam dict (less the
    split points). A bin with no event or no non-event gets `adjustment_factor` added to both."""
    events = np.asarray(event, dtype=np.float64)
    non_events = np.asarray(non_event, dtype=np.float64)
    event_total = events.sum() or 1.0
    non_event_total = non_events.sum() or 1.0
    adjust = (events == 0) | (non_events == 0)
    event_rate = np.where(adjust, events + adjustment_factor, events) / event_total
    non_event_rate = np.where(adjust, non_events + adjustment_factor, non_events) / non_event_total
    woe = np.log(event_rate / non_event_rate)
    iv = (event_rate - non_event_rate) * woe
    return {
        "woe_array": woe.tolist(),
        "iv_array": iv.tolist(),
        "event_count_array": [int(v) for v in events],
        "non_event_count_array": [int(v) for v in non_events],
        "event_rate_array": event_rate.tolist(),
        "non_event_rate_array": non_event_rate.tolist(),
        "iv": float(iv.sum()),
        "is_woe_monotonic": _monotonic(woe.tolist()),
    }


def results_from_counts(
    counts: Mapping[str, npt.NDArray[np.int64]], classes: Sequence[float], adjustment: float
) -> list[dict[str, dict[str, Any]]]:
    """One {column: IVParam} per class of a multi-class label (FATE 1.11: that class against the
    others), or a single one for two classes (the first class, label 1, the event)."""
    per_class = [0] if len(classes) <= 2 else list(range(len(classes)))
    results = []
    for k in per_class:
        results.append(
            {
                name: woe_iv(table[:, k], table.sum(axis=1) - table[:, k], adjustment)
                for name, table in counts.items()
            }
        )
    return results


def _monotonic(values: Sequence[float]) -> bool:
    pairs = list(itertools.pairwise(values))
    return all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs)


def iv_param(
    result: Mapping[str, Any] | None,
    points: Sequence[float] | None,
    *,
    missing: bool = False,
    bin_count: int | None = None,
) -> dict[str, Any]:
    """FATE's IVParam of one column: its statics (if any) and its split points (if shown)."""
    points = list(points or [])
    param: dict[str, Any] = {
        "woe_array": [],
        "iv_array": [],
        "event_count_array": [],
        "non_event_count_array": [],
        "event_rate_array": [],
        "non_event_rate_array": [],
        "iv": 0.0,
        "is_woe_monotonic": True,
        "optimal_metric_array": [],
        **(result or {}),
    }
    param["split_points"] = points
    if bin_count is None:
        bin_count = len(points) + (1 if missing else 0) if points else len(param["iv_array"])
    param["bin_nums"] = bin_count
    param["bin_anonymous"] = [f"bin_{i}" for i in range(len(points) or bin_count)]
    return param


# --- optimal binning ------------------------------------------------------------------------


def optimal_groups(
    event: Sequence[int] | Ints,
    non_event: Sequence[int] | Ints,
    optimal: Optimal,
    max_bin: int,
    adjustment: float,
) -> tuple[list[int], list[float]]:
    """FATE's optimal binning of initial buckets with these label counts: the last bucket of each
    merged bin (so its split point is that bucket's), and the metric of each kept boundary.

    iv, gini, chi_square merge neighbours bottom-up, cheapest merge first (FATE's heap), in
    FATE's phases: buckets that lack an event or a non-event, then buckets under min_bin_pct of
    the rows, then down to bin_num; never past max_bin_pct. ks splits top-down at the largest
    KS until bin_num bins."""
    events = [int(v) for v in event]
    non_events = [int(v) for v in non_event]
    count = sum(events) + sum(non_events)
    if optimal.metric_method == "ks":
        return _split_ks(events, non_events, optimal, max_bin, count)
    return _merge(events, non_events, optimal, max_bin, adjustment, count)


@dataclass
class _Bucket:
    first: int
    last: int
    event: int
    non_event: int

    @property
    def total(self) -> int:
        return self.event + self.non_event

    @property
    def mixed(self) -> bool:
        return self.event > 0 and self.non_event > 0


def _merge(
    events: list[int],
    non_events: list[int],
    optimal: Optimal,
    max_bin: int,
    adjustment: float,
    count: int,
) -> tuple[list[int], list[float]]:
    event_total, non_event_total = max(sum(events), 1), max(sum(non_events), 1)
    max_items = math.floor(optimal.max_bin_pct * count)
    min_items = math.ceil(optimal.min_bin_pct * count)

    def iv(e: int, ne: int) -> float:
        if e == 0 or ne == 0:
            er, ner = (e + adjustment) / event_total, (ne + adjustment) / non_event_total
        else:
            er, ner = e / event_total, ne / non_event_total
        return (er - ner) * math.log(er / ner)

    def gini(e: int, ne: int) -> float:
        total = e + ne
        return 0.0 if total == 0 else 1 - (e / total) ** 2 - (ne / total) ** 2

    def score(left: _Bucket, right: _Bucket) -> float:
        e, ne = left.event + right.event, left.non_event + right.non_event
        total = e + ne
        if total == 0:
            return -math.inf
        if optimal.metric_method == "iv":
            return iv(left.event, left.non_event) + iv(right.event, right.non_event) - iv(e, ne)
        if optimal.metric_method == "gini":
            return (
                gini(e, ne) - gini(left.event, left.non_event) - gini(right.event, right.non_event)
            )
        if e == 0 or ne == 0:
            return -math.inf
        chi = 0.0
        # An empty bucket (bucket init_bucket_method leaves some) expects and observes 0: its
        # terms are 0/0, NaN in FATE's numpy arithmetic, and count as their limit 0 here.
        for bucket in (left, right):
            if bucket.total == 0:
                continue
            for observed, column in ((bucket.event, e), (bucket.non_event, ne)):
                expected = bucket.total / total * column
                chi += (observed - expected) ** 2 / expected
        return chi

    buckets = [
        _Bucket(i, i, e, ne) for i, (e, ne) in enumerate(zip(events, non_events, strict=True))
    ]

    def allowed(left: _Bucket, right: _Bucket, phase: str) -> bool:
        if left.total + right.total > max_items:
            return False
        if phase == "mixture":
            return not left.mixed and not right.mixed
        if phase == "single_mixture":
            return not (left.mixed and right.mixed)
        if phase == "small_size":
            return left.total < min_items and right.total < min_items
        if phase == "single_small_size":
            return left.total < min_items or right.total < min_items
        return True

    def remaining(phase: str) -> int:
        if phase in ("mixture", "single_mixture"):
            return sum(1 for b in buckets if not b.mixed)
        if phase in ("small_size", "single_small_size"):
            return sum(1 for b in buckets if b.total < min_items)
        return len(buckets) - max_bin

    last_scores: dict[int, float] = {}
    phases = ["mixture", "single_mixture"] if optimal.mixture else []
    for phase in [*phases, "small_size", "single_small_size", "final"]:
        # A heap of neighbour pairs, keyed by the first bucket of the left one; merged pairs
        # leave stale entries that are skipped (FATE removes them from its heap instead).
        alive = {b.first: b for b in buckets}
        order = [b.first for b in buckets]
        heap: list[tuple[float, int, int, int]] = []
        serial = 0
        for first, second in itertools.pairwise(buckets):
            if allowed(first, second, phase):
                heap.append((score(first, second), serial, first.first, second.first))
                serial += 1
        heapq.heapify(heap)
        aim = remaining(phase)
        while aim > 0 and heap:
            _, _, left_key, right_key = heapq.heappop(heap)
            left, right = alive.get(left_key), alive.get(right_key)
            if left is None or right is None or left.last + 1 != right.first:
                continue
            merged = _Bucket(
                left.first, right.last, left.event + right.event, left.non_event + right.non_event
            )
            del alive[right_key]
            alive[left_key] = merged
            position = order.index(left_key)
            order.pop(position + 1)
            buckets = [alive[k] for k in order]
            if phase in ("mixture", "single_mixture"):
                aim -= (not left.mixed) + (not right.mixed) - (not merged.mixed)
            elif phase in ("small_size", "single_small_size"):
                aim -= (
                    (left.total < min_items)
                    + (right.total < min_items)
                    - (merged.total < min_items)
                )
            else:
                aim = len(buckets) - max_bin
            for a, b in ((position - 1, position), (position, position + 1)):
                if a >= 0 and b < len(buckets) and allowed(buckets[a], buckets[b], phase):
                    heapq.heappush(
                        heap,
                        (score(buckets[a], buckets[b]), serial, buckets[a].first, buckets[b].first),
                    )
                    serial += 1
        if phase == "final":
            # The heap also holds stale pairs: score the pairs left, as FATE's heap holds them.
            last_scores = {
                a.first: score(a, b) for a, b in itertools.pairwise(buckets) if allowed(a, b, phase)
            }
    ends = [b.last for b in buckets]
    metric = [last_scores[b.first] for b in buckets if b.first in last_scores]
    return ends, metric


def _split_ks(
    events: list[int], non_events: list[int], optimal: Optimal, max_bin: int, count: int
) -> tuple[list[int], list[float]]:
    min_items = math.ceil(optimal.min_bin_pct * count)
    splits: dict[int, float] = {}
    pending = [(0, len(events))]
    while pending and len(splits) < max_bin - 1:
        start, end = pending.pop(0)
        if start >= end:
            continue
        acc_e = np.cumsum(events[start:end])
        acc_ne = np.cumsum(non_events[start:end])
        total_e, total_ne = int(acc_e[-1]), int(acc_ne[-1])
        if total_e == 0 or total_ne == 0:
            continue
        ks = np.abs(acc_e / total_e - acc_ne / total_ne)
        best = int(np.argmax(ks)) if ks.max() > 0 else len(ks) // 2
        left_total = int(acc_e[best] + acc_ne[best])
        right_total = total_e + total_ne - left_total
        if left_total < min_items or right_total < min_items:
            best = len(ks) // 2
        left_e, left_ne = int(acc_e[best]), int(acc_ne[best])
        right_e, right_ne = total_e - left_e, total_ne - left_ne
        left_total, right_total = left_e + left_ne, right_e + right_ne
        if optimal.mixture and not (left_e and left_ne and right_e and right_ne):
            continue
        if left_total < min_items or right_total < min_items:
            continue
        cut = start + best + 1
        splits[cut] = float(ks[best])
        if right_total > left_total:
            pending += [(cut, end), (start, cut)]
        else:
            pending += [(start, cut), (cut, end)]
    if not splits:
        splits[len(events) // 2] = 0.0
        metric: list[float] = []
    else:
        metric = [splits[cut] for cut in sorted(splits)]
    cuts = [*sorted(splits), len(events)]
    ends = [cut - 1 for cut in cuts if cut > 0]
    return ends, metric


# --- transform ------------------------------------------------------------------------------


def transform(
    features: Floats,
    columns: Columns,
    points: Mapping[str, Sequence[float]],
    transform_type: str | None,
    woe: Mapping[str, Sequence[float]] | None = None,
) -> Floats:
    """The features with each transformed column replaced by its bin index or its bin's WOE."""
    if transform_type is None or not columns.transform_names:
        return features
    out = features.copy()
    for name in columns.transform_names:
        j = columns.index(name)
        bins = bin_indexes(features[:, j], points[name])
        if transform_type == "bin_num":
            out[:, j] = bins
            continue
        assert woe is not None
        table = np.asarray(woe[name], dtype=np.float64)
        if len(bins) and bins.max() >= len(table):
            raise InvalidArgument(
                f"column {name!r} has values in a bin the training data had none in (a missing "
                "value where training had none): no WOE to give it",
                column=name,
            )
        out[:, j] = table[bins]
    return out
