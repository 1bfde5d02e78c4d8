"""HomoSecureBoost (FATE's `HomoSecureBoost`, alias `HomoSecureboost`): gradient-boosted trees
on rows split between parties with the same features, each with its own labels.

    model, table = fit_client(transport, data, params, parties)   # the guest and each host
    model = fit_arbiter(transport, params, parties)
    table = predict(model, data, threshold=0.5)                   # a predict job, any client

The trees are `boosting.py`'s, grown on all the clients' rows as if they were one table: the
federated model is the one a plaintext run on the pooled rows gives. The clients (guest and
hosts) compute their rows' g and h and local histograms; the arbiter adds them and decides.
Everything the arbiter gets is summed over the clients by secure aggregation
(`crypto/secure_aggregation.py`: pairwise masks, in Z_2^64, of integer vectors): it learns
sums, never a client's own. In order:

1. Keys: each client sends its X25519 public key, the arbiter relays them all (and the seed
   of the feature sampling).
2. Labels: the number of rows, the count of each class (classification: labels are 0, 1, ...,
   as FATE's HomoSecureBoost asks) or the sum of the labels (regression): the classes, and
   the initial score (the mean; lae's median by the search of 3.).
3. Quantiles: the arbiter finds the value of each feature at the rank of each of FATE's
   k / bin_num quantiles (`boosting.quantile_points`) over all the clients' rows, by a search
   over the 64-bit keys that order the floats (16 candidates per quantile per round, 16
   rounds at most): each round, every client counts its values at or below the candidates,
   and the arbiter sees the sums. The split points are those of the pooled table, exactly
   (FATE's HomoSecureBoost approximates them).
4. Per tree, the magnitude of g and h (each client's, one-hot: the arbiter sees how many
   clients have each) fixes one fixed-point scale for all; then per level, each client sends
   its histograms of the level's nodes (g, h and counts per feature and bin, integers), the
   arbiter adds them, finds each node's best split and sends the splits (feature, bin,
   missing direction); each client routes its rows. The arbiter then sends the tree, with
   its weights and thresholds.
5. Per round, the summed loss and weights (the arbiter's train/loss metric: the weighted
   mean) and whether the loss has stopped moving (`n_iter_no_change`, `tol`).

Validation (`validation_freqs`, with each client's `validate_data`) runs at each client on its
own data; FATE's HomoSecureBoost has no early stopping, which is refused by name, as are cross
validation and multi-output trees. A model input with train_data (FATE 1.7's warm start)
trains `num_trees` more rounds from that model's trees. `backend`
(FATE 1.10's memory or distributed histograms) changes no result and is only checked.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from fateflow_grpc.components.crypto import secure_aggregation
from fateflow_grpc.components.feature import binning as feature_binning
from fateflow_grpc.components.sdk.checkpoint import NO_CHECKPOINTS, Checkpoints
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.cv import FoldResult, run_cv
from fateflow_grpc.components.sdk.learning import TRAIN_KINDS, learner_input
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.components.sdk.validation import LogMetric, Validation
from fateflow_grpc.components.tree import boosting
from fateflow_grpc.components.tree.boosting import (
    CLASSIFICATION,
    Binning,
    BoostingSettings,
    Floats,
    Ints,
    Model,
    Node,
    NodeSums,
    Tree,
)
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FailedPrecondition, FederatedError, InvalidArgument

MODULE = "HomoSecureBoost"

_VARIABLES = "HomoSecureBoostingTreeTransferVariable"
DH_PUBKEY = f"{_VARIABLES}.dh_pubkey"
DH_PUBKEYS = f"{_VARIABLES}.dh_pubkeys"
LOCAL_LABELS = f"{_VARIABLES}.local_labels"
LABEL_MAPPING = f"{_VARIABLES}.label_mapping"
QUANTILE_CANDIDATES = f"{_VARIABLES}.quantile_candidates"
QUANTILE_COUNTS = f"{_VARIABLES}.quantile_counts"
SPLIT_POINTS = f"{_VARIABLES}.split_points"
GH_MAGNITUDE = f"{_VARIABLES}.gh_magnitude"
GH_SCALE = f"{_VARIABLES}.gh_scale"
NODE_QUEUE = f"{_VARIABLES}.cur_layer_node"
LOCAL_HISTOGRAMS = f"{_VARIABLES}.local_histograms"
BEST_SPLIT_POINTS = f"{_VARIABLES}.best_split_points"
TREE = f"{_VARIABLES}.tree"
LOSS_STATUS = f"{_VARIABLES}.loss_status"
STOP_FLAG = f"{_VARIABLES}.stop_flag"

#: Classification labels are 0 .. MAX_CLASSES - 1 (FATE: consecutive integers from 0).
MAX_CLASSES = boosting.MAX_CLASSES
#: Candidates per quantile per round of the search: 4 bits of the 64-bit key at a time.
SEARCH_FANOUT = 16
#: One-hot magnitudes cover frexp exponents of doubles, -1074 .. 1024.
_MAGNITUDE_OFFSET, _MAGNITUDES = 1075, 2100
#: Separates HomoSecureBoost's masks from any other protocol's made from the same keys.
_MASK_CONTEXT = b"fateflow-grpc HomoSecureBoost pairwise mask"
_TAG = "fit"

# FATE 1.5's HomoSecureBoostParam, with what 1.11 adds (backend).
DEFAULTS: dict[str, Any] = {**boosting.BOOSTING_DEFAULTS, "backend": "distributed"}
LOSS_META = {"name": "train", "metric_type": "LOSS", "unit_name": "iters"}


def read_settings(params: Mapping[str, Any] | None) -> BoostingSettings:
    """FATE's checks of HomoSecureBoostParam; InvalidArgument names the first wrong value."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    settings = boosting.read_boosting(reader)
    reader.choice("backend", ("distributed", "memory"))
    if settings.validation.early_stopping_rounds is not None:
        raise reader.section("callback_param").error(
            "early_stopping_rounds",
            settings.validation.early_stopping_rounds,
            "is not for homo algorithms (FATE refuses it too)",
        )
    return settings


