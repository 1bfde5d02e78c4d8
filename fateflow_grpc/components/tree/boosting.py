"""What the SecureBoost family shares: FATE's boosting parameters, the objectives, quantile
binning, gradients in fixed point, split finding on histograms, the trees, their model JSON and
their walk. HeteroSecureBoost, HeteroFastSecureBoost and HomoSecureBoost grow the same trees,
the ones this algorithm defines (and the tests' plaintext reference re-implements):

1. Binning. Each feature's split points are its k / bin_num quantiles (k = 1..bin_num) as
   FATE's quantile binning answers them (`feature/binning.py`: the value of rank
   ceil(k N / bin_num) - ceil(binning_error N), duplicates dropped; the last is the maximum).
   A value's bin is the first split point >= it; missing values (NaN, and 0 with
   `use_missing` and `zero_as_missing`) have a bin of their own.
2. Gradients. Per round, the objective's gradient g and hessian h of every instance at its
   current score, times its sample weight if the data have one (SampleWeight's, as FATE
   1.11); multi-class grows one tree per class per round on the softmax's (FATE's).
3. Fixed point. g and h become integers: multiples of a power of two, 2^-GH_FRACTION_BITS of
   the largest magnitude. Every histogram sum is then an exact integer, whatever adds it
   (numpy in any order, Paillier plaintexts, masked secure-aggregation sums), so federated
   and plaintext runs take the same decisions bit for bit.
4. A tree grows breadth first to `max_depth`. A node with at least `min_sample_split` instances
   is split by its best candidate: a feature and a bin b (bins <= b go left; missing values go
   right, or, with `use_missing`, either way, both being candidates), scored by XGBoost's gain
       s(GL)^2 / (HL + l2) + s(GR)^2 / (HR + l2) - s(G)^2 / (H + l2)
   (s: soft thresholding by l1; `criterion_params` = [l2, l1]) over the candidates leaving at
   least `min_leaf_node` instances and `min_child_weight` hessian on each side; it must exceed
   `min_impurity_split`. Equal gains go to the first candidate in the order (party: the guest,
   then the hosts in order; feature; bin; missing right before left). A node's weight is
   -s(G) / (H + l2); instances add `learning_rate` times their leaf's weight to their score.
5. Training stops after `num_trees` rounds, when the loss changes by less than `tol` between
   rounds (`n_iter_no_change`), or by validation's early stopping (`sdk/validation.py`).

Departures from FATE, on purpose: g and h are rounded to fixed point as above; gains and
weights are not truncated to 10 decimals (FATE 1.8+); a value equal to a threshold goes left
at prediction as in training (FATE adds 1e-8 to the guest's thresholds); Tweedie is FATE
1.11's (log link); equal gains are ties exactly (FATE: within 1e-8).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.feature import binning as feature_binning
from fateflow_grpc.components.sdk.checkpoint import read_save_freq
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.cv import CV_DEFAULTS, CvParams, read_cv
from fateflow_grpc.components.sdk.learning import (
    class_prediction_table,
    regression_prediction_table,
)
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.validation import (
    CALLBACK_DEFAULTS,
    ValidationParams,
    read_validation,
)
from fateflow_grpc.errors import InvalidArgument

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Model = dict[str, Any]

CLASSIFICATION, REGRESSION = "classification", "regression"
OBJECTIVES = {
    CLASSIFICATION: ("cross_entropy",),
    REGRESSION: ("lse", "lae", "huber", "fair", "log_cosh", "tweedie"),
}
#: Bits of g and h kept below their largest magnitude (step 3 of the module's docstring).
GH_FRACTION_BITS = 16
#: FATE's consts.FLOAT_ZERO: a least-absolute-error gradient is 0 within it.
FLOAT_ZERO = 1e-8
#: FATE's ClassifyLabelChecker refuses more classes than this.
MAX_CLASSES = 1000

# --- parameters -------------------------------------------------------------------------------

# FATE 1.5's DecisionTreeParam, with what 1.11 adds (min_child_weight, deterministic).
TREE_DEFAULTS: dict[str, Any] = {
    "criterion_method": "xgboost",
    "criterion_params": [0.1],
    "max_depth": 3,
    "min_sample_split": 2,
    "min_impurity_split": 1e-3,
    "min_leaf_node": 1,
    "max_split_nodes": 65536,
    "feature_importance_type": "split",
    "n_iter_no_change": True,
    "tol": 0.001,
    "use_missing": False,
    "zero_as_missing": False,
    "min_child_weight": 0,
    "deterministic": False,
}
# FATE 1.5's BoostingParam, the tree and missing-value parameters every SecureBoost has, and
# what 1.11 adds to all of them (random_seed, callback_param, multi_mode).
BOOSTING_DEFAULTS: dict[str, Any] = {
    "tree_param": TREE_DEFAULTS,
    "task_type": CLASSIFICATION,
    "objective_param": {"objective": "cross_entropy", "params": None},
    "learning_rate": 0.3,
    "num_trees": 5,
    "subsample_feature_rate": 1.0,
    "n_iter_no_change": True,
    "tol": 0.0001,
    "bin_num": 32,
    "predict_param": {"threshold": 0.5},
    "cv_param": CV_DEFAULTS,
    "validation_freqs": None,
    "metrics": None,
    "use_missing": False,
    "zero_as_missing": False,
    "subsample_random_seed": None,
    "random_seed": 100,
    "binning_error": 1e-4,
    "callback_param": CALLBACK_DEFAULTS,
    "multi_mode": "single_output",
}


@dataclass(frozen=True)
class TreeSettings:
    max_depth: int
    min_sample_split: int
    min_impurity_split: float
    min_leaf_node: int
    min_child_weight: float
    l2: float
    l1: float
    use_missing: bool
    #: Zeros are missing values (only with use_missing, as in FATE).
    zero_as_missing: bool
    #: Feature importance by split count ("split") or summed gain ("gain").
    importance: str

    def meta(self) -> dict[str, Any]:
        """FATE's DecisionTreeModelMeta."""
        return {
            "criterion_meta": {
                "criterion_method": "xgboost",
                "criterion_param": [self.l2, self.l1],
            },
            "max_depth": self.max_depth,
            "min_sample_split": self.min_sample_split,
            "min_impurity_split": self.min_impurity_split,
            "min_leaf_node": self.min_leaf_node,
            "use_missing": self.use_missing,
            "zero_as_missing": self.zero_as_missing,
        }


