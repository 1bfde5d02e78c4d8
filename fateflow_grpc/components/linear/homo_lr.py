"""HomoLR (FATE's `HomoLR`): logistic regression on rows split between parties, by FedAvg.

    params = validate_parameters(component_parameters)
    model, predictions = fit_guest(transport, X, y, params, participants, header=header)
    model, predictions = fit_host(transport, X, y, params, participants, header=header)
    loss_history = fit_arbiter(transport, params, participants)
    predictions = predict(model, X, y)          # a predict job, at the guest or a host

The guest and the hosts ("clients") each hold rows with every feature and the label. Training
runs in rounds. In round r every client computes the loss of the global model w_r on its rows,
trains it locally for `aggregate_iters` epochs (mini-batches of `batch_size`, the `optimizer`
with its learning rate decayed per epoch as FATE does), and sends the arbiter its update
u = [n * w', n * loss(w_r), n] (n = its row count) under a pairwise mask. The arbiter adds the
masked updates, which leaves sum(u) alone, and sends back w_{r+1} = sum(n * w') / sum(n), the
loss of w_r averaged by rows, and whether training has converged (`early_stop` with `tol`:
`diff` of two successive losses, `abs` loss, or `weight_diff`, the L2 norm of w_{r+1} - w_r).
Training stops when it has, or after `max_iter` epochs.

Secure aggregation (`crypto/secure_aggregation.py`). Each client makes an X25519 key pair and
sends the public key to the arbiter, which relays all of them to every client (with the seed of
the initial model, so all clients start from the same one). Each client masks its fixed-point
update with its pairwise masks; each masked update the arbiter gets is uniformly random on its
own, and their sum is exact. The arbiter learns the sums only: the averaged model, the averaged
loss and the total row count.

Model: a JSON-able dict with FATE's `LRModelParam` fields (`weight` per feature of `header`,
`intercept`, `iters` = epochs trained, `is_converged`, `loss_history`) and `meta` (the training
parameters). Predictions carry FATE's columns: label, predict_result (1 when the score is above
`predict_param.threshold`), predict_score (probability of label 1) and predict_detail.

Sample weights (SampleWeight's), as FATE 1.11 weighs them (its WeightedBCE): a client's loss is
its rows' weighted mean log-loss, sum(w l) / sum(w), in each batch and in the loss it reports,
and its gradient is that loss's; the models are still averaged by row counts.

Departures from FATE, on purpose: the loss reported for round r is that of the global model
the round starts from (it rides with the update instead of costing a round trip of its own);
two classes must be 0 and 1 (more are FATE's one-vs-rest, `one_vs_rest.py`: the guest gathers
the clients' classes and every class gets its model); Paillier `encrypt_param` is refused
(secure aggregation replaces it); validation-set evaluation is accepted only switched off.
Cross validation is `sdk/cv.py`'s, each client over its own rows.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.crypto import secure_aggregation
from fateflow_grpc.components.linear import one_vs_rest
from fateflow_grpc.components.linear.glm_params import STEPWISE_DEFAULTS, refuse_stepwise
from fateflow_grpc.components.sdk.checkpoint import (
    NO_CHECKPOINTS,
    Checkpoints,
    EpochEnd,
    read_save_freq,
)
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.cv import CV_DEFAULTS, CvParams, FoldResult, read_cv, run_cv
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
    read_validation,
)
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FailedPrecondition, FederatedError, InvalidArgument

FloatArray = npt.NDArray[np.float64]
UInt64Array = npt.NDArray[np.uint64]

MODULE = "HomoLR"
PENALTIES = ("L1", "L2", "none")
OPTIMIZERS = ("sgd", "rmsprop", "adam", "adagrad", "nesterov_momentum_sgd")
EARLY_STOPS = ("diff", "weight_diff", "abs")
INIT_METHODS = ("random_uniform", "random_normal", "ones", "zeros", "const")
#: FATE refuses batches smaller than this (`consts.MIN_BATCH_SIZE`); -1 means all rows.
MIN_BATCH_SIZE = 10
#: FATE's `HomoLogisticParam` names and defaults (see the docstring for what is refused).
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
    "decay": 1,
    "decay_sqrt": True,
    "aggregate_iters": 1,
    "use_proximal": False,
    "mu": 0.1,
    "predict_param": {"threshold": 0.5},
    "encrypt_param": {"method": None, "key_length": 1024},
    "re_encrypt_batches": 2,
    "cv_param": {**CV_DEFAULTS, "mode": "homo"},
    "multi_class": "ovr",
    "validation_freqs": None,
    "early_stopping_rounds": None,
    "metrics": ["auc", "ks"],
    "use_first_metric_only": False,
    # The rest of FATE's LogisticParam, which HomoLogisticParam inherits (1.5 to 1.11). FATE's
    # HomoLR reads none of shuffle, batch_strategy, masked_rate and floating_point_precision
    # (they are for HeteroLR): accepted, and unused as there.
    "shuffle": True,
    "batch_strategy": "full",
    "masked_rate": 5,
    "floating_point_precision": 23,
    "stepwise_param": STEPWISE_DEFAULTS,
    "callback_param": CALLBACK_DEFAULTS,
}

# FATE-style transfer variables; tags are `fit` for the handshake and `fit.<round>` after it.
_VARIABLES = "HomoLRTransferVariable"
DH_PUBKEY = f"{_VARIABLES}.dh_pubkey"
DH_PUBKEYS = f"{_VARIABLES}.dh_pubkeys"
MASKED_UPDATE = f"{_VARIABLES}.masked_update"
AGGREGATED_MODEL = f"{_VARIABLES}.aggregated_model"
TAG = "fit"

# The optimizers' constants, FATE's.
_RMSPROP_RHO = 0.99
_ADAM_BETA1, _ADAM_BETA2, _ADAM_EPSILON = 0.9, 0.999, 1e-8
_NESTEROV_MOMENTUM = 0.9
#: Separates HomoLR's masks from any other protocol's made from the same keys.
_MASK_CONTEXT = b"fateflow-grpc HomoLR pairwise mask"


@dataclass(frozen=True)
class InitParams:
    init_method: str
    init_const: float
    fit_intercept: bool
    random_seed: int | None


@dataclass(frozen=True)
class HomoLRParams:
    penalty: str
    tol: float
    alpha: float
    optimizer: str
    batch_size: int
    learning_rate: float
    init_param: InitParams
    max_iter: int
    early_stop: str
    decay: float
    decay_sqrt: bool
    aggregate_iters: int
    use_proximal: bool
    mu: float
    threshold: float
    cv: CvParams
    #: FATE's `metrics`: what cross validation evaluates (empty: auc and ks).
    metrics: tuple[str, ...] = ()
    #: Validation during training: each client scores its own data with the aggregated model.
    validation: ValidationParams = field(default_factory=ValidationParams)
    #: ModelCheckpoint's: every n-th epoch is kept (None: off).
    save_freq: int | None = None

    @property
    def rounds(self) -> int:
        """Aggregations: one per `aggregate_iters` epochs, the last one after `max_iter`."""
        return math.ceil(self.max_iter / self.aggregate_iters)

    def meta(self) -> dict[str, Any]:
        """FATE's `LRModelMeta` fields (what a predict job needs, and what the model shows)."""
        return {
            "penalty": self.penalty,
            "tol": self.tol,
            "alpha": self.alpha,
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "max_iter": self.max_iter,
            "early_stop": self.early_stop,
            "fit_intercept": self.init_param.fit_intercept,
            "aggregate_iters": self.aggregate_iters,
            "threshold": self.threshold,
            "need_one_vs_rest": False,
            "module": MODULE,
        }


