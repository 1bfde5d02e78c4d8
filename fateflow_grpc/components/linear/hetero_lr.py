"""HeteroLR (FATE's `HeteroLR` module): logistic regression on features split across parties.

    params = validate_parameters(component_parameters)
    parties = Participants.from_roles(roles)
    model, predictions = fit_guest(transport, X, y, params, parties, ids=ids, header=header)
    model = fit_host(transport, X, params, parties, ids=ids, header=header)       # each host
    model = fit_arbiter(transport, params, parties, on_loss=log_loss)           # the arbiter
    predictions = predict_guest(transport, X, model, parties, ids=ids, header=header)
    predict_host(transport, X, model, parties, ids=ids, header=header)

The guest holds the labels and some features, each host more features of the same samples
(rows are matched by id: the guest tells the hosts which ids make each batch), the arbiter the
Paillier key. FATE 1.x's protocol, per iteration i and batch b (tag `fit.i.b`), with u = X w
the forward of a party, [[.]] Paillier encryption under the arbiter's key, and labels y in
{-1, 1} (FATE maps a label 0 to -1; the models and predictions speak 0 and 1):

1. each host sends [[u_h / 4]] (`host_forward_dict`);
2. the guest computes the residual of the Taylor expansion of the logistic loss around 0,
   d = (u_g + sum u_h) / 4 - y / 2, as [[d]] = [[u_g / 4 - y / 2]] + sum [[u_h / 4]] (its
   half freshly encrypted, so a host cannot strip its own term off), and sends [[d]] to the
   hosts (`fore_gradient`);
3. every party computes its encrypted gradient X^T [[d]] (the guest with a column of ones for
   the intercept), adds a random mask drawn uniformly modulo n, and sends it to the arbiter
   (`guest_gradient`, `host_gradient`), which decrypts it and sends back the masked plaintext
   (`guest_optim_gradient`, `host_optim_gradient`); the party removes the mask, divides by the
   batch size, adds the L2 term and applies its optimizer to its own weights;
4. with a single host, the guest assembles the encrypted Taylor loss
   mean(log 2 - y u / 2 + u^2 / 8) from its plaintext part, the cross term
   sum((u_g - 2 y) * [[u_h / 4]]) and the host's [[sum u_h^2]] (`loss_intermediate`), adds
   the penalties (the host's encrypted, `host_loss_regular`) and sends it to the arbiter
   (`loss`), which decrypts it; as in FATE, there is no loss with several hosts, where
   `early_stop` must be `weight_diff`;
5. after the last batch the arbiter averages the batch losses, reports it (`on_loss`), decides
   convergence (`early_stop`, `tol`) and tells every party (`converge_flag`, tag `fit.i`).

Departures from FATE, on purpose:

* The arbiter never sees a gradient: in FATE it decrypts the plain gradients and runs the
  optimizer itself; here it decrypts masked values, uniformly random to it, and each party runs
  its own optimizer. So for `early_stop: weight_diff` each party sends the arbiter the squared
  norm of its weights' change in the iteration (`weight_diff`, a variable FATE does not have).
* Ciphertexts cross as fixed-width big-endian rows of a `uint8` array (the ciphertext, then its
  base-16 exponent zigzag-encoded in two bytes), as the intersection's big integers do, so this
  module needs nothing of the federation's codec (which imports protobuf).
* Batches are drawn once (seeded by `init_param.random_seed`) and kept for every iteration, as
  FATE 1.x does before 1.8's `shuffle`; `batch_size: -1` keeps the rows in their given order.
* L1's proximal step shrinks by alpha times the step's learning rate (FATE divides by the
  square root of an iteration count that is 0 in the first iteration).
* Only binary labels (0 and 1): FATE's one-vs-rest for more classes is not implemented.

Sample weights (SampleWeight's, the guest's alone), as FATE 1.7+ weighs them: scaled to mean 1
over the guest's rows, each row's residual is weighted, d = w (u / 4 - y / 2) (the guest
weighs its half before encrypting it and each [[u_h / 4]] by a plaintext multiplication), so
the gradient is X^T [[d]] / m as before. The loss is the weighted Taylor loss
mean(w (log 2 - y u / 2 + u^2 / 8)): with one host, the guest sends it each batch's weights
encrypted once, before the first iteration (`sample_weight`, ours; `batch_info` says
`with_weight`), and the host sends [[sum w u_h^2]], a product of powers of them, re-randomised
so that the guest, which made those ciphertexts, cannot test guesses of u_h against it.
FATE's weighted loss mixes weighted and unweighted terms.

Performance: the cost is Paillier's. Per batch of m rows the guest and each host encrypt m
values each, at the same time (an obfuscator apiece, the bulk of encrypting; each party
computes the next batch's in the background while it waits for the others); X^T [[d]] is a
multi-exponentiation per weight (`paillier.matvec`) with exponents of
`floating_point_precision` bits, the largest cost with DJN keys (the arbiter's default); the
arbiter decrypts one value per weight. Both use every core. The rest is vectorised numpy.
`Timings` measures the phases.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.sdk.context import TaskContext
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, learner_input, prediction_table
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HeteroLR"
_VARIABLES = "HeteroLRTransferVariable"
PAILLIER_PUBKEY = f"{_VARIABLES}.paillier_pubkey"
BATCH_INFO = f"{_VARIABLES}.batch_info"
BATCH_DATA_INDEX = f"{_VARIABLES}.batch_data_index"
HOST_FORWARD = f"{_VARIABLES}.host_forward_dict"
FORE_GRADIENT = f"{_VARIABLES}.fore_gradient"
GUEST_GRADIENT = f"{_VARIABLES}.guest_gradient"
HOST_GRADIENT = f"{_VARIABLES}.host_gradient"
GUEST_OPTIM_GRADIENT = f"{_VARIABLES}.guest_optim_gradient"
HOST_OPTIM_GRADIENT = f"{_VARIABLES}.host_optim_gradient"
LOSS_INTERMEDIATE = f"{_VARIABLES}.loss_intermediate"
HOST_LOSS_REGULAR = f"{_VARIABLES}.host_loss_regular"
LOSS = f"{_VARIABLES}.loss"
CONVERGE_FLAG = f"{_VARIABLES}.converge_flag"
HOST_PROB = f"{_VARIABLES}.host_prob"
#: Ours (see the module's docstring): a party's squared weight change, for `weight_diff`.
WEIGHT_DIFF = f"{_VARIABLES}.weight_diff"
#: Ours: each batch's sample weights, encrypted, for a host's share of the weighted loss.
SAMPLE_WEIGHT = f"{_VARIABLES}.sample_weight"

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
PENALTIES = ("L1", "L2", "NONE")
EARLY_STOPS = ("diff", "weight_diff", "abs")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
#: FATE's `consts.MIN_BATCH_SIZE`: smaller batches would let a host learn single residuals.
MIN_BATCH_SIZE = 10

#: Residuals and forwards are encrypted at this absolute precision (exponent 16^-10): their
#: bits cost nothing (they live in the ciphertext, not in any exponent), so they are generous.
_RESIDUAL_PRECISION = 2.0**-40
#: Bytes of a zigzag-encoded exponent on the wire (paillier.MAX_WIRE_EXPONENT fits).
_EXPONENT_BYTES = 2

# FATE 1.x's HeteroLogisticParam defaults (federatedml/param/logistic_regression_param.py).
DEFAULTS: dict[str, Any] = {
    "penalty": "L2",
    "tol": 1e-4,
    "alpha": 1.0,
    "optimizer": "rmsprop",
    "batch_size": -1,
    "learning_rate": 0.01,
    "init_param": {
        "init_method": "random_uniform",
        "init_const": 1,
        "fit_intercept": True,
        "random_seed": None,
    },
    "max_iter": 100,
    "early_stop": "diff",
    "encrypt_param": {"method": "Paillier", "key_length": paillier.DEFAULT_KEY_LENGTH},
    "predict_param": {"threshold": 0.5},
    "decay": 1,
    "decay_sqrt": True,
    "multi_class": "ovr",
    "floating_point_precision": 23,
    "encrypted_mode_calculator_param": {"mode": "strict", "re_encrypted_rate": 1},
    "cv_param": {
        "n_splits": 5,
        "mode": "hetero",
        "role": "guest",
        "shuffle": True,
        "random_seed": 1,
        "need_cv": False,
        "output_fold_history": True,
        "history_value_type": "score",
    },
    "validation_freqs": None,
    "early_stopping_rounds": None,
    "metrics": ["auc", "ks"],
    "use_first_metric_only": False,
    "is_warm_start": False,
}

Floats = npt.NDArray[np.float64]
Model = dict[str, Any]


# --- parameters -------------------------------------------------------------------------------


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's defaults filled in and values normalised (`penalty` upper case, `optimizer` and
    `early_stop` lower case); InvalidArgument naming the first parameter that is wrong.

    Idempotent: the role functions validate again what they are given.
    """
    reader = ParamReader(MODULE, params, DEFAULTS)
    penalty_value = reader.raw("penalty")
    penalty = "NONE" if penalty_value is None else reader.choice("penalty", PENALTIES)
    init = reader.section("init_param")
    encrypt = reader.section("encrypt_param")
    predict = reader.section("predict_param")
    calculator = reader.section("encrypted_mode_calculator_param")
    cv = reader.section("cv_param")
    encrypt.choice("method", ("Paillier",))
    key_length = encrypt.raw("key_length")
    try:
        paillier.validate_key_length(key_length)
    except InvalidArgument as error:
        raise encrypt.error("key_length", key_length, f"is not usable: {error.message}") from None
    if reader.raw("optimizer") == "sqn":
        raise reader.error("optimizer", "sqn", "sqn (stochastic quasi-Newton) is not implemented")
    precision = reader.raw("floating_point_precision")
    cv.only("need_cv", False, "cross validation is not implemented")
    reader.only("validation_freqs", None, "validation during training is not implemented")
    reader.only("early_stopping_rounds", None, "it needs validation_freqs")
    reader.only("is_warm_start", False, "warm start is not implemented")
    reader.choice("multi_class", ("ovr",))
    calculator.choice("mode", ("strict",))
    metrics = reader.raw("metrics")
    if metrics is not None and not isinstance(metrics, list):
        raise reader.error("metrics", metrics, "must be a list of metric names")
    return {
        "penalty": penalty,
        "tol": reader.number("tol", minimum=0),
        "alpha": reader.number("alpha", minimum=0),
        "optimizer": reader.choice("optimizer", OPTIMIZERS),
        "batch_size": _batch_size(reader),
        "learning_rate": reader.number("learning_rate", above=0),
        "init_param": {
            "init_method": init.choice("init_method", INIT_METHODS),
            "init_const": init.number("init_const"),
            "fit_intercept": init.boolean("fit_intercept"),
            "random_seed": init.optional_integer("random_seed"),
        },
        "max_iter": reader.integer("max_iter", minimum=1),
        "early_stop": reader.choice("early_stop", EARLY_STOPS),
        "encrypt_param": {"method": "Paillier", "key_length": key_length},
        "predict_param": {"threshold": predict.number("threshold", minimum=0, maximum=1)},
        "decay": reader.number("decay", minimum=0),
        "decay_sqrt": reader.boolean("decay_sqrt"),
        "multi_class": "ovr",
        # FATE's None means floats at full precision: 52 bits is all a double has.
        "floating_point_precision": 52
        if precision is None
        else reader.integer("floating_point_precision", minimum=0, maximum=63),
        "encrypted_mode_calculator_param": {
            "mode": "strict",
            "re_encrypted_rate": calculator.number("re_encrypted_rate", minimum=0, maximum=1),
        },
        "cv_param": dict(DEFAULTS["cv_param"]),
        "validation_freqs": None,
        "early_stopping_rounds": None,
        "metrics": list(metrics or []),
        "use_first_metric_only": reader.boolean("use_first_metric_only"),
        "is_warm_start": False,
    }