@dataclass(frozen=True)
class BoostingSettings:
    task_type: str
    objective: str
    objective_param: float | None
    learning_rate: float
    num_trees: int
    subsample_feature_rate: float
    n_iter_no_change: bool
    tol: float
    bin_num: int
    binning_error: float
    threshold: float
    #: Seeds the feature subsampling (subsample_random_seed, else 1.11's random_seed).
    seed: int | None
    tree: TreeSettings
    validation: ValidationParams
    #: ModelCheckpoint's: every n-th round is kept (None: off).
    save_freq: int | None
    cv: CvParams
    #: FATE's top-level `metrics`: what cross validation evaluates (empty: the defaults).
    metrics: tuple[str, ...]

    def meta(self, **extra: Any) -> dict[str, Any]:
        """FATE's BoostingTreeModelMeta (without objective for a host: `objective=False`)."""
        meta: dict[str, Any] = {
            "tree_meta": self.tree.meta(),
            "learning_rate": self.learning_rate,
            "num_trees": self.num_trees,
            "quantile_meta": {"quantile_method": "exact", "bin_num": self.bin_num},
            "objective_meta": {
                "objective": self.objective,
                "param": [] if self.objective_param is None else [self.objective_param],
            },
            "task_type": self.task_type,
            "n_iter_no_change": self.n_iter_no_change,
            "tol": self.tol,
            "use_missing": self.tree.use_missing,
            "zero_as_missing": self.tree.zero_as_missing,
        }
        meta.update(extra)
        return meta


