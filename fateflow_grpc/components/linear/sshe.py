"""What HeteroSSHELR and HeteroSSHELinR share (FATE 1.8+'s `hetero_sshe_linear_model`): a
linear model on features split between a guest (labels) and one host, trained with additive
secret sharing and Paillier encryption, no arbiter.

    result = fit_guest(transport, data, params, parties, LOGISTIC)   # the guest
    result = fit_host(transport, data, params, parties, LOGISTIC)    # the host
    scores = predict_guest(transport, data, model, parties, LOGISTIC)
    predict_host(transport, data, model, parties)

Each party has its own Paillier key pair ([[.]]_G, [[.]]_H) and sends the other its public key.
Values are fixed-point integers with `secret_sharing.FRACTION_BITS` (f) fractional bits, ring
shares live in Z_2^128 (`crypto/secret_sharing.py`). Per iteration i and batch b (tags
`fit.i.b.<step>`), for the m rows of the batch (ids sorted as strings, cut every `batch_size`
rows and sent to the host once, as FATE's batch generator does):

1. Forward. The parties end with integers a (guest) and b (host), a + b = Z, the batch's
   forward z = X_g w_g + X_h w_h at scale 2^s.
   * `reveal_every_iter: true`: each party knows its weights; a = X_g w_g, b = X_h w_h (s = f).
   * `reveal_every_iter: false` (FATE's default): the weights are shared, <w_g> and <w_h>. Each
     party sends the other its share of the other's weights encrypted; the guest computes
     [[X_g w_g]]_H = X_g [[w_g^H]] + X_g (w_g^G - 2^128), exactly (`integer_sum`), the host
     [[X_h w_h]]_G likewise; each masks its product (`mask_integers`) and the other decrypts,
     so that a = (X_h w_h + r_H) - r_G and b = (X_g w_g + r_G) - r_H (s = 2f).
   The host sends [[b]]_H and [[sum b^2]]_H (FATE's `share_encrypted_matrix`), and the guest
   has [[Z]]_H = [[b]] + a.
2. Residual. The guest computes [[E]]_H, the residual d at some scale (the objective's: LR's
   d = z / 4 + 1 / 2 - y, LinR's d = z - y; times the sample weight, if any) and shares it:
   d^G, d^H (`mask`, dividing to scale f on the way).
3. Gradients, both as shares at scale f: the guest's, X_g^T [[E]] / m, masked and divided
   in one step; the host's, from [[d^G]]_G sent by the guest: [[X_h^T d]]_G = X_h^T [[d^G]]
   + X_h^T (d^H - 2^128), masked, divided by m 2^f.
4. Loss, for the guest: it builds [[numerator]]_H of the objective's Taylor loss from a,
   [[b]] and [[sum b^2]] (`Objective.loss_terms`), masks it, and the host decrypts it and
   sends it back (plus its own penalty, scaled, when it knows its weights).
5. Update. `reveal_every_iter: true`: each party gets its gradient (the other sends its share,
   FATE's `reveal_models`) and runs FATE's optimizer (`linear/optimizer.py`). `false`: both run
   sgd (or nesterov momentum sgd) on their shares, w <- w - lr (g + alpha w), multiplications
   by public numbers divided locally (`secret_sharing.divide`).
6. Convergence after each iteration: `diff` and `abs` on the guest's loss (`is_converged` to
   the host); `weight_diff` on ||w_i - w_(i-1)||: with revealed weights, the host sends its
   part (`square_sum`) and the guest decides (`converge_info`); with shared weights, the square
   norm is computed on shares and revealed to both.

After training, shared weights are revealed (`reveal_strategy`): `respectively`, each party
its own; `encrypted_reveal_in_host`, the guest its own and the host [[w_h]]_G, encrypted under
the guest's key, which the guest keeps in its model (FATE's `cipher`) to decrypt the host's
[[X_h w_h]] at prediction. Prediction (and the training data's, after fitting) is FATE's:
the host sends X_h w_h for the ids the guest names (`host_prob`), in plaintext or encrypted.

Validation during training (`validation_freqs`, `early_stopping_rounds`, `metrics`,
`use_first_metric_only`, top-level or in `callback_param`; `sdk/validation.py`, eval type
binary or regression): after a due iteration i the guest scores the training rows and the
`validate_data` rows (flowids `validate.<i>.train`, `.validate`) and logs FATE's metrics
(data sets `iteration_<i>`). With revealed weights, by prediction's protocol; with shared
weights, by step 1 on those rows, after which the host sends its share b of the forward:
the guest learns the forwards (what prediction shows it), neither party a weight. Early
stopping: the guest tells the host whether to stop and the best iteration
(`validation_status`), and both keep the weights (or shares) of that iteration.

More than two classes (HeteroSSHELR): FATE's one-vs-rest (`one_vs_rest.py`), one binary
model per class under the flowid `model_<k>`, the guest telling the host how many classes
there are. Cross validation (`cv_param`, `sdk/cv.py`): each fold trains and validates as
above. ModelCheckpoint (`sdk/checkpoint.py`): after every `save_freq`-th iteration each party
keeps its model as training would leave it then; shared weights are revealed for it as the
final ones are (`reveal_strategy`), so each party learns its own weights at those iterations
(or, the host, them encrypted). Warm start is not implemented yet.

What each party sees: ciphertexts under the other's key, masked values and shares (uniform to
it), its own gradient (with revealed weights), and, the guest, the loss (with the host's
penalty inside) and the host's squared weight change (`weight_diff` with revealed weights), as
in FATE. No feature, label, forward or residual crosses in the clear; predictions do, as in
FATE's prediction. See docs/security.md.

FATE's quirks kept: with shared weights, L2 penalises the intercept too (FATE applies it to
the whole shared vector); the loss ignores sample weights; `use_mix_rand`,
`encrypted_mode_calculator_param`, `shuffle`, `batch_strategy`, `masked_rate` and
`floating_point_precision` change nothing (FATE's SSHE does not read them; randomness here is
always fresh). Departure: L1 shrinks by alpha times the step's learning rate (`optimizer`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.crypto import secret_sharing as ss
from fateflow_grpc.components.linear import one_vs_rest
from fateflow_grpc.components.linear.optimizer import (
    INIT_METHODS,
    MOMENTUM,
    OPTIMIZERS,
    Optimizer,
    Rule,
    initial_weights,
    penalty_value,
)
from fateflow_grpc.components.sdk.checkpoint import (
    NO_CHECKPOINTS,
    Checkpoints,
    EpochEnd,
    read_save_freq,
)
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.cv import CV_DEFAULTS, FoldResult, read_cv, run_cv
from fateflow_grpc.components.sdk.learning import class_prediction_table, learner_input
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
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers

F = ss.FRACTION_BITS
RING = ss.RING

PUBLIC_KEY = "SSHEModelTransferVariable.public_key"  # ours: FATE's objects carry their key
HOST_PROB = "SSHEModelTransferVariable.host_prob"
LOSS = "SSHEModelTransferVariable.loss"
IS_CONVERGED = "SSHEModelTransferVariable.is_converged"
BATCH_INFO = "BatchGeneratorTransferVariable.batch_info"
BATCH_DATA_INDEX = "BatchGeneratorTransferVariable.batch_data_index"
SHARE = "SecretShareTransferVariable.share"
ENCRYPTED = "SecretShareTransferVariable.encrypted_share_matrix"
RECONSTRUCT = "SecretShareTransferVariable.rescontruct"  # FATE's spelling
SQUARE_SUM = "ConvergeCheckerTransferVariable.square_sum"
CONVERGE_INFO = "ConvergeCheckerTransferVariable.converge_info"
#: Whether training stops, and the iteration whose model is kept (ours, after FATE's
#: `validation_status`): the guest tells the host after each scored iteration.
VALIDATION_STATUS = "ValidationStrategyVariable.validation_status"

EARLY_STOPS = ("diff", "weight_diff", "abs")
REVEAL_STRATEGIES = ("respectively", "encrypted_reveal_in_host")
#: FATE's `consts.MIN_BATCH_SIZE`.
MIN_BATCH_SIZE = 10

Floats = npt.NDArray[np.float64]
Model = dict[str, Any]
Encrypted = list[paillier.EncryptedNumber]


# --- parameters -------------------------------------------------------------------------------


def defaults(
    *, optimizer: str, max_iter: int, classifier: bool, encrypt_method: str | None = "Paillier"
) -> dict[str, Any]:
    """FATE 1.11's HeteroSSHELRParam (`classifier`, over LogisticParam) or HeteroSSHELinRParam
    (over LinearModelParam): every name they accept, with FATE's default."""
    table: dict[str, Any] = {
        "penalty": "L2",
        "tol": 1e-4,
        "alpha": 1.0,
        "optimizer": optimizer,
        "batch_size": -1,
        "learning_rate": 0.01,
        "init_param": {
            "init_method": "random_uniform",
            "init_const": 1,
            "fit_intercept": True,
            "random_seed": None,
        },
        "max_iter": max_iter,
        "early_stop": "diff",
        "encrypt_param": {"method": encrypt_method, "key_length": 1024},
        "cv_param": CV_DEFAULTS,
        "decay": 1,
        "decay_sqrt": True,
        "validation_freqs": None,
        "early_stopping_rounds": None,
        "stepwise_param": {
            "score_name": "AIC",
            "mode": "hetero",
            "role": "guest",
            "direction": "both",
            "max_step": 10,
            "nvmin": 2,
            "nvmax": None,
            "need_stepwise": False,
        },
        "metrics": None,
        "use_first_metric_only": False,
        "floating_point_precision": 23,
        "callback_param": {
            "callbacks": [],
            "validation_freqs": None,
            "early_stopping_rounds": None,
            "metrics": [],
            "use_first_metric_only": False,
            "save_freq": 1,
        },
        "encrypted_mode_calculator_param": {"mode": "strict", "re_encrypted_rate": 1},
        "use_mix_rand": True,
        "reveal_strategy": "respectively",
        "reveal_every_iter": False,
    }
    if classifier:
        table |= {
            "shuffle": True,
            "batch_strategy": "full",
            "masked_rate": 5,
            "predict_param": {"threshold": 0.5},
            "multi_class": "ovr",
        }
    return table


