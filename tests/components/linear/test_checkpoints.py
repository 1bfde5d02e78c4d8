"""FATE's ModelCheckpoint callback (`sdk/checkpoint.py`) in HeteroLR and HomoLR, as tasks:
every party keeps its model every `save_freq`-th epoch, a checkpoint is that epoch's model
(checked against the plaintext run), and a later job goes on from one through ModelLoader and
a warm start as if training had never stopped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.io.model_loader import ModelLoader
from fateflow_grpc.components.linear.hetero_lr import HeteroLR
from fateflow_grpc.components.linear.homo_lr import HomoLR
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from tests.components.datasets import read_csv
from tests.components.linear.test_hetero_lr import plaintext_lr
from tests.components.linear.test_one_vs_rest import _homo_plaintext, _joined
from tests.components.tasks import Stores
from tests.data import fate_table

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ARBITER = PartyRole("arbiter", 10000)
PARTIES = (GUEST, HOST, ARBITER)
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}


def _steps(
    stores: Stores, party: PartyRole, component: str, names: tuple[str, ...] = ("step_name",)
) -> dict[tuple[int, str], Any]:
    """The checkpoints of these step names `component` of job `train` left at `party`, by
    (step index, name)."""
    context = stores.context("reader", party, {})
    try:
        found = {}
        for step in range(10):
            for name in names:
                checkpoint = context.stored_checkpoint(None, "train", component, step, name)
                if checkpoint is not None:
                    found[step, name] = checkpoint[2]
        return found
    finally:
        context.close()


def test_hetero_lr_checkpoints_and_a_job_that_goes_on_from_one(stores: Stores) -> None:
    guest = read_csv(fate_table("vehicle_scale_hetero_guest.csv")).take(np.arange(120))
    host = read_csv(fate_table("vehicle_scale_hetero_host.csv"), label=None)
    assert guest.labels is not None
    binary = Dataset(guest.ids, guest.features, (guest.labels == 1).astype(float), guest.header)
    for job in ("train", "later"):
        stores.put(GUEST, "reader_0.data", binary.to_table(), job_id=job)
        stores.put(HOST, "reader_0.data", host.to_table(), job_id=job)
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "sgd",
        "learning_rate": 0.15,
        "max_iter": 5,
        "early_stop": "diff",
        "tol": 0.0,
        "init_param": {"init_method": "const", "init_const": 0.1},
        "callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 2},
    }
    data = {"train_data": ["reader_0.data"]}
    stores.run_parties(HeteroLR(), "lr_0", dict.fromkeys(PARTIES, params), ROLES, data=data)

    features = _joined(guest, host)
    initial = np.full(features.shape[1] + 1, 0.1)
    for party in PARTIES:
        steps = _steps(stores, party, "lr_0")
        assert sorted(steps) == [(0, "step_name"), (2, "step_name"), (4, "step_name")]
        assert [m["param"]["iters"] for m in steps.values()] == [1, 3, 5]
        # The last epoch's checkpoint is the model the component output.
        assert steps[4, "step_name"] == stores.model(party, "lr_0")
    at_three = plaintext_lr(
        features,
        binary.labels,
        {**params, "max_iter": 3, "init_param": {"fit_intercept": True}},
        [np.arange(len(guest.ids))],
        initial=initial,
    )
    guest_step = _steps(stores, GUEST, "lr_0")[2, "step_name"]["param"]
    host_step = _steps(stores, HOST, "lr_0")[2, "step_name"]["param"]
    assert set(host_step["weight"]) == set(host.header)  # a host keeps its own weights only
    weights = [
        *[guest_step["weight"][n] for n in guest.header],
        *[host_step["weight"][n] for n in host.header],
        guest_step["intercept"],
    ]
    np.testing.assert_allclose(weights, at_three.weights, atol=1e-6)

    # A later job loads step 2 at every party and trains on to 6 iterations: the plaintext 6.
    loader = {"model_version": "train", "component_name": "lr_0", "step_index": 2}
    stores.run_parties(
        ModelLoader(), "model_loader_0", dict.fromkeys(PARTIES, loader), ROLES, job_id="later"
    )
    more = {**params, "max_iter": 6, "callback_param": {}}
    stores.run_parties(
        HeteroLR(),
        "lr_1",
        dict.fromkeys(PARTIES, more),
        ROLES,
        data=data,
        models=["model_loader_0.model"],
        job_id="later",
    )
    plain = plaintext_lr(
        features,
        binary.labels,
        {**more, "init_param": {"fit_intercept": True}},
        [np.arange(len(guest.ids))],
        initial=initial,
    )
    guest_model = stores.model(GUEST, "lr_1", job_id="later")["param"]
    host_model = stores.model(HOST, "lr_1", job_id="later")["param"]
    weights = [
        *[guest_model["weight"][n] for n in guest.header],
        *[host_model["weight"][n] for n in host.header],
        guest_model["intercept"],
    ]
    np.testing.assert_allclose(weights, plain.weights, atol=1e-6)
    arbiter_model = stores.model(ARBITER, "lr_1", job_id="later")["param"]
    assert arbiter_model["iters"] == 6
    np.testing.assert_allclose(arbiter_model["loss_history"], plain.losses, rtol=1e-6)


@pytest.mark.parametrize("classes", [2, 4])
def test_homo_lr_checkpoints_are_each_rounds_aggregated_model(stores: Stores, classes: int) -> None:
    guest = read_csv(fate_table("vehicle_scale_homo_guest.csv"))
    host = read_csv(fate_table("vehicle_scale_homo_host.csv"))
    if classes == 2:
        guest, host = (
            Dataset(d.ids, d.features, (d.labels == 1).astype(float), d.header)
            for d in (guest, host)
        )
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params: dict[str, Any] = {
        "penalty": "L2",
        "alpha": 0.01,
        "optimizer": "sgd",
        "learning_rate": 0.15,
        "max_iter": 3,
        "tol": 1e-12,
        "init_param": {"init_method": "zeros"},
        "callback_param": {"callbacks": ["ModelCheckpoint", "EarlyStopping"]},
    }
    stores.run_parties(
        HomoLR(),
        "lr_0",
        dict.fromkeys(PARTIES, params),
        ROLES,
        data={"train_data": ["reader_0.data"]},
    )
    # One-vs-rest: each class's binary model is kept as step `model_<k>`, none over another.
    names = ("step_name",) if classes == 2 else tuple(f"model_{k}" for k in range(classes))
    for party in PARTIES:
        steps = _steps(stores, party, "lr_0", names)
        assert sorted(steps) == sorted((step, name) for step in range(3) for name in names)
    final = stores.model(GUEST, "lr_0")
    assert _steps(stores, ARBITER, "lr_0", names)[2, names[-1]]["loss_history"] == (
        stores.model(ARBITER, "lr_0")["loss_history"][-1]
        if classes > 2
        else stores.model(ARBITER, "lr_0")["loss_history"]
    )
    # The first model's: the binary one, or class 0's against the rest.
    parts = [
        (d.features, d.labels if classes == 2 else (d.labels == 0).astype(float))
        for d in (guest, host)
    ]
    for step in range(3):
        w = _homo_plaintext(parts, {**params, "max_iter": step + 1})
        model = _steps(stores, GUEST, "lr_0", names)[step, names[0]]
        assert model["iters"] == step + 1
        np.testing.assert_allclose(
            [*[model["weight"][n] for n in guest.header], model["intercept"]], w, atol=2e-6
        )
    if classes == 2:  # every client ends with the same aggregated model
        assert _steps(stores, HOST, "lr_0")[2, "step_name"]["weight"] == final["weight"]