def read_boosting(reader: ParamReader) -> BoostingSettings:
    """The parameters every SecureBoost shares, checked as FATE's BoostingParam checks them;
    InvalidArgument names the first that is wrong."""
    task_type = reader.choice("task_type", (CLASSIFICATION, REGRESSION))
    objective, objective_param = _objective(reader.section("objective_param"), task_type)
    tree = reader.section("tree_param")
    tree.choice("criterion_method", ("xgboost",))
    l2, l1 = _criterion_params(tree)
    tree.integer("max_split_nodes", minimum=1)  # FATE's memory bound: a layer is one batch here
    tree.boolean("n_iter_no_change")  # FATE's DecisionTreeParam has these and never reads them
    tree.number("tol")
    tree.boolean("deterministic")  # our histograms are exact sums, deterministic anyway
    use_missing = reader.boolean("use_missing") or tree.boolean("use_missing")
    # FATE: the top-level flags replace the tree's when the top-level use_missing is on.
    zero_as_missing = (
        reader.boolean("zero_as_missing")
        if reader.boolean("use_missing")
        else tree.boolean("zero_as_missing")
    )
    cv = read_cv(reader)
    reader.choice("multi_mode", ("single_output",))
    seed = reader.raw("subsample_random_seed")
    if seed is None:
        seed = reader.raw("random_seed")
        seed = None if seed is None else reader.integer("random_seed", minimum=0)
    else:
        seed = reader.integer("subsample_random_seed", minimum=0)
    num_trees = reader.raw("num_trees")
    if isinstance(num_trees, float) and num_trees.is_integer():
        num_trees = int(num_trees)  # FATE takes an int or a float
    return BoostingSettings(
        task_type=task_type,
        objective=objective,
        objective_param=objective_param,
        learning_rate=reader.number("learning_rate"),
        num_trees=reader.integer("num_trees", minimum=1),
        subsample_feature_rate=reader.number("subsample_feature_rate", minimum=0, maximum=1),
        n_iter_no_change=reader.boolean("n_iter_no_change"),
        tol=reader.number("tol"),
        bin_num=reader.integer("bin_num", minimum=2),
        binning_error=reader.number("binning_error", minimum=0, maximum=1),
        threshold=reader.section("predict_param").number("threshold", minimum=0, maximum=1),
        seed=seed,
        tree=TreeSettings(
            max_depth=tree.integer("max_depth", minimum=1),
            min_sample_split=tree.integer("min_sample_split"),
            min_impurity_split=tree.number("min_impurity_split"),
            min_leaf_node=tree.integer("min_leaf_node"),
            min_child_weight=tree.number("min_child_weight", minimum=0),
            l2=l2,
            l1=l1,
            use_missing=use_missing,
            zero_as_missing=use_missing and zero_as_missing,
            importance=tree.choice("feature_importance_type", ("split", "gain")),
        ),
        validation=read_validation(reader),
        save_freq=read_save_freq(reader),
        cv=cv,
        metrics=tuple(reader.raw("metrics") or ()),
    )


def _objective(reader: ParamReader, task_type: str) -> tuple[str, float | None]:
    name = reader.raw("objective")
    # A host's conf may leave the objective out (FATE: None): it is the guest's business.
    objective = (
        OBJECTIVES[task_type][0]
        if name is None
        else reader.choice("objective", OBJECTIVES[task_type])
    )
    params = reader.raw("params")
    if objective not in ("huber", "fair", "tweedie"):
        return objective, None
    if not isinstance(params, list) or not params:
        raise reader.error("params", params, f"must be a non-empty list for {objective}")
    value = params[0]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise reader.error("params", params, "must start with a number")
    if objective == "tweedie" and not 1 <= value < 2:
        raise reader.error("params", params, "must start with a number in [1, 2) for tweedie")
    if value <= 0:
        raise reader.error("params", params, f"must start with a number above 0 for {objective}")
    return objective, float(value)