def _batch_size(reader: ParamReader) -> int:
    value = reader.integer("batch_size")
    if value != -1 and value < MIN_BATCH_SIZE:
        raise reader.error(
            "batch_size", value, f"must be -1 (all rows) or at least {MIN_BATCH_SIZE}"
        )
    return value


@dataclass(frozen=True)
class _Settings:
    """The validated parameters an algorithm step reads."""

    penalty: str
    alpha: float
    optimizer: str
    learning_rate: float
    decay: float
    decay_sqrt: bool
    batch_size: int
    max_iter: int
    early_stop: str
    tol: float
    init_method: str
    init_const: float
    fit_intercept: bool
    random_seed: int | None
    key_length: int
    threshold: float
    #: The X of X^T [[d]] is encoded with this many bits after the binary point.
    precision_bits: int

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> _Settings:
        p = validate_parameters(params)
        init = p["init_param"]
        return cls(
            penalty=p["penalty"],
            alpha=p["alpha"],
            optimizer=p["optimizer"],
            learning_rate=p["learning_rate"],
            decay=p["decay"],
            decay_sqrt=p["decay_sqrt"],
            batch_size=p["batch_size"],
            max_iter=p["max_iter"],
            early_stop=p["early_stop"],
            tol=p["tol"],
            init_method=init["init_method"],
            init_const=init["init_const"],
            fit_intercept=init["fit_intercept"],
            random_seed=init["random_seed"],
            key_length=p["encrypt_param"]["key_length"],
            threshold=p["predict_param"]["threshold"],
            precision_bits=p["floating_point_precision"],
        )

    def meta(self) -> dict[str, Any]:
        """FATE's LRModelMeta fields (snake_case; tracking renders them as FATE's JSON)."""
        return {
            "penalty": self.penalty,
            "tol": self.tol,
            "alpha": self.alpha,
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "early_stop": self.early_stop,
            "fit_intercept": self.fit_intercept,
            "need_one_vs_rest": False,
            "module": MODULE,
            "decay": self.decay,
            "decay_sqrt": self.decay_sqrt,
            "floating_point_precision": self.precision_bits,
            "predict_param": {"threshold": self.threshold},
        }

    def learning_rate_at(self, iteration: int) -> float:
        """FATE's decayed step: lr / sqrt(1 + decay * t), or lr / (1 + decay * t)."""
        scale = 1 + self.decay * iteration
        return self.learning_rate / (math.sqrt(scale) if self.decay_sqrt else scale)


