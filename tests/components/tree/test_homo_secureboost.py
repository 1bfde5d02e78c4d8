"""HomoSecureBoost role by role: clients and the arbiter in threads over the in-memory wire.

Lossless: the federated trees are the plaintext reference's (`reference.py`) grown on the
clients' rows pooled, split points included: the arbiter's quantile search over summed counts
finds the pooled table's exact quantiles. The arbiter receives masked vectors only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.sdk.checkpoint import NO_CHECKPOINTS, Checkpoints
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.components.tree import homo_secureboost as homo
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.tree import reference
from tests.components.tree.test_hetero_secureboost import DATA, load
from tests.data import fate_table

GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
ARBITER = PartyRole("arbiter", 10001)
#: A role that fails leaves the others waiting: not for long.
TIMEOUT = 60.0


@dataclass
class Run:
    models: dict[PartyRole, dict[str, Any]]
    tables: dict[PartyRole, pa.Table]
    summaries: dict[PartyRole, dict[str, Any]]
    arbiter: dict[str, Any]
    wire: Wire


def train(
    clients: Mapping[PartyRole, Dataset],
    params: Mapping[str, Any],
    warm_start: Run | None = None,
    saved: dict[tuple[PartyRole, int], dict[str, Any]] | None = None,
    **validate: Dataset,
) -> Run:
    """`saved`: every party's checkpoint of every round (ModelCheckpoint, save_freq 1)."""
    parties = Participants(GUEST, tuple(c for c in clients if c != GUEST), ARBITER)

    def checkpoints(party: PartyRole) -> Checkpoints:
        if saved is None:
            return NO_CHECKPOINTS
        return Checkpoints(1, lambda step, _, model: saved.__setitem__((party, step), model))

    roles: dict[PartyRole, Any] = {
        ARBITER: lambda t: homo.fit_arbiter(
            t,
            params,
            parties,
            warm_start=None if warm_start is None else warm_start.arbiter,
            timeout=TIMEOUT,
            checkpoints=checkpoints(ARBITER),
        ),
    }
    for party, data in clients.items():
        roles[party] = lambda t, party=party, data=data: homo.fit_client(
            t,
            data,
            params,
            parties,
            party=party,
            validate=validate.get(party.role),
            warm_start=None if warm_start is None else warm_start.models[party],
            timeout=TIMEOUT,
            checkpoints=checkpoints(party),
        )
    wire = Wire()
    results = run_parties(wire, roles)
    return Run(
        {p: results[p][0] for p in clients},
        {p: results[p][1] for p in clients},
        {p: results[p][2] for p in clients},
        results[ARBITER],
        wire,
    )


def pooled(clients: Mapping[PartyRole, Dataset]) -> tuple[np.ndarray, np.ndarray]:
    features = np.vstack([d.features for d in clients.values()])
    labels = np.concatenate([d.labels for d in clients.values() if d.labels is not None])
    return features, labels


def assert_same_trees(run: Run, expected: reference.RefModel) -> None:
    for party, model in run.models.items():
        trees = model["param"]["trees_"]
        assert len(trees) == len(expected.trees), party
        for t, (tree, nodes) in enumerate(zip(trees, expected.trees, strict=True)):
            assert len(tree["tree_"]) == len(nodes), f"tree {t}"
            for node, ref in zip(tree["tree_"], nodes, strict=True):
                where = f"{party.role} tree {t} node {ref.id}"
                assert node["is_leaf"] == ref.leaf, where
                assert node["weight"] == pytest.approx(ref.weight, rel=1e-12, abs=1e-15), where
                assert node["sitename"] == party.role
                if not ref.leaf:
                    assert (node["fid"], node["bid"], node["missing_dir"]) == (
                        ref.fid,
                        ref.threshold,
                        ref.missing_dir,
                    ), where
                    assert (node["left_nodeid"], node["right_nodeid"]) == (ref.left, ref.right)


@pytest.fixture(scope="module")
def breast_run() -> Run:
    clients = {
        GUEST: load(DATA / "breast_homo_guest.csv"),
        HOST: load(DATA / "breast_homo_host.csv"),
    }
    return train(clients, {"num_trees": 5, "tree_param": {"max_depth": 3}})


