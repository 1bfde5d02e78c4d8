"""The numbers FATE's Evaluation module reports, and the metric records it writes them as.

Pure numpy: the Evaluation component feeds it the labels and predictions of each evaluated data
set and saves what `evaluate` returns through tracking, where `/v1/tracking/component/metric/all`
and `summary/download` read it back for FATE's client.

Decisions, each one FATE's unless it says otherwise:

* Binary scores are the predicted probability (or any score rising with it) of the positive
  class; a label is positive when it equals ``pos_label`` and negative otherwise.
* An instance is predicted positive when ``score > threshold``, strictly, as FATE's
  ``predict_result`` column does, so precision at 0.5 here agrees with a HeteroLR output table.
  Every threshold in a curve's meta follows the same rule. (FATE's ROC meta alone carries
  scikit-learn's ``>=`` thresholds; ours keep one rule for every curve.)
* AUC and KS are exact, computed over every distinct score with ties counted once (AUC equals
  scikit-learn's ``roc_auc_score``; KS is ``max(tpr - fpr)`` over the exact ROC curve). FATE 1.x
  computes KS on its 100 bucketed thresholds, which can miss the maximum; the curves are
  bucketed, the single values are not.
* Curves stay small: ROC keeps its corners (scikit-learn's ``drop_intermediate``) and, when more
  than ``bins + 1`` remain, an even subsample of them; the other curves take, for each of the
  ``bins + 1`` population fractions ``0, 1/bins, ..., 1``, the first threshold that predicts at
  least that fraction positive. Their x is that fraction as achieved, where FATE plots the
  nominal fraction even when tied scores make it unreachable.
* FATE's tables (meta only, no points) are FATE's own cuts: the confusion matrix and F1 at the
  fixed thresholds 0, 0.01, ..., 0.99; precision and recall at the 21 score quantiles
  (``quantile_pr``); PSI over the train scores' quantiles (the component pairs train and
  validate data).
* Clustering: the label metrics (Jaccard weighted by label counts, Fowlkes-Mallows, adjusted
  Rand, the contingency matrix) are scikit-learn's definitions, which FATE calls; the clusters'
  (Davies-Bouldin index, distance measure) are FATE's, over the arbiter's cluster table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from fateflow_grpc.errors import InvalidArgument

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: FATE's ``eval_type`` values.
BINARY = "binary"
MULTI = "multi"
REGRESSION = "regression"
CLUSTERING = "clustering"

#: FATE's ``Evaluation`` rounds every saved point to this many decimals (``round_num``).
DEFAULT_ROUND_NUM = 6
#: Buckets of a threshold curve; FATE cuts its curves at 100 steps as well.
DEFAULT_BINS = 100

#: The metrics of each eval type, in the order FATE lists them (``consts.ALL_*_METRICS``).
METRICS: dict[str, tuple[str, ...]] = {
    BINARY: (
        "auc",
        "ks",
        "lift",
        "gain",
        "accuracy",
        "precision",
        "recall",
        "roc",
        "confusion_mat",
        "psi",
        "f1_score",
        "quantile_pr",
    ),
    MULTI: ("accuracy", "precision", "recall"),
    REGRESSION: (
        "explained_variance",
        "mean_absolute_error",
        "mean_squared_error",
        "median_absolute_error",
        "r2_score",
        "root_mean_squared_error",
    ),
    CLUSTERING: (
        "jaccard_similarity_score",
        "fowlkes_mallows_score",
        "adjusted_rand_score",
        "davies_bouldin_index",
        "distance_measure",
        "contingency_matrix",
    ),
}
#: The clustering metrics of the clusters (the arbiter's HeteroKmeans output); the others
#: compare each row's cluster with its label (the guest's and hosts' output).
CLUSTER_METRICS = frozenset({"davies_bouldin_index", "distance_measure"})

#: The other names FATE's ``EvaluateParam`` accepts for a metric (``consts.ALIAS``).
ALIASES: dict[str, str] = {
    "l1": "mean_absolute_error",
    "mae": "mean_absolute_error",
    "regression_l1": "mean_absolute_error",
    "l2": "mean_squared_error",
    "mse": "mean_squared_error",
    "regression_l2": "mean_squared_error",
    "regression": "mean_squared_error",
    "l2_root": "root_mean_squared_error",
    "rmse": "root_mean_squared_error",
    "r2": "r2_score",
    "acc": "accuracy",
    "dbi": "davies_bouldin_index",
    "fmi": "fowlkes_mallows_score",
    "ri": "adjusted_rand_score",
    "jaccard": "jaccard_similarity_score",
}

# A metric record's meta `metric_type` for each kind of record.
SUMMARY_TYPE = "EVALUATION_SUMMARY"
ROC_TYPE = "ROC_EVALUATION"
KS_TYPE = "KS_EVALUATION"
LIFT_TYPE = "LIFT_EVALUATION"
GAIN_TYPE = "GAIN_EVALUATION"
ACCURACY_TYPE = "ACCURACY_EVALUATION"
PRECISION_BINARY_TYPE = "PRECISION_BINARY_EVALUATION"
RECALL_BINARY_TYPE = "RECALL_BINARY_EVALUATION"
PRECISION_MULTI_TYPE = "PRECISION_MULTI_EVALUATION"
RECALL_MULTI_TYPE = "RECALL_MULTI_EVALUATION"
CONFUSION_MAT_TYPE = "CONFUSION_MAT"
F1_SCORE_TYPE = "F1_SCORE"
QUANTILE_PR_TYPE = "QUANTILE_PR"
PSI_TYPE = "PSI"
CLUSTERING_SUMMARY_TYPE = "CLUSTERING_EVALUATION_SUMMARY"
CONTINGENCY_TYPE = "CONTINGENCY_MATRIX"
DISTANCE_TYPE = "DISTANCE_MEASURE"
OVR_TYPE = "ovr"

#: A class label as a point key: a Python scalar, whole floats as ints (FATE shows class 2, not 2.0).
Label = int | float | str
Point = tuple[Label, float]


class MetricRecord(NamedTuple):
    """One metric as FATE's tracker saves it: ``(metric_namespace, metric_name, points, meta)``.

    Points are ``(key, value)`` pairs of Python scalars, rounded and sorted by key; meta holds
    ``name`` and ``metric_type`` and the extras of its kind. All of it is JSON-serialisable.
    """

    metric_namespace: str
    metric_name: str
    points: list[Point]
    meta: dict[str, Any]


@dataclass(frozen=True)
class DataSetEvaluation:
    """What one evaluated data set gives: its metric records and its summary.

    ``summary`` maps each single-value metric (``auc``, ``ks``; the multi-class and regression
    metrics) to its unrounded value, as FATE puts it in the component summary.
    """

    data_name: str
    namespace: str
    records: list[MetricRecord]
    summary: dict[str, float]


@dataclass(frozen=True)
class Curve:
    """Points of a curve, with the score threshold that gives each point."""

    x: list[float]
    y: list[float]
    thresholds: list[float]


@dataclass(frozen=True)
class ClassScores:
    """A multi-class metric: the value of each class, and their unweighted mean."""

    per_class: dict[Label, float]
    macro: float


# --- binary: single values ---------------------------------------------------------------------


def auc(labels: npt.ArrayLike, scores: npt.ArrayLike, *, pos_label: object = 1) -> float:
    """Area under the ROC curve; tied scores count half, as in the Mann-Whitney statistic."""
    return _Ranking.of(labels, scores, pos_label).auc()


def ks(labels: npt.ArrayLike, scores: npt.ArrayLike, *, pos_label: object = 1) -> float:
    """Kolmogorov-Smirnov statistic: the largest ``tpr - fpr`` over every threshold."""
    return _Ranking.of(labels, scores, pos_label).ks()


def precision(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    threshold: float = 0.5,
    pos_label: object = 1,
) -> float:
    """Share of positives among the instances scored above ``threshold``; 0.0 if there are none.

    0.0 for an empty prediction is scikit-learn's ``zero_division`` default; it needs no
    negative label, so one-class data is accepted.
    """
    positive, predicted = _at_threshold(labels, scores, threshold, pos_label)
    count = int(predicted.sum())
    return float((positive & predicted).sum() / count) if count else 0.0


def recall(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    threshold: float = 0.5,
    pos_label: object = 1,
) -> float:
    """Share of the positive labels scored above ``threshold``.

    Raises:
        InvalidArgument: no label equals ``pos_label``, so recall is undefined.
    """
    positive, predicted = _at_threshold(labels, scores, threshold, pos_label)
    count = int(positive.sum())
    if not count:
        raise _one_class_error(np.asarray(labels), pos_label, positive)
    return float((positive & predicted).sum() / count)


def accuracy(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    threshold: float = 0.5,
    pos_label: object = 1,
) -> float:
    """Share of instances whose prediction at ``threshold`` matches their label."""
    positive, predicted = _at_threshold(labels, scores, threshold, pos_label)
    return float((positive == predicted).mean())


def lift(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    threshold: float = 0.5,
    pos_label: object = 1,
) -> float:
    """Precision above ``threshold`` over the positive rate of the whole data set.

    Raises:
        InvalidArgument: no positive label, or nothing scored above ``threshold`` (lift is
            then undefined, where ``precision`` has a conventional 0.0).
    """
    positive, predicted = _at_threshold(labels, scores, threshold, pos_label)
    if not positive.any():
        raise _one_class_error(np.asarray(labels), pos_label, positive)
    count = int(predicted.sum())
    if not count:
        raise InvalidArgument(
            f"lift is undefined at threshold {threshold}: no score is above it",
            threshold=threshold,
        )
    return float((positive & predicted).sum() / count / positive.mean())


def gain(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    threshold: float = 0.5,
    pos_label: object = 1,
) -> float:
    """Share of all positives captured above ``threshold``: recall, read as a gain chart does."""
    return recall(labels, scores, threshold=threshold, pos_label=pos_label)


# --- binary: curves ----------------------------------------------------------------------------


def roc_curve(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: object = 1,
    bins: int | None = DEFAULT_BINS,
) -> Curve:
    """ROC points ``(fpr, tpr)`` from ``(0, 0)`` to ``(1, 1)``, by falling threshold.

    ``bins=None`` gives every distinct threshold (the exact curve); otherwise the corners,
    subsampled to at most ``bins + 1`` points, as the module docstring says.
    """
    ranking = _Ranking.of(labels, scores, pos_label)
    return ranking.curve(ranking.roc_rows(bins), ranking.fpr, ranking.tpr)


def ks_curves(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: object = 1,
    bins: int | None = DEFAULT_BINS,
) -> tuple[Curve, Curve]:
    """The two curves of a KS chart: fpr and tpr against the share predicted positive."""
    ranking = _Ranking.of(labels, scores, pos_label)
    rows = ranking.rate_rows(bins)
    return ranking.curve(rows, ranking.rate, ranking.fpr), ranking.curve(
        rows, ranking.rate, ranking.tpr
    )


def lift_curve(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: object = 1,
    bins: int | None = DEFAULT_BINS,
) -> Curve:
    """Lift against the share predicted positive; it starts past 0, where lift is undefined."""
    ranking = _Ranking.of(labels, scores, pos_label)
    rows = ranking.rate_rows(bins)
    return ranking.curve(rows[rows > 0], ranking.rate, ranking.lift())


def gain_curve(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: object = 1,
    bins: int | None = DEFAULT_BINS,
) -> Curve:
    """Share of positives captured against the share predicted positive, ``(0, 0)`` to ``(1, 1)``."""
    ranking = _Ranking.of(labels, scores, pos_label)
    return ranking.curve(ranking.rate_rows(bins), ranking.rate, ranking.tpr)


def accuracy_curve(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: object = 1,
    bins: int | None = DEFAULT_BINS,
) -> Curve:
    """Accuracy against the share predicted positive."""
    ranking = _Ranking.of(labels, scores, pos_label)
    return ranking.curve(ranking.rate_rows(bins), ranking.rate, ranking.accuracy())


def precision_recall_curves(
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: object = 1,
    bins: int | None = DEFAULT_BINS,
) -> tuple[Curve, Curve]:
    """Precision and recall against the share predicted positive, paired point by point.

    FATE's board draws the PR curve from the pair, so both share x and thresholds. Where
    several thresholds reach the same recall only the one with the best precision stays, as in
    FATE. The first point predicts nothing positive: recall 0 with precision 1, the usual start
    of a PR curve (FATE imputes the same 1).
    """
    ranking = _Ranking.of(labels, scores, pos_label)
    rows = ranking.pr_rows(bins)
    return ranking.curve(rows, ranking.rate, ranking.precision()), ranking.curve(
        rows, ranking.rate, ranking.tpr
    )


# --- multi-class -------------------------------------------------------------------------------


def multi_accuracy(labels: npt.ArrayLike, predicted: npt.ArrayLike) -> float:
    """Share of instances whose predicted class is their label."""
    return _accuracy_of(*_class_inputs(labels, predicted))


def multi_precision(
    labels: npt.ArrayLike,
    predicted: npt.ArrayLike,
    *,
    classes: Iterable[object] | None = None,
) -> ClassScores:
    """Precision of each class; a class never predicted scores 0.0 (scikit-learn's default).

    ``per_class`` covers every class seen in ``labels`` or ``predicted``, plus any of
    ``classes`` (a homo model may know classes this data set lacks; FATE pads them with 0.0).
    ``macro`` averages the classes seen only, as FATE's summary does.
    """
    return _per_class(*_class_inputs(labels, predicted), classes, by_prediction=True)


def multi_recall(
    labels: npt.ArrayLike,
    predicted: npt.ArrayLike,
    *,
    classes: Iterable[object] | None = None,
) -> ClassScores:
    """Recall of each class; a class absent from ``labels`` scores 0.0. See `multi_precision`."""
    return _per_class(*_class_inputs(labels, predicted), classes, by_prediction=False)


# --- regression --------------------------------------------------------------------------------
# A constant label column makes explained variance and r2 0/0: as scikit-learn does, a perfect
# prediction then scores 1.0 and any other 0.0, so a summary never holds NaN or infinity.


def explained_variance(labels: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    """``1 - Var(y - p) / Var(y)``."""
    y, p = _regression_inputs(labels, predictions)
    return _one_minus_ratio(float(np.var(y - p)), float(np.var(y)))


def mean_absolute_error(labels: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    y, p = _regression_inputs(labels, predictions)
    return float(np.mean(np.abs(y - p)))


def mean_squared_error(labels: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    y, p = _regression_inputs(labels, predictions)
    return float(np.mean((y - p) ** 2))


def median_absolute_error(labels: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    y, p = _regression_inputs(labels, predictions)
    return float(np.median(np.abs(y - p)))


def r2_score(labels: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``."""
    y, p = _regression_inputs(labels, predictions)
    return _one_minus_ratio(float(np.sum((y - p) ** 2)), float(np.sum((y - y.mean()) ** 2)))


def root_mean_squared_error(labels: npt.ArrayLike, predictions: npt.ArrayLike) -> float:
    return float(np.sqrt(mean_squared_error(labels, predictions)))


_REGRESSION_FUNCTIONS: dict[str, Callable[[npt.ArrayLike, npt.ArrayLike], float]] = {
    "explained_variance": explained_variance,
    "mean_absolute_error": mean_absolute_error,
    "mean_squared_error": mean_squared_error,
    "median_absolute_error": median_absolute_error,
    "r2_score": r2_score,
    "root_mean_squared_error": root_mean_squared_error,
}


# --- clustering --------------------------------------------------------------------------------
# Rows' clusters against their labels, as FATE's clustering_metric.py computes them with
# scikit-learn (whose definitions these are), and the clusters' own measures.


def jaccard_similarity_score(labels: npt.ArrayLike, clusters: npt.ArrayLike) -> float:
    """Per value, |label = v and cluster = v| / |label = v or cluster = v|, averaged weighted by
    the labels' counts (scikit-learn's ``jaccard_score(average="weighted")``: a cluster index
    is compared with the label of the same value)."""
    truth, guess = _class_inputs(labels, clusters)
    counts = Counter(truth)
    total = 0.0
    for value, support in counts.items():
        both = sum(1 for t, g in zip(truth, guess, strict=True) if t == value and g == value)
        either = sum(1 for t, g in zip(truth, guess, strict=True) if t == value or g == value)
        total += support * both / either
    return total / len(truth)


def fowlkes_mallows_score(labels: npt.ArrayLike, clusters: npt.ArrayLike) -> float:
    """The geometric mean of the pairs' precision and recall: pairs together in both over
    pairs together in each."""
    table = _contingency(labels, clusters)[0]
    n = table.sum()
    together = float((table**2).sum() - n)
    by_cluster = float((table.sum(axis=0) ** 2).sum() - n)
    by_label = float((table.sum(axis=1) ** 2).sum() - n)
    if together == 0.0:
        return 0.0
    return float(np.sqrt(together / by_cluster) * np.sqrt(together / by_label))


def adjusted_rand_score(labels: npt.ArrayLike, clusters: npt.ArrayLike) -> float:
    """The Rand index adjusted for chance, from the pair confusion matrix; 1.0 when the two
    partitions agree on every pair (scikit-learn's convention for the degenerate cases)."""
    table = _contingency(labels, clusters)[0].astype(np.float64)
    n = table.sum()
    sum_squares = float((table**2).sum())
    rows, columns = table.sum(axis=1), table.sum(axis=0)
    tp = sum_squares - n
    fp = float((columns**2).sum()) - sum_squares
    fn = float((rows**2).sum()) - sum_squares
    tn = n**2 - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def contingency_matrix(
    labels: npt.ArrayLike, clusters: npt.ArrayLike
) -> tuple[list[list[int]], list[int], list[Label]]:
    """Rows per label (sorted), columns per cluster index 0 ... the largest: the rows counted
    in each (FATE's ``ContengincyMatrix``: ``result_table``, ``predicted_labels``,
    ``true_labels``)."""
    table, truth = _contingency(labels, clusters)
    return (
        [[int(v) for v in row] for row in table],
        list(range(table.shape[1])),
        truth,
    )


def _contingency(
    labels: npt.ArrayLike, clusters: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], list[Label]]:
    truth, guess = _class_inputs(labels, clusters)
    if not all(isinstance(g, int) and g >= 0 for g in guess):
        raise InvalidArgument("cluster indexes must be whole numbers from 0")
    true_labels = _sorted_labels(truth)
    row_of = {label: i for i, label in enumerate(true_labels)}
    table = np.zeros((len(true_labels), max(int(g) for g in guess) + 1), dtype=np.int64)
    for t, g in zip(truth, guess, strict=True):
        table[row_of[t], int(g)] += 1
    return table, true_labels


