"""HeteroSSHELR and HeteroSSHELinR, guest and host in threads over the in-memory wire of
`sdk/testing.py` (every object through the real federation codec).

The numbers are checked against a plaintext, centralised run of the same algorithm written
here independently: FATE's Taylor residual and loss, its optimizers, penalties, batches (ids
sorted, cut every batch_size rows) and convergence rules, with FATE's quirks (shared weights
put L2 on the intercept too). Tolerance: weights, losses and scores within 1e-5, or 1e-6 of
their size. The protocol computes in fixed point with 24 fractional bits (resolution 6e-8);
rmsprop divides a gradient near 0 by about sqrt(1e-6), which turns that into 1e-5.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.crypto import secret_sharing as ss
from fateflow_grpc.components.linear import hetero_sshe_linr, hetero_sshe_lr, sshe
from fateflow_grpc.components.linear.hetero_sshe_linr import HeteroSSHELinR
from fateflow_grpc.components.linear.hetero_sshe_lr import HeteroSSHELR
from fateflow_grpc.components.sdk.checkpoint import Checkpoints
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers
from tests.components.datasets import breast, read_csv
from tests.components.tasks import Stores
from tests.data import fate_table

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
PARTIES = Participants(GUEST, (HOST,))
TOLERANCE = 1e-5


# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """A hetero dataset: the guest's rows, and the host's same samples in another order."""

    guest: Dataset
    host: Dataset

    def head(self, count: int) -> Split:
        return Split(self.guest.take(np.arange(count)), self.host)

    def host_aligned(self) -> np.ndarray:
        position = {sample: k for k, sample in enumerate(self.host.ids.tolist())}
        return self.host.features[[position[s] for s in self.guest.ids.tolist()]]

    def guest_data(self) -> sshe.PartyData:
        g = self.guest
        return sshe.PartyData.of(g.ids.tolist(), g.features, g.header, g.labels, g.weights)

    def host_data(self) -> sshe.PartyData:
        h = self.host.take(np.arange(len(self.host.ids))[::-1])
        return sshe.PartyData.of(h.ids.tolist(), h.features, h.header)


@pytest.fixture(scope="module")
def breast_split() -> Split:
    return Split(breast("breast_hetero_guest"), breast("breast_hetero_host"))


@pytest.fixture(scope="module")
def motor_split() -> Split:
    guest = read_csv(fate_table("motor_hetero_guest.csv"), label="motor_speed")
    host = read_csv(fate_table("motor_hetero_host.csv"), label=None)
    return Split(guest, host)


# --- the plaintext reference -------------------------------------------------------------------


@dataclass
class Plain:
    guest: np.ndarray  # coefficients, then the intercept (if any)
    host: np.ndarray
    losses: list[float]
    iters: int
    converged: bool
    scores: np.ndarray


def plaintext(split: Split, params: Mapping[str, Any], objective: str) -> Plain:
    """The algorithm on the joined data, in the clear."""
    g = split.guest
    intercept = params["init_param"]["fit_intercept"]
    xg = np.hstack([g.features, np.ones((len(g.ids), 1))]) if intercept else g.features
    xh = split.host_aligned()
    y = g.labels
    assert y is not None
    weights = None if g.weights is None else g.weights * len(y) / g.weights.sum()
    init = params["init_param"]
    wg = initial(init, xg.shape[1])
    wh = initial(init, xh.shape[1])
    k_g = g.features.shape[1]
    reveal = params["reveal_every_iter"]
    # One optimizer over [guest weights, host weights]: FATE's rules act element by element.
    penalised = np.r_[np.arange(k_g), np.arange(xh.shape[1]) + xg.shape[1]]
    if not reveal:
        penalised = np.arange(xg.shape[1] + xh.shape[1])
    optimizer = Reference(params, xg.shape[1] + xh.shape[1], penalised)
    order = sorted(range(len(y)), key=lambda k: str(g.ids[k]))
    size = params["batch_size"]
    batches = [order] if size == -1 else [order[s : s + size] for s in range(0, len(y), size)]
    losses: list[float] = []
    converged, iters = False, 0
    for iteration in range(params["max_iter"]):
        start = np.r_[wg, wh]
        total = 0.0
        for rows in batches:
            z = xg[rows] @ wg + xh[rows] @ wh
            if objective == "lr":
                d = z / 4 + 0.5 - y[rows]
                loss = math.log(2) + float(np.mean(0.5 * z - y[rows] * z + z * z / 8))
            else:
                d = z - y[rows]
                loss = float(np.mean(d * d)) / 2
            if weights is not None:
                d = d * weights[rows]
            w = np.r_[wg, wh]
            loss += optimizer.penalty(w)
            total += loss * len(rows)
            gradient = np.r_[xg[rows].T @ d, xh[rows].T @ d] / len(rows)
            w = optimizer.step(w, gradient, iteration)
            wg, wh = w[: len(wg)], w[len(wg) :]
        losses.append(total / len(y))
        iters = iteration + 1
        if params["early_stop"] == "weight_diff":
            converged = float(np.linalg.norm(np.r_[wg, wh] - start)) < params["tol"]
        elif params["early_stop"] == "abs":
            converged = losses[-1] <= params["tol"]
        else:
            converged = len(losses) > 1 and abs(losses[-2] - losses[-1]) < params["tol"]
        if converged:
            break
    z = xg @ wg + xh @ wh
    scores = 1 / (1 + np.exp(-z)) if objective == "lr" else z
    return Plain(wg, wh, losses, iters, converged, scores)


def initial(init: Mapping[str, Any], size: int) -> np.ndarray:
    method = init["init_method"]
    if method == "zeros":
        return np.zeros(size)
    if method == "const":
        return np.full(size, float(init["init_const"]))
    assert method == "random_uniform"
    return np.random.RandomState(init["random_seed"]).rand(size)


class Reference:
    """FATE's update rules over the weights `penalised` says (the rest: intercepts)."""

    def __init__(self, params: Mapping[str, Any], size: int, penalised: np.ndarray) -> None:
        self.p = params
        self.mask = np.zeros(size, dtype=bool)
        self.mask[penalised] = True
        self.m, self.v, self.b1, self.b2 = np.zeros(size), np.zeros(size), 1.0, 1.0

    def penalty(self, w: np.ndarray) -> float:
        coefficients = w[self.mask]
        if self.p["penalty"] == "L2":
            return 0.5 * self.p["alpha"] * float(coefficients @ coefficients)
        if self.p["penalty"] == "L1":
            return self.p["alpha"] * float(np.abs(coefficients).sum())
        return 0.0

    def step(self, w: np.ndarray, g: np.ndarray, iteration: int) -> np.ndarray:
        p = self.p
        g = g.copy()
        if p["penalty"] == "L2":
            g[self.mask] += p["alpha"] * w[self.mask]
        scale = 1 + p["decay"] * iteration
        rate = p["learning_rate"] / (math.sqrt(scale) if p["decay_sqrt"] else scale)
        method = p["optimizer"]
        if method == "sgd":
            delta = rate * g
        elif method == "rmsprop":
            self.m = 0.99 * self.m + 0.01 * g * g
            delta = rate * g / np.sqrt(self.m + 1e-6)
        elif method == "adam":
            self.b1, self.b2 = self.b1 * 0.9, self.b2 * 0.999
            self.m = 0.9 * self.m + 0.1 * g
            self.v = 0.999 * self.v + 0.001 * g * g
            delta = rate * (self.m / (1 - self.b1)) / (np.sqrt(self.v / (1 - self.b2)) + 1e-8)
        else:
            assert method == "nesterov_momentum_sgd"
            velocity = 0.9 * self.m - rate * g
            delta = 0.9 * self.m - 1.9 * velocity
            self.m = velocity
        new: np.ndarray = w - delta
        if p["penalty"] == "L1":
            shifted = w[self.mask] - delta[self.mask]
            new[self.mask] = np.sign(shifted) * np.maximum(0, np.abs(shifted) - rate * p["alpha"])
        return new


