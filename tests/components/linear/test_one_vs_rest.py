"""One-vs-rest (`linear/one_vs_rest.py`) of HeteroLR and HomoLR on FATE's four-class
vehicle_scale tables, as tasks: each class's model against a plaintext training of that class
against the rest, the predictions FATE's (the most probable class), and a predict job."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.linear import one_vs_rest
from fateflow_grpc.components.linear.hetero_lr import HeteroLR
from fateflow_grpc.components.linear.homo_lr import HomoLR
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import read_csv
from tests.components.linear.test_hetero_lr import auc, plaintext_lr
from tests.components.tasks import Stores
from tests.data import fate_table

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ARBITER = PartyRole("arbiter", 10000)
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def _details(table: pa.Table) -> np.ndarray:
    """The class probabilities of FATE's predict_detail, classes in order."""
    rows = [json.loads(text) for text in table.column("predict_detail").to_pylist()]
    names = sorted(rows[0], key=float)
    return np.array([[row[name] for name in names] for row in rows])


def _joined(guest: Dataset, host: Dataset) -> np.ndarray:
    """The guest's rows with the host's features of the same ids beside them (the plaintext
    computation's data)."""
    position = {sample: k for k, sample in enumerate(host.ids.tolist())}
    return np.hstack([guest.features, host.features[[position[s] for s in guest.ids.tolist()]]])


def _run(stores: Stores, module: Any, params: dict[str, Any], **wiring: Any) -> None:
    stores.run_parties(
        module, "lr_0", {GUEST: params, HOST: params, ARBITER: params}, ROLES, **wiring
    )


