"""HeteroSecureBoost (FATE's `HeteroSecureBoost`): gradient-boosted trees on features split
across parties; the guest holds the labels, each host more features of the same instances.

    model, table = fit_guest(transport, train, params, parties, validate=validate_data)
    model = fit_host(transport, train, params, parties, party=host, validate=validate_data)
    table = predict_guest(transport, data, model, parties, threshold=0.5)
    predict_host(transport, data, model, parties, party=host)

The trees are `boosting.py`'s; this module is how guest and hosts grow them without showing
each other their data: FATE's SecureBoost protocol. Per tree, the guest computes every
instance's g and h in fixed point, packs each pair into one integer g 2^B + h and encrypts it
under its own Paillier key (`encrypted_grad_and_hess`). Each host has binned its features
(quantiles, `bin_num`). Per level of the tree, for all the level's nodes at once:

1. the guest sends the nodes to split and the node of each instance (`tree_node_queue`,
   `node_positions`);
2. each host adds the node's ciphertexts per feature and bin (one modular multiplication per
   instance and feature) and gets, per split candidate, the encrypted (G, H) of its left side,
   for the root and the smaller child of each pair of siblings only (the guest gets the other
   by subtracting it from the parent, in plaintext after decryption); it sends them in an order
   it draws at random for each tree, many per ciphertext (`paillier.pack`), re-randomised
   (`encrypted_splitinfo_host`), with which candidates leave `min_leaf_node` instances on each
   side (`valid_splitinfo_host`);
3. the guest decrypts, scores its own candidates from plaintext histograms, picks each node's
   best (the first of the highest gain: guest, then hosts in order) and tells each host which
   of its candidates won, by their index in the host's random order
   (`federated_best_splitinfo_host`): the host alone knows the feature and threshold;
4. each host sends which of the instances of the nodes it won go left
   (`dispatch_node_host_result`), and the guest moves every instance to its child.

The guest then sends every host the tree's shape (`tree`: ids, owners, children; no weight).

What each party learns: the guest, the sums of g and h left of each host candidate (what
SecureBoost reveals) and the instances' paths, never a host's feature, threshold or value; a
host, ciphertexts, the instances' paths and which of its candidates won, never a label, g, h,
leaf weight or guest threshold. What a host sends back is re-randomised, with classic r^n
obfuscators (the guest's encryptions use the key's faster DJN ones): the guest, knowing the
randomness of what it encrypted, could otherwise tell which instances a sum adds up.

Prediction is federated (`_federated_leaves`): the guest walks every (tree, instance) through
its own splits as far as it can, then sends each host, in one batch, the pairs waiting at that
host's splits, which it walks through its own as far as it can; until every pair is at a leaf:
at most a tree's depth of exchanges, whatever the number of instances and trees.

`boosting_strategy` (FATE 1.7+, or HeteroFastSecureBoost's `work_mode`) `mix` builds whole
trees from one party's features, by turns of `tree_num_per_party`; `layered` builds the first
`host_depth` levels from the (one) host's features and the next `guest_depth` from the
guest's; such trees and levels need no encryption. `complete_secure` builds the first trees
(1 for `true`) from the guest's features alone.

A model input with train_data (FATE 1.7's warm start) trains `num_trees` more rounds from that
model's trees; `cv_param.need_cv` runs FATE's cross validation (`sdk/cv.py`). Refused when
switched on, by name: GOSS (`run_goss`), EINI inference, multi-output trees (`multi_mode`),
re-encryption modes other than `strict`. `encrypt_param.method` IterativeAffine (most of FATE
1.5-1.7's examples) is encrypted with Paillier instead, as the task's log says: the scheme
changes nothing in a lossless protocol's trees, and IterativeAffine is not secure (FATE 1.7
removed it). `max_split_nodes`, `deterministic`, `sparse_optimization` and
`cipher_compress_error` tune FATE's own implementation and change no result: they are checked
and have no effect (a level is one batch, sums are exact).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.sdk.checkpoint import NO_CHECKPOINTS, Checkpoints, EpochEnd
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.cv import FoldResult, run_cv
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, learner_input
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.components.sdk.validation import LogMetric, Validation
from fateflow_grpc.components.tree import boosting
from fateflow_grpc.components.tree.boosting import (
    BoostingSettings,
    Candidates,
    FixedPoint,
    Floats,
    Forest,
    Ints,
    Model,
    Node,
    NodeSums,
    Timings,
    Tree,
)
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HeteroSecureBoost"

_BOOST = "HeteroSecureBoostingTreeTransferVariable"
_TREE = "HeteroDecisionTreeTransferVariable"
_PREDICT = "HeteroSecureBoostTransferVariable"
BOOSTER_DIM = f"{_BOOST}.booster_dim"
#: Ours: the guest's instance ids, in the order every later array follows.
SAMPLE_IDS = f"{_BOOST}.sample_ids"
STOP_FLAG = f"{_BOOST}.stop_flag"
HOST_FEATURE_IMPORTANCE = f"{_BOOST}.host_feature_importance"
ENCRYPTED_GH = f"{_TREE}.encrypted_grad_and_hess"
TREE_NODE_QUEUE = f"{_TREE}.tree_node_queue"
NODE_POSITIONS = f"{_TREE}.node_positions"
ENCRYPTED_SPLITINFO = f"{_TREE}.encrypted_splitinfo_host"
#: Ours: which of a host's candidates leave min_leaf_node instances on each side.
VALID_SPLITINFO = f"{_TREE}.valid_splitinfo_host"
BEST_SPLITINFO = f"{_TREE}.federated_best_splitinfo_host"
DISPATCH_RESULT = f"{_TREE}.dispatch_node_host_result"
TREE = f"{_TREE}.tree"
PREDICT_STOP = f"{_PREDICT}.predict_stop_flag"
GUEST_PREDICT_DATA = f"{_PREDICT}.guest_predict_data"
HOST_PREDICT_DATA = f"{_PREDICT}.host_predict_data"

STRATEGIES = ("std", "mix", "layered")
#: FATE's tree types in a plan (hetero_fast_secureboost_plan.tree_type_dict).
GUEST_ONLY, HOST_ONLY, NORMAL, LAYERED = 0, 1, 2, 3

# FATE 1.5's HeteroSecureBoostParam, with what 1.11 adds.
DEFAULTS: dict[str, Any] = {
    **boosting.BOOSTING_DEFAULTS,
    "encrypt_param": {"method": "Paillier", "key_length": paillier.DEFAULT_KEY_LENGTH},
    "encrypted_mode_calculator_param": {"mode": "strict", "re_encrypted_rate": 1},
    "early_stopping_rounds": None,
    "use_first_metric_only": False,
    "complete_secure": False,
    "sparse_optimization": False,
    "run_goss": False,
    "top_rate": 0.2,
    "other_rate": 0.1,
    "cipher_compress_error": None,
    "cipher_compress": True,
    "new_ver": True,
    "boosting_strategy": "std",
    "work_mode": None,
    "tree_num_per_party": 1,
    "guest_depth": 2,
    "host_depth": 3,
    "EINI_inference": False,
    "EINI_random_mask": False,
    "EINI_complexity_check": False,
}

#: FATE's meta of the guest's train/loss metric: one point (round, loss) per round.
LOSS_META = {"name": "train", "metric_type": "LOSS", "unit_name": "iters"}


# --- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    module: str
    boosting: BoostingSettings
    key_length: int
    cipher_compress: bool
    strategy: str
    tree_num_per_party: int
    guest_depth: int
    host_depth: int
    #: Rounds built from the guest's features alone, first.
    complete_secure: int
    #: IterativeAffine was asked for and Paillier is used (see the module's docstring).
    substitute: bool = False

    @property
    def model_name(self) -> str:
        return "hetero_sbt" if self.strategy == "std" else f"hetero_fast_sbt_{self.strategy}"

    def meta(self) -> dict[str, Any]:
        """FATE's BoostingTreeModelMeta, with 1.11's module and boosting_strategy."""
        return self.boosting.meta(
            work_mode="" if self.strategy == "std" else self.strategy,
            module=self.module,
            boosting_strategy=self.strategy,
        )


def read_settings(
    params: Mapping[str, Any] | None, module: str = MODULE, defaults: Mapping[str, Any] = DEFAULTS
) -> Settings:
    """FATE's checks of HeteroSecureBoostParam; InvalidArgument names the first wrong value."""
    reader = ParamReader(module, params, defaults)
    config = boosting.read_boosting(reader)
    encrypt = reader.section("encrypt_param")
    method = encrypt.choice("method", ("Paillier", "IterativeAffine"))
    key_length = encrypt.raw("key_length")
    try:
        paillier.validate_key_length(key_length)
    except InvalidArgument as error:
        raise encrypt.error("key_length", key_length, f"is not usable: {error.message}") from None
    calculator = reader.section("encrypted_mode_calculator_param")
    calculator.choice("mode", ("strict",))
    calculator.number("re_encrypted_rate", minimum=0, maximum=1)
    reader.only("run_goss", False, "gradient-based one-side sampling is not implemented")
    if reader.number("top_rate", above=0) + reader.number("other_rate", above=0) >= 1:
        raise reader.error("other_rate", reader.raw("other_rate"), "plus top_rate must be below 1")
    reader.only("new_ver", True, "there is one implementation")
    for name in ("EINI_inference", "EINI_random_mask", "EINI_complexity_check"):
        reader.only(name, False, "EINI inference is not implemented")
    reader.boolean("sparse_optimization")
    if reader.raw("cipher_compress_error") is not None:
        reader.number("cipher_compress_error")
    complete = reader.raw("complete_secure")  # a boolean in FATE 1.5, a count of trees in 1.11
    complete_rounds = (
        int(complete)
        if isinstance(complete, bool)
        else reader.integer("complete_secure", minimum=0)
    )
    # FATE 1.11: work_mode, when set, replaces boosting_strategy; HeteroFastSecureBoost
    # defaults work_mode to mix, which a conf changing boosting_strategy alone replaces.
    if reader.raw("work_mode") is not None and (
        reader.changed("work_mode") or not reader.changed("boosting_strategy")
    ):
        strategy = reader.choice("work_mode", STRATEGIES[1:])
    else:
        strategy = reader.choice("boosting_strategy", STRATEGIES)
    return Settings(
        module=module,
        boosting=config,
        key_length=key_length,
        cipher_compress=reader.boolean("cipher_compress"),
        strategy=strategy,
        tree_num_per_party=reader.integer("tree_num_per_party", minimum=1),
        guest_depth=reader.integer("guest_depth", minimum=1),
        host_depth=reader.integer("host_depth", minimum=1),
        complete_secure=complete_rounds,
        substitute=method != "Paillier",
    )


