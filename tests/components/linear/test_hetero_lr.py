"""HeteroLR role by role: guest, host(s) and arbiter in threads over an in-memory wire.

The wire passes every object through the real federation codec, so only wire-legal objects
cross. The numbers are checked against a plaintext, centralised run of the same algorithm
(same initial weights, optimizer, Taylor gradient and batches), written here independently.
"""

from __future__ import annotations

import csv
import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from fateflow_grpc.components.linear import hetero_lr, one_vs_rest
from fateflow_grpc.components.sdk.computing import LOCAL_COMPUTING, Computing, SparkComputing
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument
from fateflow_grpc.federation import codec

DATA = Path(__file__).resolve().parents[3] / "examples" / "data"
GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
HOST_B = PartyRole("host", 10001)
ARBITER = PartyRole("arbiter", 10000)
#: The hyperparameters of the hetero LR example (the reference's conf).
EXAMPLE = {
    "penalty": "L2",
    "optimizer": "rmsprop",
    "alpha": 0.01,
    "learning_rate": 0.15,
    "max_iter": 30,
    "batch_size": -1,
    "early_stop": "diff",
    "tol": 0.0001,
    "init_param": {"init_method": "zeros"},
}


# --- an in-memory wire --------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    name: str
    tag: str
    src: PartyRole
    dst: PartyRole
    obj: object


