"""HeteroFeatureBinning, guest and host in threads over the in-memory wire.

Each statistic is checked against a plaintext computation on the centralised table (the guest's
labels beside the host's features), written here independently of the module; and the wire log
and the models say what each party saw.
"""

from __future__ import annotations

import itertools
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.feature import binning, hetero_binning
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import DeadlineExceeded, InvalidArgument

DATA = Path(__file__).resolve().parents[3] / "examples" / "data"
GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
HOST_B = PartyRole("host", 10001)
PARTIES = Participants(GUEST, (HOST,))


def load(name: str, label: bool) -> Dataset:
    rows = np.genfromtxt(DATA / name, delimiter=",", names=True)
    names = list(rows.dtype.names)
    ids = np.asarray([str(int(v)) for v in rows["id"]], dtype=object)
    header = [n for n in names if n not in ("id", "y")]
    features = np.column_stack([rows[n] for n in header]).astype(np.float64)
    labels = rows["y"].astype(np.float64) if label else None
    return Dataset(ids, features, labels, header)


@pytest.fixture(scope="module")
def guest_data() -> Dataset:
    return load("breast_hetero_guest.csv", True)


@pytest.fixture(scope="module")
def host_data() -> Dataset:
    # The host's rows in another order: the protocol must match them by id.
    data = load("breast_hetero_host.csv", False)
    return data.take(np.random.default_rng(7).permutation(len(data.ids)))


def fit(
    guest: Dataset, host: Dataset, params: dict[str, Any], host_params: dict[str, Any] | None = None
) -> tuple[Wire, hetero_binning.Fitted, hetero_binning.Fitted]:
    guest_params = hetero_binning.validate_parameters(params)
    other = hetero_binning.validate_parameters(host_params if host_params is not None else params)
    wire = Wire()
    results = run_parties(
        wire,
        {
            GUEST: lambda t: hetero_binning.fit_guest(t, guest, guest_params, PARTIES, timeout=60),
            HOST: lambda t: hetero_binning.fit_host(
                t, host, other, PARTIES, local=HOST, timeout=60
            ),
        },
    )
    return wire, results[GUEST], results[HOST]


# --- the plaintext reference ----------------------------------------------------------------


def reference_quantiles(values: np.ndarray, bin_num: int, error: float) -> list[float]:
    """FATE's GK query on an uncompressed summary, from its definition: the sample at index
    max(1, ceil(p N) - ceil(error N)) of the sorted values, min and max at the ends."""
    v = np.sort(values)
    n = len(v)
    out = []
    for k in range(1, bin_num + 1):
        p = k / bin_num
        if p <= error:
            out.append(v[0])
        elif p >= 1 - error:
            out.append(v[-1])
        else:
            i = max(1, math.ceil(p * n) - math.ceil(error * n))
            out.append(v[i] if i < n - 1 else v[-1])
    return sorted(set(out))


def reference_iv(values: np.ndarray, labels: np.ndarray, points: list[float], a: float) -> dict:
    bins = [sum(1 for p in points[:-1] if p < x) for x in values]
    width = max(bins) + 1
    event = [
        sum(1 for b, y in zip(bins, labels, strict=False) if b == i and y == 1)
        for i in range(width)
    ]
    non_event = [
        sum(1 for b, y in zip(bins, labels, strict=False) if b == i and y != 1)
        for i in range(width)
    ]
    te, tn = sum(event), sum(non_event)
    woe, iv = [], 0.0
    for e, ne in zip(event, non_event, strict=False):
        if e == 0 or ne == 0:
            er, nr = (e + a) / te, (ne + a) / tn
        else:
            er, nr = e / te, ne / tn
        woe.append(math.log(er / nr))
        iv += (er - nr) * math.log(er / nr)
    return {"event": event, "non_event": non_event, "woe": woe, "iv": iv}


# --- tests ----------------------------------------------------------------------------------