def _clusters_of(between: Sequence[float]) -> int:
    """k, from the k * (k - 1) distances between centroids (FATE's order: i, then j != i)."""
    k = round(float(1 + np.sqrt(1 + 4 * len(between))) / 2)
    if k * (k - 1) != len(between):
        raise InvalidArgument(
            f"{len(between)} distances between centroids are not k * (k - 1) for any k"
        )
    return k


def davies_bouldin(intra: Mapping[int, tuple[int, float]], between: FloatArray, k: int) -> float:
    """FATE's DaviesBouldinIndex over the clusters with rows: the mean over i of the largest
    (s_i + s_j) / d_ij, d_ij the distance between centroids i and j."""
    present = sorted(intra)
    if len(present) == 1:
        return float("nan")
    worst = []
    for i in present:
        ratios = []
        for j in present:
            if j != i:
                # Position of (i, j) in centroid_distances' order.
                d = between[i * (k - 1) + (j if j < i else j - 1)]
                ratios.append((intra[i][1] + intra[j][1]) / float(np.sqrt(d)))
        worst.append(max(ratios))
    return float(np.sum(worst) / len(present))


def davies_bouldin_index(
    indexes: Sequence[int], mean_distances: Sequence[float], between: Sequence[float]
) -> float:
    """FATE's DaviesBouldinIndex of the clusters ``indexes`` (each with its rows' mean distance
    to its centroid), ``between`` the squared distances between the k centroids."""
    k = _clusters_of(between)
    intra = {index: (0, float(d)) for index, d in zip(indexes, mean_distances, strict=True)}
    return davies_bouldin(intra, np.asarray(between, dtype=np.float64), k)