def validate_parameters(params: Mapping[str, Any] | None = None) -> HomoLRParams:
    """FATE's defaults filled in; InvalidArgument naming the first parameter that is wrong."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    init = reader.section("init_param")
    batch_size = reader.integer("batch_size", minimum=-1)
    if batch_size != -1 and batch_size < MIN_BATCH_SIZE:
        raise reader.error(
            "batch_size", batch_size, f"must be -1 (all rows) or at least {MIN_BATCH_SIZE}"
        )
    penalty = "none" if reader.raw("penalty") is None else reader.choice("penalty", PENALTIES)
    encrypt = reader.section("encrypt_param")
    encrypt.only("method", None, "HomoLR aggregates under pairwise masks, not Paillier")
    encrypt.integer("key_length", minimum=1)
    reader.integer("re_encrypt_batches", minimum=0)
    cv = read_cv(reader)
    reader.choice("multi_class", ("ovr",))
    validation = read_validation(reader)
    if validation.early_stopping_rounds is not None:
        section = reader.section("callback_param") if reader.changed("callback_param") else reader
        raise section.error(
            "early_stopping_rounds",
            validation.early_stopping_rounds,
            "cannot be set: early stopping is not supported for homo algorithms (FATE's rule)",
        )
    metrics = reader.raw("metrics")
    if metrics is not None and not isinstance(metrics, list):
        raise reader.error("metrics", metrics, "must be a list of metric names")
    reader.boolean("shuffle")
    reader.choice("batch_strategy", ("full", "random"))
    reader.number("masked_rate", minimum=0)
    if reader.raw("floating_point_precision") is not None:
        reader.integer("floating_point_precision", minimum=0, maximum=63)
    refuse_stepwise(reader, MODULE)
    seed = init.raw("random_seed")
    return HomoLRParams(
        penalty=penalty,
        tol=reader.number("tol", minimum=0),
        alpha=reader.number("alpha", minimum=0),
        optimizer=reader.choice("optimizer", OPTIMIZERS),
        batch_size=batch_size,
        learning_rate=reader.number("learning_rate", above=0),
        init_param=InitParams(
            init_method=init.choice("init_method", INIT_METHODS),
            init_const=init.number("init_const"),
            fit_intercept=init.boolean("fit_intercept"),
            random_seed=None if seed is None else init.integer("random_seed", minimum=0),
        ),
        max_iter=reader.integer("max_iter", minimum=1),
        early_stop=reader.choice("early_stop", EARLY_STOPS),
        decay=reader.number("decay", minimum=0),
        decay_sqrt=reader.boolean("decay_sqrt"),
        aggregate_iters=reader.integer("aggregate_iters", minimum=1),
        use_proximal=reader.boolean("use_proximal"),
        mu=reader.number("mu", minimum=0),
        threshold=reader.section("predict_param").number("threshold", minimum=0, maximum=1),
        cv=cv,
        metrics=tuple(metrics or ()),
        validation=validation,
        save_freq=read_save_freq(reader),
    )


# --- role functions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Predictions:
    """FATE's prediction columns, one row per input row."""

    label: npt.NDArray[np.int64] | None
    predict_result: npt.NDArray[np.int64]
    predict_score: FloatArray
    #: One-vs-rest: the classes, and each class's probability per row.
    classes: list[float] | None = None
    probabilities: FloatArray | None = None

    COLUMNS = ("label", "predict_result", "predict_score", "predict_detail")

    def predict_detail(self) -> list[dict[str, float]]:
        return [{"0": 1.0 - float(s), "1": float(s)} for s in self.predict_score]

    def rows(self) -> list[list[Any]]:
        """Rows of `COLUMNS`, JSON-able; label is None when predicting unlabelled rows."""
        labels: list[int | None] = (
            [int(v) for v in self.label] if self.label is not None else [None] * len(self)
        )
        return [
            [label, int(result), float(score), detail]
            for label, result, score, detail in zip(
                labels, self.predict_result, self.predict_score, self.predict_detail(), strict=True
            )
        ]

    def __len__(self) -> int:
        return len(self.predict_score)

    def table(
        self,
        ids: npt.NDArray[Any],
        labels: npt.ArrayLike | None,
        threshold: float,
        kind: str,
        sid: str,
    ) -> pa.Table:
        """FATE's prediction table of these predictions (`type` `kind`)."""
        given = None if labels is None else np.asarray(labels, dtype=np.float64)
        if self.classes is None or self.probabilities is None:
            return prediction_table(ids, given, self.predict_score, threshold, kind, sid)
        return class_prediction_table(
            ids, given, self.probabilities, self.classes, threshold, kind, sid
        )


