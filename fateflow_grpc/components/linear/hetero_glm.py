"""FATE 1.x's coordinated hetero GLM protocol (guest with the labels, hosts, an arbiter with the
Paillier key), for any link: `Family` says what differs between HeteroLinR (identity link) and
HeteroPoisson (log link); the rounds, the wire, the masked decryption and the optimizers are
HeteroLR's (`hetero_lr.py`, whose docstring describes them), reused from there.

Per iteration i and batch b (tag `fit.i.b`), u = X w the forward of a party:

1. each host sends [[f(u_h)]] (`host_forward_dict`: u_h for LinR, exp(u_h) for Poisson);
2. the guest forms the residual [[d]] from a fresh encryption of its own part and the hosts'
   forwards (LinR: d = (u_g - y) + sum u_h; Poisson: d = exp(u_g + log exposure) * exp(u_h)
   - y) and sends it to the hosts (`fore_gradient`);
3. every party sends X^T [[d]] masked to the arbiter, removes the mask from the answer, divides
   by the batch size and steps its own optimizer (as HeteroLR);
4. with one host the guest assembles the encrypted loss from the host's `loss_intermediate`
   (LinR: [[sum u_h^2]], loss mean((u - y)^2) / 2; Poisson: [[u_h]] per row, loss
   mean(mu - y (u + log exposure)), FATE's, without log(y!)), adds the penalties and sends it
   to the arbiter, which decrypts it, decides convergence and tells everyone.

Sample weights (LinR; FATE's Poisson ignores them, and so does ours) weigh each row's residual
and loss, as HeteroLR's do, the host's [[sum w u_h^2]] from the encrypted weights.

Around the protocol, as HeteroLR's and FATE 1.5-1.11's:

* validation during training (`validation_freqs`, `early_stopping_rounds`, `metrics`,
  `use_first_metric_only`, top-level or in `callback_param`; `sdk/validation.py`, eval type
  regression): at each due iteration the guest scores its training rows and the
  `validate_data` rows with the hosts' plaintext forwards (flowids `validate.<k>.train` and
  `validate.<k>.validate`), logs the metrics as the data set `iteration_<k>`, and with early
  stopping tells the hosts and the arbiter whether to stop and which iteration's weights every
  party keeps (HeteroLR's `validation_status`);
* cross validation (`cv_param`; `sdk/cv.py`): each fold trains on its training rows,
  validating on its test rows, with the arbiter's loss curve `loss.<fold>`;
* ModelCheckpoint (`callback_param.callbacks`; `sdk/checkpoint.py`): every party keeps its
  model after each `save_freq`-th iteration (folds keep none);
* warm start: a model input beside train_data goes on from the model's weights, iterations and
  loss history (the optimizer's moments start afresh, as FATE's do).

Stepwise selection (`stepwise.py`) is refused together with validation, cross validation,
ModelCheckpoint or a warm start.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.evaluation import metrics
from fateflow_grpc.components.linear import glm_params, sshe, stepwise
from fateflow_grpc.components.linear import hetero_lr as lr
from fateflow_grpc.components.sdk.checkpoint import Checkpoints, read_save_freq
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.cv import FoldResult, read_cv, run_cv
from fateflow_grpc.components.sdk.learning import (
    TRAIN_KINDS,
    learner_input,
    regression_prediction_table,
)
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.components.sdk.validation import LogMetric, Validation, due, read_validation
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

Floats = npt.NDArray[np.float64]
Encrypted = list[paillier.EncryptedNumber]
Model = dict[str, Any]

#: FATE's StochasticQuasiNewtonParam defaults (LinR's `sqn_param`).
SQN_DEFAULTS = {"update_interval_L": 3, "memory_M": 5, "sample_size": 5000, "random_seed": None}
#: What the SSHE tables have that the coordinated GLMs do not.
_SSHE_ONLY = ("use_mix_rand", "reveal_strategy", "reveal_every_iter")


def defaults(*, optimizer: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """FATE's LinearParam / PoissonParam (1.5 to 1.11): every name, FATE's default."""
    table = {
        k: v
        for k, v in sshe.defaults(optimizer=optimizer, max_iter=20, classifier=False).items()
        if k not in _SSHE_ONLY
    }
    # FATE 1.5's parameter classes take a predict_param (unused by regression).
    return table | {"predict_param": {"threshold": 0.5}} | dict(extra)


def validate(
    module: str, params: Mapping[str, Any] | None, table: Mapping[str, Any]
) -> ParamReader:
    """FATE's LinearModelParam checks, and refusals by name of what is not implemented; the
    reader for the module's own names."""
    reader = ParamReader(module, params, table)
    penalty = reader.raw("penalty")
    if penalty is not None:
        reader.choice("penalty", lr.PENALTIES)
    if str(reader.raw("optimizer")).lower() == "sqn":
        raise reader.error("optimizer", "sqn", glm_params.SQN_REFUSED)
    reader.choice("optimizer", ("sgd", "rmsprop", "adam", "adagrad"))
    lr._batch_size(reader)
    init = reader.section("init_param")
    init.choice("init_method", lr.INIT_METHODS)
    init.number("init_const")
    init.boolean("fit_intercept")
    init.optional_integer("random_seed")
    reader.integer("max_iter", minimum=1)
    reader.choice("early_stop", lr.EARLY_STOPS)
    encrypt = reader.section("encrypt_param")
    encrypt.choice("method", ("Paillier",))
    try:
        paillier.validate_key_length(encrypt.raw("key_length"))
    except InvalidArgument as error:
        raise encrypt.error("key_length", encrypt.raw("key_length"), error.message) from None
    # Every mode encrypts as `strict` here (FATE 1.10+ ignores the section altogether).
    calculator = reader.section("encrypted_mode_calculator_param")
    calculator.choice(
        "mode", ("strict", "fast", "balance", "confusion_opt", "confusion_opt_balance")
    )
    calculator.number("re_encrypted_rate", minimum=0, maximum=1)
    reader.section("predict_param").number("threshold", minimum=0, maximum=1)
    for name in ("tol", "alpha", "decay"):
        reader.number(name, minimum=0)
    reader.number("learning_rate", above=0)
    reader.boolean("decay_sqrt")
    metric_names = reader.raw("metrics")
    if metric_names is not None and not isinstance(metric_names, list):
        raise reader.error("metrics", metric_names, "must be a list of metric names")
    reader.boolean("use_first_metric_only")
    if reader.raw("floating_point_precision") is not None:
        reader.integer("floating_point_precision", minimum=0, maximum=63)
    validation = read_validation(reader)
    save_freq = read_save_freq(reader)
    cv = read_cv(reader)
    if stepwise.read(reader) is not None:
        # Stepwise fits many models, none of them the one these features would follow.
        for on, what in (
            (validation.enabled, "validation during training"),
            (save_freq is not None, "ModelCheckpoint"),
            (cv.need_cv, "cross validation"),
        ):
            if on:
                raise reader.section("stepwise_param").error(
                    "need_stepwise", True, f"together with {what} is not implemented"
                )
    return reader