def validate(
    module: str,
    params: Mapping[str, Any] | None,
    table: Mapping[str, Any],
    *,
    revealed_optimizers: Sequence[str],
    shared_optimizers: Sequence[str],
) -> dict[str, Any]:
    """FATE's checks of the SSHE parameter classes; the values the protocol reads, normalised.
    InvalidArgument names the first parameter that is wrong or asks for what is lacking."""
    reader = ParamReader(module, params, table)
    reveal_every_iter = reader.boolean("reveal_every_iter")
    penalty = (
        "NONE" if reader.raw("penalty") is None else reader.choice("penalty", ("L1", "L2", "NONE"))
    )
    if not reveal_every_iter and penalty == "L1":
        raise reader.error(
            "penalty", reader.raw("penalty"), "must be L2 or none when reveal_every_iter is false"
        )
    optimizer_name = str(reader.raw("optimizer")).lower()
    if optimizer_name == "sqn":
        raise reader.error("optimizer", "sqn", "FATE's SSHE models have no sqn optimizer")
    allowed = revealed_optimizers if reveal_every_iter else shared_optimizers
    optimizer = reader.choice("optimizer", OPTIMIZERS)
    if optimizer not in allowed:
        raise reader.error(
            "optimizer",
            reader.raw("optimizer"),
            f"must be one of {', '.join(allowed)} when reveal_every_iter is "
            f"{str(reveal_every_iter).lower()}",
        )
    reveal_strategy = reader.choice("reveal_strategy", REVEAL_STRATEGIES)
    if reveal_strategy == "encrypted_reveal_in_host" and reveal_every_iter:
        raise reader.error(
            "reveal_strategy",
            reader.raw("reveal_strategy"),
            "cannot be encrypted_reveal_in_host when reveal_every_iter is true",
        )
    batch_size = reader.integer("batch_size")
    if batch_size != -1 and batch_size < MIN_BATCH_SIZE:
        raise reader.error(
            "batch_size", batch_size, f"must be -1 (all rows) or at least {MIN_BATCH_SIZE}"
        )
    init = reader.section("init_param")
    encrypt = reader.section("encrypt_param")
    if encrypt.raw("method") is not None:
        encrypt.choice("method", ("Paillier",))
    key_length = encrypt.raw("key_length")
    try:
        paillier.validate_key_length(key_length)
    except InvalidArgument as error:
        raise encrypt.error("key_length", key_length, f"is not usable: {error.message}") from None
    reader.section("stepwise_param").only(
        "need_stepwise", False, "FATE's SSHE models have no stepwise selection"
    )
    read_validation(reader)
    read_save_freq(reader)
    if reader.raw("floating_point_precision") is not None:
        reader.integer("floating_point_precision", minimum=0, maximum=64)
    # Read so that a wrong type is named; the SSHE protocol does not use them (see the
    # module's docstring), as FATE's does not.
    reader.boolean("use_mix_rand")
    calculator = reader.section("encrypted_mode_calculator_param")
    calculator.choice(
        "mode", ("strict", "fast", "balance", "confusion_opt", "confusion_opt_balance")
    )
    calculator.number("re_encrypted_rate", minimum=0, maximum=1)
    checked: dict[str, Any] = {
        "penalty": penalty,
        "tol": reader.number("tol", minimum=0),
        "alpha": reader.number("alpha", minimum=0),
        "optimizer": optimizer,
        "batch_size": batch_size,
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
        "decay": reader.number("decay", minimum=0),
        "decay_sqrt": reader.boolean("decay_sqrt"),
        "reveal_strategy": reveal_strategy,
        "reveal_every_iter": reveal_every_iter,
        "cv_param": {
            **dataclasses.asdict(read_cv(reader)),
            "role": reader.section("cv_param").raw("role"),
        },
        # As given: `callback_reader` reads them again where they are used.
        **{name: reader.raw(name) for name in CALLBACK_TABLE},
    }
    if "predict_param" in table:
        predict = reader.section("predict_param")
        checked["predict_param"] = {"threshold": predict.number("threshold", minimum=0, maximum=1)}
        # One-vs-rest is chosen by the labels (more than two classes).
        reader.choice("multi_class", ("ovr",))
        reader.boolean("shuffle")
        reader.choice("batch_strategy", ("full", "random"))
        reader.number("masked_rate", minimum=0)
    return checked


#: The parameters of validation during training and of callbacks, FATE's defaults.
CALLBACK_TABLE: dict[str, Any] = {
    "validation_freqs": None,
    "early_stopping_rounds": None,
    "metrics": None,
    "use_first_metric_only": False,
    "callback_param": CALLBACK_DEFAULTS,
}


def callback_reader(module: str, params: Mapping[str, Any]) -> ParamReader:
    """The validation and callback parameters of `validate`'s result."""
    return ParamReader(
        module, {name: params[name] for name in CALLBACK_TABLE if name in params}, CALLBACK_TABLE
    )


@dataclass(frozen=True)
class Settings:
    """The validated parameters an algorithm step reads."""

    rule: Rule
    batch_size: int
    max_iter: int
    early_stop: str
    tol: float
    init_method: str
    init_const: float
    fit_intercept: bool
    random_seed: int | None
    key_length: int
    reveal_every_iter: bool
    reveal_strategy: str
    threshold: float
    validation: ValidationParams

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Settings:
        """From `validate`'s result."""
        init = params["init_param"]
        return cls(
            rule=Rule(
                optimizer=params["optimizer"],
                learning_rate=params["learning_rate"],
                penalty=params["penalty"],
                alpha=params["alpha"],
                decay=params["decay"],
                decay_sqrt=params["decay_sqrt"],
            ),
            batch_size=params["batch_size"],
            max_iter=params["max_iter"],
            early_stop=params["early_stop"],
            tol=params["tol"],
            init_method=init["init_method"],
            init_const=init["init_const"],
            fit_intercept=init["fit_intercept"],
            random_seed=init["random_seed"],
            key_length=params["encrypt_param"]["key_length"],
            reveal_every_iter=params["reveal_every_iter"],
            reveal_strategy=params["reveal_strategy"],
            threshold=params.get("predict_param", {}).get("threshold", 0.5),
            validation=read_validation(callback_reader("", params)),
        )

    @property
    def encrypted_host(self) -> bool:
        return self.reveal_strategy == "encrypted_reveal_in_host"


# --- the objective --------------------------------------------------------------------------


class Objective(Protocol):
    """What LR and LinR add to the shared protocol."""

    #: FATE's module name, and the model's names (`HeteroLogisticRegression`...).
    module: str
    #: Bits the residual's scale adds to the forward's (LR: 2, for z / 4).
    residual_bits: int
    #: How its predictions are evaluated (validation, cross validation): binary, regression.
    eval_type: str
    #: Whether more than two classes train one model per class (FATE's one-vs-rest).
    multi_class: bool

    def check_labels(self, labels: Floats) -> Floats:
        """The labels it trains on (InvalidArgument for others)."""
        ...

    def residual(self, forward: Encrypted, forward_bits: int, labels: Floats) -> Encrypted:
        """[[E]] with E = d * 2^(forward_bits + residual_bits), from [[Z]] at scale
        2^forward_bits."""
        ...

    def loss_terms(
        self, guest_part: Sequence[int], labels: Floats, forward_bits: int
    ) -> tuple[list[int], int]:
        """(k, c): the numerator of the batch's mean loss (see `loss_scale`) is
        sum b_i^2 + sum k_i b_i + c, for Z = a + b (a: `guest_part`)."""
        ...

    def loss_scale(self, count: int, forward_bits: int) -> tuple[int, float]:
        """(denominator, constant): the batch's mean loss is constant + numerator /
        denominator."""
        ...

    def scores(self, forward: Floats) -> Floats:
        """Predictions from the forward: the sigmoid (LR), itself (LinR)."""
        ...

    def output(
        self, data: Dataset, scores: Floats, params: Mapping[str, Any], kind: str
    ) -> pa.Table:
        """The guest's predictions table (FATE's columns)."""
        ...

    def meta(self, settings: Settings) -> dict[str, Any]:
        """FATE's model meta."""
        ...


# --- instrumentation --------------------------------------------------------------------------