def test_breast_trees_are_the_pooled_reference_trees(breast_run: Run) -> None:
    clients = {
        GUEST: load(DATA / "breast_homo_guest.csv"),
        HOST: load(DATA / "breast_homo_host.csv"),
    }
    features, labels = pooled(clients)
    expected = reference.fit([features], labels, tol=1e-4)
    assert_same_trees(breast_run, expected)
    probabilities = reference.sigmoid(expected.scores[:, 0])
    start = 0
    for party, data in clients.items():
        scores = np.asarray(breast_run.tables[party].column("predict_score").to_pylist())
        assert np.max(np.abs(scores - probabilities[start : start + len(data.ids)])) < 1e-12
        start += len(data.ids)
    assert breast_run.arbiter["param"]["losses"] == pytest.approx(expected.losses, abs=1e-6)
    # Every client has the same model, its own role for the sitename.
    guest_trees = str(breast_run.models[GUEST]["param"]["trees_"]).replace("'guest'", "'host'")
    assert guest_trees == str(breast_run.models[HOST]["param"]["trees_"])


def test_the_arbiter_receives_masked_sums_and_keys_only(breast_run: Run) -> None:
    for delivery in breast_run.wire.received_by(ARBITER):
        if delivery.name == homo.DH_PUBKEY:  # a public key, the column count and digest
            assert isinstance(delivery.obj, dict) and set(delivery.obj) == {
                "public_key",
                "features",
                "header",
            }
        else:
            assert isinstance(delivery.obj, np.ndarray) and delivery.obj.dtype == np.uint64


def test_multi_class_and_missing_values_are_lossless() -> None:
    clients = {
        GUEST: load(fate_table("vehicle_scale_homo_guest.csv"), rows=200),
        HOST: load(fate_table("vehicle_scale_homo_host.csv"), rows=200),
    }
    rng = np.random.default_rng(5)
    for party, data in clients.items():
        features = data.features.copy()
        features[rng.random(features.shape) < 0.05] = np.nan
        clients[party] = replace(data, features=features)
    params = {"num_trees": 2, "use_missing": True, "bin_num": 16, "tree_param": {"max_depth": 2}}
    run = train(clients, params)
    features, labels = pooled(clients)
    expected = reference.fit(
        [features], labels, task="multi", num_trees=2, max_depth=2, bin_num=16, use_missing=True
    )
    assert_same_trees(run, expected)


def test_regression_with_the_median_is_lossless() -> None:
    rng = np.random.default_rng(9)
    rows = 240
    x = rng.normal(size=(rows, 4))
    y = 2 * x[:, 0] - x[:, 1] ** 2 + rng.normal(size=rows)
    ids = np.asarray([str(i) for i in range(rows)], dtype=object)
    header = [f"x{i}" for i in range(4)]
    clients = {
        GUEST: Dataset(ids[:100], x[:100], y[:100], header),
        HOST: Dataset(ids[100:], x[100:], y[100:], header),
    }
    params = {
        "task_type": "regression",
        "objective_param": {"objective": "lse"},
        "num_trees": 3,
        "n_iter_no_change": False,
    }
    run = train(clients, params)
    expected = reference.fit([x], y, task="lse", num_trees=3)
    assert_same_trees(run, expected)
    assert run.models[GUEST]["param"]["init_score"] == [pytest.approx(y.mean())]
    lae = train(clients, {**params, "objective_param": {"objective": "lae"}, "num_trees": 1})
    assert lae.models[HOST]["param"]["init_score"] == [np.median(y)]


def test_predict_gives_the_training_scores(breast_run: Run) -> None:
    data = load(DATA / "breast_homo_host.csv")
    table = homo.predict(breast_run.models[HOST], data)
    trained = np.asarray(breast_run.tables[HOST].column("predict_score").to_pylist())
    assert np.max(np.abs(np.asarray(table.column("predict_score").to_pylist()) - trained)) == 0
    metrics = pytest.importorskip("sklearn.metrics")
    assert data.labels is not None
    assert metrics.roc_auc_score(data.labels, trained) >= 0.99