def settings_of(module: str, params: Mapping[str, Any], table: Mapping[str, Any]) -> lr._Settings:
    """HeteroLR's settings (what its optimizer, initialiser and batches read) from a GLM's
    parameters, validated."""
    reader = validate(module, params, table)
    init = reader.section("init_param")
    precision = reader.raw("floating_point_precision")
    return lr._Settings(
        penalty="NONE" if reader.raw("penalty") is None else reader.choice("penalty", lr.PENALTIES),
        alpha=reader.number("alpha"),
        optimizer=reader.choice("optimizer", lr.OPTIMIZERS),
        learning_rate=reader.number("learning_rate"),
        decay=reader.number("decay"),
        decay_sqrt=reader.boolean("decay_sqrt"),
        batch_size=reader.integer("batch_size"),
        max_iter=reader.integer("max_iter"),
        early_stop=reader.choice("early_stop", lr.EARLY_STOPS),
        tol=reader.number("tol"),
        init_method=init.choice("init_method", lr.INIT_METHODS),
        init_const=init.number("init_const"),
        fit_intercept=init.boolean("fit_intercept"),
        random_seed=init.optional_integer("random_seed"),
        key_length=reader.section("encrypt_param").integer("key_length"),
        threshold=0.5,
        # FATE's None means floats at full precision: 52 bits is all a double has.
        precision_bits=52
        if precision is None
        else reader.integer("floating_point_precision", minimum=0, maximum=63),
        validation=read_validation(reader),
    )


def _batches(count: int, settings: lr._Settings) -> list[npt.NDArray[np.intp]]:
    """Row positions of each batch, drawn once for all iterations (FATE 1.5's mini-batches:
    a seeded permutation cut into batches of `batch_size`)."""
    if settings.batch_size == -1 or settings.batch_size >= count:
        return [np.arange(count)]
    seed = settings.random_seed if settings.random_seed is not None else secrets.randbits(64)
    order = np.random.default_rng(seed).permutation(count)
    return [order[k : k + settings.batch_size] for k in range(0, count, settings.batch_size)]


# --- what differs between links ---------------------------------------------------------------


class Family(Protocol):
    """A GLM's link, loss and model names (FATE's `*_gradient_and_loss` and model base)."""

    module: str
    variables: str
    #: Whether more than one host can train (FATE's Poisson raises with several).
    multi_host: bool
    #: Whether the guest's sample weights weigh the fit (FATE's Poisson ignores them).
    weighted: bool
    #: Whether stepwise scores it by FATE's `IC_Approx` (linear regression) rather than `IC`.
    ic_approx: bool

    def host_forward(self, forward: Floats) -> Floats:
        """What a host encrypts of its forward u_h, per row."""
        ...

    def guest_part(self, forward: Floats, labels: Floats, offset: Floats) -> Floats:
        """The guest's own part of the residual, encrypted fresh each batch."""
        ...

    def combine(
        self, own: Encrypted, host: Encrypted, forward: Floats, offset: Floats
    ) -> Encrypted:
        """[[d]] from the guest's part and one host's forwards."""
        ...

    def host_intermediate(
        self, key: paillier.PublicKey, forward: Floats, weights: Encrypted | None, precision: float
    ) -> Encrypted:
        """A host's `loss_intermediate`."""
        ...

    def loss_sum(
        self,
        forward: Floats,
        labels: Floats,
        offset: Floats,
        weights: Floats,
        host: Encrypted,
        intermediate: Encrypted,
        precision: float,
    ) -> paillier.EncryptedNumber:
        """[[sum of the rows' losses]] (without penalties) at the guest."""
        ...

    def predictions(self, forward: Floats, offset: Floats) -> Floats:
        """The model's predictions from the whole forward."""
        ...


@dataclass(frozen=True)
class Data:
    """A party's rows for the protocol: features, and at the guest labels, log exposure and
    sample weights (scaled to mean 1)."""

    ids: list[str]
    matrix: Floats
    labels: Floats | None = None
    offset: Floats | None = None
    weights: Floats | None = None


def _converge_tag(iteration: int) -> str:
    return f"fit.{iteration}"