def fit_guest(
    transport: Transport,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    params: HomoLRParams,
    parties: Participants,
    *,
    header: Sequence[str] | None = None,
    sample_weights: npt.ArrayLike | None = None,
    timeout: float = GET_TIMEOUT_S,
    validate_data: Dataset | None = None,
    log_metric: LogMetric | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> tuple[dict[str, Any], Predictions]:
    """Train with the hosts through the arbiter; the model and its predictions on `X`.
    `sample_weights`, one per row, weigh each row's loss. The classes are the union of every
    client's (the hosts send theirs, FATE's `host_classes`); with more than two, one model per
    class (`one_vs_rest.py`)."""
    own = set(one_vs_rest.classes_of(_checked_labels(X, y, parties)))
    hosts = list(parties.hosts)
    for sent, host in zip(
        transport.get(one_vs_rest.HOST_CLASSES, TAG, hosts, timeout), hosts, strict=True
    ):
        own |= set(_read_classes(sent, f"{host.role} {host.party_id}"))
    classes = sorted(own)
    transport.remote(classes, one_vs_rest.AGGREGATE_CLASSES, TAG, hosts)
    transport.remote(len(classes), one_vs_rest.AGGREGATE_CLASSES, TAG, [parties.require_arbiter()])
    return _fit_classes(
        transport,
        X,
        y,
        params,
        parties,
        header,
        sample_weights,
        timeout,
        classes,
        validate_data,
        log_metric,
        checkpoints,
    )


def fit_host(
    transport: Transport,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    params: HomoLRParams,
    parties: Participants,
    *,
    header: Sequence[str] | None = None,
    sample_weights: npt.ArrayLike | None = None,
    timeout: float = GET_TIMEOUT_S,
    validate_data: Dataset | None = None,
    log_metric: LogMetric | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> tuple[dict[str, Any], Predictions]:
    """A host trains as the guest does (in HomoLR both are clients of the arbiter), on the
    classes the guest gathered."""
    guest = parties.guest
    transport.remote(
        one_vs_rest.classes_of(_checked_labels(X, y, parties)),
        one_vs_rest.HOST_CLASSES,
        TAG,
        [guest],
    )
    [sent] = transport.get(one_vs_rest.AGGREGATE_CLASSES, TAG, [guest], timeout)
    classes = _read_classes(sent, f"guest {guest.party_id}")
    return _fit_classes(
        transport,
        X,
        y,
        params,
        parties,
        header,
        sample_weights,
        timeout,
        classes,
        validate_data,
        log_metric,
        checkpoints,
    )


def _fit_classes(
    transport: Transport,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    params: HomoLRParams,
    parties: Participants,
    header: Sequence[str] | None,
    sample_weights: npt.ArrayLike | None,
    timeout: float,
    classes: list[float],
    validate_data: Dataset | None,
    log_metric: LogMetric | None,
    checkpoints: Checkpoints,
) -> tuple[dict[str, Any], Predictions]:
    if len(classes) <= 2:
        return _fit_client(
            transport,
            X,
            y,
            params,
            parties,
            header,
            sample_weights,
            timeout,
            validate_data,
            log_metric,
            epoch_end=checkpoints.epoch_end,
        )
    values = _label_values(y)
    models = []
    for index, label in enumerate(classes):
        model, _ = _fit_client(
            one_vs_rest.sub_transport(transport, index),
            X,
            (values == label).astype(np.float64),
            params,
            parties,
            header,
            sample_weights,
            timeout,
            one_vs_rest.as_class(validate_data, label),
            log_metric,
            data_set_prefix=f"model_{index}.",
            epoch_end=checkpoints.of_class(index),
        )
        models.append({name: value for name, value in model.items() if name != "meta"})
    combined = {
        **one_vs_rest.combine(models[0]["header"], models, classes),
        "meta": {**params.meta(), "need_one_vs_rest": True},
    }
    return combined, predict(combined, X, y)


def _checked_labels(X: npt.ArrayLike, y: npt.ArrayLike, parties: Participants) -> FloatArray:
    """The labels, once the data and the parties are known good: nothing is sent before."""
    parties.require_arbiter()
    labels = _label_values(y)
    rows = len(_features(X))
    if len(labels) != rows:
        raise InvalidArgument(f"HomoLR: {len(labels)} labels for {rows} rows")
    return labels


def _score_round(
    validation: Validation,
    round_: int,
    weights: FloatArray,
    params: HomoLRParams,
    names: list[str],
    features: FloatArray,
    labels: FloatArray,
    validate_data: Dataset | None,
) -> None:
    """Score this client's train and validate rows with the round's aggregated model (the
    tables' ids are positions: the metrics read labels and scores only)."""
    coef, intercept = _split(weights, params.init_param.fit_intercept)
    model = {
        "header": names,
        "weight": dict(zip(names, coef.tolist(), strict=True)),
        "intercept": intercept,
        "meta": params.meta(),
    }
    train = predict(model, features, labels).table(
        np.arange(len(labels)).astype(str), labels, params.threshold, "train", "id"
    )
    checked = None
    if validate_data is not None:
        checked = predict(
            model, validate_data.features, validate_data.labels, header=validate_data.header
        ).table(
            np.arange(len(validate_data.ids)).astype(str),
            validate_data.labels,
            params.threshold,
            "validate",
            "id",
        )
    validation.score(round_, train=train, validate=checked)


def _label_values(y: npt.ArrayLike) -> FloatArray:
    try:
        values = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument("HomoLR labels must be numbers") from None
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise InvalidArgument("HomoLR labels must be one finite number per row")
    return values


def _read_classes(sent: object, sender: str) -> list[float]:
    if not isinstance(sent, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in sent
    ):
        raise FederatedError(f"{sender} sent classes that are not a list of numbers")
    return [float(v) for v in sent]


def fit_arbiter(
    transport: Transport,
    params: HomoLRParams,
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> list[list[float]]:
    """Aggregate the models of each class (one, for two classes); the loss history of each
    model."""
    [count] = transport.get(one_vs_rest.AGGREGATE_CLASSES, TAG, [parties.guest], timeout)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise FederatedError("the guest sent a class count that is not a whole number")
    if count <= 2:
        return [_aggregate(transport, params, parties, timeout, checkpoints.epoch_end)]
    return [
        _aggregate(
            one_vs_rest.sub_transport(transport, index),
            params,
            parties,
            timeout,
            checkpoints.of_class(index),
        )
        for index in range(count)
    ]


def _aggregate(
    transport: Transport,
    params: HomoLRParams,
    parties: Participants,
    timeout: float,
    epoch_end: EpochEnd | None = None,
) -> list[float]:
    """Relay the clients' keys, then aggregate each round; the loss of each round's model.
    `epoch_end` as the clients', with the arbiter's model (the losses so far)."""
    clients = _clients(parties)
    hellos = transport.get(DH_PUBKEY, TAG, clients, timeout)
    keys, features = _read_hellos(hellos, clients)
    seed = (
        params.init_param.random_seed
        if params.init_param.random_seed is not None
        else secrets.randbits(63)
    )
    transport.remote({"public_keys": keys, "init_seed": seed}, DH_PUBKEYS, TAG, clients)

    weights = initial_weights(params.init_param, features, seed)
    size = len(weights) + 2
    history: list[float] = []
    for round_ in range(params.rounds):
        tag = f"{TAG}.{round_}"
        total = np.zeros(size, np.uint64)
        for update, client in zip(
            transport.get(MASKED_UPDATE, tag, clients, timeout), clients, strict=True
        ):
            if not (
                isinstance(update, np.ndarray)
                and update.dtype == np.uint64
                and update.shape == (size,)
            ):
                raise InvalidArgument(
                    f"{client.role} {client.party_id} sent an update that is not {size} uint64"
                )
            total += update  # wraps modulo 2^64, where the masks cancel
        summed = secure_aggregation.from_fixed(total)
        count = summed[-1]
        if count <= 0:
            raise FailedPrecondition("HomoLR clients have no rows to train on")
        new_weights = summed[:-2] / count
        history.append(float(summed[-2] / count))
        converged = _converged(params, history, weights, new_weights)
        weights = new_weights
        transport.remote(
            {"weights": weights.tolist(), "loss": history[-1], "converged": converged},
            AGGREGATED_MODEL,
            tag,
            clients,
        )
        if epoch_end is not None:
            epochs = min((round_ + 1) * params.aggregate_iters, params.max_iter)
            epoch_end(epochs - 1, partial(_arbiter_model, list(history)))
        if converged:
            break
    return history


def _arbiter_model(history: list[float] | list[list[float]]) -> dict[str, Any]:
    """The arbiter's model: the loss history (of each class's model with one-vs-rest)."""
    return {"loss_history": history}


def predict(
    model: Mapping[str, Any],
    X: npt.ArrayLike,
    labels: npt.ArrayLike | None = None,
    *,
    header: Sequence[str] | None = None,
    threshold: float | None = None,
) -> Predictions:
    """Score rows with a trained model; `header` (the data's columns) reorders them by name."""
    parts = one_vs_rest.split(model)
    if parts is not None:
        classes, params = parts
        scored = [
            predict({**part, "meta": model["meta"]}, X, header=header, threshold=threshold)
            for part in params
        ]
        probabilities = np.column_stack([p.predict_score for p in scored])
        best = np.argmax(probabilities, axis=1)
        return Predictions(
            label=None if labels is None else _label_values(labels).astype(np.int64),
            predict_result=np.asarray(classes)[best].astype(np.int64),
            predict_score=probabilities.max(axis=1),
            classes=classes,
            probabilities=probabilities,
        )
    features = _features(X)
    model_header = list(model["header"])
    if header is not None:
        missing = [name for name in model_header if name not in header]
        if missing:
            raise InvalidArgument(f"HomoLR predict: the data has no feature {missing[0]}")
        features = features[:, [list(header).index(name) for name in model_header]]
    if features.shape[1] != len(model_header):
        raise InvalidArgument(
            f"HomoLR predict: the data has {features.shape[1]} features, "
            f"the model {len(model_header)}"
        )
    coef = np.array([model["weight"][name] for name in model_header], np.float64)
    scores = _sigmoid(features @ coef + float(model["intercept"]))
    cut = float(model["meta"]["threshold"]) if threshold is None else threshold
    return Predictions(
        label=None if labels is None else _labels(labels, len(features)).astype(np.int64),
        # Strictly above, as FATE's predict_result and our Evaluation count a positive.
        predict_result=(scores > cut).astype(np.int64),
        predict_score=scores,
    )


def initial_weights(init: InitParams, features: int, seed: int) -> FloatArray:
    """The model every party starts from: FATE's initialisers, drawn from `seed`."""
    size = features + int(init.fit_intercept)
    rng = np.random.default_rng(seed)
    if init.init_method == "random_uniform":
        return rng.random(size)  # FATE's np.random.rand: uniform on [0, 1)
    if init.init_method == "random_normal":
        return rng.standard_normal(size)
    if init.init_method == "ones":
        return np.ones(size)
    if init.init_method == "zeros":
        return np.zeros(size)
    return np.full(size, init.init_const)


# --- the client ------------------------------------------------------------------------------


def _fit_client(
    transport: Transport,
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    params: HomoLRParams,
    parties: Participants,
    header: Sequence[str] | None,
    sample_weights: npt.ArrayLike | None,
    timeout: float,
    validate_data: Dataset | None = None,
    log_metric: LogMetric | None = None,
    *,
    data_set_prefix: str = "",
    epoch_end: EpochEnd | None = None,
) -> tuple[dict[str, Any], Predictions]:
    """One model's training at a client. `epoch_end` is called after each aggregation with
    the last epoch it covers and the aggregated model (ModelCheckpoint's)."""
    features = _features(X)
    labels = _labels(y, len(features))
    validation = (
        Validation(
            params.validation,
            "binary",
            log_metric=log_metric or (lambda *_: None),
            data_set_prefix=data_set_prefix,
        )
        if params.validation.enabled
        else None
    )
    rows, width = features.shape
    row_weights = np.ones(rows) if sample_weights is None else _weights(sample_weights, rows)
    names = list(header) if header is not None else [f"x{k}" for k in range(width)]
    if len(names) != width:
        raise InvalidArgument(f"HomoLR: a header of {len(names)} names for {width} features")
    arbiter = [parties.require_arbiter()]
    clients = _clients(parties)

    private, public = secure_aggregation.new_key_pair()
    hello = {"public_key": public.hex(), "features": width, "header": _header_digest(names)}
    transport.remote(hello, DH_PUBKEY, TAG, arbiter)
    [relay] = transport.get(DH_PUBKEYS, TAG, arbiter, timeout)
    keys, seed = _read_relay(relay, len(clients))
    if keys.count(public) != 1:
        raise InvalidArgument("the arbiter did not relay this client's HomoLR public key")
    masks = secure_aggregation.PairwiseMasks(private, public, keys, _MASK_CONTEXT)

    weights = initial_weights(params.init_param, width, seed)
    optimizer = _Optimizer(params, len(weights))
    batches = _batches(rows, params.batch_size, np.random.default_rng([seed, masks.position]))
    update_limit = 2.0 ** (63 - secure_aggregation.FIXED_POINT_BITS) / len(clients)
    history: list[float] = []
    epoch = 0
    converged = False
    for round_ in range(params.rounds):
        tag = f"{TAG}.{round_}"
        start = weights
        loss = _loss(start, features, labels, row_weights, params)
        local = start.copy()
        for _ in range(min(params.aggregate_iters, params.max_iter - epoch)):
            for batch in batches:
                gradient = _gradient(
                    local, features[batch], labels[batch], row_weights[batch], params, start
                )
                local = optimizer.step(local, gradient, epoch)
            epoch += 1
        update = np.concatenate([rows * local, [rows * loss, rows]])
        if not np.all(np.isfinite(update)) or np.max(np.abs(update)) >= update_limit:
            raise FailedPrecondition(
                "HomoLR diverged: the local model is too large to aggregate; "
                "try a smaller learning_rate or a larger alpha"
            )
        transport.remote(
            masks.mask(secure_aggregation.to_fixed(update), round_), MASKED_UPDATE, tag, arbiter
        )
        [reply] = transport.get(AGGREGATED_MODEL, tag, arbiter, timeout)
        weights, reply_loss, converged = _read_reply(reply, len(weights))
        history.append(reply_loss)
        if validation is not None and validation.due(round_):
            _score_round(
                validation, round_, weights, params, names, features, labels, validate_data
            )
        if epoch_end is not None:
            epoch_end(
                epoch - 1, partial(_client_model, params, names, weights, epoch, converged, history)
            )
        if converged:
            break
    model = _client_model(params, names, weights, epoch, converged, history)
    return model, predict(model, features, labels)


def _client_model(
    params: HomoLRParams,
    names: list[str],
    weights: FloatArray,
    epochs: int,
    converged: bool,
    history: list[float],
) -> dict[str, Any]:
    coef, intercept = _split(weights, params.init_param.fit_intercept)
    return {
        "header": names,
        "weight": {name: float(w) for name, w in zip(names, coef, strict=True)},
        "intercept": intercept,
        "iters": epochs,
        "is_converged": converged,
        "loss_history": list(history),
        "need_one_vs_rest": False,
        "meta": params.meta(),
    }


class _Optimizer:
    """FATE's optimizers: a step on the weights from a gradient, with per-epoch decayed rate."""

    def __init__(self, params: HomoLRParams, size: int) -> None:
        self._params = params
        self._first = np.zeros(size)  # momentum, or the running mean of squared gradients
        self._second = np.zeros(size)  # Adam's second moment
        self._steps = 0

    def rate(self, epoch: int) -> float:
        p = self._params
        scale = 1 + p.decay * epoch
        return p.learning_rate / (math.sqrt(scale) if p.decay_sqrt else scale)

    def step(self, weights: FloatArray, gradient: FloatArray, epoch: int) -> FloatArray:
        p = self._params
        rate = self.rate(epoch)
        self._steps += 1
        if p.optimizer == "sgd":
            delta = rate * gradient
        elif p.optimizer == "rmsprop":
            self._first = _RMSPROP_RHO * self._first + (1 - _RMSPROP_RHO) * gradient**2
            delta = rate * gradient / np.sqrt(self._first + 1e-6)
        elif p.optimizer == "adagrad":
            self._first = self._first + gradient**2
            delta = rate * gradient / np.sqrt(self._first + 1e-7)
        elif p.optimizer == "adam":
            self._first = _ADAM_BETA1 * self._first + (1 - _ADAM_BETA1) * gradient
            self._second = _ADAM_BETA2 * self._second + (1 - _ADAM_BETA2) * gradient**2
            first = self._first / (1 - _ADAM_BETA1**self._steps)
            second = self._second / (1 - _ADAM_BETA2**self._steps)
            delta = rate * first / (np.sqrt(second) + _ADAM_EPSILON)
        else:  # nesterov_momentum_sgd, in Sutskever's form
            previous = self._first
            self._first = _NESTEROV_MOMENTUM * previous - rate * gradient
            delta = _NESTEROV_MOMENTUM * previous - (1 + _NESTEROV_MOMENTUM) * self._first
        updated: FloatArray = weights - delta
        if p.penalty == "L1":
            # L1 by its proximal step (soft thresholding), never on the intercept.
            coef = updated[: len(updated) - int(p.init_param.fit_intercept)]
            coef[:] = np.sign(coef) * np.maximum(np.abs(coef) - p.alpha * rate, 0.0)
        return updated


def _gradient(
    weights: FloatArray,
    features: FloatArray,
    labels: FloatArray,
    sample_weights: FloatArray,
    params: HomoLRParams,
    start: FloatArray,
) -> FloatArray:
    """The gradient of the weighted mean log-loss, with L2 (on the coefficients) and FedProx's
    proximal term."""
    fit_intercept = params.init_param.fit_intercept
    coef, intercept = _split(weights, fit_intercept)
    error = (_sigmoid(features @ coef + intercept) - labels) * sample_weights
    total = float(sample_weights.sum()) or 1.0  # a batch of weight 0 moves nothing
    gradient = features.T @ error / total
    if params.penalty == "L2":
        gradient = gradient + params.alpha * coef
    if fit_intercept:
        gradient = np.append(gradient, error.sum() / total)
    if params.use_proximal:
        gradient = gradient + params.mu * (weights - start)
    return gradient


def _loss(
    weights: FloatArray,
    features: FloatArray,
    labels: FloatArray,
    sample_weights: FloatArray,
    params: HomoLRParams,
) -> float:
    """Weighted mean log-loss plus FATE's penalty term (alpha/2 |w|^2 for L2, alpha |w|_1 for
    L1)."""
    coef, intercept = _split(weights, params.init_param.fit_intercept)
    z = features @ coef + intercept
    # log(1 + e^-z) for label 1 and log(1 + e^z) for label 0, without overflow.
    each = np.logaddexp(0.0, np.where(labels == 1, -z, z))
    loss = float(each @ sample_weights / sample_weights.sum()) if len(labels) else 0.0
    if params.penalty == "L2":
        loss += 0.5 * params.alpha * float(coef @ coef)
    elif params.penalty == "L1":
        loss += params.alpha * float(np.abs(coef).sum())
    return loss


def _converged(
    params: HomoLRParams, history: Sequence[float], old: FloatArray, new: FloatArray
) -> bool:
    if params.early_stop == "diff":
        return len(history) >= 2 and abs(history[-1] - history[-2]) < params.tol
    if params.early_stop == "abs":
        return history[-1] < params.tol
    return float(np.linalg.norm(new - old)) < params.tol


def _batches(rows: int, batch_size: int, rng: np.random.Generator) -> list[npt.NDArray[np.intp]]:
    """Row indices of each mini-batch: all rows, or a random split made once, as FATE's MiniBatch."""
    if batch_size == -1 or batch_size >= rows:
        return [np.arange(rows)]
    order = rng.permutation(rows)
    return [order[start : start + batch_size] for start in range(0, rows, batch_size)]


# --- values and the wire ----------------------------------------------------------------------


def _clients(parties: Participants) -> list[PartyRole]:
    return [parties.guest, *parties.hosts]


def _split(weights: FloatArray, fit_intercept: bool) -> tuple[FloatArray, float]:
    if fit_intercept:
        return weights[:-1], float(weights[-1])
    return weights, 0.0


def _sigmoid(z: FloatArray) -> FloatArray:
    result: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|
    return result


def _features(X: npt.ArrayLike) -> FloatArray:
    try:
        features = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidArgument("HomoLR features must be numbers") from None
    if features.ndim != 2:
        raise InvalidArgument(f"HomoLR features must be a table, not of shape {features.shape}")
    if not np.all(np.isfinite(features)):
        raise InvalidArgument("HomoLR features must be finite: fill missing values first")
    return features


def _labels(y: npt.ArrayLike, rows: int) -> FloatArray:
    labels = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(labels) != rows:
        raise InvalidArgument(f"HomoLR: {len(labels)} labels for {rows} rows")
    if not np.all((labels == 0) | (labels == 1)):
        raise InvalidArgument("HomoLR labels must be 0 or 1 (binary classification)")
    return labels


def _weights(values: npt.ArrayLike, rows: int) -> FloatArray:
    weights = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(weights) != rows or not np.all(np.isfinite(weights)) or weights.sum() <= 0:
        raise InvalidArgument(f"HomoLR: {rows} rows need {rows} finite weights of positive sum")
    return weights


def _header_digest(names: Sequence[str]) -> str:
    """What the arbiter compares across clients: their columns must be the same, in order."""
    return hashlib.sha256("\x1f".join(names).encode()).hexdigest()


def _read_hellos(hellos: Sequence[object], clients: Sequence[PartyRole]) -> tuple[list[str], int]:
    keys: list[str] = []
    shapes: set[tuple[int, str]] = set()
    for hello, client in zip(hellos, clients, strict=True):
        try:
            assert isinstance(hello, dict)
            key, features, digest = hello["public_key"], hello["features"], hello["header"]
            assert len(bytes.fromhex(key)) == 32 and isinstance(features, int)
            assert isinstance(digest, str)
        except (AssertionError, KeyError, TypeError, ValueError):
            raise InvalidArgument(
                f"{client.role} {client.party_id} sent no HomoLR public key"
            ) from None
        keys.append(key)
        shapes.add((features, digest))
    if len(shapes) != 1:
        raise InvalidArgument(
            "HomoLR clients must have the same feature columns in the same order; they have "
            + ", ".join(f"{features} features" for features, _ in sorted(shapes))
        )
    if len(set(keys)) != len(keys):
        raise InvalidArgument("two HomoLR clients sent the same public key")
    return keys, shapes.pop()[0]


def _read_relay(relay: object, clients: int) -> tuple[list[bytes], int]:
    try:
        assert isinstance(relay, dict)
        keys = [bytes.fromhex(key) for key in relay["public_keys"]]
        seed = relay["init_seed"]
        assert isinstance(seed, int) and len(keys) == clients
    except (AssertionError, KeyError, TypeError, ValueError):
        raise InvalidArgument("the arbiter relayed no HomoLR public keys") from None
    return keys, seed


def _read_reply(reply: object, size: int) -> tuple[FloatArray, float, bool]:
    try:
        assert isinstance(reply, dict)
        weights = np.asarray(reply["weights"], dtype=np.float64)
        loss, converged = float(reply["loss"]), reply["converged"]
        assert weights.shape == (size,) and isinstance(converged, bool)
    except (AssertionError, KeyError, TypeError, ValueError):
        raise InvalidArgument("the arbiter sent no HomoLR model") from None
    return weights, loss, converged


# --- the component ----------------------------------------------------------------------


def _validate(params: dict[str, Any]) -> dict[str, Any]:
    validate_parameters(params)
    return params


class HomoLR:
    info = ModuleInfo(
        name="HomoLR",
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=_validate,
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        trained = context.input_models()
        checkpoints = Checkpoints(params.save_freq, context.save_checkpoint)
        if params.cv.need_cv and not trained:
            data = None if context.task.role == "arbiter" else learner_input(context)[0]
            multi = (
                data is not None
                and data.labels is not None
                and (len(one_vs_rest.classes_of(data.labels)) > 2)
            )
            run_cv(
                context,
                params.cv,
                lambda transport, fold, train, test: self._fold(
                    context, params, parties, transport, fold, train, test
                ),
                mode="homo",
                data=data,
                eval_type="multi" if multi else "binary",
                metric_names=params.metrics,
            )
            return
        if context.task.role == "arbiter":
            if trained:
                return  # scoring needs no aggregation
            histories = fit_arbiter(context.federation, params, parties, checkpoints=checkpoints)
            _log_losses(context, "loss", histories)
            summary: dict[str, Any] = {"loss_history": histories[0], "iters": len(histories[0])}
            if len(histories) > 1:
                summary = {"loss_history": histories, "iters": [len(h) for h in histories]}
            context.save_summary(summary)
            context.save_model(_arbiter_model(summary["loss_history"]))
            return
        data, kind = learner_input(context)
        if data.labels is None:
            raise InvalidArgument("HomoLR needs labelled data at every client: set with_label")
        if trained and kind == "train":
            raise InvalidArgument(
                "HomoLR: warm start (a model input beside train_data) is not implemented; "
                "give the model with test_data or data to predict"
            )
        if trained:
            (model,) = trained.values()
            predictions = predict(model, data.features, data.labels, header=data.header)
        else:
            fit = fit_guest if context.task.role == "guest" else fit_host
            validate_tables = context.input_tables("validate_data")
            model, predictions = fit(
                context.federation,
                data.features,
                data.labels,
                params,
                parties,
                header=data.header,
                sample_weights=data.weights,
                validate_data=Dataset.from_table(validate_tables[0]) if validate_tables else None,
                log_metric=context.log_metric,
                checkpoints=checkpoints,
            )
            context.save_model(model)
            context.save_summary({"iters": model["iters"], "is_converged": model["is_converged"]})
        context.save_output_data(
            predictions.table(data.ids, data.labels, params.threshold, kind, data.sid)
        )

    @staticmethod
    def _fold(
        context: TaskContext,
        params: HomoLRParams,
        parties: Participants,
        transport: Transport,
        fold: int,
        train: Dataset | None,
        test: Dataset | None,
    ) -> FoldResult:
        """One fold of cross validation at this party: every client scores its own rows."""
        if train is None or test is None:
            histories = fit_arbiter(transport, params, parties)
            _log_losses(context, f"loss.{fold}", histories, str(fold))
            return FoldResult(summary={"loss_history": histories})
        if train.labels is None or test.labels is None:
            raise InvalidArgument("HomoLR needs labelled data at every client: set with_label")
        fit = fit_guest if context.task.role == "guest" else fit_host
        model, fitted = fit(
            transport,
            train.features,
            train.labels,
            params,
            parties,
            header=train.header,
            sample_weights=train.weights,
            # FATE's folds validate on their test rows (its fit(train, test)).
            validate_data=test,
            log_metric=context.log_metric,
        )
        scored = predict(model, test.features, test.labels, header=test.header)
        return FoldResult(
            fitted.table(train.ids, train.labels, params.threshold, "train", train.sid),
            scored.table(test.ids, test.labels, params.threshold, "validate", test.sid),
            {"iters": model["iters"], "is_converged": model["is_converged"]},
        )


def _log_losses(
    context: TaskContext, name: str, histories: list[list[float]], curve: str | None = None
) -> None:
    """The arbiter's loss curve: FATE's `loss` (`loss.<fold>` in a fold, curve `<fold>`); with
    one-vs-rest, `<name>.model_<k>` for the k-th class's model (ours: FATE mixes them)."""
    for index, losses in enumerate(histories):
        metric = name if len(histories) == 1 else f"{name}.model_{index}"
        meta = {
            "name": "loss",
            "metric_type": "LOSS",
            "unit_name": "iters",
            "curve_name": curve or metric,
        }
        context.log_metric("train", metric, list(enumerate(losses)), meta)
