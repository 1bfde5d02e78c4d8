"""FederatedSample: scikit-learn's `resample` of the sorted ids, as FATE draws; counts per mode;
the same rows and ids at every party of a hetero job."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from sklearn.utils import resample

from fateflow_grpc.components.sampling import federated_sample
from fateflow_grpc.components.sampling.federated_sample import FederatedSample
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast, small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ROLES = {"guest": [9999], "host": [10000]}


def drawn(data: Dataset, **params: Any) -> Dataset:
    settings = federated_sample.validate_parameters(params)
    sample = federated_sample.draw(
        [str(v) for v in data.ids],
        None if data.labels is None else data.labels.tolist(),
        None if data.weights is None else data.weights.tolist(),
        settings,
    )
    return federated_sample.apply(data, sample)


def test_random_downsample_is_sklearns_resample_in_row_order() -> None:
    data = breast("breast_hetero_guest")
    got = drawn(data, fractions=0.3, random_state=11)
    expected = set(resample(sorted(data.ids), replace=False, n_samples=170, random_state=11))
    assert set(got.ids) == expected and len(got.ids) == 170
    positions = [list(data.ids).index(v) for v in got.ids]
    assert positions == sorted(positions)  # the input's order, the input's ids
    assert np.array_equal(got.features, data.features[positions])
    shuffled = data.take(np.random.default_rng(1).permutation(len(data.ids)))
    assert set(drawn(shuffled, fractions=0.3, random_state=11).ids) == expected


def test_random_upsample_numbers_the_draws() -> None:
    data = small([[float(k)] for k in range(10)], ids=[f"r{k}" for k in range(10)])
    got = drawn(data, method="upsample", fractions=2.5, random_state=2)
    draws = resample(sorted(data.ids), replace=True, n_samples=25, random_state=2)
    assert list(got.ids) == [str(k) for k in range(25)]
    assert got.features[:, 0].tolist() == [float(v[1:]) for v in draws]


def test_stratified_draws_each_class_at_its_rate() -> None:
    data = breast("breast_hetero_guest")
    got = drawn(data, mode="stratified", fractions=[[0, 0.5], [1, 0.8]], random_state=4)
    negatives, positives = int(sum(data.labels == 0)), int(sum(data.labels == 1))
    assert sum(got.labels == 0) == int(0.5 * negatives) and sum(got.labels == 1) == int(
        0.8 * positives
    )
    up = drawn(data, mode="stratified", method="upsample", fractions=[[0, 1.5], [1, 2.0]])
    assert sum(up.labels == 0) == int(1.5 * negatives) and sum(up.labels == 1) == 2 * positives
    with pytest.raises(InvalidArgument, match="gives no rate for label 1"):
        drawn(data, mode="stratified", fractions=[[0, 0.5]])


def test_exact_by_weight_copies_rows_by_their_weight() -> None:
    data = dataclasses.replace(
        small([[1.0], [2.0], [3.0]], ids=["a", "b", "c"]), weights=np.array([2.5, 0.0, 1.0])
    )
    got = drawn(data, mode="exact_by_weight")
    assert list(got.ids) == ["a_0", "a_1", "a_2", "c_0"]
    assert got.features[:, 0].tolist() == [1, 1, 1, 3] and got.weights.tolist() == [2.5] * 3 + [1]
    with pytest.raises(InvalidArgument, match="these data have none"):
        drawn(small([[1.0]]), mode="exact_by_weight")


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"fractions": 1.5}, "between 0 and 1 to downsample"),
        ({"method": "upsample", "fractions": 0}, "above 0 to upsample"),
        ({"mode": "stratified", "fractions": 0.5}, r"must list \[label, fraction\] pairs"),
        ({"mode": "stratified", "fractions": [[0, 0.1], [0, 0.2]]}, "names a label twice"),
        ({"mode": "systematic", "fractions": 0.1}, "mode must be one of random"),
        ({"task_type": "vertical", "fractions": 0.1}, "task_type must be one of hetero, homo"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        federated_sample.validate_parameters(params)


def test_no_fractions_is_accepted_until_a_party_draws() -> None:
    """FATE's check accepts fractions None (a hetero host draws nothing); the party that draws
    is refused, naming it."""
    for mode in ("random", "stratified"):
        assert federated_sample.validate_parameters({"mode": mode})["fractions"] is None
        with pytest.raises(InvalidArgument, match="fractions must be given") as caught:
            drawn(breast("breast_hetero_guest"), mode=mode)
        assert caught.value.metadata["parameter"] == "fractions"


@pytest.mark.parametrize(
    "params",
    [
        {"mode": "random", "fractions": 0.4, "random_state": 3},
        {"mode": "stratified", "method": "upsample", "fractions": [[0, 1.5], [1, 2.0]]},
    ],
)
def test_hetero_sample_gives_every_party_the_same_rows(
    stores: Stores, params: dict[str, Any]
) -> None:
    guest, host = breast("breast_hetero_guest"), breast("breast_hetero_host")
    stores.put(GUEST, "intersection_0.data", guest.to_table())
    stores.put(HOST, "intersection_0.data", host.to_table())
    wire = stores.run_parties(
        FederatedSample(),
        "federated_sample_0",
        {GUEST: params, HOST: params},
        ROLES,
        data={"data": ["intersection_0.data"]},
    )
    at_guest = Dataset.from_table(stores.output(GUEST, "federated_sample_0"))
    at_host = Dataset.from_table(stores.output(HOST, "federated_sample_0"))
    assert list(at_guest.ids) == list(at_host.ids)
    # Row k at the host is the same sample as row k at the guest.
    source = {v: k for k, v in enumerate(guest.ids)}
    rows = [source[v] for v in drawn(guest, **params).ids] if params["mode"] == "random" else None
    if rows is not None:
        assert np.array_equal(at_host.features, host.features[rows])
    assert [d.name for d in wire.received_by(HOST)] == [federated_sample.SAMPLE_IDS]
    assert wire.received_by(GUEST) == []
    metrics = stores.metrics(GUEST, "federated_sample_0")
    if params["mode"] == "random":
        assert metrics["sample_count"]["random"].data == [("count", 227)]
        assert stores.metrics(HOST, "federated_sample_0")["sample_count"]["random"].data == [
            ("count", 227)
        ]
    else:
        assert dict(metrics["sample_count"]["stratified"].data) == {"0": 318, "1": 714}
        assert dict(metrics["original_count"]["stratified"].data) == {"0": 212, "1": 357}
        assert stores.metrics(HOST, "federated_sample_0") == {}
        assert stores.summary(GUEST, "federated_sample_0") == {
            "sample_count": {"0": 318, "1": 714},
            "original_count": {"0": 212, "1": 357},
        }


def test_a_host_given_no_fractions_takes_the_guests_draw(stores: Stores) -> None:
    """FATE 1.5's example gives the host no sample parameters (so no fractions): it follows."""
    guest, host = breast("breast_hetero_guest"), breast("breast_hetero_host")
    stores.put(GUEST, "intersection_0.data", guest.to_table())
    stores.put(HOST, "intersection_0.data", host.to_table())
    params = {"mode": "stratified", "fractions": [[0, 0.15], [1, 1]], "random_state": 5}
    stores.run_parties(
        FederatedSample(),
        "federated_sample_0",
        {GUEST: params, HOST: {}},
        ROLES,
        data={"data": ["intersection_0.data"]},
    )
    at_guest = Dataset.from_table(stores.output(GUEST, "federated_sample_0"))
    at_host = Dataset.from_table(stores.output(HOST, "federated_sample_0"))
    assert list(at_host.ids) == list(at_guest.ids) == list(drawn(guest, **params).ids)


def test_homo_sample_is_each_partys_own(stores: Stores) -> None:
    for party in (GUEST, HOST):
        stores.put(party, "data.data", breast(f"breast_homo_{party.role}").to_table())
    params = {"fractions": 0.5, "random_state": 9, "task_type": "homo"}
    wire = stores.run_parties(
        FederatedSample(),
        "sample",
        {GUEST: params, HOST: params},
        ROLES,
        data={"data": ["data.data"]},
    )
    assert wire.log == []
    for party in (GUEST, HOST):
        data = breast(f"breast_homo_{party.role}")
        out = Dataset.from_table(stores.output(party, "sample"))
        assert len(out.ids) == math.floor(0.5 * len(data.ids))
        assert list(out.ids) == list(drawn(data, **params).ids)