# --- secure aggregation -----------------------------------------------------------------------


class _Aggregation:
    """A client's side: each vector of integers it adds goes masked (a fresh mask round per
    vector, in the same order at every client)."""

    def __init__(
        self,
        transport: Transport,
        arbiter: PartyRole,
        clients: Sequence[PartyRole],
        header: Sequence[str],
        timeout: float,
    ) -> None:
        self.transport, self.arbiter, self.timeout = transport, arbiter, timeout
        private, public = secure_aggregation.new_key_pair()
        # The arbiter checks that every client has the same columns, in the same order.
        digest = hashlib.sha256("\x1f".join(header).encode()).hexdigest()
        hello = {"public_key": public.hex(), "features": len(header), "header": digest}
        self.transport.remote(hello, DH_PUBKEY, _TAG, [arbiter])
        relay = self.get(DH_PUBKEYS, _TAG)
        try:
            keys = [bytes.fromhex(k) for k in relay["public_keys"]]
            self.seed = int(relay["seed"])
            assert len(keys) == len(clients) and keys.count(public) == 1
        except (AssertionError, KeyError, TypeError, ValueError):
            raise FederatedError("the arbiter relayed no HomoSecureBoost public keys") from None
        self._masks = secure_aggregation.PairwiseMasks(private, public, keys, _MASK_CONTEXT)
        self._round = 0

    def add(self, values: npt.NDArray[np.int64], name: str, tag: str) -> None:
        masked = self._masks.mask(values.astype(np.int64).view(np.uint64), self._round)
        self._round += 1
        self.transport.remote(masked, name, tag, [self.arbiter])

    def get(self, name: str, tag: str) -> Any:
        (obj,) = self.transport.get(name, tag, [self.arbiter], self.timeout)
        return obj


def _total(
    transport: Transport,
    clients: Sequence[PartyRole],
    name: str,
    tag: str,
    size: int,
    timeout: float,
) -> Ints:
    """The arbiter's side: the sum of the clients' masked vectors (the masks cancel)."""
    total = np.zeros(size, np.uint64)
    for obj, client in zip(transport.get(name, tag, clients, timeout), clients, strict=True):
        if not isinstance(obj, np.ndarray) or obj.dtype != np.uint64 or obj.shape != (size,):
            raise FederatedError(f"{client.role} {client.party_id} sent {name} of another shape")
        total += obj  # wraps modulo 2^64, where the masks cancel
    return total.view(np.int64)


def _clients(parties: Participants) -> list[PartyRole]:
    return [parties.guest, *parties.hosts]


# --- floats as ordered integer keys (the quantile search) -------------------------------------

_SIGN = np.uint64(1 << 63)