def _check_hosts(settings: _Settings, parties: Participants) -> None:
    # Every role runs this same check, so a bad combination fails everywhere before any
    # exchange instead of leaving the other parties waiting.
    if len(parties.hosts) > 1 and settings.early_stop != "weight_diff":
        raise InvalidArgument(
            f"{MODULE} parameter early_stop must be weight_diff with {len(parties.hosts)} "
            f"hosts: the loss is only computed with one host, not {settings.early_stop!r}",
            module=MODULE,
            parameter="early_stop",
        )


# --- optimisation -----------------------------------------------------------------------------


class Optimizer:
    """One party's optimizer over its weights (the intercept last, when it has one).

    FATE 1.x's update rules (`federatedml/optim/optimizer.py`): the L2 term is added to the
    gradient, the step is the optimizer's, L1 is a proximal (soft-threshold) step; the
    intercept is never penalised.
    """

    def __init__(self, settings: _Settings, size: int, has_intercept: bool) -> None:
        self._s = settings
        self._coefficients = size - 1 if has_intercept else size
        self._m = np.zeros(size)
        self._v = np.zeros(size)
        self._beta1_power = 1.0
        self._beta2_power = 1.0

    def step(self, weights: Floats, gradient: Floats, iteration: int) -> Floats:
        """The weights after one step on `gradient` (the mean Taylor gradient of a batch)."""
        s = self._s
        k = self._coefficients
        gradient = gradient.copy()
        if s.penalty == "L2":
            gradient[:k] += s.alpha * weights[:k]
        rate = s.learning_rate_at(iteration)
        delta = self._delta(gradient, rate)
        updated = weights - delta
        if s.penalty == "L1":
            shifted = weights[:k] - delta[:k]
            updated[:k] = np.sign(shifted) * np.maximum(0.0, np.abs(shifted) - rate * s.alpha)
        return updated

    def _delta(self, gradient: Floats, rate: float) -> Floats:
        method = self._s.optimizer
        if method == "sgd":
            return rate * gradient
        if method == "rmsprop":
            self._m = 0.99 * self._m + 0.01 * np.square(gradient)
            return rate * gradient / np.sqrt(self._m + 1e-6)
        if method == "adagrad":
            self._m = self._m + np.square(gradient)
            return rate * gradient / (np.sqrt(self._m) + 1e-7)
        if method == "adam":
            self._beta1_power *= 0.9
            self._beta2_power *= 0.999
            self._m = 0.9 * self._m + 0.1 * gradient
            self._v = 0.999 * self._v + 0.001 * np.square(gradient)
            m_hat = self._m / (1 - self._beta1_power)
            v_hat = self._v / (1 - self._beta2_power)
            return rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        # nesterov_momentum_sgd, in FATE's form: the step is mu * v_old - (1 + mu) * v_new.
        velocity = 0.9 * self._m - rate * gradient
        delta = 0.9 * self._m - 1.9 * velocity
        self._m = velocity
        return delta


def penalty_value(settings: _Settings, coefficients: Floats) -> float:
    """The penalty's share of the loss (FATE's `loss_norm`); the intercept is not in it."""
    if settings.penalty == "L2":
        return 0.5 * settings.alpha * float(coefficients @ coefficients)
    if settings.penalty == "L1":
        return settings.alpha * float(np.abs(coefficients).sum())
    return 0.0


def initial_weights(
    settings: _Settings, size: int, *, labels: Floats | None = None, has_intercept: bool = False
) -> Floats:
    """FATE's `Initializer`: the weights (intercept last) before the first iteration."""
    method = settings.init_method
    rng = np.random.default_rng(settings.random_seed)
    if method == "random_uniform":
        weights = rng.random(size)
    elif method == "random_normal":
        weights = rng.standard_normal(size)
    elif method == "ones":
        weights = np.ones(size)
    elif method == "const":
        weights = np.full(size, settings.init_const)
    else:
        weights = np.zeros(size)
        # FATE starts the intercept at the log-odds of the labels, which converges faster.
        if has_intercept and labels is not None:
            positive = int((labels == 1).sum())
            negative = len(labels) - positive
            if positive and negative:
                weights[-1] = math.log(positive / negative)
    return weights


def _batches(count: int, settings: _Settings) -> list[npt.NDArray[np.intp]]:
    """Row positions of each batch, drawn once for all iterations."""
    if settings.batch_size == -1 or settings.batch_size >= count:
        return [np.arange(count)]
    seed = settings.random_seed if settings.random_seed is not None else secrets.randbits(64)
    order = np.random.default_rng(seed).permutation(count)
    return [
        order[start : start + settings.batch_size] for start in range(0, count, settings.batch_size)
    ]


def _converged(settings: _Settings, losses: Sequence[float], weight_change: float) -> bool:
    """FATE's converge functions: `diff` of the last two losses, `abs` loss, `weight_diff`."""
    if settings.early_stop == "weight_diff":
        return weight_change < settings.tol
    if not losses:
        return False
    if settings.early_stop == "abs":
        return losses[-1] <= settings.tol
    return len(losses) > 1 and abs(losses[-2] - losses[-1]) < settings.tol


# --- instrumentation --------------------------------------------------------------------------


