"""HeteroLinR and HeteroPoisson role by role (guest, hosts, arbiter in threads over the SDK's
in-memory wire, every object through the federation codec), on FATE's motor, student and
dvisits tables, checked against a plaintext centralised computation of the same algorithm
(same initial weights, batches, optimizer, penalty and convergence rule) written here; and as
tasks (`tests/components/tasks.py`): stepwise selection, cross validation, ModelCheckpoint and
a warm start."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pytest

from fateflow_grpc.components.io.model_loader import ModelLoader
from fateflow_grpc.components.linear import hetero_glm as glm
from fateflow_grpc.components.linear import hetero_linr, hetero_poisson
from fateflow_grpc.components.sdk import cv
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.linear.test_hetero_lr import ReferenceOptimizer
from tests.components.tasks import Stores
from tests.data import fate_table

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
HOST_B = PartyRole("host", 10001)
ARBITER = PartyRole("arbiter", 10000)


@dataclass(frozen=True)
class Table:
    ids: list[str]
    header: list[str]
    values: np.ndarray


def read(name: str, rows: int) -> Table:
    path = fate_table(name)
    header = path.read_text().splitlines()[0].split(",")
    values = np.loadtxt(path, delimiter=",", skiprows=1, max_rows=rows)
    return Table([str(int(v)) for v in values[:, 0]], header[1:], values[:, 1:])


@dataclass(frozen=True)
class Split:
    """A guest's rows (labels first in the table) and the hosts' column ranges."""

    guest: Table
    host: Table
    label: int = 0

    def guest_data(
        self, offset: np.ndarray | None = None, weights: np.ndarray | None = None
    ) -> glm.Data:
        keep = [k for k in range(len(self.guest.header)) if k != self.label]
        return glm.Data(
            self.guest.ids,
            self.guest.values[:, keep],
            self.guest.values[:, self.label],
            np.zeros(len(self.guest.ids)) if offset is None else offset,
            weights,
        )

    def host_data(self, columns: slice) -> glm.Data:
        # The host's rows in another order: rows are matched by id.
        order = np.arange(len(self.host.ids))[::-1]
        return glm.Data([self.host.ids[k] for k in order], self.host.values[order][:, columns])


def plaintext_glm(
    family: str,
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    params: Mapping[str, Any],
    batches: Sequence[np.ndarray],
    initial: np.ndarray,
    sample_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, list[float], int]:
    """The same algorithm on the joined data in the clear: weights [features, intercept]."""
    k = x.shape[1]
    design = np.hstack([x, np.ones((len(y), 1))])
    w = initial.copy()
    optimizer = ReferenceOptimizer(params, len(w), k)
    losses: list[float] = []
    for iteration in range(params["max_iter"]):
        start = w.copy()
        batch_losses = []
        for rows in batches:
            xb, yb, ob = design[rows], y[rows], offset[rows]
            wb = np.ones(len(rows)) if sample_weights is None else sample_weights[rows]
            u = xb @ w
            if family == "linr":
                residual = wb * (u - yb)
                loss = float(np.mean(wb * (u - yb) ** 2)) / 2
            else:
                mu = np.exp(u + ob)
                residual = mu - yb
                loss = float(np.mean(mu - yb * (u + ob)))
            if params["penalty"] == "L2":
                loss += 0.5 * params["alpha"] * float(w[:k] @ w[:k])
            elif params["penalty"] == "L1":
                loss += params["alpha"] * float(np.abs(w[:k]).sum())
            batch_losses.append(loss)
            w = optimizer.step(w, xb.T @ residual / len(rows), iteration)
        losses.append(float(np.mean(batch_losses)))
        if params["early_stop"] == "weight_diff":
            converged = float(np.linalg.norm(w - start)) < params["tol"]
        elif params["early_stop"] == "abs":
            converged = losses[-1] <= params["tol"]
        else:
            converged = len(losses) > 1 and abs(losses[-2] - losses[-1]) < params["tol"]
        if converged:
            return w, losses, iteration + 1
    return w, losses, params["max_iter"]


@dataclass
class Trained:
    wire: Wire
    guest: glm.Fitted
    hosts: dict[PartyRole, np.ndarray]
    arbiter: glm.Fitted


def train(
    family: glm.Family,
    table: Mapping[str, Any],
    params: Mapping[str, Any],
    guest: glm.Data,
    hosts: Mapping[PartyRole, glm.Data],
    validate: Mapping[PartyRole, glm.Data] | None = None,
    log_metric: Any = None,
) -> Trained:
    """Every party's fit; `validate` each party's rows scored during training."""
    settings = glm.settings_of(family.module, params, table)
    parties = Participants(GUEST, tuple(hosts), ARBITER)
    validate = validate or {}
    wire = Wire()
    roles: dict[PartyRole, Any] = {
        ARBITER: lambda t: glm.fit_arbiter(family, t, settings, parties),
        GUEST: lambda t: glm.fit_guest(
            family,
            t,
            guest,
            settings,
            parties,
            validate=validate.get(GUEST),
            log_metric=log_metric,
        ),
    }
    for party, data in hosts.items():
        roles[party] = lambda t, party=party, data=data: (
            glm.fit_host(family, t, data, settings, parties, validate=validate.get(party)).weights
        )
    results = run_parties(wire, roles)
    return Trained(wire, results[GUEST], {h: results[h] for h in hosts}, results[ARBITER])


def batches_sent(trained: Trained, family: glm.Family, ids: list[str]) -> list[np.ndarray]:
    position = {sample: k for k, sample in enumerate(ids)}
    name = f"{family.variables}.batch_data_index"
    return [
        np.array([position[s] for s in cast(list[str], d.obj)])
        for d in trained.wire.received_by(HOST)
        if d.name == name and d.tag.startswith("fit.")
    ]


def seeded(seed: int, size: int) -> np.ndarray:
    return np.random.default_rng(seed).random(size)


# --- HeteroLinR -----------------------------------------------------------------------------

#: FATE's HeteroLinR example (test_hetero_linr_train_job_conf.json), decay as in our reference.
LINR_EXAMPLE = {
    "penalty": "L2",
    "tol": 0.001,
    "alpha": 0.01,
    "optimizer": "sgd",
    "batch_size": -1,
    "learning_rate": 0.15,
    "init_param": {"init_method": "zeros"},
    "max_iter": 8,
    "early_stop": "diff",
}


@pytest.fixture(scope="module")
def motor() -> Split:
    return Split(read("motor_hetero_guest.csv", 150), read("motor_hetero_host.csv", 150))


@pytest.mark.slow
def test_linr_on_motor_matches_the_plaintext_computation(motor: Split) -> None:
    guest = motor.guest_data()
    host = motor.host_data(slice(None))
    trained = train(hetero_linr.LINEAR, hetero_linr.DEFAULTS, LINR_EXAMPLE, guest, {HOST: host})
    params = hetero_linr.DEFAULTS | LINR_EXAMPLE
    assert guest.labels is not None
    x = np.hstack([guest.matrix, motor.host.values])
    expected, losses, iters = plaintext_glm(
        "linr",
        x,
        guest.labels,
        np.zeros(len(x)),
        params,
        [np.arange(len(x))],
        np.zeros(x.shape[1] + 1),
    )
    got = np.concatenate([trained.guest.weights, trained.hosts[HOST], [trained.guest.intercept]])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert trained.guest.iters == trained.arbiter.iters == iters
    np.testing.assert_allclose(trained.arbiter.losses, losses, rtol=1e-6)
    assert losses[-1] < losses[0]
    # The host gets no label, nothing in the clear but ids, flags and masked numbers.
    names = {d.name.split(".")[-1] for d in trained.wire.received_by(HOST)}
    assert names == {
        "paillier_pubkey",
        "batch_info",
        "batch_data_index",
        "fore_gradient",
        "host_optim_gradient",
        "converge_flag",
    }
    # The arbiter sees gradients only masked: what it decrypts is no gradient.
    for d in trained.wire.received_by(ARBITER):
        assert not d.name.endswith("_forward_dict")


@pytest.mark.slow
def test_linr_two_hosts_mini_batches_weights_adam_l1_on_student() -> None:
    split = Split(read("student_hetero_guest.csv", 120), read("student_hetero_host.csv", 120))
    params = {
        "penalty": "L1",
        "optimizer": "adam",
        "alpha": 0.01,
        "learning_rate": 0.05,
        "max_iter": 2,
        "batch_size": 50,
        "early_stop": "weight_diff",
        "tol": 1e-9,
        "init_param": {"init_method": "random_uniform", "random_seed": 3},
    }
    weights = np.linspace(0.5, 2.0, 120)
    scaled = weights * 120 / weights.sum()
    guest = split.guest_data(weights=scaled)
    width = split.host.values.shape[1]
    hosts = {HOST: split.host_data(slice(0, 4)), HOST_B: split.host_data(slice(4, None))}
    trained = train(hetero_linr.LINEAR, hetero_linr.DEFAULTS, params, guest, hosts)
    batches = batches_sent(trained, hetero_linr.LINEAR, split.guest.ids)
    assert sorted(len(b) for b in batches) == [20, 50, 50]
    assert sorted(np.concatenate(batches).tolist()) == list(range(120))
    k = guest.matrix.shape[1]
    initial_guest = seeded(3, k + 1)
    initial = np.concatenate(
        [initial_guest[:-1], seeded(3, 4), seeded(3, width - 4), initial_guest[-1:]]
    )
    assert guest.labels is not None
    x = np.hstack([guest.matrix, split.host.values])
    expected, _, iters = plaintext_glm(
        "linr",
        x,
        guest.labels,
        np.zeros(len(x)),
        hetero_linr.DEFAULTS | params,
        batches,
        initial,
        scaled,
    )
    guest_part = trained.guest
    got = np.concatenate(
        [guest_part.weights, trained.hosts[HOST], trained.hosts[HOST_B], [guest_part.intercept]]
    )
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # No loss with several hosts, as in FATE.
    assert (trained.arbiter.iters, trained.arbiter.converged) == (iters, False)
    assert trained.arbiter.losses == []


def test_linr_weighted_loss_with_one_host(motor: Split) -> None:
    params = LINR_EXAMPLE | {"max_iter": 2, "penalty": None}
    weights = np.linspace(0.2, 1.8, 150)
    guest = motor.guest_data(weights=weights)
    trained = train(
        hetero_linr.LINEAR,
        hetero_linr.DEFAULTS,
        params,
        guest,
        {HOST: motor.host_data(slice(None))},
    )
    assert guest.labels is not None
    x = np.hstack([guest.matrix, motor.host.values])
    expected, losses, _ = plaintext_glm(
        "linr",
        x,
        guest.labels,
        np.zeros(len(x)),
        hetero_linr.DEFAULTS | params | {"penalty": "NONE"},
        [np.arange(len(x))],
        np.zeros(x.shape[1] + 1),
        weights,
    )
    got = np.concatenate([trained.guest.weights, trained.hosts[HOST], [trained.guest.intercept]])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(trained.arbiter.losses, losses, rtol=1e-6)


# --- HeteroPoisson --------------------------------------------------------------------------

#: FATE's HeteroPoisson example (test_hetero_poisson_train_job_conf.json), fewer iterations.
POISSON_EXAMPLE = {
    "penalty": "L2",
    "tol": 0.001,
    "alpha": 100.0,
    "optimizer": "rmsprop",
    "batch_size": -1,
    "learning_rate": 0.01,
    "init_param": {"init_method": "zeros"},
    "max_iter": 4,
    "early_stop": "diff",
    "exposure_colname": "exposure",
}


@pytest.fixture(scope="module")
def dvisits() -> Split:
    return Split(read("dvisits_hetero_guest.csv", 200), read("dvisits_hetero_host.csv", 200))


@pytest.mark.slow
@pytest.mark.parametrize("with_exposure", [False, True])
def test_poisson_on_dvisits_matches_the_plaintext_computation(
    dvisits: Split, with_exposure: bool
) -> None:
    # dvisits has no exposure column: one made of hscore (0 counts as 1e-7, FATE's safe_log).
    hscore = dvisits.guest.values[:, 1]
    offset = np.log(np.where(hscore == 0, 1e-7, hscore)) if with_exposure else np.zeros(200)
    guest = dvisits.guest_data(offset=offset)
    params = POISSON_EXAMPLE | ({"penalty": "L1", "optimizer": "adagrad"} if with_exposure else {})
    trained = train(
        hetero_poisson.POISSON,
        hetero_poisson.DEFAULTS,
        params,
        guest,
        {HOST: dvisits.host_data(slice(None))},
    )
    assert guest.labels is not None
    x = np.hstack([guest.matrix, dvisits.host.values])
    expected, losses, iters = plaintext_glm(
        "poisson",
        x,
        guest.labels,
        offset,
        hetero_poisson.DEFAULTS | params,
        [np.arange(len(x))],
        np.zeros(x.shape[1] + 1),
    )
    got = np.concatenate([trained.guest.weights, trained.hosts[HOST], [trained.guest.intercept]])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert trained.arbiter.iters == iters
    np.testing.assert_allclose(trained.arbiter.losses, losses, rtol=1e-6)


def test_prediction_sums_the_forwards(dvisits: Split) -> None:
    guest = dvisits.guest_data(offset=np.full(200, math.log(2.0)))
    host = dvisits.host_data(slice(None))
    rng = np.random.default_rng(1)
    weights, host_weights = rng.normal(0, 0.1, guest.matrix.shape[1]), rng.normal(0, 0.1, 9)
    parties = Participants(GUEST, (HOST,), ARBITER)
    for family in (hetero_poisson.POISSON, hetero_linr.LINEAR):
        results = run_parties(
            Wire(),
            {
                GUEST: lambda t, f=family: glm.predict_guest(f, t, guest, weights, 0.3, parties),
                HOST: lambda t, f=family: glm.predict_host(f, t, host, host_weights, parties),
            },
        )
        forward = guest.matrix @ weights + 0.3 + dvisits.host.values @ host_weights
        expected = forward if family is hetero_linr.LINEAR else 2.0 * np.exp(forward)
        np.testing.assert_allclose(results[GUEST], expected, rtol=1e-12)


# --- validation during training -------------------------------------------------------------


def subset(data: glm.Data, ids: Sequence[str]) -> glm.Data:
    """A party's rows of `ids`, in that order."""
    position = {sample: k for k, sample in enumerate(data.ids)}
    rows = np.array([position[sample] for sample in ids])

    def take(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values[rows]

    return glm.Data(
        list(ids), data.matrix[rows], take(data.labels), take(data.offset), take(data.weights)
    )


def plain_errors(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    errors = predictions - labels
    return {
        "root_mean_squared_error": math.sqrt(float(np.mean(errors**2))),
        "mean_absolute_error": float(np.mean(np.abs(errors))),
    }


def validated_run(
    family: str, split: Split, offset: np.ndarray, params: Mapping[str, Any], table: Any
) -> tuple[Trained, list[tuple[str, str, dict[str, float]]], list[np.ndarray], list[dict]]:
    """A run trained on the first 100 rows, validated on the others; with the plaintext run's
    weights after each iteration and their errors on both (`train`, `validate`)."""
    module = hetero_linr.LINEAR if family == "linr" else hetero_poisson.POISSON
    guest_all, host_all = split.guest_data(offset=offset), split.host_data(slice(None))
    train_ids, validate_ids = split.guest.ids[:100], split.guest.ids[100:]
    logged: list[tuple[str, str, dict[str, float]]] = []
    trained = train(
        module,
        table,
        params,
        subset(guest_all, train_ids),
        {HOST: subset(host_all, train_ids)},
        validate={GUEST: subset(guest_all, validate_ids), HOST: subset(host_all, validate_ids)},
        log_metric=lambda namespace, name, points, meta: logged.append(
            (namespace, name, dict(points))
        ),
    )
    assert guest_all.labels is not None
    design = np.hstack([guest_all.matrix, split.host.values, np.ones((len(offset), 1))])
    snapshots, errors = [], []
    for iteration in range(params["max_iter"]):
        weights, _, _ = plaintext_glm(
            family,
            design[:100, :-1],
            guest_all.labels[:100],
            offset[:100],
            table | params | {"max_iter": iteration + 1},
            [np.arange(100)],
            np.zeros(design.shape[1]),
        )
        snapshots.append(weights)
        forward = design @ weights
        predictions = forward if family == "linr" else np.exp(forward + offset)
        errors.append(
            {
                kind: plain_errors(predictions[rows], guest_all.labels[rows])
                for kind, rows in (("train", slice(0, 100)), ("validate", slice(100, None)))
            }
        )
    return trained, logged, snapshots, errors


@pytest.mark.slow
def test_linr_early_stopping_stops_where_the_plaintext_run_would(motor: Split) -> None:
    """Every iteration scored: its metrics are the plaintext run's errors; the validate RMSE
    is best at the first iteration (a learning rate that overshoots), so training stops three
    scored iterations later and every party keeps the first iteration's weights."""
    params = LINR_EXAMPLE | {
        "learning_rate": 0.8,
        "max_iter": 10,
        "tol": 0.0,
        "callback_param": {
            "callbacks": ["EarlyStopping", "PerformanceEvaluate"],
            "validation_freqs": 1,
            "early_stopping_rounds": 3,
            "metrics": ["root_mean_squared_error", "mean_absolute_error"],
            "use_first_metric_only": True,
        },
    }
    trained, logged, snapshots, errors = validated_run(
        "linr", motor, np.zeros(150), params, hetero_linr.DEFAULTS
    )
    rmse = [e["validate"]["root_mean_squared_error"] for e in errors]
    best = int(np.argmin(rmse[:4]))
    assert best == 0 and min(rmse[1:4]) > rmse[0]  # what the data give: see the docstring
    assert trained.guest.best_iteration == best
    assert trained.guest.iters == trained.arbiter.iters == 4
    kept = [*trained.guest.weights, *trained.hosts[HOST], trained.guest.intercept]
    np.testing.assert_allclose(kept, snapshots[best], atol=1e-6)
    assert [(namespace, name) for namespace, name, _ in logged] == [
        (kind, f"iteration_{k}") for k in range(4) for kind in ("train", "validate")
    ]
    for namespace, name, points in logged:
        expected = errors[int(name.split("_")[1])][namespace]
        assert points == pytest.approx(expected, rel=1e-6)
    summary = trained.guest.validation_metrics
    assert summary is not None
    for name, values in summary.items():
        assert values == pytest.approx([e["validate"][name] for e in errors[:4]], rel=1e-6)


@pytest.mark.slow
def test_poisson_validation_scores_the_due_iterations(dvisits: Split) -> None:
    hscore = dvisits.guest.values[:, 1]
    offset = np.log(np.where(hscore == 0, 1e-7, hscore))
    params = POISSON_EXAMPLE | {"max_iter": 4, "validation_freqs": 2}
    trained, logged, _, errors = validated_run(
        "poisson", dvisits, offset, params, hetero_poisson.DEFAULTS
    )
    assert [(namespace, name) for namespace, name, _ in logged] == [
        (kind, f"iteration_{k}") for k in (1, 3) for kind in ("train", "validate")
    ]
    for namespace, name, points in logged:
        expected = errors[int(name.split("_")[1])][namespace]
        assert points == pytest.approx(expected, rel=1e-6)
    assert trained.guest.best_iteration == -1  # no early stopping


# --- cross validation, checkpoints, warm start ----------------------------------------------

ROLES = {"guest": [GUEST.party_id], "host": [HOST.party_id], "arbiter": [ARBITER.party_id]}


def put_tables(stores: Stores, split: Split, job_id: str = "train") -> None:
    """Each party's table as `reader_0.data` (the host's rows in reverse order)."""
    keep = [name for k, name in enumerate(split.guest.header) if k != split.label]
    guest = split.guest_data()
    host = split.host_data(slice(None))
    tables = {
        GUEST: Dataset(np.array(guest.ids), guest.matrix, guest.labels, keep).to_table(),
        HOST: Dataset(np.array(host.ids), host.matrix, None, split.host.header).to_table(),
    }
    for party, table in tables.items():
        stores.put(party, "reader_0.data", table, job_id=job_id)


@pytest.mark.slow
def test_linr_cross_validation_folds_match_plaintext_training_of_each_fold(
    stores: Stores, motor: Split
) -> None:
    cv_param = {"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 103}
    params = LINR_EXAMPLE | {"max_iter": 3, "tol": 0.0, "cv_param": cv_param}
    put_tables(stores, motor)
    stores.run_parties(
        hetero_linr.HeteroLinR(),
        "hetero_linr_0",
        dict.fromkeys((GUEST, HOST, ARBITER), params),
        ROLES,
        data={"train_data": ["reader_0.data"]},
    )
    guest = motor.guest_data()
    assert guest.labels is not None
    x = np.hstack([guest.matrix, motor.host.values])
    design = np.hstack([x, np.ones((len(x), 1))])
    folds = cv.kfold(len(x), cv.CvParams(need_cv=True, n_splits=3, random_seed=103))
    metrics = stores.metrics(GUEST, "hetero_linr_0")
    losses = stores.metrics(ARBITER, "hetero_linr_0")["train"]
    summary = stores.summary(GUEST, "hetero_linr_0")
    assert summary is not None and summary["fold_num"] == 3
    for fold, (train_rows, test_rows) in enumerate(folds):
        weights, plain_losses, _ = plaintext_glm(
            "linr",
            x[train_rows],
            guest.labels[train_rows],
            np.zeros(len(train_rows)),
            hetero_linr.DEFAULTS | params,
            [np.arange(len(train_rows))],
            np.zeros(design.shape[1]),
        )
        for kind, rows in (("train", train_rows), ("validate", test_rows)):
            expected = plain_errors(design[rows] @ weights, guest.labels[rows])
            assert dict(metrics[kind][f"{kind}_fold_{fold}"].data) == pytest.approx(expected)
        got = [loss for _, loss in losses[f"loss.{fold}"].data]
        np.testing.assert_allclose(got, plain_losses, rtol=1e-6)
    history = stores.output(GUEST, "hetero_linr_0")
    assert history.num_rows == 3 * len(x)  # each row trained on twice, validated on once
    # No model to deploy, and no checkpoints, as in FATE.
    assert stores.model(GUEST, "hetero_linr_0") is None


@pytest.mark.slow
def test_checkpoints_and_a_warm_start_from_one_go_on_as_the_uninterrupted_run(
    stores: Stores, motor: Split
) -> None:
    params = LINR_EXAMPLE | {"max_iter": 6, "tol": 0.0}
    checkpointed = params | {"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 2}}
    parties = (GUEST, HOST, ARBITER)
    put_tables(stores, motor)
    stores.run_parties(
        hetero_linr.HeteroLinR(),
        "hetero_linr_0",
        dict.fromkeys(parties, checkpointed),
        ROLES,
        data={"train_data": ["reader_0.data"]},
    )
    for party in parties:
        steps = stores.checkpoints(party, "hetero_linr_0")
        assert [index for index, _ in steps] == [0, 2, 4]
        assert [cast(dict, model)["param"]["iters"] for _, model in steps] == [1, 3, 5]
    # Another job goes on from each party's checkpoint after 3 iterations (step 2) to 6.
    put_tables(stores, motor, job_id="warm")
    loader = {"model_version": "train", "component_name": "hetero_linr_0", "step_index": 2}
    for party in parties:
        stores.run(ModelLoader(), "model_loader_0", party, loader, job_id="warm", outputs=[])
    stores.run_parties(
        hetero_linr.HeteroLinR(),
        "hetero_linr_1",
        dict.fromkeys(parties, params),
        ROLES,
        data={"train_data": ["reader_0.data"]},
        models=["model_loader_0.model"],
        job_id="warm",
    )
    for party in parties:
        whole = cast(dict, stores.model(party, "hetero_linr_0"))["param"]
        warm = cast(dict, stores.model(party, "hetero_linr_1", job_id="warm"))["param"]
        assert warm["iters"] == whole["iters"] == 6
        assert warm["weight"] == pytest.approx(whole["weight"], abs=1e-9)
        assert warm["intercept"] == pytest.approx(whole["intercept"], abs=1e-9)
        assert warm["loss_history"] == pytest.approx(whole["loss_history"], rel=1e-9)
    assert len(whole["loss_history"]) == 6
    # It trained the last three iterations only.
    losses = stores.metrics(ARBITER, "hetero_linr_1", job_id="warm")["train"]["loss"]
    assert [iteration for iteration, _ in losses.data] == [3, 4, 5]


# --- parameters -----------------------------------------------------------------------------


def test_defaults_are_fates() -> None:
    linr, poisson = hetero_linr.DEFAULTS, hetero_poisson.DEFAULTS
    assert (linr["optimizer"], linr["max_iter"], linr["penalty"], linr["early_stop"]) == (
        "sgd",
        20,
        "L2",
        "diff",
    )
    assert (poisson["optimizer"], poisson["max_iter"], poisson["exposure_colname"]) == (
        "rmsprop",
        20,
        None,
    )
    assert "sqn_param" in linr and "sqn_param" not in poisson
    assert linr["stepwise_param"]["need_stepwise"] is False


@pytest.mark.parametrize(
    ("validate", "params", "parameter"),
    [
        (hetero_linr.validate_parameters, {"optimizer": "nesterov_momentum_sgd"}, "optimizer"),
        (hetero_linr.validate_parameters, {"optimizer": "sqn"}, "optimizer"),
        (hetero_linr.validate_parameters, {"batch_size": 5}, "batch_size"),
        (hetero_linr.validate_parameters, {"penalty": "L3"}, "penalty"),
        (
            hetero_linr.validate_parameters,
            {"cv_param": {"need_cv": True, "n_splits": 1}},
            "cv_param.n_splits",
        ),
        (hetero_linr.validate_parameters, {"stepwise_param": {"nvmin": 1}}, "stepwise_param.nvmin"),
        (
            hetero_linr.validate_parameters,
            {"stepwise_param": {"nvmin": 3, "nvmax": 2}},
            "stepwise_param.nvmax",
        ),
        (
            hetero_poisson.validate_parameters,
            {"stepwise_param": {"score_name": "xic"}},
            "stepwise_param.score_name",
        ),
        (hetero_linr.validate_parameters, {"early_stopping_rounds": 2}, "early_stopping_rounds"),
        (
            hetero_poisson.validate_parameters,
            {"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 0}},
            "callback_param.save_freq",
        ),
        (
            hetero_linr.validate_parameters,
            {"stepwise_param": {"need_stepwise": True}, "validation_freqs": 1},
            "stepwise_param.need_stepwise",
        ),
        (
            hetero_poisson.validate_parameters,
            {"stepwise_param": {"need_stepwise": True}, "cv_param": {"need_cv": True}},
            "stepwise_param.need_stepwise",
        ),
        (hetero_linr.validate_parameters, {"exposure_colname": "e"}, "exposure_colname"),
        (hetero_poisson.validate_parameters, {"exposure_colname": 3}, "exposure_colname"),
        (hetero_poisson.validate_parameters, {"sqn_param": {}}, "sqn_param"),
        (
            hetero_poisson.validate_parameters,
            {"encrypt_param": {"key_length": 100}},
            "encrypt_param.key_length",
        ),
    ],
)
def test_bad_parameters_are_refused_by_name(
    validate: Any, params: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        validate(params)
    assert error.value.metadata["parameter"] == parameter


def test_poisson_trains_with_one_host_only(dvisits: Split) -> None:
    settings = glm.settings_of("HeteroPoisson", POISSON_EXAMPLE, hetero_poisson.DEFAULTS)
    with pytest.raises(InvalidArgument, match="one host"):
        glm.check_hosts(
            hetero_poisson.POISSON, settings, Participants(GUEST, (HOST, HOST_B), ARBITER)
        )


# --- stepwise -------------------------------------------------------------------------------


def plain_stepwise(
    family: str,
    guest: np.ndarray,
    host: np.ndarray,
    y: np.ndarray,
    params: Mapping[str, Any],
    step_params: Mapping[str, Any],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FATE's stepwise search in the clear, each candidate refitted by `plaintext_glm` (zero
    initial weights): the final (host mask, guest mask, weights [guest, host, intercept])."""
    direction = step_params["direction"]
    forward, backward = direction in ("forward", "both"), direction in ("backward", "both")
    n, j_host, j_guest = len(y), host.shape[1], guest.shape[1]
    k = 2.0 if step_params["score_name"].lower() == "aic" else math.log(n)
    fits: dict[str, tuple[np.ndarray, float | None]] = {}

    def key(h: np.ndarray, g: np.ndarray) -> str:
        return "".join("1" if v else "0" for v in [*h, *g])

    def fit(h: np.ndarray, g: np.ndarray) -> None:
        if key(h, g) in fits:
            return
        if not h.any() and not g.any():
            fits[key(h, g)] = (np.zeros(1), None)
            return
        x = np.hstack([guest[:, g], host[:, h]])
        w, losses, _ = plaintext_glm(
            family, x, y, np.zeros(n), params, [np.arange(n)], np.zeros(x.shape[1] + 1)
        )
        loss, dfe = losses[-1], int(h.sum() + g.sum()) + 1
        ic = k * dfe + (n * math.log(2 * loss) if family == "linr" else 2 * n * loss)
        fits[key(h, g)] = (w, ic)

    def flips(mask: np.ndarray, on: bool) -> list[np.ndarray]:
        found = []
        for i in range(len(mask)):
            if mask[i] != on:
                new = mask.copy()
                new[i] = on
                if new.any():
                    found.append(new)
        return found

    h = np.full(j_host, backward)
    g = np.full(j_guest, backward)
    step = 0
    while step <= step_params["max_step"]:
        models = [(h, g)]
        if backward and step > 0:
            models += [(x, g) for x in flips(h, False)] + [(h, x) for x in flips(g, False)]
        if forward:
            if h.any() or g.any():
                models += [(x, g) for x in flips(h, True)] + [(h, x) for x in flips(g, True)]
            elif step > 0:
                models += [(a, b) for a in flips(h, True) for b in flips(g, True)]
        for a, b in models:
            fit(a, b)
        if step == 0 and not h.any() and not g.any():
            step += 1
            continue
        scored = [
            (ic, key(a, b), a, b) for a, b in models if (ic := fits[key(a, b)][1]) is not None
        ]
        _, _, new_h, new_g = min(scored, key=lambda item: (item[0], item[1]))
        total, old_total = int(new_h.sum() + new_g.sum()), int(h.sum() + g.sum())
        stop = step > 0 and (
            (np.array_equal(new_h, h) and np.array_equal(new_g, g))
            or (new_h.all() and new_g.all())
            or (total == step_params["nvmin"] and old_total >= step_params["nvmin"])
            or step >= step_params["max_step"]
        )
        h, g = new_h, new_g
        if stop:
            break
        step += 1
    return h, g, fits[key(h, g)][0]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "family", "table", "label"),
    [
        (hetero_linr.HeteroLinR(), "linr", "motor_hetero_mini", 1),
        (hetero_poisson.HeteroPoisson(), "poisson", "dvisits_hetero", 0),
    ],
)
def test_stepwise_keeps_the_plaintext_searchs_model(
    stores: Stores, module: Any, family: str, table: str, label: int
) -> None:
    split = Split(read(f"{table}_guest.csv", 120), read(f"{table}_host.csv", 120), label)
    if family == "poisson":  # 4 of the host's features: fewer candidates
        split = Split(
            split.guest, Table(split.host.ids, split.host.header[:4], split.host.values[:, :4])
        )
    step_params = {
        "score_name": "AIC" if family == "linr" else "BIC",
        "direction": "backward" if family == "linr" else "both",
        "need_stepwise": True,
        "max_step": 3,
        "nvmin": 2,
    }
    params = {
        "penalty": "NONE",
        "optimizer": "sgd",
        "learning_rate": 0.15 if family == "linr" else 0.05,
        "init_param": {"init_method": "zeros"},
        "max_iter": 3,
        "stepwise_param": step_params,
    }
    guest = split.guest_data()
    keep = [name for k, name in enumerate(split.guest.header) if k != label]
    tables = {
        GUEST: Dataset(np.array(split.guest.ids), guest.matrix, guest.labels, keep).to_table(),
        HOST: Dataset(
            np.array(split.host.ids), split.host.values, None, split.host.header
        ).to_table(),
    }
    for party, data in tables.items():
        stores.put(party, "reader_0.data", data)
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id], "arbiter": [ARBITER.party_id]}
    stores.run_parties(
        module,
        "glm_0",
        {party: params for party in (GUEST, HOST, ARBITER)},
        roles,
        data={"train_data": ["reader_0.data"]},
    )
    assert guest.labels is not None
    defaults = module.info.parameters
    host_mask, guest_mask, expected = plain_stepwise(
        family,
        guest.matrix,
        split.host.values,
        guest.labels,
        defaults | params | {"penalty": "NONE", "decay": 1, "decay_sqrt": True},
        step_params,
    )
    guest_model = stores.model(GUEST, "glm_0")
    host_model = stores.model(HOST, "glm_0")
    assert guest_model is not None and host_model is not None
    assert guest_model["param"]["header"] == [n for n, m in zip(keep, guest_mask, strict=True) if m]
    assert host_model["param"]["header"] == [
        n for n, m in zip(split.host.header, host_mask, strict=True) if m
    ]
    got = [
        *guest_model["param"]["weight"].values(),
        *host_model["param"]["weight"].values(),
        guest_model["param"]["intercept"],
    ]
    np.testing.assert_allclose(got, expected, atol=1e-6)
    steps = stores.metrics(ARBITER, "glm_0")["train"]
    assert {name for name in steps if name.startswith("stepwise_")}
    # The predictions on the training data are the selected model's, and so are a predict
    # job's, whose data have every feature.
    output = stores.output(GUEST, "glm_0")
    assert output.num_rows == 120
    for party, data in tables.items():
        stores.put(party, "reader_0.data", data, job_id="predict")
    stores.run_parties(
        module,
        "glm_0",
        {party: params for party in (GUEST, HOST, ARBITER)},
        roles,
        data={"data": ["reader_0.data"]},
        models=["glm_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = stores.output(GUEST, "glm_0", job_id="predict")
    np.testing.assert_allclose(
        predicted.column("predict_result").to_numpy(),
        output.column("predict_result").to_numpy(),
        rtol=1e-9,
    )