def test_quantile_split_points_are_fate_s_query_and_within_its_error_bound() -> None:
    rng = np.random.default_rng(3)
    for n, bin_num, error in [(569, 10, 1e-4), (2000, 7, 0.01), (50, 20, 0.001), (3, 10, 1e-4)]:
        values = rng.normal(size=n).round(2)
        assert binning.quantile_points(values, bin_num, error) == reference_quantiles(
            values, bin_num, error
        )
        if n < bin_num:
            continue  # FATE's query never answers the first value but for p <= error
        values = rng.normal(size=n)  # no ties: each point's rank within FATE's bound
        points = binning.quantile_points(values, bin_num, error)
        ordered = np.sort(values)
        for k, point in enumerate(points[:-1], start=1):
            rank = int(np.searchsorted(ordered, point, side="right"))
            p = k / bin_num
            assert math.floor((p - 2 * error) * n) <= rank <= math.ceil((p + 2 * error) * n)
        assert points[-1] == values.max()


def test_guest_and_host_iv_equal_the_centralised_computation(
    guest_data: Dataset, host_data: Dataset
) -> None:
    wire, guest, host = fit(guest_data, host_data, {"bin_num": 10})
    labels = guest_data.labels
    assert labels is not None
    for name in guest_data.header:
        values = guest_data.features[:, guest_data.header.index(name)]
        points = reference_quantiles(values, 10, 1e-4)
        assert guest.points[name] == points
        expected = reference_iv(values, labels, points, 0.5)
        result = guest.results[0][name]
        assert result["event_count_array"] == expected["event"]
        assert result["non_event_count_array"] == expected["non_event"]
        assert result["woe_array"] == pytest.approx(expected["woe"], rel=1e-12)
        assert result["iv"] == pytest.approx(expected["iv"], rel=1e-12)
    # The host's columns, by the guest, against the labels joined by id.
    by_id = dict(zip(guest_data.ids.tolist(), labels.tolist(), strict=False))
    host_labels = np.asarray([by_id[i] for i in host_data.ids.tolist()])
    [(party, per_class)] = guest.hosts
    assert party == HOST and len(per_class) == 1
    for index, name in enumerate(host_data.header):
        values = host_data.features[:, index]
        points = reference_quantiles(values, 10, 1e-4)
        assert host.points[name] == points
        expected = reference_iv(values, host_labels, points, 0.5)
        result = per_class[0][f"host_10000_x{index}"]
        assert result["event_count_array"] == expected["event"]
        assert result["iv"] == pytest.approx(expected["iv"], rel=1e-12)

    # What each saw: the host, ciphertexts and the guest's ids; the guest, encrypted sums and
    # the shape of the host's bins, never a host value or split point.
    to_host = wire.received_by(HOST)
    assert {d.name for d in to_host} == {
        hetero_binning.ENCRYPTED_LABEL,
        hetero_binning.ENCRYPTED_LABEL_INFO,
    }
    info = next(d.obj for d in to_host if d.name == hetero_binning.ENCRYPTED_LABEL_INFO)
    assert set(info) == {"public_key", "ids", "classes", "base"}
    ciphertexts = next(d.obj for d in to_host if d.name == hetero_binning.ENCRYPTED_LABEL)
    assert not set(ciphertexts) & {0, 1, 570, 571}  # no plain label, packed or not
    to_guest = json.dumps([d.obj for d in wire.received_by(GUEST) if not isinstance(d.obj, list)])
    for points in host.points.values():
        for point in points[:-1]:
            assert repr(point) not in to_guest
    # The models: the guest's holds host IV but no host split points; the host's no statics.
    params = hetero_binning.validate_parameters({"bin_num": 10})
    guest_model = hetero_binning.model_of(guest, params, GUEST)
    host_model = hetero_binning.model_of(host, params, HOST)
    for host_result in guest_model["param"]["host_results"]:
        for result in host_result["binning_result"].values():
            assert result["split_points"] == [] and result["iv"] > 0
    for result in host_model["param"]["binning_result"]["binning_result"].values():
        assert result["iv"] == 0 and result["woe_array"] == [] and result["split_points"]
    assert host_model["param"]["host_results"] == []


