"""HeteroKmeans (FATE's module): k-means over features split between a guest and hosts, the
arbiter adding up the parties' distances.

    params = validate_parameters(component_parameters)
    model, tables = fit_client(transport, data, params, parties, local)   # guest, each host
    model, tables, dbi = fit_arbiter(transport, params, parties)

FATE's protocol. The guest draws k rows (numpy's generator seeded by `random_stat`, over the
ids sorted as strings) and tells the hosts their ids (`centroid_list`); each party's part of a
centroid is its own features of that row. Per iteration i:

1. each client sends the arbiter, per row, its part of the squared distance to every centroid
   (`guest_dist`, `host_dist`), and from the second iteration on its part of the squared
   distances between centroids (tag `cluster_dist.i`, for the Davies-Bouldin index), both
   under pairwise masks (`crypto/secure_aggregation.py`), so the arbiter gets their sums only;
2. the arbiter assigns each row to its nearest centroid (`cluster_result`, to every client),
   and records the DBI of the previous iteration's clustering (`train`/`DBI`);
3. each client moves its part of the centroids to the mean of its rows in each cluster (an
   empty cluster keeps its centroid), and sends the arbiter the squared shift (`guest_tol`,
   `host_tol`); the arbiter adds them up and tells everyone whether the sum is below `tol`
   (`arbiter_tol`).

After the last iteration, two more rounds give the final DBIs (FATE's `extra_dbi`), and the
clients score their training rows as a predict job does (`predict`, `predict_dbi`,
`predict_cluster_dist`): each row's cluster (the guest's and hosts' output, beside the label),
each cluster's size, mean distance, radius and the distances between centroids (the arbiter's
first output) and each row's cluster and squared distance (its second).

What each party learns (docs/security.md): the arbiter, every row's squared distance to every
centroid (FATE's protocol) but no party's part of it; every party, every row's cluster; the
hosts, which rows the guest drew as first centroids. Departures from FATE: the arbiter's rows
are keyed by their position in the sorted ids (FATE's arbiter sees the ids themselves); every
host's shift counts towards convergence (FATE's reads the first host's only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from fateflow_grpc.components.crypto import secure_aggregation
from fateflow_grpc.components.evaluation.metrics import davies_bouldin
from fateflow_grpc.components.sdk.context import Dataset, TaskContext
from fateflow_grpc.components.sdk.learning import learner_input
from fateflow_grpc.components.sdk.parameters import ParamReader
from fateflow_grpc.components.sdk.transport import GET_TIMEOUT_S, Participants, Transport
from fateflow_grpc.domain.catalog import ModuleInfo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument

MODULE = "HeteroKmeans"
_VARIABLES = "HeteroKmeansTransferVariable"
CENTROID_LIST = f"{_VARIABLES}.centroid_list"
CLUSTER_RESULT = f"{_VARIABLES}.cluster_result"
ARBITER_TOL = f"{_VARIABLES}.arbiter_tol"
GUEST_DIST = f"{_VARIABLES}.guest_dist"
HOST_DIST = f"{_VARIABLES}.host_dist"
GUEST_TOL = f"{_VARIABLES}.guest_tol"
HOST_TOL = f"{_VARIABLES}.host_tol"
#: Ours (FATE's secure aggregator has its own): each client's X25519 key, relayed by the arbiter.
DH_PUBKEY = f"{_VARIABLES}.dh_pubkey"
DH_PUBKEYS = f"{_VARIABLES}.dh_pubkeys"
_MASK_CONTEXT = b"fateflow HeteroKmeans distances"

# FATE's KmeansParam (1.5 to 1.11).
DEFAULTS: dict[str, Any] = {"k": 5, "max_iter": 300, "tol": 0.001, "random_stat": None}
#: FATE's meta of the arbiter's `train`/`DBI` metric.
DBI_META = {"name": "train", "metric_type": "DBI", "unit_name": "iters"}

Floats = npt.NDArray[np.float64]


def validate_parameters(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """FATE's KmeansParam checks: 1 < k <= 100, max_iter > 0, tol >= 0, random_stat >= 0."""
    reader = ParamReader(MODULE, params, DEFAULTS)
    seed = reader.raw("random_stat")
    return {
        "k": reader.integer("k", minimum=2, maximum=100),
        "max_iter": reader.integer("max_iter", minimum=1),
        "tol": reader.number("tol", minimum=0),
        "random_stat": None if seed is None else reader.integer("random_stat", minimum=0),
    }