@dataclass
class Timings:
    """Seconds a role spent per phase, summed over the run (for benchmarks).

    Phases: `encrypt` (encryptions, obfuscators included), `matvec` (X^T [[d]] and the loss's
    encrypted dot product), `decrypt`, `wait` (for other parties' objects), `iterations`.
    """

    seconds: dict[str, float] = field(default_factory=dict)
    iteration_seconds: list[float] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _next_batch_size(batches: Sequence[Sized], iteration: int, index: int, max_iter: int) -> int:
    """Rows of the batch after (iteration, index); 0 after the last one."""
    if index + 1 < len(batches):
        return len(batches[index + 1])
    return len(batches[0]) if iteration + 1 < max_iter else 0


# --- the wire ---------------------------------------------------------------------------------


class _Channel:
    """A role's view of the transport: waits are timed, and what arrives is checked."""

    def __init__(self, transport: Transport, timeout: float, timings: Timings) -> None:
        self.transport = transport
        self.timeout = timeout
        self.timings = timings

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        self.transport.remote(obj, name, tag, parties)

    def get(self, name: str, tag: str, parties: Sequence[PartyRole]) -> list[object]:
        with self.timings.phase("wait"):
            objects = self.transport.get(name, tag, parties, self.timeout)
        if len(objects) != len(parties):
            raise FederatedError(
                f"{MODULE}: got {len(objects)} objects {name} tag {tag!r} from {len(parties)} "
                "parties"
            )
        return objects

    def get_one(self, name: str, tag: str, party: PartyRole) -> object:
        return self.get(name, tag, [party])[0]


def _sender(party: PartyRole) -> str:
    return f"{party.role} {party.party_id}"


def _width(modulus: int) -> int:
    return (modulus.bit_length() + 7) // 8


def _rows(values: Sequence[int], width: int) -> npt.NDArray[np.uint8]:
    data = b"".join(value.to_bytes(width, "big") for value in values)
    return np.frombuffer(data, np.uint8).reshape(len(values), width)


def _read_rows(obj: object, width: int, what: str, sender: PartyRole) -> list[int]:
    if (
        not isinstance(obj, np.ndarray)
        or obj.dtype != np.uint8
        or obj.ndim != 2
        or obj.shape[1] != width
    ):
        raise FederatedError(f"{_sender(sender)} sent {what} that are not rows of {width} bytes")
    data = obj.tobytes()
    return [int.from_bytes(data[k : k + width], "big") for k in range(0, len(data), width)]


def _pack_numbers(
    numbers: Sequence[paillier.EncryptedNumber], key: paillier.PublicKey, *, rerandomize: bool
) -> npt.NDArray[np.uint8]:
    """Encrypted numbers as rows: the ciphertext (big-endian, the width of n^2), then the
    zigzag-encoded exponent (`paillier.to_ints`'s pairs, fixed-width)."""
    ints = paillier.to_ints(numbers, rerandomize=rerandomize)
    width = _width(key.nsquare)
    data = b"".join(
        ints[k].to_bytes(width, "big") + ints[k + 1].to_bytes(_EXPONENT_BYTES, "big")
        for k in range(0, len(ints), 2)
    )
    return np.frombuffer(data, np.uint8).reshape(len(numbers), width + _EXPONENT_BYTES)


def _unpack_numbers(
    obj: object, key: paillier.PublicKey, what: str, sender: PartyRole, count: int | None = None
) -> list[paillier.EncryptedNumber]:
    width = _width(key.nsquare)
    rows = _read_rows(obj, width + _EXPONENT_BYTES, what, sender)
    if count is not None and len(rows) != count:
        raise FederatedError(f"{_sender(sender)} sent {len(rows)} {what}, not {count}")
    ints: list[int] = []
    for row in rows:
        ints.append(row >> (8 * _EXPONENT_BYTES))
        ints.append(row & ((1 << (8 * _EXPONENT_BYTES)) - 1))
    try:
        return paillier.from_ints(key, ints)
    except InvalidArgument as error:
        raise FederatedError(f"{_sender(sender)} sent {what} that are not valid: {error}") from None


def _read_json_list(obj: object, what: str, sender: PartyRole) -> list[Any]:
    if not isinstance(obj, list):
        raise FederatedError(f"{_sender(sender)} sent {what} that is not a list")
    return obj


# --- masked decryption ------------------------------------------------------------------------


@dataclass
class _Masked:
    """Encrypted gradient entries sent masked: what a party needs to read the answer."""

    exponents: list[int]
    masks: list[int]


def _mask(
    numbers: Sequence[paillier.EncryptedNumber], key: paillier.PublicKey
) -> tuple[npt.NDArray[np.uint8], _Masked]:
    """The numbers plus masks uniform modulo n, as rows of raw ciphertexts for the arbiter.

    A uniform mask makes the plaintext the arbiter decrypts uniform whatever the gradient is:
    it learns nothing of it (a bounded mask would hide it only statistically).
    """
    n, nsquare = key.n, key.nsquare
    masks = [secrets.randbelow(n) for _ in numbers]
    # Adding m to a plaintext is multiplying the ciphertext by g^m = 1 + m * n (mod n^2).
    ciphertexts = [
        number.ciphertext * (mask * n + 1) % nsquare
        for number, mask in zip(numbers, masks, strict=True)
    ]
    return _rows(ciphertexts, _width(nsquare)), _Masked(
        [number.exponent for number in numbers], masks
    )


def _unmask(obj: object, masked: _Masked, key: paillier.PublicKey, arbiter: PartyRole) -> Floats:
    plaintexts = _read_rows(obj, _width(key.n), "decrypted gradients", arbiter)
    if len(plaintexts) != len(masked.masks):
        raise FederatedError(
            f"{_sender(arbiter)} sent {len(plaintexts)} decrypted gradients, not "
            f"{len(masked.masks)}"
        )
    values = np.empty(len(plaintexts))
    n = key.n
    for k, (plaintext, mask, exponent) in enumerate(
        zip(plaintexts, masked.masks, masked.exponents, strict=True)
    ):
        mantissa = (plaintext - mask) % n
        if mantissa > key.max_int:
            mantissa -= n
        if abs(mantissa) > key.max_int:
            raise FederatedError(f"{_sender(arbiter)} sent a decrypted gradient out of range")
        values[k] = (
            mantissa / (1 << (-exponent * paillier.LOG2_BASE))
            if exponent < 0
            else float(mantissa << (exponent * paillier.LOG2_BASE))
        )
    return values


# --- data -------------------------------------------------------------------------------------