def _names(family: Family) -> dict[str, str]:
    v = family.variables
    return {
        "pubkey": f"{v}.paillier_pubkey",
        "batch_info": f"{v}.batch_info",
        "batch_index": f"{v}.batch_data_index",
        "forward": f"{v}.host_forward_dict",
        "fore": f"{v}.fore_gradient",
        "guest_gradient": f"{v}.guest_gradient",
        "host_gradient": f"{v}.host_gradient",
        "guest_optim": f"{v}.guest_optim_gradient",
        "host_optim": f"{v}.host_optim_gradient",
        "intermediate": f"{v}.loss_intermediate",
        "regular": f"{v}.host_loss_regular",
        "loss": f"{v}.loss",
        "converge": f"{v}.converge_flag",
        "partial": f"{v}.host_partial_prediction",
        "weight_diff": f"{v}.weight_diff",
        "sample_weight": f"{v}.sample_weight",
    }


def check_hosts(family: Family, settings: lr._Settings, parties: Participants) -> None:
    # Every role runs this same check, so a bad combination fails everywhere at once.
    hosts = len(parties.hosts)
    if hosts > 1 and not family.multi_host:
        raise InvalidArgument(
            f"{family.module} trains with one host, not {hosts} (FATE's does not support more)",
            module=family.module,
        )
    if hosts > 1 and settings.early_stop != "weight_diff":
        raise InvalidArgument(
            f"{family.module} parameter early_stop must be weight_diff with {hosts} hosts: "
            f"the loss is only computed with one host, not {settings.early_stop!r}",
            module=family.module,
            parameter="early_stop",
        )


def meta(settings: lr._Settings, **extra: object) -> dict[str, Any]:
    """FATE's LinRModelMeta / PoissonModelMeta fields (snake_case)."""
    return {
        "penalty": settings.penalty,
        "tol": settings.tol,
        "alpha": settings.alpha,
        "optimizer": settings.optimizer,
        "batch_size": settings.batch_size,
        "learning_rate": settings.learning_rate,
        "max_iter": settings.max_iter,
        "early_stop": settings.early_stop,
        "fit_intercept": settings.fit_intercept,
        **extra,
    }


@dataclass(frozen=True)
class Fitted:
    """A party's part of a training run: its coefficients (the arbiter: none), the guest's
    intercept, the iterations, convergence, the arbiter's loss history, and at the guest the
    iteration early stopping went back to (FATE's `best_iteration`) and the validation
    metrics of every scored iteration."""

    weights: Floats
    intercept: float = 0.0
    iters: int = 0
    converged: bool = False
    losses: list[float] = field(default_factory=list)
    best_iteration: int = -1
    validation_metrics: dict[str, list[float]] | None = None


#: What a fit calls after each iteration: the iteration, and how to make its `Fitted` now.
EpochEnd = Callable[[int, Callable[[], Fitted]], None]


def model(meta: Mapping[str, Any], header: Sequence[str], fitted: Fitted) -> Model:
    """FATE's `<Model>Meta` and `<Model>Param` (LinRModelParam, PoissonModelParam)."""
    return {
        "meta": dict(meta),
        "param": {
            "iters": fitted.iters,
            "loss_history": list(fitted.losses),
            "is_converged": fitted.converged,
            "weight": {name: float(w) for name, w in zip(header, fitted.weights, strict=True)},
            "intercept": float(fitted.intercept),
            "header": list(header),
            "best_iteration": fitted.best_iteration,
        },
    }


def warm_start(module: str, saved: Model, header: Sequence[str]) -> Fitted:
    """Where a warm start goes on from (FATE 1.7+: a model input beside train_data): the
    model's weights of `header`, its iterations and loss history."""
    weights = sshe._model_weights(saved, header, module)
    param = saved["param"]
    iters = param.get("iters")
    losses = param.get("loss_history", [])
    if not isinstance(iters, int) or isinstance(iters, bool) or iters < 0:
        raise InvalidArgument(f"{module}: the warm start's model has no iteration count")
    if not isinstance(losses, list):
        raise InvalidArgument(f"{module}: the warm start's model has no loss history")
    intercept = param.get("intercept", 0.0)
    return Fitted(weights, float(intercept), iters, bool(param.get("is_converged")), losses)


# --- the arbiter ------------------------------------------------------------------------------