@dataclass
class Timings:
    """Seconds a role spent per phase, summed over the run (for benchmarks): `encrypt`,
    `decrypt` (with masking), `matvec`, `wait` (for the other party)."""

    seconds: dict[str, float] = field(default_factory=dict)
    iteration_seconds: list[float] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _sum_timings(parts: Sequence[Timings]) -> Timings:
    """The timings of the models of a one-vs-rest, together."""
    total = Timings()
    for part in parts:
        for phase, seconds in part.seconds.items():
            total.seconds[phase] = total.seconds.get(phase, 0.0) + seconds
        total.iteration_seconds += part.iteration_seconds
    return total


# --- the link between the two parties ---------------------------------------------------------


class _Link:
    """This party's view of the other one: timed waits, and what arrives checked."""

    def __init__(
        self, transport: Transport, peer: PartyRole, timeout: float, timings: Timings
    ) -> None:
        self._transport = transport
        self.peer = peer
        self._timeout = timeout
        self.timings = timings
        #: Obfuscators to keep ready per key (what one batch uses), computed in the background
        #: while this party waits: they are the cost of encryption and re-randomisation.
        self.prefetch: dict[paillier.PublicKey, int] = {}

    def send(self, obj: object, name: str, tag: str) -> None:
        self._transport.remote(obj, name, tag, [self.peer])

    def receive(self, name: str, tag: str) -> object:
        for key, size in self.prefetch.items():
            key.fill_in_background(size)
        with self.timings.phase("wait"):
            objects = self._transport.get(name, tag, [self.peer], self._timeout)
        if len(objects) != 1:
            raise FederatedError(f"got {len(objects)} objects {name} {tag!r}, not one")
        return objects[0]

    def error(self, what: str, why: str) -> FederatedError:
        return FederatedError(f"{self.peer.role} {self.peer.party_id} sent {what} that {why}")

    def send_encrypted(self, wire: list[int], tag: str) -> None:
        self.send(BigIntegers(wire), ENCRYPTED, tag)

    def receive_encrypted(self, key: paillier.PublicKey, tag: str, count: int) -> Encrypted:
        obj = self.receive(ENCRYPTED, tag)
        try:
            return ss.encrypted_from_wire(key, obj, count)
        except ValueError as error:
            raise self.error(f"encrypted values ({tag})", f"are not right: {error}") from None

    def send_share(self, share: ss.Ints, tag: str, name: str = SHARE) -> None:
        self.send(ss.to_wire(share), name, tag)

    def receive_share(self, tag: str, shape: tuple[int, ...], name: str = SHARE) -> ss.Ints:
        try:
            return ss.from_wire(self.receive(name, tag), shape)
        except ValueError as error:
            raise self.error(f"shares ({tag})", f"are not right: {error}") from None

    def receive_flag(self, name: str, tag: str) -> bool:
        flag = self.receive(name, tag)
        if not isinstance(flag, bool):
            raise self.error(name, "is not a boolean")
        return flag


@dataclass
class _Keys:
    own: paillier.PublicKey
    private: paillier.PrivateKey
    peer: paillier.PublicKey


def _exchange_keys(link: _Link, settings: Settings, features: int) -> tuple[_Keys, int]:
    """Each party's public key (and feature count) to the other."""
    public, private = paillier.generate_keypair(settings.key_length)
    link.send({**public.to_json(), "features": features}, PUBLIC_KEY, "fit")
    received = link.receive(PUBLIC_KEY, "fit")
    if not isinstance(received, Mapping) or not isinstance(received.get("features"), int):
        raise link.error("a public key", "is not {'n': <int>, 'features': <int>}")
    try:
        peer = paillier.PublicKey.from_json(received)
    except InvalidArgument as error:
        raise link.error("a public key", f"is not usable: {error.message}") from None
    # Masks and products of masked values must stay below either modulus.
    if peer.n.bit_length() < paillier.MIN_KEY_LENGTH:
        raise link.error("a public key", "is too short")
    return _Keys(public, private, peer), int(received["features"])