def test_float_keys_order_the_floats() -> None:
    values = np.asarray([-np.inf, -1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, np.inf])
    keys = homo.float_keys(values)
    assert list(np.argsort(keys, kind="stable")) == list(range(len(values)))
    assert [homo.key_float(int(k)) for k in keys] == values.tolist()


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (
            {
                "callback_param": {
                    "callbacks": ["EarlyStopping"],
                    "validation_freqs": 1,
                    "early_stopping_rounds": 2,
                }
            },
            "early_stopping",
        ),
        ({"backend": "gpu"}, "backend"),
        ({"early_stopping_rounds": 2}, "early_stopping_rounds"),
        ({"encrypt_param": {}}, "encrypt_param"),
    ],
)
def test_bad_parameters_are_refused(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        homo.read_settings(params)


def test_each_client_validates_on_its_own_data() -> None:
    guest, host = load(DATA / "breast_homo_guest.csv"), load(DATA / "breast_homo_host.csv")
    train_rows = {GUEST: np.arange(150), HOST: np.arange(250)}
    clients = {GUEST: guest.take(train_rows[GUEST]), HOST: host.take(train_rows[HOST])}
    validate = {
        GUEST: guest.take(np.arange(150, len(guest.ids))),
        HOST: host.take(np.arange(250, len(host.ids))),
    }
    params = {"num_trees": 3, "validation_freqs": 1, "n_iter_no_change": False}
    run = train(clients, params, **{party.role: data for party, data in validate.items()})
    for party in clients:
        kinds = run.tables[party].column("type").to_pylist()
        assert kinds.count("validate") == len(validate[party].ids)
        assert len(run.summaries[party]["validation_metrics"]["auc"]) == 3


@pytest.mark.slow
def test_a_warm_start_goes_on_as_if_never_stopped() -> None:
    clients = {
        GUEST: load(DATA / "breast_homo_guest.csv"),
        HOST: load(DATA / "breast_homo_host.csv"),
    }
    params = {"n_iter_no_change": False, "tree_param": {"max_depth": 2}}
    whole = train(clients, {**params, "num_trees": 4})
    first = train(clients, {**params, "num_trees": 2})
    then = train(clients, {**params, "num_trees": 2}, warm_start=first)
    for party in clients:
        assert then.models[party]["param"]["trees_"] == whole.models[party]["param"]["trees_"]
        assert then.tables[party].equals(whole.tables[party])
    assert then.arbiter["param"]["losses"] == whole.arbiter["param"]["losses"]


def test_checkpoints_are_each_rounds_model_and_a_warm_start_goes_on_from_one() -> None:
    clients = {
        GUEST: load(DATA / "breast_homo_guest.csv"),
        HOST: load(DATA / "breast_homo_host.csv"),
    }
    params = {"n_iter_no_change": False, "tree_param": {"max_depth": 2}}
    saved: dict[tuple[PartyRole, int], dict[str, Any]] = {}
    whole = train(clients, {**params, "num_trees": 3}, saved=saved)
    assert set(saved) == {(p, step) for p in (GUEST, HOST, ARBITER) for step in range(3)}
    for step in range(3):
        for party in clients:
            trees = saved[party, step]["param"]["trees_"]
            assert trees == whole.models[party]["param"]["trees_"][: step + 1]
        losses = saved[ARBITER, step]["param"]["losses"]
        assert losses == whole.arbiter["param"]["losses"][: step + 1]
    first = Run({party: saved[party, 1] for party in clients}, {}, {}, saved[ARBITER, 1], Wire())
    then = train(clients, {**params, "num_trees": 1}, warm_start=first)
    for party in clients:
        assert then.models[party]["param"]["trees_"] == whole.models[party]["param"]["trees_"]
    assert then.arbiter["param"]["losses"] == whole.arbiter["param"]["losses"]


def test_sample_weights_weigh_every_clients_g_h_and_the_loss() -> None:
    rng = np.random.default_rng(4)
    clients = {
        GUEST: load(DATA / "breast_homo_guest.csv"),
        HOST: load(DATA / "breast_homo_host.csv"),
    }
    clients = {p: replace(d, weights=rng.uniform(0.2, 3.0, len(d.ids))) for p, d in clients.items()}
    run = train(clients, {"num_trees": 2, "n_iter_no_change": False})
    features, labels = pooled(clients)
    weights = np.concatenate([d.weights for d in clients.values() if d.weights is not None])
    expected = reference.fit([features], labels, num_trees=2, weights=weights)
    assert_same_trees(run, expected)
    assert run.arbiter["param"]["losses"] == pytest.approx(expected.losses, abs=1e-6)
