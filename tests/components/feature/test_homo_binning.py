"""HomoFeatureBinning: clients and arbiter over the in-memory wire, against the quantiles of
the rows of every client put together; the arbiter sees masked vectors and sums only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.crypto import secure_aggregation
from fateflow_grpc.components.feature import homo_binning
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument

GUEST, HOST, ARBITER = (
    PartyRole("guest", 9999),
    PartyRole("host", 10000),
    PartyRole("arbiter", 10000),
)
PARTIES = Participants(GUEST, (HOST,), ARBITER)


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