# --- data and batches -------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyData:
    """One party's rows: ids, features (n x d), header; the guest's labels and weights."""

    ids: list[str]
    features: Floats
    header: list[str]
    labels: Floats | None = None
    weights: Floats | None = None

    @classmethod
    def of(
        cls,
        ids: Sequence[object],
        features: npt.ArrayLike,
        header: Sequence[str],
        labels: npt.ArrayLike | None = None,
        weights: npt.ArrayLike | None = None,
    ) -> PartyData:
        matrix = np.asarray(features, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape != (len(ids), len(header)):
            raise InvalidArgument(
                f"features of shape {matrix.shape} do not match {len(ids)} ids and "
                f"{len(header)} feature names"
            )
        if not np.isfinite(matrix).all():
            raise InvalidArgument("the features hold nan or inf")
        return cls(
            [str(v) for v in ids],
            matrix,
            list(header),
            None if labels is None else np.asarray(labels, dtype=np.float64),
            None if weights is None else np.asarray(weights, dtype=np.float64),
        )

    def rows_of(self, wanted: Sequence[object], link: _Link) -> npt.NDArray[np.intp]:
        position = {sample: k for k, sample in enumerate(self.ids)}
        if len(position) != len(self.ids):
            raise InvalidArgument("the ids of this party's data are not unique")
        missing = [value for value in wanted if str(value) not in position]
        if missing:
            raise InvalidArgument(
                f"{link.peer.role} {link.peer.party_id} names {len(missing)} ids this party "
                f"does not have (such as {missing[0]!r}); intersect the data first",
                missing=len(missing),
            )
        return np.array([position[str(value)] for value in wanted], dtype=np.intp)


def _batches(ids: Sequence[str], batch_size: int) -> list[npt.NDArray[np.intp]]:
    """FATE's batches without shuffling: the ids sorted, cut every `batch_size` rows."""
    order = np.array(sorted(range(len(ids)), key=lambda k: ids[k]), dtype=np.intp)
    if batch_size == -1 or batch_size >= len(ids):
        return [order]
    return [order[start : start + batch_size] for start in range(0, len(ids), batch_size)]


def _scaled_weights(weights: Floats | None, count: int) -> Floats | None:
    """Sample weights scaled to mean 1 (FATE's `scale_sample_weight`); None: none."""
    if weights is None:
        return None
    if weights.shape != (count,) or not np.all(np.isfinite(weights)):
        raise InvalidArgument(f"{count} rows need {count} finite sample weights")
    total = float(weights.sum())
    if total <= 0:
        raise InvalidArgument(f"the sample weights add up to {total:g}")
    scaled: Floats = weights * (count / total)
    return scaled


def _design(features: Floats, fit_intercept: bool) -> Floats:
    """The guest's features, with a column of ones for the intercept."""
    if not fit_intercept:
        return features
    return np.hstack([features, np.ones((len(features), 1))])


def _aligned(data: Dataset, header: Sequence[str], *, labelled: bool) -> PartyData:
    """Validate data as this party's rows, its features in the training data's order."""
    position = {name: k for k, name in enumerate(data.header)}
    missing = [name for name in header if name not in position]
    if missing:
        raise InvalidArgument(
            f"validate_data lacks the training data's features {', '.join(missing[:5])}",
            missing=len(missing),
        )
    return PartyData.of(
        data.ids.tolist(),
        data.features[:, [position[name] for name in header]],
        header,
        data.labels if labelled else None,
    )


def _python_ints(values: npt.ArrayLike) -> list[int]:
    return [int(v) for v in np.asarray(values).ravel().tolist()]


def _plain_dot(matrix: npt.NDArray[np.int64], vector: Sequence[int]) -> list[int]:
    """matrix @ vector over Python integers (no overflow), for plaintext terms."""
    return _python_ints(np.asarray(matrix, dtype=object) @ np.asarray(vector, dtype=object))


# --- shared steps ---------------------------------------------------------------------------


def _share_weights(
    link: _Link, weights: Floats, peer_size: int, tag: str
) -> tuple[ss.Ints, ss.Ints]:
    """FATE's `share_model`: (my share of my weights, my share of the other's weights)."""
    kept, sent = ss.split(ss.encode(weights))
    link.send_share(sent, tag)
    return kept, link.receive_share(tag, (peer_size,))


def _square_norm_of_shares(
    link: _Link, keys: _Keys, shares: npt.ArrayLike, party: int, tag: str, *, to_both: bool
) -> float | None:
    """||x||^2 for a vector shared between the parties (mine: `shares`, in the same order at
    both), revealed to the guest (party 0), or to both (None at the host otherwise):
    sum (x^G)^2 + sum (x^H)^2 + 2 sum x^G x^H, the cross sum under the host's key, masked by
    the guest into shares."""
    values = _python_ints(shares)
    local = sum(v * v for v in values)
    if party == 1:
        link.send_encrypted(ss.encrypted_to_wire(ss.encrypt(keys.own, values)), tag)
        [masked] = link.receive_encrypted(keys.own, f"{tag}.cross", 1)
        [cross] = ss.unmask(keys.private, [masked])
        share = (local + 2 * int(cross)) % RING
        link.send_share(np.array([share], dtype=object), tag, RECONSTRUCT)
    else:
        theirs = link.receive_encrypted(keys.peer, tag, len(values))
        [product] = ss.matvec(np.array([values], dtype=object), theirs)
        wire, [cross] = ss.mask([product])
        link.send_encrypted(wire, f"{tag}.cross")
        share = (local + 2 * int(cross)) % RING
        if to_both:
            link.send_share(np.array([share], dtype=object), tag, RECONSTRUCT)
    if party == 1 and not to_both:
        return None
    [other] = link.receive_share(tag, (1,), RECONSTRUCT)
    return float(ss.decode(np.array([(share + int(other)) % RING], dtype=object), 2 * F)[0])


class _ShareOptimizer:
    """FATE's sgd and nesterov momentum sgd on shares of weights: linear in the gradient, so
    each party applies them to its shares; products with public numbers are divided locally."""

    def __init__(self, rule: Rule, size: int, party: int) -> None:
        self._rule = rule
        self._party = party
        self._velocity = np.zeros(size, dtype=object)

    def _times(self, share: ss.Ints, factor: float) -> ss.Ints:
        """share * factor at scale f (factor encoded at f bits, then divided by 2^f)."""
        scaled = np.asarray(share, dtype=object) * round(factor * (1 << F)) % RING
        return ss.divide(scaled, 1 << F, self._party)

    def step(self, weights: ss.Ints, gradient: ss.Ints, iteration: int) -> ss.Ints:
        rule = self._rule
        if rule.penalty == "L2":
            # FATE adds alpha * w for every shared weight, the intercept included.
            gradient = (gradient + self._times(weights, rule.alpha)) % RING
        step = self._times(gradient, rule.learning_rate_at(iteration))
        if rule.optimizer == "nesterov_momentum_sgd":
            velocity = (self._times(self._velocity, MOMENTUM) - step) % RING
            delta = (
                self._times(self._velocity, MOMENTUM) - self._times(velocity, 1 + MOMENTUM)
            ) % RING
            self._velocity = velocity
            return np.asarray((weights - delta) % RING, dtype=object)
        return np.asarray((weights - step) % RING, dtype=object)


def _converged_by_loss(early_stop: str, tol: float, losses: Sequence[float]) -> bool:
    """FATE's `diff` (the last two losses) and `abs` convergence."""
    if early_stop == "abs":
        return losses[-1] <= tol
    return len(losses) > 1 and abs(losses[-2] - losses[-1]) < tol


def _check_two_parties(module: str, parties: Participants) -> None:
    if len(parties.hosts) != 1:
        raise InvalidArgument(
            f"{module} trains between a guest and one host, not {len(parties.hosts)} hosts "
            "(as FATE's SSHE models)",
            module=module,
        )


# --- the guest --------------------------------------------------------------------------------


@dataclass
class GuestResult:
    model: Model
    #: The guest's predictions on the training data (FATE's `train` output): one score per
    #: row, or with one-vs-rest one column per class of `classes`.
    scores: Floats
    timings: Timings
    classes: list[float] | None = None


def fit_guest(
    transport: Transport,
    data: PartyData,
    params: Mapping[str, Any],
    parties: Participants,
    objective: Objective,
    *,
    on_loss: Callable[[int, float], None] | None = None,
    on_class_loss: Callable[[int, int, float], None] | None = None,
    validate_data: Dataset | None = None,
    log_metric: LogMetric | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
    warm_start: Model | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> GuestResult:
    """The guest's part: its model (FATE's, with the loss history) and its training scores.
    `validate_data` and `log_metric` are for validation during training (`validation_freqs`);
    `checkpoints`, ModelCheckpoint's. A classifier with more than two classes trains one
    model per class (`one_vs_rest.py`), `on_class_loss(class index, iteration, loss)`; it
    tells the host how many classes there are, always, as FATE's does."""
    _check_two_parties(objective.module, parties)
    if data.labels is None:
        raise InvalidArgument(f"{objective.module} needs the labels at the guest")

    def fit(transport: Transport, data: PartyData, **more: Any) -> GuestResult:
        return _fit_guest(
            transport,
            data,
            params,
            parties,
            objective,
            log_metric=log_metric,
            timeout=timeout,
            **more,
        )

    classes = one_vs_rest.classes_of(data.labels)
    if objective.multi_class:
        transport.remote(len(classes), one_vs_rest.AGGREGATE_CLASSES, "fit", [parties.hosts[0]])
    if not objective.multi_class or len(classes) <= 2:
        return fit(
            transport,
            data,
            on_loss=on_loss,
            validate_data=validate_data,
            epoch_end=checkpoints.epoch_end,
            warm_start=warm_start,
        )
    _no_ovr_warm_start(objective.module, warm_start)
    results = [
        fit(
            one_vs_rest.sub_transport(transport, index),
            dataclasses.replace(data, labels=(data.labels == label).astype(np.float64)),
            on_loss=None if on_class_loss is None else partial(on_class_loss, index),
            # Each class's model validates on the validate data as that class against the
            # rest, its metrics under the data sets `model_<k>.iteration_<i>`, as FATE's.
            validate_data=one_vs_rest.as_class(validate_data, label),
            data_set_prefix=f"model_{index}.",
            epoch_end=checkpoints.of_class(index),
        )
        for index, label in enumerate(classes)
    ]
    model = one_vs_rest.model_of(
        results[0].model["meta"], data.header, [r.model["param"] for r in results], classes
    )
    scores = np.column_stack([r.scores for r in results])
    return GuestResult(model, scores, _sum_timings([r.timings for r in results]), classes)


def _fit_guest(
    transport: Transport,
    data: PartyData,
    params: Mapping[str, Any],
    parties: Participants,
    objective: Objective,
    *,
    on_loss: Callable[[int, float], None] | None,
    validate_data: Dataset | None,
    log_metric: LogMetric | None,
    epoch_end: EpochEnd,
    timeout: float,
    data_set_prefix: str = "",
    warm_start: Model | None = None,
) -> GuestResult:
    """One model's training at the guest (the protocol of the module's docstring); a
    `warm_start` model's weights, iterations and losses go on."""
    settings = Settings.of(params)
    assert data.labels is not None
    validation = (
        Validation(
            settings.validation,
            objective.eval_type,
            log_metric=log_metric or (lambda *_: None),
            has_validate_data=validate_data is not None,
            data_set_prefix=data_set_prefix,
        )
        if settings.validation.enabled
        else None
    )
    # What validation scores: the training rows, and the validate data's.
    scored = [("train", Dataset(np.array(data.ids), data.features, data.labels, data.header), data)]
    if validate_data is not None:
        part = _aligned(validate_data, data.header, labelled=True)
        scored.append(("validate", validate_data, part))
    timings = Timings()
    link = _Link(transport, parties.hosts[0], timeout, timings)
    labels = objective.check_labels(data.labels)
    row_weights = _scaled_weights(data.weights, len(data.ids))
    design = _design(data.features, settings.fit_intercept)
    fixed = ss.fixed(design)
    size = design.shape[1]
    keys, host_size = _exchange_keys(link, settings, size)
    batches = _batches(data.ids, settings.batch_size)
    start = _warm_start(warm_start, data.header, objective.module)
    link.send(
        {
            "batch_size": settings.batch_size,
            "batch_num": len(batches),
            "with_weight": row_weights is not None,
        },
        BATCH_INFO,
        "fit",
    )
    for index, rows in enumerate(batches):
        link.send([data.ids[k] for k in rows], BATCH_DATA_INDEX, f"fit.{index}")
    if start is None:
        weights = initial_weights(
            settings.init_method, size, const=settings.init_const, seed=settings.random_seed
        )
    else:
        weights = start.weights
        if settings.fit_intercept:
            weights = np.append(weights, start.intercept)
    forward_bits = F if settings.reveal_every_iter else 2 * F
    residual_bits = forward_bits + objective.residual_bits + (F if row_weights is not None else 0)
    # A batch's encryptions under our key, re-randomisations under the host's.
    largest = max(len(batch) for batch in batches)
    shared = 0 if settings.reveal_every_iter else 1
    link.prefetch[keys.own] = largest + shared * host_size
    link.prefetch[keys.peer] = largest * (1 + shared) + size + 4
    if settings.reveal_every_iter:
        optimizer = Optimizer(settings.rule, size, has_intercept=settings.fit_intercept)
        own_share = peer_share = np.zeros(0, dtype=object)
    else:
        own_share, peer_share = _share_weights(link, weights, host_size, "fit.init")
        own_optimizer = _ShareOptimizer(settings.rule, size, 0)
        peer_optimizer = _ShareOptimizer(settings.rule, host_size, 0)

    def model_now(
        weights: Floats, own: ss.Ints, peer: ss.Ints, iters: int, converged: bool, tag: str
    ) -> Model:
        """The guest's model as training leaves it with these weights (the host builds its
        own at the same time): shared weights revealed as the final ones are."""
        if not settings.reveal_every_iter:
            weights = _reveal_guest(link, keys, settings, own, peer, tag)
        model = model_of(
            objective,
            settings,
            data.header,
            weights[: len(data.header)],
            float(weights[-1]) if settings.fit_intercept else 0.0,
            iters,
            converged,
            losses,
        )
        if settings.encrypted_host:
            model["param"]["cipher"] = {
                "public_key": {"n": str(keys.own.n)},
                "private_key": {"p": str(keys.private.p), "q": str(keys.private.q)},
            }
        return model

    losses: list[float] = [] if start is None else list(start.losses)
    best: dict[int, tuple[Floats, ss.Ints, ss.Ints]] = {}
    converged = False
    iteration = 0 if start is None else start.iterations
    while iteration < settings.max_iter:
        started = time.perf_counter()
        start_weights, start_shares = weights.copy(), (own_share.copy(), peer_share.copy())
        weighted_loss = 0.0
        for index, rows in enumerate(batches):
            tag = f"fit.{iteration}.{index}"
            m = len(rows)
            x = fixed[rows]
            if settings.reveal_every_iter:
                a = _python_ints(ss.fixed(design[rows] @ weights))
            else:
                a = _guest_shared_forward(link, keys, x, own_share, peer_share, tag)
            b = link.receive_encrypted(keys.peer, f"{tag}.z", m)
            [b_square] = link.receive_encrypted(keys.peer, f"{tag}.z2", 1)
            forward = [number + value for number, value in zip(b, a, strict=True)]
            with timings.phase("matvec"):
                residual = objective.residual(forward, forward_bits, labels[rows])
                if row_weights is not None:
                    residual = [
                        e * w
                        for e, w in zip(
                            residual, _python_ints(ss.fixed(row_weights[rows])), strict=True
                        )
                    ]
            with timings.phase("decrypt"):
                wire, residual_share = ss.mask(residual, 1 << (residual_bits - F))
            link.send_encrypted(wire, f"{tag}.d")
            with timings.phase("matvec"):
                gradient = ss.matvec(x.T, residual)
            with timings.phase("decrypt"):
                wire, own_gradient = ss.mask(gradient, m << residual_bits)
            link.send_encrypted(wire, f"{tag}.gg")
            with timings.phase("encrypt"):
                wire = ss.encrypted_to_wire(ss.encrypt(keys.own, residual_share))
            link.send_encrypted(wire, f"{tag}.dg")
            # The loss, with the weights of this forward.
            k, c = objective.loss_terms(a, labels[rows], forward_bits)
            denominator, constant = objective.loss_scale(m, forward_bits)
            with timings.phase("matvec"):
                [numerator] = ss.matvec(np.array([k], dtype=object), b)
                numerator = numerator + b_square + c
            wire, [loss_mask] = ss.mask_integers([numerator])
            link.send_encrypted(wire, f"{tag}.loss")
            masked_gradient = link.receive_encrypted(keys.own, f"{tag}.gh", host_size)
            with timings.phase("decrypt"):
                peer_gradient = ss.unmask(keys.private, masked_gradient, m << F)
            loss = constant + (_read_int(link, LOSS, tag) - loss_mask) / denominator
            if settings.reveal_every_iter:
                loss += penalty_value(settings.rule, weights[: len(data.header)])
                link.send_share(peer_gradient, f"{tag}.gh")
                other = link.receive_share(f"{tag}.gg", (size,))
                gradient_value = ss.decode(ss.reconstruct(own_gradient, other))
                weights = optimizer.step(weights, gradient_value, iteration)
            else:
                if settings.rule.penalty == "L2":
                    both = np.concatenate([own_share, peer_share])
                    norm = _square_norm_of_shares(link, keys, both, 0, f"{tag}.norm", to_both=False)
                    loss += 0.5 * settings.rule.alpha * float(norm or 0.0)
                own_share = own_optimizer.step(own_share, own_gradient, iteration)
                peer_share = peer_optimizer.step(peer_share, peer_gradient, iteration)
            weighted_loss += loss * m
        loss = weighted_loss / len(data.ids)
        losses.append(loss)
        if on_loss is not None:
            on_loss(iteration, loss)
        tag = f"fit.{iteration}"
        if settings.early_stop != "weight_diff":
            converged = _converged_by_loss(settings.early_stop, settings.tol, losses)
            link.send(converged, IS_CONVERGED, tag)
        elif settings.reveal_every_iter:
            change = weights - start_weights
            host_square = link.receive(SQUARE_SUM, tag)
            if not isinstance(host_square, float | int) or isinstance(host_square, bool):
                raise link.error("a square_sum", "is not a number")
            converged = math.sqrt(float(change @ change) + float(host_square)) < settings.tol
            link.send(converged, CONVERGE_INFO, tag)
        else:
            change = np.concatenate([own_share - start_shares[0], peer_share - start_shares[1]])
            square = _square_norm_of_shares(link, keys, change % RING, 0, tag, to_both=True)
            converged = math.sqrt(max(float(square or 0.0), 0.0)) < settings.tol
        stop = None
        if validation is not None and validation.due(iteration):
            best[iteration] = (weights.copy(), own_share.copy(), peer_share.copy())
            score = partial(
                _guest_scores_now, link, keys, settings, objective, weights, own_share, peer_share
            )
            tables = {
                kind: objective.output(
                    dataset, score(part, f"validate.{iteration}.{kind}"), params, kind
                )
                for kind, dataset, part in scored
            }
            validation.score(iteration, train=tables["train"], validate=tables.get("validate"))
            if settings.validation.early_stopping_rounds is not None:
                status = {"stop": validation.stop, "best": validation.best_round}
                link.send(status, VALIDATION_STATUS, f"validate.{iteration}")
                stop = validation.best_round if validation.stop else None
        epoch_end(
            iteration,
            partial(
                model_now,
                weights,
                own_share,
                peer_share,
                iteration + 1,
                converged,
                f"checkpoint.{iteration}",
            ),
        )
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if stop is not None:
            weights, own_share, peer_share = best[stop]
            break
        if converged:
            break
    model = model_now(weights, own_share, peer_share, iteration, converged, "fit.final")
    if validation is not None:
        model["param"]["best_iteration"] = validation.best_round
        model["validation_metrics"] = validation.summary()
    coefficients = _model_weights(model, data.header, objective.module)
    intercept = model["param"]["intercept"]
    scores = _predict_guest(link, data, coefficients, intercept, objective, keys.private, "train")
    return GuestResult(model, scores, timings)


def _guest_shared_forward(
    link: _Link, keys: _Keys, x: npt.NDArray[np.int64], own: ss.Ints, peer: ss.Ints, tag: str
) -> list[int]:
    """Step 1 with shared weights, the guest's side: its integer share a of Z (scale 2^2f)."""
    with link.timings.phase("encrypt"):
        link.send_encrypted(ss.encrypted_to_wire(ss.encrypt(keys.own, peer)), f"{tag}.w")
    theirs = link.receive_encrypted(keys.peer, f"{tag}.w", x.shape[1])
    with link.timings.phase("matvec"):
        product = ss.matvec(x, theirs)
        # X_g [[w^H]] + X_g (w^G - 2^128) = [[X_g w_g]], exactly.
        local = _plain_dot(x, [int(v) - RING for v in own])
        product = [number + value for number, value in zip(product, local, strict=True)]
    with link.timings.phase("decrypt"):
        wire, masks = ss.mask_integers(product)
    link.send_encrypted(wire, f"{tag}.zg")
    masked = link.receive_encrypted(keys.own, f"{tag}.zh", x.shape[0])
    with link.timings.phase("decrypt"):
        values = ss.masked_values(keys.private, masked)
    return [u - r for u, r in zip(values, masks, strict=True)]


def _reveal_guest(
    link: _Link, keys: _Keys, settings: Settings, own: ss.Ints, peer: ss.Ints, tag: str
) -> Floats:
    """FATE's `reveal_models`, the guest's side: its weights; the host gets its own, or them
    encrypted under our key (`encrypted_reveal_in_host`)."""
    if settings.encrypted_host:
        link.send_encrypted(ss.encrypted_to_wire(ss.encrypt(keys.own, peer)), f"{tag}.peer")
    else:
        link.send_share(peer, f"{tag}.peer")
    return ss.decode(ss.reconstruct(own, link.receive_share(f"{tag}.own", (len(own),))))


def _guest_scores_now(
    link: _Link,
    keys: _Keys,
    settings: Settings,
    objective: Objective,
    weights: Floats,
    own: ss.Ints,
    peer: ss.Ints,
    data: PartyData,
    flowid: str,
) -> Floats:
    """Scores of `data` with the weights as training has them: revealed, as prediction does
    (the host sends X_h w_h); shared, by step 1 on these rows, the host then sending its share
    of the forward, so that the guest learns the forwards and no weight."""
    if settings.reveal_every_iter:
        coefficients = weights[: len(data.header)]
        intercept = float(weights[-1]) if settings.fit_intercept else 0.0
        return _predict_guest(link, data, coefficients, intercept, objective, None, flowid)
    link.send(list(data.ids), BATCH_DATA_INDEX, flowid)
    design = ss.fixed(_design(data.features, settings.fit_intercept))
    mine = _guest_shared_forward(link, keys, design, own, peer, flowid)
    theirs = link.receive_share(flowid, (len(mine),), RECONSTRUCT)
    forward = ss.decode(ss.reconstruct(np.array(mine, dtype=object) % RING, theirs), 2 * F)
    return objective.scores(forward)


def _read_int(link: _Link, name: str, tag: str) -> int:
    value = link.receive(name, tag)
    if not isinstance(value, int) or isinstance(value, bool):
        raise link.error(f"a {name}", "is not an integer")
    return value


# --- the host ---------------------------------------------------------------------------------


@dataclass
class HostResult:
    model: Model
    timings: Timings


def fit_host(
    transport: Transport,
    data: PartyData,
    params: Mapping[str, Any],
    parties: Participants,
    objective: Objective,
    *,
    validate_data: Dataset | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
    warm_start: Model | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> HostResult:
    """The host's part: its model (its weights, or them encrypted under the guest's key; with
    one-vs-rest, one such model per class, as many as the guest says). `validate_data`: its
    part of the rows the guest validates on (`validation_freqs`)."""
    _check_two_parties(objective.module, parties)

    def fit(transport: Transport, epoch_end: EpochEnd, warm: Model | None = None) -> HostResult:
        return _fit_host(
            transport, data, params, parties, objective, validate_data, epoch_end, timeout, warm
        )

    if not objective.multi_class:
        return fit(transport, checkpoints.epoch_end, warm_start)
    [count] = transport.get(one_vs_rest.AGGREGATE_CLASSES, "fit", [parties.guest], timeout)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FederatedError("the guest sent a class count that is not a whole number")
    if count <= 2:
        return fit(transport, checkpoints.epoch_end, warm_start)
    _no_ovr_warm_start(objective.module, warm_start)
    results = [
        fit(one_vs_rest.sub_transport(transport, index), checkpoints.of_class(index))
        for index in range(count)
    ]
    model = one_vs_rest.model_of(
        results[0].model["meta"],
        data.header,
        [r.model["param"] for r in results],
        list(range(count)),
    )
    return HostResult(model, _sum_timings([r.timings for r in results]))


def _fit_host(
    transport: Transport,
    data: PartyData,
    params: Mapping[str, Any],
    parties: Participants,
    objective: Objective,
    validate_data: Dataset | None,
    epoch_end: EpochEnd,
    timeout: float,
    warm_start: Model | None = None,
) -> HostResult:
    """One model's training at the host; a `warm_start` model's weights and iterations go
    on."""
    settings = Settings.of(params)
    validation = settings.validation
    if validation.early_stopping_rounds is not None and validate_data is None:
        raise InvalidArgument(
            "early_stopping_rounds needs validation data: give the component a validate_data input"
        )
    # What validation scores: the training rows, and the validate data's.
    scored = [("train", data)]
    if validate_data is not None:
        scored.append(("validate", _aligned(validate_data, data.header, labelled=False)))
    timings = Timings()
    link = _Link(transport, parties.guest, timeout, timings)
    fixed = ss.fixed(data.features)
    size = len(data.header)
    keys, guest_size = _exchange_keys(link, settings, size)
    info = link.receive(BATCH_INFO, "fit")
    if (
        not isinstance(info, Mapping)
        or not isinstance(info.get("batch_num"), int)
        or not isinstance(info.get("with_weight"), bool)
    ):
        raise link.error("a batch_info", "lacks batch_num or with_weight")
    batches = []
    for index in range(int(info["batch_num"])):
        wanted = link.receive(BATCH_DATA_INDEX, f"fit.{index}")
        if not isinstance(wanted, list):
            raise link.error("a batch index", "is not a list of ids")
        batches.append(data.rows_of(wanted, link))
    start = _warm_start(warm_start, data.header, objective.module)
    # The host has no intercept (FATE sets its fit_intercept to false).
    weights = (
        initial_weights(
            settings.init_method, size, const=settings.init_const, seed=settings.random_seed
        )
        if start is None
        else start.weights
    )
    forward_bits = F if settings.reveal_every_iter else 2 * F
    residual_bits = forward_bits + objective.residual_bits + (F if info["with_weight"] else 0)
    # A batch's encryptions under our key, re-randomisations under the guest's.
    largest = max(len(batch) for batch in batches)
    shared = 0 if settings.reveal_every_iter else 1
    link.prefetch[keys.own] = largest + 1 + shared * (2 * guest_size + 2 * size)
    link.prefetch[keys.peer] = size + shared * largest
    if settings.reveal_every_iter:
        optimizer = Optimizer(settings.rule, size, has_intercept=False)
        own_share = peer_share = np.zeros(0, dtype=object)
    else:
        own_share, peer_share = _share_weights(link, weights, guest_size, "fit.init")
        own_optimizer = _ShareOptimizer(settings.rule, size, 1)
        peer_optimizer = _ShareOptimizer(settings.rule, guest_size, 1)

    def model_now(
        weights: Floats, own: ss.Ints, peer: ss.Ints, iters: int, converged: bool, tag: str
    ) -> Model:
        """The host's model as training leaves it with these weights (see the guest's)."""
        encrypted: Encrypted | None = None
        if not settings.reveal_every_iter:
            link.send_share(peer, f"{tag}.own")
            if settings.encrypted_host:
                encrypted = ss.integer_sum(
                    own, link.receive_encrypted(keys.peer, f"{tag}.peer", size)
                )
            else:
                weights = ss.decode(ss.reconstruct(own, link.receive_share(f"{tag}.peer", (size,))))
        model = model_of(objective, settings, data.header, weights, 0.0, iters, converged, [])
        if encrypted is not None:
            model["param"]["weight"] = {}
            model["param"]["encrypted_weight"] = encrypted_weights(data.header, encrypted)
        return model

    best: dict[int, tuple[Floats, ss.Ints, ss.Ints]] = {}
    converged = False
    iteration = 0 if start is None else start.iterations
    while iteration < settings.max_iter:
        started = time.perf_counter()
        start_weights, start_shares = weights.copy(), (own_share.copy(), peer_share.copy())
        for index, rows in enumerate(batches):
            tag = f"fit.{iteration}.{index}"
            m = len(rows)
            x = fixed[rows]
            if settings.reveal_every_iter:
                b = _python_ints(ss.fixed(data.features[rows] @ weights))
            else:
                b = _host_shared_forward(link, keys, x, own_share, peer_share, tag)
            with timings.phase("encrypt"):
                link.send_encrypted(ss.encrypted_to_wire(ss.encrypt(keys.own, b)), f"{tag}.z")
                total = sum(v * v for v in b)
                link.send_encrypted(
                    ss.encrypted_to_wire(ss.encrypt(keys.own, [total])), f"{tag}.z2"
                )
            masked = link.receive_encrypted(keys.own, f"{tag}.d", m)
            with timings.phase("decrypt"):
                residual_share = ss.unmask(keys.private, masked, 1 << (residual_bits - F))
            masked = link.receive_encrypted(keys.own, f"{tag}.gg", guest_size)
            with timings.phase("decrypt"):
                peer_gradient = ss.unmask(keys.private, masked, m << residual_bits)
            theirs = link.receive_encrypted(keys.peer, f"{tag}.dg", m)
            with timings.phase("matvec"):
                # X_h^T [[d^G]] + X_h^T (d^H - 2^128) = [[X_h^T d]], exactly.
                gradient = ss.matvec(x.T, theirs)
                local = _plain_dot(x.T, [int(v) - RING for v in residual_share])
                gradient = [number + value for number, value in zip(gradient, local, strict=True)]
            with timings.phase("decrypt"):
                wire, own_gradient = ss.mask(gradient, m << F)
            link.send_encrypted(wire, f"{tag}.gh")
            [masked_loss] = link.receive_encrypted(keys.own, f"{tag}.loss", 1)
            with timings.phase("decrypt"):
                [loss_value] = ss.masked_values(keys.private, [masked_loss])
            if settings.reveal_every_iter:
                # The guest learns the loss with our penalty inside, as FATE's does.
                denominator, _constant = objective.loss_scale(m, forward_bits)
                loss_value += round(penalty_value(settings.rule, weights) * denominator)
            link.send(loss_value, LOSS, tag)
            if settings.reveal_every_iter:
                link.send_share(peer_gradient, f"{tag}.gg")
                other = link.receive_share(f"{tag}.gh", (size,))
                gradient_value = ss.decode(ss.reconstruct(own_gradient, other))
                weights = optimizer.step(weights, gradient_value, iteration)
            else:
                if settings.rule.penalty == "L2":
                    both = np.concatenate([peer_share, own_share])
                    _square_norm_of_shares(link, keys, both, 1, f"{tag}.norm", to_both=False)
                own_share = own_optimizer.step(own_share, own_gradient, iteration)
                peer_share = peer_optimizer.step(peer_share, peer_gradient, iteration)
        tag = f"fit.{iteration}"
        if settings.early_stop != "weight_diff":
            converged = link.receive_flag(IS_CONVERGED, tag)
        elif settings.reveal_every_iter:
            change = weights - start_weights
            link.send(float(change @ change), SQUARE_SUM, tag)
            converged = link.receive_flag(CONVERGE_INFO, tag)
        else:
            change = np.concatenate([peer_share - start_shares[1], own_share - start_shares[0]])
            square = _square_norm_of_shares(link, keys, change % RING, 1, tag, to_both=True)
            converged = math.sqrt(max(float(square or 0.0), 0.0)) < settings.tol
        stop = None
        if due(validation, iteration):
            best[iteration] = (weights.copy(), own_share.copy(), peer_share.copy())
            for kind, part in scored:
                _host_scores_now(
                    link,
                    keys,
                    settings,
                    weights,
                    own_share,
                    peer_share,
                    part,
                    f"validate.{iteration}.{kind}",
                )
            stop = _early_stop(link, validation, iteration)
        epoch_end(
            iteration,
            partial(
                model_now,
                weights,
                own_share,
                peer_share,
                iteration + 1,
                converged,
                f"checkpoint.{iteration}",
            ),
        )
        iteration += 1
        timings.iteration_seconds.append(time.perf_counter() - started)
        if stop is not None:
            weights, own_share, peer_share = best[stop]
            break
        if converged:
            break
    model = model_now(weights, own_share, peer_share, iteration, converged, "fit.final")
    predict_weights: Floats | Encrypted = (
        _model_encrypted_weights(model, data.header, objective.module)
        if is_encrypted_host_model(model)
        else _model_weights(model, data.header, objective.module)
    )
    _predict_host(link, data, predict_weights, "train")
    return HostResult(model, timings)


def _host_scores_now(
    link: _Link,
    keys: _Keys,
    settings: Settings,
    weights: Floats,
    own: ss.Ints,
    peer: ss.Ints,
    data: PartyData,
    flowid: str,
) -> None:
    """The host's part of `_guest_scores_now`."""
    if settings.reveal_every_iter:
        _predict_host(link, data, weights, flowid)
        return
    rows = data.rows_of(_wanted_ids(link, flowid), link)
    mine = _host_shared_forward(link, keys, ss.fixed(data.features[rows]), own, peer, flowid)
    link.send_share(np.array(mine, dtype=object) % RING, flowid, RECONSTRUCT)


def _early_stop(link: _Link, validation: ValidationParams, iteration: int) -> int | None:
    """At the host: the iteration to go back to when the guest's validation stops training
    after `iteration`, else None."""
    if validation.early_stopping_rounds is None:
        return None
    status = link.receive(VALIDATION_STATUS, f"validate.{iteration}")
    if not isinstance(status, Mapping) or not isinstance(status.get("stop"), bool):
        raise link.error("a validation_status", "has no stop")
    if not status["stop"]:
        return None
    best = status.get("best")
    if not isinstance(best, int) or isinstance(best, bool) or not 0 <= best <= iteration:
        raise link.error("a validation_status", "has no best iteration")
    return best


def _host_shared_forward(
    link: _Link, keys: _Keys, x: npt.NDArray[np.int64], own: ss.Ints, peer: ss.Ints, tag: str
) -> list[int]:
    """Step 1 with shared weights, the host's side: its integer share b of Z (scale 2^2f)."""
    with link.timings.phase("encrypt"):
        link.send_encrypted(ss.encrypted_to_wire(ss.encrypt(keys.own, peer)), f"{tag}.w")
    theirs = link.receive_encrypted(keys.peer, f"{tag}.w", x.shape[1])
    with link.timings.phase("matvec"):
        product = ss.matvec(x, theirs)
        local = _plain_dot(x, [int(v) - RING for v in own])
        product = [number + value for number, value in zip(product, local, strict=True)]
    with link.timings.phase("decrypt"):
        wire, masks = ss.mask_integers(product)
    link.send_encrypted(wire, f"{tag}.zh")
    masked = link.receive_encrypted(keys.own, f"{tag}.zg", x.shape[0])
    with link.timings.phase("decrypt"):
        values = ss.masked_values(keys.private, masked)
    return [u - r for u, r in zip(values, masks, strict=True)]


# --- models -----------------------------------------------------------------------------------


def model_of(
    objective: Objective,
    settings: Settings,
    header: Sequence[str],
    coefficients: Floats,
    intercept: float,
    iters: int,
    converged: bool,
    losses: Sequence[float],
) -> Model:
    """FATE's LRModelParam / LinRModelParam fields (snake_case), and its meta."""
    meta = objective.meta(settings)
    param: dict[str, Any] = {
        "iters": iters,
        "loss_history": list(losses),
        "is_converged": converged,
        "weight": {name: float(w) for name, w in zip(header, coefficients, strict=True)},
        "intercept": float(intercept),
        "header": list(header),
        "best_iteration": -1,
    }
    if "need_one_vs_rest" in meta:
        param["need_one_vs_rest"] = False
    return {"meta": meta, "param": param}


def encrypted_weights(header: Sequence[str], numbers: Encrypted) -> dict[str, Any]:
    """FATE's `encrypted_weight`: each weight's ciphertext, python-paillier's encoding of the
    weight at base-16 exponent `FATE_EXPONENT`."""
    return {
        name: {
            "public_key": {"n": str(number.public_key.n)},
            "cipher_text": str(number.ciphertext),
            "exponent": str(ss.FATE_EXPONENT),
            "is_obfuscator": False,
        }
        for name, number in zip(header, numbers, strict=True)
    }


def _model_weights(model: Model, header: Sequence[str], module: str) -> Floats:
    param = model.get("param") if isinstance(model, Mapping) else None
    if not isinstance(param, Mapping) or not isinstance(param.get("weight"), Mapping):
        raise InvalidArgument(f"{module}: this is not a {module} model")
    weight = param["weight"]
    missing = [name for name in weight if name not in header]
    if missing:
        raise InvalidArgument(
            f"{module}: the data lack the model's features {', '.join(missing[:5])}",
            missing=len(missing),
        )
    return np.array([float(weight.get(name, 0.0)) for name in header])


def _model_encrypted_weights(model: Model, header: Sequence[str], module: str) -> Encrypted:
    entries = model["param"]["encrypted_weight"]
    missing = [name for name in entries if name not in header]
    if missing:
        raise InvalidArgument(
            f"{module}: the data lack the model's features {', '.join(missing[:5])}",
            missing=len(missing),
        )
    numbers = []
    key: paillier.PublicKey | None = None
    for name in header:
        entry = entries.get(name)
        if entry is None:
            raise InvalidArgument(f"{module}: the model has no encrypted weight for {name}")
        key = key or paillier.PublicKey(int(entry["public_key"]["n"]))
        # Stored at FATE's exponent; the protocol computes with the integer itself.
        numbers.append(paillier.EncryptedNumber(key, int(entry["cipher_text"]), 0))
    return numbers


def is_encrypted_host_model(model: Model) -> bool:
    return bool(model.get("param", {}).get("encrypted_weight"))


def model_classes(model: Model) -> list[float] | None:
    """The classes of a one-vs-rest model (the columns of its scores); None for others."""
    parts = one_vs_rest.binary_models(model)
    return None if parts is None else parts[0]


# --- prediction -------------------------------------------------------------------------------


def predict_guest(
    transport: Transport,
    data: PartyData,
    model: Model,
    parties: Participants,
    objective: Objective,
    *,
    flowid: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> Floats:
    """Scores of a trained model for the guest's rows; of a one-vs-rest model, one column
    per class (`model_classes`' order)."""
    _check_two_parties(objective.module, parties)
    parts = one_vs_rest.binary_models(model)
    if parts is not None:
        return np.column_stack(
            [
                predict_guest(
                    one_vs_rest.sub_transport(transport, index),
                    data,
                    part,
                    parties,
                    objective,
                    flowid=flowid,
                    timeout=timeout,
                )
                for index, part in enumerate(parts[1])
            ]
        )
    link = _Link(transport, parties.hosts[0], timeout, Timings())
    coefficients = _model_weights(model, data.header, objective.module)
    intercept = float(model["param"].get("intercept", 0.0))
    cipher = model["param"].get("cipher")
    private = None
    if cipher:
        public = paillier.PublicKey(int(cipher["public_key"]["n"]))
        private = paillier.PrivateKey(
            public, int(cipher["private_key"]["p"]), int(cipher["private_key"]["q"])
        )
    return _predict_guest(link, data, coefficients, intercept, objective, private, flowid)


def _predict_guest(
    link: _Link,
    data: PartyData,
    coefficients: Floats,
    intercept: float,
    objective: Objective,
    private: paillier.PrivateKey | None,
    flowid: str,
) -> Floats:
    link.send(list(data.ids), BATCH_DATA_INDEX, flowid)
    forward = data.features @ coefficients + intercept
    received = link.receive(HOST_PROB, flowid)
    if isinstance(received, list):
        # The host's forwards encrypted under our key (`encrypted_reveal_in_host`).
        if private is None:
            raise link.error("encrypted forwards", "this model has no key for")
        try:
            numbers = ss.encrypted_from_wire(private.public_key, received, len(data.ids))
        except ValueError as error:
            raise link.error("encrypted forwards", f"are not right: {error}") from None
        values = private.decrypt_many(numbers)
        host = np.array([int(v) / (1 << (2 * F)) for v in values], dtype=np.float64)
    elif (
        isinstance(received, np.ndarray)
        and received.dtype.kind == "f"
        and received.shape == (len(data.ids),)
    ):
        host = received.astype(np.float64)
    else:
        raise link.error("forwards", f"are not {len(data.ids)} numbers")
    return objective.scores(forward + host)


def predict_host(
    transport: Transport,
    data: PartyData,
    model: Model,
    parties: Participants,
    *,
    module: str,
    flowid: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> None:
    """The host's part of prediction: its forwards for the ids the guest names."""
    parts = one_vs_rest.binary_models(model)
    if parts is not None:
        for index, part in enumerate(parts[1]):
            predict_host(
                one_vs_rest.sub_transport(transport, index),
                data,
                part,
                parties,
                module=module,
                flowid=flowid,
                timeout=timeout,
            )
        return
    link = _Link(transport, parties.guest, timeout, Timings())
    weights: Floats | Encrypted = (
        _model_encrypted_weights(model, data.header, module)
        if is_encrypted_host_model(model)
        else _model_weights(model, data.header, module)
    )
    _predict_host(link, data, weights, flowid)


def _wanted_ids(link: _Link, flowid: str) -> list[Any]:
    wanted = link.receive(BATCH_DATA_INDEX, flowid)
    if not isinstance(wanted, list):
        raise link.error("ids", "are not a list")
    return wanted


def _predict_host(link: _Link, data: PartyData, weights: Floats | Encrypted, flowid: str) -> None:
    rows = data.rows_of(_wanted_ids(link, flowid), link)
    if isinstance(weights, np.ndarray):
        link.send(np.ascontiguousarray(data.features[rows] @ weights), HOST_PROB, flowid)
        return
    # [[X_h w_h]]_G at scale 2^2f, re-randomised: the guest made the weights' ciphertexts.
    forwards = ss.matvec(ss.fixed(data.features[rows]), weights)
    link.send(BigIntegers(ss.encrypted_to_wire(forwards)), HOST_PROB, flowid)


# --- the component ----------------------------------------------------------------------------

#: FATE's meta of the guest's `train`/`loss` metric: one point (iteration, loss) per iteration.
LOSS_META = {"name": "train", "metric_type": "LOSS", "unit_name": "iters", "curve_name": "loss"}


@dataclass(frozen=True)
class _Start:
    """Where a warm start goes on from: a party's weights (by its header), the intercept, the
    iterations done and the losses (the guest's)."""

    weights: Floats
    intercept: float
    iterations: int
    losses: list[float]


def _warm_start(model: Model | None, header: Sequence[str], module: str) -> _Start | None:
    if model is None:
        return None
    if is_encrypted_host_model(model):
        raise InvalidArgument(
            f"{module}: a warm start from a model whose host weights are encrypted "
            "(reveal_strategy encrypted_reveal_in_host) is not implemented: the guest's key of "
            "that job is not this job's"
        )
    _no_ovr_warm_start(module, model if one_vs_rest.binary_models(model) else None)
    weights = _model_weights(model, header, module)
    param = model["param"]
    iterations = param.get("iters")
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
        raise InvalidArgument(f"{module}: the warm start's model has no iteration count")
    losses = [float(v) for v in param.get("loss_history") or []]
    return _Start(weights, float(param.get("intercept") or 0.0), iterations, losses)


def _no_ovr_warm_start(module: str, warm_start: Model | None) -> None:
    if warm_start is not None:
        raise InvalidArgument(f"{module}: one-vs-rest models cannot be warm started here")


def run(context: TaskContext, params: dict[str, Any], objective: Objective) -> None:
    """One party's task of an SSHE model: fit (a train_data input, and a validate_data one for
    validation during training) or predict (a model input); its model, summary and (the
    guest) loss and validation metrics and predictions."""
    parties = Participants.from_roles(context.roles)
    model = next(iter(context.input_models().values()), None)
    dataset, kind = learner_input(context)
    # FATE 1.9's warm start: a model beside train_data goes on training from it.
    warm_start, model = (model, None) if kind == "train" else (None, model)
    guest = context.task.role == "guest"
    cv = read_cv(
        ParamReader(objective.module, {"cv_param": params["cv_param"]}, {"cv_param": CV_DEFAULTS})
    )
    if cv.need_cv and model is None and warm_start is None:
        multi = (
            objective.multi_class
            and dataset.labels is not None
            and len(one_vs_rest.classes_of(dataset.labels)) > 2
        )
        run_cv(
            context,
            cv,
            lambda transport, fold, train, test: _fold(
                context, transport, params, parties, objective, train, test, guest
            ),
            mode="hetero",
            data=dataset,
            eval_type="multi" if multi else objective.eval_type,
            metric_names=list(read_validation(callback_reader(objective.module, params)).metrics),
        )
        return
    data = _party_data(dataset, guest)
    tables = context.input_tables("validate_data")
    validate_data = Dataset.from_table(tables[0]) if tables else None
    checkpoints = Checkpoints.of(callback_reader(objective.module, params), context.save_checkpoint)
    if not guest:
        if model is not None:
            predict_host(context.federation, data, model, parties, module=objective.module)
        else:
            result = fit_host(
                context.federation,
                data,
                params,
                parties,
                objective,
                validate_data=validate_data,
                checkpoints=checkpoints,
                warm_start=warm_start,
            )
            _save(context, result.model, result.timings)
        return
    if dataset.labels is None:
        raise InvalidArgument(f"{objective.module} needs the labels at the guest: set with_label")
    if model is not None:
        scores = predict_guest(context.federation, data, model, parties, objective)
        classes = model_classes(model)
    else:
        on_loss, on_class_loss = _loss_loggers(context, "loss")
        fitted = fit_guest(
            context.federation,
            data,
            params,
            parties,
            objective,
            on_loss=on_loss,
            on_class_loss=on_class_loss,
            validate_data=validate_data,
            log_metric=context.log_metric,
            checkpoints=checkpoints,
            warm_start=warm_start,
        )
        _save(context, fitted.model, fitted.timings)
        scores, classes = fitted.scores, fitted.classes
    context.log.info("%s rows scored", len(scores))
    context.save_output_data(_output(objective, dataset, scores, classes, params, kind))


def _party_data(data: Dataset, guest: bool) -> PartyData:
    return PartyData.of(
        data.ids.tolist(),
        data.features,
        data.header,
        data.labels if guest else None,
        data.weights if guest else None,
    )


def _output(
    objective: Objective,
    data: Dataset,
    scores: Floats,
    classes: list[float] | None,
    params: Mapping[str, Any],
    kind: str,
) -> pa.Table:
    """The guest's predictions table: the objective's, or one-vs-rest's over the classes."""
    if classes is None:
        return objective.output(data, scores, params, kind)
    threshold = params["predict_param"]["threshold"]
    return class_prediction_table(data.ids, data.labels, scores, classes, threshold, kind, data.sid)


def _loss_loggers(
    context: TaskContext, name: str
) -> tuple[Callable[[int, float], None], Callable[[int, int, float], None]]:
    """The guest's loss metric, recorded as it comes, as FATE does (watchers see the training
    advance): `train`/`name`, and with one-vs-rest `<name>.model_<k>` for the k-th class's
    model (ours: FATE mixes them in one curve)."""

    def on_loss(iteration: int, loss: float) -> None:
        context.log_metric("train", name, [(iteration, loss)], {**LOSS_META, "curve_name": name})
        context.log.info("iteration %s: loss %.6f", iteration, loss)

    def on_class_loss(index: int, iteration: int, loss: float) -> None:
        metric = f"{name}.model_{index}"
        context.log_metric(
            "train", metric, [(iteration, loss)], {**LOSS_META, "curve_name": metric}
        )
        context.log.info("class %s, iteration %s: loss %.6f", index, iteration, loss)

    return on_loss, on_class_loss


def _fold(
    context: TaskContext,
    transport: Transport,
    params: dict[str, Any],
    parties: Participants,
    objective: Objective,
    train: Dataset | None,
    test: Dataset | None,
    guest: bool,
) -> FoldResult:
    """One fold of cross validation at this party (`sdk/cv.py`); as FATE's, it validates on
    its test rows when `validation_freqs` asks; it keeps no checkpoint."""
    assert train is not None and test is not None  # no arbiter in this protocol
    if not guest:
        host = fit_host(
            transport, _party_data(train, False), params, parties, objective, validate_data=test
        )
        predict_host(
            transport, _party_data(test, False), host.model, parties, module=objective.module
        )
        return FoldResult()
    fitted = fit_guest(
        transport,
        _party_data(train, True),
        params,
        parties,
        objective,
        validate_data=test,
        log_metric=context.log_metric,
    )
    model = fitted.model
    scores = predict_guest(transport, _party_data(test, True), model, parties, objective)
    param = model["param"]
    return FoldResult(
        _output(objective, train, fitted.scores, fitted.classes, params, "train"),
        _output(objective, test, scores, fitted.classes, params, "validate"),
        {key: param[key] for key in ("iters", "is_converged", "loss_history")},
    )


def _save(context: TaskContext, model: Model, timings: Timings) -> None:
    validation_metrics = model.pop("validation_metrics", None)
    context.save_model(model)
    param = model["param"]
    context.log.info("trained: %s iterations, converged: %s", param["iters"], param["is_converged"])
    summary: dict[str, Any] = {
        "is_converged": param["is_converged"],
        "best_iteration": param["best_iteration"],
        "iters": param["iters"],
        "loss_history": param["loss_history"],
        # Where this party's time went, for bench/sshe_lr.py.
        "seconds": timings.seconds,
        "iteration_seconds": timings.iteration_seconds,
    }
    if validation_metrics is not None:
        summary["validation_metrics"] = validation_metrics
    if not param.get("encrypted_weight") and not param.get("need_one_vs_rest"):
        # FATE's summary has no weights when the host's are encrypted.
        summary |= {"coef": param["weight"], "intercept": param["intercept"]}
    if "need_one_vs_rest" in model["meta"]:
        summary["one_vs_rest"] = bool(param.get("need_one_vs_rest"))
    context.save_summary(summary)
