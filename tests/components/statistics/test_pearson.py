"""HeteroPearson between a guest and a host over the in-memory wire, against numpy's Pearson
correlation of the joined data (tolerance 1e-6: the cross product is computed in fixed point
with 24 fractional bits), and what each party receives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.components.statistics import pearson
from fateflow_grpc.components.statistics.pearson import HeteroPearson
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
PARTIES = Participants(GUEST, (HOST,))


def run(guest: Dataset, host: Dataset, params: dict[str, Any]) -> tuple[Wire, dict[PartyRole, Any]]:
    checked = pearson.validate_parameters(params)
    wire = Wire()
    results = run_parties(
        wire,
        {
            GUEST: lambda t: pearson.fit(t, guest, checked, PARTIES, GUEST),
            HOST: lambda t: pearson.fit(t, host, checked, PARTIES, HOST),
        },
    )
    return wire, results


def matrix(values: list[Any], shape: tuple[int, int]) -> np.ndarray:
    return np.array([np.nan if v == "NaN" else v for v in values], dtype=float).reshape(shape)


@pytest.fixture(scope="module")
def tables() -> tuple[Dataset, Dataset]:
    guest = breast("breast_hetero_guest").take(np.arange(150))
    host = breast("breast_hetero_host")
    position = {s: k for k, s in enumerate(host.ids.tolist())}
    # The host's rows in another order: rows are matched by id.
    rows = [position[s] for s in guest.ids.tolist()][::-1]
    return guest, host.take(np.array(rows))


def test_cross_and_local_correlations_match_numpy(tables: tuple[Dataset, Dataset]) -> None:
    guest, host = tables
    wire, results = run(guest, host, {"column_indexes": -1, "fixpoint_bit_length": 1024})
    position = {s: k for k, s in enumerate(host.ids.tolist())}
    joined = np.hstack([guest.features, host.features[[position[s] for s in guest.ids.tolist()]]])
    expected = np.corrcoef(joined, rowvar=False)
    m1 = guest.features.shape[1]
    for party in (GUEST, HOST):
        model, summary = results[party]
        param = model["param"]
        assert param["shapes"] == [m1, host.features.shape[1]]
        corr = matrix(param["corr"], tuple(param["shapes"]))
        assert np.abs(corr - expected[:m1, m1:]).max() < 1e-6
        assert summary["num_local_features"] == param["shape"]
    guest_param, host_param = results[GUEST][0]["param"], results[HOST][0]["param"]
    assert np.abs(matrix(guest_param["local_corr"], (m1, m1)) - expected[:m1, :m1]).max() < 1e-9
    # FATE's VIF is the diagonal of the inverse correlation matrix.
    inverse = np.linalg.inv(expected[:m1, :m1]).diagonal()
    assert np.allclose(guest_param["local_vif"], inverse, rtol=1e-6)
    # Each sees the other's columns by anonymous name only.
    assert guest_param["all_names"][0]["names"] == guest.header
    assert host_param["all_names"][0]["names"] == [f"guest_9999_x{k}" for k in range(m1)]
    assert guest_param["all_names"][1]["names"][0] == "host_10000_x0"
    assert guest_param["parties"] == ["(guest,9999)", "(host,10000)"]
    # No rows cross: ciphertexts, masked values and shares only.
    for delivery in wire.log:
        assert not (isinstance(delivery.obj, np.ndarray) and delivery.obj.dtype.kind == "f")
        if delivery.name in (pearson.ENCRYPTED, pearson.MASKED):
            assert isinstance(delivery.obj, BigIntegers)
    # The guest has fewer columns: it encrypts, the host multiplies.
    assert [d.dst for d in wire.log if d.name == pearson.ENCRYPTED] == [HOST]


def test_a_constant_column_and_a_subset_give_nan_where_fate_does(
    tables: tuple[Dataset, Dataset],
) -> None:
    guest, host = tables
    features = host.features.copy()
    features[:, 1] = 3.0
    host = Dataset(**{**host.__dict__, "features": features})
    params = {"column_indexes": [0, 1, 2], "column_names": ["x5"], "calc_local_vif": False}
    _, results = run(
        guest.take(np.arange(len(guest.ids))), host, params | {"fixpoint_bit_length": 1024}
    )
    model, _ = results[GUEST]
    corr = matrix(model["param"]["corr"], tuple(model["param"]["shapes"]))
    assert corr.shape == (4, 4)
    assert np.isnan(corr[:, 1]).all() and not np.isnan(corr[:, [0, 2, 3]]).any()
    assert model["param"]["local_vif"] == []


def test_local_only_needs_no_other_party(tables: tuple[Dataset, Dataset]) -> None:
    guest, _ = tables
    checked = pearson.validate_parameters({"column_indexes": -1, "cross_parties": False})
    model, summary = pearson.fit(Wire().transport(GUEST), guest, checked, PARTIES, GUEST)
    assert model["param"]["corr"] == [] and model["param"]["shapes"] == [len(guest.header)]
    assert "corr" not in summary


def test_different_ids_are_refused(tables: tuple[Dataset, Dataset]) -> None:
    guest, host = tables
    with pytest.raises(InvalidArgument, match="intersect"):
        run(guest.take(np.arange(100)), host, {"column_indexes": -1, "fixpoint_bit_length": 1024})


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "column_indexes"),
        ({"column_indexes": -1, "column_names": ["x0"]}, "column_names"),
        ({"column_indexes": 3}, "column_indexes"),
        ({"column_indexes": -1, "fixpoint_bit_length": 512}, "fixpoint_bit_length"),
        ({"column_indexes": -1, "need_run": False}, "need_run"),
        ({"column_indexes": -1, "use_mix_rand": "yes"}, "use_mix_rand"),
    ],
)
def test_fate_refusals(params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        pearson.validate_parameters(params)
    assert named in raised.value.message


def test_component_saves_fate_model_summary_and_metric(
    stores: Stores, tables: tuple[Dataset, Dataset]
) -> None:
    guest, host = tables
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id]}
    stores.put(GUEST, "reader_0.data", guest.take(np.arange(40)).to_table())
    stores.put(
        HOST, "reader_0.data", host.take(np.arange(len(host.ids) - 40, len(host.ids))).to_table()
    )
    params = {"column_indexes": -1, "use_mix_rand": True, "fixpoint_bit_length": 1024}
    stores.run_parties(
        HeteroPearson(),
        "pearson_0",
        {GUEST: params, HOST: params},
        roles,
        data={"train_data": ["reader_0.data"]},
    )
    model = stores.model(GUEST, "pearson_0")
    assert model is not None and model["param"]["model_name"] == "HeteroPearson"
    assert (
        stores.metrics(HOST, "pearson_0")["statistic"]["correlation"].meta["metric_type"]
        == "CORRELATION_GRAPH"
    )
    summary = stores.summary(HOST, "pearson_0")
    assert summary is not None and summary["num_remote_features"] == len(guest.header)
