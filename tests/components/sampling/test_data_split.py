"""HeteroDataSplit and HomoDataSplit: the sets are disjoint and complete, of the sizes asked,
stratified in proportion, the same for the same seed whatever the rows' order, the same ids at
every party of a hetero job; and they are scikit-learn's `train_test_split` of the sorted ids."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from fateflow_grpc.components.sampling import data_split, hetero_data_split
from fateflow_grpc.components.sampling.hetero_data_split import HeteroDataSplit
from fateflow_grpc.components.sampling.homo_data_split import HomoDataSplit
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import breast, small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ROLES = {"guest": [9999], "host": [10000]}
OUTPUTS = ("train_data", "validate_data", "test_data")


def split(data: Dataset, **params: Any) -> data_split.Split:
    settings = data_split.validate_parameters("HeteroDataSplit", params)
    labels = None if data.labels is None else data.labels.tolist()
    return data_split.split_ids([str(v) for v in data.ids], labels, settings)


def test_the_split_is_sklearns_of_the_sorted_ids() -> None:
    data = breast("breast_hetero_guest")
    got = split(data, random_state=7, test_size=0.3, validate_size=0.2, stratified=True)
    ids = sorted(str(v) for v in data.ids)
    y = [data.labels[list(data.ids).index(v)] for v in ids]
    train, rest, _, y_rest = train_test_split(
        ids, y, test_size=285, train_size=284, random_state=7, stratify=y
    )
    validate, test = train_test_split(
        rest, test_size=171, train_size=114, random_state=7, stratify=y_rest
    )
    assert got.ids == {"train": train, "validate": validate, "test": test}


def test_sets_are_disjoint_complete_stratified_and_seeded() -> None:
    data = breast("breast_hetero_guest")
    got = split(data, random_state=3, test_size=0.25, validate_size=0.25, stratified=True)
    sets = [set(got.ids[kind]) for kind in data_split.SETS]
    assert sum(len(s) for s in sets) == len(data.ids) and set.union(*sets) == set(data.ids)
    assert [len(s) for s in sets] == [284, 142, 143]
    label_of = dict(zip(data.ids, data.labels, strict=True))
    positive = sum(data.labels) / len(data.labels)
    for members in sets:
        share = sum(label_of[v] for v in members) / len(members)
        assert abs(share - positive) < 2 / len(members)  # within a row or two per class
    # The same seed, the rows in another order: the same split.
    shuffled = data.take(np.random.default_rng(0).permutation(len(data.ids)))
    again = split(shuffled, random_state=3, test_size=0.25, validate_size=0.25, stratified=True)
    assert {k: set(v) for k, v in again.ids.items()} == {k: set(v) for k, v in got.ids.items()}
    other = split(data, random_state=4, test_size=0.25, validate_size=0.25, stratified=True)
    assert set(other.ids["train"]) != set(got.ids["train"])


@pytest.mark.parametrize(
    ("params", "sizes"),
    [
        ({}, (0.8, 0.2, 0)),  # FATE's default
        ({"test_size": 0.3}, (0.7, 0.0, 0.3)),
        ({"validate_size": 0.2}, (0.8, 0.2, 0)),
        ({"train_size": 0.5, "test_size": 0.2}, (0.5, 0.3, 0.2)),
        ({"train_size": 60, "validate_size": 30}, (60, 30, 10)),
    ],
)
def test_sizes_are_filled_in_as_fate_fills_them(params: dict[str, Any], sizes: tuple) -> None:
    settings = data_split.validate_parameters("HomoDataSplit", params)
    assert data_split.sizes(settings, 100) == pytest.approx(sizes)
    counts = split(small([[0.0]] * 100), **params).ids
    expected = [round(s * 100) if isinstance(s, float) else s for s in sizes]
    assert [len(counts[kind]) for kind in data_split.SETS] == expected


def test_continuous_labels_are_stratified_by_bins() -> None:
    labels = list(np.linspace(-1, 1, 90))
    data = small([[0.0]] * 90, labels)
    got = split(data, random_state=0, test_size=1 / 3, stratified=True, split_points=[0.0, 0.5])
    for kind, share in (("train", 2 / 3), ("test", 1 / 3)):
        bins = Counter(data_split.strata(got.labels[kind], None))
        assert sorted(bins) == [0, 1, 2]
        assert all(
            abs(n - share * total) <= 1
            for n, total in zip([bins[0], bins[1], bins[2]], [45, 22, 23], strict=True)
        )


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (
            {"train_size": 0.5, "test_size": 0.6},
            "validate_size -0.1 and test_size 0.6 must be at least 0 and add up to 1",
        ),
        ({"test_size": 1.5}, "test_size must be at most 1"),
        ({"random_state": -1}, "random_state must be at least 0"),
        ({"split_points": 0.5}, "split_points must be a list of numbers"),
        ({"stratified": 1}, "stratified must be true or false"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        split(small([[0.0]] * 10), **params)


def test_hetero_split_gives_every_party_the_same_ids(stores: Stores) -> None:
    guest = breast("breast_hetero_guest")
    host = breast("breast_hetero_host")
    extra = Dataset(np.array(["extra"], dtype=object), np.zeros((1, 20)), None, host.header)
    host_rows = np.concatenate([host.features, extra.features])
    host = Dataset(np.concatenate([host.ids, extra.ids]), host_rows, None, host.header)
    stores.put(GUEST, "intersection_0.data", guest.to_table())
    stores.put(HOST, "intersection_0.data", host.to_table())
    params = {"test_size": 0.3, "validate_size": 0.1, "stratified": True, "random_state": 1}
    wire = stores.run_parties(
        HeteroDataSplit(),
        "hetero_data_split_0",
        {GUEST: params, HOST: params},
        ROLES,
        data={"data": ["intersection_0.data"]},
        outputs=OUTPUTS,
    )
    for name in OUTPUTS:
        at_guest = Dataset.from_table(stores.output(GUEST, "hetero_data_split_0", name))
        at_host = Dataset.from_table(stores.output(HOST, "hetero_data_split_0", name))
        assert list(at_guest.ids) == list(at_host.ids)  # same ids, same order
        assert at_host.labels is None and at_host.header == host.header
    # The host got three id lists and nothing else; its metric says nothing of the labels.
    assert sorted(d.name for d in wire.received_by(HOST)) == sorted(
        hetero_data_split.ID_VARIABLES.values()
    )
    host_meta = stores.metrics(HOST, "hetero_data_split_0")["train"]["data_split"].meta
    assert "data_split_label_info" not in host_meta
    assert host_meta["data_split_count_info"] == {
        "train": 341,
        "validate": 57,
        "test": 171,
        "original": 569,
    }
    guest_meta = stores.metrics(GUEST, "hetero_data_split_0")["train"]["data_split"].meta
    info = guest_meta["data_split_label_info"]
    assert info["label_names"] == ["0", "1"] and info["continuous_label"] is False
    assert info["original"] == {"0": 212, "1": 357}
    assert sum(info[k]["1"] for k in ("train", "validate", "test")) == 357
    assert guest_meta["data_split_ratio_info"] == {"train": 0.599, "validate": 0.1, "test": 0.301}
    assert stores.summary(GUEST, "hetero_data_split_0") == {
        k: v for k, v in guest_meta.items() if k not in ("name", "metric_type")
    }


def test_a_host_without_the_guests_ids_is_told_to_intersect(stores: Stores) -> None:
    stores.put(GUEST, "data.data", small([[0.0]] * 3, [0, 1, 0], ids=["a", "b", "c"]).to_table())
    stores.put(HOST, "data.data", small([[0.0]] * 2, ids=["a", "b"]).to_table())
    with pytest.raises(InvalidArgument, match=r"1 ids this host does not have .* intersect"):
        stores.run_parties(
            HeteroDataSplit(),
            "split",
            {GUEST: {}, HOST: {}},
            ROLES,
            data={"data": ["data.data"]},
            outputs=OUTPUTS,
        )


def test_homo_split_is_each_partys_own(stores: Stores) -> None:
    tables = {GUEST: breast("breast_homo_guest"), HOST: breast("breast_homo_host")}
    for party, data in tables.items():
        stores.put(party, "data_transform_0.data", data.to_table())
    params = {"validate_size": 0.2, "stratified": True, "random_state": 5}
    wire = stores.run_parties(
        HomoDataSplit(),
        "homo_data_split_0",
        {GUEST: params, HOST: params},
        ROLES,
        data={"data": ["data_transform_0.data"]},
        outputs=OUTPUTS,
    )
    assert wire.log == []
    for party, data in tables.items():
        expected = split(data, **params)
        for name, kind in zip(OUTPUTS, data_split.SETS, strict=True):
            out = Dataset.from_table(stores.output(party, "homo_data_split_0", name))
            assert sorted(out.ids) == sorted(expected.ids[kind])
        meta = stores.metrics(party, "homo_data_split_0")["train"]["data_split"].meta
        assert "data_split_label_info" in meta