# --- running the roles -------------------------------------------------------------------------


@dataclass
class Trained:
    wire: Wire
    guest: sshe.GuestResult
    host: sshe.HostResult
    losses: list[tuple[int, float]]


def train(split: Split, params: Mapping[str, Any], objective: sshe.Objective) -> Trained:
    wire = Wire()
    losses: list[tuple[int, float]] = []
    results = run_parties(
        wire,
        {
            GUEST: lambda t: sshe.fit_guest(
                t,
                split.guest_data(),
                params,
                PARTIES,
                objective,
                on_loss=lambda i, loss: losses.append((i, loss)),
            ),
            HOST: lambda t: sshe.fit_host(t, split.host_data(), params, PARTIES, objective),
        },
    )
    guest = results[GUEST]
    host = results[HOST]
    assert isinstance(guest, sshe.GuestResult) and isinstance(host, sshe.HostResult)
    return Trained(wire, guest, host, losses)


def weights_of(model: Mapping[str, Any]) -> np.ndarray:
    param = model["param"]
    values = [param["weight"][name] for name in param["header"]]
    if model["meta"]["fit_intercept"] and param["loss_history"]:
        values.append(param["intercept"])
    return np.array(values)


def close(computed: Any, expected: Any) -> bool:
    return bool(np.allclose(computed, expected, rtol=1e-6, atol=TOLERANCE))


def check_against_plaintext(trained: Trained, plain: Plain) -> None:
    guest, host = trained.guest.model, trained.host.model
    assert close(weights_of(guest), plain.guest)
    assert close(weights_of(host), plain.host)
    assert close(guest["param"]["loss_history"], plain.losses)
    assert [loss for _, loss in trained.losses] == guest["param"]["loss_history"]
    for model in (guest, host):
        assert model["param"]["iters"] == plain.iters
        assert model["param"]["is_converged"] == plain.converged
    assert close(trained.guest.scores, plain.scores)


def lr_params(**overrides: Any) -> dict[str, Any]:
    """FATE's hetero_sshe_lr example job's parameters, with `overrides`."""
    params: dict[str, Any] = {
        "penalty": "L2",
        "tol": 0.0001,
        "alpha": 0.01,
        "optimizer": "rmsprop",
        "batch_size": -1,
        "learning_rate": 0.15,
        "init_param": {"init_method": "zeros", "fit_intercept": True},
        "max_iter": 3,
        "early_stop": "diff",
        "encrypt_param": {"key_length": 1024},
        "reveal_strategy": "respectively",
        "reveal_every_iter": True,
    }
    params |= overrides
    return hetero_sshe_lr.validate_parameters(params)


