"""HeteroKmeans: guest, hosts and arbiter over the in-memory wire, against a plaintext,
centralised k-means written here (FATE's: the same first centroids, the mean update, the
convergence on the summed squared shift, the Davies-Bouldin index after each iteration).
Assignments and iteration counts must be equal; centroids, distances and indexes within
1e-6 (the arbiter adds the parties' parts in fixed point with 24 fractional bits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.cluster import hetero_kmeans as km
from fateflow_grpc.components.cluster.hetero_kmeans import HeteroKmeans
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOSTS = (PartyRole("host", 10000), PartyRole("host", 10001))
ARBITER = PartyRole("arbiter", 10002)


@dataclass
class Plain:
    clusters: np.ndarray
    centroids: np.ndarray
    iters: int
    converged: bool
    dbi: list[tuple[int, float]]
    sizes: list[int]


def plain_dbi(x: np.ndarray, centroids: np.ndarray, clusters: np.ndarray) -> float:
    present = sorted(set(clusters.tolist()))
    spread = {c: np.linalg.norm(x[clusters == c] - centroids[c], axis=1).mean() for c in present}
    worst = [
        max(
            (spread[i] + spread[j]) / np.linalg.norm(centroids[i] - centroids[j])
            for j in present
            if j != i
        )
        for i in present
    ]
    return float(np.mean(worst))


def plaintext(x: np.ndarray, ids: list[str], params: dict[str, Any]) -> Plain:
    """K-means on the joined rows (in the order of their sorted ids)."""
    order = sorted(range(len(ids)), key=lambda r: ids[r])
    x = x[order]
    k = params["k"]
    centroids = x[np.random.RandomState(params["random_stat"]).choice(len(x), k, replace=False)]

    def assign(c: np.ndarray) -> np.ndarray:
        return np.argmin(((x[:, None, :] - c[None]) ** 2).sum(axis=2), axis=1)

    def update(c: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.array([x[a == i].mean(axis=0) if (a == i).any() else c[i] for i in range(k)])

    dbi, iters, converged, last = [], 0, False, None
    while iters < params["max_iter"]:
        a = assign(centroids)
        if last is not None:
            dbi.append((iters - 1, plain_dbi(x, centroids, last)))
        moved = update(centroids, a)
        converged = float(((centroids - moved) ** 2).sum()) < params["tol"]
        centroids, last, iters = moved, a, iters + 1
        if converged:
            break
    a = assign(centroids)
    dbi.append((iters - 1, plain_dbi(x, centroids, last)))
    moved = update(centroids, a)
    dbi.append((iters, plain_dbi(x, moved, a)))
    final = assign(centroids)
    clusters = np.empty(len(ids), dtype=np.int64)
    clusters[order] = final
    return Plain(
        clusters, centroids, iters, converged, dbi, [int((final == i).sum()) for i in range(k)]
    )


def train(parts: list[Dataset], params: dict[str, Any]) -> tuple[Wire, dict[PartyRole, Any]]:
    checked = km.validate_parameters(params)
    hosts = HOSTS[: len(parts) - 1]
    parties = Participants(GUEST, hosts, ARBITER)
    roles = {ARBITER: lambda t: km.fit_arbiter(t, checked, parties)}
    for party, data in zip((GUEST, *hosts), parts, strict=True):
        roles[party] = lambda t, party=party, data=data: km.fit_client(
            t, data, checked, parties, party
        )
    wire = Wire()
    return wire, run_parties(wire, roles)


@pytest.fixture(scope="module")
def parts() -> list[Dataset]:
    """Breast's guest columns; the host's split over two hosts, rows in other orders."""
    guest = breast("breast_hetero_guest").take(np.arange(200))
    host = breast("breast_hetero_host")
    position = {s: k for k, s in enumerate(host.ids.tolist())}
    rows = np.array([position[s] for s in guest.ids.tolist()])
    first = host.take(rows[::-1])
    second = host.take(rows[np.random.RandomState(0).permutation(len(rows))])
    first = Dataset(
        **{**first.__dict__, "features": first.features[:, :12], "header": first.header[:12]}
    )
    second = Dataset(
        **{**second.__dict__, "features": second.features[:, 12:], "header": second.header[12:]}
    )
    return [guest, first, second]


def joined(parts: list[Dataset]) -> np.ndarray:
    ids = parts[0].ids.tolist()
    columns = [parts[0].features]
    for part in parts[1:]:
        position = {s: k for k, s in enumerate(part.ids.tolist())}
        columns.append(part.features[[position[s] for s in ids]])
    return np.hstack(columns)


@pytest.mark.parametrize("hosts", [1, 2])
def test_clusters_centroids_and_dbi_match_the_plaintext_run(
    parts: list[Dataset], hosts: int
) -> None:
    params = {"k": 3, "max_iter": 10, "tol": 0.001, "random_stat": 7}
    used = parts[: hosts + 1]
    wire, results = train(used, params)
    x = joined(used)
    plain = plaintext(x, parts[0].ids.tolist(), params)
    guest = results[GUEST]
    assert np.array_equal(guest.clusters, plain.clusters)
    param = guest.model["param"]
    assert param["max_interation"] == plain.iters and param["converged"] == plain.converged
    width = parts[0].features.shape[1]
    centroids = np.array([row["centroid"] for row in param["centroid_detail"]])
    assert np.abs(centroids - plain.centroids[:, :width]).max() < 1e-9
    host_model = results[HOSTS[0]].model["param"]
    host_centroids = np.array([row["centroid"] for row in host_model["centroid_detail"]])
    assert np.abs(host_centroids - plain.centroids[:, width : width + 12]).max() < 1e-9
    assert [row["cluster"][1] for row in param["cluster_detail"]] == plain.sizes
    arbiter = results[ARBITER]
    assert [i for i, _ in arbiter.dbi] == [i for i, _ in plain.dbi]
    assert np.allclose([v for _, v in arbiter.dbi], [v for _, v in plain.dbi], atol=1e-6)
    assert [c[1] for c in arbiter.clusters] == plain.sizes
    assignments, distances = arbiter.rows
    order = sorted(range(len(parts[0].ids)), key=lambda r: str(parts[0].ids[r]))
    assert np.array_equal(assignments, plain.clusters[order])
    nearest = ((x[order] - plain.centroids[plain.clusters[order]]) ** 2).sum(axis=1)
    assert np.abs(distances - nearest).max() < 1e-6
    # The arbiter gets masked parts only: no party's distances, features or ids.
    for delivery in wire.received_by(ARBITER):
        if delivery.name in (km.GUEST_DIST, km.HOST_DIST):
            assert isinstance(delivery.obj, np.ndarray) and delivery.obj.dtype == np.uint64
    assert not any(d.name == km.CENTROID_LIST for d in wire.received_by(ARBITER))


def test_predict_job_scores_as_training_did(parts: list[Dataset]) -> None:
    params = {"k": 4, "max_iter": 3, "tol": 0.0, "random_stat": 1}
    used = parts[:2]
    _, results = train(used, params)
    parties = Participants(GUEST, HOSTS[:1], ARBITER)
    predicted = run_parties(
        Wire(),
        {
            GUEST: lambda t: km.predict_client(t, used[0], results[GUEST].model, parties, GUEST),
            HOSTS[0]: lambda t: km.predict_client(
                t, used[1], results[HOSTS[0]].model, parties, HOSTS[0]
            ),
            ARBITER: lambda t: km.predict_arbiter(t, results[ARBITER].model, parties),
        },
    )
    assert np.array_equal(predicted[GUEST], results[GUEST].clusters)
    assert results[GUEST].model["param"]["max_interation"] == 3


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"k": 1}, "k"),
        ({"k": 101}, "k"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1}, "tol"),
        ({"random_stat": -1}, "random_stat"),
    ],
)
def test_fate_refusals(params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        km.validate_parameters(params)
    assert named in raised.value.message


def test_component_outputs_and_dbi_metric(stores: Stores, parts: list[Dataset]) -> None:
    roles = {"guest": [GUEST.party_id], "host": [HOSTS[0].party_id], "arbiter": [ARBITER.party_id]}
    guest = parts[0].take(np.arange(60))
    wanted = set(guest.ids.tolist())
    host = parts[1].take(np.array([k for k, s in enumerate(parts[1].ids.tolist()) if s in wanted]))
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOSTS[0], "reader_0.data", host.to_table())
    params = {"k": 3, "max_iter": 2}
    stores.run_parties(
        HeteroKmeans(),
        "kmeans_0",
        {GUEST: params, HOSTS[0]: params, ARBITER: params},
        roles,
        data={"train_data": ["reader_0.data"]},
        outputs=["data_0", "data_1"],
    )
    output = stores.output(GUEST, "kmeans_0", "data_0")
    assert output.column_names[1:] == ["label", "predicted_label", "type"]
    clusters = stores.output(ARBITER, "kmeans_0", "data_0")
    assert clusters.column_names == [
        "cluster_index",
        "cluster_sample_count",
        "cluster_inner_dist",
        "max_radius",
        "inter_cluster_dist",
        "type",
    ]
    assert sum(clusters.column("cluster_sample_count").to_pylist()) == 60
    rows = stores.output(ARBITER, "kmeans_0", "data_1")
    assert rows.num_rows == 60 and rows.column("id").to_pylist()[:2] == ["0", "1"]
    dbi = stores.metrics(ARBITER, "kmeans_0")["train"]["DBI"]
    assert dbi.meta["metric_type"] == "DBI" and len(dbi.data) >= 2
