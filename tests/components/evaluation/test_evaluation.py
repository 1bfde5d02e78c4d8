"""Evaluation, the component: FATE's EvaluateParam checks; clustering metrics against
scikit-learn and a plaintext Davies-Bouldin index, on HeteroKmeans' real outputs at the guest,
the host and the arbiter; one-vs-rest against scikit-learn; a party without input does
nothing."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as sk
from sklearn.metrics.cluster import contingency_matrix as sk_contingency

from fateflow_grpc.components.cluster.hetero_kmeans import HeteroKmeans
from fateflow_grpc.components.evaluation import metrics
from fateflow_grpc.components.evaluation.evaluation import (
    DEFAULTS,
    Evaluation,
    validate_parameters,
)
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ARBITER = PartyRole("arbiter", 10001)
ROLES = {"guest": [GUEST.party_id], "host": [HOST.party_id], "arbiter": [ARBITER.party_id]}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_metrics_are_scikit_learns(seed: int) -> None:
    random = np.random.RandomState(seed)
    labels = random.randint(0, 3, 200)
    clusters = np.where(random.rand(200) < 0.6, labels, random.randint(0, 4, 200))
    assert metrics.jaccard_similarity_score(labels, clusters) == pytest.approx(
        sk.jaccard_score(labels, clusters, average="weighted")
    )
    assert metrics.fowlkes_mallows_score(labels, clusters) == pytest.approx(
        sk.fowlkes_mallows_score(labels, clusters)
    )
    assert metrics.adjusted_rand_score(labels, clusters) == pytest.approx(
        sk.adjusted_rand_score(labels, clusters)
    )
    table, predicted, truth = metrics.contingency_matrix(labels, clusters)
    assert table == sk_contingency(labels, clusters).tolist()
    assert predicted == list(range(clusters.max() + 1)) and truth == [0, 1, 2]


def test_label_metrics_in_degenerate_cases() -> None:
    same = [0, 0, 1, 1]
    assert metrics.adjusted_rand_score(same, [1, 1, 0, 0]) == 1.0
    assert metrics.adjusted_rand_score([0, 0, 0], [0, 0, 0]) == sk.adjusted_rand_score(
        [0, 0, 0], [0, 0, 0]
    )
    assert metrics.fowlkes_mallows_score([0, 1, 2], [0, 1, 2]) == sk.fowlkes_mallows_score(
        [0, 1, 2], [0, 1, 2]
    )
    with pytest.raises(InvalidArgument, match="cluster indexes"):
        metrics.contingency_matrix([0, 1], [0, -1])


def test_davies_bouldin_and_distance_measure_by_hand() -> None:
    centroids = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])
    spread = [1.0, 0.5, 2.0]
    between = [
        float(np.sum((centroids[i] - centroids[j]) ** 2))
        for i in range(3)
        for j in range(3)
        if j != i
    ]
    expected = np.mean(
        [
            max(
                (spread[i] + spread[j]) / np.linalg.norm(centroids[i] - centroids[j])
                for j in range(3)
                if j != i
            )
            for i in range(3)
        ]
    )
    assert metrics.davies_bouldin_index([0, 1, 2], spread, between) == pytest.approx(expected)
    # Nearest centroids: 0 -> 2 (3 away), 1 -> 0 (4), 2 -> 0 (3).
    assert metrics.distance_measure([0, 1, 2], [5.0, 6.0, 7.0], between) == {
        0: (5.0, 2),
        1: (6.0, 0),
        2: (7.0, 0),
    }
    with pytest.raises(InvalidArgument, match="not k \\* \\(k - 1\\)"):
        metrics.davies_bouldin_index([0, 1], [1.0, 1.0], [1.0, 2.0, 3.0])


def test_fates_parameters() -> None:
    assert validate_parameters({}) == DEFAULTS
    checked = validate_parameters(
        {"eval_type": "CLUSTERING", "metrics": ["FMI", "ri", "jaccard", "dbi"], "need_run": True}
    )
    assert checked["eval_type"] == "clustering"
    assert (
        validate_parameters({"run_clustering_arbiter_metric": True, "pos_label": "yes"})[
            "pos_label"
        ]
        == "yes"
    )
    for params, message in (
        ({"eval_type": "ranking"}, "eval_type must be one of"),
        ({"pos_label": True}, "pos_label must be a string or a number"),
        ({"pos_label": None}, "pos_label must be a string or a number"),
        ({"metrics": ["auc", "bleu"]}, "metric 'bleu' is not used for binary"),
        ({"eval_type": "clustering", "metrics": ["auc"]}, "metric 'auc' is not used for clust"),
        ({"metrics": [1]}, "metrics must be a list of metric names"),
        ({"unfold_multi_result": "yes"}, "unfold_multi_result must be true or false"),
        ({"run_clustering_arbiter_metric": 1}, "run_clustering_arbiter_metric must be true"),
        ({"eval": "binary"}, "has no parameter eval"),
    ):
        with pytest.raises(InvalidArgument, match=message):
            validate_parameters(params)


def test_kmeans_outputs_evaluated_at_every_party(stores: Stores) -> None:
    guest = breast("breast_hetero_guest").take(np.arange(120))
    host = breast("breast_hetero_host")
    position = {s: k for k, s in enumerate(host.ids.tolist())}
    host = host.take(np.array([position[s] for s in guest.ids.tolist()]))
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params = {"k": 3, "max_iter": 5, "random_stat": 1}
    stores.run_parties(
        HeteroKmeans(),
        "hetero_kmeans_0",
        {GUEST: params, HOST: params, ARBITER: params},
        ROLES,
        data={"train_data": ["reader_0.data"]},
        outputs=["data_0", "data_1"],
    )
    for party in (GUEST, HOST, ARBITER):
        stores.run(
            Evaluation(),
            "evaluation_0",
            party,
            {"eval_type": "clustering"},
            roles=ROLES,
            data={"data": ["hetero_kmeans_0.data_0"]},
        )
    rows = stores.output(GUEST, "hetero_kmeans_0", "data_0")
    labels = np.asarray(rows.column("label").to_pylist(), dtype=int)
    clusters = np.asarray(rows.column("predicted_label").to_pylist())
    found = stores.metrics(GUEST, "evaluation_0")["train"]
    summary = dict(found["hetero_kmeans_0"].data)
    assert found["hetero_kmeans_0"].meta["metric_type"] == "CLUSTERING_EVALUATION_SUMMARY"
    assert summary == {
        "jaccard_similarity_score": pytest.approx(
            sk.jaccard_score(labels, clusters, average="weighted"), abs=1e-6
        ),
        "fowlkes_mallows_score": pytest.approx(
            sk.fowlkes_mallows_score(labels, clusters), abs=1e-6
        ),
        "adjusted_rand_score": pytest.approx(sk.adjusted_rand_score(labels, clusters), abs=1e-6),
    }
    contingency = found["hetero_kmeans_0_contingency_matrix"].meta
    assert contingency["metric_type"] == "CONTINGENCY_MATRIX"
    assert contingency["result_table"] == sk_contingency(labels, clusters).tolist()
    assert stores.summary(GUEST, "evaluation_0") == {
        k: pytest.approx(v, abs=1e-6) for k, v in summary.items()
    }
    # The host's rows have no label: FATE computes nothing.
    assert stores.metrics(HOST, "evaluation_0") == {}
    # The arbiter: the clusters' DBI and distance measure, from its cluster table.
    table = stores.output(ARBITER, "hetero_kmeans_0", "data_0")
    between = json.loads(table.column("inter_cluster_dist")[0].as_py())
    spread = table.column("cluster_inner_dist").to_pylist()
    indexes = [int(v) for v in table.column("cluster_index").to_pylist()]
    at_arbiter = stores.metrics(ARBITER, "evaluation_0")["train"]
    dbi = dict(at_arbiter["hetero_kmeans_0"].data)["davies_bouldin_index"]
    k = 3
    by_index = dict(zip(indexes, spread, strict=True))
    expected = np.mean(
        [
            max(
                (by_index[i] + by_index[j])
                / np.sqrt(between[i * (k - 1) + (j if j < i else j - 1)])
                for j in by_index
                if j != i
            )
            for i in by_index
        ]
    )
    assert dbi == pytest.approx(expected, abs=1e-6)
    measure = at_arbiter["hetero_kmeans_0_distance_measure"].meta
    assert measure["cluster_index"] == sorted(indexes)
    radii = dict(zip(indexes, table.column("max_radius").to_pylist(), strict=True))
    assert measure["radius"] == [pytest.approx(radii[i], abs=1e-6) for i in sorted(indexes)]


def test_a_party_without_input_does_nothing(stores: Stores) -> None:
    stores.run(
        Evaluation(), "evaluation_0", HOST, {}, roles=ROLES, data={"data": ["hetero_lr_0.data"]}
    )
    assert stores.metrics(HOST, "evaluation_0") == {}
    assert stores.summary(HOST, "evaluation_0") is None


def test_a_hosts_table_without_predictions_is_not_evaluated_a_guests_is_refused(
    stores: Stores,
) -> None:
    # A hetero host's cross validation history (FATE 1.5's hetero_lr_sparse_cv), or a
    # need_run false component's pass-through of its input (local_baseline-homo).
    history = pa.table({"id": ["a#fold0#train"], "fold_num": [0]})
    for party in (HOST, GUEST):
        stores.put(party, "hetero_lr_0.data", history)
    run = {"roles": ROLES, "data": {"data": ["hetero_lr_0.data"]}}
    stores.run(Evaluation(), "evaluation_0", HOST, {}, **run)
    assert stores.metrics(HOST, "evaluation_0") == {}
    with pytest.raises(InvalidArgument, match="not a prediction table"):
        stores.run(Evaluation(), "evaluation_0", GUEST, {}, **run)


def test_clustering_takes_one_input(stores: Stores) -> None:
    rows = pa.table({"id": ["a"], "label": [0.0], "predicted_label": [0], "type": ["train"]})
    stores.put(GUEST, "kmeans_0.data", rows)
    stores.put(GUEST, "kmeans_1.data", rows)
    with pytest.raises(InvalidArgument, match="clustering evaluation takes one input"):
        stores.run(
            Evaluation(),
            "evaluation_0",
            GUEST,
            {"eval_type": "clustering"},
            data={"data": ["kmeans_0.data", "kmeans_1.data"]},
        )


def test_unfold_multi_result_against_scikit_learn(stores: Stores) -> None:
    random = np.random.RandomState(3)
    labels = random.randint(0, 3, 150)
    scores = random.dirichlet([1, 1, 1], 150)
    scores[np.arange(150), labels] += 0.4
    scores /= scores.sum(axis=1, keepdims=True)
    predicted = scores.argmax(axis=1)
    table = pa.table(
        {
            "id": [str(i) for i in range(150)],
            "label": labels.astype(float),
            "predict_result": predicted.astype(float),
            "predict_score": scores.max(axis=1),
            "predict_detail": [json.dumps({str(c): s[c] for c in range(3)}) for s in scores],
            "type": ["train"] * 150,
        }
    )
    stores.put(GUEST, "lr_0.data", table)
    params: dict[str, Any] = {"eval_type": "multi", "unfold_multi_result": True}
    stores.run(Evaluation(), "evaluation_0", GUEST, params, data={"data": ["lr_0.data"]})
    found = stores.metrics(GUEST, "evaluation_0")["train"]
    assert dict(found["lr_0"].data)["accuracy"] == pytest.approx(
        sk.accuracy_score(labels, predicted), abs=1e-6
    )
    for c in range(3):
        meta = found[f"lr_0_class_{c}_ovr"].meta
        assert meta["metric_type"] == "ovr" and meta["name"] == "lr_0"
        fpr, tpr, _ = sk.roc_curve(labels == c, scores[:, c])
        assert meta[str(c)]["auc"] == pytest.approx(sk.roc_auc_score(labels == c, scores[:, c]))
        assert meta[str(c)]["ks"] == pytest.approx(np.max(tpr - fpr))


def _binary(seed: int, size: int = 300) -> tuple[np.ndarray, np.ndarray]:
    random = np.random.RandomState(seed)
    labels = random.randint(0, 2, size)
    scores = np.clip(random.normal(0.35 + 0.3 * labels, 0.2), 0, 1).round(3)  # with ties
    return labels, scores


def test_fates_threshold_tables_against_scikit_learn() -> None:
    labels, scores = _binary(4)
    evaluation = metrics.evaluate("lr_0", "train", "binary", labels, scores)
    records = {record.metric_name: record for record in evaluation.records}
    confusion = records["lr_0_confusion_mat"].meta
    f1 = records["lr_0_f1_score"].meta
    assert (
        confusion["metric_type"] == "CONFUSION_MAT" and records["lr_0_confusion_mat"].points == []
    )
    assert len(confusion["thresholds"]) == 100 and confusion["thresholds"][:3] == [0.0, 0.01, 0.02]
    for index, threshold in enumerate(np.arange(100) * 0.01):
        predicted = scores > threshold
        tn, fp, fn, tp = sk.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
        assert [confusion[k][index] for k in ("tp", "tn", "fp", "fn")] == [tp, tn, fp, fn]
        expected = sk.f1_score(labels, predicted, zero_division=0)
        assert f1["f1_scores"][index] == pytest.approx(expected, abs=1e-6)
    pr = records["lr_0_quantile_pr"].meta
    quantiles = np.sort(
        np.quantile(scores, [i * 0.05 for i in range(20)] + [1.0], method="nearest")
    )
    assert pr["thresholds"] == pytest.approx(quantiles.tolist())
    for index, threshold in enumerate(quantiles):
        predicted = scores > threshold
        assert pr["r_scores"][index] == [
            0,
            pytest.approx(sk.recall_score(labels, predicted), abs=1e-6),
        ]
        precision = sk.precision_score(labels, predicted, zero_division=1.0)
        assert pr["p_scores"][index] == [0, pytest.approx(precision, abs=1e-6)]


def test_psi_by_hand_through_the_component(stores: Stores) -> None:
    train_labels, train_scores = _binary(5)
    validate_labels, validate_scores = _binary(6, 120)
    validate_scores = np.clip(validate_scores + 0.05, 0, 1)
    table = pa.table(
        {
            "id": [str(i) for i in range(420)],
            "label": np.concatenate([train_labels, validate_labels]).astype(float),
            "predict_result": (np.concatenate([train_scores, validate_scores]) > 0.5).astype(float),
            "predict_score": np.concatenate([train_scores, validate_scores]),
            "type": ["train"] * 300 + ["validate"] * 120,
        }
    )
    stores.put(GUEST, "lr_0.data", table)
    stores.run(
        Evaluation(),
        "evaluation_0",
        GUEST,
        {"metrics": ["auc", "psi"]},
        data={"data": ["lr_0.data"]},
    )
    found = stores.metrics(GUEST, "evaluation_0")
    assert "lr_0_psi" not in found["train"]
    meta = found["validate"]["lr_0_psi"].meta
    points = sorted(
        set(np.quantile(train_scores, [i * 0.05 for i in range(20)] + [1.0], method="nearest"))
    )
    bins = list(itertools.pairwise(points))

    def count(values: np.ndarray) -> list[int]:
        return [
            int(((values >= lo) & ((values < hi) if k < len(bins) - 1 else (values <= hi))).sum())
            for k, (lo, hi) in enumerate(bins)
        ]

    expected, actual = count(train_scores), count(validate_scores)
    assert meta["expected_interval"] == expected and meta["actual_interval"] == actual
    e = np.maximum(np.array(expected, float), 1e-6) / 300
    a = np.maximum(np.array(actual, float), 1e-6) / 120
    assert meta["total_psi"] == pytest.approx(float(np.sum((a - e) * np.log(a / e))), abs=1e-6)
    assert meta["intervals"][-1].endswith("]") and meta["intervals"][0].endswith(")")
    positives = count(train_scores[train_labels == 1])
    assert meta["train_pos_perc"] == pytest.approx(
        [p / n if n else 0 for p, n in zip(positives, expected, strict=True)]
    )