# --- logistic regression -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def revealed(breast_split: Split) -> Trained:
    """FATE's example (reveal every iteration, rmsprop, L2) on 60 rows, 3 iterations."""
    return train(breast_split.head(60), lr_params(), hetero_sshe_lr.LOGISTIC)


def test_lr_revealing_weights_every_iteration_matches_the_plaintext_run(
    revealed: Trained, breast_split: Split
) -> None:
    check_against_plaintext(revealed, plaintext(breast_split.head(60), lr_params(), "lr"))
    meta = revealed.guest.model["meta"]
    assert meta["reveal_strategy"] == "respectively" and meta["need_one_vs_rest"] is False
    assert "predict_param" not in meta  # FATE's SSHE meta has none


def test_lr_shared_weights_in_batches_with_weight_diff_matches_the_plaintext_run(
    breast_split: Split,
) -> None:
    """FATE's default: weights stay shared; sgd on shares, L2 on the intercept too."""
    split = breast_split.head(60)
    params = lr_params(
        reveal_every_iter=False,
        optimizer="sgd",
        batch_size=25,
        early_stop="weight_diff",
        tol=0.15,
        max_iter=4,
        init_param={"init_method": "random_uniform", "random_seed": 5},
    )
    trained = train(split, params, hetero_sshe_lr.LOGISTIC)
    plain = plaintext(split, params, "lr")
    check_against_plaintext(trained, plain)
    assert plain.converged and plain.iters < 4  # it stopped where the plaintext run does


def test_lr_shared_weights_with_nesterov_and_no_penalty(breast_split: Split) -> None:
    split = breast_split.head(40)
    params = lr_params(
        reveal_every_iter=False,
        optimizer="nesterov_momentum_sgd",
        penalty=None,
        decay=0.5,
        decay_sqrt=False,
        init_param={"init_method": "const", "init_const": 0.1, "fit_intercept": False},
    )
    check_against_plaintext(
        train(split, params, hetero_sshe_lr.LOGISTIC), plaintext(split, params, "lr")
    )


def test_lr_l1_with_adam_converging_on_the_loss(breast_split: Split) -> None:
    split = breast_split.head(40)
    params = lr_params(penalty="L1", optimizer="adam", tol=0.2, max_iter=5)
    trained = train(split, params, hetero_sshe_lr.LOGISTIC)
    plain = plaintext(split, params, "lr")
    check_against_plaintext(trained, plain)
    assert plain.converged and plain.iters == trained.guest.model["param"]["iters"] < 5


def test_encrypted_reveal_in_host_keeps_the_host_weights_encrypted(breast_split: Split) -> None:
    split = breast_split.head(40)
    params = lr_params(
        reveal_every_iter=False,
        reveal_strategy="encrypted_reveal_in_host",
        optimizer="sgd",
        penalty=None,
        init_param={"init_method": "random_uniform", "random_seed": 1},
    )
    trained = train(split, params, hetero_sshe_lr.LOGISTIC)
    plain = plaintext(split, params, "lr")
    guest, host = trained.guest.model["param"], trained.host.model["param"]
    # FATE's model: the guest keeps the key, the host its weights encrypted under it.
    assert set(guest["cipher"]) == {"public_key", "private_key"}
    assert host["weight"] == {} and set(host["encrypted_weight"]) == set(split.host.header)
    entry = host["encrypted_weight"][split.host.header[0]]
    assert (
        entry["exponent"] == "-6" and entry["public_key"]["n"] == guest["cipher"]["public_key"]["n"]
    )
    assert close(weights_of(trained.guest.model), plain.guest)
    assert close(trained.guest.scores, plain.scores)
    # The host never held its weights: what it received under the guest's key is ciphertext.
    for delivery in trained.wire.received_by(HOST):
        assert not (isinstance(delivery.obj, np.ndarray) and delivery.obj.dtype.kind == "f")
    # A predict job with the two models scores as training did.
    scores = run_parties(
        Wire(),
        {
            GUEST: lambda t: sshe.predict_guest(
                t, split.guest_data(), trained.guest.model, PARTIES, hetero_sshe_lr.LOGISTIC
            ),
            HOST: lambda t: sshe.predict_host(
                t, split.host_data(), trained.host.model, PARTIES, module="HeteroSSHELR"
            ),
        },
    )[GUEST]
    assert close(scores, plain.scores)


# --- validation, early stopping, checkpoints, one-vs-rest ---------------------------------------


@dataclass
class Validated:
    guest: sshe.GuestResult
    host: sshe.HostResult
    #: (namespace, data set) -> the summary's metrics, as logged.
    metrics: dict[tuple[str, str], dict[str, float]]
    #: The models each party checkpointed: (role, step index, step name) -> model.
    checkpoints: dict[tuple[str, int, str], dict[str, Any]]