def fit_arbiter(
    family: Family,
    transport: Transport,
    settings: lr._Settings,
    parties: Participants,
    *,
    on_loss: Callable[[int, float], None] | None = None,
    start: Fitted | None = None,
    epoch_end: EpochEnd | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> Fitted:
    """The arbiter's part: keys, masked decryption, losses, convergence, and with early
    stopping the guest's verdict. A warm `start` goes on from its iterations and losses."""
    check_hosts(family, settings, parties)
    parties.require_arbiter()
    names = _names(family)
    channel = lr._Channel(transport, timeout, lr.Timings())
    guest, hosts = parties.guest, list(parties.hosts)
    public_key, private_key = paillier.generate_keypair(settings.key_length)
    channel.remote(public_key.to_json(), names["pubkey"], "fit", [guest, *hosts])
    batch_num = _batch_num(channel.get_one(names["batch_info"], "fit", guest), guest)
    losses = [] if start is None else list(start.losses)
    converged = False
    iteration = 0 if start is None else start.iters
    plain_width = lr._width(public_key.n)
    cipher_width = lr._width(public_key.nsquare)
    while iteration < settings.max_iter:
        batch_losses = []
        for batch in range(batch_num):
            tag = f"fit.{iteration}.{batch}"
            for name, answer, party in [
                *((names["host_gradient"], names["host_optim"], host) for host in hosts),
                (names["guest_gradient"], names["guest_optim"], guest),
            ]:
                ciphertexts = lr._read_rows(
                    channel.get_one(name, tag, party), cipher_width, "gradients", party
                )
                try:
                    plaintexts = private_key.raw_decrypt_many(ciphertexts)
                except InvalidArgument as error:
                    raise FederatedError(
                        f"{lr._sender(party)} sent gradients that are not ciphertexts: {error}"
                    ) from None
                channel.remote(lr._rows(plaintexts, plain_width), answer, tag, [party])
            if len(hosts) == 1:
                [number] = lr._unpack_numbers(
                    channel.get_one(names["loss"], tag, guest), public_key, "a loss", guest, 1
                )
                batch_losses.append(float(private_key.decrypt(number)))
        change = 0.0
        if settings.early_stop == "weight_diff":
            for party, value in zip(
                [guest, *hosts],
                channel.get(names["weight_diff"], _converge_tag(iteration), [guest, *hosts]),
                strict=True,
            ):
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise FederatedError(f"{lr._sender(party)} sent a weight_diff that is not >= 0")
                change += float(value)
            change = math.sqrt(change)
        if batch_losses:
            losses.append(float(np.mean(batch_losses)))
            if on_loss is not None:
                on_loss(iteration, losses[-1])
        converged = lr._converged(settings, losses, change)
        channel.remote(converged, names["converge"], _converge_tag(iteration), [guest, *hosts])
        stop = lr._early_stop(channel, settings, iteration, guest)
        if epoch_end is not None:
            epoch_end(
                iteration, partial(Fitted, np.zeros(0), 0.0, iteration + 1, converged, list(losses))
            )
        iteration += 1
        if converged or stop is not None:
            break
    return Fitted(np.zeros(0), 0.0, iteration, converged, losses)


def _batch_num(info: object, guest: PartyRole) -> int:
    if not isinstance(info, Mapping) or not isinstance(info.get("batch_num"), int):
        raise FederatedError(f"{lr._sender(guest)} sent a batch_info without batch_num")
    return int(info["batch_num"])


# --- a party's side of gradient descent ---------------------------------------------------------


class _Descent:
    """What the guest and a host do alike each batch: the masked gradient and the step."""

    def __init__(
        self,
        family: Family,
        settings: lr._Settings,
        channel: lr._Channel,
        arbiter: PartyRole,
        role: str,
        size: int,
        has_intercept: bool,
        weights: Floats,
    ) -> None:
        self.names = _names(family)
        self.settings = settings
        self.channel = channel
        self.arbiter = arbiter
        self.role = role
        self.optimizer = lr.Optimizer(settings, size, has_intercept)
        self.weights = weights
        self.precision = 2.0**-settings.precision_bits

    def step(
        self, key: paillier.PublicKey, x: Floats, residual: Encrypted, tag: str, iteration: int
    ) -> None:
        gradient = paillier.matvec(x.T, residual, precision=self.precision)
        masked_rows, masked = lr._mask(gradient, key)
        self.channel.remote(masked_rows, self.names[f"{self.role}_gradient"], tag, [self.arbiter])
        plain = lr._unmask(
            self.channel.get_one(self.names[f"{self.role}_optim"], tag, self.arbiter),
            masked,
            key,
            self.arbiter,
        )
        self.weights = self.optimizer.step(self.weights, plain / len(residual), iteration)

    def end_iteration(self, start: Floats, iteration: int) -> bool:
        """Sends the weight change when the arbiter needs it; the arbiter's converge flag."""
        tag = _converge_tag(iteration)
        if self.settings.early_stop == "weight_diff":
            change = self.weights - start
            self.channel.remote(
                float(change @ change), self.names["weight_diff"], tag, [self.arbiter]
            )
        return lr._read_flag(
            self.channel.get_one(self.names["converge"], tag, self.arbiter), self.arbiter
        )


# --- the guest --------------------------------------------------------------------------------


def fit_guest(
    family: Family,
    transport: Transport,
    data: Data,
    settings: lr._Settings,
    parties: Participants,
    *,
    validate: Data | None = None,
    log_metric: LogMetric | None = None,
    start: Fitted | None = None,
    epoch_end: EpochEnd | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> Fitted:
    """The guest's part. With `validation_freqs`, the training rows and the `validate` rows
    are scored with the hosts' forwards at each due iteration, their metrics given to
    `log_metric` (data sets `iteration_<k>`); early stopping keeps the best iteration's
    weights. A warm `start` goes on from its weights and iterations."""
    check_hosts(family, settings, parties)
    validation = (
        Validation(
            settings.validation,
            metrics.REGRESSION,
            log_metric=log_metric or (lambda *_: None),
            has_validate_data=validate is not None,
        )
        if settings.validation.enabled
        else None
    )
    best: dict[int, Floats] = {}
    assert data.labels is not None and data.offset is not None
    names = _names(family)
    arbiter = parties.require_arbiter()
    channel = lr._Channel(transport, timeout, lr.Timings())
    hosts = list(parties.hosts)
    count, coefficients = data.matrix.shape
    fit_intercept = settings.fit_intercept
    design = np.hstack([data.matrix, np.ones((count, 1))]) if fit_intercept else data.matrix
    size = design.shape[1]
    descent = _Descent(
        family,
        settings,
        channel,
        arbiter,
        "guest",
        size,
        fit_intercept,
        lr.initial_weights(settings, size)
        if start is None
        else np.append(start.weights, start.intercept)
        if fit_intercept
        else start.weights,
    )
    row_weights = data.weights if family.weighted else None
    key = paillier.PublicKey.from_json(
        lr._json_key(channel.get_one(names["pubkey"], "fit", arbiter))
    )
    batches = _batches(count, settings)
    channel.remote(
        {
            "batch_size": settings.batch_size,
            "batch_num": len(batches),
            "with_weight": row_weights is not None,
        },
        names["batch_info"],
        "fit",
        [*hosts, arbiter],
    )
    for index, rows in enumerate(batches):
        channel.remote([data.ids[k] for k in rows], names["batch_index"], f"fit.{index}", hosts)
    with_loss = len(hosts) == 1
    if with_loss and row_weights is not None:
        for index, rows in enumerate(batches):
            encrypted = key.encrypt_many(row_weights[rows], precision=lr._RESIDUAL_PRECISION)
            channel.remote(
                lr._pack_numbers(encrypted, key, rerandomize=False),
                names["sample_weight"],
                f"fit.{index}",
                hosts,
            )
    converged = False
    iteration = 0 if start is None else start.iters

    def fitted(weights: Floats, iters: int, converged: bool) -> Fitted:
        intercept = float(weights[-1]) if fit_intercept else 0.0
        return Fitted(weights[:coefficients], intercept, iters, converged)

    while iteration < settings.max_iter:
        before = descent.weights.copy()
        for index, rows in enumerate(batches):
            tag = f"fit.{iteration}.{index}"
            x, labels, offset = design[rows], data.labels[rows], data.offset[rows]
            weights = np.ones(len(rows)) if row_weights is None else row_weights[rows]
            forward = x @ descent.weights
            # The fresh encryption of our part is what hides it from a host that knows the
            # randomness of its own forwards.
            residual = key.encrypt_many(
                weights * family.guest_part(forward, labels, offset),
                precision=lr._RESIDUAL_PRECISION,
            )
            host_forwards = [
                lr._unpack_numbers(obj, key, "forwards", host, len(rows))
                for obj, host in zip(channel.get(names["forward"], tag, hosts), hosts, strict=True)
            ]
            for host_forward in host_forwards:
                if row_weights is not None:
                    host_forward = [h * w for h, w in zip(host_forward, weights, strict=True)]
                residual = family.combine(residual, host_forward, forward, offset)
            channel.remote(
                lr._pack_numbers(residual, key, rerandomize=False), names["fore"], tag, hosts
            )
            if with_loss:
                loss = _guest_loss(
                    family,
                    channel,
                    key,
                    settings,
                    tag,
                    hosts[0],
                    forward,
                    labels,
                    offset,
                    weights,
                    host_forwards[0],
                    lr.penalty_value(settings, descent.weights[:coefficients]),
                    descent.precision,
                )
                channel.remote(
                    lr._pack_numbers([loss], key, rerandomize=False), names["loss"], tag, [arbiter]
                )
            descent.step(key, x, residual, tag, iteration)
        converged = descent.end_iteration(before, iteration)
        stop = None
        if validation is not None and validation.due(iteration):
            best[iteration] = descent.weights
            now = fitted(descent.weights, iteration + 1, converged)
            stop = _guest_validate(
                family, channel, validation, iteration, now, data, validate, parties
            )
        if epoch_end is not None:
            epoch_end(iteration, partial(fitted, descent.weights, iteration + 1, converged))
        iteration += 1
        if stop is not None:
            descent.weights = best[stop]
            break
        if converged:
            break
    result = fitted(descent.weights, iteration, converged)
    if validation is None:
        return result
    return replace(
        result,
        best_iteration=validation.best_round,
        validation_metrics=validation.summary(),
    )


def _guest_validate(
    family: Family,
    channel: lr._Channel,
    validation: Validation,
    iteration: int,
    fitted: Fitted,
    data: Data,
    validate: Data | None,
    parties: Participants,
) -> int | None:
    """Score the training and validate rows with this iteration's weights, log their
    metrics, and tell the others whether to stop; the iteration to go back to when stopping."""
    tables: dict[str, pa.Table] = {}
    for kind, rows in (("train", data), ("validate", validate)):
        if rows is not None:
            values = predict_guest(
                family,
                channel.transport,
                rows,
                fitted.weights,
                fitted.intercept,
                parties,
                flowid=f"validate.{iteration}.{kind}",
                timeout=channel.timeout,
            )
            ids = np.asarray(rows.ids, dtype=object)
            tables[kind] = regression_prediction_table(ids, rows.labels, values, kind)
    validation.score(iteration, train=tables["train"], validate=tables.get("validate"))
    if validation.params.early_stopping_rounds is None:
        return None
    status = {"stop": validation.stop, "best": validation.best_round}
    others = [*parties.hosts, parties.require_arbiter()]
    channel.remote(status, lr.VALIDATION_STATUS, f"validate.{iteration}", others)
    return validation.best_round if validation.stop else None


def _guest_loss(
    family: Family,
    channel: lr._Channel,
    key: paillier.PublicKey,
    settings: lr._Settings,
    tag: str,
    host: PartyRole,
    forward: Floats,
    labels: Floats,
    offset: Floats,
    weights: Floats,
    host_forward: Encrypted,
    own_penalty: float,
    precision: float,
) -> paillier.EncryptedNumber:
    names = _names(family)
    intermediate = lr._unpack_numbers(
        channel.get_one(names["intermediate"], tag, host), key, "loss intermediates", host
    )
    total = (
        family.loss_sum(forward, labels, offset, weights, host_forward, intermediate, precision)
        * (1.0 / len(labels))
        + own_penalty
    )
    if settings.penalty != "NONE":
        [host_penalty] = lr._unpack_numbers(
            channel.get_one(names["regular"], tag, host), key, "a loss regular", host, 1
        )
        total = total + host_penalty
    return total


# --- a host -----------------------------------------------------------------------------------


def fit_host(
    family: Family,
    transport: Transport,
    data: Data,
    settings: lr._Settings,
    parties: Participants,
    *,
    validate: Data | None = None,
    start: Fitted | None = None,
    epoch_end: EpochEnd | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> Fitted:
    """A host's part. With `validation_freqs`, its forwards of the training and `validate`
    rows the guest scores at each due iteration; `start` as the guest's."""
    best: dict[int, Floats] = {}
    check_hosts(family, settings, parties)
    names = _names(family)
    arbiter = parties.require_arbiter()
    channel = lr._Channel(transport, timeout, lr.Timings())
    guest = parties.guest
    size = data.matrix.shape[1]
    descent = _Descent(
        family,
        settings,
        channel,
        arbiter,
        "host",
        size,
        False,
        lr.initial_weights(settings, size) if start is None else start.weights,
    )
    key = paillier.PublicKey.from_json(
        lr._json_key(channel.get_one(names["pubkey"], "fit", arbiter))
    )
    info = channel.get_one(names["batch_info"], "fit", guest)
    batches = [
        lr._row_positions(
            data.ids,
            lr._read_json_list(
                channel.get_one(names["batch_index"], f"fit.{index}", guest), "a batch index", guest
            ),
            guest,
        )
        for index in range(_batch_num(info, guest))
    ]
    with_loss = len(parties.hosts) == 1
    weighted = isinstance(info, Mapping) and info.get("with_weight") is True
    sample_weights = [
        lr._unpack_numbers(
            channel.get_one(names["sample_weight"], f"fit.{index}", guest),
            key,
            "weights",
            guest,
            len(rows),
        )
        for index, rows in enumerate(batches)
        if with_loss and weighted
    ]
    converged = False
    iteration = 0 if start is None else start.iters
    while iteration < settings.max_iter:
        before = descent.weights.copy()
        for index, rows in enumerate(batches):
            tag = f"fit.{iteration}.{index}"
            x = data.matrix[rows]
            forward = x @ descent.weights
            encrypted = key.encrypt_many(
                family.host_forward(forward), precision=lr._RESIDUAL_PRECISION
            )
            channel.remote(
                lr._pack_numbers(encrypted, key, rerandomize=False), names["forward"], tag, [guest]
            )
            if with_loss:
                intermediate = family.host_intermediate(
                    key,
                    forward,
                    sample_weights[index] if sample_weights else None,
                    descent.precision,
                )
                # A product of powers of the guest's own ciphertexts must be re-randomised, or
                # the guest could test guesses of u_h against it.
                channel.remote(
                    lr._pack_numbers(intermediate, key, rerandomize=bool(sample_weights)),
                    names["intermediate"],
                    tag,
                    [guest],
                )
                if settings.penalty != "NONE":
                    regular = key.encrypt(lr.penalty_value(settings, descent.weights))
                    channel.remote(
                        lr._pack_numbers([regular], key, rerandomize=False),
                        names["regular"],
                        tag,
                        [guest],
                    )
            residual = lr._unpack_numbers(
                channel.get_one(names["fore"], tag, guest), key, "residuals", guest, len(rows)
            )
            descent.step(key, x, residual, tag, iteration)
        converged = descent.end_iteration(before, iteration)
        stop = None
        if due(settings.validation, iteration):
            best[iteration] = descent.weights
            for kind, rows_of in (("train", data), ("validate", validate)):
                if rows_of is not None:
                    predict_host(
                        family,
                        transport,
                        rows_of,
                        descent.weights,
                        parties,
                        flowid=f"validate.{iteration}.{kind}",
                        timeout=timeout,
                    )
            stop = lr._early_stop(channel, settings, iteration, guest)
        if epoch_end is not None:
            epoch_end(iteration, partial(Fitted, descent.weights, 0.0, iteration + 1, converged))
        iteration += 1
        if stop is not None:
            descent.weights = best[stop]
            break
        if converged:
            break
    return Fitted(descent.weights, 0.0, iteration, converged)


# --- prediction -------------------------------------------------------------------------------


def predict_guest(
    family: Family,
    transport: Transport,
    data: Data,
    weights: Floats,
    intercept: float,
    parties: Participants,
    *,
    flowid: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> Floats:
    """Predictions: the hosts send their forwards in plaintext, as in FATE
    (`host_partial_prediction`)."""
    assert data.offset is not None
    names = _names(family)
    channel = lr._Channel(transport, timeout, lr.Timings())
    hosts = list(parties.hosts)
    channel.remote(data.ids, names["batch_index"], flowid, hosts)
    forward = data.matrix @ weights + intercept
    for obj, host in zip(channel.get(names["partial"], flowid, hosts), hosts, strict=True):
        if (
            not isinstance(obj, np.ndarray)
            or obj.dtype.kind != "f"
            or obj.shape != (len(data.ids),)
        ):
            raise FederatedError(
                f"{lr._sender(host)} sent forwards that are not {len(data.ids)} floats"
            )
        forward = forward + obj.astype(np.float64)
    return family.predictions(forward, data.offset)


def predict_host(
    family: Family,
    transport: Transport,
    data: Data,
    weights: Floats,
    parties: Participants,
    *,
    flowid: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> None:
    """A host's part of prediction: its forwards for the ids the guest asks about."""
    names = _names(family)
    channel = lr._Channel(transport, timeout, lr.Timings())
    guest = parties.guest
    wanted = lr._read_json_list(channel.get_one(names["batch_index"], flowid, guest), "ids", guest)
    rows = lr._row_positions(data.ids, wanted, guest)
    forward = np.ascontiguousarray(data.matrix[rows] @ weights)
    channel.remote(forward, names["partial"], flowid, [guest])


# --- the component ----------------------------------------------------------------------------


def party_data(
    module: str, dataset: Dataset, role: str, exposure: str | None = None, *, training: bool
) -> tuple[Data, list[str]]:
    """The protocol's rows of a party's dataset, and the header of its model (without the
    exposure column, which the guest takes out as FATE does)."""
    header = list(dataset.header)
    matrix = lr._features(dataset.features, header, dataset.ids.tolist(), role)
    ids = [str(v) for v in dataset.ids.tolist()]
    offset = np.zeros(len(ids))
    if role == "guest" and exposure is not None and exposure in header:
        column = header.index(exposure)
        values = matrix[:, column]
        if (values < 0).any():
            raise InvalidArgument(f"{module}: the exposure column {exposure!r} has negative values")
        # FATE's safe_log: an exposure of 0 counts as 1e-7.
        offset = np.log(np.where(values == 0, 1e-7, values))
        matrix = np.delete(matrix, column, axis=1)
        header.pop(column)
    if role != "guest":
        return Data(ids, matrix), header
    labels = None
    if dataset.labels is not None:
        labels = np.asarray(dataset.labels, dtype=np.float64)
        if not np.isfinite(labels).all():
            raise InvalidArgument(f"{module}: the labels hold nan or inf", module=module)
    elif training:
        raise InvalidArgument(f"{module} needs the labels at the guest: set with_label there")
    weights = lr._scaled_weights(dataset.weights, len(ids)) if training else None
    return Data(ids, matrix, labels, offset, weights), header


#: FATE's meta of the arbiter's `train`/`loss` metric.
LOSS_META = lr.LOSS_META


def module_info(
    module: str, table: dict[str, Any], validate: Callable[[dict[str, Any]], dict[str, Any]]
) -> ModuleInfo:
    """A coordinated GLM's catalogue entry: FATE's three roles, its defaults, its checks."""
    return ModuleInfo(
        name=module,
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=table,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=validate,
    )


def run(
    context: TaskContext, family: Family, table: Mapping[str, Any], exposure: str | None = None
) -> None:
    """A GLM component's task at any role: cross validation (`cv_param`); training (from a
    warm start's model input, with stepwise selection, validation, ModelCheckpoint, and the
    guest's predictions on the training data); or, given a model alone, prediction."""
    module = family.module
    reader = validate(module, context.parameters, table)
    settings = settings_of(module, context.parameters, table)
    selection = stepwise.read(reader)
    extra = {"exposure_colname": exposure} if "exposure_colname" in table else {}
    task = _Task(context, family, settings, meta(settings, **extra), exposure)
    saved: Model | None = next(iter(context.input_models().values()), None)
    role = context.task.role
    # FATE 1.7's warm start: a model and train_data go on training; a model alone predicts
    # (the arbiter, which has no data, reads what the DSL gives the component).
    training = (
        context.job_parameters.get("job_type") != "predict"
        and "train_data" in context.declared_inputs
        if role == "arbiter"
        else learner_input(context)[1] == "train"
    )
    warm, saved = (saved, None) if training else (None, saved)
    if warm is not None and selection is not None:
        raise reader.section("stepwise_param").error(
            "need_stepwise", True, "cannot go on from a warm start's model"
        )
    cv = read_cv(reader)
    if cv.need_cv and saved is None and warm is None:
        run_cv(
            context,
            cv,
            task.fold,
            mode="hetero",
            data=None if role == "arbiter" else learner_input(context)[0],
            eval_type=metrics.REGRESSION,
            metric_names=list(reader.raw("metrics") or []),
        )
        return
    checkpoints = Checkpoints.of(reader, context.save_checkpoint)
    if role == "arbiter":
        if saved is None:
            _train_arbiter(task, selection, warm, checkpoints)
        return  # prediction needs no arbiter
    dataset, kind = learner_input(context)
    data, header = party_data(module, dataset, role, exposure, training=saved is None)
    if data.weights is not None and not family.weighted:
        context.log.warning("%s does not weigh samples: the sample weights are ignored", module)
    flowid = "train" if saved is None else "predict"
    parties = task.parties
    if saved is None:
        validate_rows = _validate_input(task, role, header) if settings.validation.enabled else None
        start = None if warm is None else warm_start(module, warm, header)

        def epoch_end(iteration: int, fitted: Callable[[], Fitted]) -> None:
            checkpoints.epoch_end(iteration, lambda: model(task.meta, header, fitted()))

        def fit_here(transport: Transport, rows: Data) -> Fitted:
            if role == "host":
                return fit_host(
                    family,
                    transport,
                    rows,
                    settings,
                    parties,
                    validate=validate_rows,
                    start=start,
                    epoch_end=epoch_end,
                )
            return fit_guest(
                family,
                transport,
                rows,
                settings,
                parties,
                validate=validate_rows,
                log_metric=context.log_metric,
                start=start,
                epoch_end=epoch_end,
            )

        # A host has no intercept of its own.
        own_intercept = role == "guest" and settings.fit_intercept
        trained, data, header = _train(
            context, selection, parties, data, header, fit_here, own_intercept
        )
        fitted = trained or Fitted(np.zeros(0))
        _save(context, model(task.meta, header, fitted), fitted)
        weights, intercept = fitted.weights, fitted.intercept
    else:
        # The features a stepwise model left out weigh 0.
        weights = sshe._model_weights(saved, header, module)
        intercept = float(saved["param"].get("intercept", 0.0))
    if role == "host":
        predict_host(family, context.federation, data, weights, parties, flowid=flowid)
        return
    values = predict_guest(
        family, context.federation, data, weights, intercept, parties, flowid=flowid
    )
    context.log.info("%s rows predicted", len(values))
    context.save_output_data(
        regression_prediction_table(dataset.ids, dataset.labels, values, kind, dataset.sid)
    )


@dataclass(frozen=True)
class _Task:
    """What a component's task trains with."""

    context: TaskContext
    family: Family
    settings: lr._Settings
    meta: Mapping[str, Any]
    exposure: str | None

    @property
    def parties(self) -> Participants:
        return Participants.from_roles(self.context.roles)

    def fold(
        self, transport: Transport, fold: int, train: Dataset | None, test: Dataset | None
    ) -> FoldResult:
        """One fold of cross validation at this party (no checkpoints): FATE's loss curve
        `loss.<fold>` at the arbiter; the fold validates on its test rows, as FATE's
        fit(train, test)."""
        family, settings, parties = self.family, self.settings, self.parties
        if train is None or test is None:
            curve = {**LOSS_META, "curve_name": str(fold)}

            def on_loss(iteration: int, loss: float) -> None:
                self.context.log_metric("train", f"loss.{fold}", [(iteration, loss)], curve)

            arbiter = fit_arbiter(family, transport, settings, parties, on_loss=on_loss)
            return FoldResult(summary=_fit_summary(arbiter))
        role = self.context.task.role
        rows, header = party_data(family.module, train, role, self.exposure, training=True)
        tested = _validate_rows(self, test, role, header)
        if role == "host":
            fitted = fit_host(family, transport, rows, settings, parties, validate=tested)
            for data, flowid in ((rows, "train"), (tested, "predict")):
                predict_host(family, transport, data, fitted.weights, parties, flowid=flowid)
            return FoldResult(summary=_fit_summary(fitted))
        fitted = fit_guest(
            family,
            transport,
            rows,
            settings,
            parties,
            validate=tested,
            log_metric=self.context.log_metric,
        )
        tables = [
            regression_prediction_table(
                source.ids,
                source.labels,
                predict_guest(
                    family,
                    transport,
                    data,
                    fitted.weights,
                    fitted.intercept,
                    parties,
                    flowid=flowid,
                ),
                kind,
                source.sid,
            )
            for source, data, flowid, kind in (
                (train, rows, "train", "train"),
                (test, tested, "predict", "validate"),
            )
        ]
        return FoldResult(tables[0], tables[1], _fit_summary(fitted))


def _fit_summary(fitted: Fitted) -> dict[str, Any]:
    return {
        "iters": fitted.iters,
        "is_converged": fitted.converged,
        "loss_history": list(fitted.losses),
    }


def _validate_input(task: _Task, role: str, header: Sequence[str]) -> Data | None:
    tables = task.context.input_tables("validate_data")
    return _validate_rows(task, Dataset.from_table(tables[0]), role, header) if tables else None


def _validate_rows(task: _Task, dataset: Dataset, role: str, header: Sequence[str]) -> Data:
    """A party's rows to score during training, its features in the training header's order."""
    module = task.family.module
    data, columns = party_data(module, dataset, role, task.exposure, training=False)
    missing = [name for name in header if name not in columns]
    if missing:
        raise InvalidArgument(
            f"{module} at the {role}: validate_data lacks the features {', '.join(missing[:5])}"
        )
    if role == "guest" and data.labels is None:
        raise InvalidArgument(f"{module} validates on labelled rows: set with_label at the guest")
    return _columns(data, columns, header)


def _columns(data: Data, header: Sequence[str], kept: Sequence[str]) -> Data:
    positions = [list(header).index(name) for name in kept]
    return replace(data, matrix=data.matrix[:, positions])


def _train_arbiter(
    task: _Task,
    selection: stepwise.Settings | None,
    warm: Model | None,
    checkpoints: Checkpoints,
) -> None:
    context, family, settings, parties = task.context, task.family, task.settings, task.parties

    def on_loss(iteration: int, loss: float) -> None:
        context.log_metric("train", "loss", [(iteration, loss)], LOSS_META)
        context.log.info("iteration %s: loss %.6f", iteration, loss)

    def epoch_end(iteration: int, fitted: Callable[[], Fitted]) -> None:
        checkpoints.epoch_end(iteration, lambda: model(task.meta, [], fitted()))

    if selection is None:
        fitted = fit_arbiter(
            family,
            context.federation,
            settings,
            parties,
            on_loss=on_loss,
            start=None if warm is None else warm_start(family.module, warm, []),
            epoch_end=epoch_end,
        )
    else:
        final = stepwise.arbiter_search(
            selection,
            context.federation,
            parties,
            lambda transport: fit_arbiter(family, transport, settings, parties),
            lambda fitted: fitted.losses[-1] if fitted.losses else None,
            family.ic_approx,
            context.log_metric,
            settings.fit_intercept,
            GET_TIMEOUT_S,
        )
        fitted = final or Fitted(np.zeros(0))
    _save(context, model(task.meta, [], fitted), fitted)


def _train(
    context: TaskContext,
    selection: stepwise.Settings | None,
    parties: Participants,
    data: Data,
    header: list[str],
    fit: Callable[[Transport, Data], Fitted],
    fit_intercept: bool,
) -> tuple[Fitted | None, Data, list[str]]:
    """A client's model: fitted once, or the one stepwise selection keeps, with the rows and
    header of the features it has."""
    if selection is None:
        return fit(context.federation, data), data, header
    final, columns = stepwise.client_search(
        selection,
        context.federation,
        parties,
        context.local,
        header,
        len(data.ids),
        lambda transport, kept: fit(transport, _columns(data, header, [header[k] for k in kept])),
        context.log_metric,
        fit_intercept,
        GET_TIMEOUT_S,
    )
    kept = [header[k] for k in columns]
    return final, _columns(data, header, kept), kept


def _save(context: TaskContext, saved: Model, fitted: Fitted) -> None:
    context.save_model(saved)
    context.log.info("trained: %s iterations, converged: %s", fitted.iters, fitted.converged)
    validation = (
        {}
        if fitted.validation_metrics is None
        else {"validation_metrics": fitted.validation_metrics}
    )
    context.save_summary(
        {**_fit_summary(fitted), **validation, "best_iteration": fitted.best_iteration}
    )