def distance_measure(
    indexes: Sequence[int], radii: Sequence[float], between: Sequence[float]
) -> dict[int, tuple[float, int]]:
    """Per cluster, its radius and its nearest other cluster (FATE's DistanceMeasure)."""
    k = _clusters_of(between)
    result = {}
    for index, radius in zip(indexes, radii, strict=True):
        others = [j for j in range(k) if j != index]
        row = between[index * (k - 1) : (index + 1) * (k - 1)]
        nearest = others[int(np.argmin(row))] if others else 0
        result[int(index)] = (float(radius), nearest)
    return result


def evaluate_clustering(
    data_name: str,
    namespace: str,
    labels: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    metrics: Iterable[str] | None = None,
    round_num: int = DEFAULT_ROUND_NUM,
) -> DataSetEvaluation:
    """The label metrics of rows' clusters (the guest's HeteroKmeans output): the single values
    in ``<data>`` (``CLUSTERING_EVALUATION_SUMMARY``) and ``<data>_contingency_matrix`` (its meta
    ``true_labels``, ``predicted_labels``, ``result_table``)."""
    chosen = [m for m in resolve_metrics(CLUSTERING, metrics) if m not in CLUSTER_METRICS]
    builder = _Records(data_name, namespace, round_num, CLUSTERING_SUMMARY_TYPE)
    scores = {
        "jaccard_similarity_score": jaccard_similarity_score,
        "fowlkes_mallows_score": fowlkes_mallows_score,
        "adjusted_rand_score": adjusted_rand_score,
    }
    for metric in chosen:
        if metric == "contingency_matrix":
            table, predicted, truth = contingency_matrix(labels, clusters)
            builder.table(
                "contingency_matrix",
                CONTINGENCY_TYPE,
                true_labels=truth,
                predicted_labels=predicted,
                result_table=table,
            )
        else:
            builder.single(metric, scores[metric](labels, clusters))
    return builder.result()