def train_validating(
    split: Split,
    validate: Split | None,
    params: Mapping[str, Any],
    objective: sshe.Objective,
) -> Validated:
    metrics: dict[tuple[str, str], dict[str, float]] = {}
    saved: dict[tuple[str, int, str], dict[str, Any]] = {}

    def log_metric(namespace: str, name: str, points: Any, meta: Any) -> None:
        metrics.setdefault((namespace, name), {}).update(points)

    def checkpoints(role: str) -> Checkpoints:
        def save(step: int, name: str, model: dict[str, Any]) -> None:
            saved[(role, step, name)] = model

        return Checkpoints.of(sshe.callback_reader("test", params), save)

    results = run_parties(
        Wire(),
        {
            GUEST: lambda t: sshe.fit_guest(
                t,
                split.guest_data(),
                params,
                PARTIES,
                objective,
                validate_data=None if validate is None else validate.guest,
                log_metric=log_metric,
                checkpoints=checkpoints("guest"),
            ),
            HOST: lambda t: sshe.fit_host(
                t,
                split.host_data(),
                params,
                PARTIES,
                objective,
                validate_data=None if validate is None else validate.host,
                checkpoints=checkpoints("host"),
            ),
        },
    )
    return Validated(results[GUEST], results[HOST], metrics, saved)


def joint_forward(plain: Plain, validate: Split, fit_intercept: bool) -> np.ndarray:
    """The plaintext model's forward on the validate rows."""
    guest = validate.guest.features @ plain.guest[: len(validate.guest.header)]
    intercept = plain.guest[-1] if fit_intercept else 0.0
    return guest + validate.host_aligned() @ plain.host + intercept


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    positive, negative = scores[labels == 1], scores[labels != 1]
    pairs = (positive[:, None] > negative[None, :]).sum() + 0.5 * (
        positive[:, None] == negative[None, :]
    ).sum()
    return float(pairs / (len(positive) * len(negative)))


def rmse(predictions: np.ndarray, labels: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predictions - labels) ** 2)))


