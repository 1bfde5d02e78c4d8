"""A plaintext, centralised gradient-boosted-trees learner: the algorithm of
`components/tree/boosting.py`'s docstring written again, plainly, on all the features at once.

The federated learners must grow exactly its trees: same splits (party, feature, threshold,
missing direction), same node numbering, same weights, same scores. It sums g and h by brute
force (a boolean mask per candidate), in Python integers, and knows nothing of histograms,
subtraction, encryption or packing.

Features come as a list of blocks, one per party in FATE's order (the guest, then the hosts);
`parties_per_level(tree, depth)` says which blocks may split at a level (all by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

FRACTION_BITS = 16


@dataclass
class RefNode:
    id: int
    weight: float
    leaf: bool = True
    party: int = -1
    fid: int = -1
    threshold: float = 0.0
    missing_dir: int = 1
    left: int = -1
    right: int = -1


@dataclass
class RefModel:
    trees: list[list[RefNode]] = field(default_factory=list)
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    losses: list[float] = field(default_factory=list)
    init: np.ndarray = field(default_factory=lambda: np.zeros(0))


def quantiles(values: np.ndarray, bin_num: int, error: float = 1e-4) -> np.ndarray:
    """FATE's k / bin_num quantiles: the value at 0-based position ceil(p N) - ceil(error N)
    (at least 1), the minimum or maximum within `error` of the ends."""
    ordered = np.sort(values)
    count = len(ordered)
    points = []
    for k in range(1, bin_num + 1):
        rate = k / bin_num
        if rate <= error:
            position = 0
        elif rate >= 1 - error:
            position = count - 1
        else:
            position = min(max(1, math.ceil(rate * count) - math.ceil(error * count)), count - 1)
        points.append(ordered[position])
    return np.unique(points) if points else np.zeros(0)


def sigmoid(f: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * f))


def softmax(f: np.ndarray) -> np.ndarray:
    e = np.exp(f - f.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def to_fixed(values: np.ndarray) -> tuple[list[int], float]:
    largest = float(np.max(np.abs(values)))
    exponent = math.frexp(largest)[1] if largest else 0
    scale = math.ldexp(1.0, exponent - FRACTION_BITS)
    return [int(v) for v in np.rint(values / scale)], scale


def soft(g: float, l1: float) -> float:
    return math.copysign(max(abs(g) - l1, 0.0), g)


def score(g: float, h: float, l1: float, l2: float) -> float:
    s = soft(g, l1)
    return s * s / (h + l2)


@dataclass
class _Settings:
    l2: float
    l1: float
    min_impurity_split: float
    min_sample_split: int
    min_leaf_node: int
    min_child_weight: float
    use_missing: bool


def _goes_left(bins: np.ndarray, b: int, direction: int) -> np.ndarray:
    """Bins <= b go left; missing values (bin -1) go left when direction is -1."""
    return np.where(bins == -1, direction == -1, bins <= b)


def grow(
    binned: list[list[tuple[np.ndarray, np.ndarray]]],
    g: list[int],
    g_scale: float,
    h: list[int],
    h_scale: float,
    depth_limit: int,
    allowed: Callable[[int], Sequence[int]],
    s: _Settings,
) -> tuple[list[RefNode], dict[int, np.ndarray]]:
    """One tree, breadth first: its nodes and the rows of each."""
    g_arr, h_arr = np.asarray(g, np.int64), np.asarray(h, np.int64)
    nodes: list[RefNode] = []
    node_rows: dict[int, np.ndarray] = {}

    def sums(rows: np.ndarray) -> tuple[float, float]:
        return int(g_arr[rows].sum()) * g_scale, int(h_arr[rows].sum()) * h_scale

    def new_node(rows: np.ndarray) -> RefNode:
        G, H = sums(rows)
        node = RefNode(len(nodes), -soft(G, s.l1) / (H + s.l2) if H + s.l2 > 0 else 0.0)
        nodes.append(node)
        node_rows[node.id] = rows
        return node

    layer = [new_node(np.arange(len(g)))]
    for depth in range(depth_limit):
        next_layer = []
        for node in layer:
            rows = node_rows[node.id]
            if len(rows) < max(s.min_sample_split, 2):
                continue
            G, H = sums(rows)
            parent = score(G, H, s.l1, s.l2)
            best = None  # (gain, party, fid, b, direction): the first of the highest
            for party in allowed(depth):
                for fid, (bins, points) in enumerate(binned[party]):
                    for b in range(len(points) - 1):
                        for direction in (1, -1) if s.use_missing else (1,):
                            left = rows[_goes_left(bins[rows], b, direction)]
                            if min(len(left), len(rows) - len(left)) < s.min_leaf_node:
                                continue
                            GL, HL = sums(left)
                            GR, HR = G - GL, H - HL
                            if min(HL, HR) < s.min_child_weight or min(HL, HR) + s.l2 <= 0:
                                continue
                            gain = score(GL, HL, s.l1, s.l2) + score(GR, HR, s.l1, s.l2) - parent
                            if best is None or gain > best[0]:
                                best = (gain, party, fid, b, direction)
            if best is None or not best[0] > s.min_impurity_split:
                continue
            _, party, fid, b, direction = best
            bins, points = binned[party][fid]
            left = _goes_left(bins[rows], b, direction)
            node.leaf, node.party, node.fid = False, party, fid
            node.threshold, node.missing_dir = float(points[b]), direction
            left_node, right_node = new_node(rows[left]), new_node(rows[~left])
            node.left, node.right = left_node.id, right_node.id
            next_layer += [left_node, right_node]
        layer = next_layer
    return nodes, node_rows


def binned_blocks(
    blocks: Sequence[np.ndarray], bin_num: int
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Per party and feature: each row's bin (-1 when missing) and the split points."""
    result = []
    for block in blocks:
        columns = []
        for f in range(block.shape[1]):
            column = block[:, f]
            present = ~np.isnan(column)
            points = quantiles(column[present], bin_num)
            bins = np.full(len(column), -1)
            for i in np.flatnonzero(present):
                bins[i] = min(int(np.searchsorted(points, column[i])), len(points) - 1)
            columns.append((bins, points))
        result.append(columns)
    return result