def float_keys(values: Floats) -> npt.NDArray[np.uint64]:
    """Keys whose unsigned order is the order of the (non-NaN) floats."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    keys: npt.NDArray[np.uint64] = np.where(bits & _SIGN, ~bits, bits | _SIGN)
    return keys


def key_float(key: int) -> float:
    bits = key ^ (1 << 63) if key & (1 << 63) else (~key) & ((1 << 64) - 1)
    value: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value


def _search_candidates(low: int, high: int) -> list[int]:
    """Up to SEARCH_FANOUT - 1 keys strictly between low and high, evenly spread."""
    gap = high - low
    if gap <= SEARCH_FANOUT:
        return list(range(low + 1, high))
    return [low + gap * t // SEARCH_FANOUT for t in range(1, SEARCH_FANOUT)]


# --- the arbiter ------------------------------------------------------------------------------


@dataclass
class _Quantiles:
    """The arbiter's search: per (feature, quantile), keys low < answer <= high with
    count(<= low) < rank <= count(<= high); the answer is high once high = low + 1."""

    ranks: list[list[int]]
    low: list[list[int]]
    high: list[list[int]]

    @classmethod
    def of(cls, ranks: list[list[int]]) -> _Quantiles:
        return cls(ranks, [[-1] * len(r) for r in ranks], [[(1 << 64) - 1] * len(r) for r in ranks])

    def open(self) -> list[tuple[int, int]]:
        return [
            (f, j)
            for f, row in enumerate(self.ranks)
            for j in range(len(row))
            if self.high[f][j] - self.low[f][j] > 1
        ]


def _search(
    transport: Transport,
    clients: Sequence[PartyRole],
    ranks: list[list[int]],
    tag: str,
    timeout: float,
) -> list[list[float]]:
    """The values of the given 1-based ranks, per column, over all the clients' rows."""
    state = _Quantiles.of(ranks)
    step = 0
    while True:
        pending = state.open()
        asked = [_search_candidates(state.low[f][j], state.high[f][j]) for f, j in pending]
        request = {"columns": [f for f, _ in pending], "keys": asked}
        transport.remote(request, QUANTILE_CANDIDATES, f"{tag}.{step}", clients)
        if not pending:
            break
        size = sum(len(keys) for keys in asked)
        counts = _total(transport, clients, QUANTILE_COUNTS, f"{tag}.{step}", size, timeout)
        at = 0
        for (f, j), keys in zip(pending, asked, strict=True):
            rank = ranks[f][j]
            for key, count in zip(keys, counts[at : at + len(keys)].tolist(), strict=True):
                if count >= rank:
                    state.high[f][j] = min(state.high[f][j], key)
                else:
                    state.low[f][j] = max(state.low[f][j], key)
            at += len(keys)
        step += 1
    return [[key_float(k) for k in row] for row in state.high]


def _answer_search(
    aggregation: _Aggregation, columns: Sequence[npt.NDArray[np.uint64]], tag: str
) -> None:
    """A client's side of `_search`: counts of its sorted keys at or below the candidates."""
    step = 0
    while True:
        request = aggregation.get(QUANTILE_CANDIDATES, f"{tag}.{step}")
        try:
            pairs = [
                (columns[int(f)], [int(k) for k in keys])
                for f, keys in zip(request["columns"], request["keys"], strict=True)
            ]
        except (KeyError, TypeError, ValueError, IndexError):
            raise FederatedError("the arbiter sent quantile candidates that are not") from None
        if not pairs:
            return
        counts = [
            np.searchsorted(column, np.asarray(keys, dtype=np.uint64), side="right")
            for column, keys in pairs
        ]
        aggregation.add(np.concatenate(counts).astype(np.int64), QUANTILE_COUNTS, f"{tag}.{step}")
        step += 1


def _read_hellos(hellos: Sequence[object], clients: Sequence[PartyRole]) -> tuple[list[str], int]:
    keys, shapes = [], set()
    for hello, client in zip(hellos, clients, strict=True):
        try:
            assert isinstance(hello, dict)
            key, features, digest = hello["public_key"], hello["features"], hello["header"]
            assert len(bytes.fromhex(key)) == 32 and isinstance(features, int)
            assert isinstance(digest, str)
        except (AssertionError, KeyError, TypeError, ValueError):
            raise FederatedError(f"{client.role} {client.party_id} sent no public key") from None
        keys.append(key)
        shapes.add((features, digest))
    if len(shapes) != 1:
        raise InvalidArgument(
            f"{MODULE} clients must have the same feature columns in the same order; they have "
            + ", ".join(f"{features} features" for features, _ in sorted(shapes))
        )
    if len(set(keys)) != len(keys):
        raise FederatedError(f"two {MODULE} clients sent the same public key")
    return keys, shapes.pop()[0]


def _ranks(count: int, bin_num: int, error: float) -> list[int]:
    """The 1-based ranks of FATE's k / bin_num quantiles (`boosting.quantile_points`)."""
    return (
        [
            feature_binning.quantile_position(count, k / bin_num, error) + 1
            for k in range(1, bin_num + 1)
        ]
        if count
        else []
    )