def evaluate_clusters(
    data_name: str,
    namespace: str,
    indexes: Sequence[int],
    mean_distances: Sequence[float],
    radii: Sequence[float],
    between: Sequence[float],
    *,
    metrics: Iterable[str] | None = None,
    round_num: int = DEFAULT_ROUND_NUM,
) -> DataSetEvaluation:
    """The clusters' metrics (the arbiter's HeteroKmeans output): ``davies_bouldin_index`` in
    ``<data>``, and ``<data>_distance_measure`` (meta ``cluster_index``, ``radius``,
    ``nearest_idx``)."""
    chosen = [m for m in resolve_metrics(CLUSTERING, metrics) if m in CLUSTER_METRICS]
    order = np.argsort(np.asarray(indexes), kind="stable")
    indexes = [int(indexes[i]) for i in order]
    mean_distances = [float(mean_distances[i]) for i in order]
    radii = [float(radii[i]) for i in order]
    builder = _Records(data_name, namespace, round_num, CLUSTERING_SUMMARY_TYPE)
    for metric in chosen:
        if metric == "davies_bouldin_index":
            builder.single(metric, davies_bouldin_index(indexes, mean_distances, between))
        else:
            measured = distance_measure(indexes, radii, between)
            builder.table(
                "distance_measure",
                DISTANCE_TYPE,
                cluster_index=list(measured),
                radius=[round(r, round_num) for r, _ in measured.values()],
                nearest_idx=[n for _, n in measured.values()],
            )
    return builder.result()


def one_vs_rest(
    data_name: str,
    namespace: str,
    labels: npt.ArrayLike,
    details: Sequence[Mapping[str, float]],
) -> list[MetricRecord]:
    """FATE's ``unfold_multi_result``: each class against the rest, its AUC and KS from its
    scores in ``details``; one record ``<data>_class_<c>_ovr`` per class (``ovr``, meta ``{c:
    {"auc": ..., "ks": ...}}``)."""
    truth = [str(label) for label in _labels(labels, "labels")]
    records = []
    classes = sorted({c for detail in details for c in detail}, key=_class_order)
    for cls in classes:
        binary = [1 if t == cls else 0 for t in truth]
        scores = [float(detail.get(cls, 0.0)) for detail in details]
        ranking = _Ranking.of(binary, scores, 1)
        values = {"auc": ranking.auc(), "ks": ranking.ks()}
        records.append(
            MetricRecord(
                namespace,
                f"{data_name}_class_{cls}_ovr",
                [],
                {"name": data_name, "metric_type": OVR_TYPE, cls: values},
            )
        )
    return records