# --- the arithmetic both sides share --------------------------------------------------------


def squared_distances(features: Floats, centroids: Floats) -> Floats:
    """Each row's squared distance to each centroid (n x k)."""
    differences = features[:, None, :] - centroids[None, :, :]
    distances: Floats = np.square(differences).sum(axis=2)
    return distances


def centroid_distances(centroids: Floats) -> Floats:
    """FATE's `centroid_dist`: squared distances between centroids i != j, i major."""
    k = len(centroids)
    return np.array(
        [
            float(np.square(centroids[i] - centroids[j]).sum())
            for i in range(k)
            for j in range(k)
            if j != i
        ]
    )


def means(
    features: Floats, clusters: npt.NDArray[np.int64], old: Floats
) -> tuple[Floats, list[list[float]]]:
    """FATE's `centroid_cal`: each cluster's mean (an empty one keeps its centroid), and its
    [index, size, share of the rows]."""
    centroids = old.copy()
    detail = []
    for index in range(len(old)):
        members = clusters == index
        count = int(members.sum())
        if count:
            centroids[index] = features[members].mean(axis=0)
        detail.append([float(index), float(count), count / len(features) if count else 0.0])
    return centroids, detail


def mean_distances(
    distances: Floats, clusters: npt.NDArray[np.int64]
) -> dict[int, tuple[int, float]]:
    """FATE's `cal_ave_dist`: per cluster with rows, (size, mean distance to its centroid)."""
    own = np.sqrt(np.maximum(distances[np.arange(len(clusters)), clusters], 0.0))
    result = {}
    for index in sorted(set(clusters.tolist())):
        members = clusters == index
        result[index] = (int(members.sum()), float(own[members].mean()))
    return result


# --- secure aggregation ---------------------------------------------------------------------


class _Client:
    """A client's channel to the arbiter: pairwise masks for the sums it sends."""

    def __init__(
        self, transport: Transport, local: PartyRole, parties: Participants, timeout: float
    ) -> None:
        self._transport = transport
        self._arbiter = [parties.require_arbiter()]
        self._timeout = timeout
        self._name = GUEST_DIST if local.role == "guest" else HOST_DIST
        self._tol = GUEST_TOL if local.role == "guest" else HOST_TOL
        private, public = secure_aggregation.new_key_pair()
        transport.remote(public.hex(), DH_PUBKEY, "keys", self._arbiter)
        relayed = self.receive(DH_PUBKEYS, "keys")
        if not isinstance(relayed, list) or not all(isinstance(k, str) for k in relayed):
            raise FederatedError("the arbiter relayed HeteroKmeans keys that are not a list")
        keys = [bytes.fromhex(key) for key in relayed]
        if keys.count(public) != 1:
            raise FederatedError("the arbiter did not relay this client's HeteroKmeans key")
        self._masks = secure_aggregation.PairwiseMasks(private, public, keys, _MASK_CONTEXT)
        self._round = 0

    def receive(self, name: str, tag: str) -> object:
        [obj] = self._transport.get(name, tag, self._arbiter, self._timeout)
        return obj

    def add(self, values: Floats, tag: str) -> None:
        """Send my part of a sum the arbiter computes (masked: it learns the sum only)."""
        words = secure_aggregation.to_fixed_wide(values).ravel()
        self._transport.remote(self._masks.mask(words, self._round), self._name, tag, self._arbiter)
        self._round += 1

    def clusters(self, tag: str, rows: int) -> npt.NDArray[np.int64]:
        obj = self.receive(CLUSTER_RESULT, tag)
        if not isinstance(obj, np.ndarray) or obj.dtype != np.int64 or obj.shape != (rows,):
            raise FederatedError(f"the arbiter sent a cluster_result that is not {rows} int64")
        return obj

    def shift(self, value: float, tag: str) -> bool:
        self._transport.remote(value, self._tol, tag, self._arbiter)
        flag = self.receive(ARBITER_TOL, tag)
        if not isinstance(flag, bool):
            raise FederatedError("the arbiter sent an arbiter_tol that is not a boolean")
        return flag