def fit_arbiter(
    transport: Transport,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    warm_start: Model | None = None,
    on_loss: Callable[[int, float], None] | None = None,
    timeout: float = GET_TIMEOUT_S,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> Model:
    """Relay the keys, then add, search and decide (see the module's docstring); the arbiter's
    model: the losses. `warm_start`: its model of an earlier job, whose rounds go on;
    `checkpoints`, ModelCheckpoint's (a round is an epoch)."""
    settings = read_settings(params)
    previous = [] if warm_start is None else [float(v) for v in warm_start["param"]["losses"]]
    clients = _clients(parties)
    keys, features = _read_hellos(transport.get(DH_PUBKEY, _TAG, clients, timeout), clients)
    seed = settings.seed if settings.seed is not None else secrets.randbits(31)
    transport.remote({"public_keys": keys, "seed": seed}, DH_PUBKEYS, _TAG, clients)
    task = settings.task_type
    size = 1 + (MAX_CLASSES if task == CLASSIFICATION else 0)
    labels = _total(transport, clients, LOCAL_LABELS, _TAG, size, timeout)
    rows = int(labels[0])
    if rows <= 0:
        raise FailedPrecondition("HomoSecureBoost clients have no rows to train on")
    setup: dict[str, Any] = {"rows": rows}
    if task == CLASSIFICATION:
        present = np.flatnonzero(labels[1:]).tolist()
        if present != list(range(len(present))) or len(present) < 2:
            raise InvalidArgument(
                "HomoSecureBoost classification labels are 0, 1, ... k - 1 (k >= 2) across "
                f"the clients, not {present[:10]}"
            )
        setup["classes"] = present
    transport.remote(setup, LABEL_MAPPING, _TAG, clients)
    classes = setup.get("classes", [])
    objective = boosting.objective_of(settings, len(classes))
    statistic = 0.0
    if objective.initial_statistic == "mean":
        total = _total(transport, clients, LOCAL_LABELS, f"{_TAG}.mean", 1, timeout)
        statistic = float(secure_aggregation.from_fixed(total.view(np.uint64))[0]) / rows
    elif objective.initial_statistic == "median":
        middle = [(rows + 1) // 2, rows // 2 + 1]
        statistic = float(
            np.mean(_search(transport, clients, [middle], f"{_TAG}.median", timeout)[0])
        )
    transport.remote(statistic, LABEL_MAPPING, f"{_TAG}.initial", clients)
    counts = _total(transport, clients, SPLIT_POINTS, f"{_TAG}.counts", features, timeout)
    points = _search(
        transport,
        clients,
        [_ranks(int(c), settings.bin_num, settings.binning_error) for c in counts.tolist()],
        f"{_TAG}.bins",
        timeout,
    )
    transport.remote([sorted(set(p)) for p in points], SPLIT_POINTS, _TAG, clients)
    binning = Binning([np.asarray(sorted(set(p))) for p in points])
    losses = list(previous)
    trees = len(previous) * objective.dim
    rounds = len(previous) + settings.num_trees
    for round_ in range(len(previous), rounds):
        for k in range(objective.dim):
            _arbiter_tree(
                transport, clients, settings, binning, f"{_TAG}.{round_}.{k}", seed, trees, timeout
            )
            trees += 1
        total = _total(transport, clients, LOSS_STATUS, f"{_TAG}.{round_}", 2, timeout)
        loss_sum, weight = secure_aggregation.from_fixed(total.view(np.uint64)).tolist()
        loss = loss_sum / weight
        converged = bool(
            settings.n_iter_no_change and losses and abs(loss - losses[-1]) < settings.tol
        )
        losses.append(loss)
        if on_loss is not None:
            on_loss(round_, loss)
        last = converged or round_ == rounds - 1
        transport.remote({"stop": last, "loss": loss}, STOP_FLAG, f"{_TAG}.{round_}", clients)
        checkpoints.epoch_end(
            round_, partial(_arbiter_model, settings, rounds, list(losses), trees)
        )
        if last:
            break
    return _arbiter_model(settings, rounds, losses, trees)


def _arbiter_model(
    settings: BoostingSettings, rounds: int, losses: list[float], trees: int
) -> Model:
    meta = settings.meta(module=MODULE, num_trees=rounds)
    return {"meta": meta, "param": {"losses": losses, "tree_num": trees}}


def _arbiter_tree(
    transport: Transport,
    clients: Sequence[PartyRole],
    settings: BoostingSettings,
    binning: Binning,
    tag: str,
    seed: int,
    index: int,
    timeout: float,
) -> None:
    tree_settings = settings.tree
    magnitudes = _total(transport, clients, GH_MAGNITUDE, tag, 2 * _MAGNITUDES, timeout)
    exponents = [
        int(np.flatnonzero(part).max()) - _MAGNITUDE_OFFSET if part.any() else 0
        for part in (magnitudes[:_MAGNITUDES], magnitudes[_MAGNITUDES:])
    ]
    transport.remote(exponents, GH_SCALE, tag, clients)
    scales = (
        2.0 ** (exponents[0] - boosting.GH_FRACTION_BITS),
        2.0 ** (exponents[1] - boosting.GH_FRACTION_BITS),
    )
    criterion = boosting.Criterion(tree_settings.l2, tree_settings.l1)
    features = boosting.sampled_features(
        len(binning.points), settings.subsample_feature_rate, seed, index
    )
    found = boosting.candidates(binning, features, tree_settings.use_missing)
    width = binning.width
    tree = Tree([Node(0, "arbiter")])
    queue = [0]
    for depth in itertools.count():
        level = f"{tag}.{depth}"
        transport.remote(queue, NODE_QUEUE, level, clients)
        if not queue:
            break
        size = len(queue) * 3 * len(features) * width
        totals = _total(transport, clients, LOCAL_HISTOGRAMS, level, size, timeout)
        histograms = totals.astype(np.float64).reshape(len(queue), 3, len(features), width)
        # Per node: [] (a leaf), or [feature, bin, missing direction, gain].
        splits: list[list[Any]] = []
        next_queue = []
        for node_id, histogram in zip(queue, histograms, strict=True):
            g_hist, h_hist, c_hist = (np.zeros((len(binning.points), width)) for _ in range(3))
            g_hist[features], h_hist[features], c_hist[features] = histogram
            # Every row is in one bin of each feature (missing included): any feature's total.
            node = NodeSums(*(int(part[0].sum()) for part in histogram))
            tree.nodes[node_id].weight = criterion.weight(node.g * scales[0], node.h * scales[1])
            left_counts = boosting.left_sums(c_hist, found)
            valid = boosting.count_valid(tree_settings, node.count, left_counts)
            g_left, h_left = boosting.left_sums(g_hist, found), boosting.left_sums(h_hist, found)
            gains = boosting.candidate_gains(tree_settings, node, scales, g_left, h_left, valid)
            best = boosting.best_index(gains)
            if best < 0 or not gains[best] > tree_settings.min_impurity_split:
                splits.append([])
                continue
            fid, bid = int(found.fid[best]), int(found.bid[best])
            direction = int(found.missing_dir[best])
            splits.append([fid, bid, direction, float(gains[best])])
            split = tree.nodes[node_id]
            left_id, right_id = len(tree.nodes), len(tree.nodes) + 1
            split.is_leaf, split.fid, split.bid = False, fid, float(binning.points[fid][bid])
            split.left_nodeid, split.right_nodeid, split.missing_dir = left_id, right_id, direction
            left = NodeSums(int(g_left[best]), int(h_left[best]), int(left_counts[best]))
            right = NodeSums(node.g - left.g, node.h - left.h, node.count - left.count)
            for child_id, child in ((left_id, left), (right_id, right)):
                weight = criterion.weight(child.g * scales[0], child.h * scales[1])
                tree.nodes.append(Node(child_id, "arbiter", weight=weight))
                if boosting.splittable(tree_settings, child, depth + 1):
                    next_queue.append(child_id)
        transport.remote(splits, BEST_SPLIT_POINTS, level, clients)
        queue = next_queue
    transport.remote(tree.to_json(), TREE, tag, clients)


# --- a client ---------------------------------------------------------------------------------


def fit_client(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    party: PartyRole,
    validate: Dataset | None = None,
    warm_start: Model | None = None,
    log_metric: LogMetric | None = None,
    timeout: float = GET_TIMEOUT_S,
    checkpoints: Checkpoints = NO_CHECKPOINTS,
) -> tuple[Model, pa.Table, dict[str, Any]]:
    """Train with the other clients through the arbiter: this client's model (the whole
    model, the same at every client), its predictions of its training and validation rows,
    and FATE's summary; `checkpoints`, ModelCheckpoint's (a round is an epoch). `warm_start`: its model of an earlier job, whose rounds go on (with its
    features, classes, objective and learning rate)."""
    settings = read_settings(params)
    tree_settings = settings.tree
    if data.labels is None:
        raise InvalidArgument(f"{MODULE} needs labelled rows at every client: set with_label")
    previous = None if warm_start is None else _Loaded.of(warm_start)
    header = data.header if previous is None else previous.header
    features = _aligned(data, header)
    arbiter = parties.require_arbiter()
    clients = _clients(parties)
    aggregation = _Aggregation(transport, arbiter, clients, header, timeout)
    labels = data.labels
    task = settings.task_type
    if task == CLASSIFICATION:
        if not np.all((labels == np.round(labels)) & (labels >= 0) & (labels < MAX_CLASSES)):
            raise InvalidArgument(
                f"{MODULE} classification labels are integers 0 .. {MAX_CLASSES - 1}"
            )
        counts = np.bincount(labels.astype(np.int64), minlength=MAX_CLASSES)
        aggregation.add(np.asarray([len(labels), *counts], np.int64), LOCAL_LABELS, _TAG)
    else:
        aggregation.add(np.asarray([len(labels)], np.int64), LOCAL_LABELS, _TAG)
    setup = aggregation.get(LABEL_MAPPING, _TAG)
    classes = [float(c) for c in setup.get("classes", [])] if isinstance(setup, dict) else []
    objective = boosting.objective_of(settings, len(classes))
    y = labels.astype(np.float64)
    if objective.initial_statistic == "mean":
        total = secure_aggregation.to_fixed(np.asarray([y.sum()]))
        aggregation.add(total.view(np.int64), LOCAL_LABELS, f"{_TAG}.mean")
    elif objective.initial_statistic == "median":
        _answer_search(aggregation, [np.sort(float_keys(y))], f"{_TAG}.median")
    statistic = aggregation.get(LABEL_MAPPING, f"{_TAG}.initial")
    if not isinstance(statistic, int | float):
        raise FederatedError("the arbiter sent an initial score that is not a number")
    missing = boosting.missing_mask(features, tree_settings.zero_as_missing)
    aggregation.add((~missing).sum(axis=0).astype(np.int64), SPLIT_POINTS, f"{_TAG}.counts")
    columns = [np.sort(float_keys(features[~missing[:, f], f])) for f in range(features.shape[1])]
    _answer_search(aggregation, columns, f"{_TAG}.bins")
    points = aggregation.get(SPLIT_POINTS, _TAG)
    binning = Binning([np.asarray(p, dtype=np.float64) for p in points])
    bins = binning.bins(features, missing)
    initial = objective.initial_scores(float(statistic))
    learning_rate = settings.learning_rate
    trees: list[Tree] = []
    importance: dict[tuple[str, int], float] = {}
    losses: list[float] = []
    sitename = party.role
    if previous is not None:  # go on from its trees, with what they were grown with
        meta, param = previous.meta, previous.param
        objective = boosting.Objective(
            meta["objective_meta"]["objective"],
            (meta["objective_meta"]["param"] or [None])[0],
            int(param["tree_dim"]),
        )
        learning_rate = float(meta["learning_rate"])
        initial = np.asarray(param["init_score"], dtype=np.float64)
        trees, losses = list(previous.trees), [float(v) for v in param["losses"]]
        for record in param["feature_importances"]:
            importance[(sitename, int(record["fid"]))] = float(record["importance"])
    scores = _scores(trees, sitename, initial, learning_rate, features, missing)
    start = len(trees) // objective.dim
    rounds = start + settings.num_trees
    validation = None
    if settings.validation.enabled:
        validation = Validation(
            settings.validation,
            boosting.eval_type(task, len(classes)),
            log_metric=log_metric or (lambda *_: None),
            pos_label=1,
            has_validate_data=validate is not None,
        )
    converged = False
    for round_ in range(start, rounds):
        g, h = objective.gradients(y, scores, data.weights)
        for k in range(objective.dim):
            tree = _client_tree(
                aggregation,
                settings,
                binning,
                bins,
                g[:, k],
                h[:, k],
                f"{_TAG}.{round_}.{k}",
                len(trees),
                importance,
                sitename,
            )
            trees.append(tree)
            forest = boosting.compile_forest([tree], sitename)
            leaves = boosting.walk(
                forest, features, missing, np.arange(len(y)), np.zeros(len(y), np.int64)
            )
            scores[:, k] += learning_rate * forest.weight[leaves]
        # The weighted sum of the losses and the sum of the weights: the arbiter divides.
        weights = np.ones(len(y)) if data.weights is None else data.weights
        totals = [float(np.sum(objective.losses(y, scores) * weights)), float(np.sum(weights))]
        aggregation.add(
            secure_aggregation.to_fixed(np.asarray(totals)).view(np.int64),
            LOSS_STATUS,
            f"{_TAG}.{round_}",
        )
        flag = aggregation.get(STOP_FLAG, f"{_TAG}.{round_}")
        if not isinstance(flag, dict):
            raise FederatedError("the arbiter sent a stop flag that is not one")
        if not isinstance(flag.get("loss"), int | float):
            raise FederatedError("the arbiter sent a stop flag without the loss")
        losses.append(float(flag["loss"]))
        if validation is not None and validation.due(round_):
            validation.score(
                round_,
                train=boosting.prediction_output(
                    objective,
                    classes,
                    scores,
                    settings.threshold,
                    data.ids,
                    labels,
                    "train",
                    data.sid,
                ),
                validate=None
                if validate is None
                else predict(
                    _model(
                        settings,
                        trees,
                        initial,
                        classes,
                        importance,
                        header,
                        losses,
                        learning_rate,
                        objective,
                        rounds,
                    ),
                    validate,
                    threshold=settings.threshold,
                    kind="validate",
                ),
            )
        checkpoints.epoch_end(
            round_,
            partial(
                _model,
                settings,
                list(trees),
                initial,
                classes,
                dict(importance),
                header,
                list(losses),
                learning_rate,
                objective,
                rounds,
            ),
        )
        if flag.get("stop"):
            converged = round_ < rounds - 1
            break
    model = _model(
        settings,
        trees,
        initial,
        classes,
        importance,
        header,
        losses,
        learning_rate,
        objective,
        rounds,
    )
    tables = [
        boosting.prediction_output(
            objective, classes, scores, settings.threshold, data.ids, labels, "train", data.sid
        )
    ]
    if validate is not None:
        tables.append(predict(model, validate, threshold=settings.threshold, kind="validate"))
    summary = {
        "loss_history": losses,
        "feature_importance": {
            r["fullname"]: r["importance"] for r in model["param"]["feature_importances"]
        },
        "validation_metrics": None if validation is None else validation.summary(),
        "is_converged": converged,
    }
    return model, pa.concat_tables(tables), summary


def _client_tree(
    aggregation: _Aggregation,
    settings: BoostingSettings,
    binning: Binning,
    bins: npt.NDArray[np.int32],
    g: Floats,
    h: Floats,
    tag: str,
    index: int,
    importance: dict[tuple[str, int], float],
    sitename: str,
) -> Tree:
    one_hot = np.zeros(2 * _MAGNITUDES, np.int64)
    one_hot[boosting.magnitude(g) + _MAGNITUDE_OFFSET] = 1
    one_hot[_MAGNITUDES + boosting.magnitude(h) + _MAGNITUDE_OFFSET] = 1
    aggregation.add(one_hot, GH_MAGNITUDE, tag)
    exponents = aggregation.get(GH_SCALE, tag)
    if not isinstance(exponents, list) or len(exponents) != 2:
        raise FederatedError("the arbiter sent no fixed-point scale")
    fp = boosting.fixed_point_at(g, h, int(exponents[0]), int(exponents[1]))
    features = boosting.sampled_features(
        len(binning.points), settings.subsample_feature_rate, aggregation.seed, index
    )
    positions = np.zeros(len(g), np.int64)
    next_id = 1
    for depth in itertools.count():
        level = f"{tag}.{depth}"
        queue = aggregation.get(NODE_QUEUE, level)
        if not isinstance(queue, list):
            raise FederatedError("the arbiter sent a node queue that is not one")
        if not queue:
            break
        parts = []
        for node in queue:
            rows = np.flatnonzero(positions == node)
            histogram = boosting.histograms(
                bins[:, features], binning.width, rows, [fp.g, fp.h, None]
            )
            parts.append(np.rint(histogram).astype(np.int64).ravel())
        aggregation.add(np.concatenate(parts), LOCAL_HISTOGRAMS, level)
        splits = aggregation.get(BEST_SPLIT_POINTS, level)
        if not isinstance(splits, list) or len(splits) != len(queue):
            raise FederatedError("the arbiter sent splits that are not one per node")
        for node, split in zip(queue, splits, strict=True):
            if not split:
                continue
            fid, bid, direction, gain = int(split[0]), int(split[1]), int(split[2]), float(split[3])
            rows = np.flatnonzero(positions == node)
            column = bins[rows, fid]
            left = np.where(column == binning.missing, direction == -1, column <= bid)
            positions[rows[left]], positions[rows[~left]] = next_id, next_id + 1
            next_id += 2
            key = (sitename, fid)
            importance[key] = importance.get(key, 0.0) + (
                1.0 if settings.tree.importance == "split" else gain
            )
    tree = Tree.from_json(aggregation.get(TREE, tag))
    for node in tree.nodes:
        node.sitename = sitename
    return tree


def _model(
    settings: BoostingSettings,
    trees: Sequence[Tree],
    initial: Floats,
    classes: Sequence[float],
    importance: Mapping[tuple[str, int], float],
    header: Sequence[str],
    losses: Sequence[float],
    learning_rate: float,
    objective: boosting.Objective,
    rounds: int,
) -> Model:
    names = {key: header[key[1]] for key in importance}
    meta = settings.meta(module=MODULE, learning_rate=learning_rate, num_trees=rounds)
    meta["objective_meta"] = {
        "objective": objective.name,
        "param": [] if objective.param is None else [objective.param],
    }
    return {
        "meta": meta,
        "param": {
            "tree_num": len(trees),
            "trees_": [t.to_json() for t in trees],
            "init_score": initial.tolist(),
            "losses": list(losses),
            "tree_dim": len(initial),
            "num_classes": len(classes) or 1,
            "classes_": [f"{c:g}" for c in classes],
            "feature_importances": boosting.importance_records(importance, names),
            "feature_name_fid_mapping": {str(f): name for f, name in enumerate(header)},
            "best_iteration": -1,
            "tree_plan": [],
            "model_name": "homo_sbt",
            "anonymous_name_mapping": {},
        },
    }


@dataclass(frozen=True)
class _Loaded:
    """A saved model, read back."""

    trees: list[Tree]
    header: list[str]
    meta: Mapping[str, Any]
    param: Mapping[str, Any]

    @classmethod
    def of(cls, model: Model) -> _Loaded:
        meta, param = model.get("meta"), model.get("param")
        if not isinstance(meta, Mapping) or not isinstance(param, Mapping) or "trees_" not in param:
            raise InvalidArgument(f"{MODULE}: this is not a SecureBoost model")
        mapping = param["feature_name_fid_mapping"]
        header = [mapping[str(f)] for f in range(len(mapping))]
        return cls([Tree.from_json(t) for t in param["trees_"]], header, meta, param)


def _aligned(data: Dataset, header: Sequence[str]) -> Floats:
    return boosting.aligned_features(data, header, MODULE)


def _scores(
    trees: Sequence[Tree],
    sitename: str,
    initial: Floats,
    learning_rate: float,
    features: Floats,
    missing: npt.NDArray[np.bool_],
) -> Floats:
    """The initial scores plus the trees' (n, dim), in training's order of additions."""
    count = len(features)
    scores = np.tile(initial, (count, 1))
    if not trees:
        return scores
    forest = boosting.compile_forest(trees, sitename)
    tree_of = np.repeat(np.arange(len(trees)), count)
    rows = np.tile(np.arange(count), len(trees))
    leaves = boosting.walk(forest, features, missing, rows, forest.offsets[tree_of])
    weights = forest.weight[leaves].reshape(len(trees), count)
    return boosting.add_trees(scores, weights, learning_rate)


def predict(
    model: Model, data: Dataset, *, threshold: float = 0.5, kind: str = "predict"
) -> pa.Table:
    """Score rows with a trained model, locally: FATE's prediction table."""
    loaded = _Loaded.of(model)
    meta, param = loaded.meta, loaded.param
    features = _aligned(data, loaded.header)
    missing = boosting.missing_mask(features, bool(meta["tree_meta"]["zero_as_missing"]))
    sitename = loaded.trees[0].nodes[0].sitename if loaded.trees else ""
    initial = np.asarray(param["init_score"], dtype=np.float64)
    learning_rate = float(meta["learning_rate"])
    scores = _scores(loaded.trees, sitename, initial, learning_rate, features, missing)
    objective_meta = meta["objective_meta"]
    objective = boosting.Objective(
        objective_meta["objective"], (objective_meta["param"] or [None])[0], int(param["tree_dim"])
    )
    classes = [float(c) for c in param["classes_"]]
    return boosting.prediction_output(
        objective, classes, scores, threshold, data.ids, data.labels, kind, data.sid
    )


# --- the component --------------------------------------------------------------------------


class HomoSecureBoost:
    info = ModuleInfo(
        name=MODULE,
        aliases=frozenset({"HomoSecureboost"}),
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset(TRAIN_KINDS) | {"validate_data"},
        validate=lambda params: _validated(params),
    )

    def run(self, context: TaskContext) -> None:
        params = context.parameters
        settings = read_settings(params)
        parties = Participants.from_roles(context.roles)
        model: Model | None = next(iter(context.input_models().values()), None)
        if settings.cv.need_cv and model is None:
            data = None if context.task.role == "arbiter" else learner_input(context)[0]
            classes = 0 if data is None or data.labels is None else len(np.unique(data.labels))
            run_cv(
                context,
                settings.cv,
                lambda transport, fold, train, test: _fold(
                    context, settings, parties, transport, train, test
                ),
                mode="homo",
                data=data,
                eval_type=boosting.eval_type(settings.task_type, max(classes, 2)),
                metric_names=settings.metrics,
            )
            return
        if context.task.role == "arbiter":
            # A model and no data: training goes on from it (FATE 1.7's warm start), if the
            # clients have train_data; a predict job scores at the clients alone.
            if model is not None and context.job_parameters.get("job_type") == "predict":
                return

            def on_loss(round_: int, loss: float) -> None:
                context.log_metric("train", "loss", [(round_, loss)], LOSS_META)
                context.log.info("round %s: loss %.6f", round_, loss)

            model = fit_arbiter(
                context.federation,
                params,
                parties,
                warm_start=model,
                on_loss=on_loss,
                checkpoints=Checkpoints(settings.save_freq, context.save_checkpoint),
            )
            losses = model["param"]["losses"]
            if losses:
                context.log_metric("train", "loss", [], {**LOSS_META, "Best": min(losses)})
            context.save_model(model)
            context.save_summary({"loss_history": losses})
            return
        data, kind = learner_input(context)
        # FATE 1.7's warm start: a model and train_data go on training; a model alone predicts.
        warm_start, model = (model, None) if kind == "train" else (None, model)
        if model is not None:
            table = predict(model, data, threshold=settings.threshold, kind=kind)
        else:
            validate_tables = context.input_tables("validate_data")
            validate = Dataset.from_table(validate_tables[0]) if validate_tables else None
            model, table, summary = fit_client(
                context.federation,
                data,
                params,
                parties,
                party=context.local,
                validate=validate,
                warm_start=warm_start,
                log_metric=context.log_metric,
                checkpoints=Checkpoints(settings.save_freq, context.save_checkpoint),
            )
            context.save_model(model)
            context.save_summary(summary)
        context.log.info("%s rows scored", table.num_rows)
        context.save_output_data(table)


def _fold(
    context: TaskContext,
    settings: BoostingSettings,
    parties: Participants,
    transport: Transport,
    train: Dataset | None,
    test: Dataset | None,
) -> FoldResult:
    """One fold of cross validation at this party (`sdk/cv.py`), each client over its own
    rows; with validation_freqs, the fold's test rows are its validation data."""
    if train is None or test is None:
        fit_arbiter(transport, context.parameters, parties)
        return FoldResult()
    model, table, summary = fit_client(
        transport,
        train,
        context.parameters,
        parties,
        party=context.local,
        validate=test if settings.validation.enabled else None,
        log_metric=context.log_metric,
    )
    trained = table.filter(pc.equal(table.column("type"), "train"))
    scored = predict(model, test, threshold=settings.threshold, kind="validate")
    return FoldResult(trained, scored, summary)


def _validated(params: dict[str, Any]) -> dict[str, Any]:
    read_settings(params)
    return params