def numbers_in(obj: Any) -> Any:
    """Every float in a JSON-like object."""
    if isinstance(obj, float):
        yield obj
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from numbers_in(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from numbers_in(value)


def rows(split: Split, start: int, stop: int) -> Split:
    return Split(split.guest.take(np.arange(start, stop)), split.host)


@pytest.mark.parametrize("strategy", ["respectively", "encrypted_reveal_in_host"])
def test_lr_validation_with_shared_weights_scores_the_weights_of_that_iteration(
    breast_split: Split, strategy: str
) -> None:
    """`validation_freqs` 2: iterations 1 and 3 are scored (the shared forward, no weight
    revealed), their AUC that of the plaintext run's weights after as many iterations."""
    split, validate = breast_split.head(60), rows(breast_split, 60, 100)
    params = lr_params(
        reveal_every_iter=False,
        reveal_strategy=strategy,
        optimizer="sgd",
        learning_rate=0.3,
        max_iter=4,
        tol=0.0,
        validation_freqs=2,
    )
    result = train_validating(split, validate, params, hetero_sshe_lr.LOGISTIC)
    scored = {name for name, values in result.metrics.items() if "auc" in values}
    assert scored == {(kind, f"iteration_{i}") for kind in ("train", "validate") for i in (1, 3)}
    labels = validate.guest.labels
    assert labels is not None
    for iteration in (1, 3):
        plain = plaintext(split, {**params, "max_iter": iteration + 1}, "lr")
        scores = 1 / (1 + np.exp(-joint_forward(plain, validate, True)))
        logged = result.metrics[("validate", f"iteration_{iteration}")]
        assert logged["auc"] == pytest.approx(auc(scores, labels), abs=TOLERANCE)
        trained = result.metrics[("train", f"iteration_{iteration}")]
        assert trained["auc"] == pytest.approx(auc(plain.scores, split.guest.labels), abs=1e-5)
    assert result.guest.model["validation_metrics"]["auc"] == pytest.approx(
        [result.metrics[("validate", f"iteration_{i}")]["auc"] for i in (1, 3)], abs=1e-6
    )


def test_linr_early_stopping_stops_and_keeps_the_best_iteration(motor_split: Split) -> None:
    """RMSE on the validate rows every iteration; training stops when it has not improved for
    2 scored iterations, and both parties keep the weights of the best one, as a plaintext run
    with the same rule does."""
    split, validate = motor_split.head(50), rows(motor_split, 50, 90)
    params = linr_params(
        reveal_every_iter=False,
        learning_rate=0.3,
        max_iter=10,
        tol=0.0,
        callback_param={
            "callbacks": ["EarlyStopping", "PerformanceEvaluate"],
            "validation_freqs": 1,
            "early_stopping_rounds": 2,
            "metrics": ["root_mean_squared_error"],
        },
    )
    labels = validate.guest.labels
    errors = [
        rmse(
            joint_forward(plaintext(split, {**params, "max_iter": k + 1}, "linr"), validate, True),
            labels,
        )
        for k in range(params["max_iter"])
    ]
    best, stop = 0, None
    for k, error in enumerate(errors):
        if error < errors[best]:
            best = k
        if k - best >= 2:
            stop = k
            break
    assert stop is not None and 0 < best < stop < params["max_iter"] - 1
    result = train_validating(split, validate, params, hetero_sshe_linr.LINEAR)
    for iteration in range(stop + 1):
        logged = result.metrics[("validate", f"iteration_{iteration}")]
        assert logged["root_mean_squared_error"] == pytest.approx(errors[iteration], abs=1e-5)
    kept = plaintext(split, {**params, "max_iter": best + 1}, "linr")
    for model in (result.guest.model, result.host.model):
        assert model["param"]["iters"] == stop + 1
    assert result.guest.model["param"]["best_iteration"] == best
    assert close(weights_of(result.guest.model), kept.guest)
    assert close(weights_of(result.host.model), kept.host)


def test_checkpoints_every_save_freq_th_iteration_hold_that_iteration_s_model(
    breast_split: Split,
) -> None:
    """ModelCheckpoint, `save_freq` 2 over 5 iterations: each party keeps its model after
    iterations 0, 2 and 4, the weights a plaintext run has after as many iterations (shared
    weights revealed as the final ones are)."""
    split = breast_split.head(40)
    params = lr_params(
        reveal_every_iter=False,
        optimizer="sgd",
        max_iter=5,
        tol=0.0,
        callback_param={"callbacks": ["ModelCheckpoint"], "save_freq": 2},
    )
    result = train_validating(split, None, params, hetero_sshe_lr.LOGISTIC)
    assert sorted(result.checkpoints) == [
        (role, step, "step_name") for role in ("guest", "host") for step in (0, 2, 4)
    ]
    for step in (0, 2, 4):
        plain = plaintext(split, {**params, "max_iter": step + 1}, "lr")
        guest = result.checkpoints[("guest", step, "step_name")]
        host = result.checkpoints[("host", step, "step_name")]
        assert guest["param"]["iters"] == host["param"]["iters"] == step + 1
        assert close(weights_of(guest), plain.guest) and close(weights_of(host), plain.host)
    assert result.checkpoints[("guest", 4, "step_name")]["param"] == result.guest.model["param"]


@pytest.mark.parametrize("reveal", [True, False])
def test_a_warm_start_goes_on_as_if_never_stopped(breast_split: Split, reveal: bool) -> None:
    """FATE 1.9's warm start (a model beside train_data): 2 iterations, then 3 more from that
    model, are the plaintext run's 5 (sgd keeps no state between iterations)."""
    split = breast_split.head(40)
    first = lr_params(reveal_every_iter=reveal, optimizer="sgd", max_iter=2, tol=0.0)
    trained = train(split, first, hetero_sshe_lr.LOGISTIC)
    more = lr_params(reveal_every_iter=reveal, optimizer="sgd", max_iter=5, tol=0.0)
    results = run_parties(
        Wire(),
        {
            GUEST: lambda t: sshe.fit_guest(
                t,
                split.guest_data(),
                more,
                PARTIES,
                hetero_sshe_lr.LOGISTIC,
                warm_start=trained.guest.model,
            ),
            HOST: lambda t: sshe.fit_host(
                t,
                split.host_data(),
                more,
                PARTIES,
                hetero_sshe_lr.LOGISTIC,
                warm_start=trained.host.model,
            ),
        },
    )
    plain = plaintext(split, more, "lr")
    guest, host = results[GUEST].model, results[HOST].model
    assert close(weights_of(guest), plain.guest) and close(weights_of(host), plain.host)
    assert guest["param"]["iters"] == host["param"]["iters"] == 5
    assert close(guest["param"]["loss_history"], plain.losses)


def test_a_warm_start_from_encrypted_host_weights_is_refused_by_name(breast_split: Split) -> None:
    params = lr_params(
        reveal_every_iter=False, reveal_strategy="encrypted_reveal_in_host", optimizer="sgd"
    )
    trained = train(breast_split.head(30), params, hetero_sshe_lr.LOGISTIC)
    with pytest.raises(InvalidArgument, match="encrypted_reveal_in_host"):
        sshe._warm_start(trained.host.model, breast_split.host.header, "HeteroSSHELR")


@pytest.fixture(scope="module")
def vehicle_split() -> Split:
    guest = read_csv(fate_table("vehicle_scale_hetero_guest.csv"))
    host = read_csv(fate_table("vehicle_scale_hetero_host.csv"), label=None)
    return Split(guest, host)


def test_one_vs_rest_trains_a_model_per_class_as_plaintext_one_vs_rest(
    vehicle_split: Split,
) -> None:
    """FATE's vehicle_scale (4 classes): one model per class, each the plaintext run on
    that class against the rest; the host's model holds its weights alone; a predict job
    scores as training did."""
    split = vehicle_split.head(60)
    params = lr_params(max_iter=2, callback_param={"callbacks": ["ModelCheckpoint"]})
    result = train_validating(split, None, params, hetero_sshe_lr.LOGISTIC)
    labels = split.guest.labels
    assert labels is not None
    classes = sorted(set(labels.tolist()))
    assert len(classes) == 4 and result.guest.classes == classes
    guest, host = result.guest.model, result.host.model
    assert guest["meta"]["need_one_vs_rest"] and host["meta"]["need_one_vs_rest"]
    guest_parts = guest["param"]["one_vs_rest_result"]["completed_models"]
    host_parts = host["param"]["one_vs_rest_result"]["completed_models"]
    expected_scores = []
    for index, label in enumerate(classes):
        one = Split(dataclasses.replace(split.guest, labels=(labels == label) * 1.0), split.host)
        plain = plaintext(one, params, "lr")
        meta = guest["meta"]
        assert close(weights_of({"meta": meta, "param": guest_parts[index]}), plain.guest)
        assert close(weights_of({"meta": meta, "param": host_parts[index]}), plain.host)
        assert close(guest_parts[index]["loss_history"], plain.losses)
        expected_scores.append(plain.scores)
        assert ("guest", 0, f"model_{index}") in result.checkpoints
    assert close(result.guest.scores, np.column_stack(expected_scores))
    # The host's model: its own features' weights per class (the parties' feature names are
    # the same here), no guest weight, loss or key; the classes numbered, as FATE's host does.
    for part in host_parts:
        assert set(part["weight"]) == set(split.host.header) and part["loss_history"] == []
        assert part["intercept"] == 0.0 and "cipher" not in part
    host_numbers = np.array(list(numbers_in(host)))
    for part in guest_parts:
        for value in [*part["weight"].values(), part["intercept"]]:
            assert not np.isclose(host_numbers, value, rtol=0, atol=1e-12).any()
    assert host["param"]["one_vs_rest_result"]["one_vs_rest_classes"] == ["0", "1", "2", "3"]
    scores = run_parties(
        Wire(),
        {
            GUEST: lambda t: sshe.predict_guest(
                t, split.guest_data(), guest, PARTIES, hetero_sshe_lr.LOGISTIC
            ),
            HOST: lambda t: sshe.predict_host(
                t, split.host_data(), host, PARTIES, module="HeteroSSHELR"
            ),
        },
    )[GUEST]
    assert close(scores, result.guest.scores)


# --- what each party sees ----------------------------------------------------------------------


def test_no_plaintext_feature_label_or_residual_crosses(revealed: Trained) -> None:
    wire = revealed.wire
    to_host = wire.received_by(HOST)
    to_guest = wire.received_by(GUEST)
    for delivery in to_host:
        # The host gets ids, keys, flags, ciphertexts and shares: never a float array.
        assert not (isinstance(delivery.obj, np.ndarray) and delivery.obj.dtype.kind == "f")
        if delivery.name == sshe.ENCRYPTED:
            assert isinstance(delivery.obj, BigIntegers)
    floats_to_guest = {
        d.name for d in to_guest if isinstance(d.obj, np.ndarray) and d.obj.dtype.kind == "f"
    }
    # The host's forwards reach the guest only as FATE's prediction does (host_prob).
    assert floats_to_guest == {sshe.HOST_PROB}
    for delivery in to_guest:
        if delivery.name == sshe.ENCRYPTED:
            assert isinstance(delivery.obj, BigIntegers)


def test_shares_on_the_wire_look_uniform(revealed: Trained) -> None:
    """Every bit of every share that crossed is a fair coin (the shares of gradients, whose
    values are small: a biased share would show their high bits)."""
    words = np.concatenate(
        [
            d.obj.reshape(-1, 2)
            for d in revealed.wire.log
            if d.name in (sshe.SHARE, sshe.RECONSTRUCT) and isinstance(d.obj, np.ndarray)
        ]
    )
    assert len(words) >= 60
    high = words[:, 1]
    bits = (high[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.25)
    assert len(set(high.tolist())) == len(high)


def test_masked_values_are_as_wide_as_their_masks(revealed: Trained) -> None:
    """What a party decrypts of the other's masked values is ~256 bits wide whatever the
    value: the loss the host decrypts and sends back (`loss`) is one."""
    returned = [d.obj for d in revealed.wire.received_by(GUEST) if d.name == sshe.LOSS]
    assert returned and all(
        isinstance(v, int) and v.bit_length() > ss.DEFAULT_MASK_BITS - 20 for v in returned
    )


# --- linear regression -------------------------------------------------------------------------


def linr_params(**overrides: Any) -> dict[str, Any]:
    """FATE's hetero_sshe_linr example job's parameters, with `overrides`."""
    params: dict[str, Any] = {
        "penalty": "L2",
        "tol": 0.001,
        "alpha": 0.01,
        "optimizer": "sgd",
        "batch_size": -1,
        "learning_rate": 0.15,
        "encrypt_param": {"key_length": 1024},
        "init_param": {"init_method": "zeros"},
        "max_iter": 3,
        "early_stop": "weight_diff",
        "decay": 0.0,
        "decay_sqrt": False,
        "reveal_every_iter": True,
    }
    params |= overrides
    return hetero_sshe_linr.validate_parameters(params)


@pytest.mark.parametrize("reveal", [True, False])
def test_linr_on_motor_matches_the_plaintext_run(motor_split: Split, reveal: bool) -> None:
    split = motor_split.head(50)
    params = linr_params(reveal_every_iter=reveal)
    check_against_plaintext(
        train(split, params, hetero_sshe_linr.LINEAR), plaintext(split, params, "linr")
    )


def test_linr_with_sample_weights_and_rmsprop(motor_split: Split) -> None:
    """FATE's sample-weight example: weights (here the guest's `pm` column, scaled to mean 1)
    weigh the residuals; the loss is unweighted, as FATE's."""
    guest = motor_split.guest.take(np.arange(50))
    pm = guest.features[:, guest.header.index("pm")]
    split = Split(Dataset(**{**guest.__dict__, "weights": np.abs(pm) + 0.5}), motor_split.host)
    params = linr_params(optimizer="rmsprop")
    check_against_plaintext(
        train(split, params, hetero_sshe_linr.LINEAR), plaintext(split, params, "linr")
    )


# --- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "params", "named"),
    [
        ("lr", {"reveal_every_iter": False, "penalty": "L1"}, "penalty"),
        ("lr", {"reveal_every_iter": False, "optimizer": "adam"}, "optimizer"),
        ("linr", {"reveal_every_iter": False, "optimizer": "nesterov_momentum_sgd"}, "optimizer"),
        ("linr", {"reveal_every_iter": True, "optimizer": "nesterov_momentum_sgd"}, "optimizer"),
        (
            "lr",
            {"reveal_every_iter": True, "reveal_strategy": "encrypted_reveal_in_host"},
            "reveal_strategy",
        ),
        ("lr", {"cv_param": {"need_cv": True, "n_splits": 1}}, "cv_param.n_splits"),
        ("lr", {"callback_param": {"callbacks": ["Unknown"]}}, "callback_param.callbacks"),
        ("linr", {"early_stopping_rounds": 2}, "early_stopping_rounds"),
        (
            "lr",
            {"validation_freqs": 1, "callback_param": {"callbacks": ["EarlyStopping"]}},
            "validation_freqs",
        ),
        ("lr", {"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 0}}, "save_freq"),
        ("lr", {"optimizer": "sqn", "reveal_every_iter": True}, "optimizer"),
        ("lr", {"batch_size": 5}, "batch_size"),
        ("lr", {"encrypt_param": {"key_length": 512}}, "encrypt_param.key_length"),
        ("linr", {"encrypt_param": {"method": None}}, "encrypt_param.method"),
        ("lr", {"stepwise_param": {"need_stepwise": True}}, "stepwise_param.need_stepwise"),
        ("lr", {"no_such_parameter": 1}, "no_such_parameter"),
    ],
)
def test_parameters_fate_refuses_or_we_lack_are_refused_by_name(
    module: str, params: dict[str, Any], named: str
) -> None:
    validate = (hetero_sshe_lr if module == "lr" else hetero_sshe_linr).validate_parameters
    with pytest.raises(InvalidArgument) as raised:
        validate(params)
    assert named in raised.value.message


def test_fate_defaults_and_speed_knobs_are_accepted() -> None:
    params = hetero_sshe_lr.validate_parameters(
        {
            "use_mix_rand": False,
            "encrypted_mode_calculator_param": {"mode": "fast"},
            "penalty": "None",
        }
    )
    assert params["optimizer"] == "sgd" and params["reveal_every_iter"] is False
    assert params["penalty"] == "NONE" and params["max_iter"] == 100
    assert hetero_sshe_linr.validate_parameters({})["max_iter"] == 20
    assert hetero_sshe_lr.validate_parameters({"encrypt_param": {"method": None}})


def test_more_than_one_host_is_refused(breast_split: Split) -> None:
    split = breast_split.head(30)
    two_hosts = Participants(GUEST, (HOST, PartyRole("host", 10001)))
    with pytest.raises(InvalidArgument, match="one host"):
        sshe.fit_host(
            Wire().transport(HOST),
            split.host_data(),
            lr_params(),
            two_hosts,
            hetero_sshe_lr.LOGISTIC,
        )


# --- the components ----------------------------------------------------------------------------


def test_components_train_record_and_predict(stores: Stores, breast_split: Split) -> None:
    """The module as a task: model, summary, the guest's loss metric and FATE's prediction
    table; then a predict job from the models, scoring as training did."""
    split = breast_split.head(50)
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id], "arbiter": [10001]}
    stores.put(GUEST, "reader_0.data", split.guest.to_table())
    stores.put(HOST, "reader_0.data", split.host.to_table())
    params = {"max_iter": 2, "init_param": {"init_method": "zeros"}, "penalty": "L2", "alpha": 0.01}
    wire = Wire()
    component = HeteroSSHELR()

    def task(party: PartyRole, **wiring: Any) -> Any:
        return lambda transport: stores.run(
            component, "sshe_0", party, params, transport=transport, roles=roles, **wiring
        )

    run_parties(wire, {p: task(p, data={"train_data": ["reader_0.data"]}) for p in (GUEST, HOST)})
    table = stores.output(GUEST, "sshe_0")
    assert table.column_names[1:] == [
        "label",
        "predict_result",
        "predict_score",
        "predict_detail",
        "type",
    ]
    assert set(table.column("type").to_pylist()) == {"train"}
    metrics = stores.metrics(GUEST, "sshe_0")
    assert [point[0] for point in metrics["train"]["loss"].data] == [0, 1]
    summary = stores.summary(GUEST, "sshe_0")
    assert summary["iters"] == 2 and set(summary["coef"]) == set(split.guest.header)
    model = stores.model(HOST, "sshe_0")
    assert set(model["param"]["weight"]) == set(split.host.header)

    for party in (GUEST, HOST):
        stores.put(
            party,
            "reader_0.data",
            (split.guest if party == GUEST else split.host).to_table(),
            job_id="predict",
        )
    run_parties(
        Wire(),
        {
            p: task(
                p,
                data={"test_data": ["reader_0.data"]},
                models=["sshe_0.model"],
                job_id="predict",
                trained="train",
            )
            for p in (GUEST, HOST)
        },
    )
    predicted = stores.output(GUEST, "sshe_0", job_id="predict")
    assert set(predicted.column("type").to_pylist()) == {"predict"}
    assert np.allclose(
        predicted.column("predict_score").to_numpy(), table.column("predict_score").to_numpy()
    )


def test_linr_component_outputs_fate_regression_predictions(
    stores: Stores, motor_split: Split
) -> None:
    split = motor_split.head(40)
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id]}
    stores.put(GUEST, "reader_0.data", split.guest.to_table())
    stores.put(HOST, "reader_0.data", split.host.to_table())
    run_parties(
        Wire(),
        {
            p: (
                lambda transport, p=p: stores.run(
                    HeteroSSHELinR(),
                    "linr_0",
                    p,
                    {"max_iter": 1, "reveal_every_iter": True},
                    transport=transport,
                    roles=roles,
                    data={"train_data": ["reader_0.data"]},
                )
            )
            for p in (GUEST, HOST)
        },
    )
    table = stores.output(GUEST, "linr_0")
    results = table.column("predict_result").to_numpy()
    assert np.array_equal(results, table.column("predict_score").to_numpy())
    assert table.column("predict_detail")[0].as_py().startswith('{"label": ')