class _Arbiter:
    """The arbiter's side: relays keys, adds up the clients' masked parts."""

    def __init__(self, transport: Transport, parties: Participants, timeout: float) -> None:
        self._transport = transport
        self.guest = parties.guest
        self.hosts = list(parties.hosts)
        self.clients = [self.guest, *self.hosts]
        self._timeout = timeout
        keys = transport.get(DH_PUBKEY, "keys", self.clients, timeout)
        if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
            raise FederatedError("HeteroKmeans clients sent keys that are not distinct hex")
        transport.remote(keys, DH_PUBKEYS, "keys", self.clients)

    def sum(self, tag: str, shape: tuple[int, ...] | None = None) -> Floats:
        parts = [*self._get(GUEST_DIST, tag, [self.guest]), *self._get(HOST_DIST, tag, self.hosts)]
        size = None if shape is None else int(np.prod(shape)) * 2
        total: npt.NDArray[np.uint64] | None = None
        for part, client in zip(parts, self.clients, strict=True):
            if not isinstance(part, np.ndarray) or part.dtype != np.uint64 or part.ndim != 1:
                raise FederatedError(
                    f"{client.role} {client.party_id} sent a part that is not uint64"
                )
            if (size is not None and part.size != size) or (
                total is not None and part.size != total.size
            ):
                raise FederatedError(f"{client.role} {client.party_id} sent a part of another size")
            total = part.copy() if total is None else total + part  # wraps mod 2^64: masks cancel
        assert total is not None
        values = secure_aggregation.from_fixed_wide(total.reshape(-1, 2))
        return values if shape is None else values.reshape(shape)

    def _get(self, name: str, tag: str, parties: list[PartyRole]) -> list[object]:
        return self._transport.get(name, tag, parties, self._timeout) if parties else []

    def tell(self, obj: object, name: str, tag: str) -> None:
        self._transport.remote(obj, name, tag, self.clients)

    def shifts(self, tag: str) -> float:
        total = 0.0
        for value in [
            *self._get(GUEST_TOL, tag, [self.guest]),
            *self._get(HOST_TOL, tag, self.hosts),
        ]:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise FederatedError("a HeteroKmeans client sent a tol that is not a number")
            total += float(value)
        return total


# --- the clients ------------------------------------------------------------------------------


@dataclass
class ClientResult:
    model: dict[str, Any]
    #: Each row's cluster, in the data's row order.
    clusters: npt.NDArray[np.int64]