def _features(
    features: npt.ArrayLike, header: Sequence[str], ids: Sequence[object], role: str
) -> Floats:
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(header) or matrix.shape[0] != len(ids):
        raise InvalidArgument(
            f"{MODULE} at the {role}: features of shape {matrix.shape} do not match "
            f"{len(ids)} ids and {len(header)} feature names"
        )
    if not np.isfinite(matrix).all():
        raise InvalidArgument(f"{MODULE} at the {role}: features hold nan or inf")
    return matrix


def _scaled_weights(weights: npt.ArrayLike | None, count: int) -> Floats | None:
    """Sample weights scaled to mean 1, as FATE's `scale_sample_weight` does (None: none)."""
    if weights is None:
        return None
    values = np.asarray(weights, dtype=np.float64)
    if values.shape != (count,) or not np.all(np.isfinite(values)):
        raise InvalidArgument(f"{MODULE} at the guest: {count} rows need {count} finite weights")
    total = float(values.sum())
    if total <= 0:
        raise InvalidArgument(f"{MODULE} at the guest: the sample weights add up to {total:g}")
    scaled: Floats = values * (count / total)
    return scaled


def _binary_labels(labels: npt.ArrayLike) -> Floats:
    """Labels as FATE trains on them: 1 stays 1, 0 becomes -1."""
    values = np.asarray(labels, dtype=np.float64)
    distinct = sorted(set(np.unique(values).tolist()))
    if not set(distinct) <= {0.0, 1.0}:
        shown = ", ".join(f"{v:g}" for v in distinct[:5])
        raise InvalidArgument(
            f"{MODULE} is a binary classifier: labels are 0 and 1, not {shown}",
            module=MODULE,
        )
    return np.where(values == 1.0, 1.0, -1.0)


def _row_positions(ids: Sequence[object], wanted: Sequence[Any], sender: PartyRole) -> list[int]:
    position = {str(value): k for k, value in enumerate(ids)}
    if len(position) != len(ids):
        raise InvalidArgument(f"{MODULE}: the ids of this party's data are not unique")
    missing = [value for value in wanted if str(value) not in position]
    if missing:
        raise InvalidArgument(
            f"{MODULE}: {_sender(sender)} names {len(missing)} ids this party does not have "
            f"(such as {missing[0]!r}); intersect the data first",
            missing=len(missing),
        )
    return [position[str(value)] for value in wanted]


def _weights_by_name(model: Model, header: Sequence[str], role: str) -> Floats:
    param = model.get("param") if isinstance(model, Mapping) else None
    if not isinstance(param, Mapping) or not isinstance(param.get("weight"), Mapping):
        raise InvalidArgument(f"{MODULE} at the {role}: this is not a HeteroLR model")
    weight = param["weight"]
    missing = [name for name in weight if name not in header]
    if missing:
        raise InvalidArgument(
            f"{MODULE} at the {role}: the data lack the model's features {', '.join(missing[:5])}",
            missing=len(missing),
        )
    # Features the model does not know get weight 0, as FATE's dot product over the model's
    # header ignores them.
    return np.array([float(weight.get(name, 0.0)) for name in header])


def _param(
    settings: _Settings,
    header: Sequence[str],
    weights: Floats,
    intercept: float,
    iters: int,
    converged: bool,
    losses: Sequence[float],
) -> Model:
    return {
        "meta": settings.meta(),
        "param": {
            "iters": iters,
            "loss_history": list(losses),
            "is_converged": converged,
            "weight": {name: float(w) for name, w in zip(header, weights, strict=True)},
            "intercept": float(intercept),
            "header": list(header),
            "best_iteration": -1,
            "need_one_vs_rest": False,
        },
    }


