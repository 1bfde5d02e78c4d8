"""LocalBaseline against scikit-learn's own LogisticRegression fitted here on the same data and
options (FATE 1.x's, translated), and as a task: FATE's LR model, its predictions (binary and
multi-class), sample weights, and a predict job that gives the training scores."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from fateflow_grpc.components.linear import local_baseline
from fateflow_grpc.components.linear.local_baseline import LocalBaseline
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast, small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
#: FATE's example options (examples/dsl/v2/local_baseline), for scikit-learn < 1.8.
FATE_OPTIONS = {
    "penalty": "l2",
    "tol": 0.0001,
    "C": 1.0,
    "fit_intercept": True,
    "solver": "lbfgs",
    "max_iter": 5,
    "multi_class": "ovr",
}


def three_classes(rows: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, rows).astype(float)
    features = rng.normal(size=(rows, 4)) + labels[:, None] * np.array([1.0, -0.5, 0.2, 0.0])
    return features, labels


def run(stores: Stores, data: Any, params: dict[str, Any], **inputs: list[str]) -> Any:
    stores.put(GUEST, "intersection_0.data", data.to_table())
    stores.run(
        LocalBaseline(),
        "local_baseline_0",
        GUEST,
        params,
        data={"train_data": ["intersection_0.data"], **inputs},
    )
    return stores.output(GUEST, "local_baseline_0")


def test_binary_is_sklearns_and_predicting_gives_the_training_scores(stores: Stores) -> None:
    data = breast("breast_hetero_guest")
    out = run(stores, data, {"model_opts": {**FATE_OPTIONS, "max_iter": 100}})
    reference = LogisticRegression(C=1.0, tol=1e-4, max_iter=100).fit(data.features, data.labels)
    model = stores.model(GUEST, "local_baseline_0")
    assert model is not None
    param = model["param"]
    assert [param["weight"][n] for n in data.header] == pytest.approx(reference.coef_[0], abs=1e-9)
    assert param["intercept"] == pytest.approx(reference.intercept_[0], abs=1e-9)
    assert param["is_converged"] and param["iters"] == reference.n_iter_[0]
    assert model["meta"]["optimizer"] == "lbfgs" and model["meta"]["need_one_vs_rest"] is False
    scores = np.array(out.column("predict_score").to_pylist())
    assert scores == pytest.approx(reference.predict_proba(data.features)[:, 1], abs=1e-9)
    assert out.column("predict_result").to_pylist() == (scores > 0.5).astype(int).tolist()
    assert set(out.column("type").to_pylist()) == {"train"}
    assert stores.summary(GUEST, "local_baseline_0")["one_vs_rest"] is False

    stores.put(GUEST, "intersection_0.data", data.to_table(), job_id="predict")
    stores.run(
        LocalBaseline(),
        "local_baseline_0",
        GUEST,
        {},
        data={"test_data": ["intersection_0.data"]},
        models=["local_baseline_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = stores.output(GUEST, "local_baseline_0", job_id="predict")
    assert predicted.column("predict_score").to_pylist() == pytest.approx(
        scores.tolist(), abs=1e-12
    )
    assert set(predicted.column("type").to_pylist()) == {"predict"}


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_multi_class_is_sklearns(stores: Stores, multi_class: str) -> None:
    features, labels = three_classes()
    data = small(features.tolist(), labels.tolist())
    options = {**FATE_OPTIONS, "max_iter": 200, "multi_class": multi_class}
    out = run(stores, data, {"model_opts": options})
    reference: Any = LogisticRegression(max_iter=200)
    if multi_class == "ovr":
        reference = OneVsRestClassifier(reference)
    expected = reference.fit(features, labels).predict_proba(features)
    details = [json.loads(d) for d in out.column("predict_detail").to_pylist()]
    got = np.array([[d["0"], d["1"], d["2"]] for d in details])
    assert got == pytest.approx(expected, abs=2e-6)  # details are rounded to 6 places
    assert out.column("predict_result").to_pylist() == np.argmax(expected, axis=1).tolist()
    model = stores.model(GUEST, "local_baseline_0")
    assert model is not None and model["param"]["need_one_vs_rest"] is True
    assert model["param"]["one_vs_rest_result"]["one_vs_rest_classes"] == ["0", "1", "2"]
    summary = stores.summary(GUEST, "local_baseline_0")
    assert summary is not None and summary["one_vs_rest"] is True and set(summary) >= {"0", "1"}


def test_weights_and_fates_penalty_names_reach_sklearn(stores: Stores) -> None:
    data = breast("breast_hetero_guest")
    weights = np.where(data.labels == 1, 0.5, 2.0)
    weighted = dataclasses.replace(data, weights=weights)
    options = {
        "penalty": "l1",
        "solver": "liblinear",
        "C": 0.5,
        "class_weight": {"1": 3},
        "random_state": 0,
    }
    out = run(stores, weighted, {"model_opts": options})
    reference = LogisticRegression(
        l1_ratio=1.0, solver="liblinear", C=0.5, class_weight={1.0: 3}, random_state=0
    ).fit(data.features, data.labels, sample_weight=weights)
    scores = out.column("predict_score").to_pylist()
    assert scores == pytest.approx(reference.predict_proba(data.features)[:, 1].tolist(), abs=1e-9)
    none = local_baseline.estimator_options({"penalty": "none"}, [0.0, 1.0])
    assert none["C"] == math.inf


def test_validate_data_is_scored_as_validate(stores: Stores) -> None:
    data = breast("breast_hetero_guest")
    held_out = data.take(np.arange(10))
    held_out = dataclasses.replace(held_out, ids=np.array([f"v{k}" for k in range(10)]))
    stores.put(GUEST, "split.validate_data", held_out.to_table())
    out = run(stores, data, {}, validate_data=["split.validate_data"])
    kinds = out.column("type").to_pylist()
    assert kinds.count("train") == 569 and kinds.count("validate") == 10


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"model_name": "SVC"}, "model_name must be one of LogisticRegression"),
        ({"model_opts": {"alpha": 1}}, "names alpha, which LogisticRegression does not take"),
        ({"model_opts": {"penalty": "l3"}}, "penalty must be l1, l2, elasticnet or none"),
        ({"model_opts": {"multi_class": "crammer"}}, "multi_class must be auto, ovr or"),
        ({"predict_param": {"threshold": 2}}, "threshold must be at most 1"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        local_baseline.validate_parameters(params)


def test_what_sklearn_refuses_is_named(stores: Stores) -> None:
    with pytest.raises(InvalidArgument, match=r"model_opts: .*solver"):
        run(stores, breast("breast_hetero_guest"), {"model_opts": {"solver": "newton"}})
    with pytest.raises(InvalidArgument, match="needs two"):
        run(stores, small([[1.0], [2.0]], [1, 1]), {})
