"""HomoLR on FATE's breast homo tables: accuracy against a centralised run, masked aggregation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from fateflow_grpc.components.crypto.secure_aggregation import FIXED_POINT_BITS
from fateflow_grpc.components.linear import homo_lr, one_vs_rest
from fateflow_grpc.components.linear.homo_lr import (
    HomoLRParams,
    fit_arbiter,
    fit_guest,
    fit_host,
    predict,
    validate_parameters,
)
from fateflow_grpc.components.sdk.testing import MemoryTransport, Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import DeadlineExceeded, InvalidArgument

Floats = npt.NDArray[np.float64]
DATA = Path(__file__).resolve().parents[3] / "examples" / "data"
GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
#: A party of its own: an arbiter that is also a client learns what secure aggregation hides.
ARBITER = PartyRole("arbiter", 10100)
TIMEOUT = 30.0

#: FATE's homo LR example (examples/dsl/v2/homo_logistic_regression, train job conf).
FATE_EXAMPLE: dict[str, Any] = {
    "penalty": "L2",
    "optimizer": "sgd",
    "tol": 1e-05,
    "alpha": 0.01,
    "max_iter": 30,
    "early_stop": "diff",
    "batch_size": -1,
    "learning_rate": 0.15,
    "decay": 1,
    "decay_sqrt": True,
    "init_param": {"init_method": "zeros"},
    "encrypt_param": {"method": None},
}


def load(name: str) -> tuple[Floats, Floats, list[str]]:
    with (DATA / name).open() as file:
        header = file.readline().strip().split(",")
    table = np.loadtxt(DATA / name, delimiter=",", skiprows=1)
    assert header[:2] == ["id", "y"]
    return table[:, 2:], table[:, 1], header[2:]


def auc(labels: Floats, scores: Floats) -> float:
    """Mann-Whitney: the chance a positive outscores a negative (ties count half)."""
    positive, negative = scores[labels == 1], scores[labels == 0]
    wins = (positive[:, None] > negative[None, :]).sum()
    ties = (positive[:, None] == negative[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positive) * len(negative)))


# --- the plaintext centralised computation of the same algorithm ------------------------------


def centralised(X: Floats, y: Floats, conf: dict[str, Any]) -> tuple[Floats, list[float]]:
    """Full-batch logistic regression on the pooled rows, written from the maths, not the module.

    Same hyperparameters: L2 on the coefficients, learning rate / sqrt(1 + decay * epoch),
    sgd or rmsprop (rho 0.99, eps 1e-6), zero init, `diff` early stop on the loss of the model
    each epoch starts from.
    """
    rows, width = X.shape
    design = np.hstack([X, np.ones((rows, 1))])
    alpha, tol = conf["alpha"], conf["tol"]
    w = np.zeros(width + 1)
    square = np.zeros(width + 1)
    losses: list[float] = []
    for epoch in range(conf["max_iter"]):
        z = design @ w
        coef = w[:-1]
        losses.append(float(np.mean(np.log1p(np.exp(-(2 * y - 1) * z))) + alpha / 2 * coef @ coef))
        if len(losses) >= 2 and abs(losses[-1] - losses[-2]) < tol:
            break
        gradient = design.T @ (1 / (1 + np.exp(-z)) - y) / rows
        gradient[:-1] += alpha * coef
        rate = conf["learning_rate"] / np.sqrt(1 + conf["decay"] * epoch)
        if conf["optimizer"] == "sgd":
            w = w - rate * gradient
        else:
            square = 0.99 * square + 0.01 * gradient**2
            w = w - rate * gradient / np.sqrt(square + 1e-6)
    return w, losses


# --- running the parties ----------------------------------------------------------------------


def train(
    params: HomoLRParams,
    clients: list[tuple[Floats, Floats]],
    header: list[str],
    wire: Wire,
    timeout: float = TIMEOUT,
    sample_weights: list[Floats] | None = None,
) -> tuple[list[tuple[dict[str, Any], homo_lr.Predictions]], list[float]]:
    hosts = tuple(PartyRole("host", 10000 + k) for k in range(len(clients) - 1))
    parties = Participants(GUEST, hosts, ARBITER)

    def arbiter(transport: MemoryTransport) -> Any:
        [losses] = fit_arbiter(transport, params, parties, timeout=timeout)
        return losses

    roles: dict[PartyRole, Any] = {ARBITER: arbiter}
    weights = sample_weights or [None] * len(clients)
    for party, (X, y), w in zip((GUEST, *hosts), clients, weights, strict=True):
        fit = fit_guest if party == GUEST else fit_host
        roles[party] = lambda t, X=X, y=y, w=w, fit=fit: fit(
            t, X, y, params, parties, header=header, sample_weights=w, timeout=timeout
        )
    results = run_parties(wire, roles)
    return [results[p] for p in (GUEST, *hosts)], results[ARBITER]


@pytest.fixture(scope="module")
def breast() -> tuple[list[tuple[Floats, Floats]], list[str]]:
    Xg, yg, header = load("breast_homo_guest.csv")
    Xh, yh, header_h = load("breast_homo_host.csv")
    # The reference's 228-row host table is FATE's older one; this repository's has 342 rows.
    assert header == header_h and len(yg) == 227 and len(yh) == 342
    return [(Xg, yg), (Xh, yh)], header


def pooled(clients: list[tuple[Floats, Floats]]) -> tuple[Floats, Floats]:
    return np.vstack([X for X, _ in clients]), np.concatenate([y for _, y in clients])


def test_fate_example_matches_the_centralised_computation(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    clients, header = breast
    params = validate_parameters(FATE_EXAMPLE)
    wire = Wire()

    start = time.perf_counter()
    fitted, history = train(params, clients, header, wire)
    seconds = time.perf_counter() - start
    print(
        f"\nHomoLR breast, FATE example conf: {len(history)} rounds, "
        f"{seconds / len(history) * 1000:.1f} ms per FedAvg round in-process "
        f"(secure aggregation included)"
    )

    X, y = pooled(clients)
    scores = np.concatenate([predictions.predict_score for _, predictions in fitted])
    federated_auc = auc(y, scores)
    reference, reference_losses = centralised(X, y, FATE_EXAMPLE)
    reference_auc = auc(y, 1 / (1 + np.exp(-(X @ reference[:-1] + reference[-1]))))
    print(f"train AUC federated {federated_auc:.6f}, centralised {reference_auc:.6f}")
    assert federated_auc >= 0.98
    assert abs(federated_auc - reference_auc) <= 0.01

    # Full-batch sgd aggregated every epoch is gradient descent on the pooled rows, so beyond
    # the AUC the models themselves agree, up to the fixed-point resolution of the aggregation.
    model, _ = fitted[0]
    weights = np.array([model["weight"][name] for name in header] + [model["intercept"]])
    np.testing.assert_allclose(weights, reference, atol=1e-6)
    np.testing.assert_allclose(history, reference_losses, atol=1e-6)
    assert model["loss_history"] == history and fitted[1][0]["loss_history"] == history
    assert model["iters"] == 30 and model["is_converged"] is False
    assert fitted[1][0]["weight"] == model["weight"]


def test_sample_weights_weigh_each_clients_loss(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    """FATE's WeightedBCE: each client's loss and gradient are its rows' weighted means; the
    arbiter still averages the models by row counts. The same, written from the maths."""
    clients, header = breast
    conf = {**FATE_EXAMPLE, "max_iter": 5}
    weights = [np.where(y == 1, 0.5, 2.0) * np.linspace(1, 2, len(y)) for _, y in clients]
    fitted, history = train(
        validate_parameters(conf), clients, header, Wire(), sample_weights=weights
    )

    total = sum(len(y) for _, y in clients)
    w = np.zeros(len(header) + 1)
    losses = []
    for epoch in range(conf["max_iter"]):
        rate = conf["learning_rate"] / np.sqrt(1 + epoch)
        updated, loss = np.zeros_like(w), 0.0
        for (X, y), s in zip(clients, weights, strict=True):
            z = X @ w[:-1] + w[-1]
            each = np.log1p(np.exp(-(2 * y - 1) * z))
            loss += len(y) / total * (each @ s / s.sum() + conf["alpha"] / 2 * w[:-1] @ w[:-1])
            error = (1 / (1 + np.exp(-z)) - y) * s
            gradient = np.append(
                X.T @ error / s.sum() + conf["alpha"] * w[:-1], error.sum() / s.sum()
            )
            updated += len(y) / total * (w - rate * gradient)
        losses.append(float(loss))
        w = updated
    model, _ = fitted[0]
    got = np.array([model["weight"][name] for name in header] + [model["intercept"]])
    np.testing.assert_allclose(got, w, atol=1e-6)
    np.testing.assert_allclose(history, losses, atol=1e-6)
    unweighted, _ = centralised(*pooled(clients), conf)
    assert not np.allclose(got, unweighted, atol=1e-3)


def test_rmsprop_with_local_epochs_is_close_to_centralised(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    clients, header = breast
    conf = {**FATE_EXAMPLE, "optimizer": "rmsprop", "learning_rate": 0.05, "aggregate_iters": 3}
    fitted, history = train(validate_parameters(conf), clients, header, Wire())

    X, y = pooled(clients)
    federated_auc = auc(y, np.concatenate([p.predict_score for _, p in fitted]))
    reference, _ = centralised(X, y, conf)
    reference_auc = auc(y, X @ reference[:-1] + reference[-1])
    assert len(history) == 10 and fitted[0][0]["iters"] == 30
    assert federated_auc >= 0.98
    assert abs(federated_auc - reference_auc) <= 0.01


def test_the_arbiter_learns_only_the_sum_of_three_clients_updates(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    """Secure aggregation hides each client's update from the arbiter only where the claim can
    hold: three clients or more, and an arbiter that is none of them. With two clients, the
    sum and one's own update give away the other's; an arbiter that is also a client knows
    its own (the job then gets a warning, domain/safeguards.py)."""
    (guest, (Xh, yh)), header = breast
    clients = [guest, (Xh[:170], yh[:170]), (Xh[170:], yh[170:])]
    senders = (GUEST, PartyRole("host", 10000), PartyRole("host", 10001))
    assert ARBITER.party_id not in {party.party_id for party in senders}
    params = validate_parameters({**FATE_EXAMPLE, "max_iter": 5})
    wire = Wire()
    train(params, clients, header, wire)

    # What each client's first update truly is: one sgd step from the zero model on its rows.
    scale = 2.0**FIXED_POINT_BITS
    true_updates = []
    for X, y in clients:
        # At w = 0 every score is 1/2, so the gradient is X^T (1/2 - y) / n and the loss log 2.
        design = np.hstack([X, np.ones((len(y), 1))])
        step = -FATE_EXAMPLE["learning_rate"] * design.T @ (0.5 - y) / len(y)
        true_updates.append(np.concatenate([len(y) * step, [len(y) * np.log(2), len(y)]]))

    received = [wire.received_from(party, homo_lr.MASKED_UPDATE) for party in senders]
    round0 = [next(d.obj for d in deliveries if d.tag == "fit.0") for deliveries in received]
    assert all(isinstance(update, np.ndarray) and update.dtype == np.uint64 for update in round0)
    # Not an update, nor the sum of any two: the masks cancel only in the sum of all three.
    for subset in ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2)):
        seen = sum(round0[i] for i in subset).view(np.int64) / scale
        truth = sum(true_updates[i] for i in subset)
        assert np.max(np.abs(seen - truth)) > 1e6, subset
    unmasked = sum(round0).view(np.int64) / scale
    np.testing.assert_allclose(unmasked, sum(true_updates), atol=1e-5)

    # Every round: the masked updates add up to the rows times the model the arbiter sent back.
    models = wire.received_from(ARBITER, homo_lr.AGGREGATED_MODEL)
    total_rows = sum(len(y) for _, y in clients)
    for updates in zip(*received, strict=True):
        assert len({update.tag for update in updates}) == 1
        summed = sum(update.obj for update in updates).view(np.int64) / scale
        reply = next(m.obj for m in models if m.tag == updates[0].tag and m.dst == GUEST)
        assert isinstance(reply, dict)
        np.testing.assert_allclose(summed[:-2] / summed[-1], reply["weights"], atol=1e-9)
        assert summed[-1] == total_rows
    # The arbiter is told nothing but public keys, masked vectors and how many classes.
    for delivery in wire.received_by(ARBITER):
        assert delivery.name in (homo_lr.DH_PUBKEY, homo_lr.MASKED_UPDATE) or (
            delivery.name == one_vs_rest.AGGREGATE_CLASSES and delivery.obj == 2
        )


def test_three_clients(breast: tuple[list[tuple[Floats, Floats]], list[str]]) -> None:
    (guest, (Xh, yh)), header = breast
    clients = [guest, (Xh[:100], yh[:100]), (Xh[100:], yh[100:])]
    fitted, _ = train(validate_parameters(FATE_EXAMPLE), clients, header, Wire())

    X, y = pooled(clients)
    reference, _ = centralised(X, y, FATE_EXAMPLE)
    for model, _ in fitted:
        weights = np.array([model["weight"][name] for name in header] + [model["intercept"]])
        np.testing.assert_allclose(weights, reference, atol=1e-6)


def test_predict_equals_the_training_predictions(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    clients, header = breast
    fitted, _ = train(
        validate_parameters({**FATE_EXAMPLE, "max_iter": 10}), clients, header, Wire()
    )
    for (model, training), (X, y) in zip(fitted, clients, strict=True):
        again = predict(model, X, y)
        assert again.rows() == training.rows()
        # Columns in another order are put back by name (equal up to summation order).
        reordered = predict(model, X[:, ::-1], y, header=header[::-1])
        np.testing.assert_allclose(reordered.predict_score, training.predict_score, rtol=1e-12)

    model, training = fitted[0]
    label, result, score, detail = training.rows()[0]
    assert label == int(clients[0][1][0]) and result == int(score > 0.5)
    assert detail == {"0": 1 - score, "1": score}
    assert training.COLUMNS == ("label", "predict_result", "predict_score", "predict_detail")
    assert predict(model, clients[0][0]).rows()[0][0] is None
    assert set(model) >= {"header", "weight", "intercept", "iters", "is_converged", "loss_history"}


def test_the_arbiter_refuses_clients_with_other_columns(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    (guest, (Xh, yh)), header = breast
    params = validate_parameters(FATE_EXAMPLE)
    parties = Participants(GUEST, (HOST,), ARBITER)
    wire = Wire()
    roles = {
        ARBITER: lambda t: fit_arbiter(t, params, parties, timeout=2),
        GUEST: lambda t: fit_guest(t, *guest, params, parties, header=header, timeout=2),
        HOST: lambda t: fit_host(t, Xh[:, :-1], yh, params, parties, timeout=2),
    }
    with pytest.raises(InvalidArgument, match="same feature columns"):
        run_parties(wire, roles)


def test_bad_data_is_refused() -> None:
    params = validate_parameters(FATE_EXAMPLE)
    parties = Participants(GUEST, (HOST,), ARBITER)
    transport = Wire().transport(GUEST)
    with pytest.raises(InvalidArgument, match="finite"):
        fit_guest(transport, np.zeros((3, 2)), [0, 1, np.nan], params, parties)
    with pytest.raises(InvalidArgument, match="2 labels for 3 rows"):
        fit_guest(transport, np.zeros((3, 2)), [0, 1], params, parties)
    with pytest.raises(InvalidArgument, match="finite"):
        fit_guest(transport, [[0.0, np.nan]], [1], params, parties)
    with pytest.raises(InvalidArgument, match="arbiter"):
        fit_guest(transport, [[0.0, 1.0]], [1], params, Participants(GUEST, (HOST,)))
    with pytest.raises(DeadlineExceeded):
        fit_guest(transport, [[0.0, 1.0]], [1], params, parties, timeout=0.05)


def test_defaults_are_fates() -> None:
    params = validate_parameters({})
    assert (params.penalty, params.alpha, params.optimizer) == ("L2", 1.0, "rmsprop")
    assert (params.learning_rate, params.batch_size, params.max_iter) == (0.01, -1, 100)
    assert (params.early_stop, params.tol, params.aggregate_iters) == ("diff", 1e-4, 1)
    assert params.init_param.init_method == "random_uniform"
    assert params.init_param.fit_intercept is True
    assert params.threshold == 0.5
    assert validate_parameters({"penalty": None}).penalty == "none"
    assert validate_parameters({"optimizer": "Adam", "penalty": "l1"}).optimizer == "adam"


@pytest.mark.parametrize(
    ("conf", "parameter"),
    [
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"optimizer": "sqn"}, "optimizer"),
        ({"alpha": -0.1}, "alpha"),
        ({"penalty": "L3"}, "penalty"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"batch_size": 5}, "batch_size"),
        ({"batch_size": -2}, "batch_size"),
        ({"max_iter": 0}, "max_iter"),
        ({"max_iter": True}, "max_iter"),
        ({"tol": -1e-4}, "tol"),
        ({"early_stop": "loss"}, "early_stop"),
        ({"aggregate_iters": 0}, "aggregate_iters"),
        ({"init_param": {"init_method": "xavier"}}, "init_param.init_method"),
        ({"init_param": {"fit_intercept": "yes"}}, "init_param.fit_intercept"),
        ({"encrypt_param": {"method": "Paillier"}}, "encrypt_param.method"),
        ({"cv_param": {"need_cv": True, "n_splits": 1}}, "cv_param.n_splits"),
        ({"predict_param": {"threshold": 1.5}}, "predict_param.threshold"),
        ({"validation_freqs": 0}, "validation_freqs"),
        (
            {"callback_param": {"callbacks": ["EarlyStopping"], "validation_freqs": "x"}},
            "callback_param.validation_freqs",
        ),
        (
            {
                "callback_param": {
                    "callbacks": ["EarlyStopping"],
                    "early_stopping_rounds": 2,
                    "validation_freqs": 1,
                }
            },
            "callback_param.early_stopping_rounds",
        ),
        ({"stepwise_param": {"need_stepwise": True}}, "stepwise_param.need_stepwise"),
        ({"multi_class": "ovo"}, "multi_class"),
        ({"batch_strategy": "half"}, "batch_strategy"),
        ({"learning_rat": 0.1}, "learning_rat"),
    ],
)
def test_bad_parameters_are_refused_by_name(conf: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_parameters(conf)
    assert caught.value.metadata["parameter"] == parameter
    assert parameter in caught.value.message


def test_fates_whole_parameter_set_is_accepted_off() -> None:
    """FATE 1.5 to 1.11's HomoLogisticParam (and the LogisticParam names it inherits)."""
    params = validate_parameters(
        {
            "shuffle": True,
            "batch_strategy": "full",
            "masked_rate": 5,
            "floating_point_precision": 23,
            "stepwise_param": {"score_name": "AIC", "direction": "both"},
            "callback_param": {"callbacks": [], "save_freq": 1},
            "cv_param": {"n_splits": 5, "shuffle": True, "random_seed": 33, "need_cv": False},
            "re_encrypt_batches": 2,
            "use_proximal": False,
            "multi_class": "ovr",
            "metrics": ["auc", "ks"],
            "use_first_metric_only": False,
        }
    )
    assert params.cv.n_splits == 5 and not params.cv.need_cv