def _class_order(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


# --- records -----------------------------------------------------------------------------------


def resolve_metrics(eval_type: str, metrics: Iterable[str] | None = None) -> tuple[str, ...]:
    """FATE's metric names for ``eval_type``, from a user's list with aliases; None = all.

    Precision and recall come together, as in FATE's ``EvaluateParam``, because the board
    draws them as one PR curve. The result is in FATE's order for the eval type.

    Raises:
        InvalidArgument: an unknown eval type, or a metric unknown or not for this eval type.
    """
    allowed = METRICS.get(eval_type)
    if allowed is None:
        raise InvalidArgument(
            f"eval_type {eval_type!r} is not one of {', '.join(METRICS)}", eval_type=eval_type
        )
    if isinstance(metrics, str):
        metrics = [metrics]  # one name, not its letters
    wanted: set[str] = set()
    for metric in metrics or ():
        name = ALIASES.get(metric.lower(), metric.lower())
        if name not in allowed:
            raise InvalidArgument(
                f"metric {metric!r} is not used for {eval_type} evaluation; "
                f"use one of {', '.join(allowed)}",
                metric=metric,
                eval_type=eval_type,
            )
        wanted.add(name)
    if not wanted:
        wanted = set(allowed)  # FATE's default, for None and for an empty list
    if {"precision", "recall"} & wanted:
        wanted |= {"precision", "recall"}
    return tuple(metric for metric in allowed if metric in wanted)


def evaluate(
    data_name: str,
    namespace: str,
    eval_type: str,
    labels: npt.ArrayLike,
    predictions: npt.ArrayLike,
    *,
    pos_label: object = 1,
    metrics: Iterable[str] | None = None,
    round_num: int = DEFAULT_ROUND_NUM,
    bins: int = DEFAULT_BINS,
) -> DataSetEvaluation:
    """Evaluate one data set and give FATE's metric records for it.

    ``data_name`` is the evaluated component (``hetero_lr_0``); ``namespace`` the data's
    ``type`` column (``train``, ``validate``). ``predictions`` are the positive-class scores
    for ``binary``, the predicted classes for ``multi`` and the predicted values for
    ``regression``, as FATE's Evaluation reads ``predict_score`` or ``predict_result``.

    Records, all in ``namespace``, each meta with ``name`` (= the metric name) and
    ``metric_type``:

    * ``<data>``, ``EVALUATION_SUMMARY``: the single values as points ``("auc", 0.98)``,
      ``("ks", 0.9)``; for ``multi`` ``accuracy`` and the macro ``precision`` and ``recall``;
      for ``regression`` each regression metric.
    * binary curves, keyed by x (rounded, sorted), meta ``thresholds`` aligned with the points:
      ``<data>_ks_fpr`` / ``<data>_ks_tpr`` ``KS_EVALUATION`` (x = share predicted positive;
      ``curve_name`` ``<data>_fpr`` / ``<data>_tpr``, ``pair_type`` ``<data>``);
      ``<data>_lift`` ``LIFT_EVALUATION``, ``<data>_gain`` ``GAIN_EVALUATION`` and
      ``<data>_accuracy`` ``ACCURACY_EVALUATION`` (``curve_name`` ``<data>``);
      ``<data>_precision`` / ``<data>_recall`` ``PRECISION_BINARY_EVALUATION`` /
      ``RECALL_BINARY_EVALUATION`` (``ordinate_name`` ``Precision`` / ``Recall``,
      ``curve_name`` and ``pair_type`` ``<data>``); ``<data>_roc`` ``ROC_EVALUATION``
      (points ``(fpr, tpr)``, ``unit_name`` ``fpr``, ``ordinate_name`` ``tpr``,
      ``curve_name`` ``<data>``).
    * multi: ``<data>_precision`` / ``<data>_recall`` ``PRECISION_MULTI_EVALUATION`` /
      ``RECALL_MULTI_EVALUATION``, one point per class, the binary metas without thresholds.

    FATE leaves ``unit_name`` out of every curve but ROC (it passes "" and drops empty
    extras); so do we. Threshold lists are rounded like the points.

    Raises:
        InvalidArgument: bad names, parameters or inputs; binary data with one class only.
    """
    if not data_name:
        raise InvalidArgument("the evaluated data set needs a name")
    if not namespace:
        raise InvalidArgument("the evaluated data set needs a namespace (train, validate)")
    if isinstance(round_num, bool) or not isinstance(round_num, int) or round_num < 0:
        raise InvalidArgument(
            f"round_num must be a whole number >= 0, not {round_num!r}", round_num=round_num
        )
    _check_bins(bins)
    if eval_type == CLUSTERING:
        raise InvalidArgument(
            "eval_type 'clustering' is evaluated by evaluate_clustering or evaluate_clusters"
        )
    chosen = resolve_metrics(eval_type, metrics)
    builder = _Records(data_name, namespace, round_num)
    if eval_type == BINARY:
        _binary_records(builder, chosen, _Ranking.of(labels, predictions, pos_label), bins)
        label_array = _vector(labels, "labels")
        positive = _positive_mask(label_array, pos_label)
        _binary_tables(builder, chosen, positive, _scores(predictions, len(positive)))
    elif eval_type == MULTI:
        _multi_records(builder, chosen, labels, predictions)
    else:
        for metric in chosen:
            builder.single(metric, _REGRESSION_FUNCTIONS[metric](labels, predictions))
    return builder.result()


def component_summary(evaluations: Iterable[DataSetEvaluation]) -> dict[str, float]:
    """The Evaluation component's summary from its data sets' evaluations, as FATE builds it.

    FATE keeps one flat ``{metric: value}`` per namespace and reports the ``validate`` one when
    there is one, else ``train``; with several data sets in a namespace, the later ones'
    values win.
    """
    by_namespace: dict[str, dict[str, float]] = {}
    for evaluation in evaluations:
        by_namespace.setdefault(evaluation.namespace, {}).update(evaluation.summary)
    return dict(by_namespace.get("validate") or by_namespace.get("train") or {})


class _Records:
    """Collects the records of one data set, rounding as FATE does."""

    def __init__(
        self, data_name: str, namespace: str, round_num: int, summary_type: str = SUMMARY_TYPE
    ) -> None:
        self.data_name = data_name
        self.namespace = namespace
        self.round_num = round_num
        self.summary_type = summary_type
        self.summary: dict[str, float] = {}
        self.curves: list[MetricRecord] = []

    def single(self, metric: str, value: float) -> None:
        self.summary[metric] = float(value)

    def curve(self, suffix: str, metric_type: str, curve: Curve, **extra: str) -> None:
        x = [round(value, self.round_num) for value in curve.x]
        order = sorted(range(len(x)), key=x.__getitem__)  # stable: thresholds stay with points
        points: list[Point] = [(x[i], round(curve.y[i], self.round_num)) for i in order]
        thresholds = [round(curve.thresholds[i], self.round_num) for i in order]
        self._add(suffix, metric_type, points, {**extra, "thresholds": thresholds})

    def classes(self, suffix: str, metric_type: str, scores: ClassScores, **extra: str) -> None:
        points: list[Point] = [
            (label, round(value, self.round_num)) for label, value in scores.per_class.items()
        ]
        self._add(suffix, metric_type, points, extra)

    def table(self, suffix: str, metric_type: str, **extra: Any) -> None:
        """A metric FATE keeps as meta only (a table for the board), no points."""
        self._add(suffix, metric_type, [], extra)

    def _add(
        self, suffix: str, metric_type: str, points: list[Point], extra: dict[str, Any]
    ) -> None:
        name = f"{self.data_name}_{suffix}"
        meta = {"name": name, "metric_type": metric_type, **extra}
        self.curves.append(MetricRecord(self.namespace, name, points, meta))

    def result(self) -> DataSetEvaluation:
        records = list(self.curves)
        if self.summary:
            points: list[Point] = [
                (metric, round(value, self.round_num)) for metric, value in self.summary.items()
            ]
            meta = {"name": self.data_name, "metric_type": self.summary_type}
            records.insert(0, MetricRecord(self.namespace, self.data_name, points, meta))
        return DataSetEvaluation(self.data_name, self.namespace, records, dict(self.summary))


def _binary_tables(
    builder: _Records, chosen: Collection[str], positive: npt.NDArray[np.bool_], scores: FloatArray
) -> None:
    """FATE's binary metrics kept as tables (meta only): at its 100 fixed thresholds 0, 0.01,
    ..., 0.99, the confusion matrix and F1; at its 21 score quantiles, precision and recall."""
    digits = builder.round_num
    if "confusion_mat" in chosen:
        matrix = confusion_matrix(positive, scores, FIXED_THRESHOLDS)
        builder.table(
            "confusion_mat",
            CONFUSION_MAT_TYPE,
            **{key: [int(v) for v in matrix[key]] for key in ("tp", "tn", "fp", "fn")},
            thresholds=[round(float(t), digits) for t in FIXED_THRESHOLDS],
        )
    if "f1_score" in chosen:
        builder.table(
            "f1_score",
            F1_SCORE_TYPE,
            f1_scores=[round(float(v), digits) for v in f1_scores(positive, scores)],
            thresholds=[round(float(t), digits) for t in FIXED_THRESHOLDS],
        )
    if "quantile_pr" in chosen:
        precisions, recalls, thresholds = quantile_pr(positive, scores)
        builder.table(
            "quantile_pr",
            QUANTILE_PR_TYPE,
            p_scores=[[0, round(float(v), digits)] for v in precisions],
            r_scores=[[0, round(float(v), digits)] for v in recalls],
            thresholds=[round(float(t), digits) for t in thresholds],
        )


#: FATE's `fixed_interval_threshold`: the confusion matrix's and F1's thresholds.
FIXED_THRESHOLDS = np.arange(100) * 0.01
#: FATE's `cut_by_quantile` default: the quantiles of quantile_pr and PSI.
QUANTILES = [round(i * 0.05, 3) for i in range(20)] + [1.0]


def confusion_matrix(
    positive: npt.NDArray[np.bool_], scores: FloatArray, thresholds: npt.ArrayLike
) -> dict[str, IntArray]:
    """tp, tn, fp, fn when a score above each threshold predicts positive."""
    cuts = np.asarray(thresholds, dtype=np.float64)
    ranked_positive = np.sort(scores[positive])
    ranked_negative = np.sort(scores[~positive])
    tp = len(ranked_positive) - np.searchsorted(ranked_positive, cuts, side="right")
    fp = len(ranked_negative) - np.searchsorted(ranked_negative, cuts, side="right")
    return {"tp": tp, "fp": fp, "fn": len(ranked_positive) - tp, "tn": len(ranked_negative) - fp}


def _precision_recall(matrix: Mapping[str, IntArray]) -> tuple[FloatArray, FloatArray]:
    predicted = matrix["tp"] + matrix["fp"]
    # FATE imputes 1.0 where nothing is predicted positive (the start of a PR curve).
    precision = np.divide(matrix["tp"], predicted, out=np.ones(len(predicted)), where=predicted > 0)
    actual = matrix["tp"] + matrix["fn"]
    recall = np.divide(matrix["tp"], actual, out=np.zeros(len(actual)), where=actual > 0)
    return precision, recall


def f1_scores(positive: npt.NDArray[np.bool_], scores: FloatArray) -> FloatArray:
    """F1 at FATE's fixed thresholds; FATE's 1e-6 for a zero denominator."""
    precision, recall = _precision_recall(confusion_matrix(positive, scores, FIXED_THRESHOLDS))
    denominator = precision + recall
    denominator[denominator == 0] = 1e-6
    f1: FloatArray = 2 * precision * recall / denominator
    return f1


def quantile_pr(
    positive: npt.NDArray[np.bool_], scores: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Precision and recall at the scores' 21 quantiles (numpy's `nearest`), by rising
    threshold, as FATE's `quantile_pr`."""
    thresholds = np.sort(np.quantile(scores, QUANTILES, method="nearest"))
    precision, recall = _precision_recall(confusion_matrix(positive, scores, thresholds))
    return precision, recall, thresholds


def psi(
    data_name: str,
    namespace: str,
    train: tuple[npt.ArrayLike, npt.ArrayLike],
    validate: tuple[npt.ArrayLike, npt.ArrayLike],
    *,
    pos_label: object = 1,
    round_num: int = DEFAULT_ROUND_NUM,
) -> MetricRecord:
    """FATE's population stability index of the validate scores against the train scores
    (each a `(labels, scores)` pair), over the train scores' quantiles: ``<data>_psi``, meta
    only (``psi_scores``, ``total_psi``, the counts and shares of each interval and its share
    of positives)."""
    (train_labels, train_scores), (validate_labels, validate_scores) = train, validate
    expected = _scores(train_scores, len(_vector(train_labels, "labels")))
    actual = _scores(validate_scores, len(_vector(validate_labels, "labels")))
    points = sorted(set(np.quantile(expected, QUANTILES, method="nearest").tolist()))
    if len(points) == 1:
        points = [float(expected.min()), float(expected.max())]

    def counts(values: FloatArray) -> IntArray:
        # Intervals [p_i, p_i+1), the last one closed on both sides.
        found = np.searchsorted(points, values, side="right") - 1
        found[values == points[-1]] = len(points) - 2
        inside = (found >= 0) & (found <= len(points) - 2) & (values <= points[-1])
        return np.bincount(found[inside], minlength=len(points) - 1)

    train_count, validate_count = counts(expected), counts(actual)
    train_positive = counts(expected[_positive_mask(np.asarray(train_labels), pos_label)])
    validate_positive = counts(actual[_positive_mask(np.asarray(validate_labels), pos_label)])

    def shares(part: IntArray, whole: IntArray) -> list[float]:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = part / whole
        ratio[np.isinf(ratio)] = -1
        ratio[np.isnan(ratio)] = 0
        return [float(v) for v in ratio]

    expected_interval = np.where(train_count == 0, 1e-6, train_count.astype(np.float64))
    actual_interval = np.where(validate_count == 0, 1e-6, validate_count.astype(np.float64))
    expected_share = expected_interval / len(expected)
    actual_share = actual_interval / len(actual)
    scores = (actual_share - expected_share) * np.log(actual_share / expected_share)
    intervals = [
        f"[{round(points[index], round_num)}, {round(points[index + 1], round_num)}"
        + ("]" if index == len(points) - 2 else ")")
        for index in range(len(points) - 1)
    ]
    meta = {
        "name": f"{data_name}_psi",
        "metric_type": PSI_TYPE,
        "psi_scores": [round(float(v), round_num) for v in scores],
        "total_psi": round(float(scores.sum()), round_num),
        "expected_interval": [int(v) for v in train_count],
        "expected_percentage": [float(v) for v in expected_share],
        "actual_interval": [int(v) for v in validate_count],
        "actual_percentage": [float(v) for v in actual_share],
        "intervals": intervals,
        "train_pos_perc": shares(train_positive, train_count),
        "validate_pos_perc": shares(validate_positive, validate_count),
    }
    return MetricRecord(namespace, f"{data_name}_psi", [], meta)


def _binary_records(
    builder: _Records, chosen: Collection[str], ranking: _Ranking, bins: int
) -> None:
    data = builder.data_name
    rows = ranking.rate_rows(bins)
    if "auc" in chosen:
        builder.single("auc", ranking.auc())
    if "ks" in chosen:
        builder.single("ks", ranking.ks())
        for values, suffix in ((ranking.fpr, "fpr"), (ranking.tpr, "tpr")):
            builder.curve(
                f"ks_{suffix}",
                KS_TYPE,
                ranking.curve(rows, ranking.rate, values),
                curve_name=f"{data}_{suffix}",
                pair_type=data,
            )
    if "lift" in chosen:
        lift_rows = rows[rows > 0]
        builder.curve(
            "lift",
            LIFT_TYPE,
            ranking.curve(lift_rows, ranking.rate, ranking.lift()),
            curve_name=data,
        )
    if "gain" in chosen:
        builder.curve(
            "gain", GAIN_TYPE, ranking.curve(rows, ranking.rate, ranking.tpr), curve_name=data
        )
    if "accuracy" in chosen:
        builder.curve(
            "accuracy",
            ACCURACY_TYPE,
            ranking.curve(rows, ranking.rate, ranking.accuracy()),
            curve_name=data,
        )
    if "precision" in chosen:  # resolve_metrics adds recall with it
        pr_rows = ranking.pr_rows(bins)
        for suffix, metric_type, values, ordinate in (
            ("precision", PRECISION_BINARY_TYPE, ranking.precision(), "Precision"),
            ("recall", RECALL_BINARY_TYPE, ranking.tpr, "Recall"),
        ):
            builder.curve(
                suffix,
                metric_type,
                ranking.curve(pr_rows, ranking.rate, values),
                ordinate_name=ordinate,
                curve_name=data,
                pair_type=data,
            )
    if "roc" in chosen:
        builder.curve(
            "roc",
            ROC_TYPE,
            ranking.curve(ranking.roc_rows(bins), ranking.fpr, ranking.tpr),
            unit_name="fpr",
            ordinate_name="tpr",
            curve_name=data,
        )


def _multi_records(
    builder: _Records, chosen: Collection[str], labels: npt.ArrayLike, predicted: npt.ArrayLike
) -> None:
    data = builder.data_name
    truth, guess = _class_inputs(labels, predicted)
    if "accuracy" in chosen:
        builder.single("accuracy", _accuracy_of(truth, guess))
    if "precision" in chosen:  # resolve_metrics adds recall with it
        precisions = _per_class(truth, guess, None, by_prediction=True)
        recalls = _per_class(truth, guess, None, by_prediction=False)
        builder.single("precision", precisions.macro)
        builder.single("recall", recalls.macro)
        for suffix, metric_type, scores, ordinate in (
            ("precision", PRECISION_MULTI_TYPE, precisions, "Precision"),
            ("recall", RECALL_MULTI_TYPE, recalls, "Recall"),
        ):
            builder.classes(
                suffix,
                metric_type,
                scores,
                ordinate_name=ordinate,
                curve_name=data,
                pair_type=data,
            )


# --- the ranking behind every binary metric ----------------------------------------------------


@dataclass(frozen=True)
class _Ranking:
    """Every distinct decision on one binary data set, from nothing positive to everything.

    Row ``j`` predicts positive the instances scored above ``thresholds[j]``: the ``j`` highest
    distinct scores. Row 0's threshold is the top score; the last row's lies below the lowest.
    ``tp`` and ``fp`` count, per row, the positives and negatives predicted positive.
    """

    thresholds: FloatArray
    tp: FloatArray
    fp: FloatArray
    positives: int
    negatives: int

    @classmethod
    def of(cls, labels: npt.ArrayLike, scores: npt.ArrayLike, pos_label: object) -> _Ranking:
        label_array = _vector(labels, "labels")
        positive = _positive_mask(label_array, pos_label)
        score_array = _scores(scores, len(positive))
        positives = int(positive.sum())
        if positives in (0, len(positive)):
            raise _one_class_error(label_array, pos_label, positive)
        order = np.argsort(-score_array, kind="stable")
        ranked = score_array[order]
        # The last instance of each run of equal scores: thresholds separate runs, never
        # instances within one, so a tie moves tp and fp together (the ROC's diagonal step).
        ends = np.append(np.flatnonzero(np.diff(ranked)), len(ranked) - 1)
        tp = np.cumsum(positive[order], dtype=np.float64)[ends]
        fp = (ends + 1) - tp
        distinct = ranked[ends]
        return cls(
            thresholds=np.append(distinct, _below(float(distinct[-1]))),
            tp=np.insert(tp, 0, 0.0),
            fp=np.insert(fp, 0, 0.0).astype(np.float64),
            positives=positives,
            negatives=len(positive) - positives,
        )

    @property
    def size(self) -> int:
        return self.positives + self.negatives

    @property
    def tpr(self) -> FloatArray:
        return self.tp / self.positives

    @property
    def fpr(self) -> FloatArray:
        return self.fp / self.negatives

    @property
    def rate(self) -> FloatArray:
        """Share of the data set each row predicts positive; strictly rising from 0 to 1."""
        return (self.tp + self.fp) / self.size

    def auc(self) -> float:
        # The trapezoid over every distinct threshold is exact: a tied run's diagonal step
        # gives each positive-negative pair in the run half a point.
        fpr, tpr = self.fpr, self.tpr
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))

    def ks(self) -> float:
        return float(np.max(self.tpr - self.fpr))

    def precision(self) -> FloatArray:
        predicted = self.tp + self.fp
        values = np.divide(self.tp, predicted, out=np.ones_like(self.tp), where=predicted > 0)
        return values  # row 0 predicts nothing: 1.0, the start of a PR curve

    def lift(self) -> FloatArray:
        # Row 0 has no lift (0/0): callers plot the rows past it; its imputed precision of 1
        # only keeps the array finite.
        return self.precision() / (self.positives / self.size)

    def accuracy(self) -> FloatArray:
        return (self.tp + (self.negatives - self.fp)) / self.size

    def rate_rows(self, bins: int | None) -> IntArray:
        """For each fraction ``k / bins``, the first row predicting at least that share."""
        rate = self.rate
        if bins is None:
            return np.arange(len(rate))
        _check_bins(bins)
        return np.unique(np.searchsorted(rate, np.linspace(0.0, 1.0, bins + 1), side="left"))

    def pr_rows(self, bins: int | None) -> IntArray:
        """`rate_rows`, keeping of rows with equal recall the one with the best precision."""
        rows = self.rate_rows(bins)
        tp, precision = self.tp[rows], self.precision()[rows]
        # Recall never falls along rows, so equal recalls form runs.
        starts = np.flatnonzero(np.diff(tp, prepend=-1.0))
        best = [
            start + int(np.argmax(segment))
            for start, segment in zip(starts, np.split(precision, starts[1:]), strict=True)
        ]
        return rows[best]

    def roc_rows(self, bins: int | None) -> IntArray:
        """Every row for ``bins=None``; else the corners, evenly thinned to ``bins + 1``."""
        if bins is None:
            return np.arange(len(self.tp))
        _check_bins(bins)
        # A row on a straight run between its neighbours adds nothing to the drawn curve.
        bends = np.logical_or(np.diff(self.tp, 2) != 0, np.diff(self.fp, 2) != 0)
        corners = np.flatnonzero(np.concatenate(([True], bends, [True])))
        if len(corners) <= bins + 1:
            return corners
        picks = np.unique(np.round(np.linspace(0, len(corners) - 1, bins + 1)).astype(np.intp))
        return corners[picks]

    def curve(self, rows: IntArray, x: FloatArray, y: FloatArray) -> Curve:
        return Curve(
            x=[float(v) for v in x[rows]],
            y=[float(v) for v in y[rows]],
            thresholds=[float(v) for v in self.thresholds[rows]],
        )