def _check_parties(settings: Settings, parties: Participants) -> None:
    # Every party checks, so a bad combination fails everywhere before any exchange.
    if settings.strategy == "layered" and len(parties.hosts) != 1:
        raise InvalidArgument(
            f"{settings.module}: the layered strategy takes one host, not {len(parties.hosts)}",
            module=settings.module,
        )


# --- the plan: who builds each tree and each level --------------------------------------------


def tree_plan(settings: Settings, hosts: Sequence[PartyRole], rounds: int) -> list[tuple[int, int]]:
    """Per round, FATE's (tree type, host party id or -1)."""
    if settings.strategy == "mix":
        k = settings.tree_num_per_party
        turn = [(GUEST_ONLY, -1)] * k + [(HOST_ONLY, h.party_id) for h in hosts for _ in range(k)]
        return (turn * (rounds // len(turn) + 1))[:rounds]
    kind = LAYERED if settings.strategy == "layered" else NORMAL
    return [(GUEST_ONLY, -1) if r < settings.complete_secure else (kind, -1) for r in range(rounds)]


@dataclass(frozen=True)
class TreeShape:
    """Who builds the levels of one tree."""

    kind: int
    host_id: int
    max_depth: int
    host_depth: int

    @classmethod
    def of(cls, item: tuple[int, int], settings: Settings, max_depth: int) -> TreeShape:
        kind, host_id = item
        if kind == LAYERED:
            return cls(
                kind, host_id, settings.host_depth + settings.guest_depth, settings.host_depth
            )
        return cls(kind, host_id, max_depth, 0)

    def level(self, depth: int, hosts: Sequence[PartyRole]) -> tuple[bool, list[PartyRole]]:
        """Whether the guest's features take part at `depth`, and the hosts whose do."""
        if self.kind == GUEST_ONLY:
            return True, []
        if self.kind == HOST_ONLY:
            return False, [h for h in hosts if h.party_id == self.host_id]
        if self.kind == LAYERED:
            return (False, list(hosts)) if depth < self.host_depth else (True, [])
        return True, list(hosts)

    def host_levels(self, host: PartyRole) -> int:
        return sum(host in self.level(d, [host])[1] for d in range(self.max_depth))


# --- g and h in one plaintext -----------------------------------------------------------------


@dataclass(frozen=True)
class Packing:
    """g 2^field + h: each sum below 2^(field - 1) in magnitude over all instances; a packed
    sum has `width` bits."""

    field: int

    @classmethod
    def of(cls, instances: int) -> Packing:
        # |sum of g| <= n 2^P < 2^(L + P) for n < 2^L: field - 1 >= L + P bits for h, as much
        # again for g, and a sign: width = 2 field.
        return cls(boosting.GH_FRACTION_BITS + instances.bit_length() + 1)

    @property
    def width(self) -> int:
        return 2 * self.field

    def pack(self, fp: FixedPoint) -> list[int]:
        """Each instance's g 2^field + h (Python integers: no width to overflow)."""
        return [(g << self.field) + h for g, h in zip(fp.g.tolist(), fp.h.tolist(), strict=True)]

    def unpack(self, value: int) -> tuple[int, int]:
        h, g = paillier.unpack(value, self.field, 2)
        return g, h


# --- the wire ---------------------------------------------------------------------------------


class _Channel:
    """A role's view of the transport: waits are timed, and what arrives is checked."""

    def __init__(self, transport: Transport, timeout: float, timings: Timings) -> None:
        self.transport = transport
        self.timeout = timeout
        self.timings = timings

    def remote(self, obj: object, name: str, tag: str, parties: Sequence[PartyRole]) -> None:
        if parties:
            self.transport.remote(obj, name, tag, parties)

    def get(self, name: str, tag: str, party: PartyRole) -> object:
        with self.timings.phase("wait"):
            (obj,) = self.transport.get(name, tag, [party], self.timeout)
        return obj

    def array(
        self, name: str, tag: str, party: PartyRole, kind: str, shape: tuple[int, ...]
    ) -> Any:
        """An array of dtype kind `kind` ("b" bool, "i" int) and `shape` (-1: any length)."""
        obj = self.get(name, tag, party)
        if (
            not isinstance(obj, np.ndarray)
            or obj.dtype.kind != kind
            or obj.ndim != len(shape)
            or any(s not in (-1, t) for s, t in zip(shape, obj.shape, strict=True))
        ):
            raise FederatedError(f"{_sender(party)} sent {name} that is not the array expected")
        return obj

    def json(self, name: str, tag: str, party: PartyRole, kind: type) -> Any:
        obj = self.get(name, tag, party)
        if not isinstance(obj, kind):
            raise FederatedError(f"{_sender(party)} sent {name} that is not a {kind.__name__}")
        return obj

    def ciphertexts(
        self, key: paillier.PublicKey, name: str, tag: str, party: PartyRole
    ) -> list[int]:
        try:
            return paillier.from_rows(key, self.get(name, tag, party))
        except InvalidArgument as error:
            raise FederatedError(
                f"{_sender(party)} sent {name} that are not ciphertexts: {error}"
            ) from None


def _sender(party: PartyRole) -> str:
    return f"{party.role} {party.party_id}"


def _row_order(own_ids: Sequence[object], wanted: Sequence[object], party: PartyRole) -> Ints:
    """Positions in this party's data of the ids another party sent, in its order."""
    position = {str(value): k for k, value in enumerate(own_ids)}
    if len(position) != len(own_ids):
        raise InvalidArgument(f"{MODULE}: the ids of this party's data are not unique")
    missing = [v for v in wanted if str(v) not in position]
    if missing:
        raise InvalidArgument(
            f"{MODULE}: {_sender(party)} names {len(missing)} ids this party does not have "
            f"(such as {missing[0]!r}); intersect the data first",
            missing=len(missing),
        )
    return np.asarray([position[str(v)] for v in wanted], dtype=np.int64)


def _aligned(data: Dataset, header: Sequence[str], role: str) -> Floats:
    return boosting.aligned_features(data, header, f"{MODULE} at the {role}")


def _routing(
    bins: npt.NDArray[np.int32], missing: int, rows: Ints, fid: int, bid: int, direction: int
) -> npt.NDArray[np.bool_]:
    """Which rows go left of the split (fid, bid, missing direction), by their bins."""
    column = bins[rows, fid]
    left: npt.NDArray[np.bool_] = np.where(column == missing, direction == -1, column <= bid)
    return left


# --- the guest ----------------------------------------------------------------------------


def fit_guest(
    transport: Transport,
    train: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    validate: Dataset | None = None,
    warm_start: Model | None = None,
    module: str = MODULE,
    defaults: Mapping[str, Any] = DEFAULTS,
    on_loss: Callable[[int, float], None] | None = None,
    log_metric: LogMetric | None = None,
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> tuple[Model, pa.Table, dict[str, Any]]:
    """Train with the hosts: the guest's model, its predictions of the training data (type
    train) and of `validate` (type validate) as FATE's prediction table, and FATE's summary;
    `checkpoints`, ModelCheckpoint's (a round is an epoch).

    `on_loss(round, loss)` is called after each round (FATE's train/loss metric);
    `log_metric` takes the validation's metrics (`sdk/validation.py`). With `warm_start` (the
    guest's model of an earlier job, FATE 1.7's warm start) training goes on from its trees:
    `num_trees` more rounds, its objective, classes, features and learning rate.
    """
    settings = read_settings(params, module, defaults)
    _check_parties(settings, parties)
    channel = _Channel(transport, timeout, timings or Timings())
    previous = None if warm_start is None else _Loaded.of(warm_start, "guest")
    trainer = _GuestTrainer(settings, parties, channel, train, validate, previous, log_metric)
    return trainer.fit(on_loss, checkpoints.epoch_end)


@dataclass
class _Scores:
    """Raw scores (n, dim) of a data set, from the initial score and each round's trees."""

    initial: Floats
    rounds: list[Floats] = field(default_factory=list)

    def total(self, rounds: int | None = None) -> Floats:
        result = self.initial.copy()
        for increment in self.rounds[:rounds]:
            result += increment
        return result


class _GuestTrainer:
    def __init__(
        self,
        settings: Settings,
        parties: Participants,
        channel: _Channel,
        train: Dataset,
        validate: Dataset | None,
        previous: _Loaded | None,
        log_metric: LogMetric | None,
    ) -> None:
        config = settings.boosting
        if train.labels is None:
            raise InvalidArgument(
                f"{settings.module} needs the labels at the guest: set with_label there"
            )
        if validate is not None and validate.labels is None:
            raise InvalidArgument(f"{settings.module} needs labels in the guest's validate_data")
        self.settings, self.parties, self.channel = settings, parties, channel
        self.hosts = list(parties.hosts)
        self.train, self.validate = train, validate
        self.sitename = f"guest:{parties.guest.party_id}"
        self.previous = previous
        self.importance: dict[tuple[str, int], float] = {}
        self.header = train.header if previous is None else previous.header
        features = _aligned(train, self.header, "guest")
        self.classes, self.y = boosting.class_labels(train.labels, config.task_type)
        self.objective = boosting.objective_of(config, len(self.classes))
        self.learning_rate = config.learning_rate
        self.start = 0
        if previous is not None:
            self._continue(previous, train.labels)
        self.missing = boosting.missing_mask(features, config.tree.zero_as_missing)
        self.features = features
        self.binning = boosting.fit_binning(
            features, self.missing, config.bin_num, config.binning_error
        )
        self.bins = self.binning.bins(features, self.missing)
        self.packing = Packing.of(len(self.y))
        self.plan = tree_plan(settings, self.hosts, self.start + config.num_trees)
        with channel.timings.phase("keygen"):
            self.key, self.private_key = paillier.generate_keypair(settings.key_length)
        self.validate_features: tuple[Floats, npt.NDArray[np.bool_]] | None = None
        if validate is not None:
            matrix = _aligned(validate, self.header, "guest")
            self.validate_features = (
                matrix,
                boosting.missing_mask(matrix, config.tree.zero_as_missing),
            )
        self.converged = False
        self.validation = (
            Validation(
                config.validation,
                boosting.eval_type(config.task_type, len(self.classes)),
                log_metric=log_metric or (lambda *_: None),
                pos_label=self.classes[1] if len(self.classes) == 2 else 1,
                has_validate_data=validate is not None,
            )
            if config.validation.enabled
            else None
        )

    def _continue(self, previous: _Loaded, labels: Floats) -> None:
        """Take up a warm start's model: its classes, objective, learning rate, rounds."""
        param, meta = previous.param, previous.meta
        classes = [float(c) for c in param["classes_"]]
        if not set(self.classes) <= set(classes):
            raise InvalidArgument(
                f"{self.settings.module}: warm start: the labels hold classes the model has not "
                f"({sorted(set(self.classes) - set(classes))[:5]})"
            )
        if classes:
            self.classes, self.y = (
                classes,
                np.searchsorted(np.asarray(classes), labels).astype(float),
            )
        objective = meta["objective_meta"]
        self.objective = boosting.Objective(
            objective["objective"], (objective["param"] or [None])[0], int(param["tree_dim"])
        )
        self.learning_rate = float(meta["learning_rate"])
        self.start = len(previous.trees) // self.objective.dim
        for record in param["feature_importances"]:
            if record["sitename"] == self.sitename:
                self.importance[(self.sitename, int(record["fid"]))] = float(record["importance"])

    def fit(
        self, on_loss: Callable[[int, float], None] | None, epoch_end: EpochEnd
    ) -> tuple[Model, pa.Table, dict[str, Any]]:
        settings, channel, hosts = self.settings, self.channel, self.hosts
        config = settings.boosting
        dim = self.objective.dim
        channel.remote(
            {
                "booster_dim": dim,
                "tree_plan": [list(item) for item in self.plan],
                "start_round": self.start,
                "max_depth": config.tree.max_depth,
                "public_key": self.key.to_json(),
                "packing_field": self.packing.field if settings.cipher_compress else 0,
                "validate": self.validate is not None,
            },
            BOOSTER_DIM,
            "fit",
            hosts,
        )
        channel.remote([str(v) for v in self.train.ids.tolist()], SAMPLE_IDS, "fit", hosts)
        if self.validate is not None:
            ids = [str(v) for v in self.validate.ids.tolist()]
            channel.remote(ids, SAMPLE_IDS, "validate", hosts)
        self.key.fill_in_background(len(self.y))
        if self.previous is None:
            initial = self.objective.initial_scores(self.objective.statistic(self.y))
            trees, losses = [], []
        else:
            initial = np.asarray(self.previous.param["init_score"], dtype=np.float64)
            trees, losses = list(self.previous.trees), list(self.previous.param["losses"])
        # Scores before this job's rounds: the initial ones, plus a warm start's trees.
        train_scores = _Scores(self._scored("warm", trees, initial, (self.features, self.missing)))
        validate_scores = None
        if self.validate_features is not None:
            validate_scores = _Scores(
                self._scored("warm.validate", trees, initial, self.validate_features)
            )
        kept: int | None = None
        for round_ in range(self.start, len(self.plan)):
            shape = TreeShape.of(self.plan[round_], settings, config.tree.max_depth)
            scores = train_scores.total()
            g, h = self.objective.gradients(self.y, scores, self.train.weights)
            increment = np.zeros_like(scores)
            round_trees = []
            for k in range(dim):
                fp = boosting.fixed_point(g[:, k], h[:, k])
                tree, leaves = self._grow(round_, k, len(trees), shape, fp)
                trees.append(tree)
                round_trees.append(tree)
                weights = np.asarray([node.weight for node in tree.nodes])
                increment[:, k] = self.learning_rate * weights[leaves]
            train_scores.rounds.append(increment)
            if validate_scores is not None and self.validate_features is not None:
                validate_scores.rounds.append(
                    self._scored(
                        f"validate.{round_}",
                        round_trees,
                        np.zeros(dim),
                        self.validate_features,
                    )
                )
            loss = self.objective.loss(self.y, train_scores.total(), self.train.weights)
            if on_loss is not None:
                on_loss(round_, loss)
            if self.validation is not None and self.validation.due(round_):
                self.validation.score(
                    round_,
                    train=self._table(train_scores.total(), self.train, "train"),
                    validate=None
                    if validate_scores is None or self.validate is None
                    else self._table(validate_scores.total(), self.validate, "validate"),
                )
            kept = self._rounds_kept(round_, loss, losses)
            losses.append(loss)
            best = -1 if self.validation is None else self.validation.best_round
            epoch_end(
                round_, partial(self._model, list(trees), initial, list(losses), best, round_ + 1)
            )
            channel.remote(
                {"stop": kept is not None, "rounds": kept or 0}, STOP_FLAG, f"fit.{round_}", hosts
            )
            if kept is not None:
                break
        assert kept is not None
        self._receive_host_importance()
        best_round = -1 if self.validation is None else self.validation.best_round
        model = self._model(trees[: kept * dim], initial, losses[:kept], best_round, kept)
        new_rounds = kept - self.start
        tables = [self._table(train_scores.total(new_rounds), self.train, "train")]
        if validate_scores is not None and self.validate is not None:
            tables.append(self._table(validate_scores.total(new_rounds), self.validate, "validate"))
        param = model["param"]
        summary = {
            "loss_history": param["losses"],
            "best_iteration": best_round,
            "feature_importance": {
                r["fullname"]: r["importance"] for r in param["feature_importances"]
            },
            "validation_metrics": None if self.validation is None else self.validation.summary(),
            "is_converged": self.converged,
        }
        return model, pa.concat_tables(tables), summary

    def _scored(
        self,
        flow: str,
        trees: Sequence[Tree],
        initial: Floats,
        data: tuple[Floats, npt.NDArray[np.bool_]],
    ) -> Floats:
        """`initial` scores plus the trees' (n, dim), walked with the hosts (none: no walk)."""
        scores = np.tile(initial, (len(data[0]), 1))
        if not trees:
            return scores
        leaves = _federated_leaves(self.channel, flow, trees, self.sitename, self.hosts, *data)
        return boosting.add_trees(scores, leaves, self.learning_rate)

    def _rounds_kept(self, round_: int, loss: float, losses: Sequence[float]) -> int | None:
        """If training stops after this round, how many rounds the model keeps: up to the best
        round when validation stops it early, all of them when the loss has stopped moving
        (`n_iter_no_change`, by less than `tol`) or the last round is done; else None."""
        config = self.settings.boosting
        if self.validation is not None and self.validation.stop:
            return self.validation.best_round + 1
        if config.n_iter_no_change and losses and abs(loss - losses[-1]) < config.tol:
            self.converged = True
            return round_ + 1
        return round_ + 1 if round_ == len(self.plan) - 1 else None

    def _table(self, scores: Floats, data: Dataset, kind: str) -> pa.Table:
        return boosting.prediction_output(
            self.objective,
            self.classes,
            scores,
            self.settings.boosting.threshold,
            data.ids,
            data.labels,
            kind,
            data.sid,
        )

    def _receive_host_importance(self) -> None:
        for host in self.hosts:
            reported = self.channel.json(HOST_FEATURE_IMPORTANCE, "fit", host, dict)
            for fid, value in reported.items():
                if not isinstance(value, int | float) or not str(fid).isdigit():
                    raise FederatedError(f"{_sender(host)} sent a feature importance not a number")
                self.importance[(f"host:{host.party_id}", int(fid))] = float(value)

    def _model(
        self,
        trees: list[Tree],
        initial: Floats,
        losses: list[float],
        best_round: int,
        kept: int,
    ) -> Model:
        names = {(self.sitename, f): name for f, name in enumerate(self.header)}
        for site, fid in self.importance:
            if site.startswith("host:"):
                names[(site, fid)] = f"host_{site.split(':')[1]}_{fid}"
        meta = self.settings.meta()
        # What the trees were grown with (a warm start's model's, when there is one).
        meta.update(
            learning_rate=self.learning_rate,
            num_trees=len(self.plan),
            objective_meta={
                "objective": self.objective.name,
                "param": [] if self.objective.param is None else [self.objective.param],
            },
        )
        model: Model = {
            "meta": meta,
            "param": {
                "tree_num": len(trees),
                "trees_": [t.to_json() for t in trees],
                "init_score": initial.tolist(),
                "losses": losses,
                "tree_dim": self.objective.dim,
                "num_classes": len(self.classes) or 1,
                "classes_": [f"{c:g}" for c in self.classes],
                "feature_importances": boosting.importance_records(self.importance, names),
                "feature_name_fid_mapping": {str(f): name for f, name in enumerate(self.header)},
                "best_iteration": best_round,
                "tree_plan": _plan_strings(self.settings, self.plan[:kept]),
                "model_name": self.settings.model_name,
                "anonymous_name_mapping": {},
            },
        }
        return model

    # --- one tree ---

    def _grow(
        self, round_: int, k: int, index: int, shape: TreeShape, fp: FixedPoint
    ) -> tuple[Tree, Ints]:
        """One tree (steps 1-4 of the module's docstring): the tree and each instance's leaf."""
        channel, timings = self.channel, self.channel.timings
        tag = f"fit.{round_}.{k}"
        tree_hosts = [h for h in self.hosts if shape.host_levels(h)]
        if tree_hosts:
            with timings.phase("encrypt"):
                plaintexts = (
                    self.packing.pack(fp)
                    if self.settings.cipher_compress
                    else [*fp.g.tolist(), *fp.h.tolist()]
                )
                ciphertexts = self.key.encrypt_ints(plaintexts)
            channel.remote(paillier.to_rows(self.key, ciphertexts), ENCRYPTED_GH, tag, tree_hosts)
            # The next tree's randomness, while the hosts work.
            self.key.fill_in_background(len(ciphertexts))
        grower = _GuestTree(self, fp, shape, index)
        for depth in range(shape.max_depth):
            if not grower.level(f"{tag}.{depth}", depth):
                break
        channel.remote(
            [
                [n.id, n.sitename, n.is_leaf, n.left_nodeid, n.right_nodeid]
                for n in grower.tree.nodes
            ],
            TREE,
            tag,
            self.hosts,
        )
        return grower.tree, grower.positions


class _GuestTree:
    """The guest's side of growing one tree, a level at a time."""

    def __init__(
        self, trainer: _GuestTrainer, fp: FixedPoint, shape: TreeShape, index: int
    ) -> None:
        config = trainer.settings.boosting
        self.trainer, self.fp, self.shape = trainer, fp, shape
        self.settings = config.tree
        self.scales = (fp.g_scale, fp.h_scale)
        self.criterion = boosting.Criterion(self.settings.l2, self.settings.l1)
        features = boosting.sampled_features(
            len(trainer.binning.points), config.subsample_feature_rate, config.seed, index
        )
        self.own = boosting.candidates(trainer.binning, features, self.settings.use_missing)
        count = len(fp.g)
        self.positions = np.zeros(count, np.int64)
        self.sums = {0: NodeSums(int(fp.g.sum()), int(fp.h.sum()), count)}
        self.tree = Tree([self._node(0, self.sums[0])])
        self.parent: dict[int, int] = {}
        self.layer = [0]
        # Per host, the decrypted left sums (G, H) of its candidates at the nodes so far.
        self.cache: dict[PartyRole, dict[int, tuple[Floats, Floats]]] = {
            h: {} for h in trainer.hosts
        }

    def _node(self, node_id: int, sums: NodeSums) -> Node:
        weight = self.criterion.weight(sums.g * self.scales[0], sums.h * self.scales[1])
        return Node(node_id, self.trainer.sitename, weight=weight)

    def level(self, tag: str, depth: int) -> bool:
        """Split the level's nodes; False when there was none to split (the tree is grown)."""
        trainer, channel = self.trainer, self.trainer.channel
        with_guest, hosts = self.shape.level(depth, trainer.hosts)
        to_split = [
            n for n in self.layer if boosting.splittable(self.settings, self.sums[n], depth)
        ]
        compute = self._to_compute(to_split, hosts)
        channel.remote({"compute": compute, "split": to_split}, TREE_NODE_QUEUE, tag, hosts)
        if not to_split:
            return False
        in_layer = np.isin(self.positions, self.layer)
        channel.remote(
            np.where(in_layer, self.positions, -1).astype(np.int32), NODE_POSITIONS, tag, hosts
        )
        # Per party taking part (the guest first, then the hosts), the gains of its candidates
        # at each node to split.
        parties: list[PartyRole | None] = []
        gains: list[list[Floats]] = []
        if with_guest:
            parties.append(None)
            gains.append([self._own_gains(node) for node in to_split])
        for host in hosts:
            parties.append(host)
            gains.append(self._host_gains(host, tag, compute, to_split))
        winners = [self._winner([g[j] for g in gains]) for j in range(len(to_split))]
        for position, party in enumerate(parties):
            if party is not None:
                decisions = [
                    np.flatnonzero(gains[position][j] == gains[position][j].max()).tolist()
                    if winner[0] == position
                    else []
                    for j, winner in enumerate(winners)
                ]
                channel.remote(decisions, BEST_SPLITINFO, tag, [party])
        goes_left = np.zeros(len(self.positions), bool)
        for j, (position, index) in enumerate(winners):
            if position >= 0 and parties[position] is None:
                rows = np.flatnonzero(self.positions == to_split[j])
                goes_left[rows] = _routing(
                    trainer.bins,
                    trainer.binning.missing,
                    rows,
                    int(self.own.fid[index]),
                    int(self.own.bid[index]),
                    int(self.own.missing_dir[index]),
                )
        for position, party in enumerate(parties):
            if party is not None:
                won = [to_split[j] for j, w in enumerate(winners) if w[0] == position]
                rows = np.flatnonzero(np.isin(self.positions, won))
                goes_left[rows] = channel.array(DISPATCH_RESULT, tag, party, "b", (len(rows),))
        self.layer = []
        for j, (position, index) in enumerate(winners):
            if position >= 0:
                gain = float(gains[position][j][index])
                self._split(to_split[j], parties[position], index, gain, goes_left)
        # Even with no child, the next level runs: its empty queue tells the hosts to stop.
        return True

    def _to_compute(self, to_split: Sequence[int], hosts: Sequence[PartyRole]) -> list[int]:
        """The nodes whose histograms the hosts send: of each pair of siblings with a node to
        split, the one with fewer instances (the left on a tie), if the hosts sent their
        parent's (the other is the parent's minus it); else both; the root."""
        if not hosts or not to_split:
            return []
        if self.layer == [0]:
            return [0]
        wanted, result = set(to_split), []
        for left, right in zip(self.layer[::2], self.layer[1::2], strict=True):
            if left not in wanted and right not in wanted:
                continue
            if all(self.parent[left] in self.cache[h] for h in hosts):
                smaller = self.sums[left].count <= self.sums[right].count
                result.append(left if smaller else right)
            else:
                result.extend([left, right])
        return result

    def _own_gains(self, node: int) -> Floats:
        trainer, own = self.trainer, self.own
        rows = np.flatnonzero(self.positions == node)
        with self.trainer.channel.timings.phase("guest_histogram"):
            g_hist, h_hist, counts = boosting.histograms(
                trainer.bins, trainer.binning.width, rows, [self.fp.g, self.fp.h, None]
            )
        valid = boosting.count_valid(self.settings, len(rows), boosting.left_sums(counts, own))
        return boosting.candidate_gains(
            self.settings,
            self.sums[node],
            self.scales,
            boosting.left_sums(g_hist, own),
            boosting.left_sums(h_hist, own),
            valid,
        )

    def _host_gains(
        self, host: PartyRole, tag: str, compute: Sequence[int], to_split: Sequence[int]
    ) -> list[Floats]:
        """Decrypt a host's candidates at the nodes it computed, derive their siblings, and
        give the gains of its candidates (in its order) at each node to split."""
        trainer, channel = self.trainer, self.trainer.channel
        valid = channel.array(VALID_SPLITINFO, tag, host, "b", (len(to_split), -1))
        size = valid.shape[1]
        ciphertexts = channel.ciphertexts(trainer.key, ENCRYPTED_SPLITINFO, tag, host)
        with channel.timings.phase("decrypt"):
            try:
                plain = trainer.private_key.decrypt_ints(ciphertexts)
            except InvalidArgument as error:
                raise FederatedError(
                    f"{_sender(host)} sent candidates that fail: {error}"
                ) from None
        g_all, h_all = self._read_sums(host, plain, len(compute), size)
        cache = self.cache[host]
        for j, node in enumerate(compute):
            cache[node] = (g_all[j * size : (j + 1) * size], h_all[j * size : (j + 1) * size])
        result = []
        for j, node in enumerate(to_split):
            if node not in cache:
                up = self.parent[node]
                (sibling,) = [n for n in compute if self.parent.get(n) == up]
                cache[node] = (cache[up][0] - cache[sibling][0], cache[up][1] - cache[sibling][1])
            g_left, h_left = cache[node]
            result.append(
                boosting.candidate_gains(
                    self.settings, self.sums[node], self.scales, g_left, h_left, valid[j]
                )
            )
        return result

    def _read_sums(
        self, host: PartyRole, plain: list[int], nodes: int, size: int
    ) -> tuple[Floats, Floats]:
        """The G and H of each candidate at each node, node by node, from the plaintexts."""
        trainer = self.trainer
        values = nodes * size
        if not trainer.settings.cipher_compress:  # per node: every G, then every H
            if len(plain) != 2 * values:
                raise FederatedError(f"{_sender(host)} sent {len(plain)} sums, not {2 * values}")
            sums = np.asarray(plain, dtype=np.float64).reshape(nodes, 2, size)
            return sums[:, 0].ravel(), sums[:, 1].ravel()
        width = trainer.packing.width
        per = paillier.slots(trainer.key, width)
        if len(plain) != -(-values // per):
            raise FederatedError(f"{_sender(host)} sent {len(plain)} packed sums")
        g_all, h_all = np.empty(values), np.empty(values)
        k = 0
        for j, value in enumerate(plain):
            for slot in paillier.unpack(value, width, min(per, values - j * per)):
                g_all[k], h_all[k] = trainer.packing.unpack(slot)
                k += 1
        return g_all, h_all

    def _winner(self, gains: Sequence[Floats]) -> tuple[int, int]:
        """(position of the party, index of its candidate), or (-1, -1): the first party with
        the highest gain, above min_impurity_split."""
        best = [float(g.max()) if len(g) else -np.inf for g in gains]
        if not best:
            return -1, -1
        position = int(np.argmax(best))
        if not best[position] > self.settings.min_impurity_split:
            return -1, -1
        return position, boosting.best_index(gains[position])

    def _split(
        self,
        node_id: int,
        holder: PartyRole | None,
        index: int,
        gain: float,
        goes_left: npt.NDArray[np.bool_],
    ) -> None:
        trainer, tree = self.trainer, self.tree
        node = tree.nodes[node_id]
        left_id, right_id = len(tree.nodes), len(tree.nodes) + 1
        node.is_leaf, node.left_nodeid, node.right_nodeid = False, left_id, right_id
        if holder is None:
            fid, bid = int(self.own.fid[index]), int(self.own.bid[index])
            node.fid = fid
            tree.split_maskdict[node_id] = float(trainer.binning.points[fid][bid])
            tree.missing_dir_maskdict[node_id] = int(self.own.missing_dir[index])
            key = (trainer.sitename, fid)
            step = 1.0 if self.settings.importance == "split" else gain
            trainer.importance[key] = trainer.importance.get(key, 0.0) + step
        else:
            node.sitename = f"host:{holder.party_id}"
        rows = np.flatnonzero(self.positions == node_id)
        for child, side in ((left_id, rows[goes_left[rows]]), (right_id, rows[~goes_left[rows]])):
            self.sums[child] = NodeSums(
                int(self.fp.g[side].sum()), int(self.fp.h[side].sum()), len(side)
            )
            self.parent[child] = node_id
            tree.nodes.append(self._node(child, self.sums[child]))
            self.positions[side] = child
            self.layer.append(child)


def _plan_strings(settings: Settings, plan: Sequence[tuple[int, int]]) -> list[str]:
    """FATE's encoded tree plan ("type_hostid"), for the fast strategies."""
    return [] if settings.strategy == "std" else [f"{t}_{h}" for t, h in plan]


# --- federated scoring ------------------------------------------------------------------------


def _federated_leaves(
    channel: _Channel,
    flow: str,
    trees: Sequence[Tree],
    sitename: str,
    hosts: Sequence[PartyRole],
    features: Floats,
    missing: npt.NDArray[np.bool_],
) -> Floats:
    """The weight of the leaf each instance reaches in each tree (trees, n): the guest's walk,
    with the hosts' (`_answer_walks`) for their splits."""
    forest = boosting.compile_forest(trees, sitename, [f"host:{h.party_id}" for h in hosts])
    count = len(features)
    tree_of = np.repeat(np.arange(len(trees)), count)
    rows = np.tile(np.arange(count), len(trees))
    nodes = forest.offsets[tree_of].copy()
    sizes = np.diff(forest.offsets)
    step = 0
    while True:
        nodes = boosting.walk(forest, features, missing, rows, nodes)
        waiting = forest.owner[nodes] == 2
        tag = f"{flow}.{step}"
        channel.remote(not waiting.any(), PREDICT_STOP, tag, hosts)
        if not waiting.any():
            break
        asked = []
        for h, host in enumerate(hosts):
            chosen = np.flatnonzero(waiting & (forest.holder[nodes] == h))
            local = nodes[chosen] - forest.offsets[tree_of[chosen]]
            request = np.stack([tree_of[chosen], rows[chosen], local], axis=1).astype(np.int32)
            channel.remote(request, GUEST_PREDICT_DATA, tag, [host])
            asked.append(chosen)
        for host, chosen in zip(hosts, asked, strict=True):
            answer = channel.array(HOST_PREDICT_DATA, tag, host, "i", (len(chosen),))
            if np.any((answer < 0) | (answer >= sizes[tree_of[chosen]])):
                raise FederatedError(f"{_sender(host)} sent nodes its trees do not have")
            nodes[chosen] = forest.offsets[tree_of[chosen]] + answer
        step += 1
    weights: Floats = forest.weight[nodes].reshape(len(trees), count)
    return weights


def _answer_walks(
    channel: _Channel,
    flow: str,
    forest: Forest,
    features: Floats,
    missing: npt.NDArray[np.bool_],
    guest: PartyRole,
) -> None:
    """A host's part of `_federated_leaves`: walk the pairs it is asked about."""
    sizes = np.diff(forest.offsets)
    step = 0
    while not channel.json(PREDICT_STOP, f"{flow}.{step}", guest, bool):
        tag = f"{flow}.{step}"
        request = channel.array(GUEST_PREDICT_DATA, tag, guest, "i", (-1, 3)).astype(np.int64)
        tree_of, rows, local = request[:, 0], request[:, 1], request[:, 2]
        if np.any((tree_of < 0) | (tree_of >= len(sizes)) | (rows < 0) | (rows >= len(features))):
            raise FederatedError(f"{_sender(guest)} asked about trees or rows this host has not")
        if np.any((local < 0) | (local >= sizes[tree_of])):
            raise FederatedError(f"{_sender(guest)} asked about nodes this host's trees have not")
        reached = boosting.walk(forest, features, missing, rows, forest.offsets[tree_of] + local)
        answer = (reached - forest.offsets[tree_of]).astype(np.int32)
        channel.remote(answer, HOST_PREDICT_DATA, tag, [guest])
        step += 1


@dataclass(frozen=True)
class _Loaded:
    """A saved model, read back."""

    trees: list[Tree]
    header: list[str]
    zero_as_missing: bool
    meta: Mapping[str, Any]
    param: Mapping[str, Any]

    @classmethod
    def of(cls, model: Model, role: str) -> _Loaded:
        meta, param = model.get("meta"), model.get("param")
        if not isinstance(meta, Mapping) or not isinstance(param, Mapping) or "trees_" not in param:
            raise InvalidArgument(f"{MODULE} at the {role}: this is not a SecureBoost model")
        mapping = param["feature_name_fid_mapping"]
        return cls(
            [Tree.from_json(t) for t in param["trees_"]],
            [mapping[str(f)] for f in range(len(mapping))],
            bool(meta["tree_meta"]["zero_as_missing"]),
            meta,
            param,
        )


def predict_guest(
    transport: Transport,
    data: Dataset,
    model: Model,
    parties: Participants,
    *,
    threshold: float = 0.5,
    kind: str = "predict",
    timeout: float = GET_TIMEOUT_S,
) -> pa.Table:
    """Score `data` with a trained model, with the hosts: FATE's prediction table."""
    channel = _Channel(transport, timeout, Timings())
    loaded = _Loaded.of(model, "guest")
    features = _aligned(data, loaded.header, "guest")
    param, meta = loaded.param, loaded.meta
    dim = int(param["tree_dim"])
    objective_meta = meta["objective_meta"]
    objective = boosting.Objective(
        objective_meta["objective"], (objective_meta["param"] or [None])[0], dim
    )
    hosts = list(parties.hosts)
    channel.remote([str(v) for v in data.ids.tolist()], SAMPLE_IDS, "predict", hosts)
    scores = np.tile(np.asarray(param["init_score"], dtype=np.float64), (len(data.ids), 1))
    leaves = _federated_leaves(
        channel,
        "predict",
        loaded.trees,
        f"guest:{parties.guest.party_id}",
        hosts,
        features,
        boosting.missing_mask(features, loaded.zero_as_missing),
    )
    scores = boosting.add_trees(scores, leaves, float(meta["learning_rate"]))
    classes = [float(c) for c in param["classes_"]]
    return boosting.prediction_output(
        objective, classes, scores, threshold, data.ids, data.labels, kind, data.sid
    )


# --- a host -----------------------------------------------------------------------------------


def fit_host(
    transport: Transport,
    train: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    party: PartyRole | None = None,
    validate: Dataset | None = None,
    warm_start: Model | None = None,
    module: str = MODULE,
    defaults: Mapping[str, Any] = DEFAULTS,
    timeout: float = GET_TIMEOUT_S,
    timings: Timings | None = None,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> Model:
    """A host's part of training: its model (its splits' features and thresholds, the trees'
    shape; nothing of the guest's). `warm_start`: its model of an earlier job, to go on from;
    `checkpoints`, ModelCheckpoint's (a round is an epoch)."""
    settings = read_settings(params, module, defaults)
    _check_parties(settings, parties)
    channel = _Channel(transport, timeout, timings or Timings())
    previous = None if warm_start is None else _Loaded.of(warm_start, "host")
    trainer = _HostTrainer(
        settings, parties, party or parties.hosts[0], channel, train, validate, previous
    )
    return trainer.fit(checkpoints.epoch_end)


class _HostTrainer:
    def __init__(
        self,
        settings: Settings,
        parties: Participants,
        party: PartyRole,
        channel: _Channel,
        train: Dataset,
        validate: Dataset | None,
        previous: _Loaded | None,
    ) -> None:
        self.settings, self.channel, self.party = settings, channel, party
        self.guest = guest = parties.guest
        self.sitename = f"host:{party.party_id}"
        self.header = train.header if previous is None else previous.header
        self.previous = [] if previous is None else previous.trees
        setup = channel.json(BOOSTER_DIM, "fit", guest, dict)
        try:
            self.dim = int(setup["booster_dim"])
            self.plan = [(int(a), int(b)) for a, b in setup["tree_plan"]]
            self.start = int(setup["start_round"])
            self.max_depth = int(setup["max_depth"])
            self.key = paillier.PublicKey.from_json(setup["public_key"])
            # The answers' obfuscators are classic r^n: DJN's hs^a, with a a 512-bit exponent,
            # would hide which instances a sum adds up from the guest, who holds the key's
            # factors, only as far as discrete logarithms modulo its 512-bit primes are hard.
            self.answers = paillier.PublicKey(self.key.n)
            self.packing_field = int(setup["packing_field"])
            with_validation = bool(setup["validate"])
        except (KeyError, TypeError, ValueError, InvalidArgument) as error:
            raise FederatedError(
                f"{_sender(guest)} sent a setup that is not one: {error}"
            ) from None
        if self.start * self.dim != len(self.previous):
            raise InvalidArgument(
                f"{settings.module}: the guest goes on from round {self.start}, this host's "
                f"model has {len(self.previous)} trees: give both the models of one job"
            )
        zero_as_missing = settings.boosting.tree.zero_as_missing
        ids = channel.json(SAMPLE_IDS, "fit", guest, list)
        features = _aligned(train, self.header, "host")[_row_order(train.ids.tolist(), ids, guest)]
        missing = boosting.missing_mask(features, zero_as_missing)
        self.train_features = (features, missing)
        config = settings.boosting
        self.binning = boosting.fit_binning(features, missing, config.bin_num, config.binning_error)
        self.bins = self.binning.bins(features, missing)
        self.validate: tuple[Floats, npt.NDArray[np.bool_]] | None = None
        if with_validation:
            if validate is None:
                raise InvalidArgument(f"{settings.module}: the guest validates: give validate_data")
            ids = channel.json(SAMPLE_IDS, "validate", guest, list)
            matrix = _aligned(validate, self.header, "host")
            matrix = matrix[_row_order(validate.ids.tolist(), ids, guest)]
            self.validate = (matrix, boosting.missing_mask(matrix, zero_as_missing))

    def fit(self, epoch_end: EpochEnd) -> Model:
        channel, guest = self.channel, self.guest
        trees: list[Tree] = list(self.previous)
        if trees:  # a warm start: the guest scores its data with the trees so far
            forest = boosting.compile_forest(trees, self.sitename)
            _answer_walks(channel, "warm", forest, *self.train_features, guest)
            if self.validate is not None:
                _answer_walks(channel, "warm.validate", forest, *self.validate, guest)
        kept = 0
        for round_ in range(self.start, len(self.plan)):
            shape = TreeShape.of(self.plan[round_], self.settings, self.max_depth)
            round_trees = [self._grow(round_, k, len(trees) + k, shape) for k in range(self.dim)]
            trees.extend(round_trees)
            if self.validate is not None:
                forest = boosting.compile_forest(round_trees, self.sitename)
                _answer_walks(channel, f"validate.{round_}", forest, *self.validate, guest)
            flag = channel.json(STOP_FLAG, f"fit.{round_}", guest, dict)
            epoch_end(round_, partial(self._model, list(trees), round_ + 1))
            if flag.get("stop"):
                kept = int(flag.get("rounds", round_ + 1))
                break
        trees = trees[: kept * self.dim]
        channel.remote(
            {str(fid): v for (_, fid), v in self._importance(trees).items()},
            HOST_FEATURE_IMPORTANCE,
            "fit",
            [guest],
        )
        return self._model(trees, kept)

    def _importance(self, trees: Sequence[Tree]) -> dict[tuple[str, int], float]:
        importance: dict[tuple[str, int], float] = {}
        for tree in trees:
            for node in tree.nodes:
                if not node.is_leaf and node.sitename == self.sitename:
                    key = (self.sitename, node.fid)
                    importance[key] = importance.get(key, 0.0) + 1.0
        return importance

    def _model(self, trees: Sequence[Tree], rounds: int) -> Model:
        """The host's model of the first `rounds` rounds' trees."""
        importance = self._importance(trees)
        names = {(self.sitename, f): name for f, name in enumerate(self.header)}
        return {
            "meta": self.settings.meta(),
            "param": {
                "tree_num": len(trees),
                "trees_": [t.to_json() for t in trees],
                "tree_dim": self.dim,
                "feature_importances": boosting.importance_records(importance, names),
                "feature_name_fid_mapping": {str(f): name for f, name in enumerate(self.header)},
                "best_iteration": -1,
                "tree_plan": _plan_strings(self.settings, self.plan[:rounds]),
                "model_name": self.settings.model_name,
                "anonymous_name_mapping": {
                    f"host_{self.party.party_id}_{f}": name for f, name in enumerate(self.header)
                },
            },
        }

    def _grow(self, round_: int, k: int, index: int, shape: TreeShape) -> Tree:
        """The host's side of one tree (steps 2 and 4 of the module's docstring)."""
        channel, guest = self.channel, self.guest
        config = self.settings.boosting
        tag = f"fit.{round_}.{k}"
        splits: dict[int, tuple[int, int, int]] = {}
        levels = shape.host_levels(self.party)
        if levels:
            features = boosting.sampled_features(
                len(self.binning.points),
                config.subsample_feature_rate,
                config.seed,
                index,
                self.party.party_id,
            )
            found = boosting.candidates(self.binning, features, config.tree.use_missing)
            # The order the guest sees the candidates in: new for every tree.
            order = np.random.default_rng(secrets.randbits(128)).permutation(len(found))
            # The answers' randomness, while the guest encrypts.
            self._fill_in_background(len(found), levels)
            count = len(self.bins)
            received = channel.ciphertexts(self.key, ENCRYPTED_GH, tag, guest)
            if len(received) != (count if self.packing_field else 2 * count):
                raise FederatedError(f"{_sender(guest)} sent {len(received)} gradients")
            parts = [received] if self.packing_field else [received[:count], received[count:]]
            for depth in range(shape.max_depth):
                if self.party not in shape.level(depth, [self.party])[1]:
                    continue
                if not self._level(f"{tag}.{depth}", parts, found, order, splits):
                    break
        return self._tree(channel.json(TREE, tag, guest, list), splits)

    def _fill_in_background(self, candidates: int, levels: int) -> None:
        """Start computing the obfuscators of this tree's answers, while the guest works."""
        per_node = (
            -(-candidates // paillier.slots(self.key, 2 * self.packing_field))
            if self.packing_field
            else 2 * candidates
        )
        # The root, then one node of each pair of siblings: 2^(levels - 1) nodes in all.
        self.answers.fill_in_background(per_node << max(levels - 1, 0))

    def _level(
        self,
        tag: str,
        parts: list[list[int]],
        found: Candidates,
        order: Ints,
        splits: dict[int, tuple[int, int, int]],
    ) -> bool:
        channel, guest, timings = self.channel, self.guest, self.channel.timings
        queue = channel.json(TREE_NODE_QUEUE, tag, guest, dict)
        try:
            compute = [int(n) for n in queue["compute"]]
            to_split = [int(n) for n in queue["split"]]
        except (KeyError, TypeError, ValueError):
            raise FederatedError(f"{_sender(guest)} sent a node queue that is not one") from None
        if not to_split:
            return False
        positions = channel.array(NODE_POSITIONS, tag, guest, "i", (len(self.bins),))
        positions = positions.astype(np.int64)
        tree = self.settings.boosting.tree
        valid = np.zeros((len(to_split), len(found)), bool)
        for j, node in enumerate(to_split):
            rows = np.flatnonzero(positions == node)
            (counts,) = boosting.histograms(self.bins, self.binning.width, rows, [None])
            left = boosting.left_sums(counts, found)
            valid[j] = boosting.count_valid(tree, len(rows), left)[order]
        values: list[int] = []
        for node in compute:
            rows = np.flatnonzero(positions == node)
            for part in parts:
                with timings.phase("histogram"):
                    sums = self._left_sums([part[r] for r in rows.tolist()], rows, found)
                values.extend(sums[i] for i in order.tolist())
        with timings.phase("pack"):
            if self.packing_field:
                values = paillier.pack(self.key, values, 2 * self.packing_field)
            # Exactly the obfuscators still missing (a pool refill rounds up to a batch).
            self.answers.precompute(len(values) - self.answers.precomputed)
            values = self.answers.rerandomize(values)
        channel.remote(paillier.to_rows(self.key, values), ENCRYPTED_SPLITINFO, tag, [guest])
        channel.remote(valid, VALID_SPLITINFO, tag, [guest])
        decisions = channel.json(BEST_SPLITINFO, tag, guest, list)
        if len(decisions) != len(to_split):
            raise FederatedError(f"{_sender(guest)} sent {len(decisions)} decisions")
        won = []
        for node, tied in zip(to_split, decisions, strict=True):
            if not tied:
                continue
            if not all(isinstance(t, int) and 0 <= t < len(found) for t in tied):
                raise FederatedError(f"{_sender(guest)} chose candidates this host has not")
            first = int(min(order[t] for t in tied))  # equal gains: the first in FATE's order
            splits[node] = (
                int(found.fid[first]),
                int(found.bid[first]),
                int(found.missing_dir[first]),
            )
            won.append(node)
        rows = np.flatnonzero(np.isin(positions, won))
        goes_left = np.zeros(len(rows), bool)
        for node in won:
            mine = positions[rows] == node
            goes_left[mine] = _routing(self.bins, self.binning.missing, rows[mine], *splits[node])
        channel.remote(goes_left, DISPATCH_RESULT, tag, [guest])
        return True

    def _left_sums(self, ciphertexts: Sequence[int], rows: Ints, found: Candidates) -> list[int]:
        """Per candidate (FATE's order), the encrypted sum of its left side at a node."""
        width = self.binning.width
        columns = sorted(set(found.fid.tolist()))
        if not columns:
            return []
        where = {f: k for k, f in enumerate(columns)}
        groups = self.bins[rows][:, columns] + np.arange(len(columns), dtype=np.int32) * width
        totals = paillier.sum_by_groups(self.key, ciphertexts, groups, len(columns) * width)
        nsquare = self.key.nsquare
        cumulative: dict[tuple[int, int], int] = {}
        for f in columns:
            base = where[f] * width
            running = totals[base]
            for b in range(len(self.binning.points[f]) - 1):
                if b:
                    running = running * totals[base + b] % nsquare
                cumulative[(f, b)] = running
        result = []
        for f, b, direction in zip(
            found.fid.tolist(), found.bid.tolist(), found.missing_dir.tolist(), strict=True
        ):
            value = cumulative[(f, b)]
            if direction == -1:  # the missing values go left too
                value = value * totals[where[f] * width + width - 1] % nsquare
            result.append(value)
        return result

    def _tree(self, structure: list[Any], splits: Mapping[int, tuple[int, int, int]]) -> Tree:
        tree = Tree()
        try:
            for node_id, site, is_leaf, left, right in structure:
                tree.nodes.append(
                    Node(
                        int(node_id),
                        str(site),
                        is_leaf=bool(is_leaf),
                        left_nodeid=int(left),
                        right_nodeid=int(right),
                    )
                )
        except (TypeError, ValueError):
            raise FederatedError(f"{_sender(self.guest)} sent a tree that is not one") from None
        for node_id, (fid, bid, direction) in splits.items():
            if node_id >= len(tree.nodes) or tree.nodes[node_id].sitename != self.sitename:
                raise FederatedError(f"{_sender(self.guest)} sent a tree without split {node_id}")
            tree.nodes[node_id].fid = fid
            tree.split_maskdict[node_id] = float(self.binning.points[fid][bid])
            tree.missing_dir_maskdict[node_id] = direction
        return tree


def predict_host(
    transport: Transport,
    data: Dataset,
    model: Model,
    parties: Participants,
    *,
    party: PartyRole | None = None,
    timeout: float = GET_TIMEOUT_S,
) -> None:
    """A host's part of prediction: it walks the guest's batches through its own splits."""
    channel = _Channel(transport, timeout, Timings())
    party = party or parties.hosts[0]
    loaded = _Loaded.of(model, "host")
    guest = parties.guest
    ids = channel.json(SAMPLE_IDS, "predict", guest, list)
    features = _aligned(data, loaded.header, "host")[_row_order(data.ids.tolist(), ids, guest)]
    forest = boosting.compile_forest(loaded.trees, f"host:{party.party_id}")
    missing = boosting.missing_mask(features, loaded.zero_as_missing)
    _answer_walks(channel, "predict", forest, features, missing, guest)


# --- the component --------------------------------------------------------------------------


def run_component(context: TaskContext, module: str, defaults: Mapping[str, Any]) -> None:
    """One party's task of HeteroSecureBoost or HeteroFastSecureBoost: train (from scratch or
    from a model, FATE 1.7's warm start), or predict with the model a predict job feeds it."""
    params = context.parameters
    settings = read_settings(params, module, defaults)
    parties = Participants.from_roles(context.roles)
    model: Model | None = next(iter(context.input_models().values()), None)
    data, kind = learner_input(context)
    # FATE 1.7's warm start: a model and train_data go on training; a model alone predicts.
    warm_start, model = (model, None) if kind == "train" else (None, model)
    validate_tables = context.input_tables("validate_data")
    validate = Dataset.from_table(validate_tables[0]) if validate_tables else None
    timings = Timings()
    config = settings.boosting
    checkpoints = Checkpoints(config.save_freq, context.save_checkpoint)
    if config.cv.need_cv and model is None and warm_start is None:
        classes = 0 if data.labels is None else len(set(np.unique(data.labels).tolist()))
        run_cv(
            context,
            config.cv,
            lambda transport, fold, train, test: _fold(
                context, module, defaults, parties, transport, train, test
            ),
            mode="hetero",
            data=data,
            eval_type=boosting.eval_type(config.task_type, max(classes, 2)),
            metric_names=config.metrics,
        )
        return
    if settings.substitute and model is None:
        context.log.warning(
            "encrypt_param.method IterativeAffine: encrypting with Paillier instead (the trees "
            "are the same; IterativeAffine is not secure and FATE 1.7 removed it)"
        )
    if context.task.role == "host":
        if model is not None:
            predict_host(context.federation, data, model, parties, party=context.local)
            return
        model = fit_host(
            context.federation,
            data,
            params,
            parties,
            party=context.local,
            validate=validate,
            warm_start=warm_start,
            module=module,
            defaults=defaults,
            timings=timings,
            checkpoints=checkpoints,
        )
        context.save_model(model)
        context.save_summary({"seconds": timings.seconds})
        return
    if model is not None:
        table = predict_guest(
            context.federation,
            data,
            model,
            parties,
            threshold=settings.boosting.threshold,
            kind=kind,
        )
    else:
        losses: list[float] = []

        def on_loss(round_: int, loss: float) -> None:
            # Recorded as it comes, as FATE does: watchers see the training advance.
            losses.append(loss)
            context.log_metric("train", "loss", [(round_, loss)], LOSS_META)
            context.log.info("round %s: loss %.6f", round_, loss)

        model, table, summary = fit_guest(
            context.federation,
            data,
            params,
            parties,
            validate=validate,
            warm_start=warm_start,
            module=module,
            defaults=defaults,
            on_loss=on_loss,
            log_metric=context.log_metric,
            timings=timings,
            checkpoints=checkpoints,
        )
        if losses:
            context.log_metric("train", "loss", [], {**LOSS_META, "Best": min(losses)})
        context.save_model(model)
        context.save_summary({**summary, "seconds": timings.seconds})
    context.log.info("%s rows scored", table.num_rows)
    context.save_output_data(table)


def _fold(
    context: TaskContext,
    module: str,
    defaults: Mapping[str, Any],
    parties: Participants,
    transport: Transport,
    train: Dataset | None,
    test: Dataset | None,
) -> FoldResult:
    """One fold of cross validation at this party (`sdk/cv.py`); with validation_freqs, the
    fold's test rows are its validation data, as FATE's fit(train, test)."""
    assert train is not None and test is not None  # no arbiter in this protocol
    params = context.parameters
    validate = test if read_settings(params, module, defaults).boosting.validation.enabled else None
    if context.task.role == "host":
        model = fit_host(
            transport,
            train,
            params,
            parties,
            party=context.local,
            validate=validate,
            module=module,
            defaults=defaults,
        )
        predict_host(transport, test, model, parties, party=context.local)
        return FoldResult()
    model, table, summary = fit_guest(
        transport,
        train,
        params,
        parties,
        validate=validate,
        module=module,
        defaults=defaults,
        log_metric=context.log_metric,
    )
    scored = predict_guest(
        transport,
        test,
        model,
        parties,
        threshold=read_settings(params, module, defaults).boosting.threshold,
        kind="validate",
    )
    trained = table.filter(pc.equal(table.column("type"), "train"))
    return FoldResult(trained, scored, summary)


class HeteroSecureBoost:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: validated(params, MODULE, DEFAULTS),
    )

    def run(self, context: TaskContext) -> None:
        run_component(context, MODULE, DEFAULTS)


def validated(params: dict[str, Any], module: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog's check before a job is created."""
    read_settings(params, module, defaults)
    return params
