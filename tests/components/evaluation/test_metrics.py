"""Evaluation metrics: hand-computed cases, scikit-learn as an oracle, and FATE's record format."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as sk

from fateflow_grpc.components.evaluation import metrics as em
from fateflow_grpc.errors import InvalidArgument

# A small case worked by hand. Positives score 0.9, 0.8, 0.6; negatives 0.8 (a tie with a
# positive), 0.3, 0.1. Of the 9 positive-negative pairs 7 are ordered right and 1 is tied:
# AUC = 7.5 / 9. Distinct thresholds 0.9 > 0.8 > 0.6 > 0.3 > 0.1 give, predicting positive
# the scores strictly above each, then everything:
#   row  threshold  tp fp  fpr  tpr  share positive
#   0    0.9        0  0   0    0    0
#   1    0.8        1  0   0    1/3  1/6
#   2    0.6        2  1   1/3  2/3  3/6   (the tied pair enters together)
#   3    0.3        3  1   1/3  1    4/6
#   4    0.1        3  2   2/3  1    5/6
#   5    < 0.1      3  3   1    1    1
LABELS = [1, 1, 0, 1, 0, 0]
SCORES = [0.9, 0.8, 0.8, 0.6, 0.3, 0.1]
THIRD = 1 / 3


def test_hand_computed_auc_ks() -> None:
    assert em.auc(LABELS, SCORES) == pytest.approx(7.5 / 9)
    assert em.ks(LABELS, SCORES) == pytest.approx(2 / 3)


def test_hand_computed_roc_curve_exact() -> None:
    curve = em.roc_curve(LABELS, SCORES, bins=None)
    assert curve.x == pytest.approx([0, 0, THIRD, THIRD, 2 * THIRD, 1])
    assert curve.y == pytest.approx([0, THIRD, 2 * THIRD, 1, 1, 1])
    assert curve.thresholds[:5] == [0.9, 0.8, 0.6, 0.3, 0.1]
    assert curve.thresholds[5] < 0.1


def test_hand_computed_threshold_metrics_are_strictly_above() -> None:
    # At 0.5: predicted positive 0.9, 0.8, 0.8, 0.6 -> 3 of 4 right, every positive found.
    assert em.precision(LABELS, SCORES) == pytest.approx(0.75)
    assert em.recall(LABELS, SCORES) == pytest.approx(1.0)
    assert em.accuracy(LABELS, SCORES) == pytest.approx(5 / 6)
    assert em.lift(LABELS, SCORES) == pytest.approx(0.75 / 0.5)
    assert em.gain(LABELS, SCORES) == pytest.approx(1.0)
    # A score equal to the threshold is negative, as in FATE's predict_result: only 0.9 is above.
    assert em.precision(LABELS, SCORES, threshold=0.8) == pytest.approx(1.0)
    assert em.recall(LABELS, SCORES, threshold=0.8) == pytest.approx(THIRD)
    # Nothing above the threshold: precision is 0 by convention, lift has no value.
    assert em.precision(LABELS, SCORES, threshold=0.95) == 0.0
    with pytest.raises(InvalidArgument, match="no score is above"):
        em.lift(LABELS, SCORES, threshold=0.95)


def test_hand_computed_curves_against_share_predicted_positive() -> None:
    share = [0, 1 / 6, 3 / 6, 4 / 6, 5 / 6, 1]
    fpr, tpr = em.ks_curves(LABELS, SCORES, bins=None)
    assert fpr.x == pytest.approx(share) and tpr.x == pytest.approx(share)
    assert fpr.y == pytest.approx([0, 0, THIRD, THIRD, 2 * THIRD, 1])
    assert tpr.y == pytest.approx([0, THIRD, 2 * THIRD, 1, 1, 1])

    gain = em.gain_curve(LABELS, SCORES, bins=None)
    assert gain.x == pytest.approx(share) and gain.y == pytest.approx(tpr.y)

    # Lift = precision / (3/6), undefined where nothing is predicted positive.
    lift = em.lift_curve(LABELS, SCORES, bins=None)
    assert lift.x == pytest.approx(share[1:])
    assert lift.y == pytest.approx([2, 4 / 3, 1.5, 1.2, 1.0])

    accuracy = em.accuracy_curve(LABELS, SCORES, bins=None)
    assert accuracy.y == pytest.approx([0.5, 4 / 6, 4 / 6, 5 / 6, 4 / 6, 0.5])

    # Rows 3-5 all have recall 1; the best precision (3/4 at row 3) stays. Row 0 starts the
    # PR curve at recall 0, precision 1.
    precision, recall = em.precision_recall_curves(LABELS, SCORES, bins=None)
    assert precision.y == pytest.approx([1, 1, 2 / 3, 0.75])
    assert recall.y == pytest.approx([0, THIRD, 2 * THIRD, 1])
    assert precision.x == recall.x == pytest.approx(share[:4])
    assert precision.thresholds == recall.thresholds == [0.9, 0.8, 0.6, 0.3]


def test_bucketing_takes_first_threshold_reaching_each_share() -> None:
    # bins=2 asks for shares 0, 1/2, 1: rows 0, 2 (share 1/2) and 5.
    fpr, _ = em.ks_curves(LABELS, SCORES, bins=2)
    assert fpr.x == pytest.approx([0, 0.5, 1])
    assert fpr.thresholds[:2] == [0.9, 0.6]


def test_all_tied_scores() -> None:
    labels, scores = [1, 0, 1, 0], [0.5] * 4
    assert em.auc(labels, scores) == 0.5
    assert em.ks(labels, scores) == 0.0
    curve = em.roc_curve(labels, scores)
    assert curve.x == [0.0, 1.0] and curve.y == [0.0, 1.0]
    # FATE's predict_result at 0.5 calls every one of these negative.
    assert em.accuracy(labels, scores) == 0.5
    assert em.precision(labels, scores) == 0.0


# --- scikit-learn as the oracle --------------------------------------------------------------


def _random_binary(seed: int, n: int, decimals: int | None) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.clip(0.35 * labels + rng.normal(0.35, 0.2, n), 0, 1)
    if decimals is not None:
        scores = np.round(scores, decimals)  # coarse scores: many ties
    return labels, scores


CASES = [
    (seed, n, decimals) for seed in range(4) for n, decimals in ((50, 1), (700, 2), (3000, None))
]


@pytest.mark.parametrize(("seed", "n", "decimals"), CASES)
def test_auc_ks_roc_match_sklearn(seed: int, n: int, decimals: int | None) -> None:
    labels, scores = _random_binary(seed, n, decimals)
    assert em.auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, thresholds = sk.roc_curve(labels, scores, drop_intermediate=False)
    assert em.ks(labels, scores) == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)
    curve = em.roc_curve(labels, scores, bins=None)
    np.testing.assert_allclose(curve.x, fpr)
    np.testing.assert_allclose(curve.y, tpr)
    # scikit-learn's point j takes scores >= its thresholds[j]; ours, scores > the next lower one.
    np.testing.assert_allclose(curve.thresholds[:-1], thresholds[1:])


@pytest.mark.parametrize(("seed", "n", "decimals"), CASES)
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_threshold_metrics_match_sklearn(
    seed: int, n: int, decimals: int | None, threshold: float
) -> None:
    labels, scores = _random_binary(seed, n, decimals)
    predicted = (scores > threshold).astype(int)
    kwargs: dict[str, Any] = {"threshold": threshold}
    assert em.precision(labels, scores, **kwargs) == pytest.approx(
        sk.precision_score(labels, predicted, zero_division=0)
    )
    assert em.recall(labels, scores, **kwargs) == pytest.approx(sk.recall_score(labels, predicted))
    assert em.accuracy(labels, scores, **kwargs) == pytest.approx(
        sk.accuracy_score(labels, predicted)
    )


@pytest.mark.parametrize(("seed", "n", "decimals"), CASES)
def test_every_curve_point_is_its_threshold_s_metric(
    seed: int, n: int, decimals: int | None
) -> None:
    """Each bucketed point, recomputed with scikit-learn at the threshold its meta names."""
    labels, scores = _random_binary(seed, n, decimals)
    base_rate = labels.mean()

    def at(threshold: float) -> tuple[Any, float]:
        predicted = (scores > threshold).astype(int)
        return predicted, float(predicted.mean())

    fpr_curve, tpr_curve = em.ks_curves(labels, scores, bins=20)
    for share, fpr, tpr, threshold in zip(
        fpr_curve.x, fpr_curve.y, tpr_curve.y, fpr_curve.thresholds, strict=True
    ):
        predicted, expected_share = at(threshold)
        assert share == pytest.approx(expected_share)
        assert tpr == pytest.approx(sk.recall_score(labels, predicted))
        # fpr is one minus the share of negatives predicted negative.
        assert fpr == pytest.approx(1 - sk.recall_score(1 - labels, 1 - predicted))

    for curve, metric in (
        (em.accuracy_curve(labels, scores, bins=20), sk.accuracy_score),
        (em.gain_curve(labels, scores, bins=20), sk.recall_score),
    ):
        for share, value, threshold in zip(curve.x, curve.y, curve.thresholds, strict=True):
            predicted, expected_share = at(threshold)
            assert share == pytest.approx(expected_share)
            assert value == pytest.approx(metric(labels, predicted))

    lift = em.lift_curve(labels, scores, bins=20)
    for value, threshold in zip(lift.y, lift.thresholds, strict=True):
        predicted, _ = at(threshold)
        assert value == pytest.approx(sk.precision_score(labels, predicted) / base_rate)

    precision, recall = em.precision_recall_curves(labels, scores, bins=20)
    assert precision.thresholds == recall.thresholds
    for p, r, threshold in zip(precision.y, recall.y, precision.thresholds, strict=True):
        predicted, _ = at(threshold)
        assert r == pytest.approx(sk.recall_score(labels, predicted))
        expected = sk.precision_score(labels, predicted, zero_division=1)  # FATE's 1 at the start
        assert p == pytest.approx(expected)


def test_pos_label_other_than_one() -> None:
    labels, scores = _random_binary(7, 400, 2)
    words = np.where(labels == 1, "yes", "no")
    assert em.auc(words, scores, pos_label="yes") == pytest.approx(em.auc(labels, scores))
    # pos_label 0 turns the classes round: the same scores now rank the positives last.
    assert em.auc(labels, scores, pos_label=0) == pytest.approx(
        sk.roc_auc_score(labels == 0, scores)
    )
    # The scores are always the positive class's: above 0.5 predicts class 0 here.
    assert em.recall(labels, scores, pos_label=0) == pytest.approx(
        sk.recall_score(labels == 0, scores > 0.5)
    )
    # Labels read as floats still match an int pos_label.
    assert em.ks(labels.astype(float), scores) == pytest.approx(em.ks(labels, scores))


@pytest.mark.parametrize("seed", range(3))
def test_regression_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(3, 2, 500)
    p = y + rng.normal(0, 1, 500)
    assert em.explained_variance(y, p) == pytest.approx(sk.explained_variance_score(y, p))
    assert em.mean_absolute_error(y, p) == pytest.approx(sk.mean_absolute_error(y, p))
    assert em.mean_squared_error(y, p) == pytest.approx(sk.mean_squared_error(y, p))
    assert em.median_absolute_error(y, p) == pytest.approx(sk.median_absolute_error(y, p))
    assert em.r2_score(y, p) == pytest.approx(sk.r2_score(y, p))
    assert em.root_mean_squared_error(y, p) == pytest.approx(sk.root_mean_squared_error(y, p))


def test_regression_constant_labels_stay_finite_like_sklearn() -> None:
    y = [2.0, 2.0, 2.0]
    for p in ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]):
        assert em.r2_score(y, p) == sk.r2_score(y, p)
        assert em.explained_variance(y, p) == sk.explained_variance_score(y, p)


@pytest.mark.parametrize("seed", range(3))
def test_multi_class_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, 300)
    # Mostly right, and class 4 is only ever predicted, never a label.
    predicted = np.where(rng.random(300) < 0.7, labels, rng.integers(0, 5, 300))
    classes = sorted(set(labels) | set(predicted))
    assert em.multi_accuracy(labels, predicted) == pytest.approx(
        sk.accuracy_score(labels, predicted)
    )
    for ours, theirs in (
        (em.multi_precision(labels, predicted), sk.precision_score),
        (em.multi_recall(labels, predicted), sk.recall_score),
    ):
        expected = theirs(labels, predicted, labels=classes, average=None, zero_division=0)
        assert list(ours.per_class) == classes
        assert list(ours.per_class.values()) == pytest.approx(list(expected))
        assert ours.macro == pytest.approx(
            theirs(labels, predicted, average="macro", zero_division=0)
        )


def test_multi_class_labels_and_padding() -> None:
    scores = em.multi_precision([0.0, 2.0, 2.0], [0.0, 2.0, 0.0], classes=[0, 1, 2, 3])
    assert scores.per_class == {0: 0.5, 1: 0.0, 2: 1.0, 3: 0.0}
    assert all(type(key) is int for key in scores.per_class)
    assert scores.macro == pytest.approx(0.75)  # over the classes seen, 0 and 2
    words = em.multi_recall(["a", "b", "b"], ["a", "b", "a"])
    assert words.per_class == {"a": 1.0, "b": 0.5}
    with pytest.raises(InvalidArgument, match="nan is not a class"):
        em.multi_accuracy([float("nan"), 1.5], [1.5, 1.5])


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [em.auc, em.ks, em.roc_curve, em.ks_curves, em.lift_curve, em.gain_curve, em.accuracy_curve],
)
def test_one_class_is_a_clear_invalid_argument(function: Any) -> None:
    with pytest.raises(InvalidArgument, match="all 3 labels are the positive label 1"):
        function([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(InvalidArgument, match="no label equals pos_label 1") as raised:
        function([0, 0, 0], [0.2, 0.5, 0.9])
    assert raised.value.reason == "ONE_CLASS_LABELS"


def test_one_class_in_evaluation_and_recall() -> None:
    with pytest.raises(InvalidArgument, match=r"labels seen: 'no', 'yes'"):
        em.evaluate("hetero_lr_0", "train", "binary", ["yes", "no"], [0.4, 0.6])
    with pytest.raises(InvalidArgument, match="needs both classes"):
        em.recall([0, 0], [0.1, 0.9])
    # Precision and accuracy need no second class.
    assert em.accuracy([0, 0], [0.1, 0.9]) == 0.5
    assert em.precision([1, 1], [0.1, 0.9]) == 1.0


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        ([], [], "empty"),
        ([0, 1], [0.5], "one per label"),
        ([0, 1], [0.5, float("nan")], "finite"),
        ([0, 1], ["a", "b"], "numbers"),
        ([[0, 1]], [[0.1, 0.2]], "flat"),
    ],
)
def test_bad_binary_inputs(labels: Any, scores: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        em.auc(labels, scores)


def test_bad_evaluation_parameters() -> None:
    good = ("hetero_lr_0", "train", "binary", LABELS, SCORES)
    with pytest.raises(InvalidArgument, match="eval_type 'clustering'"):
        em.evaluate("hetero_lr_0", "train", "clustering", LABELS, SCORES)
    with pytest.raises(InvalidArgument, match="'rmse' is not used for binary"):
        em.evaluate(*good, metrics=["auc", "rmse"])
    with pytest.raises(InvalidArgument, match="round_num"):
        em.evaluate(*good, round_num=-1)
    with pytest.raises(InvalidArgument, match="bins"):
        em.evaluate(*good, bins=0)
    with pytest.raises(InvalidArgument, match="bins"):
        em.roc_curve(LABELS, SCORES, bins=0)
    with pytest.raises(InvalidArgument, match="name"):
        em.evaluate("", "train", "binary", LABELS, SCORES)
    mixed = np.array([1, "a"], dtype=object)
    with pytest.raises(InvalidArgument, match="mix numbers and strings"):
        em.multi_precision(mixed, mixed)


def test_resolve_metrics() -> None:
    assert em.resolve_metrics("binary") == em.METRICS["binary"]
    assert em.resolve_metrics("binary", []) == em.METRICS["binary"]
    assert em.resolve_metrics("binary", ["ROC", "recall", "auc"]) == (
        "auc",
        "precision",
        "recall",
        "roc",
    )
    assert em.resolve_metrics("regression", ["rmse", "mae", "r2"]) == (
        "mean_absolute_error",
        "r2_score",
        "root_mean_squared_error",
    )
    assert em.resolve_metrics("multi", ["acc"]) == ("accuracy",)
    assert em.resolve_metrics("multi", "acc") == ("accuracy",)  # one name, not its letters


# --- FATE's records ------------------------------------------------------------------------------


def _by_name(evaluation: em.DataSetEvaluation) -> dict[str, em.MetricRecord]:
    return {record.metric_name: record for record in evaluation.records}


def test_binary_records_are_named_as_fate_names_them() -> None:
    evaluation = em.evaluate("hetero_lr_0", "train", "binary", LABELS, SCORES)
    records = _by_name(evaluation)
    assert list(records) == [
        "hetero_lr_0",
        "hetero_lr_0_ks_fpr",
        "hetero_lr_0_ks_tpr",
        "hetero_lr_0_lift",
        "hetero_lr_0_gain",
        "hetero_lr_0_accuracy",
        "hetero_lr_0_precision",
        "hetero_lr_0_recall",
        "hetero_lr_0_roc",
        "hetero_lr_0_confusion_mat",
        "hetero_lr_0_f1_score",
        "hetero_lr_0_quantile_pr",
    ]
    assert all(record.metric_namespace == "train" for record in evaluation.records)

    summary = records["hetero_lr_0"]
    assert summary.points == [("auc", 0.833333), ("ks", 0.666667)]
    assert summary.meta == {"name": "hetero_lr_0", "metric_type": "EVALUATION_SUMMARY"}
    assert evaluation.summary == {"auc": pytest.approx(7.5 / 9), "ks": pytest.approx(2 / 3)}

    def meta_without_thresholds(name: str) -> dict[str, Any]:
        meta = dict(records[name].meta)
        assert len(meta.pop("thresholds")) == len(records[name].points)
        return meta

    assert meta_without_thresholds("hetero_lr_0_roc") == {
        "name": "hetero_lr_0_roc",
        "metric_type": "ROC_EVALUATION",
        "unit_name": "fpr",
        "ordinate_name": "tpr",
        "curve_name": "hetero_lr_0",
    }
    for side in ("fpr", "tpr"):
        assert meta_without_thresholds(f"hetero_lr_0_ks_{side}") == {
            "name": f"hetero_lr_0_ks_{side}",
            "metric_type": "KS_EVALUATION",
            "curve_name": f"hetero_lr_0_{side}",
            "pair_type": "hetero_lr_0",
        }
    for metric in ("lift", "gain", "accuracy"):
        assert meta_without_thresholds(f"hetero_lr_0_{metric}") == {
            "name": f"hetero_lr_0_{metric}",
            "metric_type": f"{metric.upper()}_EVALUATION",
            "curve_name": "hetero_lr_0",
        }
    for metric in ("precision", "recall"):
        assert meta_without_thresholds(f"hetero_lr_0_{metric}") == {
            "name": f"hetero_lr_0_{metric}",
            "metric_type": f"{metric.upper()}_BINARY_EVALUATION",
            "ordinate_name": metric.capitalize(),
            "curve_name": "hetero_lr_0",
            "pair_type": "hetero_lr_0",
        }
    # The hand case's ROC corners, rounded to 6 decimals: (2/3, 1) lies on the straight run
    # from (1/3, 1) to (1, 1) and adds nothing to the drawn curve.
    assert records["hetero_lr_0_roc"].points == [
        (0.0, 0.0),
        (0.0, 0.333333),
        (0.333333, 0.666667),
        (0.333333, 1.0),
        (1.0, 1.0),
    ]
    assert records["hetero_lr_0_roc"].meta["thresholds"][:4] == [0.9, 0.8, 0.6, 0.3]


def test_records_round_sort_and_serialise() -> None:
    labels, scores = _random_binary(11, 20_000, None)
    evaluation = em.evaluate("hetero_lr_0", "validate", "binary", labels, scores, round_num=4)
    for record in evaluation.records:
        keys = [key for key, _ in record.points]
        assert keys == sorted(keys)
        if record.metric_name != "hetero_lr_0":
            assert len(record.points) <= em.DEFAULT_BINS + 1  # 20,000 scores, small curves
        for key, value in record.points:
            assert type(value) is float and round(value, 4) == value
            assert type(key) in (float, str)
        for threshold in record.meta.get("thresholds", []):
            assert type(threshold) is float and round(threshold, 4) == threshold
    # The same content survives JSON, as tracking stores and returns it.
    as_lists = [
        [record.metric_namespace, record.metric_name, [list(p) for p in record.points], record.meta]
        for record in evaluation.records
    ]
    assert json.loads(json.dumps(as_lists)) == as_lists


def test_selected_binary_metrics_only() -> None:
    evaluation = em.evaluate("lr", "train", "binary", LABELS, SCORES, metrics=["auc", "recall"])
    assert [record.metric_name for record in evaluation.records] == [
        "lr",
        "lr_precision",
        "lr_recall",
    ]
    assert evaluation.summary == {"auc": pytest.approx(7.5 / 9)}
    only_roc = em.evaluate("lr", "train", "binary", LABELS, SCORES, metrics=["roc"])
    assert [record.metric_name for record in only_roc.records] == ["lr_roc"]
    assert only_roc.summary == {}


def test_multi_records() -> None:
    evaluation = em.evaluate(
        "hetero_sbt_0", "train", "multi", [0, 1, 2, 2, 1], [0.0, 2.0, 2.0, 2.0, 1.0]
    )
    records = _by_name(evaluation)
    assert list(records) == ["hetero_sbt_0", "hetero_sbt_0_precision", "hetero_sbt_0_recall"]
    assert records["hetero_sbt_0"].points == [
        ("accuracy", 0.8),
        ("precision", 0.888889),
        ("recall", 0.833333),
    ]
    assert records["hetero_sbt_0_precision"].points == [(0, 1.0), (1, 1.0), (2, 0.666667)]
    assert records["hetero_sbt_0_precision"].meta == {
        "name": "hetero_sbt_0_precision",
        "metric_type": "PRECISION_MULTI_EVALUATION",
        "ordinate_name": "Precision",
        "curve_name": "hetero_sbt_0",
        "pair_type": "hetero_sbt_0",
    }
    assert records["hetero_sbt_0_recall"].points == [(0, 1.0), (1, 0.5), (2, 1.0)]
    assert records["hetero_sbt_0_recall"].meta["metric_type"] == "RECALL_MULTI_EVALUATION"


def test_regression_records() -> None:
    y, p = [1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 5.0]
    evaluation = em.evaluate("hetero_linr_0", "validate", "regression", y, p)
    (record,) = evaluation.records
    assert record.metric_namespace == "validate"
    assert record.meta == {"name": "hetero_linr_0", "metric_type": "EVALUATION_SUMMARY"}
    assert record.points == [
        ("explained_variance", round(sk.explained_variance_score(y, p), 6)),
        ("mean_absolute_error", 0.5),
        ("mean_squared_error", 0.375),
        ("median_absolute_error", 0.5),
        ("r2_score", 0.7),
        ("root_mean_squared_error", round(0.375**0.5, 6)),
    ]
    assert set(evaluation.summary) == set(em.METRICS["regression"])


def test_component_summary_prefers_validate() -> None:
    train = em.evaluate("lr", "train", "binary", LABELS, SCORES)
    flipped = [1 - label for label in LABELS]
    validate = em.evaluate("lr", "validate", "binary", flipped, SCORES)
    assert em.component_summary([train]) == train.summary
    assert em.component_summary([train, validate]) == validate.summary
    assert em.component_summary([]) == {}


def test_imports_nothing_of_the_service() -> None:
    # Its own imports, read from the source: what the package's __init__ imports is not its own.
    tree = ast.parse(Path(em.__file__).read_text())
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert {name.split(".")[0] for name in imported} <= {
        "__future__",
        "collections",
        "dataclasses",
        "typing",
        "numpy",
        "fateflow_grpc",
    }
    assert {name for name in imported if name.startswith("fateflow_grpc")} == {
        "fateflow_grpc.errors"
    }
