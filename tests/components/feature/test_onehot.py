"""OneHotEncoder and HomoOneHotEncoder against scikit-learn's OneHotEncoder on the same data
(for the homo one, on every client's rows together), and what the arbiter gets: blocks it
cannot read."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest
from sklearn.preprocessing import OneHotEncoder as SkOneHot

from fateflow_grpc.components.feature import homo_onehot, onehot
from fateflow_grpc.components.feature.homo_onehot import HomoOneHotEncoder
from fateflow_grpc.components.feature.onehot import OneHotEncoder
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.datasets import small
from tests.components.tasks import Stores

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
HOST_B = PartyRole("host", 10001)
ARBITER = PartyRole("arbiter", 10002)
ROLES = {"guest": [9999], "host": [10000, 10001], "arbiter": [10002]}


def categorical(seed: int, rows: int, levels: tuple[int, ...]) -> Dataset:
    """Columns a, b (encoded) and c (real), with `levels` values in a and b."""
    rng = np.random.default_rng(seed)
    a = rng.choice(levels, rows)
    b = rng.integers(-2, 3, rows)
    c = rng.normal(size=rows)
    return small(
        np.column_stack([a, b, c]).tolist(),
        rng.integers(0, 2, rows).tolist(),
        header=["a", "b", "c"],
        ids=[f"{seed}-{k}" for k in range(rows)],
    )


def expected(fitted_on: np.ndarray, data: Dataset) -> tuple[np.ndarray, list[str]]:
    """sklearn's encoding of columns a and b (categories of `fitted_on`), c kept after them."""
    sk = SkOneHot(handle_unknown="ignore", sparse_output=False).fit(fitted_on[:, :2])
    names = [
        f"{col}_{int(v)}" for col, cats in zip("ab", sk.categories_, strict=True) for v in cats
    ]
    return np.hstack([sk.transform(data.features[:, :2]), data.features[:, 2:]]), [*names, "c"]


def test_encoding_is_sklearns() -> None:
    data = categorical(1, 200, (3, 7, 11))
    encoder = onehot.fit(data, onehot.validate_parameters({"transform_col_indexes": [0, 1]}))
    encoded = encoder.transform(data)
    matrix, header = expected(data.features, data)
    assert encoded.header == header and np.array_equal(encoded.features, matrix)
    assert np.array_equal(encoded.labels, data.labels) and list(encoded.ids) == list(data.ids)


def test_columns_are_chosen_as_fate_chooses_them() -> None:
    data = small([[1, 2, 3], [1, 2, 3]], header=["a", "b", "c"])
    choose = onehot.encoded_columns
    assert choose(data.header, onehot.validate_parameters({})) == ["a", "b", "c"]
    assert choose(
        data.header,
        onehot.validate_parameters(
            {"transform_col_indexes": [2, 9], "transform_col_names": ["a", "zz"]}
        ),
    ) == ["c", "a"]
    # -1 takes every column and ignores the names.
    assert choose(data.header, onehot.validate_parameters({"transform_col_names": ["a"]})) == [
        "a",
        "b",
        "c",
    ]


@pytest.mark.parametrize(
    ("value", "words"), [(1.5, "holds 1.5"), (np.nan, "holds nan"), (np.inf, "holds inf")]
)
def test_only_integer_values_are_encoded(value: float, words: str) -> None:
    data = small([[1.0], [value]], header=["a"])
    with pytest.raises(InvalidArgument, match=f"column 'a' {words}; one-hot encoding takes"):
        onehot.fit(data, onehot.validate_parameters({}))