# --- predictions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """The guest's predictions, FATE's output columns: label, predict_result, predict_score,
    predict_detail (`{"0": 1 - p, "1": p}`)."""

    ids: list[str]
    labels: Floats | None
    scores: Floats
    threshold: float

    @property
    def results(self) -> npt.NDArray[np.int64]:
        # FATE: 1 if the score is above the threshold, else 0.
        return (self.scores > self.threshold).astype(np.int64)

    def rows(self) -> Iterator[tuple[str, int | None, int, float, dict[str, float]]]:
        """(id, label, predict_result, predict_score, predict_detail) per sample."""
        labels: list[Any] = [None] * len(self.ids) if self.labels is None else self.labels.tolist()
        for sample, label, result, score in zip(
            self.ids, labels, self.results.tolist(), self.scores.tolist(), strict=True
        ):
            yield (
                sample,
                None if label is None else int(label),
                result,
                score,
                {"0": 1.0 - score, "1": score},
            )


def _sigmoid(values: Floats) -> Floats:
    # exp of a large negative argument overflows to inf (1 / inf = 0, right) with a warning.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-values))


# --- the arbiter ------------------------------------------------------------------------------


def fit_arbiter(
    transport: Transport,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    on_loss: Callable[[int, float], None] | None = None,
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
) -> Model:
    """The arbiter's part: keys, masked decryption, losses, convergence; its model (FATE's
    arbiter model: `iters`, `loss_history`, `is_converged`, no weights).

    `on_loss(iteration, loss)` is called after each iteration that has a loss (FATE's
    `train`/`loss` metric, points (iteration, loss)).
    """
    settings = _Settings.of(params)
    _check_hosts(settings, parties)
    parties.require_arbiter()
    timings = timings or Timings()
    channel = _Channel(transport, timeout, timings)
    guest, hosts = parties.guest, list(parties.hosts)
    public_key, private_key = paillier.generate_keypair(settings.key_length)
    channel.remote(public_key.to_json(), PAILLIER_PUBKEY, "fit", [guest, *hosts])
    info = channel.get_one(BATCH_INFO, "fit", guest)
    if not isinstance(info, Mapping) or not isinstance(info.get("batch_num"), int):
        raise FederatedError(f"{_sender(guest)} sent a batch_info without batch_num")
    batch_num = int(info["batch_num"])
    with_loss = len(hosts) == 1
    losses: list[float] = []
    converged = False
    iteration = 0
    plain_width = _width(public_key.n)
    cipher_width = _width(public_key.nsquare)
    while iteration < settings.max_iter:
        started = time.perf_counter()
        batch_losses = []
        for batch in range(batch_num):
            tag = f"fit.{iteration}.{batch}"
            for name, answer, party in [
                *((HOST_GRADIENT, HOST_OPTIM_GRADIENT, host) for host in hosts),
                (GUEST_GRADIENT, GUEST_OPTIM_GRADIENT, guest),
            ]:
                ciphertexts = _read_rows(
                    channel.get_one(name, tag, party), cipher_width, "gradients", party
                )
                with timings.phase("decrypt"):
                    try:
                        plaintexts = private_key.raw_decrypt_many(ciphertexts)
                    except InvalidArgument as error:
                        raise FederatedError(
                            f"{_sender(party)} sent gradients that are not ciphertexts: {error}"
                        ) from None
                channel.remote(_rows(plaintexts, plain_width), answer, tag, [party])
            if with_loss:
                [number] = _unpack_numbers(
                    channel.get_one(LOSS, tag, guest), public_key, "a loss", guest, 1
                )
                with timings.phase("decrypt"):
                    batch_losses.append(float(private_key.decrypt(number)))
        weight_change = 0.0
        if settings.early_stop == "weight_diff":
            for party, change in zip(
                [guest, *hosts],
                channel.get(WEIGHT_DIFF, f"fit.{iteration}", [guest, *hosts]),
                strict=True,
            ):
                if not isinstance(change, int | float) or isinstance(change, bool) or change < 0:
                    raise FederatedError(f"{_sender(party)} sent a weight_diff that is not >= 0")
                weight_change += float(change)
            weight_change = math.sqrt(weight_change)
        if batch_losses:
            loss = float(np.mean(batch_losses))
            losses.append(loss)
            if on_loss is not None:
                on_loss(iteration, loss)
        converged = _converged(settings, losses, weight_change)
        channel.remote(converged, CONVERGE_FLAG, f"fit.{iteration}", [guest, *hosts])
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if converged:
            break
    return _param(settings, [], np.zeros(0), 0.0, iteration, converged, losses)


# --- the guest --------------------------------------------------------------------------------


def fit_guest(
    transport: Transport,
    features: npt.ArrayLike,
    labels: npt.ArrayLike,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    ids: Sequence[object],
    header: Sequence[str],
    sample_weights: npt.ArrayLike | None = None,
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
) -> tuple[Model, Predictions]:
    """The guest's part: its model, and its predictions on the training data (flowid
    `train`, as FATE's training job outputs them). `sample_weights`, one per row, weigh each
    row's gradient and loss."""
    settings = _Settings.of(params)
    _check_hosts(settings, parties)
    arbiter = parties.require_arbiter()
    timings = timings or Timings()
    channel = _Channel(transport, timeout, timings)
    hosts = list(parties.hosts)
    matrix = _features(features, header, ids, "guest")
    original_labels = np.asarray(labels, dtype=np.float64)
    if original_labels.shape != (len(ids),):
        raise InvalidArgument(
            f"{MODULE} at the guest: {len(ids)} ids but labels of shape {original_labels.shape}"
        )
    y = _binary_labels(original_labels)
    row_weights = _scaled_weights(sample_weights, len(ids))
    sample_ids = [str(value) for value in ids]
    fit_intercept = settings.fit_intercept
    # The intercept is the weight of a column of ones, so X^T [[d]] gives its gradient too.
    design = np.hstack([matrix, np.ones((len(ids), 1))]) if fit_intercept else matrix
    weights = initial_weights(settings, design.shape[1], labels=y, has_intercept=fit_intercept)
    optimizer = Optimizer(settings, design.shape[1], fit_intercept)
    coefficients = len(header)

    key = paillier.PublicKey.from_json(_json_key(channel.get_one(PAILLIER_PUBKEY, "fit", arbiter)))
    batches = _batches(len(ids), settings)
    # Obfuscators are the cost of encrypting: computed while this party would wait otherwise.
    key.fill_in_background(len(batches[0]))
    channel.remote(
        {
            "batch_size": settings.batch_size,
            "batch_num": len(batches),
            "with_weight": row_weights is not None,
        },
        BATCH_INFO,
        "fit",
        [*hosts, arbiter],
    )
    for index, rows in enumerate(batches):
        channel.remote([sample_ids[k] for k in rows], BATCH_DATA_INDEX, f"fit.{index}", hosts)
    with_loss = len(hosts) == 1
    if with_loss and row_weights is not None:
        for index, rows in enumerate(batches):
            with timings.phase("encrypt"):
                encrypted = key.encrypt_many(row_weights[rows], precision=_RESIDUAL_PRECISION)
            channel.remote(
                _pack_numbers(encrypted, key, rerandomize=False),
                SAMPLE_WEIGHT,
                f"fit.{index}",
                hosts,
            )
    converged = False
    iteration = 0
    x_precision = 2.0**-settings.precision_bits
    while iteration < settings.max_iter:
        started = time.perf_counter()
        start_weights = weights.copy()
        for index, rows in enumerate(batches):
            tag = f"fit.{iteration}.{index}"
            x, labels_b = design[rows], y[rows]
            weights_b = None if row_weights is None else row_weights[rows]
            forward = x @ weights
            half = 0.25 * forward - 0.5 * labels_b
            # Encrypt our half before the hosts' forwards arrive: the hosts encrypt theirs
            # at the same time.
            with timings.phase("encrypt"):
                residual = key.encrypt_many(
                    half if weights_b is None else half * weights_b, precision=_RESIDUAL_PRECISION
                )
            host_forwards = [
                _unpack_numbers(obj, key, "forwards", host, len(rows))
                for obj, host in zip(channel.get(HOST_FORWARD, tag, hosts), hosts, strict=True)
            ]
            for host_forward in host_forwards:
                if weights_b is not None:
                    with timings.phase("matvec"):
                        host_forward = [h * w for h, w in zip(host_forward, weights_b, strict=True)]
                residual = [a + b for a, b in zip(residual, host_forward, strict=True)]
            # Every [[d]] includes a fresh encryption of our half, which is what hides it from
            # a host that knows the randomness of its own term: no second obfuscator needed.
            channel.remote(
                _pack_numbers(residual, key, rerandomize=False), FORE_GRADIENT, tag, hosts
            )
            with timings.phase("matvec"):
                gradient = paillier.matvec(x.T, residual, precision=x_precision)
            masked_rows, masked = _mask(gradient, key)
            channel.remote(masked_rows, GUEST_GRADIENT, tag, [arbiter])
            if with_loss:
                loss = _guest_loss(
                    channel,
                    key,
                    settings,
                    tag,
                    hosts[0],
                    forward,
                    labels_b,
                    host_forwards[0],
                    weights_b,
                    penalty_value(settings, weights[:coefficients]),
                    x_precision,
                    timings,
                )
                channel.remote(_pack_numbers([loss], key, rerandomize=False), LOSS, tag, [arbiter])
            key.fill_in_background(_next_batch_size(batches, iteration, index, settings.max_iter))
            plain = _unmask(
                channel.get_one(GUEST_OPTIM_GRADIENT, tag, arbiter), masked, key, arbiter
            )
            weights = optimizer.step(weights, plain / len(rows), iteration)
        if settings.early_stop == "weight_diff":
            change = weights - start_weights
            channel.remote(float(change @ change), WEIGHT_DIFF, f"fit.{iteration}", [arbiter])
        converged = _read_flag(channel.get_one(CONVERGE_FLAG, f"fit.{iteration}", arbiter), arbiter)
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if converged:
            break
    intercept = float(weights[-1]) if fit_intercept else 0.0
    # The loss history is the arbiter's (it alone decrypts the losses), as in FATE.
    model = _param(settings, header, weights[:coefficients], intercept, iteration, converged, [])
    predictions = _predict_guest(
        channel,
        matrix,
        weights[:coefficients],
        intercept,
        hosts,
        sample_ids,
        original_labels,
        settings.threshold,
        "train",
    )
    return model, predictions