def test_hetero_lr_one_vs_rest_matches_plaintext_one_vs_rest(stores: Stores) -> None:
    guest = read_csv(fate_table("vehicle_scale_hetero_guest.csv")).take(np.arange(240))
    host = read_csv(fate_table("vehicle_scale_hetero_host.csv"), label=None)
    # The host's rows in another order, and all of them: rows go by id.
    host = host.take(np.arange(len(host.ids))[::-1])
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "rmsprop",
        "learning_rate": 0.15,
        "max_iter": 3,
        "early_stop": "diff",
        "tol": 0.0,
        "init_param": {"init_method": "const", "init_const": 0.1},
    }
    _run(stores, HeteroLR(), params, data={"train_data": ["reader_0.data"]})

    features = _joined(guest, host)
    labels = guest.labels
    assert labels is not None
    classes = one_vs_rest.classes_of(labels)
    assert classes == [0.0, 1.0, 2.0, 3.0]
    reference = {**params, "init_param": {"fit_intercept": True}}
    design = np.hstack([features, np.ones((len(labels), 1))])
    plain = [
        plaintext_lr(
            features,
            (labels == c).astype(float),
            reference,
            [np.arange(len(labels))],
            initial=np.full(design.shape[1], 0.1),
        )
        for c in classes
    ]
    probabilities = np.column_stack([_sigmoid(design @ p.weights) for p in plain])

    table = stores.output(GUEST, "lr_0")
    np.testing.assert_allclose(_details(table), probabilities, atol=2e-6)
    results = np.asarray(table.column("predict_result").to_pylist())
    np.testing.assert_array_equal(results, np.argmax(probabilities, axis=1))
    np.testing.assert_allclose(
        table.column("predict_score").to_numpy(), probabilities.max(axis=1), atol=1e-6
    )
    # Models: one per class at the guest and at the host, FATE's fields.
    guest_model = stores.model(GUEST, "lr_0")
    host_model = stores.model(HOST, "lr_0")
    assert guest_model is not None and host_model is not None
    guest_result = guest_model["param"]["one_vs_rest_result"]
    assert guest_model["param"]["need_one_vs_rest"] is True
    assert guest_result["one_vs_rest_classes"] == ["0", "1", "2", "3"]
    for k, part in enumerate(guest_result["completed_models"]):
        host_part = host_model["param"]["one_vs_rest_result"]["completed_models"][k]
        weights = [
            *[part["weight"][n] for n in guest.header],
            *[host_part["weight"][n] for n in host.header],
            part["intercept"],
        ]
        np.testing.assert_allclose(weights, plain[k].weights, atol=1e-6)
        losses = [
            loss for _, loss in stores.metrics(ARBITER, "lr_0")["train"][f"loss.model_{k}"].data
        ]
        np.testing.assert_allclose(losses, plain[k].losses, rtol=1e-6)

    # A predict job from those models scores as training did.
    stores.put(GUEST, "reader_0.data", guest.to_table(), job_id="predict")
    stores.put(HOST, "reader_0.data", host.to_table(), job_id="predict")
    _run(
        stores,
        HeteroLR(),
        params,
        data={"test_data": ["reader_0.data"]},
        models=["lr_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = stores.output(GUEST, "lr_0", job_id="predict")
    np.testing.assert_allclose(_details(predicted), _details(table), atol=1e-9)
    assert set(predicted.column("type").to_pylist()) == {"predict"}


def _homo_plaintext(
    parts: list[tuple[np.ndarray, np.ndarray]], params: dict[str, Any]
) -> np.ndarray:
    """FedAvg of full-batch sgd on the log-loss, L2, one epoch a round, from zeros."""
    w = np.zeros(parts[0][0].shape[1] + 1)
    for epoch in range(params["max_iter"]):
        rate = params["learning_rate"] / np.sqrt(1 + epoch)
        updates, counts = [], []
        for x, y in parts:
            design = np.hstack([x, np.ones((len(x), 1))])
            gradient = design.T @ (_sigmoid(design @ w) - y) / len(y)
            gradient[:-1] += params["alpha"] * w[:-1]
            updates.append(w - rate * gradient)
            counts.append(len(y))
        w = np.average(updates, axis=0, weights=counts)
    return w


def test_homo_lr_one_vs_rest_matches_plaintext_fedavg_of_each_class(stores: Stores) -> None:
    guest = read_csv(fate_table("vehicle_scale_homo_guest.csv"))
    host = read_csv(fate_table("vehicle_scale_homo_host.csv"))
    # The host lacks class 3: the classes are the union of the clients', as in FATE.
    assert host.labels is not None
    host = host.take(np.flatnonzero(host.labels != 3))
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "sgd",
        "learning_rate": 0.15,
        "max_iter": 4,
        "tol": 1e-12,
        "init_param": {"init_method": "zeros"},
    }
    _run(stores, HomoLR(), params, data={"train_data": ["reader_0.data"]})

    def binary(data: Dataset, label: float) -> tuple[np.ndarray, np.ndarray]:
        assert data.labels is not None
        return data.features, (data.labels == label).astype(float)

    classes = [0.0, 1.0, 2.0, 3.0]
    weights = [_homo_plaintext([binary(guest, c), binary(host, c)], params) for c in classes]
    for party, data in ((GUEST, guest), (HOST, host)):
        design = np.hstack([data.features, np.ones((len(data.ids), 1))])
        probabilities = np.column_stack([_sigmoid(design @ w) for w in weights])
        table = stores.output(party, "lr_0")
        np.testing.assert_allclose(_details(table), probabilities, atol=2e-6)
        np.testing.assert_array_equal(
            np.asarray(table.column("predict_result").to_pylist()),
            np.argmax(probabilities, axis=1),
        )
        model = stores.model(party, "lr_0")
        assert model is not None and model["need_one_vs_rest"] is True
        assert model["one_vs_rest_result"]["one_vs_rest_classes"] == ["0", "1", "2", "3"]


def test_hetero_lr_warm_start_goes_on_as_if_never_stopped(stores: Stores) -> None:
    """FATE 1.7's warm start (a model input beside train_data): 3 iterations, then 3 more from
    that model, are the plaintext run's 6 (sgd keeps no state between iterations)."""
    guest = read_csv(fate_table("vehicle_scale_hetero_guest.csv")).take(np.arange(120))
    host = read_csv(fate_table("vehicle_scale_hetero_host.csv"), label=None)
    assert guest.labels is not None
    binary = Dataset(guest.ids, guest.features, (guest.labels == 1).astype(float), guest.header)
    stores.put(GUEST, "reader_0.data", binary.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "sgd",
        "learning_rate": 0.15,
        "max_iter": 3,
        "early_stop": "diff",
        "tol": 0.0,
        "init_param": {"init_method": "const", "init_const": 0.1},
    }
    data = {"train_data": ["reader_0.data"]}
    stores.run_parties(
        HeteroLR(), "lr_0", {GUEST: params, HOST: params, ARBITER: params}, ROLES, data=data
    )
    more = {**params, "max_iter": 6}
    stores.run_parties(
        HeteroLR(),
        "lr_1",
        {GUEST: more, HOST: more, ARBITER: more},
        ROLES,
        data=data,
        models=["lr_0.model"],
    )
    features = _joined(guest, host)
    plain = plaintext_lr(
        features,
        binary.labels,
        {**more, "init_param": {"fit_intercept": True}},
        [np.arange(len(guest.ids))],
        initial=np.full(features.shape[1] + 1, 0.1),
    )
    guest_model, host_model = stores.model(GUEST, "lr_1"), stores.model(HOST, "lr_1")
    arbiter_model = stores.model(ARBITER, "lr_1")
    assert guest_model is not None and host_model is not None and arbiter_model is not None
    weights = [
        *[guest_model["param"]["weight"][n] for n in guest.header],
        *[host_model["param"]["weight"][n] for n in host.header],
        guest_model["param"]["intercept"],
    ]
    np.testing.assert_allclose(weights, plain.weights, atol=1e-6)
    assert arbiter_model["param"]["iters"] == 6
    np.testing.assert_allclose(arbiter_model["param"]["loss_history"], plain.losses, rtol=1e-6)


def test_homo_lr_refuses_a_warm_start_by_name(stores: Stores) -> None:
    guest = read_csv(fate_table("vehicle_scale_homo_guest.csv")).take(np.arange(20))
    stores.put(GUEST, "reader_0.data", guest.to_table())
    context = stores.context("lr_0", GUEST, {})
    try:
        context.save_model({"header": guest.header, "weight": {}, "intercept": 0.0})
    finally:
        context.close()
    with pytest.raises(InvalidArgument, match="warm start"):
        stores.run(
            HomoLR(),
            "lr_1",
            GUEST,
            {},
            roles=ROLES,
            data={"train_data": ["reader_0.data"]},
            models=["lr_0.model"],
        )


def test_hetero_lr_one_vs_rest_validates_each_class_as_the_plaintext_run(stores: Stores) -> None:
    """With `validation_freqs`, each class's model is scored on the validate data labelled as
    that class against the rest, its AUC under `model_<k>.iteration_<i>` as FATE logs it."""
    guest = read_csv(fate_table("vehicle_scale_hetero_guest.csv")).take(np.arange(300))
    host = read_csv(fate_table("vehicle_scale_hetero_host.csv"), label=None)
    rows, validate_rows = np.arange(200), np.arange(200, 300)
    stores.put(GUEST, "reader_0.data", guest.take(rows).to_table())
    stores.put(GUEST, "reader_1.data", guest.take(validate_rows).to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    stores.put(HOST, "reader_1.data", host.to_table())
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "sgd",
        "learning_rate": 0.15,
        "max_iter": 2,
        "early_stop": "diff",
        "tol": 0.0,
        "init_param": {"init_method": "const", "init_const": 0.1},
        "validation_freqs": 1,
        "metrics": ["auc"],
    }
    _run(
        stores,
        HeteroLR(),
        params,
        data={"train_data": ["reader_0.data"], "validate_data": ["reader_1.data"]},
    )
    features = _joined(guest, host)
    labels = guest.labels
    assert labels is not None
    design = np.hstack([features, np.ones((len(labels), 1))])
    logged = stores.metrics(GUEST, "lr_0")["validate"]
    for k, label in enumerate(one_vs_rest.classes_of(labels[rows])):
        for iteration in range(2):
            plain = plaintext_lr(
                features[rows],
                (labels[rows] == label).astype(float),
                {**params, "max_iter": iteration + 1, "init_param": {"fit_intercept": True}},
                [np.arange(len(rows))],
                initial=np.full(design.shape[1], 0.1),
            )
            wanted = auc(design[validate_rows] @ plain.weights, labels[validate_rows] == label)
            metric = logged[f"model_{k}.iteration_{iteration}"]
            assert dict(metric.data)["auc"] == pytest.approx(wanted, abs=1e-6)


def test_homo_lr_one_vs_rest_validates_each_class_with_the_aggregated_model(
    stores: Stores,
) -> None:
    guest = read_csv(fate_table("vehicle_scale_homo_guest.csv"))
    host = read_csv(fate_table("vehicle_scale_homo_host.csv"))
    rows, validate_rows = np.arange(300), np.arange(300, len(guest.ids))
    train = guest.take(rows)
    stores.put(GUEST, "reader_0.data", train.to_table())
    stores.put(GUEST, "reader_1.data", guest.take(validate_rows).to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "sgd",
        "learning_rate": 0.15,
        "max_iter": 2,
        "tol": 1e-12,
        "init_param": {"init_method": "zeros"},
        "validation_freqs": 1,
        "metrics": ["auc"],
    }
    _run(
        stores,
        HomoLR(),
        params,
        data={"train_data": ["reader_0.data"], "validate_data": ["reader_1.data"]},
    )
    assert guest.labels is not None and train.labels is not None and host.labels is not None
    design = np.hstack([guest.features[validate_rows], np.ones((len(validate_rows), 1))])
    logged = stores.metrics(GUEST, "lr_0")["validate"]
    for k, label in enumerate(one_vs_rest.classes_of(guest.labels)):
        for iteration in range(2):
            w = _homo_plaintext(
                [
                    (train.features, (train.labels == label).astype(float)),
                    (host.features, (host.labels == label).astype(float)),
                ],
                {**params, "max_iter": iteration + 1},
            )
            wanted = auc(design @ w, guest.labels[validate_rows] == label)
            metric = logged[f"model_{k}.iteration_{iteration}"]
            assert dict(metric.data)["auc"] == pytest.approx(wanted, abs=1e-6)