class Wire:
    """Queues keyed by (name, tag, source, destination); objects cross encoded by the codec."""

    def __init__(self, timeout_cap: float = 600.0) -> None:
        self._cond = threading.Condition()
        self._payloads: dict[tuple[str, str, PartyRole, PartyRole], codec.Encoded] = {}
        self._sent: set[tuple[str, str, PartyRole, PartyRole]] = set()
        self._failed: BaseException | None = None
        self.log: list[Delivery] = []

    def fail(self, error: BaseException) -> None:
        # A role that fails wakes the others at once instead of leaving them to time out.
        with self._cond:
            self._failed = error
            self._cond.notify_all()

    def put(self, key: tuple[str, str, PartyRole, PartyRole], obj: object) -> None:
        encoded = codec.encode(obj)  # refuses anything but arrays, BigIntegers, bytes, JSON
        with self._cond:
            if key in self._sent:
                raise FailedPrecondition(f"remote duplicate tag: {key}")
            self._sent.add(key)
            self._payloads[key] = encoded
            self._cond.notify_all()

    def take(self, key: tuple[str, str, PartyRole, PartyRole], timeout: float) -> object:
        deadline = time.monotonic() + timeout
        with self._cond:
            while key not in self._payloads:
                if self._failed is not None:
                    raise DeadlineExceeded(f"another party failed while waiting for {key}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeadlineExceeded(f"nothing arrived for {key}")
                self._cond.wait(left)
            encoded = self._payloads.pop(key)
        obj = codec.decode(
            encoded.kind, encoded.dtype, encoded.shape, encoded.size, encoded.chunks()
        )
        with self._cond:
            self.log.append(Delivery(*key, obj))
        return obj

    def sent(self, name: str, src: PartyRole) -> list[Delivery]:
        return [d for d in self.log if d.name == name and d.src == src]


class MemoryTransport:
    def __init__(self, wire: Wire, local: PartyRole) -> None:
        self._wire = wire
        self._local = local

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        for party in parties:
            self._wire.put((name, tag, self._local, party), obj)

    def get(
        self, name: str, tag: str, parties: Sequence[PartyRole], timeout: float
    ) -> list[object]:
        return [self._wire.take((name, tag, party, self._local), timeout) for party in parties]


def run_parties(
    wire: Wire, roles: Mapping[PartyRole, Callable[[MemoryTransport], Any]]
) -> dict[PartyRole, Any]:
    def guarded(party: PartyRole, run: Callable[[MemoryTransport], Any]) -> Any:
        try:
            return run(MemoryTransport(wire, party))
        except BaseException as error:
            wire.fail(error)
            raise

    with ThreadPoolExecutor(len(roles)) as pool:
        futures = {party: pool.submit(guarded, party, run) for party, run in roles.items()}
        # The first failure in submission order is the cause; later ones are its echoes.
        errors = [f.exception() for f in futures.values() if f.exception() is not None]
        causes = [e for e in errors if not isinstance(e, DeadlineExceeded)]
        if errors:
            raise (causes or errors)[0]  # type: ignore[misc]
        return {party: future.result() for party, future in futures.items()}


# --- data and the plaintext reference -----------------------------------------------------


@dataclass(frozen=True)
class Breast:
    ids: list[str]
    labels: np.ndarray
    guest: np.ndarray
    guest_header: list[str]
    host_ids: list[str]
    host: np.ndarray
    host_header: list[str]

    def head(self, count: int) -> Breast:
        """The guest's first `count` rows; the host keeps all of its rows."""
        return Breast(
            self.ids[:count],
            self.labels[:count],
            self.guest[:count],
            self.guest_header,
            self.host_ids,
            self.host,
            self.host_header,
        )

    def host_aligned(self) -> np.ndarray:
        """Host features in the guest's row order (what the protocol achieves by ids)."""
        position = {sample: k for k, sample in enumerate(self.host_ids)}
        return self.host[[position[sample] for sample in self.ids]]


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open() as file:
        reader = csv.reader(file)
        header = next(reader)
        return header, list(reader)


@pytest.fixture(scope="module")
def breast() -> Breast:
    return load_breast()


def load_breast() -> Breast:
    guest_header, guest_rows = _read_csv(DATA / "breast_hetero_guest.csv")
    host_header, host_rows = _read_csv(DATA / "breast_hetero_host.csv")
    # The host's rows in another order than the guest's: rows are matched by id, not position.
    host_rows = host_rows[::-1]
    return Breast(
        ids=[row[0] for row in guest_rows],
        labels=np.array([float(row[1]) for row in guest_rows]),
        guest=np.array([[float(v) for v in row[2:]] for row in guest_rows]),
        guest_header=guest_header[2:],
        host_ids=[row[0] for row in host_rows],
        host=np.array([[float(v) for v in row[1:]] for row in host_rows]),
        host_header=host_header[1:],
    )


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The probability that a positive scores above a negative (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # Average ranks over ties.
    start = 0
    for end in range(1, len(scores) + 1):
        if end == len(scores) or sorted_scores[end] != sorted_scores[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    positive = labels == 1
    count_pos, count_neg = positive.sum(), (~positive).sum()
    return float(
        (ranks[positive].sum() - count_pos * (count_pos + 1) / 2) / (count_pos * count_neg)
    )


@dataclass
class PlainResult:
    weights: np.ndarray  # [guest coefficients, host coefficients, intercept]
    losses: list[float]
    iters: int
    converged: bool


class ReferenceOptimizer:
    """FATE 1.x's update rules, written out for the reference (intercept last, unpenalised)."""

    def __init__(self, params: Mapping[str, Any], size: int, coefficients: int) -> None:
        self.params = params
        self.k = coefficients
        self.m, self.v = np.zeros(size), np.zeros(size)
        self.b1, self.b2 = 1.0, 1.0

    def step(self, w: np.ndarray, g: np.ndarray, iteration: int) -> np.ndarray:
        p, k = self.params, self.k
        g = g.copy()
        if p["penalty"] == "L2":
            g[:k] += p["alpha"] * w[:k]
        rate = p["learning_rate"] / math.sqrt(1 + iteration)  # decay 1, decay_sqrt
        method = p["optimizer"]
        if method == "sgd":
            delta = rate * g
        elif method == "rmsprop":
            self.m = 0.99 * self.m + 0.01 * g * g
            delta = rate * g / np.sqrt(self.m + 1e-6)
        elif method == "adagrad":
            self.m = self.m + g * g
            delta = rate * g / (np.sqrt(self.m) + 1e-7)
        elif method == "adam":
            self.b1, self.b2 = self.b1 * 0.9, self.b2 * 0.999
            self.m = 0.9 * self.m + 0.1 * g
            self.v = 0.999 * self.v + 0.001 * g * g
            delta = rate * (self.m / (1 - self.b1)) / (np.sqrt(self.v / (1 - self.b2)) + 1e-8)
        else:  # nesterov_momentum_sgd: w += -mu v_old + (1 + mu) v_new
            velocity = 0.9 * self.m - rate * g
            delta = 0.9 * self.m - 1.9 * velocity
            self.m = velocity
        new: np.ndarray = w - delta
        if p["penalty"] == "L1":
            shifted = w[:k] - delta[:k]
            new[:k] = np.sign(shifted) * np.maximum(0, np.abs(shifted) - rate * p["alpha"])
        return new


def plaintext_lr(
    features: np.ndarray,
    labels: np.ndarray,
    params: Mapping[str, Any],
    batches: Sequence[np.ndarray] | Callable[[int], Sequence[np.ndarray]],
    *,
    initial: np.ndarray,
    sample_weights: np.ndarray | None = None,
) -> PlainResult:
    """The same algorithm on the joined data, in the clear: FATE's Taylor gradient
    (u / 4 - y / 2) x with y in {-1, 1}, its optimizers, penalties and convergence rules.
    Weights: the features' columns, then the intercept (if `fit_intercept`). Each row's
    gradient and loss are weighted by `sample_weights` (as given: no scaling here). `batches`:
    the same every iteration, or each iteration's (a function of the iteration)."""
    y = np.where(labels == 1, 1.0, -1.0)
    intercept = params["init_param"]["fit_intercept"]
    x = np.hstack([features, np.ones((len(y), 1))]) if intercept else features
    k = features.shape[1]
    w = initial.copy()
    optimizer = ReferenceOptimizer(params, len(w), k)
    losses: list[float] = []
    alpha, penalty = params["alpha"], params["penalty"]
    converged, iters = False, 0
    for iteration in range(params["max_iter"]):
        start = w.copy()
        batch_losses = []
        for rows in batches(iteration) if callable(batches) else batches:
            xb, yb = x[rows], y[rows]
            wb = np.ones(len(rows)) if sample_weights is None else sample_weights[rows]
            u = xb @ w
            loss = float(np.mean(wb * (math.log(2) - 0.5 * yb * u + 0.125 * u * u)))
            if penalty == "L2":
                loss += 0.5 * alpha * float(w[:k] @ w[:k])
            elif penalty == "L1":
                loss += alpha * float(np.abs(w[:k]).sum())
            batch_losses.append(loss)
            w = optimizer.step(w, xb.T @ (wb * (0.25 * u - 0.5 * yb)) / len(rows), iteration)
        losses.append(float(np.mean(batch_losses)))
        iters = iteration + 1
        if params["early_stop"] == "weight_diff":
            converged = float(np.linalg.norm(w - start)) < params["tol"]
        elif params["early_stop"] == "abs":
            converged = losses[-1] <= params["tol"]
        else:
            converged = len(losses) > 1 and abs(losses[-2] - losses[-1]) < params["tol"]
        if converged:
            break
    return PlainResult(w, losses, iters, converged)


# --- running the roles --------------------------------------------------------------------


@dataclass
class Trained:
    wire: Wire
    guest_model: dict[str, Any]
    predictions: hetero_lr.Predictions
    host_models: dict[PartyRole, dict[str, Any]]
    arbiter_model: dict[str, Any]
    losses: list[tuple[int, float]]
    timings: dict[PartyRole, hetero_lr.Timings]
    seconds: float


def train(
    breast: Breast,
    params: Mapping[str, Any],
    host_columns: Mapping[PartyRole, slice],
    sample_weights: np.ndarray | None = None,
    computing: Computing = LOCAL_COMPUTING,
) -> Trained:
    hosts = list(host_columns)
    parties = Participants(GUEST, tuple(hosts), ARBITER)
    wire = Wire()
    losses: list[tuple[int, float]] = []
    timings = {party: hetero_lr.Timings() for party in [GUEST, *hosts, ARBITER]}

    def host_role(party: PartyRole) -> Callable[[MemoryTransport], Any]:
        columns = host_columns[party]
        return lambda t: hetero_lr.fit_host(
            t,
            breast.host[:, columns],
            params,
            parties,
            ids=breast.host_ids,
            header=breast.host_header[columns],
            timings=timings[party],
            computing=computing,
        )

    roles: dict[PartyRole, Callable[[MemoryTransport], Any]] = {
        ARBITER: lambda t: hetero_lr.fit_arbiter(
            t,
            params,
            parties,
            on_loss=lambda i, loss: losses.append((i, loss)),
            timings=timings[ARBITER],
        ),
        GUEST: lambda t: hetero_lr.fit_guest(
            t,
            breast.guest,
            breast.labels,
            params,
            parties,
            ids=breast.ids,
            header=breast.guest_header,
            sample_weights=sample_weights,
            timings=timings[GUEST],
            computing=computing,
        ),
        **{host: host_role(host) for host in hosts},
    }
    started = time.perf_counter()
    results = run_parties(wire, roles)
    seconds = time.perf_counter() - started
    guest_model, predictions = results[GUEST]
    return Trained(
        wire,
        guest_model,
        predictions,
        {host: results[host] for host in hosts},
        results[ARBITER],
        losses,
        timings,
        seconds,
    )


def federated_weights(trained: Trained) -> np.ndarray:
    guest = trained.guest_model["param"]
    hosts = [model["param"] for model in trained.host_models.values()]
    return np.array(
        [guest["weight"][name] for name in guest["header"]]
        + [host["weight"][name] for host in hosts for name in host["header"]]
        + [guest["intercept"]]
    )


def print_timings(trained: Trained, label: str) -> None:
    """Per-iteration time and where it goes (printed with `pytest -s`; not asserted)."""
    iterations = trained.timings[ARBITER].iteration_seconds
    print(
        f"\n{label}: {len(iterations)} iterations in {trained.seconds:.2f} s, "
        f"{np.mean(iterations[1:] or iterations):.3f} s per iteration (mean after the first)"
    )
    for party, timing in trained.timings.items():
        busy = {phase: round(s, 2) for phase, s in sorted(timing.seconds.items())}
        print(f"  {party.role} {party.party_id}: {busy}")


# --- the example, 1024-bit keys -----------------------------------------------------------


@pytest.fixture(scope="module")
def example(breast: Breast) -> Trained:
    trained = train(breast, EXAMPLE, {HOST: slice(None)})
    print_timings(trained, "breast hetero LR, 1024-bit keys")
    return trained


@pytest.mark.slow
def test_example_reaches_auc_and_matches_the_plaintext_computation(
    breast: Breast, example: Trained
) -> None:
    params = hetero_lr.validate_parameters(EXAMPLE)
    labels = np.where(breast.labels == 1, 1.0, -1.0)
    initial = np.zeros(breast.guest.shape[1] + breast.host.shape[1] + 1)
    initial[-1] = math.log((labels == 1).sum() / (labels == -1).sum())  # FATE's zeros init
    plain = plaintext_lr(
        np.hstack([breast.guest, breast.host_aligned()]),
        breast.labels,
        params,
        [np.arange(len(breast.ids))],
        initial=initial,
    )
    plain_scores = 1 / (
        1
        + np.exp(
            -(
                np.hstack([breast.guest, breast.host_aligned(), np.ones((len(breast.ids), 1))])
                @ plain.weights
            )
        )
    )
    federated_auc = auc(example.predictions.scores, breast.labels)
    assert federated_auc >= 0.98
    assert abs(federated_auc - auc(plain_scores, breast.labels)) <= 0.01
    # Closer than the criterion: the only differences are fixed-point encodings.
    np.testing.assert_allclose(federated_weights(example), plain.weights, atol=1e-6)
    np.testing.assert_allclose(example.predictions.scores, plain_scores, atol=1e-6)
    arbiter = example.arbiter_model["param"]
    assert arbiter["iters"] == plain.iters
    assert arbiter["is_converged"] == plain.converged
    np.testing.assert_allclose(arbiter["loss_history"], plain.losses, rtol=1e-6)
    assert example.losses == list(enumerate(arbiter["loss_history"]))


@pytest.mark.slow
def test_models_have_fates_fields(breast: Breast, example: Trained) -> None:
    guest = example.guest_model
    assert guest["meta"]["optimizer"] == "rmsprop"
    assert guest["meta"]["penalty"] == "L2"
    assert guest["meta"]["need_one_vs_rest"] is False
    assert guest["param"]["header"] == breast.guest_header
    assert set(guest["param"]["weight"]) == set(breast.guest_header)
    assert guest["param"]["iters"] == example.arbiter_model["param"]["iters"]
    assert guest["param"]["best_iteration"] == -1
    [host] = example.host_models.values()
    assert host["param"]["header"] == breast.host_header
    assert host["param"]["intercept"] == 0.0
    # Models are JSON documents.
    assert json.loads(json.dumps(guest)) == guest


@pytest.mark.slow
def test_predictions_have_fates_columns(breast: Breast, example: Trained) -> None:
    rows = list(example.predictions.rows())
    assert len(rows) == len(breast.ids)
    sample, label, result, score, detail = rows[0]
    assert sample == breast.ids[0]
    assert label == int(breast.labels[0])
    assert result == int(score > 0.5)
    assert detail == {"0": 1 - score, "1": score}


@pytest.mark.slow
def test_predict_gives_the_training_scores(breast: Breast, example: Trained) -> None:
    parties = Participants(GUEST, (HOST,), ARBITER)
    wire = Wire()
    [host_model] = example.host_models.values()
    results = run_parties(
        wire,
        {
            GUEST: lambda t: hetero_lr.predict_guest(
                t,
                breast.guest,
                example.guest_model,
                parties,
                ids=breast.ids,
                header=breast.guest_header,
                labels=breast.labels,
            ),
            HOST: lambda t: hetero_lr.predict_host(
                t,
                breast.host,
                host_model,
                parties,
                ids=breast.host_ids,
                header=breast.host_header,
            ),
        },
    )
    predictions = results[GUEST]
    np.testing.assert_array_equal(predictions.scores, example.predictions.scores)
    np.testing.assert_array_equal(predictions.results, example.predictions.results)


@pytest.mark.slow
def test_the_arbiter_only_sees_masked_gradients(example: Trained) -> None:
    # What the arbiter decrypts is uniform modulo n (1024 bits); an unmasked gradient in
    # fixed point would be under 100 bits.
    answers = [
        d
        for d in example.wire.log
        if d.name in (hetero_lr.GUEST_OPTIM_GRADIENT, hetero_lr.HOST_OPTIM_GRADIENT)
    ]
    assert answers
    plaintexts = [
        int.from_bytes(row.tobytes(), "big") for d in answers for row in np.asarray(d.obj)
    ]
    assert min(value.bit_length() for value in plaintexts) > 900


@pytest.mark.slow
def test_objects_on_the_wire_are_arrays_and_json(example: Trained) -> None:
    kinds = {type(d.obj).__name__ for d in example.wire.log}
    # The one int: how many classes the guest has (one-vs-rest's aggregate_classes).
    assert kinds <= {"ndarray", "list", "dict", "bool", "float", "int"}
    ints = [d for d in example.wire.log if isinstance(d.obj, int) and not isinstance(d.obj, bool)]
    assert {d.name for d in ints} == {one_vs_rest.AGGREGATE_CLASSES}
    assert {d.obj for d in ints} == {2}
    # Ciphertexts cross as fixed-width rows, never as JSON numbers.
    forwards = example.wire.sent(hetero_lr.HOST_FORWARD, HOST)
    assert forwards and all(isinstance(d.obj, np.ndarray) for d in forwards)


# --- mini-batches, two hosts, other optimizers --------------------------------------------


def batches_sent(trained: Trained, breast: Breast) -> list[np.ndarray]:
    """The batches the guest drew, as it told the first host (row positions at the guest)."""
    position = {sample: k for k, sample in enumerate(breast.ids)}
    return [
        np.array([position[s] for s in cast(list[str], d.obj)])
        for d in trained.wire.log
        if d.name == hetero_lr.BATCH_DATA_INDEX and d.dst == HOST and d.tag.startswith("fit.")
    ]


def test_two_hosts_and_mini_batches_match_the_plaintext_computation(breast: Breast) -> None:
    # 200 of the guest's rows: the hosts have more, and rows are matched by id.
    data = breast.head(200)
    params = hetero_lr.validate_parameters(
        {
            "penalty": "L1",
            "optimizer": "adam",
            "alpha": 0.01,
            "learning_rate": 0.1,
            "max_iter": 2,
            "batch_size": 80,
            "shuffle": False,
            "masked_rate": 0,
            "early_stop": "weight_diff",
            "tol": 1e-9,
            "init_param": {"init_method": "random_uniform", "random_seed": 7},
        }
    )
    trained = train(data, params, {HOST: slice(0, 12), HOST_B: slice(12, None)})
    print_timings(trained, "two hosts, 200 rows in 3 batches, adam, L1")
    batches = batches_sent(trained, data)
    # Without shuffle or mask, FATE's batches: the rows in their order, cut.
    assert [b.tolist() for b in batches] == [
        list(range(0, 80)),
        list(range(80, 160)),
        list(range(160, 200)),
    ]

    def seeded(size: int) -> np.ndarray:  # each party draws its initial weights from the seed
        return np.random.default_rng(7).random(size)

    guest_initial = seeded(data.guest.shape[1] + 1)
    initial = np.concatenate([guest_initial[:-1], seeded(12), seeded(8), guest_initial[-1:]])
    plain = plaintext_lr(
        np.hstack([data.guest, data.host_aligned()]), data.labels, params, batches, initial=initial
    )
    np.testing.assert_allclose(federated_weights(trained), plain.weights, atol=1e-6)
    # FATE computes no loss with several hosts.
    assert trained.arbiter_model["param"]["loss_history"] == []
    assert trained.losses == []
    assert trained.arbiter_model["param"]["iters"] == 2


def test_sample_weights_weigh_the_gradient_and_the_loss(breast: Breast) -> None:
    data = breast.head(100)
    given = np.where(data.labels == 1, 0.5, 3.0) * np.linspace(0.5, 1.5, 100)
    params = hetero_lr.validate_parameters(
        {
            "penalty": "L2",
            "alpha": 0.01,
            "optimizer": "sgd",
            "learning_rate": 0.15,
            "max_iter": 2,
            "batch_size": 50,
            "shuffle": False,
            "masked_rate": 0,
            "early_stop": "diff",
            "tol": 0.0,
            "init_param": {"init_method": "ones"},
        }
    )
    trained = train(data, params, {HOST: slice(None)}, sample_weights=given)
    batches = batches_sent(trained, data)
    features = np.hstack([data.guest, data.host_aligned()])
    scaled = given * 100 / given.sum()  # FATE scales the weights to mean 1
    plain = plaintext_lr(
        features,
        data.labels,
        params,
        batches,
        initial=np.ones(features.shape[1] + 1),
        sample_weights=scaled,
    )
    np.testing.assert_allclose(federated_weights(trained), plain.weights, atol=1e-6)
    np.testing.assert_allclose(
        trained.arbiter_model["param"]["loss_history"], plain.losses, rtol=1e-6
    )
    unweighted = plaintext_lr(
        features, data.labels, params, batches, initial=np.ones(features.shape[1] + 1)
    )
    assert not np.allclose(unweighted.weights, plain.weights, atol=1e-3)
    # The host got each batch's weights encrypted, once, and sends one number per batch back.
    sent = [d for d in trained.wire.log if d.name == hetero_lr.SAMPLE_WEIGHT]
    assert [(d.dst, d.tag) for d in sent] == [(HOST, "fit.0"), (HOST, "fit.1")]
    assert all(isinstance(d.obj, np.ndarray) and d.obj.dtype == np.uint8 for d in sent)
    squares = [d for d in trained.wire.log if d.name == hetero_lr.LOSS_INTERMEDIATE]
    assert len(squares) == 4 and {len(d.obj) for d in squares} == {1}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("strategy", "weighted"), [("full", False), ("full", True), ("random", False)]
)
def test_fates_default_batches_shuffled_and_masked_match_the_plaintext_computation(
    breast: Breast, strategy: str, weighted: bool
) -> None:
    """FATE's defaults for mini-batches: drawn anew every iteration (`shuffle`), each shown to
    the host among decoys (`masked_rate` 5); or one random batch an iteration."""
    data = breast.head(150)
    given = np.linspace(0.5, 2.0, 150) if weighted else None
    params = hetero_lr.validate_parameters(
        {
            "penalty": "L2",
            "alpha": 0.01,
            "optimizer": "rmsprop",
            "learning_rate": 0.15,
            "max_iter": 3,
            "batch_size": 20,
            "batch_strategy": strategy,
            "masked_rate": 2,
            "early_stop": "diff",
            "tol": 0.0,
            "init_param": {"init_method": "ones", "random_seed": 11},
        }
    )
    trained = train(data, params, {HOST: slice(None)}, sample_weights=given)
    # The guest's batches, drawn as the guest draws them from the seed.
    plan = hetero_lr.Batches(150, hetero_lr._Settings.of(params))
    drawn = [plan.draw() for _ in range(3)]
    shown = batches_sent(trained, data)
    flat = [batch for iteration in drawn for batch in iteration]
    assert len(shown) == len(flat) == (3 if strategy == "random" else 3 * 8)
    for batch, seen in zip(flat, shown, strict=True):
        # The host saw 60 rows (3 x 20; fewer than 20 in the last), the batch's among them.
        assert len(seen) == 60 and set(batch.rows.tolist()) < set(seen.tolist())
        assert seen.tolist() == batch.shown.tolist()
    features = np.hstack([data.guest, data.host_aligned()])
    scaled = None if given is None else given * 150 / given.sum()
    plain = plaintext_lr(
        features,
        data.labels,
        params,
        lambda iteration: [batch.rows for batch in drawn[iteration]],
        initial=np.ones(features.shape[1] + 1),
        sample_weights=scaled,
    )
    np.testing.assert_allclose(federated_weights(trained), plain.weights, atol=1e-6)
    np.testing.assert_allclose(
        trained.arbiter_model["param"]["loss_history"], plain.losses, rtol=1e-6
    )
    # Decoys are not told apart by their residuals' exponents.
    for d in trained.wire.log:
        if d.name == hetero_lr.FORE_GRADIENT:
            exponents = {bytes(row[-2:]) for row in cast(np.ndarray, d.obj)}
            assert len(exponents) == 1


def test_losses_without_penalty_and_abs_convergence(breast: Breast) -> None:
    data = breast.head(120)
    params = hetero_lr.validate_parameters(
        {
            "penalty": None,
            "optimizer": "sgd",
            "learning_rate": 0.1,
            "max_iter": 5,
            "batch_size": 60,
            "shuffle": False,
            "masked_rate": 0,
            "early_stop": "abs",
            "tol": 3.0,
            "init_param": {"init_method": "ones", "fit_intercept": False},
        }
    )
    trained = train(data, params, {HOST: slice(None)})
    batches = batches_sent(trained, data)
    features = np.hstack([data.guest, data.host_aligned()])
    plain = plaintext_lr(features, data.labels, params, batches, initial=np.ones(features.shape[1]))
    arbiter = trained.arbiter_model["param"]
    assert 1 < arbiter["iters"] < 5  # it stopped on the loss, after more than one iteration
    assert (arbiter["iters"], arbiter["is_converged"]) == (plain.iters, plain.converged)
    np.testing.assert_allclose(arbiter["loss_history"], plain.losses, rtol=1e-6)
    np.testing.assert_allclose(federated_weights(trained)[:-1], plain.weights, atol=1e-6)
    assert trained.guest_model["param"]["intercept"] == 0.0


@pytest.mark.parametrize("optimizer", hetero_lr.OPTIMIZERS)
@pytest.mark.parametrize("penalty", hetero_lr.PENALTIES)
def test_optimizers_follow_fates_rules(optimizer: str, penalty: str) -> None:
    params = hetero_lr.validate_parameters(
        {"optimizer": optimizer, "penalty": penalty, "alpha": 0.3, "learning_rate": 0.2}
    )
    settings = hetero_lr._Settings.of(params)
    ours = hetero_lr.Optimizer(settings, 4, has_intercept=True)
    reference = ReferenceOptimizer(params, 4, 3)
    rng = np.random.default_rng(1)
    w_ours = w_ref = rng.standard_normal(4)
    for iteration in range(4):
        gradient = rng.standard_normal(4)
        w_ours = ours.step(w_ours, gradient, iteration)
        w_ref = reference.step(w_ref, gradient, iteration)
        np.testing.assert_allclose(w_ours, w_ref, rtol=1e-12)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"optimizer": "sqn"}, "optimizer"),
        ({"alpha": -1}, "alpha"),
        ({"encrypt_param": {"key_length": 100}}, "encrypt_param.key_length"),
        ({"encrypt_param": {"key_length": 1000}}, "encrypt_param.key_length"),
        ({"encrypt_param": {"key_length": "1024"}}, "encrypt_param.key_length"),
        ({"encrypt_param": {"method": "RSA"}}, "encrypt_param.method"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -2}, "batch_size"),
        ({"batch_size": 5}, "batch_size"),
        ({"max_iter": 0}, "max_iter"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"penalty": "L3"}, "penalty"),
        ({"early_stop": "never"}, "early_stop"),
        ({"tol": -1}, "tol"),
        ({"init_param": {"init_method": "xavier"}}, "init_param.init_method"),
        ({"init_param": {"fit_intercept": "yes"}}, "init_param.fit_intercept"),
        ({"predict_param": {"threshold": 1.5}}, "predict_param.threshold"),
        ({"cv_param": {"need_cv": True, "n_splits": 1}}, "cv_param.n_splits"),
        ({"stepwise_param": {"need_stepwise": True, "nvmin": 1}}, "stepwise_param.nvmin"),
        ({"stepwise_param": {"score_name": "CIA"}}, "stepwise_param.score_name"),
        ({"sqn_param": {"memory_M": 0}}, "sqn_param.memory_M"),
        ({"batch_strategy": "half"}, "batch_strategy"),
        ({"masked_rate": -1}, "masked_rate"),
        ({"shuffle": "yes"}, "shuffle"),
        ({"multi_class": "ovo"}, "multi_class"),
        (
            {"encrypted_mode_calculator_param": {"mode": "loose"}},
            "encrypted_mode_calculator_param.mode",
        ),
        ({"validation_freqs": 0}, "validation_freqs"),
        ({"early_stopping_rounds": 2}, "early_stopping_rounds"),
        (
            {"validation_freqs": 1, "callback_param": {"callbacks": ["EarlyStopping"]}},
            "validation_freqs",
        ),
        (
            {"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 0}},
            "callback_param.save_freq",
        ),
        ({"learning_rat": 0.1}, "learning_rat"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        hetero_lr.validate_parameters(params)
    assert caught.value.metadata["parameter"] == parameter
    assert parameter in caught.value.message


def test_fates_whole_parameter_set_is_accepted_off() -> None:
    """FATE 1.5 to 1.11's HeteroLogisticParam, every name, as FATE's example jobs give them."""
    params = hetero_lr.validate_parameters(
        {
            "shuffle": False,
            "batch_strategy": "full",
            "masked_rate": 0,
            "sqn_param": {
                "update_interval_L": 3,
                "memory_M": 5,
                "sample_size": 5000,
                "random_seed": None,
            },
            "stepwise_param": {"score_name": "AIC", "direction": "backward", "max_step": 2},
            "callback_param": {"callbacks": [], "metrics": None, "save_freq": 1},
            "encrypted_mode_calculator_param": {"mode": "fast", "re_encrypted_rate": 1},
            "cv_param": {"n_splits": 4, "shuffle": False, "random_seed": 103, "need_cv": False},
            "multi_class": "ovr",
            "floating_point_precision": 23,
        }
    )
    # FATE 1.7+ runs every calculator mode as strict, as ours does.
    assert params["encrypted_mode_calculator_param"]["mode"] == "strict"
    assert hetero_lr.validate_parameters(params) == params


def test_defaults_are_fates() -> None:
    params = hetero_lr.validate_parameters({})
    assert params["penalty"] == "L2"
    assert params["alpha"] == 1.0
    assert params["optimizer"] == "rmsprop"
    assert params["learning_rate"] == 0.01
    assert params["max_iter"] == 100
    assert params["batch_size"] == -1
    assert params["early_stop"] == "diff"
    assert params["tol"] == 1e-4
    assert params["init_param"]["init_method"] == "random_uniform"
    assert params["init_param"]["fit_intercept"] is True
    assert params["encrypt_param"]["key_length"] == 1024
    assert params["predict_param"]["threshold"] == 0.5
    assert hetero_lr.validate_parameters(params) == params
    assert hetero_lr.validate_parameters({"penalty": None, "optimizer": "ADAM"})["penalty"] == (
        "NONE"
    )


def test_several_hosts_need_weight_diff(breast: Breast) -> None:
    parties = Participants(GUEST, (HOST, HOST_B), ARBITER)
    with pytest.raises(InvalidArgument, match="weight_diff"):
        hetero_lr.fit_arbiter(MemoryTransport(Wire(), ARBITER), EXAMPLE, parties)


def test_two_classes_must_be_0_and_1(breast: Breast) -> None:
    """Two classes are a binary model's, 0 and 1; more are one-vs-rest's (`test_one_vs_rest`)."""
    parties = Participants(GUEST, (HOST,), ARBITER)
    labels = breast.labels + 1
    with pytest.raises(InvalidArgument, match="binary"):
        hetero_lr.fit_guest(
            MemoryTransport(Wire(), GUEST),
            breast.guest,
            labels,
            EXAMPLE,
            parties,
            ids=breast.ids,
            header=breast.guest_header,
        )


def test_a_host_without_the_guests_ids_fails_clearly(breast: Breast) -> None:
    parties = Participants(GUEST, (HOST,), ARBITER)
    with pytest.raises(InvalidArgument, match="intersect the data first"):
        run_parties(
            Wire(),
            {
                GUEST: lambda t: hetero_lr.predict_guest(
                    t,
                    breast.guest,
                    _model(breast.guest_header),
                    parties,
                    ids=breast.ids,
                    header=breast.guest_header,
                ),
                HOST: lambda t: hetero_lr.predict_host(
                    t,
                    breast.host[1:],
                    _model(breast.host_header),
                    parties,
                    ids=breast.host_ids[1:],
                    header=breast.host_header,
                ),
            },
        )


def _model(header: list[str]) -> dict[str, Any]:
    return {"param": {"weight": dict.fromkeys(header, 0.1), "intercept": 0.0, "header": header}}


# --- validation during training -------------------------------------------------------------


def test_validation_and_early_stopping_stop_where_the_plaintext_computation_would(
    breast: Breast,
) -> None:
    """`validation_freqs` 1 with `early_stopping_rounds` 2: the validate AUC of every
    iteration is logged, training stops two scored iterations after the best one, and every
    party keeps the best iteration's weights; all as the plaintext run says."""
    from fateflow_grpc.components.sdk.context import Dataset

    train_rows, validate_rows = np.arange(120), np.arange(120, 200)
    host = breast.host_aligned()

    def dataset(rows: np.ndarray, features: np.ndarray, header: list[str], labels: bool) -> Dataset:
        return Dataset(
            ids=np.array([breast.ids[k] for k in rows], dtype=object),
            features=features[rows],
            labels=breast.labels[rows] if labels else None,
            header=list(header),
        )

    params = hetero_lr.validate_parameters(
        {
            **EXAMPLE,
            "optimizer": "sgd",
            "learning_rate": 0.9,
            "max_iter": 25,
            "tol": 0.0,
            "validation_freqs": 1,
            "early_stopping_rounds": 2,
            "metrics": ["auc"],
        }
    )
    parties = Participants(GUEST, (HOST,), ARBITER)
    logged: list[tuple[str, str, Any]] = []
    guest_train = dataset(train_rows, breast.guest, breast.guest_header, True)
    host_train = dataset(train_rows, host, breast.host_header, False)
    results = run_parties(
        Wire(),
        {
            ARBITER: lambda t: hetero_lr.fit_arbiter(t, params, parties),
            GUEST: lambda t: hetero_lr.fit_guest(
                t,
                guest_train.features,
                guest_train.labels,
                params,
                parties,
                ids=guest_train.ids.tolist(),
                header=breast.guest_header,
                validate_data=dataset(validate_rows, breast.guest, breast.guest_header, True),
                log_metric=lambda namespace, name, points, meta: logged.append(
                    (namespace, name, dict(points))
                ),
            ),
            HOST: lambda t: hetero_lr.fit_host(
                t,
                host_train.features,
                params,
                parties,
                ids=host_train.ids.tolist(),
                header=breast.host_header,
                validate_data=dataset(validate_rows, host, breast.host_header, False),
            ),
        },
    )
    features = np.hstack([breast.guest, host])
    design = np.hstack([features, np.ones((len(features), 1))])
    y = breast.labels
    initial = hetero_lr.initial_weights(
        hetero_lr._Settings.of(params),
        design.shape[1],
        labels=np.where(y[train_rows] == 1, 1.0, -1.0),
        has_intercept=True,
    )
    # The plaintext run, validated after every iteration; FATE's early stopping on its AUC.
    aucs, snapshots, best, stale, stopped = [], [], -1, 0, None
    for iteration in range(params["max_iter"]):
        plain = plaintext_lr(
            features[train_rows],
            y[train_rows],
            {**params, "max_iter": iteration + 1},
            [np.arange(len(train_rows))],
            initial=initial,
        )
        snapshots.append(plain.weights)
        aucs.append(auc(design[validate_rows] @ plain.weights, y[validate_rows]))
        if best < 0 or aucs[-1] > aucs[best]:
            best, stale = iteration, 0
        else:
            stale += 1
        if stale >= 2:
            stopped = iteration
            break
    assert stopped is not None and stopped < params["max_iter"] - 1  # it stopped early
    guest_model, _ = results[GUEST]
    assert guest_model["param"]["best_iteration"] == best
    assert results[ARBITER]["param"]["iters"] == stopped + 1
    kept = [*guest_model["param"]["weight"].values(), *results[HOST]["param"]["weight"].values()]
    np.testing.assert_allclose(
        [*kept, guest_model["param"]["intercept"]], snapshots[best], atol=1e-6
    )
    validate_aucs = [points["auc"] for namespace, _, points in logged if namespace == "validate"]
    np.testing.assert_allclose(validate_aucs, aucs, atol=1e-6)
    assert [name for namespace, name, _ in logged if namespace == "validate"] == [
        f"iteration_{k}" for k in range(stopped + 1)
    ]


@pytest.mark.slow
def test_the_gradients_on_spark_are_the_local_ones(breast: Breast, spark: SparkComputing) -> None:
    """X^T [[d]] of every batch as Spark jobs: decrypted, the same numbers, so the same model
    (deterministic here: zero initial weights, mini-batches from a seed)."""
    params = {
        **EXAMPLE,
        "max_iter": 2,
        "batch_size": 100,
        "init_param": {"init_method": "zeros", "random_seed": 7},
    }
    columns = {HOST: slice(None)}
    local = train(breast.head(200), params, columns)
    on_spark = train(breast.head(200), params, columns, computing=spark)
    assert np.array_equal(federated_weights(on_spark), federated_weights(local))
    assert on_spark.losses == local.losses
