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
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.linear import hetero_lr as lr
from fateflow_grpc.components.linear import sshe, stepwise
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import (
    TRAIN_KINDS,
    learner_input,
    regression_prediction_table,
)
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
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
        raise reader.error("optimizer", "sqn", f"sqn (stochastic quasi-Newton) is {sshe.LATER}")
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
    stepwise.read(reader)
    # FATE's model-wide features not implemented here, accepted off and refused by name on:
    # SSHE's refusals, but for stepwise selection, which these models have.
    others = {name: value for name, value in (params or {}).items() if name != "stepwise_param"}
    lacking = ParamReader(module, others, table)
    sshe._refuse_lacking(lacking)
    lacking.section("cv_param").only(
        "need_cv", False, f"cross validation of {module} is not implemented yet"
    )
    return reader


def selection_of(
    module: str, params: Mapping[str, Any], table: Mapping[str, Any]
) -> stepwise.Settings | None:
    """The stepwise selection asked for (None: none), its parameters checked."""
    return stepwise.read(validate(module, params, table))


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


def model(
    meta: Mapping[str, Any],
    header: Sequence[str],
    weights: Floats,
    intercept: float,
    iters: int,
    converged: bool,
    losses: Sequence[float],
) -> Model:
    """FATE's `<Model>Meta` and `<Model>Param` (LinRModelParam, PoissonModelParam)."""
    return {
        "meta": dict(meta),
        "param": {
            "iters": iters,
            "loss_history": list(losses),
            "is_converged": converged,
            "weight": {name: float(w) for name, w in zip(header, weights, strict=True)},
            "intercept": float(intercept),
            "header": list(header),
            "best_iteration": -1,
        },
    }


# --- the arbiter ------------------------------------------------------------------------------


def fit_arbiter(
    family: Family,
    transport: Transport,
    settings: lr._Settings,
    parties: Participants,
    *,
    on_loss: Callable[[int, float], None] | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> tuple[int, bool, list[float]]:
    """The arbiter's part: keys, masked decryption, losses, convergence. Returns (iterations,
    converged, loss history)."""
    check_hosts(family, settings, parties)
    parties.require_arbiter()
    names = _names(family)
    channel = lr._Channel(transport, timeout, lr.Timings())
    guest, hosts = parties.guest, list(parties.hosts)
    public_key, private_key = paillier.generate_keypair(settings.key_length)
    channel.remote(public_key.to_json(), names["pubkey"], "fit", [guest, *hosts])
    batch_num = _batch_num(channel.get_one(names["batch_info"], "fit", guest), guest)
    losses: list[float] = []
    converged = False
    iteration = 0
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
        iteration += 1
        if converged:
            break
    return iteration, converged, losses


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
    timeout: float = GET_TIMEOUT_S,
) -> tuple[Floats, float, int, bool]:
    """The guest's part: (coefficients, intercept, iterations, converged)."""
    check_hosts(family, settings, parties)
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
        lr.initial_weights(settings, size),
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
    iteration = 0
    while iteration < settings.max_iter:
        start = descent.weights.copy()
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
        converged = descent.end_iteration(start, iteration)
        iteration += 1
        if converged:
            break
    final = descent.weights
    return final[:coefficients], float(final[-1]) if fit_intercept else 0.0, iteration, converged


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
    timeout: float = GET_TIMEOUT_S,
) -> tuple[Floats, int, bool]:
    """A host's part: (coefficients, iterations, converged)."""
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
        lr.initial_weights(settings, size),
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
    iteration = 0
    while iteration < settings.max_iter:
        start = descent.weights.copy()
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
        converged = descent.end_iteration(start, iteration)
        iteration += 1
        if converged:
            break
    return descent.weights, iteration, converged


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
    context: TaskContext,
    family: Family,
    settings: lr._Settings,
    meta: Mapping[str, Any],
    exposure: str | None = None,
    selection: stepwise.Settings | None = None,
) -> None:
    """A GLM component's task at any role: training (with stepwise `selection`, and the
    guest's predictions on the training data) or, given a model, prediction."""
    parties = Participants.from_roles(context.roles)
    saved: Model | None = next(iter(context.input_models().values()), None)
    role = context.task.role
    module = family.module
    if role == "arbiter":
        if saved is None:
            _train_arbiter(context, family, settings, meta, parties, selection)
        return  # prediction needs no arbiter
    dataset, kind = learner_input(context)
    data, header = party_data(module, dataset, role, exposure, training=saved is None)
    if data.weights is not None and not family.weighted:
        context.log.warning("%s does not weigh samples: the sample weights are ignored", module)
    flowid = "train" if saved is None else "predict"
    if role == "host":
        if saved is None:

            def fit_here(transport: Transport, rows: Data) -> tuple[Floats, int, bool]:
                return fit_host(family, transport, rows, settings, parties)

            fitted, data, header = _train(context, selection, parties, data, header, fit_here)
            weights, iters, converged = fitted or (np.zeros(0), 0, False)
            _save(context, model(meta, header, weights, 0.0, iters, converged, []))
        else:
            weights = sshe._model_weights(saved, header, module)
            data = _columns(
                data, header, [name for name in header if name in saved["param"]["weight"]]
            )
        predict_host(family, context.federation, data, weights, parties, flowid=flowid)
        return
    if saved is None:

        def fit_there(transport: Transport, rows: Data) -> tuple[Floats, float, int, bool]:
            return fit_guest(family, transport, rows, settings, parties)

        trained, data, header = _train(context, selection, parties, data, header, fit_there)
        weights, intercept, iters, converged = trained or (np.zeros(0), 0.0, 0, False)
        _save(context, model(meta, header, weights, intercept, iters, converged, []))
    else:
        weights = sshe._model_weights(saved, header, module)
        intercept = float(saved["param"].get("intercept", 0.0))
    values = predict_guest(
        family, context.federation, data, weights, intercept, parties, flowid=flowid
    )
    context.log.info("%s rows predicted", len(values))
    context.save_output_data(
        regression_prediction_table(dataset.ids, dataset.labels, values, kind, dataset.sid)
    )


