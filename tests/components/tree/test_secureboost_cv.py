"""Cross validation (`sdk/cv.py`) of HeteroSecureBoost and HomoSecureBoost as tasks: each
fold's trees are the plaintext reference trees of the fold's training rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.sdk import cv
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.tree.hetero_secureboost import HeteroSecureBoost
from fateflow_grpc.components.tree.homo_secureboost import HomoSecureBoost
from fateflow_grpc.domain.parties import PartyRole
from tests.components.datasets import breast
from tests.components.tasks import Stores
from tests.components.tree import reference

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ARBITER = PartyRole("arbiter", 10000)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    positive, negative = scores[labels == 1], scores[labels != 1]
    wins = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positive) * len(negative)))


PARAMS: dict[str, Any] = {
    "num_trees": 2,
    "tree_param": {"max_depth": 2},
    "cv_param": {"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 33},
}


def _check_train_folds(
    stores: Stores, party: PartyRole, component: str, blocks: list[np.ndarray], labels: np.ndarray
) -> None:
    folds = cv.kfold(len(labels), cv.CvParams(need_cv=True, n_splits=3, random_seed=33))
    metrics = stores.metrics(party, component)
    summary = stores.summary(party, component)
    assert summary is not None and summary["fold_num"] == 3
    for fold, (train, _) in enumerate(folds):
        expected = reference.fit(
            [block[train] for block in blocks], labels[train], num_trees=2, max_depth=2, tol=1e-4
        )
        probabilities = reference.sigmoid(expected.scores[:, 0])
        points = dict(metrics["train"][f"train_fold_{fold}"].data)
        assert points["auc"] == pytest.approx(_auc(labels[train], probabilities), abs=1e-6)
        assert f"validate_fold_{fold}" in metrics["validate"]


def test_hetero_secureboost_folds_are_the_reference_trees_of_each_fold(stores: Stores) -> None:
    guest = breast("breast_hetero_guest").take(np.arange(150))
    host = breast("breast_hetero_host")
    position = {sample: k for k, sample in enumerate(host.ids.tolist())}
    host = host.take(np.array([position[s] for s in guest.ids.tolist()]))
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    stores.run_parties(
        HeteroSecureBoost(),
        "sbt_0",
        {GUEST: PARAMS, HOST: PARAMS},
        {"guest": [9999], "host": [10000]},
        data={"train_data": ["reader_0.data"]},
    )
    assert guest.labels is not None
    _check_train_folds(stores, GUEST, "sbt_0", [guest.features, host.features], guest.labels)
    history = stores.output(GUEST, "sbt_0")
    assert history.num_rows == 3 * 150


def test_homo_secureboost_folds_are_each_clients_own_and_the_reference_trees(
    stores: Stores,
) -> None:
    guest: Dataset = breast("breast_homo_guest").take(np.arange(90))
    host: Dataset = breast("breast_homo_host").take(np.arange(60))
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params = {**PARAMS, "cv_param": {**PARAMS["cv_param"], "mode": "homo"}}
    stores.run_parties(
        HomoSecureBoost(),
        "sbt_0",
        {GUEST: params, HOST: params, ARBITER: params},
        {"guest": [9999], "host": [10000], "arbiter": [10000]},
        data={"train_data": ["reader_0.data"]},
    )
    settings = cv.CvParams(need_cv=True, n_splits=3, random_seed=33)
    guest_folds, host_folds = cv.kfold(90, settings), cv.kfold(60, settings)
    assert guest.labels is not None and host.labels is not None
    for fold in range(3):
        g, h = guest_folds[fold][0], host_folds[fold][0]
        # The trees of the fold: the reference's over both clients' training rows as one table.
        expected = reference.fit(
            [np.vstack([guest.features[g], host.features[h]])],
            np.concatenate([guest.labels[g], host.labels[h]]),
            num_trees=2,
            max_depth=2,
            tol=1e-4,
        )
        scores = reference.sigmoid(expected.scores[:, 0])
        for party, labels, part in (
            (GUEST, guest.labels[g], scores[: len(g)]),
            (HOST, host.labels[h], scores[len(g) :]),
        ):
            points = dict(stores.metrics(party, "sbt_0")["train"][f"train_fold_{fold}"].data)
            assert points["auc"] == pytest.approx(_auc(labels, part), abs=1e-6)
    for party, data in ((GUEST, guest), (HOST, host)):
        summary = stores.summary(party, "sbt_0")
        assert summary is not None and summary["fold_num"] == 3
        metrics = stores.metrics(party, "sbt_0")
        assert {f"validate_fold_{k}" for k in range(3)} <= set(metrics["validate"])
        assert stores.output(party, "sbt_0").num_rows == 3 * len(data.ids)
