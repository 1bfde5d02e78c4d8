"""SecureInformationRetrieval over the in-memory wire, as FATE's example (the guest holds
breast_hetero_host's ids, the host breast_hetero_guest's table): the guest gets exactly the
host's values for the ids both have, NaN for the others; the host sees no id in the clear and
one block per security level's count, all of the intersection's size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.retrieval import secure_information_retrieval as sir
from fateflow_grpc.components.retrieval.secure_information_retrieval import (
    SecureInformationRetrieval,
)
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 9998)
PARTIES = Participants(GUEST, (HOST,))
#: FATE's example's parameters (1.11), with 1024-bit DH.
EXAMPLE = {
    "security_level": 0.5,
    "oblivious_transfer_protocol": "OT_Hauck",
    "commutative_encryption": "CommutativeEncryptionPohligHellman",
    "non_committing_encryption": "aes",
    "dh_params": {"key_length": 1024},
    "raw_retrieval": False,
    "target_cols": ["x0", "x3"],
}


@pytest.fixture(scope="module")
def tables() -> tuple[Dataset, Dataset]:
    """The guest's 60 ids (10 of which the host lacks), the host's 200 labelled rows."""
    host = breast("breast_hetero_guest").take(np.arange(200))
    guest = breast("breast_hetero_host")
    present = set(host.ids.tolist())
    inside = [k for k, s in enumerate(guest.ids.tolist()) if s in present][:50]
    outside = [k for k, s in enumerate(guest.ids.tolist()) if s not in present][:10]
    return guest.take(np.array(inside + outside)), host


def run(
    tables: tuple[Dataset, Dataset], params: dict[str, Any]
) -> tuple[Wire, dict[PartyRole, Any]]:
    checked = sir.validate_parameters(params)
    guest, host = tables
    wire = Wire()
    return wire, run_parties(
        wire,
        {
            GUEST: lambda t: sir.retrieve_guest(t, guest, checked, PARTIES),
            HOST: lambda t: sir.serve_host(t, host, checked, PARTIES),
        },
    )


def expected(tables: tuple[Dataset, Dataset], columns: list[str]) -> dict[str, list[float]]:
    guest, host = tables
    wanted = set(guest.ids.tolist())
    rows = {}
    for k, sample in enumerate(host.ids.tolist()):
        if sample in wanted:
            rows[sample] = (
                [host.features[k, host.header.index(c)] for c in columns]
                if columns
                else [float(host.labels[k])]  # type: ignore[index]
            )
    return rows


def test_oblivious_retrieval_gets_the_hosts_values(tables: tuple[Dataset, Dataset]) -> None:
    wire, results = run(tables, EXAMPLE)
    retrieved, blocks = results[GUEST]
    assert blocks == 45 and retrieved == expected(tables, ["x0", "x3"])
    assert results[HOST] == (50, 45)
    # The host got 45 blocks of 50 encrypted ids each, and no id in the clear.
    received = wire.received_by(HOST)
    blocks_seen = [d.obj for d in received if d.name == sir.NATURAL_INDEXATION]
    assert len(blocks_seen) == 45 and {len(b) for b in blocks_seen} == {50 * 128}
    ids = {s.encode() for s in tables[0].ids.tolist()}
    for delivery in received:
        if isinstance(delivery.obj, bytes):
            assert not any(sample in delivery.obj for sample in ids if len(sample) > 2)
        assert not isinstance(delivery.obj, list)
    dataset = sir.retrieved_dataset(tables[0], retrieved, ["x0", "x3"])
    assert np.isnan(dataset.features[50:]).all() and not np.isnan(dataset.features[:50]).any()


def test_raw_retrieval_and_the_label(tables: tuple[Dataset, Dataset]) -> None:
    _, results = run(tables, {"security_level": 0, "target_cols": None})
    retrieved, blocks = results[GUEST]
    assert blocks is None and retrieved == expected(tables, [])
    dataset = sir.retrieved_dataset(tables[0], retrieved, [])
    assert dataset.label_name == "retrieved_value" and dataset.header == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"security_level": 1.5}, "security_level"),
        ({"oblivious_transfer_protocol": "OT_Naor"}, "oblivious_transfer_protocol"),
        ({"dh_params": {"key_length": 3000}}, "dh_params.key_length"),
        ({"key_size": 512}, "key_size"),
        ({"target_cols": [1]}, "target_cols"),
    ],
)
def test_refusals(params: dict[str, Any], named: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        sir.validate_parameters(params)
    assert named in raised.value.message


def test_fate_1_5_parameters_are_accepted() -> None:
    params = sir.validate_parameters(
        {
            "security_level": 0.5,
            "oblivious_transfer_protocol": "OT_Hauck",
            "commutative_encryption": "CommutativeEncryptionPohligHellman",
            "non_committing_encryption": "aes",
            "key_size": 1024,
            "raw_retrieval": False,
        }
    )
    assert params["dh_params"]["key_length"] == 1024


def test_component_records_fates_metric_and_model(
    stores: Stores, tables: tuple[Dataset, Dataset]
) -> None:
    guest, host = tables
    roles = {"guest": [GUEST.party_id], "host": [HOST.party_id]}
    stores.put(GUEST, "reader_0.data", guest.to_table())
    stores.put(HOST, "reader_0.data", host.to_table())
    params = EXAMPLE | {"security_level": 0.1}
    stores.run_parties(
        SecureInformationRetrieval(),
        "sir_0",
        {GUEST: params, HOST: params},
        roles,
        data={"data": ["reader_0.data"]},
    )
    metric = stores.metrics(GUEST, "sir_0")["train"]["sir"]
    assert dict(metric.data)["Coverage"] == 50 / 60 and dict(metric.data)["Block number"] == 4
    model = stores.model(HOST, "sir_0")
    assert model is not None and model["param"] == {"coverage": 0.25, "block_num": 4}
    assert stores.output(GUEST, "sir_0").column_names[1:] == ["x0", "x3"]
    assert stores.output(HOST, "sir_0").num_rows == 200
