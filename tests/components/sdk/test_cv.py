"""Cross validation (`sdk/cv.py`): FATE's folds, and HeteroLR and HomoLR cross validated as
tasks, each fold checked against a plaintext training of the same rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from sklearn.model_selection import KFold

from fateflow_grpc.components.linear.hetero_lr import HeteroLR
from fateflow_grpc.components.linear.homo_lr import HomoLR
from fateflow_grpc.components.sdk import cv
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.testing import Wire
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast
from tests.components.linear.test_hetero_lr import plaintext_lr
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ARBITER = PartyRole("arbiter", 10000)
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}


# --- folds ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [10, 11, 569])
@pytest.mark.parametrize(("shuffle", "seed"), [(True, 1), (True, 103), (False, None)])
def test_folds_are_scikit_learns_disjoint_and_complete(
    count: int, shuffle: bool, seed: int | None
) -> None:
    params = cv.CvParams(need_cv=True, n_splits=4, shuffle=shuffle, random_seed=seed)
    folds = cv.kfold(count, params)
    expected = KFold(n_splits=4, shuffle=shuffle, random_state=seed).split(np.arange(count))
    for (train, test), (want_train, want_test) in zip(folds, expected, strict=True):
        assert train.tolist() == want_train.tolist() and test.tolist() == want_test.tolist()
        assert not set(train) & set(test)
        assert sorted([*train, *test]) == list(range(count))
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(count))


def test_too_few_rows_and_bad_sections_are_refused_by_name() -> None:
    with pytest.raises(InvalidArgument, match="cannot make 5 folds"):
        cv.kfold(4, cv.CvParams(need_cv=True))

    def read(section: dict[str, Any]) -> cv.CvParams:
        return cv.read_cv(ParamReader("M", {"cv_param": section}, {"cv_param": cv.CV_DEFAULTS}))

    for section, name in [
        ({"need_cv": True, "n_splits": 1}, "cv_param.n_splits"),
        ({"history_value_type": "weights"}, "cv_param.history_value_type"),
        ({"mode": "vertical"}, "cv_param.mode"),
        ({"shuffle": "yes"}, "cv_param.shuffle"),
        ({"random_seed": -3}, "cv_param.random_seed"),
    ]:
        with pytest.raises(InvalidArgument) as caught:
            read(section)
        assert caught.value.metadata["parameter"] == name
    assert read({"history_value_type": "INSTANCE"}).history_value_type == "instance"


# --- HeteroLR -----------------------------------------------------------------------------------


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    positive, negative = scores[labels == 1], scores[labels != 1]
    wins = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positive) * len(negative)))


def _host_aligned(guest: Dataset, host: Dataset) -> np.ndarray:
    position = {sample: k for k, sample in enumerate(host.ids.tolist())}
    return host.features[[position[s] for s in guest.ids.tolist()]]


HETERO_PARAMS: dict[str, Any] = {
    "penalty": "L2",
    "alpha": 0.01,
    "optimizer": "rmsprop",
    "learning_rate": 0.15,
    "max_iter": 3,
    "tol": 1e-9,
    "early_stop": "diff",
    "init_param": {"init_method": "const", "init_const": 0.1},
    "cv_param": {"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 103},
}


def test_hetero_lr_folds_match_plaintext_training_of_each_fold(stores: Stores) -> None:
    guest = breast("breast_hetero_guest").take(np.arange(90))
    host_all = breast("breast_hetero_host")
    # The host's rows in another order, and more of them: folds go by id.
    host = host_all.take(np.arange(len(host_all.ids))[::-1])
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    wire = stores.run_parties(
        HeteroLR(),
        "hetero_lr_0",
        {GUEST: HETERO_PARAMS, HOST: HETERO_PARAMS, ARBITER: HETERO_PARAMS},
        ROLES,
        data={"train_data": ["reader_0.data"]},
    )
    params = {**HETERO_PARAMS, "init_param": {"fit_intercept": True}}
    features = np.hstack([guest.features, _host_aligned(guest, host)])
    labels = guest.labels
    assert labels is not None
    folds = cv.kfold(len(guest.ids), cv.CvParams(need_cv=True, n_splits=3, random_seed=103))
    metrics = stores.metrics(GUEST, "hetero_lr_0")
    summary = stores.summary(GUEST, "hetero_lr_0")
    assert summary is not None and summary["fold_num"] == 3
    sent = wire.received_from(GUEST, cv.TEST_SID)
    for fold, (train, test) in enumerate(folds):
        # The host got the guest's folds, by id.
        [test_ids] = [d.obj for d in sent if d.tag == f"cv.{fold}"]
        assert test_ids == guest.ids[test].tolist()
        plain = plaintext_lr(
            features[train],
            labels[train],
            params,
            [np.arange(len(train))],
            initial=np.full(features.shape[1] + 1, 0.1),
        )
        for kind, rows in (("train", train), ("validate", test)):
            scores = _sigmoid(np.hstack([features[rows], np.ones((len(rows), 1))]) @ plain.weights)
            expected = _auc(labels[rows], scores)
            points = dict(metrics[kind][f"{kind}_fold_{fold}"].data)
            assert points["auc"] == pytest.approx(expected, abs=1e-6)
            assert summary[f"fold_{fold}"]["metrics"][kind]["auc"] == pytest.approx(
                expected, abs=1e-6
            )
        # The arbiter's loss curve of each fold, FATE's name for it.
        arbiter_metrics = stores.metrics(ARBITER, "hetero_lr_0")
        losses = [loss for _, loss in arbiter_metrics["train"][f"loss.{fold}"].data]
        np.testing.assert_allclose(losses, plain.losses, atol=1e-6)
    for kind in ("train", "validate"):
        mean = np.mean([summary[f"fold_{k}"]["metrics"][kind]["auc"] for k in range(3)])
        assert summary["cv_mean"][kind]["auc"] == pytest.approx(mean)

    history = stores.output(GUEST, "hetero_lr_0")
    names = history.column(0).to_pylist()
    assert len(names) == 3 * len(guest.ids) and len(set(names)) == len(names)
    assert f"{guest.ids[folds[0][1][0]]}#fold0#validate" in names
    assert set(history.column("type").to_pylist()) == {"train", "validate"}
    host_history = stores.output(HOST, "hetero_lr_0")
    assert host_history.column_names[1:] == ["fold_num"]
    assert host_history.num_rows == 3 * len(guest.ids)
    # No model to deploy, as in FATE.
    assert stores.model(GUEST, "hetero_lr_0") is None


# --- HomoLR -----------------------------------------------------------------------------------


def _homo_plaintext(
    parts: list[tuple[np.ndarray, np.ndarray]], params: Mapping[str, Any]
) -> np.ndarray:
    """FedAvg of full-batch sgd on the true log-loss gradient, L2, one epoch per round."""
    w = np.zeros(parts[0][0].shape[1] + 1)
    for epoch in range(params["max_iter"]):
        rate = params["learning_rate"] / math.sqrt(1 + epoch)
        updates, counts = [], []
        for x, y in parts:
            design = np.hstack([x, np.ones((len(x), 1))])
            gradient = design.T @ (_sigmoid(design @ w) - y) / len(y)
            gradient[:-1] += params["alpha"] * w[:-1]
            updates.append(w - rate * gradient)
            counts.append(len(y))
        w = np.average(updates, axis=0, weights=counts)
    return w


def test_homo_lr_folds_are_each_partys_own_and_match_plaintext_fedavg(stores: Stores) -> None:
    guest = breast("breast_homo_guest").take(np.arange(120))
    host = breast("breast_homo_host").take(np.arange(100))
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
        "cv_param": {"need_cv": True, "n_splits": 4, "shuffle": False, "mode": "homo"},
    }
    stores.run_parties(
        HomoLR(),
        "homo_lr_0",
        {GUEST: params, HOST: params, ARBITER: params},
        ROLES,
        Wire(),
        data={"train_data": ["reader_0.data"]},
    )
    settings = cv.CvParams(need_cv=True, n_splits=4, shuffle=False)
    guest_folds, host_folds = cv.kfold(120, settings), cv.kfold(100, settings)
    for fold in range(4):
        parts = [
            (data.features[folds[fold][0]], data.labels[folds[fold][0]])
            for data, folds in ((guest, guest_folds), (host, host_folds))
            if data.labels is not None
        ]
        weights = _homo_plaintext(parts, params)
        for party, data, folds in ((GUEST, guest, guest_folds), (HOST, host, host_folds)):
            assert data.labels is not None
            test = folds[fold][1]
            scores = _sigmoid(np.hstack([data.features[test], np.ones((len(test), 1))]) @ weights)
            points = dict(
                stores.metrics(party, "homo_lr_0")["validate"][f"validate_fold_{fold}"].data
            )
            assert points["auc"] == pytest.approx(_auc(data.labels[test], scores), abs=1e-6)