def test_bucket_binning_categories_and_woe_transform(guest_data: Dataset) -> None:
    params = hetero_binning.validate_parameters(
        {
            "method": "bucket",
            "bin_num": 5,
            "category_indexes": [0],
            "transform_param": {"transform_type": "woe"},
            "local_only": True,
        }
    )
    categorical = guest_data.features.copy()
    categorical[:, 0] = np.round(categorical[:, 0])  # a column of few values
    data = Dataset(guest_data.ids, categorical, guest_data.labels, guest_data.header)
    fitted = hetero_binning.fit_guest(Wire().transport(GUEST), data, params, PARTIES)
    x1 = categorical[:, 1]
    width = (x1.max() - x1.min()) / 5
    assert fitted.points["x1"] == pytest.approx(
        [x1.min() + k * width for k in range(1, 5)] + [x1.max()]
    )
    assert fitted.points["x0"] == sorted(set(categorical[:, 0].tolist()))
    assert fitted.columns.category_names == ["x0"] and "x0" not in fitted.columns.bin_names
    out = hetero_binning.transformed(fitted, data, params, "guest")
    for j, name in enumerate(data.header):
        woe = fitted.results[0][name]["woe_array"]
        bins = binning.bin_indexes(categorical[:, j], fitted.points[name])
        assert out.features[:, j].tolist() == [woe[b] for b in bins]
    # The same transform from the saved model, as a predict job does it.
    model = hetero_binning.model_of(fitted, params, GUEST)
    assert hetero_binning.apply(model, data, "guest").features.tolist() == out.features.tolist()


def test_bin_num_transform_missing_values_and_column_choice(guest_data: Dataset) -> None:
    features = guest_data.features.copy()
    features[::7, 2] = np.nan
    data = Dataset(guest_data.ids, features, guest_data.labels, guest_data.header)
    params = hetero_binning.validate_parameters(
        {"bin_indexes": [2, 3], "bin_names": ["x5"], "local_only": True}
    )
    fitted = hetero_binning.fit_guest(Wire().transport(GUEST), data, params, PARTIES)
    assert list(fitted.points) == ["x2", "x3", "x5"]
    result = fitted.results[0]["x2"]
    points = fitted.points["x2"]
    assert len(result["event_count_array"]) == len(points) + 1  # the missing values' bin
    missing_labels = guest_data.labels[::7]
    assert result["event_count_array"][-1] == int((missing_labels == 1).sum())
    out = hetero_binning.transformed(fitted, data, params, "guest")
    assert np.all(out.features[::7, 2] == len(points))
    assert out.features[:, 0].tolist() == features[:, 0].tolist()  # not binned, unchanged
    model = hetero_binning.model_of(fitted, params, GUEST)
    assert model["param"]["binning_result"]["binning_result"]["x2"]["bin_nums"] == len(points) + 1


def test_multiclass_iv_one_result_per_class(guest_data: Dataset, host_data: Dataset) -> None:
    assert guest_data.labels is not None
    labels = np.asarray(guest_data.features[:, 0] > 0.5, dtype=float) + guest_data.labels
    data = Dataset(guest_data.ids, guest_data.features, labels, guest_data.header)
    _, guest, _ = fit(data, host_data, {"bin_num": 4})
    assert guest.classes == [2.0, 1.0, 0.0]
    assert len(guest.results) == 3 and len(guest.hosts[0][1]) == 3
    values = data.features[:, 1]
    for k, label in enumerate(guest.classes):
        expected = reference_iv(values, (labels == label).astype(float), guest.points["x1"], 0.5)
        assert guest.results[k]["x1"]["iv"] == pytest.approx(expected["iv"], rel=1e-12)
    by_id = dict(zip(data.ids.tolist(), labels.tolist(), strict=False))
    host_labels = np.asarray([by_id[i] for i in host_data.ids.tolist()])
    host_points = binning.quantile_points(host_data.features[:, 3], 4, 1e-4)
    for k, label in enumerate(guest.classes):
        expected = reference_iv(
            host_data.features[:, 3], (host_labels == label).astype(float), host_points, 0.5
        )
        assert guest.hosts[0][1][k]["host_10000_x3"]["iv"] == pytest.approx(expected["iv"])
    model = hetero_binning.model_of(guest, hetero_binning.validate_parameters({}), GUEST)
    assert model["param"]["multi_class_result"]["labels"] == ["2", "1", "0"]
    assert len(model["param"]["multi_class_result"]["host_results"]) == 3