def _criterion_params(tree: ParamReader) -> tuple[float, float]:
    """[l2] (FATE 1.5), [l2, l1] or {"l1": .., "l2": ..} (1.11): (l2, l1)."""
    value = tree.raw("criterion_params")
    if isinstance(value, Mapping) and set(value) >= {"l1", "l2"}:
        values = [value["l2"], value["l1"]]
    elif isinstance(value, list) and 1 <= len(value) <= 2:
        values = [*value, 0][:2]
    else:
        raise tree.error("criterion_params", value, "must be [l2], [l2, l1] or {l1, l2}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in values):
        raise tree.error("criterion_params", value, "must hold non-negative numbers")
    return float(values[0]), float(values[1])


# --- objectives -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Objective:
    """FATE's losses: gradients, hessians, the initial score, predictions and the loss."""

    name: str
    param: float | None
    #: Scores per instance: the classes for multi-class, else 1.
    dim: int

    @property
    def initial_statistic(self) -> str:
        """What the initial score is: "zero", or the labels' "mean" or "median"."""
        if self.name in ("cross_entropy", "tweedie"):
            return "zero"
        return "median" if self.name == "lae" else "mean"

    def initial_scores(self, statistic: float = 0.0) -> Floats:
        return np.full(self.dim, statistic if self.initial_statistic != "zero" else 0.0)

    def statistic(self, y: Floats) -> float:
        if self.initial_statistic == "mean":
            return float(np.mean(y))
        if self.initial_statistic == "median":
            return float(np.median(y))
        return 0.0

    def predict(self, scores: Floats) -> Floats:
        """Probabilities (n, classes) or (n,) for binary; values (n,) for regression."""
        if self.name == "cross_entropy":
            if self.dim == 1:
                return _sigmoid(scores[:, 0])
            return _softmax(scores)
        if self.name == "tweedie":
            return np.exp(scores[:, 0])
        return scores[:, 0].copy()

    def gradients(
        self, y: Floats, scores: Floats, weights: Floats | None = None
    ) -> tuple[Floats, Floats]:
        """g and h, each (n, dim), times the sample weights (FATE 1.11's)."""
        g, h = self._gradients(y, scores)
        if weights is None:
            return g, h
        return g * weights[:, None], h * weights[:, None]

    def _gradients(self, y: Floats, scores: Floats) -> tuple[Floats, Floats]:
        if self.name == "cross_entropy":
            if self.dim == 1:
                p = _sigmoid(scores[:, 0])
                return (p - y)[:, None], (p * (1 - p))[:, None]
            p = _softmax(scores)
            g = p.copy()
            g[np.arange(len(y)), y.astype(np.int64)] -= 1
            return g, p * (1 - p)
        f = scores[:, 0]
        d = f - y
        c = self.param or 0.0
        if self.name == "lse":
            g, h = 2 * d, np.full_like(d, 2.0)
        elif self.name == "lae":
            g = np.where(d > FLOAT_ZERO, 1.0, np.where(d < -FLOAT_ZERO, -1.0, 0.0))
            h = np.ones_like(d)
        elif self.name == "huber":
            scale = 1 + d * d / (c * c)
            g, h = d / np.sqrt(scale), 1 / scale**1.5
        elif self.name == "fair":
            g, h = c * d / (np.abs(d) + c), c * c / (np.abs(d) + c) ** 2
        elif self.name == "log_cosh":
            t = np.tanh(d)
            g, h = t, 1 - t * t
        else:  # tweedie, log link (FATE 1.11)
            a, b = np.exp((1 - c) * f), np.exp((2 - c) * f)
            g, h = -y * a + b, -y * (1 - c) * a + (2 - c) * b
        return g[:, None], h[:, None]

    def loss(self, y: Floats, scores: Floats, weights: Floats | None = None) -> float:
        """The mean loss (weighted by the sample weights), FATE's `compute_loss`."""
        values = self.losses(y, scores)
        if weights is None:
            return float(np.mean(values))
        return float(np.sum(values * weights) / np.sum(weights))

    def losses(self, y: Floats, scores: Floats) -> Floats:
        """Each instance's loss."""
        if self.name == "cross_entropy":
            if self.dim == 1:
                f = scores[:, 0]
                binary: Floats = np.logaddexp(0.0, np.where(y == 1, -f, f))
                return binary
            shifted = scores - scores.max(axis=1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            multi: Floats = -log_p[np.arange(len(y)), y.astype(np.int64)]
            return multi
        f = scores[:, 0]
        d = f - y
        c = self.param or 0.0
        values: Floats
        if self.name == "lse":
            values = d * d
        elif self.name == "lae":
            values = np.abs(d)
        elif self.name == "huber":
            values = c * c * (np.sqrt(1 + (d / c) ** 2) - 1)
        elif self.name == "fair":
            values = c * np.abs(d) - c * c * np.log(np.abs(d) / c + 1)
        elif self.name == "log_cosh":
            values = np.log(np.cosh(d))
        else:
            prediction = np.maximum(np.exp(f), 1e-10)
            if c == 1:
                values = prediction - y * np.log(prediction)
            else:
                values = -y * prediction ** (1 - c) / (1 - c) + prediction ** (2 - c) / (2 - c)
        result: Floats = values
        return result


def eval_type(task_type: str, classes: int) -> str:
    """The Evaluation eval_type of a task with this many classes."""
    if task_type == REGRESSION:
        return "regression"
    return "binary" if classes == 2 else "multi"


def objective_of(settings: BoostingSettings, classes: int) -> Objective:
    dim = classes if settings.task_type == CLASSIFICATION and classes > 2 else 1
    return Objective(settings.objective, settings.objective_param, dim)


def _sigmoid(values: Floats) -> Floats:
    result: Floats = 0.5 * (1.0 + np.tanh(0.5 * values))  # no overflow
    return result


def _softmax(scores: Floats) -> Floats:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    result: Floats = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def class_labels(labels: Floats, task_type: str) -> tuple[list[float], Floats]:
    """The sorted classes and each label's class index (classification); for regression, no
    classes and the labels as they are."""
    if not np.all(np.isfinite(labels)):
        raise InvalidArgument("the labels hold missing values")
    if task_type == REGRESSION:
        return [], labels.astype(np.float64)
    classes = sorted(set(labels.tolist()))
    if len(classes) < 2:
        raise InvalidArgument("classification needs at least two classes in the labels")
    if len(classes) > MAX_CLASSES:
        raise InvalidArgument(f"classification takes at most {MAX_CLASSES} classes")
    return classes, np.searchsorted(np.asarray(classes), labels).astype(np.float64)


# --- binning ----------------------------------------------------------------------------------


def quantile_points(values: Floats, bin_num: int, error: float) -> Floats:
    """FATE's k / bin_num quantiles of `values` (no NaN), k = 1..bin_num, deduplicated."""
    if not len(values):
        return np.zeros(0)
    return np.asarray(feature_binning.quantile_points(values, bin_num, error))


def missing_mask(features: Floats, zero_as_missing: bool) -> npt.NDArray[np.bool_]:
    """Missing values: NaN, and zeros with `zero_as_missing` (TreeSettings' effective flag)."""
    missing = np.isnan(features)
    if zero_as_missing:
        missing |= features == 0
    return missing


@dataclass(frozen=True)
class Binning:
    """Split points per feature; bins 0..len(points[f]) - 1, and `missing` (the last column of
    every histogram) for missing values."""

    points: list[Floats]

    @property
    def missing(self) -> int:
        return max((len(p) for p in self.points), default=0)

    @property
    def width(self) -> int:
        """Columns of a feature's histogram: the largest count of bins, then missing."""
        return self.missing + 1

    def bins(self, features: Floats, missing: npt.NDArray[np.bool_]) -> npt.NDArray[np.int32]:
        result = np.empty(features.shape, dtype=np.int32)
        for f, points in enumerate(self.points):
            column = np.searchsorted(points, features[:, f], side="left")
            result[:, f] = np.minimum(column, max(len(points) - 1, 0))
        result[missing] = self.missing
        return result


def fit_binning(
    features: Floats, missing: npt.NDArray[np.bool_], bin_num: int, error: float
) -> Binning:
    return Binning(
        [
            quantile_points(features[~missing[:, f], f], bin_num, error)
            for f in range(features.shape[1])
        ]
    )


# --- gradients in fixed point -----------------------------------------------------------------


@dataclass(frozen=True)
class FixedPoint:
    """g and h as integers (int64) times their scales (powers of two)."""

    g: Ints
    h: Ints
    g_scale: float
    h_scale: float


def fixed_point(g: Floats, h: Floats) -> FixedPoint:
    return fixed_point_at(g, h, magnitude(g), magnitude(h))


def magnitude(values: Floats) -> int:
    """The e of 2^e > max |values| (frexp's), 0 for none: what fixes their fixed-point scale."""
    if not np.all(np.isfinite(values)):
        raise InvalidArgument(
            "the gradients overflowed: the scores grew without bound (try a smaller learning_rate)"
        )
    largest = float(np.max(np.abs(values))) if len(values) else 0.0
    return math.frexp(largest)[1] if largest else 0


def fixed_point_at(g: Floats, h: Floats, g_exponent: int, h_exponent: int) -> FixedPoint:
    """g and h as integers at 2^(exponent - GH_FRACTION_BITS): at most 2^GH_FRACTION_BITS in
    magnitude when the exponents are their `magnitude`s (or larger: HomoSecureBoost's are
    every client's largest)."""
    g_scale = math.ldexp(1.0, g_exponent - GH_FRACTION_BITS)
    h_scale = math.ldexp(1.0, h_exponent - GH_FRACTION_BITS)
    return FixedPoint(
        np.rint(g / g_scale).astype(np.int64),
        np.rint(h / h_scale).astype(np.int64),
        g_scale,
        h_scale,
    )


# --- histograms and split finding -------------------------------------------------------------


def histograms(
    bins: npt.NDArray[np.int32],
    width: int,
    rows: Ints,
    weights: Sequence[npt.NDArray[Any] | None],
) -> Floats:
    """Per weight vector (None: counts), the (features, width) sums of rows by bin: exact for
    integer weights below 2^53 in total."""
    features = bins.shape[1]
    flat = (bins[rows] + np.arange(features, dtype=np.int64) * width).ravel()
    size = features * width
    result = np.empty((len(weights), features, width))
    for k, w in enumerate(weights):
        repeated = None if w is None else np.repeat(w[rows].astype(np.float64), features)
        result[k] = np.bincount(flat, weights=repeated, minlength=size).reshape(features, width)
    return result


@dataclass(frozen=True)
class Candidates:
    """A party's split candidates in the canonical order: feature, bin, missing right (1)
    before left (-1)."""

    fid: Ints
    bid: Ints
    missing_dir: Ints

    def __len__(self) -> int:
        return len(self.fid)


def candidates(binning: Binning, features: Iterable[int], use_missing: bool) -> Candidates:
    fid, bid, direction = [], [], []
    for f in features:
        for b in range(len(binning.points[f]) - 1):
            for d in (1, -1) if use_missing else (1,):
                fid.append(f)
                bid.append(b)
                direction.append(d)
    return Candidates(
        np.asarray(fid, np.int64), np.asarray(bid, np.int64), np.asarray(direction, np.int64)
    )


def left_sums(histogram: Floats, found: Candidates) -> Floats:
    """Per candidate, the sum of its left side from a (features, width) histogram (missing in
    the last column)."""
    cumulative = np.cumsum(histogram[:, :-1], axis=1)
    left: Floats = cumulative[found.fid, found.bid]
    return left + np.where(found.missing_dir == -1, histogram[found.fid, -1], 0.0)


@dataclass(frozen=True)
class Criterion:
    """FATE's XgboostCriterion: l2 in the denominators, l1 soft-thresholds the gradient sums."""

    l2: float
    l1: float

    def _score(self, g: Floats, h: Floats) -> Floats:
        soft = np.sign(g) * np.maximum(np.abs(g) - self.l1, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            result: Floats = soft * soft / (h + self.l2)
        return result

    def gains(self, g: float, h: float, g_left: Floats, h_left: Floats) -> Floats:
        g_right, h_right = g - g_left, h - h_left
        node = self._score(np.asarray([g]), np.asarray([h]))[0]
        gains: Floats = self._score(g_left, h_left) + self._score(g_right, h_right) - node
        return gains

    def weight(self, g: float, h: float) -> float:
        if h + self.l2 <= 0:
            return 0.0
        soft = math.copysign(max(abs(g) - self.l1, 0.0), g)
        return -soft / (h + self.l2)


@dataclass(frozen=True)
class NodeSums:
    """A node's gradient and hessian sums (fixed-point integers) and its instance count."""

    g: int
    h: int
    count: int


def candidate_gains(
    tree: TreeSettings,
    node: NodeSums,
    scales: tuple[float, float],
    g_left: Floats,
    h_left: Floats,
    valid: npt.NDArray[np.bool_],
) -> Floats:
    """The gains of candidates (left sums in fixed point), -inf where not allowed: `valid`
    (instance counts, the caller's), min_child_weight and positive denominators."""
    criterion = Criterion(tree.l2, tree.l1)
    g, h = node.g * scales[0], node.h * scales[1]
    gl, hl = g_left * scales[0], h_left * scales[1]
    hr = h - hl
    allowed = (
        valid
        & (hl >= tree.min_child_weight)
        & (hr >= tree.min_child_weight)
        & (hl + tree.l2 > 0)
        & (hr + tree.l2 > 0)
    )
    gains = criterion.gains(g, h, gl, hl)
    return np.where(allowed & np.isfinite(gains), gains, -np.inf)


def count_valid(tree: TreeSettings, count: int, left: Floats) -> npt.NDArray[np.bool_]:
    """Candidates leaving min_leaf_node instances on both sides of a node of `count`."""
    result: npt.NDArray[np.bool_] = (left >= tree.min_leaf_node) & (
        count - left >= tree.min_leaf_node
    )
    return result


def best_index(gains: Floats) -> int:
    """The first candidate of highest gain, or -1 when there is none."""
    if not len(gains):
        return -1
    index = int(np.argmax(gains))
    return index if np.isfinite(gains[index]) else -1


def splittable(tree: TreeSettings, node: NodeSums, depth: int) -> bool:
    return depth < tree.max_depth and node.count >= max(tree.min_sample_split, 2)


def sampled_features(
    count: int, rate: float, seed: int | None, tree_index: int, salt: int = 0
) -> list[int]:
    """FATE's feature subsampling: max(1, int(rate * count)) features per tree, drawn from a
    generator seeded by (seed, tree, salt) so that each party draws its own, reproducibly."""
    if rate >= 1 or count == 0:
        return list(range(count))
    rng = np.random.default_rng(None if seed is None else [seed, tree_index, salt])
    chosen = rng.choice(count, max(1, int(rate * count)), replace=False)
    return sorted(int(f) for f in chosen)


# --- trees ------------------------------------------------------------------------------------


@dataclass
class Node:
    """FATE's NodeParam. A split's threshold and missing direction are kept by the party that
    owns it, in its tree's `split_maskdict` and `missing_dir_maskdict`."""

    id: int
    sitename: str
    fid: int = -1
    bid: float = 0.0
    weight: float = 0.0
    is_leaf: bool = True
    left_nodeid: int = -1
    right_nodeid: int = -1
    missing_dir: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sitename": self.sitename,
            "fid": self.fid,
            "bid": self.bid,
            "weight": self.weight,
            "is_leaf": self.is_leaf,
            "left_nodeid": self.left_nodeid,
            "right_nodeid": self.right_nodeid,
            "missing_dir": self.missing_dir,
        }


@dataclass
class Tree:
    """FATE's DecisionTreeModelParam: nodes by id (node k is nodes[k]), thresholds by node."""

    nodes: list[Node] = field(default_factory=list)
    split_maskdict: dict[int, float] = field(default_factory=dict)
    missing_dir_maskdict: dict[int, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_": [node.to_json() for node in self.nodes],
            "split_maskdict": {str(k): v for k, v in self.split_maskdict.items()},
            "missing_dir_maskdict": {str(k): v for k, v in self.missing_dir_maskdict.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tree:
        try:
            nodes = [
                Node(
                    id=int(n["id"]),
                    sitename=str(n["sitename"]),
                    fid=int(n["fid"]),
                    bid=float(n["bid"]),
                    weight=float(n["weight"]),
                    is_leaf=bool(n["is_leaf"]),
                    left_nodeid=int(n["left_nodeid"]),
                    right_nodeid=int(n["right_nodeid"]),
                    missing_dir=int(n["missing_dir"]),
                )
                for n in data["tree_"]
            ]
            tree = cls(
                nodes,
                {int(k): float(v) for k, v in data["split_maskdict"].items()},
                {int(k): int(v) for k, v in data["missing_dir_maskdict"].items()},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(
                f"a tree of the model is not FATE's tree format: {error}"
            ) from None
        if [node.id for node in tree.nodes] != list(range(len(tree.nodes))):
            raise InvalidArgument("a tree of the model does not number its nodes 0, 1, ...")
        return tree


@dataclass(frozen=True)
class Forest:
    """Trees flattened for a vectorised walk: every array is indexed by a global node index
    (tree t's node k is offsets[t] + k)."""

    offsets: Ints
    #: 0: a leaf; 1: split here; 2: split by another party.
    owner: npt.NDArray[np.int8]
    fid: Ints
    threshold: Floats
    missing_dir: Ints
    left: Ints
    right: Ints
    weight: Floats
    #: For another party's split, that party's index in `compile_forest`'s `others`, else -1.
    holder: Ints


def compile_forest(trees: Sequence[Tree], sitename: str, others: Sequence[str] = ()) -> Forest:
    sizes = [len(t.nodes) for t in trees]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    total = int(offsets[-1])
    owner = np.zeros(total, np.int8)
    fid = np.zeros(total, np.int64)
    threshold = np.zeros(total)
    direction = np.ones(total, np.int64)
    left = np.zeros(total, np.int64)
    right = np.zeros(total, np.int64)
    weight = np.zeros(total)
    holder = np.full(total, -1, np.int64)
    index = {site: k for k, site in enumerate(others)}
    for t, tree in enumerate(trees):
        base = int(offsets[t])
        for node in tree.nodes:
            k = base + node.id
            weight[k] = node.weight
            if node.is_leaf:
                continue
            left[k], right[k] = base + node.left_nodeid, base + node.right_nodeid
            if node.sitename == sitename:
                owner[k] = 1
                fid[k] = node.fid
                # Hetero trees keep their owner's thresholds aside; homo ones in `bid` (FATE's).
                threshold[k] = tree.split_maskdict.get(node.id, node.bid)
                direction[k] = tree.missing_dir_maskdict.get(node.id, node.missing_dir)
            else:
                owner[k] = 2
                holder[k] = index.get(node.sitename, -1)
    return Forest(offsets, owner, fid, threshold, direction, left, right, weight, holder)


def walk(
    forest: Forest,
    features: Floats,
    missing: npt.NDArray[np.bool_],
    rows: Ints,
    nodes: Ints,
) -> Ints:
    """Move each (row, global node) down through this party's splits until it reaches a leaf
    or another party's split; the nodes reached."""
    nodes = nodes.copy()
    while True:
        here = np.flatnonzero(forest.owner[nodes] == 1)
        if not len(here):
            return nodes
        at = nodes[here]
        fid = forest.fid[at]
        values = features[rows[here], fid]
        absent = missing[rows[here], fid]
        go_left = np.where(absent, forest.missing_dir[at] == -1, values <= forest.threshold[at])
        nodes[here] = np.where(go_left, forest.left[at], forest.right[at])


def add_trees(scores: Floats, leaf_weights: Floats, learning_rate: float) -> Floats:
    """`scores` (n, dim) plus `learning_rate` times each tree's leaf weights (trees, n; tree t
    scores class t % dim), tree after tree: training's order of additions, so predictions
    equal training's scores bit for bit."""
    result = scores.copy()
    for t, weights in enumerate(leaf_weights):
        result[:, t % result.shape[1]] += learning_rate * weights
    return result


# --- model output -----------------------------------------------------------------------------


def importance_records(
    importances: Mapping[tuple[str, int], float], names: Mapping[tuple[str, int], str]
) -> list[dict[str, Any]]:
    """FATE's FeatureImportanceInfo list, most important first."""
    ordered = sorted(importances.items(), key=lambda item: -item[1])
    return [
        {"sitename": site, "fid": fid, "importance": value, "fullname": names[(site, fid)]}
        for (site, fid), value in ordered
    ]


def prediction_output(
    objective: Objective,
    classes: Sequence[float],
    scores: Floats,
    threshold: float,
    ids: np.ndarray[Any, Any],
    labels: Floats | None,
    kind: str,
    sid: str,
) -> pa.Table:
    """FATE's prediction table from the raw scores (n, dim)."""
    predicted = objective.predict(scores)
    if not classes:
        return regression_prediction_table(ids, labels, predicted, kind, sid)
    if len(classes) == 2:  # the positive class's probability
        predicted = np.column_stack([1.0 - predicted, predicted])
    return class_prediction_table(ids, labels, predicted, list(classes), threshold, kind, sid)


def aligned_features(data: Dataset, header: Sequence[str], where: str) -> Floats:
    """The data's features in the order of `header` (the training data's, or a model's):
    InvalidArgument when one is absent. `where` says whose data, for the message."""
    position = {name: k for k, name in enumerate(data.header)}
    absent = [name for name in header if name not in position]
    if absent:
        raise InvalidArgument(
            f"{where}: the data lack the model's features {', '.join(absent[:5])}",
            missing=len(absent),
        )
    matrix = _check_features(data.features, data.header, where)
    return matrix[:, [position[name] for name in header]]


def _check_features(features: Floats, header: Sequence[str], role: str) -> Floats:
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(header):
        raise InvalidArgument(
            f"{role}: features of shape {matrix.shape} do not match {len(header)} names"
        )
    if np.isinf(matrix).any():
        raise InvalidArgument(f"{role}: the features hold infinite values")
    return matrix


@dataclass
class Timings:
    """Seconds a role spent per phase (encrypt, histogram, pack, decrypt, wait...), summed."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