def test_more_than_1024_values_are_refused() -> None:
    data = small([[v] for v in range(1025)], header=["a"])
    with pytest.raises(InvalidArgument, match="1025 values, more than the 1024"):
        onehot.fit(data, onehot.validate_parameters({}))


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"transform_col_indexes": 2}, "transform_col_indexes must be -1 or a list"),
        ({"transform_col_names": "a"}, "transform_col_names must be a list"),
        ({"need_alignment": True}, "OneHotEncoder has no parameter need_alignment"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        onehot.validate_parameters(params)


def test_the_task_saves_fates_model_and_a_predict_job_applies_it(stores: Stores) -> None:
    data = categorical(2, 50, (0, 1))
    stores.put(GUEST, "reader_0.data", data.to_table())
    stores.run(
        OneHotEncoder(),
        "one_hot_0",
        GUEST,
        {"transform_col_indexes": [1], "transform_col_names": ["a"]},
        data={"data": ["reader_0.data"]},
    )
    out = Dataset.from_table(stores.output(GUEST, "one_hot_0"))
    matrix, header = expected(data.features, data)
    assert out.header == header and np.array_equal(out.features, matrix)
    model = stores.model(GUEST, "one_hot_0")
    assert model == {
        "meta": {"transform_col_names": ["b", "a"], "header": ["a", "b", "c"], "need_run": True},
        "param": {
            "col_map": {
                "b": {
                    "values": ["-2", "-1", "0", "1", "2"],
                    "transformed_headers": ["b_-2", "b_-1", "b_0", "b_1", "b_2"],
                },
                "a": {"values": ["0", "1"], "transformed_headers": ["a_0", "a_1"]},
            },
            "result_header": header,
        },
    }
    assert stores.summary(GUEST, "one_hot_0") == {
        "original_dimension": 3,
        "transferred_dimension": 8,
    }

    # A predict job: a value the training data lacked (a = 5) encodes as zeros.
    new = small([[5, 2, 0.5], [1, -2, 0.25]], header=["a", "b", "c"])
    stores.put(GUEST, "reader_0.data", new.to_table(), job_id="predict")
    stores.run(
        OneHotEncoder(),
        "one_hot_0",
        GUEST,
        {},
        data={"data": ["reader_0.data"]},
        models=["one_hot_0.model"],
        job_id="predict",
        trained="train",
    )
    predicted = Dataset.from_table(stores.output(GUEST, "one_hot_0", job_id="predict"))
    assert predicted.header == header
    assert predicted.features.tolist() == [
        [0, 0, 0, 0, 0, 0, 1, 0.5],
        [0, 1, 1, 0, 0, 0, 0, 0.25],
    ]


# --- HomoOneHotEncoder ----------------------------------------------------------------------

CLIENTS = {GUEST: (3, 7), HOST: (7, 11, 13), HOST_B: (3,)}


def homo_data() -> dict[PartyRole, Dataset]:
    return {party: categorical(k, 40, levels) for k, (party, levels) in enumerate(CLIENTS.items())}


def test_homo_encodes_the_union_at_every_client_and_the_arbiter_reads_nothing(
    stores: Stores,
) -> None:
    data = homo_data()
    for party, dataset in data.items():
        stores.put(party, "reader_0.data", dataset.to_table())
    params = {"transform_col_indexes": [0, 1]}
    wire = stores.run_parties(
        HomoOneHotEncoder(),
        "homo_onehot_0",
        {GUEST: params, HOST: params, HOST_B: params, ARBITER: params},
        ROLES,
        data={"data": ["reader_0.data"]},
    )
    everything = np.vstack([dataset.features for dataset in data.values()])
    for party, dataset in data.items():
        out = Dataset.from_table(stores.output(party, "homo_onehot_0"))
        matrix, header = expected(everything, dataset)
        assert out.header == header and np.array_equal(out.features, matrix)
        model = stores.model(party, "homo_onehot_0")
        assert model is not None and model["param"]["result_header"] == header
        assert model["param"]["col_map"]["a"]["values"] == ["3", "7", "11", "13"]
    assert stores.model(ARBITER, "homo_onehot_0") is None

    # The arbiter got one block per distinct (column, value) pair of each client, none of them
    # in the clear, and nothing else (not the key).
    got = wire.received_by(ARBITER)
    assert {(d.name, d.src) for d in got} == {
        (homo_onehot.GUEST_COLUMNS, GUEST),
        (homo_onehot.HOST_COLUMNS, HOST),
        (homo_onehot.HOST_COLUMNS, HOST_B),
    }
    for delivery in got:
        dataset = data[delivery.src]
        pairs = {(c, int(v)) for k, c in enumerate("ab") for v in np.unique(dataset.features[:, k])}
        blocks = delivery.obj
        assert isinstance(blocks, np.ndarray) and blocks.shape == (len(pairs), 16)
        clear = {
            hashlib.sha256(c.encode()).digest()[:8] + v.to_bytes(8, "big", signed=True)
            for c, v in pairs
        }
        assert not clear & {row.tobytes() for row in blocks}
    # The hosts got the key from the guest and the union from the arbiter, nothing else.
    for host in (HOST, HOST_B):
        assert sorted((d.name, d.src.role) for d in wire.received_by(host)) == [
            (homo_onehot.ALIGNED_COLUMNS, "arbiter"),
            (homo_onehot.GROUP_KEY, "guest"),
        ]


def test_homo_without_alignment_encodes_each_client_alone(stores: Stores) -> None:
    data = homo_data()
    for party, dataset in data.items():
        stores.put(party, "reader_0.data", dataset.to_table())
    params = {"transform_col_indexes": [0, 1], "need_alignment": False}
    wire = stores.run_parties(
        HomoOneHotEncoder(),
        "homo_onehot_0",
        dict.fromkeys([GUEST, HOST, HOST_B, ARBITER], params),
        ROLES,
        data={"data": ["reader_0.data"]},
    )
    assert wire.log == []
    for party, dataset in data.items():
        out = Dataset.from_table(stores.output(party, "homo_onehot_0"))
        matrix, header = expected(dataset.features, dataset)
        assert out.header == header and np.array_equal(out.features, matrix)


def test_homo_predict_applies_the_aligned_model_and_the_arbiter_waits_for_nothing(
    stores: Stores,
) -> None:
    data = homo_data()
    for party, dataset in data.items():
        stores.put(party, "reader_0.data", dataset.to_table())
        stores.put(party, "reader_0.data", dataset.to_table(), job_id="predict")
    params = {"transform_col_indexes": [0]}
    every = dict.fromkeys([GUEST, HOST, HOST_B, ARBITER], params)
    stores.run_parties(
        HomoOneHotEncoder(), "homo_onehot_0", every, ROLES, data={"data": ["reader_0.data"]}
    )
    wire = stores.run_parties(
        HomoOneHotEncoder(),
        "homo_onehot_0",
        every,
        ROLES,
        data={"data": ["reader_0.data"]},
        models=["homo_onehot_0.model"],
        job_id="predict",
        trained="train",
    )
    assert wire.log == []
    for party in data:
        trained = stores.output(party, "homo_onehot_0")
        predicted = stores.output(party, "homo_onehot_0", job_id="predict")
        assert predicted.equals(trained)