def _columns(data: Data, header: Sequence[str], kept: Sequence[str]) -> Data:
    positions = [list(header).index(name) for name in kept]
    return replace(data, matrix=data.matrix[:, positions])


def _train_arbiter(
    context: TaskContext,
    family: Family,
    settings: lr._Settings,
    meta: Mapping[str, Any],
    parties: Participants,
    selection: stepwise.Settings | None,
) -> None:
    def on_loss(iteration: int, loss: float) -> None:
        context.log_metric("train", "loss", [(iteration, loss)], LOSS_META)
        context.log.info("iteration %s: loss %.6f", iteration, loss)

    if selection is None:
        fitted = fit_arbiter(family, context.federation, settings, parties, on_loss=on_loss)
    else:
        (count, j_host, host_names), (_, j_guest, guest_names) = stepwise.exchange_sizes(
            context.federation, parties, "arbiter", None, GET_TIMEOUT_S
        )

        def fit(
            transport: Transport, host: stepwise.Mask, guest: stepwise.Mask
        ) -> tuple[int, bool, list[float]]:
            return fit_arbiter(family, transport, settings, parties)

        def scorer(
            result: tuple[int, bool, list[float]], host: stepwise.Mask, guest: stepwise.Mask
        ) -> tuple[float, float]:
            if not result[2]:
                raise InvalidArgument(f"{family.module}: stepwise needs the loss of each model")
            loss = result[2][-1]
            features = int(host.sum() + guest.sum()) + int(settings.fit_intercept)
            return loss, stepwise.score(selection, family.ic_approx, count, features, loss)

        final, _, steps = stepwise.select(
            selection,
            context.federation,
            parties,
            "arbiter",
            (j_host, j_guest),
            fit,
            scorer,
            GET_TIMEOUT_S,
        )
        _log_steps(context, selection, steps, count, settings, (host_names, guest_names), {})
        fitted = final or (0, False, [])
    iters, converged, losses = fitted
    _save(context, model(meta, [], np.zeros(0), 0.0, iters, converged, losses))


T = TypeVar("T")


def _train(
    context: TaskContext,
    selection: stepwise.Settings | None,
    parties: Participants,
    data: Data,
    header: list[str],
    fit: Callable[[Transport, Data], T],
) -> tuple[T | None, Data, list[str]]:
    """A client's model: fitted once, or the one stepwise selection keeps, with the rows and
    header of the features it has."""
    if selection is None:
        return fit(context.federation, data), data, header
    role = context.task.role
    local = (
        len(data.ids),
        len(header),
        stepwise.anonymous_header(role, context.task.party_id, len(header)),
    )
    (count, j_host, host_names), (_, j_guest, guest_names) = stepwise.exchange_sizes(
        context.federation, parties, role, local, GET_TIMEOUT_S
    )

    def own(host: stepwise.Mask, guest: stepwise.Mask) -> list[str]:
        mask = host if role == "host" else guest
        return [name for name, kept in zip(header, mask, strict=True) if kept]

    def candidate(transport: Transport, host: stepwise.Mask, guest: stepwise.Mask) -> T:
        return fit(transport, _columns(data, header, own(host, guest)))

    final, (host, guest), steps = stepwise.select(
        selection,
        context.federation,
        parties,
        role,
        (j_host, j_guest),
        candidate,
        None,
        GET_TIMEOUT_S,
    )
    for step in steps:
        kept = own(step.host, step.guest)
        extra = {"all_features": header, "to_enter": [n for n in header if n not in kept]}
        _log_steps(context, selection, [step], count, None, (host_names, guest_names), extra)
    kept = own(host, guest)
    return final, _columns(data, header, kept), kept


def _log_steps(
    context: TaskContext,
    selection: stepwise.Settings,
    steps: Sequence[stepwise.Step],
    count: int,
    settings: lr._Settings | None,
    anonymous: tuple[list[str], list[str]],
    extra: Mapping[str, Any],
) -> None:
    for step in steps:
        name = f"stepwise_{step.step}"
        fit_intercept = settings.fit_intercept if settings is not None else True
        meta = stepwise.step_meta(selection, step, count, fit_intercept, anonymous, extra)
        context.log_metric("train", name, [(name, float(step.step))], meta)


def _save(context: TaskContext, saved: Model) -> None:
    context.save_model(saved)
    param = saved["param"]
    context.log.info("trained: %s iterations, converged: %s", param["iters"], param["is_converged"])
    context.save_summary(
        {
            "iters": param["iters"],
            "is_converged": param["is_converged"],
            "loss_history": param["loss_history"],
        }
    )