@pytest.mark.parametrize("optimizer", homo_lr.OPTIMIZERS)
@pytest.mark.parametrize("penalty", homo_lr.PENALTIES)
def test_every_optimizer_and_penalty_learns(
    breast: tuple[list[tuple[Floats, Floats]], list[str]], optimizer: str, penalty: str
) -> None:
    clients, header = breast
    conf = {
        **FATE_EXAMPLE,
        "optimizer": optimizer,
        "penalty": penalty,
        "learning_rate": 0.05,
        "batch_size": 32,
        "max_iter": 10,
        "aggregate_iters": 2,
        "use_proximal": optimizer == "adam",
        "init_param": {"init_method": "zeros", "random_seed": 7},
    }
    fitted, history = train(validate_parameters(conf), clients, header, Wire())
    _, y = pooled(clients)
    assert auc(y, np.concatenate([p.predict_score for _, p in fitted])) >= 0.98
    assert history[-1] < history[0]


def test_each_client_validates_its_own_rows_with_every_rounds_model(
    breast: tuple[list[tuple[Floats, Floats]], list[str]],
) -> None:
    """`validation_freqs` 2: after rounds 1, 3, 5, each client's validate AUC is its own rows'
    under the aggregated model, which is the centralised full-batch model of that round."""
    from fateflow_grpc.components.sdk.context import Dataset

    clients, header = breast
    (Xg, yg), (Xh, yh) = clients
    conf = {**FATE_EXAMPLE, "max_iter": 6, "tol": 0.0, "validation_freqs": 2, "metrics": ["auc"]}
    params = validate_parameters(conf)
    parties = Participants(GUEST, (HOST,), ARBITER)
    train_g, held_g = slice(0, 150), slice(150, None)
    logged: dict[PartyRole, list[tuple[str, str, dict[Any, Any]]]] = {GUEST: [], HOST: []}

    def client(party: PartyRole, X: Floats, y: Floats, rows: slice, held: Dataset | None) -> Any:
        fit = fit_guest if party == GUEST else fit_host
        return lambda t: fit(
            t,
            X[rows],
            y[rows],
            params,
            parties,
            header=header,
            validate_data=held,
            log_metric=lambda ns, name, points, meta: logged[party].append(
                (ns, name, dict(points))
            ),
        )

    held = Dataset(
        ids=np.arange(len(yg) - 150).astype(str).astype(object),
        features=Xg[held_g],
        labels=yg[held_g],
        header=header,
    )
    run_parties(
        Wire(),
        {
            ARBITER: lambda t: fit_arbiter(t, params, parties),
            GUEST: client(GUEST, Xg, yg, train_g, held),
            HOST: client(HOST, Xh, yh, slice(None), None),
        },
    )
    pooled_X, pooled_y = np.vstack([Xg[train_g], Xh]), np.concatenate([yg[train_g], yh])
    expected = []
    for round_ in (1, 3, 5):
        w, _ = centralised(pooled_X, pooled_y, {**conf, "max_iter": round_ + 1})
        design = np.hstack([Xg[held_g], np.ones((len(yg) - 150, 1))])
        expected.append(auc(yg[held_g], design @ w))
    guest_validate = [(name, p["auc"]) for ns, name, p in logged[GUEST] if ns == "validate"]
    assert [name for name, _ in guest_validate] == ["iteration_1", "iteration_3", "iteration_5"]
    np.testing.assert_allclose([value for _, value in guest_validate], expected, atol=1e-6)
    # The host has no validate data: it scores its training rows only.
    assert {ns for ns, _, _ in logged[HOST]} == {"train"}


def test_early_stopping_is_refused_as_fate_refuses_it_for_homo_models() -> None:
    with pytest.raises(InvalidArgument, match="not supported for homo") as caught:
        validate_parameters({"validation_freqs": 1, "early_stopping_rounds": 2})
    assert caught.value.metadata["parameter"] == "early_stopping_rounds"