def loss_of(task: str, labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """The weighted mean of the instances' losses."""
    n = len(labels)
    if task == "binary":
        f = scores[:, 0]
        values = np.logaddexp(0.0, np.where(labels == 1, -f, f))
    elif task == "multi":
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        values = -log_p[np.arange(n), labels.astype(int)]
    else:
        values = (scores[:, 0] - labels) ** 2
    return float(np.sum(values * weights) / np.sum(weights))


def fit(
    blocks: Sequence[np.ndarray],
    labels: np.ndarray,
    *,
    task: str = "binary",
    num_trees: int = 5,
    max_depth: int = 3,
    learning_rate: float = 0.3,
    bin_num: int = 32,
    l2: float = 0.1,
    l1: float = 0.0,
    min_impurity_split: float = 1e-3,
    min_sample_split: int = 2,
    min_leaf_node: int = 1,
    min_child_weight: float = 0.0,
    use_missing: bool = False,
    parties_per_level: Callable[[int, int], Sequence[int]] | None = None,
    depth_of_tree: Callable[[int], int] | None = None,
    tol: float | None = None,
    weights: np.ndarray | None = None,
) -> RefModel:
    """task: binary (labels 0/1), multi (labels 0..k-1) or lse (regression); `weights`: the
    instances' sample weights (g and h are multiplied by them, the loss is their mean)."""
    settings = _Settings(
        l2, l1, min_impurity_split, min_sample_split, min_leaf_node, min_child_weight, use_missing
    )
    dim = int(labels.max()) + 1 if task == "multi" else 1
    n = len(labels)
    binned = binned_blocks(blocks, bin_num)
    init = np.full(dim, labels.mean() if task == "lse" else 0.0)
    scores = np.tile(init, (n, 1))
    model = RefModel(init=init)
    for round_ in range(num_trees):
        if task == "binary":
            p = sigmoid(scores[:, 0])
            g_all, h_all = (p - labels)[:, None], (p * (1 - p))[:, None]
        elif task == "multi":
            p = softmax(scores)
            g_all = p.copy()
            g_all[np.arange(n), labels.astype(int)] -= 1
            h_all = p * (1 - p)
        else:
            g_all, h_all = 2 * (scores - labels[:, None]), np.full((n, 1), 2.0)
        if weights is not None:
            g_all, h_all = g_all * weights[:, None], h_all * weights[:, None]
        increment = np.zeros_like(scores)
        for k in range(dim):
            g, g_scale = to_fixed(g_all[:, k])
            h, h_scale = to_fixed(h_all[:, k])
            nodes, rows = grow(
                binned,
                g,
                g_scale,
                h,
                h_scale,
                depth_of_tree(round_) if depth_of_tree else max_depth,
                lambda depth, r=round_: (
                    parties_per_level(r, depth) if parties_per_level else range(len(blocks))
                ),
                settings,
            )
            for node in nodes:
                if node.leaf:
                    increment[rows[node.id], k] = learning_rate * node.weight
            model.trees.append(nodes)
        scores = scores + increment
        loss = loss_of(task, labels, scores, np.ones(n) if weights is None else weights)
        converged = bool(tol is not None and model.losses and abs(loss - model.losses[-1]) < tol)
        model.losses.append(loss)
        if converged:
            break
    model.scores = scores
    return model