def fit_client(
    transport: Transport,
    data: Dataset,
    params: Mapping[str, Any],
    parties: Participants,
    local: PartyRole,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> ClientResult:
    """A guest's or host's part of training, then of scoring its training rows."""
    k = params["k"]
    ids = [str(v) for v in data.ids.tolist()]
    order = np.array(sorted(range(len(ids)), key=lambda r: ids[r]), dtype=np.intp)
    features = data.features[order]
    if k > len(ids):
        raise InvalidArgument(f"{MODULE} parameter k ({k}) is more than the {len(ids)} rows")
    client = _Client(transport, local, parties, timeout)
    digest = hashlib.sha256("\n".join(ids[r] for r in order).encode()).hexdigest()
    if local.role == "guest":
        chosen = np.random.RandomState(params["random_stat"]).choice(len(ids), k, replace=False)
        first = [ids[order[r]] for r in chosen.tolist()]
        transport.remote(
            {"ids": first, "digest": digest}, CENTROID_LIST, "fit", list(parties.hosts)
        )
    else:
        [sent] = transport.get(CENTROID_LIST, "fit", [parties.guest], timeout)
        if (
            not isinstance(sent, Mapping)
            or not isinstance(sent.get("ids"), list)
            or len(sent["ids"]) != k
        ):
            raise FederatedError(f"the guest sent a centroid_list that is not {k} ids")
        if sent.get("digest") != digest:
            raise InvalidArgument(
                f"{MODULE}: the guest and this host hold different ids: intersect the data first"
            )
        position = {ids[r]: p for p, r in enumerate(order.tolist())}
        chosen = np.array([position[str(v)] for v in sent["ids"]])
    centroids = features[chosen]
    iteration, converged = 0, False
    clusters = np.zeros(len(ids), dtype=np.int64)
    while iteration < params["max_iter"]:
        if iteration:
            client.add(centroid_distances(centroids), f"cluster_dist.{iteration}")
        client.add(squared_distances(features, centroids), f"{iteration}")
        clusters = client.clusters(f"{iteration}", len(ids))
        moved, _ = means(features, clusters, centroids)
        converged = client.shift(float(np.square(centroids - moved).sum()), f"{iteration}")
        centroids = moved
        iteration += 1
        if converged:
            break
    # FATE's extra_dbi, twice: the final clustering's index, and the next one's.
    clusters = _extra_dbi(client, features, centroids, iteration, len(ids))
    moved, _ = means(features, clusters, centroids)
    _extra_dbi(client, features, moved, iteration + 1, len(ids))
    predicted, detail = _predict_client(client, features, centroids, "predict")
    model = {
        "meta": {"k": k, "tol": params["tol"], "max_iter": params["max_iter"]},
        "param": {
            "count_of_clusters": k,
            "max_interation": iteration,  # FATE's spelling
            "converged": converged,
            "cluster_detail": [{"cluster": row} for row in detail],
            "centroid_detail": [{"centroid": row} for row in centroids.tolist()],
            "header": list(data.header),
        },
    }
    return ClientResult(model, _unsorted(predicted, order))


def _extra_dbi(
    client: _Client, features: Floats, centroids: Floats, tag: int, rows: int
) -> npt.NDArray[np.int64]:
    client.add(squared_distances(features, centroids), f"{tag}")
    clusters = client.clusters(f"{tag}", rows)
    client.add(centroid_distances(centroids), f"cluster_dist.{tag}")
    return clusters


def _predict_client(
    client: _Client, features: Floats, centroids: Floats, flowid: str
) -> tuple[npt.NDArray[np.int64], list[list[float]]]:
    """FATE's client `predict`: each row's cluster; the clusters' sizes (for the model)."""
    client.add(squared_distances(features, centroids), flowid)
    clusters = client.clusters(flowid, len(features))
    moved, detail = means(features, clusters, centroids)
    client.add(squared_distances(features, moved), f"{flowid}_dbi")
    client.clusters(f"{flowid}_dbi", len(features))
    client.add(centroid_distances(moved), f"{flowid}_cluster_dist")
    return clusters, detail


def _unsorted(values: npt.NDArray[np.int64], order: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
    result = np.empty_like(values)
    result[order] = values
    return result


def predict_client(
    transport: Transport,
    data: Dataset,
    model: Mapping[str, Any],
    parties: Participants,
    local: PartyRole,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> npt.NDArray[np.int64]:
    """A client's part of a predict job: its rows' clusters (in the data's row order)."""
    header = model.get("param", {}).get("header")
    if header != list(data.header):
        raise InvalidArgument(f"{MODULE}: the data's columns are not the model's ({header})")
    centroids = np.array(
        [row["centroid"] for row in model["param"]["centroid_detail"]], dtype=float
    )
    ids = [str(v) for v in data.ids.tolist()]
    order = np.array(sorted(range(len(ids)), key=lambda r: ids[r]), dtype=np.intp)
    client = _Client(transport, local, parties, timeout)
    clusters, _ = _predict_client(client, data.features[order], centroids, "predict")
    return _unsorted(clusters, order)


# --- the arbiter ------------------------------------------------------------------------------


@dataclass
class ArbiterResult:
    model: dict[str, Any]
    #: (iteration, DBI) points, FATE's `train`/`DBI` metric.
    dbi: list[tuple[int, float]]
    #: Per cluster: index, size, mean distance, radius, the distances between centroids.
    clusters: list[tuple[int, int, float, float, list[float]]]
    #: Per row (by position in the sorted ids): its cluster and squared distance.
    rows: tuple[npt.NDArray[np.int64], Floats]


def fit_arbiter(
    transport: Transport,
    params: Mapping[str, Any],
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> ArbiterResult:
    """The arbiter's part of training, then of scoring the training rows."""
    k = params["k"]
    arbiter = _Arbiter(transport, parties, timeout)
    dbi: list[tuple[int, float]] = []
    last: npt.NDArray[np.int64] | None = None
    iteration, converged = 0, False
    while iteration < params["max_iter"]:
        distances = arbiter.sum(f"{iteration}")
        distances = distances.reshape(-1, k)
        if last is not None:
            dbi.append(
                (iteration - 1, _dbi(arbiter, distances, last, f"cluster_dist.{iteration}", k))
            )
        clusters = np.argmin(distances, axis=1).astype(np.int64)
        arbiter.tell(clusters, CLUSTER_RESULT, f"{iteration}")
        converged = arbiter.shifts(f"{iteration}") < params["tol"]
        arbiter.tell(converged, ARBITER_TOL, f"{iteration}")
        last = clusters
        iteration += 1
        if converged:
            break
    distances = arbiter.sum(f"{iteration}").reshape(-1, k)
    clusters = np.argmin(distances, axis=1).astype(np.int64)
    arbiter.tell(clusters, CLUSTER_RESULT, f"{iteration}")
    assert last is not None
    dbi.append((iteration - 1, _dbi(arbiter, distances, last, f"cluster_dist.{iteration}", k)))
    distances = arbiter.sum(f"{iteration + 1}").reshape(-1, k)
    arbiter.tell(clusters, CLUSTER_RESULT, f"{iteration + 1}")
    dbi.append((iteration, _dbi(arbiter, distances, clusters, f"cluster_dist.{iteration + 1}", k)))
    summary, rows = _predict_arbiter(arbiter, k, "predict")
    model = {"meta": {"k": k, "tol": params["tol"], "max_iter": params["max_iter"]}, "param": {}}
    return ArbiterResult(model, dbi, summary, rows)


def _dbi(
    arbiter: _Arbiter, distances: Floats, clusters: npt.NDArray[np.int64], tag: str, k: int
) -> float:
    between = arbiter.sum(tag, (k * (k - 1),))
    intra = mean_distances(distances, clusters)
    if len(intra) == 1:
        raise InvalidArgument(f"{MODULE}: every row is in one cluster, the DBI is undefined")
    return davies_bouldin(intra, between, k)


def _predict_arbiter(
    arbiter: _Arbiter, k: int, flowid: str
) -> tuple[list[tuple[int, int, float, float, list[float]]], tuple[npt.NDArray[np.int64], Floats]]:
    """FATE's arbiter `predict`: per cluster (index, size, mean distance to the moved
    centroids, radius (largest squared distance), distances between centroids); per row
    (cluster, squared distance)."""
    distances = arbiter.sum(flowid).reshape(-1, k)
    clusters = np.argmin(distances, axis=1).astype(np.int64)
    nearest = distances[np.arange(len(clusters)), clusters]
    arbiter.tell(clusters, CLUSTER_RESULT, flowid)
    moved = arbiter.sum(f"{flowid}_dbi").reshape(-1, k)
    arbiter.tell(clusters, CLUSTER_RESULT, f"{flowid}_dbi")
    between = arbiter.sum(f"{flowid}_cluster_dist", (k * (k - 1),)).tolist()
    intra = mean_distances(moved, clusters)
    summary = [
        (index, size, mean, float(nearest[clusters == index].max()), between)
        for index, (size, mean) in intra.items()
    ]
    return summary, (clusters, nearest)


def predict_arbiter(
    transport: Transport,
    model: Mapping[str, Any],
    parties: Participants,
    *,
    timeout: float = GET_TIMEOUT_S,
) -> tuple[list[tuple[int, int, float, float, list[float]]], tuple[npt.NDArray[np.int64], Floats]]:
    """The arbiter's part of a predict job (k is the trained model's)."""
    k = model.get("meta", {}).get("k")
    if not isinstance(k, int):
        raise InvalidArgument(f"{MODULE}: the arbiter's model has no k")
    return _predict_arbiter(_Arbiter(transport, parties, timeout), k, "predict")


# --- outputs ----------------------------------------------------------------------------------


def client_table(data: Dataset, clusters: npt.NDArray[np.int64], kind: str) -> pa.Table:
    """FATE's client output: label, predicted_label (the cluster), type."""
    count = len(clusters)
    return pa.table(
        {
            data.sid: pa.array([str(v) for v in data.ids.tolist()], pa.string()),
            "label": pa.nulls(count, pa.float64())
            if data.labels is None
            else pa.array(np.asarray(data.labels, dtype=np.float64)),
            "predicted_label": pa.array(clusters, pa.int64()),
            "type": pa.array([kind] * count, pa.string()),
        }
    )


def arbiter_tables(
    summary: Sequence[tuple[int, int, float, float, list[float]]],
    rows: tuple[npt.NDArray[np.int64], Floats],
    kind: str,
) -> tuple[pa.Table, pa.Table]:
    """FATE's arbiter outputs: per cluster (cluster_index: cluster_sample_count,
    cluster_inner_dist, max_radius, inter_cluster_dist, type: FATE's values, which its
    header names but for the radius, and which Evaluation reads), and per row (predicted_cluster_index,
    distance, type), rows keyed by their position in the sorted ids."""
    clusters = pa.table(
        {
            "cluster_index": pa.array([str(s[0]) for s in summary], pa.string()),
            "cluster_sample_count": pa.array([s[1] for s in summary], pa.int64()),
            "cluster_inner_dist": pa.array([s[2] for s in summary], pa.float64()),
            "max_radius": pa.array([s[3] for s in summary], pa.float64()),
            "inter_cluster_dist": pa.array([json.dumps(s[4]) for s in summary], pa.string()),
            "type": pa.array([kind] * len(summary), pa.string()),
        }
    )
    assigned, distances = rows
    per_row = pa.table(
        {
            "id": pa.array([str(k) for k in range(len(assigned))], pa.string()),
            "predicted_cluster_index": pa.array(assigned, pa.int64()),
            "distance": pa.array(distances, pa.float64()),
            "type": pa.array([kind] * len(assigned), pa.string()),
        }
    )
    return clusters, per_row


# --- the component ----------------------------------------------------------------------------


class HeteroKmeans:
    info = ModuleInfo(
        name=MODULE,
        roles=frozenset({"guest", "host", "arbiter"}),
        parameters=DEFAULTS,
        input_kinds=frozenset({"train_data", "data", "test_data"}),
        validate=lambda params: validate_parameters(params),
    )

    def run(self, context: TaskContext) -> None:
        params = validate_parameters(context.parameters)
        parties = Participants.from_roles(context.roles)
        model = next(iter(context.input_models().values()), None)
        outputs = context.wiring.data_outputs or ["data"]
        if context.task.role == "arbiter":
            if model is None:
                result = fit_arbiter(context.federation, params, parties)
                for point in result.dbi:
                    context.log_metric("train", "DBI", [point], DBI_META)
                context.save_model(result.model)
                summary, rows, kind = result.clusters, result.rows, "train"
            else:
                summary, rows = predict_arbiter(context.federation, model, parties)
                kind = "predict"
            tables = arbiter_tables(summary, rows, kind)
            for name, table in zip(outputs, tables, strict=False):
                context.save_output_data(table, name)
            return
        data, kind = learner_input(context)
        if model is None:
            fitted = fit_client(context.federation, data, params, parties, context.local)
            context.save_model(fitted.model)
            param = fitted.model["param"]
            context.save_summary(
                {"iters": param["max_interation"], "is_converged": param["converged"]}
            )
            clusters = fitted.clusters
        else:
            clusters = predict_client(context.federation, data, model, parties, context.local)
        context.save_output_data(client_table(data, clusters, kind), outputs[0])
