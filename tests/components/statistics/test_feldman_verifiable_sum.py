"""FeldmanVerifiableSum with a guest and two hosts (one of them the guest's own party id, as
in FATE's example) over the in-memory wire: the guest's sums are exactly the sums of FATE's
truncated encodings, no party sees another's values, and a share that does not match its
commitments is named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.crypto import verifiable_sharing as vss
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import MemoryTransport, Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.components.statistics import feldman_verifiable_sum as fvs
from fateflow_grpc.components.statistics.feldman_verifiable_sum import FeldmanVerifiableSum
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import FederatedError, InvalidArgument
from fateflow_grpc.federation.codec import BigIntegers
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOSTS = (PartyRole("host", 10000), PartyRole("host", 9999))
PARTIES = Participants(GUEST, HOSTS)


@pytest.fixture(scope="module")
def tables() -> list[Dataset]:
    """breast_homo's rows with different values at each party, rows in different orders."""
    base = breast("breast_homo_guest").take(np.arange(40))
    rng = np.random.RandomState(4)
    parts = []
    for order in (np.arange(40), np.arange(40)[::-1], rng.permutation(40)):
        part = base.take(order)
        parts.append(Dataset(**{**part.__dict__, "features": part.features * rng.uniform(-2, 2)}))
    return parts


def run(
    tables: list[Dataset], params: dict[str, Any], transports: Any = None
) -> tuple[Wire, Dataset]:
    checked = fvs.validate_parameters(params)
    wire = Wire()
    roles: dict[PartyRole, Any] = {GUEST: lambda t: fvs.fit_guest(t, tables[0], checked, PARTIES)}
    for host, table in zip(HOSTS, tables[1:], strict=True):
        roles[host] = lambda t, host=host, table=table: fvs.fit_host(
            (transports or {}).get(host, lambda x: x)(t), table, checked, PARTIES, host
        )
    return wire, run_parties(wire, roles)[GUEST]


def test_sums_are_fates_to_the_last_digit(tables: list[Dataset]) -> None:
    wire, sums = run(tables, {"sum_cols": [3, 1, 2], "q_n": 6})
    assert sums.header == ["x1", "x2", "x3"]
    for row, sample in enumerate(sums.ids.tolist()):
        for col, name in enumerate(sums.header):
            k = tables[0].header.index(name)
            encoded = 0
            for table in tables:
                position = table.ids.tolist().index(sample)
                encoded += int(table.features[position, k] * 10**6)
            assert sums.features[row, col] == vss.decode(encoded % vss.Q, 6)
    exact = sum(t.features[:, 1][np.argsort(t.ids.astype(int))] for t in tables)
    assert np.abs(sums.features[np.argsort(sums.ids.astype(int)), 0] - exact).max() < 3e-6
    # Only shares and commitments cross: integers, no value in the clear.
    for delivery in wire.log:
        assert not isinstance(delivery.obj, np.ndarray)
        if delivery.name != fvs.IDS:
            assert isinstance(delivery.obj, BigIntegers)


def test_a_share_its_commitments_do_not_vouch_for_is_named(tables: list[Dataset]) -> None:
    class Tampering:
        def __init__(self, transport: MemoryTransport) -> None:
            self._transport = transport

        def remote(self, obj: object, name: str, tag: str, parties: Any) -> None:
            if name == fvs.HOST_SHARE_TO_GUEST:
                obj = BigIntegers([(obj[0] + 1) % vss.Q, *obj[1:]])  # type: ignore[index]
            self._transport.remote(obj, name, tag, parties)

        def get(self, name: str, tag: str, parties: Any, timeout: float) -> list[object]:
            return self._transport.get(name, tag, parties, timeout)

    with pytest.raises(FederatedError, match="host 10000 sent a share"):
        run(tables, {}, {HOSTS[0]: Tampering})


def test_different_ids_are_refused(tables: list[Dataset]) -> None:
    with pytest.raises(InvalidArgument, match="same ids"):
        run([tables[0].take(np.arange(30)), *tables[1:]], {})


@pytest.mark.parametrize(
    ("params", "named"), [({"q_n": 17}, "q_n"), ({"sum_cols": "x0"}, "sum_cols")]
)
def test_fate_refusals(params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        fvs.validate_parameters(params)
    assert named in raised.value.message


def test_component_outputs_the_guests_sums(stores: Stores, tables: list[Dataset]) -> None:
    roles = {"guest": [9999], "host": [10000, 9999]}
    for party, table in zip((GUEST, *HOSTS), tables, strict=True):
        stores.put(party, "reader_0.data", table.to_table())
    params = {"sum_cols": [0], "q_n": 3}
    stores.run_parties(
        FeldmanVerifiableSum(),
        "sum_0",
        {GUEST: params, HOSTS[0]: params, HOSTS[1]: params},
        roles,
        data={"data": ["reader_0.data"]},
    )
    table = stores.output(GUEST, "sum_0")
    assert table.column_names[-1] == "x0" and table.num_rows == 40
    assert not stores.has_output(HOSTS[0], "sum_0")