def _guest_loss(
    channel: _Channel,
    key: paillier.PublicKey,
    settings: _Settings,
    tag: str,
    host: PartyRole,
    forward: Floats,
    labels: Floats,
    host_forward: Sequence[paillier.EncryptedNumber],
    sample_weights: Floats | None,
    own_penalty: float,
    x_precision: float,
    timings: Timings,
) -> paillier.EncryptedNumber:
    """[[mean(w (log 2 - y u / 2 + u^2 / 8))]] + penalties, u = u_g + u_h, from [[u_h / 4]]
    and the host's [[sum w u_h^2]] (w = 1 without sample weights)."""
    w = np.ones(len(labels)) if sample_weights is None else sample_weights
    plain = float(np.sum(w * (math.log(2) - 0.5 * labels * forward + 0.125 * np.square(forward))))
    with timings.phase("matvec"):
        # w (u_g / 4 - y / 2) * u_h = w (u_g - 2 y) * [[u_h / 4]]
        cross = paillier.dot(w * (forward - 2.0 * labels), host_forward, precision=x_precision)
    [square] = _unpack_numbers(
        channel.get_one(LOSS_INTERMEDIATE, tag, host), key, "a loss intermediate", host, 1
    )
    total = (cross + square * 0.125 + plain) * (1.0 / len(labels)) + own_penalty
    if settings.penalty != "NONE":
        [host_penalty] = _unpack_numbers(
            channel.get_one(HOST_LOSS_REGULAR, tag, host), key, "a loss regular", host, 1
        )
        total = total + host_penalty
    return total


def _json_key(obj: object) -> Mapping[str, object]:
    if not isinstance(obj, Mapping):
        raise FederatedError("the arbiter sent a Paillier public key that is not {'n': <int>}")
    return obj


def _read_flag(obj: object, sender: PartyRole) -> bool:
    if not isinstance(obj, bool):
        raise FederatedError(f"{_sender(sender)} sent a converge_flag that is not a boolean")
    return obj


