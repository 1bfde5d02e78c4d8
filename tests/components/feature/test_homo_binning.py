"""HomoFeatureBinning: clients and arbiter over the in-memory wire, against the quantiles of
the rows of every client put together; the arbiter sees masked vectors and sums only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.crypto import secure_aggregation
from fateflow_grpc.components.feature import homo_binning
from fateflow_grpc.components.feature.homo_binning import HomoFeatureBinning
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.tasks import Stores

GUEST, HOST, ARBITER = (
    PartyRole("guest", 9999),
    PartyRole("host", 10000),
    PartyRole("arbiter", 10000),
)
PARTIES = Participants(GUEST, (HOST,), ARBITER)
ROLES = {"guest": [9999], "host": [10000], "arbiter": [10000]}
READER = {"data": ["reader_0.data"]}


def datasets() -> tuple[Dataset, Dataset, np.ndarray]:
    rng = np.random.default_rng(11)
    a = rng.normal(size=(300, 3))
    b = rng.normal(loc=1.0, size=(500, 3))
    header = ["x0", "x1", "x2"]

    def make(x, p):
        return Dataset(
            np.asarray([f"{p}{i}" for i in range(len(x))], dtype=object), x, None, header
        )

    return make(a, "g"), make(b, "h"), np.vstack([a, b])


def fit(params: dict[str, Any]) -> tuple[Wire, dict[PartyRole, Any]]:
    guest, host, _ = datasets()
    p = homo_binning.validate_parameters(params)
    wire = Wire()
    results = run_parties(
        wire,
        {
            GUEST: lambda t: homo_binning.fit_client(t, guest, p, PARTIES, local=GUEST, timeout=30),
            HOST: lambda t: homo_binning.fit_client(t, host, p, PARTIES, local=HOST, timeout=30),
            ARBITER: lambda t: homo_binning.fit_arbiter(t, p, PARTIES, timeout=30),
        },
    )
    return wire, results


@pytest.mark.parametrize("method", ["virtual_summary", "recursive_query"])
def test_split_points_are_the_quantiles_of_all_rows(method: str) -> None:
    wire, results = fit({"method": method, "bin_num": 5, "sample_bins": 1000, "error": 0.001})
    _, _, combined = datasets()
    n = len(combined)
    guest, host = results[GUEST], results[HOST]
    assert guest.points == host.points
    for j, name in enumerate(["x0", "x1", "x2"]):
        points = guest.points[name]
        assert len(points) == 5 and points[-1] == pytest.approx(combined[:, j].max())
        for k, point in enumerate(points[:-1], start=1):
            rank = int((combined[:, j] <= point).sum())
            assert abs(rank - k / 5 * n) <= 0.01 * n  # the aimed rank, within a candidate's step
    # The arbiter got keys, masked vectors (uniform to it) and nothing else.
    names = {d.name for d in wire.received_by(ARBITER)}
    assert names <= {homo_binning.DH_PUBKEY, homo_binning.MASKED_SUM, homo_binning.IS_CONVERGE}
    sent = [d.obj for d in wire.received_by(ARBITER) if d.name == homo_binning.MASKED_SUM]
    counts = sent[0]
    assert isinstance(counts, np.ndarray)
    assert not np.isin(secure_aggregation.from_fixed(counts), [300.0, 500.0]).any()


def test_woe_and_categories_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="transform_type"):
        homo_binning.validate_parameters({"transform_param": {"transform_type": "woe"}})
    with pytest.raises(InvalidArgument, match="method"):
        homo_binning.validate_parameters({"method": "quantile"})


def test_a_transform_with_the_trained_model_asks_nothing_of_the_arbiter(stores: Stores) -> None:
    # FATE's homo_*_binning_predict examples: homo_binning_1 applies homo_binning_0's model at
    # every party, the arbiter included, which keeps no model and transforms nothing.
    guest, host, _ = datasets()
    for party, dataset in ((GUEST, guest), (HOST, host)):
        stores.put(party, "reader_0.data", dataset.to_table())
    params = {"method": "recursive_query", "bin_num": 4, "sample_bins": 1000}
    every = {GUEST: params, HOST: params, ARBITER: params}
    stores.run_parties(HomoFeatureBinning(), "homo_binning_0", every, ROLES, data=READER)
    assert stores.model(ARBITER, "homo_binning_0") is None
    wire = stores.run_parties(
        HomoFeatureBinning(),
        "homo_binning_1",
        every,
        ROLES,
        data=READER,
        models=["homo_binning_0.model"],
    )
    assert not wire.received_by(ARBITER) and not stores.has_output(ARBITER, "homo_binning_1")
    for party, dataset in ((GUEST, guest), (HOST, host)):
        model = stores.model(party, "homo_binning_0")
        assert model is not None
        results = model["param"]["binning_result"]["binning_result"]
        expected = np.column_stack(
            [
                np.searchsorted(results[name]["split_points"][:-1], dataset.features[:, j])
                for j, name in enumerate(dataset.header)
            ]
        )
        out = Dataset.from_table(stores.output(party, "homo_binning_1"))
        assert np.array_equal(out.features, expected)
