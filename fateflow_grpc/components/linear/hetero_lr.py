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
* Batches are FATE's (`Batches`: `shuffle`, `batch_strategy`, `masked_rate`), drawn from
  `init_param.random_seed` when it is given where FATE draws from the system's randomness.
  A mask's decoys get residuals [[0]] at the exponent of the batch's, and, with one host,
  an encrypted weight 0 in its share of the loss (the weights ride as `sample_weight`).
* L1's proximal step shrinks by alpha times the step's learning rate (FATE divides by the
  square root of an iteration count that is 0 in the first iteration).

More than two classes: FATE's one-vs-rest (`one_vs_rest.py`), the guest tells the others how
many classes there are (`aggregate_classes`, always, as FATE's does) and each class's model is
trained under tags `model_<k>.`; two classes are 0 and 1. Cross validation: `sdk/cv.py`.

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

import dataclasses
import math
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.linear import glm_params, one_vs_rest, stepwise
from fateflow_grpc.components.linear.glm_params import (
    CALCULATOR_MODES,
    SQN_DEFAULTS,
    STEPWISE_DEFAULTS,
)
from fateflow_grpc.components.sdk.checkpoint import (
    NO_CHECKPOINTS,
    Checkpoints,
    EpochEnd,
    read_save_freq,
)
from fateflow_grpc.components.sdk.computing import LOCAL_COMPUTING, Computing
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.cv import CV_DEFAULTS, FoldResult, read_cv, run_cv
from fateflow_grpc.components.sdk.learning import (
    TRAIN_KINDS,
    class_prediction_table,
    learner_input,
    prediction_table,
)
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.components.sdk.validation import (
    CALLBACK_DEFAULTS,
    LogMetric,
    Validation,
    ValidationParams,
    due,
    read_validation,
)
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
    "cv_param": CV_DEFAULTS,
    "validation_freqs": None,
    "early_stopping_rounds": None,
    "metrics": ["auc", "ks"],
    "use_first_metric_only": False,
    "is_warm_start": False,
    # FATE 1.5+'s LogisticParam and HeteroLogisticParam, the rest of them.
    "shuffle": True,
    "batch_strategy": "full",
    "masked_rate": 5,
    "sqn_param": SQN_DEFAULTS,
    "stepwise_param": STEPWISE_DEFAULTS,
    "callback_param": CALLBACK_DEFAULTS,
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
    cv = read_cv(reader)
    encrypt.choice("method", ("Paillier",))
    key_length = encrypt.raw("key_length")
    try:
        paillier.validate_key_length(key_length)
    except InvalidArgument as error:
        raise encrypt.error("key_length", key_length, f"is not usable: {error.message}") from None
    if reader.raw("optimizer") == "sqn":
        raise reader.error("optimizer", "sqn", glm_params.SQN_REFUSED)
    precision = reader.raw("floating_point_precision")
    read_validation(reader)
    read_save_freq(reader)
    reader.only("is_warm_start", False, "warm start is not implemented")
    reader.choice("multi_class", ("ovr",))
    # FATE 1.7+ runs every mode as strict (it warns and resets the others), and so do we.
    calculator.choice("mode", CALCULATOR_MODES)
    glm_params.read_sqn(reader)
    if stepwise.read(reader) is not None:
        reader.section("cv_param").only(
            "need_cv", False, "cross validation of a stepwise selection is not implemented"
        )
        if read_validation(reader).enabled:
            raise reader.error(
                "validation_freqs",
                reader.raw("validation_freqs"),
                "validation of a stepwise selection's candidates is not implemented",
            )
    batch_strategy = reader.choice("batch_strategy", ("full", "random"))
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
        "cv_param": {**dataclasses.asdict(cv), "role": reader.section("cv_param").raw("role")},
        "validation_freqs": reader.raw("validation_freqs"),
        "early_stopping_rounds": reader.raw("early_stopping_rounds"),
        "metrics": list(metrics or []),
        "use_first_metric_only": reader.boolean("use_first_metric_only"),
        "is_warm_start": False,
        "shuffle": reader.boolean("shuffle"),
        "batch_strategy": batch_strategy,
        "masked_rate": reader.number("masked_rate", minimum=0),
        "sqn_param": reader.raw("sqn_param"),
        "stepwise_param": reader.raw("stepwise_param"),
        "callback_param": reader.raw("callback_param"),
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
    batch_strategy: str = "full"
    shuffle: bool = True
    masked_rate: float = 5
    validation: ValidationParams = field(default_factory=ValidationParams)

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
            batch_strategy=p["batch_strategy"],
            shuffle=p["shuffle"],
            masked_rate=p["masked_rate"],
            validation=read_validation(ParamReader(MODULE, p, DEFAULTS)),
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


@dataclass(frozen=True)
class Batch:
    """A batch as the guest sees it: its rows, the rows the hosts are shown (the rows and, with
    `masked_rate`, decoys, in a random order), and where each row sits among those shown."""

    rows: npt.NDArray[np.intp]
    shown: npt.NDArray[np.intp]
    positions: npt.NDArray[np.intp]

    @property
    def masked(self) -> bool:
        return len(self.shown) != len(self.rows)


class Batches:
    """FATE's `MiniBatch` (`federatedml/model_selection/mini_batch.py`) over `count` rows.

    * A `batch_size` of -1 or of at least `count`: one batch of every row, every iteration.
    * `batch_strategy: full`: the rows cut into consecutive batches of `batch_size`, in the
      data's order, or reshuffled every iteration with `shuffle` (always, with a mask).
    * `batch_strategy: random`: one batch per iteration, `batch_size` rows drawn anew.
    * `masked_rate` r > 0: the hosts are shown round((1 + r) * batch_size) rows (at most all),
      the batch's and random others, so that a host cannot tell which rows a batch holds; the
      guest's residual is an encryption of 0 on the others.

    FATE draws from the system's randomness; ours from `init_param.random_seed` when it is
    given (a job can be rerun to the same numbers), else from the system's.
    """

    def __init__(self, count: int, settings: _Settings) -> None:
        self.count = count
        self.whole = settings.batch_size == -1 or settings.batch_size >= count
        self.size = count if self.whole else settings.batch_size
        self.random = not self.whole and settings.batch_strategy == "random"
        self.shown_size = (
            count if self.whole else min(count, round((1 + settings.masked_rate) * self.size))
        )
        self.shuffle = not self.whole and (settings.shuffle or self.shown_size != self.size)
        #: Whether batches change from one iteration to the next (they are then sent anew).
        self.mutable = self.random or self.shuffle
        self.num = 1 if self.whole or self.random else -(-count // self.size)
        seed = settings.random_seed if settings.random_seed is not None else secrets.randbits(64)
        self._rng = np.random.default_rng(seed)

    @property
    def masked(self) -> bool:
        """Whether the hosts are shown decoys beside each batch's rows."""
        return self.shown_size != self.size

    def sizes(self) -> list[int]:
        """Rows of each batch (the same every iteration)."""
        if self.random:
            return [self.size]
        return [min(self.size, self.count - k * self.size) for k in range(self.num)]

    def draw(self) -> list[Batch]:
        """The batches of one iteration."""
        if self.random:
            cuts = [np.sort(self._rng.choice(self.count, self.size, replace=False))]
        else:
            order = self._rng.permutation(self.count) if self.shuffle else np.arange(self.count)
            cuts = [order[k * self.size : (k + 1) * self.size] for k in range(self.num)]
        return [self._shown(rows) for rows in cuts]

    def _shown(self, rows: npt.NDArray[np.intp]) -> Batch:
        if self.shown_size == self.size:
            return Batch(rows, rows, np.arange(len(rows)))
        others = np.setdiff1d(np.arange(self.count), rows)
        decoys = self._rng.choice(others, min(len(others), self.shown_size - len(rows)), False)
        shown = self._rng.permutation(np.concatenate([rows, decoys]))
        where = {int(row): k for k, row in enumerate(shown.tolist())}
        return Batch(rows, shown, np.array([where[int(row)] for row in rows.tolist()], np.intp))


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


def _next_batch_size(plan: Batches, iteration: int, index: int, max_iter: int) -> int:
    """Rows the hosts are shown in the batch after (iteration, index); 0 after the last one."""
    if index + 1 < plan.num or iteration + 1 < max_iter:
        return plan.shown_size
    return 0


def _batch_tag(mutable: bool, iteration: int, index: int) -> str:
    """The tag of a batch's ids: `fit.<batch>` for batches drawn once, `fit.<iter>.<batch>`
    for batches drawn anew each iteration."""
    return f"fit.{iteration}.{index}" if mutable else f"fit.{index}"


def _shown_residuals(
    batch: Batch,
    residuals: Sequence[paillier.EncryptedNumber],
    decoys: Sequence[paillier.EncryptedNumber],
) -> list[paillier.EncryptedNumber]:
    """The residuals of the rows a host is shown, in its order: the batch's, and encryptions
    of 0 for the decoys, every one at the same exponent (an exponent must not tell them
    apart)."""
    if not batch.masked:
        return list(residuals)
    shown: list[paillier.EncryptedNumber | None] = [None] * len(batch.shown)
    for position, residual in zip(batch.positions.tolist(), residuals, strict=True):
        shown[position] = residual
    spare = iter(decoys)
    filled = [number if number is not None else next(spare) for number in shown]
    lowest = min(number.exponent for number in filled)
    return [number.decrease_exponent_to(lowest) for number in filled]


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
    #: One-vs-rest: the classes, and each class's probability per row (`scores` is None).
    classes: list[float] | None = None
    probabilities: Floats | None = None

    def table(self, ids: npt.NDArray[Any], kind: str, sid: str) -> pa.Table:
        """FATE's prediction table of these predictions (`type` `kind`)."""
        if self.classes is None or self.probabilities is None:
            return prediction_table(ids, self.labels, self.scores, self.threshold, kind, sid)
        return class_prediction_table(
            ids, self.labels, self.probabilities, self.classes, self.threshold, kind, sid
        )

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


def _fit_arbiter(
    transport: Transport,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    warm_start: Model | None = None,
    on_loss: Callable[[int, float], None] | None = None,
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
    epoch_end: EpochEnd | None = None,
) -> Model:
    """The arbiter's part: keys, masked decryption, losses, convergence; its model (FATE's
    arbiter model: `iters`, `loss_history`, `is_converged`, no weights).

    `on_loss(iteration, loss)` is called after each iteration that has a loss (FATE's
    `train`/`loss` metric, points (iteration, loss)); `epoch_end` after each iteration, with
    the model as it is then (ModelCheckpoint's).
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
    # A warm start goes on from the model's iterations and losses (FATE 1.7+).
    losses: list[float] = [] if warm_start is None else _warm_param(warm_start, "loss_history")
    iteration = 0 if warm_start is None else _warm_param(warm_start, "iters")
    converged = False

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
        stop = _early_stop(channel, settings, iteration, guest)
        if epoch_end is not None:
            epoch_end(
                iteration,
                partial(_param, settings, [], np.zeros(0), 0.0, iteration + 1, converged, losses),
            )
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if converged or stop is not None:
            break
    return _param(settings, [], np.zeros(0), 0.0, iteration, converged, losses)


# --- the guest --------------------------------------------------------------------------------


def _fit_guest(
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
    validate_data: Dataset | None = None,
    log_metric: LogMetric | None = None,
    warm_start: Model | None = None,
    computing: Computing = LOCAL_COMPUTING,
    data_set_prefix: str = "",
    epoch_end: EpochEnd | None = None,
) -> tuple[Model, Predictions]:
    """The guest's part: its model, and its predictions on the training data (flowid
    `train`, as FATE's training job outputs them). `sample_weights`, one per row, weigh each
    row's gradient and loss. With `validation_freqs`, the train and `validate_data` are
    scored every so many iterations, their metrics given to `log_metric` (data sets
    `<data_set_prefix>iteration_<k>`). `epoch_end` is called after each iteration, with the
    model as it is then (ModelCheckpoint's)."""
    settings = _Settings.of(params)
    validation = (
        Validation(
            settings.validation,
            "binary",
            log_metric=log_metric or (lambda *_: None),
            has_validate_data=validate_data is not None,
            data_set_prefix=data_set_prefix,
        )
        if settings.validation.enabled
        else None
    )
    best: dict[int, Floats] = {}
    data_ids = np.asarray([str(v) for v in ids], dtype=object)
    sid = "id" if validate_data is None else validate_data.sid
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
    weights = (
        initial_weights(settings, design.shape[1], labels=y, has_intercept=fit_intercept)
        if warm_start is None
        else _warm_weights(warm_start, header, fit_intercept, "guest")
    )
    optimizer = Optimizer(settings, design.shape[1], fit_intercept)
    coefficients = len(header)

    key = paillier.PublicKey.from_json(_json_key(channel.get_one(PAILLIER_PUBKEY, "fit", arbiter)))
    plan = Batches(len(ids), settings)
    # Obfuscators are the cost of encrypting: computed while this party would wait otherwise.
    key.fill_in_background(plan.size)
    with_loss = len(hosts) == 1
    # With one host, its share of the loss is a sum of u_h^2 weighed by one encrypted number a
    # row: the row's sample weight, 0 for a mask's decoy.
    with_weight = with_loss and (row_weights is not None or plan.masked)
    channel.remote(
        {
            "batch_size": plan.size,
            "batch_num": plan.num,
            "batch_mutable": plan.mutable,
            "masked_batch_size": plan.shown_size,
            "batch_sizes": plan.sizes(),
            "with_weight": with_weight,
        },
        BATCH_INFO,
        "fit",
        [*hosts, arbiter],
    )

    def send(batches: list[Batch], iteration: int) -> None:
        for index, batch in enumerate(batches):
            tag = _batch_tag(plan.mutable, iteration, index)
            channel.remote([sample_ids[k] for k in batch.shown], BATCH_DATA_INDEX, tag, hosts)
            if with_weight:
                shown_weights = np.zeros(len(batch.shown))
                shown_weights[batch.positions] = (
                    1.0 if row_weights is None else row_weights[batch.rows]
                )
                with timings.phase("encrypt"):
                    encrypted = key.encrypt_many(shown_weights, precision=_RESIDUAL_PRECISION)
                channel.remote(
                    _pack_numbers(encrypted, key, rerandomize=False), SAMPLE_WEIGHT, tag, hosts
                )

    batches = plan.draw()
    send(batches, 0)
    converged = False
    iteration = 0 if warm_start is None else _warm_param(warm_start, "iters")
    x_precision = 2.0**-settings.precision_bits
    while iteration < settings.max_iter:
        started = time.perf_counter()
        start_weights = weights.copy()
        if plan.mutable and iteration > 0:
            batches = plan.draw()
            send(batches, iteration)
        for index, batch in enumerate(batches):
            rows = batch.rows
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
                decoys = (
                    key.encrypt_many(
                        np.zeros(len(batch.shown) - len(rows)), precision=_RESIDUAL_PRECISION
                    )
                    if batch.masked
                    else []
                )
            host_forwards = [
                [shown[k] for k in batch.positions.tolist()]
                for shown in (
                    _unpack_numbers(obj, key, "forwards", host, len(batch.shown))
                    for obj, host in zip(channel.get(HOST_FORWARD, tag, hosts), hosts, strict=True)
                )
            ]
            for host_forward in host_forwards:
                if weights_b is not None:
                    with timings.phase("matvec"):
                        host_forward = [h * w for h, w in zip(host_forward, weights_b, strict=True)]
                residual = [a + b for a, b in zip(residual, host_forward, strict=True)]
            # Every [[d]] includes a fresh encryption of our half, which is what hides it from
            # a host that knows the randomness of its own term: no second obfuscator needed.
            channel.remote(
                _pack_numbers(_shown_residuals(batch, residual, decoys), key, rerandomize=False),
                FORE_GRADIENT,
                tag,
                hosts,
            )
            with timings.phase("matvec"):
                gradient = paillier.matvec(
                    x.T, residual, precision=x_precision, map_partitions=computing.map_partitions
                )
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
            key.fill_in_background(_next_batch_size(plan, iteration, index, settings.max_iter))
            plain = _unmask(
                channel.get_one(GUEST_OPTIM_GRADIENT, tag, arbiter), masked, key, arbiter
            )
            weights = optimizer.step(weights, plain / len(rows), iteration)
        if settings.early_stop == "weight_diff":
            change = weights - start_weights
            channel.remote(float(change @ change), WEIGHT_DIFF, f"fit.{iteration}", [arbiter])
        converged = _read_flag(channel.get_one(CONVERGE_FLAG, f"fit.{iteration}", arbiter), arbiter)
        stop = None
        if validation is not None and validation.due(iteration):
            best[iteration] = weights.copy()
            stop = _guest_validate(
                channel,
                validation,
                iteration,
                weights,
                fit_intercept,
                coefficients,
                hosts,
                arbiter,
                (matrix, sample_ids, original_labels, data_ids, sid),
                validate_data,
                header,
                settings.threshold,
            )
        if epoch_end is not None:
            epoch_end(
                iteration,
                partial(
                    _param,
                    settings,
                    header,
                    weights[:coefficients],
                    float(weights[-1]) if fit_intercept else 0.0,
                    iteration + 1,
                    converged,
                    [],
                ),
            )
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if stop is not None:
            weights = best[stop]
            break
        if converged:
            break
    intercept = float(weights[-1]) if fit_intercept else 0.0
    # The loss history is the arbiter's (it alone decrypts the losses), as in FATE.
    model = _param(settings, header, weights[:coefficients], intercept, iteration, converged, [])
    if validation is not None:
        model["param"]["best_iteration"] = validation.best_round
        model["validation_metrics"] = validation.summary()
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


@dataclass(frozen=True)
class _BatchInfo:
    """What the guest tells of its batches (FATE's `batch_info`, and ours: `batch_sizes`,
    `with_weight`)."""

    batch_num: int
    mutable: bool
    sizes: list[int]
    with_weight: bool


def _read_batch_info(obj: object, guest: PartyRole) -> _BatchInfo:
    if not isinstance(obj, Mapping) or not isinstance(obj.get("batch_num"), int):
        raise FederatedError(f"{_sender(guest)} sent a batch_info without batch_num")
    sizes = obj.get("batch_sizes")
    if (
        not isinstance(sizes, list)
        or len(sizes) != obj["batch_num"]
        or not all(isinstance(size, int) and size > 0 for size in sizes)
    ):
        raise FederatedError(f"{_sender(guest)} sent a batch_info without its batch sizes")
    return _BatchInfo(
        obj["batch_num"], obj.get("batch_mutable") is True, sizes, obj.get("with_weight") is True
    )


#: Whether training stops, and the iteration whose model is kept (ours, after FATE's
#: `validation_status`): the guest tells the others after each scored iteration.
VALIDATION_STATUS = "ValidationStrategyVariable.validation_status"


def _early_stop(
    channel: _Channel, settings: _Settings, iteration: int, guest: PartyRole
) -> int | None:
    """At a host or the arbiter: the iteration to go back to when the guest's validation
    stops training after `iteration`, else None."""
    validation = settings.validation
    if validation.early_stopping_rounds is None or not due(validation, iteration):
        return None
    status = channel.get_one(VALIDATION_STATUS, f"validate.{iteration}", guest)
    if not isinstance(status, Mapping) or not isinstance(status.get("stop"), bool):
        raise FederatedError(f"{_sender(guest)} sent a validation_status without stop")
    if not status["stop"]:
        return None
    best = status.get("best")
    if not isinstance(best, int) or isinstance(best, bool) or not 0 <= best <= iteration:
        raise FederatedError(f"{_sender(guest)} sent a validation_status without its best")
    return best


def _guest_validate(
    channel: _Channel,
    validation: Validation,
    iteration: int,
    weights: Floats,
    fit_intercept: bool,
    coefficients: int,
    hosts: Sequence[PartyRole],
    arbiter: PartyRole,
    train: tuple[Floats, list[str], Floats, npt.NDArray[Any], str],
    validate_data: Dataset | None,
    header: Sequence[str],
    threshold: float,
) -> int | None:
    """Score the train and validate data with this iteration's weights, log their metrics,
    and tell the others whether to stop; the iteration to go back to when stopping."""
    intercept = float(weights[-1]) if fit_intercept else 0.0
    matrix, sample_ids, labels, data_ids, sid = train
    scored = _predict_guest(
        channel,
        matrix,
        weights[:coefficients],
        intercept,
        hosts,
        sample_ids,
        labels,
        threshold,
        f"validate.{iteration}.train",
    )
    tables = {"train": scored.table(data_ids, "train", sid)}
    if validate_data is not None:
        validate_ids = [str(v) for v in validate_data.ids.tolist()]
        features = _validate_features(validate_data, header, "guest")
        checked = _predict_guest(
            channel,
            features,
            weights[:coefficients],
            intercept,
            hosts,
            validate_ids,
            None if validate_data.labels is None else validate_data.labels.astype(np.float64),
            threshold,
            f"validate.{iteration}.validate",
        )
        tables["validate"] = checked.table(validate_data.ids, "validate", validate_data.sid)
    validation.score(iteration, train=tables["train"], validate=tables.get("validate"))
    if validation.params.early_stopping_rounds is None:
        return None
    status = {"stop": validation.stop, "best": validation.best_round}
    channel.remote(status, VALIDATION_STATUS, f"validate.{iteration}", [*hosts, arbiter])
    return validation.best_round if validation.stop else None


def _warm_param(model: Model, name: str) -> Any:
    """A field of the model a warm start goes on from (FATE 1.7+: a model input beside
    train_data), checked."""
    param = model.get("param") if isinstance(model, Mapping) else None
    if not isinstance(param, Mapping) or param.get("need_one_vs_rest"):
        raise InvalidArgument(
            f"{MODULE}: a warm start goes on from a binary HeteroLR model (one-vs-rest models "
            "cannot be warm started here)"
        )
    value = param.get(name, [] if name == "loss_history" else 0)
    if name == "iters" and (not isinstance(value, int) or value < 0):
        raise InvalidArgument(f"{MODULE}: the warm start's model has no iteration count")
    return list(value) if name == "loss_history" else value


def _warm_weights(model: Model, header: Sequence[str], intercept: bool, role: str) -> Floats:
    _warm_param(model, "iters")
    weights = _weights_by_name(model, header, role)
    if intercept:
        weights = np.append(weights, float(model["param"].get("intercept", 0.0)))
    return weights


def _validate_features(data: Dataset, header: Sequence[str], role: str) -> Floats:
    """The validate data's features in the training header's order."""
    missing = [name for name in header if name not in data.header]
    if missing:
        raise InvalidArgument(
            f"{MODULE} at the {role}: validate_data lacks the features {', '.join(missing[:5])}"
        )
    columns = [data.header.index(name) for name in header]
    return _features(data.features[:, columns], header, data.ids.tolist(), role)


def _json_key(obj: object) -> Mapping[str, object]:
    if not isinstance(obj, Mapping):
        raise FederatedError("the arbiter sent a Paillier public key that is not {'n': <int>}")
    return obj


def _read_flag(obj: object, sender: PartyRole) -> bool:
    if not isinstance(obj, bool):
        raise FederatedError(f"{_sender(sender)} sent a converge_flag that is not a boolean")
    return obj


def _predict_binary_guest(
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


def _fit_host(
    transport: Transport,
    features: npt.ArrayLike,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    ids: Sequence[object],
    header: Sequence[str],
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
    validate_data: Dataset | None = None,
    warm_start: Model | None = None,
    computing: Computing = LOCAL_COMPUTING,
    epoch_end: EpochEnd | None = None,
) -> Model:
    """A host's part: its model (weights, no intercept). With `validation_freqs`, its
    forwards of the train and `validate_data` rows the guest scores; `epoch_end` as the
    guest's."""
    best: dict[int, Floats] = {}
    settings = _Settings.of(params)
    _check_hosts(settings, parties)
    arbiter = parties.require_arbiter()
    timings = timings or Timings()
    channel = _Channel(transport, timeout, timings)
    guest = parties.guest
    matrix = _features(features, header, ids, "host")
    weights = (
        initial_weights(settings, len(header))
        if warm_start is None
        else _warm_weights(warm_start, header, False, "host")
    )
    optimizer = Optimizer(settings, len(header), has_intercept=False)

    key = paillier.PublicKey.from_json(_json_key(channel.get_one(PAILLIER_PUBKEY, "fit", arbiter)))
    info = _read_batch_info(channel.get_one(BATCH_INFO, "fit", guest), guest)
    with_loss = len(parties.hosts) == 1

    def receive(iteration: int) -> list[tuple[list[int], list[paillier.EncryptedNumber]]]:
        """Each batch's rows as shown, and their encrypted weights for the loss (if any)."""
        batches = []
        for index in range(info.batch_num):
            tag = _batch_tag(info.mutable, iteration, index)
            wanted = _read_json_list(
                channel.get_one(BATCH_DATA_INDEX, tag, guest), "a batch index", guest
            )
            rows = _row_positions(ids, wanted, guest)
            weights = (
                _unpack_numbers(
                    channel.get_one(SAMPLE_WEIGHT, tag, guest), key, "weights", guest, len(rows)
                )
                if info.with_weight and with_loss
                else []
            )
            batches.append((rows, weights))
        return batches

    batches = receive(0)
    # Obfuscators are the cost of encrypting: computed while this party would wait otherwise
    # (the forwards of a batch, and the loss's two numbers).
    key.fill_in_background(len(batches[0][0]) + 2)
    converged = False
    iteration = 0 if warm_start is None else _warm_param(warm_start, "iters")
    x_precision = 2.0**-settings.precision_bits
    while iteration < settings.max_iter:
        started = time.perf_counter()
        start_weights = weights.copy()
        if info.mutable and iteration > 0:
            batches = receive(iteration)
        for index, (rows, sample_weights) in enumerate(batches):
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
                            np.square(forward), sample_weights, precision=x_precision
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
                gradient = paillier.matvec(
                    x.T, residual, precision=x_precision, map_partitions=computing.map_partitions
                )
            masked_rows, masked = _mask(gradient, key)
            channel.remote(masked_rows, HOST_GRADIENT, tag, [arbiter])
            more = index + 1 < info.batch_num or iteration + 1 < settings.max_iter
            key.fill_in_background(len(rows) + 2 if more else 0)
            plain = _unmask(
                channel.get_one(HOST_OPTIM_GRADIENT, tag, arbiter), masked, key, arbiter
            )
            # The mean over the batch's rows, which a mask's decoys are not.
            weights = optimizer.step(weights, plain / info.sizes[index], iteration)
        if settings.early_stop == "weight_diff":
            change = weights - start_weights
            channel.remote(float(change @ change), WEIGHT_DIFF, f"fit.{iteration}", [arbiter])
        converged = _read_flag(channel.get_one(CONVERGE_FLAG, f"fit.{iteration}", arbiter), arbiter)
        stop = None
        if settings.validation.enabled and due(settings.validation, iteration):
            best[iteration] = weights.copy()
            _predict_host(channel, matrix, weights, ids, guest, f"validate.{iteration}.train")
            if validate_data is not None:
                _predict_host(
                    channel,
                    _validate_features(validate_data, header, "host"),
                    weights,
                    validate_data.ids.tolist(),
                    guest,
                    f"validate.{iteration}.validate",
                )
            stop = _early_stop(channel, settings, iteration, guest)
        if epoch_end is not None:
            epoch_end(
                iteration,
                partial(_param, settings, header, weights, 0.0, iteration + 1, converged, []),
            )
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if stop is not None:
            weights = best[stop]
            break
        if converged:
            break
    model = _param(settings, header, weights, 0.0, iteration, converged, [])
    # The guest predicts on the training data right after (flowid `train`).
    _predict_host(channel, matrix, weights, ids, guest, "train")
    return model


def _predict_binary_host(
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


# --- one-vs-rest: the roles' entry points -------------------------------------------------------


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
    validate_data: Dataset | None = None,
    log_metric: LogMetric | None = None,
    warm_start: Model | None = None,
    computing: Computing = LOCAL_COMPUTING,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> tuple[Model, Predictions]:
    """The guest's part: its model, and its predictions on the training data (flowid
    `train`, as FATE's training job outputs them). `warm_start`: a model of an earlier job
    whose iterations go on (FATE 1.7+); `checkpoints`: ModelCheckpoint's. `sample_weights`, one per row, weigh each
    row's gradient and loss; `validate_data` and `log_metric` are for validation during
    training (`validation_freqs`). With more than two classes, one model per class
    (`one_vs_rest.py`); the guest tells the others how many classes there are, always, as
    FATE's does."""
    settings = _Settings.of(params)
    _check_hosts(settings, parties)
    original = np.asarray(labels, dtype=np.float64)
    classes = one_vs_rest.classes_of(original)
    if len(classes) <= 2:
        _binary_labels(original)
    others = [*parties.hosts, parties.require_arbiter()]
    transport.remote(len(classes), one_vs_rest.AGGREGATE_CLASSES, "fit", others)
    if len(classes) <= 2:
        return _fit_guest(
            transport,
            features,
            labels,
            params,
            parties,
            ids=ids,
            header=header,
            sample_weights=sample_weights,
            timeout=timeout,
            timings=timings,
            validate_data=validate_data,
            log_metric=log_metric,
            warm_start=warm_start,
            computing=computing,
            epoch_end=checkpoints.epoch_end,
        )
    if warm_start is not None:
        raise InvalidArgument(f"{MODULE}: one-vs-rest models cannot be warm started here")
    models, scores = [], []
    for index, label in enumerate(classes):
        # As FATE's: each class's model validates on the validate data's labels as that class
        # against the rest, its metrics under the data sets `model_<k>.iteration_<i>`.
        model, predictions = _fit_guest(
            one_vs_rest.sub_transport(transport, index),
            features,
            (original == label).astype(np.float64),
            params,
            parties,
            ids=ids,
            header=header,
            sample_weights=sample_weights,
            timeout=timeout,
            timings=timings,
            validate_data=one_vs_rest.as_class(validate_data, label),
            log_metric=log_metric,
            computing=computing,
            data_set_prefix=f"model_{index}.",
            epoch_end=checkpoints.of_class(index),
        )
        models.append(model["param"])
        scores.append(predictions.scores)
    probabilities = np.column_stack(scores)
    return one_vs_rest.model_of(settings.meta(), header, models, classes), _class_predictions(
        [str(v) for v in ids], original, probabilities, classes, settings.threshold
    )


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
    validate_data: Dataset | None = None,
    warm_start: Model | None = None,
    computing: Computing = LOCAL_COMPUTING,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> Model:
    """A host's part: its model (weights, no intercept; one per class with more than two).
    `validate_data`: its part of the rows the guest validates on (`validation_freqs`)."""
    _check_hosts(_Settings.of(params), parties)
    count = _class_count(transport, parties.guest, timeout)
    if count <= 2:
        return _fit_host(
            transport,
            features,
            params,
            parties,
            ids=ids,
            header=header,
            timeout=timeout,
            timings=timings,
            validate_data=validate_data,
            warm_start=warm_start,
            computing=computing,
            epoch_end=checkpoints.epoch_end,
        )
    if warm_start is not None:
        raise InvalidArgument(f"{MODULE}: one-vs-rest models cannot be warm started here")
    models = [
        _fit_host(
            one_vs_rest.sub_transport(transport, index),
            features,
            params,
            parties,
            ids=ids,
            header=header,
            timeout=timeout,
            timings=timings,
            validate_data=validate_data,
            computing=computing,
            epoch_end=checkpoints.of_class(index),
        )["param"]
        for index in range(count)
    ]
    return one_vs_rest.model_of(_Settings.of(params).meta(), header, models, list(range(count)))


def fit_arbiter(
    transport: Transport,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    on_loss: Callable[[int, float], None] | None = None,
    on_class_loss: Callable[[int, int, float], None] | None = None,
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
    warm_start: Model | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> Model:
    """The arbiter's part: keys, masked decryption, losses, convergence; its model (FATE's
    arbiter model: `iters`, `loss_history`, `is_converged`, no weights).

    `on_loss(iteration, loss)` is called after each iteration that has a loss (FATE's
    `train`/`loss` metric, points (iteration, loss)); with one-vs-rest,
    `on_class_loss(class index, iteration, loss)` instead.
    """
    _check_hosts(_Settings.of(params), parties)
    count = _class_count(transport, parties.guest, timeout)
    if count <= 2:
        return _fit_arbiter(
            transport,
            params,
            parties,
            warm_start=warm_start,
            on_loss=on_loss,
            timeout=timeout,
            timings=timings,
            epoch_end=checkpoints.epoch_end,
        )
    if warm_start is not None:
        raise InvalidArgument(f"{MODULE}: one-vs-rest models cannot be warm started here")
    models = []
    for index in range(count):

        def class_loss(iteration: int, loss: float, index: int = index) -> None:
            if on_class_loss is not None:
                on_class_loss(index, iteration, loss)

        models.append(
            _fit_arbiter(
                one_vs_rest.sub_transport(transport, index),
                params,
                parties,
                on_loss=class_loss,
                timeout=timeout,
                timings=timings,
                epoch_end=checkpoints.of_class(index),
            )["param"]
        )
    return one_vs_rest.model_of(_Settings.of(params).meta(), [], models, list(range(count)))


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
    parts = one_vs_rest.binary_models(model)
    if parts is None:
        return _predict_binary_guest(
            transport,
            features,
            model,
            parties,
            ids=ids,
            header=header,
            labels=labels,
            threshold=threshold,
            flowid=flowid,
            timeout=timeout,
        )
    classes, models = parts
    scores = [
        _predict_binary_guest(
            one_vs_rest.sub_transport(transport, index),
            features,
            part,
            parties,
            ids=ids,
            header=header,
            flowid=flowid,
            timeout=timeout,
        ).scores
        for index, part in enumerate(models)
    ]
    return _class_predictions(
        [str(v) for v in ids],
        None if labels is None else np.asarray(labels, dtype=np.float64),
        np.column_stack(scores),
        classes,
        0.5 if threshold is None else threshold,
    )


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
    parts = one_vs_rest.binary_models(model)
    models = (
        [(transport, model)]
        if parts is None
        else [
            (one_vs_rest.sub_transport(transport, index), part)
            for index, part in enumerate(parts[1])
        ]
    )
    for channel, part in models:
        _predict_binary_host(
            channel,
            features,
            part,
            parties,
            ids=ids,
            header=header,
            flowid=flowid,
            timeout=timeout,
        )


def _class_predictions(
    ids: list[str],
    labels: Floats | None,
    probabilities: Floats,
    classes: list[float],
    threshold: float,
) -> Predictions:
    return Predictions(ids, labels, probabilities.max(axis=1), threshold, classes, probabilities)


def _class_count(transport: Transport, guest: PartyRole, timeout: float) -> int:
    [count] = transport.get(one_vs_rest.AGGREGATE_CLASSES, "fit", [guest], timeout)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FederatedError(f"{_sender(guest)} sent a class count that is not a whole number")
    return count


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
        # FATE 1.7's warm start: a model and train_data go on training; a model alone predicts
        # (the arbiter, which has no data, reads what the DSL gives the component).
        training = (
            context.job_parameters.get("job_type") != "predict"
            and "train_data" in context.declared_inputs
            if role == "arbiter"
            else learner_input(context)[1] == "train"
        )
        warm_start, model = (model, None) if training else (None, model)
        reader = ParamReader(MODULE, params, DEFAULTS)
        cv = read_cv(reader)
        checkpoints = Checkpoints.of(reader, context.save_checkpoint)
        if cv.need_cv and model is None and warm_start is None:
            data = None if role == "arbiter" else learner_input(context)[0]
            multi = (
                data is not None
                and data.labels is not None
                and (len(one_vs_rest.classes_of(data.labels)) > 2)
            )
            run_cv(
                context,
                cv,
                lambda transport, fold, train, test: self._fold(
                    context, params, parties, transport, fold, train, test
                ),
                mode="hetero",
                data=data,
                eval_type="multi" if multi else "binary",
                metric_names=params["metrics"],
            )
            return
        selection = stepwise.read(reader)
        if selection is not None and training:
            if warm_start is not None:
                raise InvalidArgument(f"{MODULE}: a stepwise selection cannot be warm started")
            self._select(context, params, parties, selection)
            return
        if role == "arbiter":
            if not training:
                return  # scoring needs no key
            on_loss, on_class_loss = _loss_loggers(context, "loss")
            model = fit_arbiter(
                context.federation,
                params,
                parties,
                on_loss=on_loss,
                on_class_loss=on_class_loss,
                timings=timings,
                warm_start=warm_start,
                checkpoints=checkpoints,
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
                    validate_data=_validate_input(context),
                    warm_start=warm_start,
                    computing=context.computing,
                    checkpoints=checkpoints,
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
                validate_data=_validate_input(context),
                log_metric=context.log_metric,
                warm_start=warm_start,
                computing=context.computing,
                checkpoints=checkpoints,
            )
            self._save(context, model, timings)
        context.log.info("%s rows scored (threshold %s)", len(ids), predictions.threshold)
        context.save_output_data(predictions.table(data.ids, kind, data.sid))

    def _select(
        self,
        context: TaskContext,
        params: Mapping[str, Any],
        parties: Participants,
        selection: stepwise.Settings,
    ) -> None:
        """FATE's hetero stepwise (`stepwise.py`): every candidate a binary HeteroLR of its
        own, scored by the arbiter from its last loss; the model kept, and the guest's
        predictions with it."""
        settings = _Settings.of(params)
        timings = Timings()
        if context.task.role == "arbiter":
            model = stepwise.arbiter_search(
                selection,
                context.federation,
                parties,
                lambda transport: _fit_arbiter(transport, params, parties, timings=timings),
                lambda fitted: (fitted["param"]["loss_history"] or [None])[-1],
                False,
                context.log_metric,
                settings.fit_intercept,
                GET_TIMEOUT_S,
            )
            self._save(
                context, model or _param(settings, [], np.zeros(0), 0.0, 0, False, []), timings
            )
            return
        data, kind = learner_input(context)
        ids, header = data.ids.tolist(), data.header
        if context.task.role == "host":
            fitted, _ = stepwise.client_search(
                selection,
                context.federation,
                parties,
                context.local,
                header,
                len(ids),
                lambda transport, columns: _fit_host(
                    transport,
                    data.features[:, columns],
                    params,
                    parties,
                    ids=ids,
                    header=[header[k] for k in columns],
                    timings=timings,
                ),
                context.log_metric,
                False,  # a host has no intercept
                GET_TIMEOUT_S,
            )
            if fitted is None:
                raise InvalidArgument(f"{MODULE}: the stepwise selection kept no feature")
            self._save(context, fitted, timings)
            return
        if data.labels is None:
            raise InvalidArgument("HeteroLR needs the labels at the guest: set with_label there")
        if len(one_vs_rest.classes_of(data.labels)) > 2:
            raise InvalidArgument(
                f"{MODULE}: stepwise selection of one-vs-rest models is not implemented"
            )
        labels = data.labels
        found, _ = stepwise.client_search(
            selection,
            context.federation,
            parties,
            context.local,
            header,
            len(ids),
            lambda transport, columns: _fit_guest(
                transport,
                data.features[:, columns],
                labels,
                params,
                parties,
                ids=ids,
                header=[header[k] for k in columns],
                sample_weights=data.weights,
                timings=timings,
            ),
            context.log_metric,
            settings.fit_intercept,
            GET_TIMEOUT_S,
        )
        if found is None:
            raise InvalidArgument(f"{MODULE}: the stepwise selection kept no feature")
        model, predictions = found
        self._save(context, model, timings)
        context.save_output_data(predictions.table(data.ids, kind, data.sid))

    @staticmethod
    def _fold(
        context: TaskContext,
        params: Mapping[str, Any],
        parties: Participants,
        transport: Transport,
        fold: int,
        train: Dataset | None,
        test: Dataset | None,
    ) -> FoldResult:
        """One fold of cross validation at this party: FATE's loss curve `loss.<fold>`."""
        if train is None or test is None:
            on_loss, on_class_loss = _loss_loggers(context, f"loss.{fold}", str(fold))
            model = fit_arbiter(
                transport, params, parties, on_loss=on_loss, on_class_loss=on_class_loss
            )
            return FoldResult(summary=_fit_summary(model))
        if context.task.role == "host":
            model = fit_host(
                transport,
                train.features,
                params,
                parties,
                ids=train.ids.tolist(),
                header=train.header,
                validate_data=test,
            )
            predict_host(
                transport, test.features, model, parties, ids=test.ids.tolist(), header=test.header
            )
            return FoldResult(summary=_fit_summary(model))
        if train.labels is None:
            raise InvalidArgument("HeteroLR needs the labels at the guest: set with_label there")
        model, fitted = fit_guest(
            transport,
            train.features,
            train.labels,
            params,
            parties,
            ids=train.ids.tolist(),
            header=train.header,
            sample_weights=train.weights,
            # FATE's folds validate on their test rows (its fit(train, test)).
            validate_data=test,
            log_metric=context.log_metric,
        )
        scored = predict_guest(
            transport,
            test.features,
            model,
            parties,
            ids=test.ids.tolist(),
            header=test.header,
            labels=test.labels,
        )
        return FoldResult(
            fitted.table(train.ids, "train", train.sid),
            scored.table(test.ids, "validate", test.sid),
            _fit_summary(model),
        )

    @staticmethod
    def _save(context: TaskContext, model: dict[str, Any], timings: Timings) -> None:
        validation_metrics = model.pop("validation_metrics", None)
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
                **(
                    {} if validation_metrics is None else {"validation_metrics": validation_metrics}
                ),
                "best_iteration": param.get("best_iteration", -1),
            }
        )


def _fit_summary(model: Model) -> dict[str, Any]:
    param = model.get("param", model)
    return {
        "iters": param.get("iters"),
        "is_converged": param.get("is_converged"),
        "loss_history": param.get("loss_history", []),
    }


def _loss_loggers(
    context: TaskContext, name: str, curve: str | None = None
) -> tuple[Callable[[int, float], None], Callable[[int, int, float], None]]:
    """The arbiter's loss metric, recorded as it comes, as FATE does (watchers see the
    training advance): `name` (FATE's `loss`, `loss.<fold>` in a fold), and with one-vs-rest
    `<name>.model_<k>` for the k-th class's model (ours: FATE mixes them in one curve)."""

    def on_loss(iteration: int, loss: float) -> None:
        meta = LOSS_META if curve is None else {**LOSS_META, "curve_name": curve}
        context.log_metric("train", name, [(iteration, loss)], meta)
        context.log.info("iteration %s: loss %.6f", iteration, loss)

    def on_class_loss(index: int, iteration: int, loss: float) -> None:
        metric = f"{name}.model_{index}"
        context.log_metric(
            "train", metric, [(iteration, loss)], {**LOSS_META, "curve_name": metric}
        )
        context.log.info("class %s, iteration %s: loss %.6f", index, iteration, loss)

    return on_loss, on_class_loss


def _validate_input(context: TaskContext) -> Dataset | None:
    tables = context.input_tables("validate_data")
    return Dataset.from_table(tables[0]) if tables else None
