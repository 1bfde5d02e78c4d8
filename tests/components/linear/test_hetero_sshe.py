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
        ("lr", {"callback_param": {"callbacks": ["EarlyStopping"]}}, "callback_param.callbacks"),
        ("linr", {"callback_param": {"validation_freqs": 1}}, "callback_param.validation_freqs"),
        ("lr", {"validation_freqs": 1}, "validation_freqs"),
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


def test_more_than_two_classes_or_hosts_are_refused(breast_split: Split) -> None:
    split = breast_split.head(30)
    labels = split.guest.labels.copy()
    labels[0] = 2
    data = sshe.PartyData.of(
        split.guest.ids.tolist(), split.guest.features, split.guest.header, labels
    )
    with pytest.raises(InvalidArgument, match="one-vs-rest"):
        sshe.fit_guest(Wire().transport(GUEST), data, lr_params(), PARTIES, hetero_sshe_lr.LOGISTIC)
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