def test_optimal_binning_at_guest_and_host_agree_with_the_counts(
    guest_data: Dataset, host_data: Dataset
) -> None:
    params = {
        "method": "optimal",
        "bin_num": 5,
        "optimal_binning_param": {
            "metric_method": "iv",
            "init_bin_nums": 40,
            "min_bin_pct": 0.05,
            "max_bin_pct": 0.8,
        },
    }
    _, guest, host = fit(guest_data, host_data, params)
    labels = guest_data.labels
    assert labels is not None
    n = len(labels)
    for name, points in guest.points.items():
        assert len(points) <= 5
        counts = guest.results[0][name]
        totals = np.add(counts["event_count_array"], counts["non_event_count_array"])
        assert totals.max() <= math.floor(0.8 * n)
        initial = binning.quantile_points(
            guest_data.features[:, guest_data.header.index(name)], 40, 1e-4
        )
        assert set(points) <= set(initial) and points[-1] == initial[-1]
    # The host took the bins the guest chose: its split points give the guest's counts.
    by_id = dict(zip(guest_data.ids.tolist(), labels.tolist(), strict=False))
    host_labels = np.asarray([by_id[i] for i in host_data.ids.tolist()])
    for index, name in enumerate(host_data.header):
        assert len(host.points[name]) <= 5
        expected = reference_iv(host_data.features[:, index], host_labels, host.points[name], 0.5)
        assert (
            guest.hosts[0][1][0][f"host_10000_x{index}"]["event_count_array"] == expected["event"]
        )
    for metric in ("gini", "chi_square", "ks"):
        p = hetero_binning.validate_parameters(
            {
                **params,
                "local_only": True,
                "optimal_binning_param": {"metric_method": metric, "init_bin_nums": 40},
            }
        )
        fitted = hetero_binning.fit_guest(Wire().transport(GUEST), guest_data, p, PARTIES)
        assert all(1 <= len(points) <= 5 for points in fitted.points.values())


def test_two_hosts_and_skip_static(guest_data: Dataset, host_data: Dataset) -> None:
    parties = Participants(GUEST, (HOST, HOST_B))
    params = hetero_binning.validate_parameters({"bin_num": 6})
    other = host_data.take(np.arange(len(host_data.ids))[::-1])
    wire = Wire()
    results = run_parties(
        wire,
        {
            GUEST: lambda t: hetero_binning.fit_guest(t, guest_data, params, parties, timeout=60),
            HOST: lambda t: hetero_binning.fit_host(
                t, host_data, params, parties, local=HOST, timeout=60
            ),
            HOST_B: lambda t: hetero_binning.fit_host(
                t, other, params, parties, local=HOST_B, timeout=60
            ),
        },
    )
    hosts = results[GUEST].hosts
    assert [party for party, _ in hosts] == [HOST, HOST_B]
    assert hosts[0][1][0]["host_10000_x4"]["iv"] == pytest.approx(
        hosts[1][1][0]["host_10001_x4"]["iv"]
    )
    skip = hetero_binning.validate_parameters({"skip_static": True})
    fitted = hetero_binning.fit_guest(Wire().transport(GUEST), guest_data, skip, PARTIES)
    assert fitted.results == [] and fitted.hosts == []


def test_parameters_are_fate_s_and_refused_by_name() -> None:
    params = hetero_binning.validate_parameters({})
    assert (params.method, params.bin_num, params.error, params.adjustment_factor) == (
        "quantile",
        10,
        1e-4,
        0.5,
    )
    for bad, name in [
        ({"method": "kmeans"}, "method"),
        ({"bin_num": 0}, "bin_num"),
        ({"adjustment_factor": 1.5}, "adjustment_factor"),
        ({"encrypt_param": {"method": "IterativeAffine"}}, "encrypt_param.method"),
        ({"skip_static": True, "method": "optimal"}, "method"),
        ({"skip_static": True, "transform_param": {"transform_type": "woe"}}, "transform_type"),
        ({"cols": -1}, "cols"),
    ]:
        with pytest.raises(InvalidArgument, match=name):
            hetero_binning.validate_parameters(bad)