def test_cross_validation_folds_match_plaintext_runs_of_each_fold(
    stores: Stores, breast_split: Split
) -> None:
    """`cv_param` (`sdk/cv.py`): each fold's training is the plaintext run on the fold's rows,
    its validation AUC that run's on the fold's test rows."""
    from fateflow_grpc.components.sdk import cv

    split = breast_split.head(90)
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id]}
    stores.put(GUEST, "reader_0.data", split.guest.to_table())
    stores.put(HOST, "reader_0.data", split.host.to_table())
    params = lr_params(
        max_iter=2, cv_param={"need_cv": True, "n_splits": 3, "shuffle": True, "random_seed": 7}
    )
    component = HeteroSSHELR()
    run_parties(
        Wire(),
        {
            p: lambda transport, p=p: stores.run(
                component,
                "sshe_0",
                p,
                params,
                transport=transport,
                roles=roles,
                data={"train_data": ["reader_0.data"]},
            )
            for p in (GUEST, HOST)
        },
    )
    folds = cv.kfold(90, cv.CvParams(need_cv=True, n_splits=3, random_seed=7))
    metrics = stores.metrics(GUEST, "sshe_0")
    host = split.host_aligned()
    for fold, (train, test) in enumerate(folds):
        fold_split = Split(split.guest.take(train), split.host)
        plain = plaintext(fold_split, params, "lr")
        design = np.hstack([split.guest.features, host])[test]
        weights = np.concatenate([plain.guest[:-1], plain.host])
        scores = 1 / (1 + np.exp(-(design @ weights + plain.guest[-1])))
        labels = split.guest.labels
        assert labels is not None
        positive, negative = scores[labels[test] == 1], scores[labels[test] != 1]
        expected = float(
            (
                (positive[:, None] > negative[None, :]).sum()
                + 0.5 * (positive[:, None] == negative[None, :]).sum()
            )
            / (len(positive) * len(negative))
        )
        points = dict(metrics["validate"][f"validate_fold_{fold}"].data)
        assert points["auc"] == pytest.approx(expected, abs=1e-5)