# --- input checks ------------------------------------------------------------------------------


def _vector(values: npt.ArrayLike, what: str) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InvalidArgument(f"{what} must be a flat sequence, not of shape {array.shape}")
    if not len(array):
        raise InvalidArgument(f"there is nothing to evaluate: {what} is empty")
    return array


def _numbers(values: npt.ArrayLike, what: str, size: int) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{what} must be numbers") from None
    if array.ndim != 1 or len(array) != size:
        raise InvalidArgument(
            f"{what} must be a flat sequence of {size}, one per label, not of shape {array.shape}",
            expected=size,
        )
    if not np.isfinite(array).all():
        raise InvalidArgument(f"{what} must be finite numbers (found NaN or infinity)")
    return array


def _scores(scores: npt.ArrayLike, size: int) -> FloatArray:
    return _numbers(scores, "scores", size)


def _positive_mask(labels: npt.NDArray[Any], pos_label: object) -> npt.NDArray[np.bool_]:
    mask = np.asarray(labels == pos_label)
    if mask.shape != labels.shape:  # numpy gave a scalar for an uncomparable pair
        mask = np.array([label == pos_label for label in labels.tolist()], dtype=bool)
    return mask.astype(bool)


def _at_threshold(
    labels: npt.ArrayLike, scores: npt.ArrayLike, threshold: float, pos_label: object
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    label_array = _vector(labels, "labels")
    score_array = _scores(scores, len(label_array))
    return _positive_mask(label_array, pos_label), score_array > threshold


def _one_class_error(
    labels: npt.NDArray[Any], pos_label: object, positive: npt.NDArray[np.bool_]
) -> InvalidArgument:
    if positive.all():
        return InvalidArgument(
            f"binary evaluation needs both classes, but all {len(labels)} labels are the "
            f"positive label {pos_label!r}",
            reason="ONE_CLASS_LABELS",
            pos_label=pos_label,
        )
    seen = sorted({repr(label) for label in labels.tolist()})[:10]
    return InvalidArgument(
        f"binary evaluation needs both classes, but no label equals pos_label {pos_label!r} "
        f"(labels seen: {', '.join(seen)})",
        reason="ONE_CLASS_LABELS",
        pos_label=pos_label,
        labels_seen=", ".join(seen),
    )


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InvalidArgument(f"bins must be a whole number >= 1, not {bins!r}", bins=bins)


def _below(lowest: float) -> float:
    # A threshold under every score. FATE uses lowest - 0.001; nextafter covers scores so large
    # that subtracting 0.001 changes nothing.
    return min(lowest - 1e-3, float(np.nextafter(lowest, -np.inf)))


def _regression_inputs(
    labels: npt.ArrayLike, predictions: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    y = _numbers(labels, "labels", len(_vector(labels, "labels")))
    return y, _numbers(predictions, "predictions", len(y))


def _one_minus_ratio(numerator: float, denominator: float) -> float:
    if denominator == 0.0:
        return 1.0 if numerator == 0.0 else 0.0
    return 1.0 - numerator / denominator


def _class_inputs(
    labels: npt.ArrayLike, predicted: npt.ArrayLike
) -> tuple[list[Label], list[Label]]:
    truth = _labels(labels, "labels")
    guess = _labels(predicted, "predicted classes")
    if len(guess) != len(truth):
        raise InvalidArgument(
            f"there are {len(truth)} labels but {len(guess)} predicted classes",
            labels=len(truth),
            predicted=len(guess),
        )
    return truth, guess


def _labels(values: npt.ArrayLike, what: str) -> list[Label]:
    array = _vector(values, what)
    # Whole arrays first: a million labels one by one through `_label` take seconds.
    if array.dtype.kind in "biu":
        return list(array.astype(np.int64).tolist())
    if array.dtype.kind == "f" and np.isfinite(array).all() and (array == np.round(array)).all():
        return list(array.astype(np.int64).tolist())
    return [_label(value) for value in array.tolist()]


def _label(value: object) -> Label:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            raise InvalidArgument(f"class label {value!r} is not a class")
        if value.is_integer():
            return int(value)  # a label column read as floats still names class 2, not 2.0
    if isinstance(value, int | float | str):
        return value
    raise InvalidArgument(f"class label {value!r} is not a number or a string")


def _sorted_labels(labels: Iterable[Label]) -> list[Label]:
    try:
        return sorted(set(labels))
    except TypeError:
        raise InvalidArgument("class labels mix numbers and strings") from None


def _accuracy_of(truth: list[Label], guess: list[Label]) -> float:
    return sum(t == g for t, g in zip(truth, guess, strict=True)) / len(truth)


def _per_class(
    truth: list[Label],
    guess: list[Label],
    classes: Iterable[object] | None,
    *,
    by_prediction: bool,
) -> ClassScores:
    hits = Counter(t for t, g in zip(truth, guess, strict=True) if t == g)
    totals = Counter(guess if by_prediction else truth)
    seen = _sorted_labels([*truth, *guess])
    scores = {label: hits[label] / totals[label] if totals[label] else 0.0 for label in seen}
    macro = sum(scores.values()) / len(scores)
    extra: Sequence[Label] = [_label(value) for value in classes or ()]
    padded = {label: scores.get(label, 0.0) for label in _sorted_labels([*seen, *extra])}
    return ClassScores(per_class=padded, macro=macro)