def test_a_host_asked_for_woe_passes_its_data_on_as_fate_1_5_s_hosts(
    guest_data: Dataset, host_data: Dataset
) -> None:
    # FATE 1.5's woe_binning and optimal_iv examples set transform_type woe for every party.
    params = {"transform_param": {"transform_type": "woe"}}
    _, guest, host = fit(guest_data, host_data, params)
    woe = hetero_binning.validate_parameters(params)
    assert host.points and guest.hosts  # binned, and the guest has the host's IVs
    assert hetero_binning.transformed(host, host_data, woe, "host") is host_data
    model = hetero_binning.model_of(host, woe, HOST)
    assert hetero_binning.apply(model, host_data, "host") is host_data
    out = hetero_binning.transformed(guest, guest_data, woe, "guest")
    assert out.features.tolist() != guest_data.features.tolist()


def test_a_host_refuses_rows_that_are_not_the_guest_s(
    guest_data: Dataset, host_data: Dataset
) -> None:
    params = hetero_binning.validate_parameters({})
    wire = Wire()
    with ThreadPoolExecutor(1) as pool:
        guest = pool.submit(
            hetero_binning.fit_guest, wire.transport(GUEST), guest_data, params, PARTIES, timeout=2
        )
        with pytest.raises(InvalidArgument, match="Intersection"):
            hetero_binning.fit_host(
                wire.transport(HOST), host_data.take(np.arange(100)), params, PARTIES, local=HOST
            )
        with pytest.raises(DeadlineExceeded):
            guest.result()


def reference_chi_square(left: tuple[int, int], right: tuple[int, int]) -> float:
    """Pearson's chi-square of the 2x2 table of two neighbouring bins' (event, non-event)."""
    table = np.asarray([left, right], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    return float(((table - expected) ** 2 / expected).sum())


def test_chi_square_merges_empty_buckets(guest_data: Dataset) -> None:
    # FATE's hetero_binning_sparse_optimal_chi_square: bucket init leaves empty buckets.
    events = [3, 0, 0, 5, 1, 0, 7, 2, 0, 4, 6, 0]
    non_events = [1, 0, 0, 2, 6, 0, 1, 5, 0, 3, 2, 0]
    optimal = binning.Optimal(metric_method="chi_square", min_bin_pct=0.0, mixture=False)
    ends, metric = binning.optimal_groups(events, non_events, optimal, 4, 0.5)
    assert len(ends) == 4 and ends[-1] == len(events) - 1
    starts = [0, *(end + 1 for end in ends[:-1])]
    bins = [
        (sum(events[a : b + 1]), sum(non_events[a : b + 1]))
        for a, b in zip(starts, ends, strict=True)
    ]
    assert all(e + ne > 0 for e, ne in bins)
    expected = [reference_chi_square(a, b) for a, b in itertools.pairwise(bins)]
    assert metric == pytest.approx(expected)
    # And the task, on the breast data with bucket init, as FATE's example runs it.
    params = hetero_binning.validate_parameters(
        {
            "method": "optimal",
            "local_only": True,
            "optimal_binning_param": {
                "metric_method": "chi-square",
                "init_bucket_method": "bucket",
            },
        }
    )
    fitted = hetero_binning.fit_guest(Wire().transport(GUEST), guest_data, params, PARTIES)
    assert all(1 <= len(points) <= 10 for points in fitted.points.values())


def test_manual_split_points_must_leave_out_the_category_columns(guest_data: Dataset) -> None:
    # FATE 1.11.4's hetero_binning_manual_split_points gives x0..x9 with category_indexes
    # [0, 1, 2]: FATE's guest fails it too, as its binned columns are x3..x9.
    manual = {f"x{i}": [0.0, 10.0] for i in range(10)}
    params = {"category_indexes": [0, 1, 2], "split_points_by_col_name": manual, "local_only": True}
    with pytest.raises(InvalidArgument, match=r"binned columns \(x3, x4, x5, x6, x7, x8, x9\)"):
        fit(guest_data, guest_data, params)
    del manual["x0"], manual["x1"], manual["x2"]
    p = hetero_binning.validate_parameters(params)
    fitted = hetero_binning.fit_guest(Wire().transport(GUEST), guest_data, p, PARTIES)
    assert fitted.points["x3"] == [0.0, 10.0]
    x3 = guest_data.features[:, guest_data.header.index("x3")]
    counts = fitted.results[0]["x3"]
    totals = np.add(counts["event_count_array"], counts["non_event_count_array"])
    assert totals.tolist() == [int((x3 <= 0.0).sum()), int((x3 > 0.0).sum())]