def predict_guest(
    transport: Transport,
    features: npt.ArrayLike,
    model: Model,
    parties: Participants,
    *,
    ids: Sequence[object],
    header: Sequence[str],
    labels: npt.ArrayLike | None = None,
    threshold: float | None = None,
    flowid: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> Predictions:
    """Scores of a trained model: the hosts send their forwards in plaintext, as in FATE."""
    matrix = _features(features, header, ids, "guest")
    weights = _weights_by_name(model, header, "guest")
    intercept = float(model["param"].get("intercept", 0.0))
    if threshold is None:
        threshold = float(model.get("meta", {}).get("predict_param", {}).get("threshold", 0.5))
    channel = _Channel(transport, timeout, Timings())
    return _predict_guest(
        channel,
        matrix,
        weights,
        intercept,
        list(parties.hosts),
        [str(v) for v in ids],
        None if labels is None else np.asarray(labels, dtype=np.float64),
        threshold,
        flowid,
    )


def _predict_guest(
    channel: _Channel,
    matrix: Floats,
    weights: Floats,
    intercept: float,
    hosts: Sequence[PartyRole],
    ids: list[str],
    labels: Floats | None,
    threshold: float,
    flowid: str,
) -> Predictions:
    channel.remote(ids, BATCH_DATA_INDEX, flowid, hosts)
    forward = matrix @ weights + intercept
    for obj, host in zip(channel.get(HOST_PROB, flowid, hosts), hosts, strict=True):
        if not isinstance(obj, np.ndarray) or obj.dtype.kind != "f" or obj.shape != (len(ids),):
            raise FederatedError(f"{_sender(host)} sent forwards that are not {len(ids)} floats")
        forward = forward + obj.astype(np.float64)
    return Predictions(ids, labels, _sigmoid(forward), threshold)


# --- a host -----------------------------------------------------------------------------------


def fit_host(
    transport: Transport,
    features: npt.ArrayLike,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    ids: Sequence[object],
    header: Sequence[str],
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
) -> Model:
    """A host's part: its model (weights, no intercept)."""
    settings = _Settings.of(params)
    _check_hosts(settings, parties)
    arbiter = parties.require_arbiter()
    timings = timings or Timings()
    channel = _Channel(transport, timeout, timings)
    guest = parties.guest
    matrix = _features(features, header, ids, "host")
    weights = initial_weights(settings, len(header))
    optimizer = Optimizer(settings, len(header), has_intercept=False)

    key = paillier.PublicKey.from_json(_json_key(channel.get_one(PAILLIER_PUBKEY, "fit", arbiter)))
    info = channel.get_one(BATCH_INFO, "fit", guest)
    if not isinstance(info, Mapping) or not isinstance(info.get("batch_num"), int):
        raise FederatedError(f"{_sender(guest)} sent a batch_info without batch_num")
    batches = [
        _row_positions(
            ids,
            _read_json_list(
                channel.get_one(BATCH_DATA_INDEX, f"fit.{index}", guest), "a batch index", guest
            ),
            guest,
        )
        for index in range(int(info["batch_num"]))
    ]
    # Obfuscators are the cost of encrypting: computed while this party would wait otherwise
    # (the forwards of a batch, and the loss's two numbers).
    key.fill_in_background(len(batches[0]) + 2)
    with_loss = len(parties.hosts) == 1
    # Each batch's sample weights, encrypted, for our share of the weighted loss.
    sample_weights = [
        _unpack_numbers(
            channel.get_one(SAMPLE_WEIGHT, f"fit.{index}", guest), key, "weights", guest, len(rows)
        )
        for index, rows in enumerate(batches)
        if with_loss and info.get("with_weight") is True
    ]
    converged = False
    iteration = 0
    x_precision = 2.0**-settings.precision_bits
    while iteration < settings.max_iter:
        started = time.perf_counter()
        start_weights = weights.copy()
        for index, rows in enumerate(batches):
            tag = f"fit.{iteration}.{index}"
            x = matrix[rows]
            forward = x @ weights
            with timings.phase("encrypt"):
                encrypted = key.encrypt_many(0.25 * forward, precision=_RESIDUAL_PRECISION)
            channel.remote(
                _pack_numbers(encrypted, key, rerandomize=False), HOST_FORWARD, tag, [guest]
            )
            if with_loss:
                if sample_weights:
                    with timings.phase("matvec"):
                        square = paillier.dot(
                            np.square(forward), sample_weights[index], precision=x_precision
                        )
                else:
                    with timings.phase("encrypt"):
                        square = key.encrypt(float(forward @ forward))
                # The guest made the weights' ciphertexts: a product of their powers must be
                # re-randomised before it goes back, or it could test guesses of u_h on it.
                channel.remote(
                    _pack_numbers([square], key, rerandomize=bool(sample_weights)),
                    LOSS_INTERMEDIATE,
                    tag,
                    [guest],
                )
                if settings.penalty != "NONE":
                    with timings.phase("encrypt"):
                        regular = key.encrypt(penalty_value(settings, weights))
                    channel.remote(
                        _pack_numbers([regular], key, rerandomize=False),
                        HOST_LOSS_REGULAR,
                        tag,
                        [guest],
                    )
            residual = _unpack_numbers(
                channel.get_one(FORE_GRADIENT, tag, guest), key, "residuals", guest, len(rows)
            )
            with timings.phase("matvec"):
                gradient = paillier.matvec(x.T, residual, precision=x_precision)
            masked_rows, masked = _mask(gradient, key)
            channel.remote(masked_rows, HOST_GRADIENT, tag, [arbiter])
            key.fill_in_background(
                _next_batch_size(batches, iteration, index, settings.max_iter) + 2
            )
            plain = _unmask(
                channel.get_one(HOST_OPTIM_GRADIENT, tag, arbiter), masked, key, arbiter
            )
            weights = optimizer.step(weights, plain / len(rows), iteration)
        if settings.early_stop == "weight_diff":
            change = weights - start_weights
            channel.remote(float(change @ change), WEIGHT_DIFF, f"fit.{iteration}", [arbiter])
        converged = _read_flag(channel.get_one(CONVERGE_FLAG, f"fit.{iteration}", arbiter), arbiter)
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if converged:
            break
    model = _param(settings, header, weights, 0.0, iteration, converged, [])
    # The guest predicts on the training data right after (flowid `train`).
    _predict_host(channel, matrix, weights, ids, guest, "train")
    return model


def predict_host(
    transport: Transport,
    features: npt.ArrayLike,
    model: Model,
    parties: Participants,
    *,
    ids: Sequence[object],
    header: Sequence[str],
    flowid: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> None:
    """A host's part of prediction: its forwards for the ids the guest asks about."""
    matrix = _features(features, header, ids, "host")
    weights = _weights_by_name(model, header, "host")
    channel = _Channel(transport, timeout, Timings())
    _predict_host(channel, matrix, weights, ids, parties.guest, flowid)


def _predict_host(
    channel: _Channel,
    matrix: Floats,
    weights: Floats,
    ids: Sequence[object],
    guest: PartyRole,
    flowid: str,
) -> None:
    wanted = _read_json_list(channel.get_one(BATCH_DATA_INDEX, flowid, guest), "ids", guest)
    rows = _row_positions(ids, wanted, guest)
    channel.remote(np.ascontiguousarray(matrix[rows] @ weights), HOST_PROB, flowid, [guest])


# --- the component ----------------------------------------------------------------------

#: FATE's meta of the arbiter's `train`/`loss` metric: one point (iteration, loss) per iteration.
LOSS_META = {"name": "loss", "metric_type": "LOSS", "unit_name": "iters", "curve_name": "loss"}


class HeteroLR:
    info = ModuleInfo(
        name="HeteroLR",
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        trained = context.input_models()
        model: dict[str, Any] | None = next(iter(trained.values()), None)
        role = context.task.role
        timings = Timings()
        if role == "arbiter":
            if model is not None:
                return  # scoring needs no key

            def on_loss(iteration: int, loss: float) -> None:
                # Recorded as it comes, as FATE does: watchers see the training advance.
                context.log_metric("train", "loss", [(iteration, loss)], LOSS_META)
                context.log.info("iteration %s: loss %.6f", iteration, loss)

            model = fit_arbiter(
                context.federation, params, parties, on_loss=on_loss, timings=timings
            )
            self._save(context, model, timings)
            return
        data, kind = learner_input(context)
        ids = data.ids.tolist()
        if role == "host":
            if model is not None:
                predict_host(
                    context.federation, data.features, model, parties, ids=ids, header=data.header
                )
            else:
                model = fit_host(
                    context.federation,
                    data.features,
                    params,
                    parties,
                    ids=ids,
                    header=data.header,
                    timings=timings,
                )
                self._save(context, model, timings)
            return
        if model is not None:
            predictions = predict_guest(
                context.federation,
                data.features,
                model,
                parties,
                ids=ids,
                header=data.header,
                labels=data.labels,
            )
        else:
            if data.labels is None:
                raise InvalidArgument(
                    "HeteroLR needs the labels at the guest: set with_label there"
                )
            model, predictions = fit_guest(
                context.federation,
                data.features,
                data.labels,
                params,
                parties,
                ids=ids,
                header=data.header,
                sample_weights=data.weights,
                timings=timings,
            )
            self._save(context, model, timings)
        context.log.info("%s rows scored (threshold %s)", len(ids), predictions.threshold)
        context.save_output_data(
            prediction_table(
                data.ids,
                predictions.labels,
                predictions.scores,
                predictions.threshold,
                kind,
                data.sid,
            )
        )

    @staticmethod
    def _save(context: TaskContext, model: dict[str, Any], timings: Timings) -> None:
        context.save_model(model)
        param = model.get("param", model)
        context.log.info(
            "trained: %s iterations, converged: %s", param.get("iters"), param.get("is_converged")
        )
        context.save_summary(
            {
                "iters": param.get("iters"),
                "is_converged": param.get("is_converged"),
                "loss_history": param.get("loss_history", []),
                # Where this party's time went, for bench/hetero_lr.py; and the CPU its task's
                # process used, every thread (the process runs this task alone).
                "seconds": timings.seconds,
                "iteration_seconds": timings.iteration_seconds,
                "cpu_seconds": time.process_time(),
            }
        )