def test_one_vs_rest_component_validates_outputs_classes_and_predicts(
    stores: Stores, vehicle_split: Split
) -> None:
    """HeteroSSHELR as a task on vehicle_scale with a validate_data input (FATE's
    hetero_lr_ovr_with_validate): each class's model logs its metrics under
    `model_<k>.iteration_<i>`, the output has every class's probability, and a predict job
    from the one-vs-rest models scores as training did."""
    split, validate = vehicle_split.head(50), rows(vehicle_split, 50, 80)
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id]}
    for party, train_set, validate_set in (
        (GUEST, split.guest, validate.guest),
        (HOST, split.host, split.host),
    ):
        stores.put(party, "reader_0.data", train_set.to_table())
        stores.put(party, "reader_1.data", validate_set.to_table())
    params = {"max_iter": 2, "reveal_every_iter": True, "optimizer": "rmsprop"}
    params |= {"validation_freqs": 1, "init_param": {"init_method": "zeros"}}
    component = HeteroSSHELR()
    run_parties(
        Wire(),
        {
            p: lambda transport, p=p: stores.run(
                component,
                "sshe_0",
                p,
                params,
                transport=transport,
                roles=roles,
                data={"train_data": ["reader_0.data"], "validate_data": ["reader_1.data"]},
            )
            for p in (GUEST, HOST)
        },
    )
    metrics = stores.metrics(GUEST, "sshe_0")
    assert {f"model_{k}.iteration_{i}" for k in range(4) for i in (0, 1)} <= set(
        metrics["validate"]
    )
    assert {f"loss.model_{k}" for k in range(4)} <= set(metrics["train"])
    table = stores.output(GUEST, "sshe_0")
    assert set(json.loads(table.column("predict_detail")[0].as_py())) == {"0", "1", "2", "3"}
    summary = stores.summary(GUEST, "sshe_0")
    assert summary is not None and summary["one_vs_rest"] is True
    for party, data_set in ((GUEST, split.guest), (HOST, split.host)):
        stores.put(party, "reader_0.data", data_set.to_table(), job_id="predict")
    run_parties(
        Wire(),
        {
            p: lambda transport, p=p: stores.run(
                component,
                "sshe_0",
                p,
                params,
                transport=transport,
                roles=roles,
                data={"test_data": ["reader_0.data"]},
                models=["sshe_0.model"],
                job_id="predict",
                trained="train",
            )
            for p in (GUEST, HOST)
        },
    )
    predicted = stores.output(GUEST, "sshe_0", job_id="predict")
    assert (
        predicted.column("predict_result").to_pylist() == table.column("predict_result").to_pylist()
    )
    assert np.allclose(
        predicted.column("predict_score").to_numpy(), table.column("predict_score").to_numpy()
    )
