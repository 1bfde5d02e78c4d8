"""HeteroSecureBoost and HeteroFastSecureBoost role by role: guest and hosts in threads over the
in-memory wire (every object through the real federation codec).

Lossless: with the same parameters the federated trees are exactly the plaintext reference's
(`reference.py`: same splits, thresholds, node numbers, weights; scores to 1e-12), whatever the
encryption, packing, subtraction and shuffling in between. Then what each party may see: on
the wire, and in its saved model. Then accuracy against XGBoost, predictions, validation.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from fateflow_grpc.components.crypto import paillier
from fateflow_grpc.components.sdk.checkpoint import NO_CHECKPOINTS, Checkpoints
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.sdk.transport import Participants
from fateflow_grpc.components.tree import hetero_secureboost as sb
from fateflow_grpc.components.tree.hetero_fast_secureboost import DEFAULTS as FAST_DEFAULTS
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.tree import reference
from tests.data import fate_table

DATA = Path(__file__).resolve().parents[3] / "examples" / "data"
GUEST = PartyRole("guest", 9999)
HOST = PartyRole("host", 10000)
HOST_B = PartyRole("host", 10001)
#: A role that fails leaves the others waiting: not for long.
TIMEOUT = 60.0


def load(path: Path, *, label: str | None = "y", rows: int | None = None) -> Dataset:
    with path.open() as file:
        records = list(csv.reader(file))
    header, body = records[0], records[1 : None if rows is None else rows + 1]
    columns = [k for k, name in enumerate(header) if k and name != label]
    ids = np.asarray([r[0] for r in body], dtype=object)
    features = np.asarray([[float(r[k]) if r[k] else np.nan for k in columns] for r in body])
    labels = None if label is None else np.asarray([float(r[header.index(label)]) for r in body])
    return Dataset(ids, features, labels, [header[k] for k in columns])


def breast(rows: int | None = None) -> tuple[Dataset, Dataset]:
    return (
        load(DATA / "breast_hetero_guest.csv", rows=rows),
        load(DATA / "breast_hetero_host.csv", label=None, rows=rows),
    )


@dataclass
class Run:
    guest_model: dict[str, Any]
    table: pa.Table
    summary: dict[str, Any]
    host_models: dict[PartyRole, dict[str, Any]]
    wire: Wire

    @property
    def scores(self) -> np.ndarray:
        return np.asarray(self.table.column("predict_score").to_pylist())


def train(
    guest: Dataset,
    hosts: Mapping[PartyRole, Dataset],
    params: Mapping[str, Any],
    *,
    validate: tuple[Dataset, Mapping[PartyRole, Dataset]] | None = None,
    defaults: Mapping[str, Any] = sb.DEFAULTS,
    metrics: list[tuple[str, str, Any, Any]] | None = None,
    warm_start: Run | None = None,
    saved: dict[tuple[PartyRole, int], dict[str, Any]] | None = None,
) -> Run:
    """`saved`: every party's checkpoint of every round (ModelCheckpoint, save_freq 1)."""
    parties = Participants(GUEST, tuple(hosts))

    def checkpoints(party: PartyRole) -> Checkpoints:
        if saved is None:
            return NO_CHECKPOINTS
        return Checkpoints(1, lambda step, _, model: saved.__setitem__((party, step), model))

    wire = Wire()
    roles: dict[PartyRole, Any] = {
        GUEST: lambda t: sb.fit_guest(
            t,
            guest,
            params,
            parties,
            validate=None if validate is None else validate[0],
            warm_start=None if warm_start is None else warm_start.guest_model,
            defaults=defaults,
            log_metric=None if metrics is None else lambda *record: metrics.append(record),
            timeout=TIMEOUT,
            checkpoints=checkpoints(GUEST),
        )
    }
    for host, data in hosts.items():
        roles[host] = lambda t, host=host, data=data: sb.fit_host(
            t,
            data,
            params,
            parties,
            party=host,
            validate=None if validate is None else validate[1][host],
            warm_start=None if warm_start is None else warm_start.host_models[host],
            defaults=defaults,
            timeout=TIMEOUT,
            checkpoints=checkpoints(host),
        )
    results = run_parties(wire, roles)
    model, table, summary = results[GUEST]
    return Run(model, table, summary, {h: results[h] for h in hosts}, wire)


def predict(run: Run, guest: Dataset, hosts: Mapping[PartyRole, Dataset]) -> pa.Table:
    parties = Participants(GUEST, tuple(hosts))
    roles: dict[PartyRole, Any] = {
        GUEST: lambda t: sb.predict_guest(t, guest, run.guest_model, parties)
    }
    for host, data in hosts.items():
        roles[host] = lambda t, host=host, data=data: sb.predict_host(
            t, data, run.host_models[host], parties, party=host
        )
    return run_parties(Wire(), roles)[GUEST]


def assert_same_trees(run: Run, expected: reference.RefModel, hosts: Sequence[PartyRole]) -> None:
    """The federated trees are the reference's, node for node."""
    trees = run.guest_model["param"]["trees_"]
    assert len(trees) == len(expected.trees)
    for t, (tree, nodes) in enumerate(zip(trees, expected.trees, strict=True)):
        assert len(tree["tree_"]) == len(nodes), f"tree {t}"
        for node, ref in zip(tree["tree_"], nodes, strict=True):
            where = f"tree {t} node {ref.id}"
            assert node["id"] == ref.id and node["is_leaf"] == ref.leaf, where
            assert node["weight"] == pytest.approx(ref.weight, rel=1e-12, abs=1e-15), where
            if ref.leaf:
                continue
            assert (node["left_nodeid"], node["right_nodeid"]) == (ref.left, ref.right), where
            if ref.party == 0:
                owner = tree
                assert node["sitename"] == f"guest:{GUEST.party_id}", where
            else:
                host = hosts[ref.party - 1]
                assert node["sitename"] == f"host:{host.party_id}", where
                owner = run.host_models[host]["param"]["trees_"][t]
            owned = owner["tree_"][ref.id]
            assert owned["fid"] == ref.fid, where
            assert owner["split_maskdict"][str(ref.id)] == ref.threshold, where
            assert owner["missing_dir_maskdict"][str(ref.id)] == ref.missing_dir, where


# --- lossless -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def breast_run() -> Run:
    guest, host = breast()
    return train(guest, {HOST: host}, {"num_trees": 5, "tree_param": {"max_depth": 3}})


def test_breast_trees_are_the_plaintext_reference_trees(breast_run: Run) -> None:
    guest, host = breast()
    assert guest.labels is not None
    expected = reference.fit([guest.features, host.features], guest.labels, tol=1e-4)
    assert_same_trees(breast_run, expected, [HOST])
    probabilities = reference.sigmoid(expected.scores[:, 0])
    assert np.max(np.abs(breast_run.scores - probabilities)) < 1e-12
    assert breast_run.guest_model["param"]["losses"] == pytest.approx(expected.losses, rel=1e-12)
    # Both parties' features were used: the test is about the federation, not one side.
    sites = {n["sitename"] for t in breast_run.guest_model["param"]["trees_"] for n in t["tree_"]}
    assert sites == {"guest:9999", "host:10000"}


@pytest.mark.slow
def test_missing_values_two_hosts_and_regularisation_are_lossless() -> None:
    guest, host = breast(rows=240)
    rng = np.random.default_rng(7)
    blocks = []
    for data in (guest, host):
        features = data.features.copy()
        features[rng.random(features.shape) < 0.1] = np.nan
        blocks.append(features)
    guest = replace(guest, features=blocks[0])
    # The host's 20 features over two hosts.
    host_a = replace(host, features=blocks[1][:, :12], header=host.header[:12])
    host_b = replace(host, features=blocks[1][:, 12:], header=host.header[12:])
    params = {
        "num_trees": 3,
        "use_missing": True,
        "bin_num": 16,
        "tree_param": {
            "max_depth": 3,
            "criterion_params": [0.5, 0.05],
            "min_leaf_node": 3,
            "min_child_weight": 0.2,
        },
    }
    run = train(guest, {HOST: host_a, HOST_B: host_b}, params)
    assert guest.labels is not None
    expected = reference.fit(
        [guest.features, host_a.features, host_b.features],
        guest.labels,
        num_trees=3,
        bin_num=16,
        l2=0.5,
        l1=0.05,
        min_leaf_node=3,
        min_child_weight=0.2,
        use_missing=True,
        tol=1e-4,
    )
    assert_same_trees(run, expected, [HOST, HOST_B])
    assert np.max(np.abs(run.scores - reference.sigmoid(expected.scores[:, 0]))) < 1e-12
    directions = {
        d for m in run.host_models.values() for t in m["param"]["trees_"]
        for d in t["missing_dir_maskdict"].values()
    }  # fmt: skip
    assert directions, "no host split at all"
    # Prediction asks each host about its own splits only, and gives the training scores.
    table = predict(run, guest, {HOST: host_a, HOST_B: host_b})
    assert np.max(np.abs(np.asarray(table.column("predict_score").to_pylist()) - run.scores)) == 0


@pytest.mark.slow
def test_multi_class_grows_a_tree_per_class_and_is_lossless() -> None:
    guest = load(fate_table("vehicle_scale_hetero_guest.csv"), rows=300)
    host = load(fate_table("vehicle_scale_hetero_host.csv"), label=None, rows=300)
    params = {"num_trees": 2, "tree_param": {"max_depth": 2}}
    run = train(guest, {HOST: host}, params)
    assert guest.labels is not None
    expected = reference.fit(
        [guest.features, host.features], guest.labels, task="multi", num_trees=2, max_depth=2
    )
    assert run.guest_model["param"]["tree_dim"] == 4
    assert len(run.guest_model["param"]["trees_"]) == 8
    assert_same_trees(run, expected, [HOST])
    probabilities = reference.softmax(expected.scores)
    details = [json.loads(d) for d in run.table.column("predict_detail").to_pylist()]
    assert set(details[0]) == {"0", "1", "2", "3"}
    got = np.asarray([[d[c] for c in ("0", "1", "2", "3")] for d in details])
    assert np.max(np.abs(got - probabilities)) < 1e-6  # the detail is rounded to 6 places
    results = np.asarray(run.table.column("predict_result").to_pylist())
    assert np.array_equal(results, probabilities.argmax(axis=1))


def regression_table(rows: int = 300) -> tuple[Dataset, Dataset]:
    """A regression the tests make: y = 3 sin(x0) + x1 x2 - |x3| + noise, features split."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(rows, 6))
    y = 3 * np.sin(x[:, 0]) + x[:, 1] * x[:, 2] - np.abs(x[:, 3]) + 0.1 * rng.normal(size=rows)
    ids = np.asarray([str(i) for i in range(rows)], dtype=object)
    return (
        Dataset(ids, x[:, :3], y, ["a0", "a1", "a2"]),
        Dataset(ids, x[:, 3:], None, ["b0", "b1", "b2"]),
    )


def test_regression_is_lossless() -> None:
    guest, host = regression_table()
    params = {
        "task_type": "regression",
        "objective_param": {"objective": "lse"},
        "num_trees": 3,
        "learning_rate": 0.2,
    }
    run = train(guest, {HOST: host}, params)
    assert guest.labels is not None
    expected = reference.fit(
        [guest.features, host.features], guest.labels, task="lse", num_trees=3, learning_rate=0.2
    )
    assert_same_trees(run, expected, [HOST])
    assert run.guest_model["param"]["init_score"] == [pytest.approx(float(guest.labels.mean()))]
    assert np.max(np.abs(run.scores - expected.scores[:, 0])) < 1e-12
    detail = json.loads(run.table.column("predict_detail")[0].as_py())
    assert detail == {"label": pytest.approx(run.scores[0])}


@pytest.mark.parametrize(
    ("params", "levels", "depths"),
    [
        # complete_secure: the first tree from the guest's features only.
        ({"complete_secure": True}, lambda r, d: [0] if r == 0 else [0, 1], None),
        # mix: trees alternately the guest's and the host's.
        ({"work_mode": "mix"}, lambda r, d: [r % 2], None),
        # layered: the host's features for the first host_depth levels, then the guest's.
        (
            {"work_mode": "layered", "host_depth": 2, "guest_depth": 1},
            lambda r, d: [1] if d < 2 else [0],
            lambda r: 3,
        ),
    ],
)
def test_fast_strategies_and_options_are_lossless(
    params: dict[str, Any], levels: Any, depths: Any
) -> None:
    guest, host = breast(rows=200)
    run = train(
        guest,
        {HOST: host},
        {"num_trees": 3, "tree_param": {"max_depth": 3}, **params},
        defaults=FAST_DEFAULTS if "work_mode" in params else sb.DEFAULTS,
    )
    assert guest.labels is not None
    expected = reference.fit(
        [guest.features, host.features],
        guest.labels,
        num_trees=3,
        parties_per_level=levels,
        depth_of_tree=depths,
        tol=1e-4,
    )
    assert_same_trees(run, expected, [HOST])
    if "work_mode" in params:
        plan = run.guest_model["param"]["tree_plan"]
        assert plan == run.host_models[HOST]["param"]["tree_plan"] and len(plan) == 3
        assert run.guest_model["param"]["model_name"] == f"hetero_fast_sbt_{params['work_mode']}"


def test_without_packing_the_trees_are_the_same() -> None:
    """cipher_compress off: a ciphertext per g, per h and per sum (slow: small data)."""
    guest, host = breast(rows=120)
    host = replace(host, features=host.features[:, :4], header=host.header[:4])
    params = {
        "num_trees": 2,
        "bin_num": 8,
        "cipher_compress": False,
        "tree_param": {"max_depth": 2},
    }
    run = train(guest, {HOST: host}, params)
    assert guest.labels is not None
    expected = reference.fit(
        [guest.features, host.features], guest.labels, num_trees=2, max_depth=2, bin_num=8
    )
    assert_same_trees(run, expected, [HOST])
    (gradients,) = [d.obj for d in run.wire.received_by(HOST) if d.name == sb.ENCRYPTED_GH][:1]
    assert isinstance(gradients, np.ndarray) and len(gradients) == 2 * 120


def test_trees_of_the_guest_alone_send_nothing_encrypted() -> None:
    guest, host = breast(rows=150)
    run = train(guest, {HOST: host}, {"num_trees": 2, "work_mode": "mix"}, defaults=FAST_DEFAULTS)
    received = [d.name for d in run.wire.received_by(HOST)]
    # Tree 0 is the guest's: no gradients for it; tree 1 is the host's.
    gradients = [d.tag for d in run.wire.received_by(HOST) if d.name == sb.ENCRYPTED_GH]
    assert gradients == ["fit.1.0"]
    assert sb.TREE in received


# --- what each party sees --------------------------------------------------------------------


def _leaves(obj: object) -> list[object]:
    if isinstance(obj, Mapping):
        return [leaf for value in obj.values() for leaf in _leaves(value)]
    if isinstance(obj, list):
        return [leaf for value in obj for leaf in _leaves(value)]
    return [obj]


def test_the_host_receives_only_ciphertexts_ids_and_node_numbers(breast_run: Run) -> None:
    width = (1024 * 2 + 7) // 8
    seen = set()
    for delivery in breast_run.wire.received_by(HOST):
        seen.add(delivery.name)
        obj = delivery.obj
        if isinstance(obj, np.ndarray):
            # Ciphertexts as rows of bytes, node numbers and positions as integers: no float.
            assert obj.dtype.kind in "iub", delivery.name
            if obj.dtype == np.uint8:
                assert delivery.name == sb.ENCRYPTED_GH and obj.shape[1] == width
        else:
            for leaf in _leaves(obj):
                assert not isinstance(leaf, float), (delivery.name, leaf)
                if isinstance(leaf, str):  # ids, and sitenames of the trees' shape
                    assert delivery.name in (sb.SAMPLE_IDS, sb.TREE), delivery.name
    assert sb.ENCRYPTED_GH in seen and sb.BEST_SPLITINFO in seen


def test_the_guest_receives_only_encrypted_sums_and_split_decisions(breast_run: Run) -> None:
    host_thresholds = {
        v
        for t in breast_run.host_models[HOST]["param"]["trees_"]
        for v in t["split_maskdict"].values()
    }
    for delivery in breast_run.wire.received_by(GUEST):
        obj = delivery.obj
        assert isinstance(obj, np.ndarray | dict), delivery.name
        if isinstance(obj, np.ndarray):
            assert obj.dtype.kind in "ub", delivery.name  # ciphertext rows, booleans
            if obj.dtype == np.uint8:
                assert delivery.name == sb.ENCRYPTED_SPLITINFO
        else:  # the host's feature importance: split counts of anonymous features
            assert delivery.name == sb.HOST_FEATURE_IMPORTANCE
            assert not host_thresholds & set(obj.values())


def test_a_host_model_holds_nothing_of_the_guests_and_the_guests_no_host_threshold(
    breast_run: Run,
) -> None:
    guest_model, host_model = breast_run.guest_model, breast_run.host_models[HOST]
    guest_values = {
        v for t in guest_model["param"]["trees_"] for v in t["split_maskdict"].values()
    } | {n["weight"] for t in guest_model["param"]["trees_"] for n in t["tree_"]}
    guest_values |= set(guest_model["param"]["init_score"]) | set(guest_model["param"]["losses"])
    guest_values.discard(0.0)
    host_text = json.dumps(host_model)
    host_numbers = {v for v in _leaves(json.loads(host_text)) if isinstance(v, float)}
    assert not guest_values & host_numbers
    assert all(n["weight"] == 0 for t in host_model["param"]["trees_"] for n in t["tree_"])
    assert "init_score" not in host_model["param"] and "losses" not in host_model["param"]
    host_thresholds = {
        v for t in host_model["param"]["trees_"] for v in t["split_maskdict"].values()
    }
    assert host_thresholds, "the host split nothing"
    guest_numbers = {v for v in _leaves(guest_model) if isinstance(v, float)}
    assert not host_thresholds & guest_numbers
    # The guest's view of a host split: who owns it, not which feature.
    host_nodes = [
        n
        for t in guest_model["param"]["trees_"]
        for n in t["tree_"]
        if n["sitename"] == "host:10000"
    ]
    assert host_nodes and all(n["fid"] == -1 and n["bid"] == 0 for n in host_nodes)


# --- accuracy, predictions, outputs ----------------------------------------------------------


def test_auc_on_breast_is_xgboost_hist_within_0_005(breast_run: Run) -> None:
    xgboost = pytest.importorskip("xgboost")
    metrics = pytest.importorskip("sklearn.metrics")
    guest, host = breast()
    features = np.hstack([guest.features, host.features])
    booster = xgboost.XGBClassifier(
        tree_method="hist",
        n_estimators=5,
        max_depth=3,
        learning_rate=0.3,
        max_bin=32,
        reg_lambda=0.1,
        min_child_weight=0,
        base_score=0.5,
    )
    booster.fit(features, guest.labels)
    theirs = metrics.roc_auc_score(guest.labels, booster.predict_proba(features)[:, 1])
    ours = metrics.roc_auc_score(guest.labels, breast_run.scores)
    assert ours >= 0.99
    assert abs(ours - theirs) < 0.005


def test_predict_gives_the_training_scores(breast_run: Run) -> None:
    guest, host = breast()
    # Rows in another order at each party: predictions follow the ids.
    order = np.random.default_rng(3).permutation(len(guest.ids))
    shuffled = Dataset(host.ids[order], host.features[order], None, host.header)
    table = predict(breast_run, guest, {HOST: shuffled})
    assert table.column("type").to_pylist() == ["predict"] * len(guest.ids)
    assert table.column(0).to_pylist() == breast_run.table.column(0).to_pylist()
    scores = np.asarray(table.column("predict_score").to_pylist())
    assert np.max(np.abs(scores - breast_run.scores)) == 0  # the same additions, in order
    # One batch per level and host, not one per instance.
    batches = [d for d in breast_run.wire.received_by(HOST) if d.name == sb.GUEST_PREDICT_DATA]
    assert not batches  # training needs no prediction exchange
    wire = Wire()
    parties = Participants(GUEST, (HOST,))
    run_parties(
        wire,
        {
            GUEST: lambda t: sb.predict_guest(t, guest, breast_run.guest_model, parties),
            HOST: lambda t: sb.predict_host(t, shuffled, breast_run.host_models[HOST], parties),
        },
    )
    asked = [d for d in wire.received_by(HOST) if d.name == sb.GUEST_PREDICT_DATA]
    assert 1 <= len(asked) <= 3  # depth 3


def test_the_model_has_fates_fields(breast_run: Run) -> None:
    meta, param = breast_run.guest_model["meta"], breast_run.guest_model["param"]
    assert meta["tree_meta"]["max_depth"] == 3 and meta["num_trees"] == 5
    assert meta["objective_meta"] == {"objective": "cross_entropy", "param": []}
    assert param["tree_dim"] == 1 and param["num_classes"] == 2 and param["classes_"] == ["0", "1"]
    assert param["model_name"] == "hetero_sbt" and param["tree_num"] == len(param["trees_"])
    names = {r["fullname"] for r in param["feature_importances"]}
    assert any(name.startswith("host_10000_") for name in names)
    assert names - {n for n in names if n.startswith("host_")} <= set(breast()[0].header)
    assert set(breast_run.summary) >= {"loss_history", "feature_importance", "best_iteration"}


@pytest.mark.slow
def test_validation_scores_rounds_and_stops_early() -> None:
    guest, host = breast(rows=300)
    train_rows, valid_rows = np.arange(200), np.arange(200, 300)
    metrics: list[tuple[str, str, Any, Any]] = []
    params = {
        "num_trees": 8,
        "n_iter_no_change": False,
        "validation_freqs": 1,
        "early_stopping_rounds": 2,
        "tree_param": {"max_depth": 2},
    }
    run = train(
        guest.take(train_rows),
        {HOST: host.take(train_rows)},
        params,
        validate=(guest.take(valid_rows), {HOST: host.take(valid_rows)}),
        metrics=metrics,
    )
    names = {(namespace, name) for namespace, name, _, _ in metrics}
    assert ("validate", "iteration_0") in names and ("train", "iteration_0") in names
    kinds = run.table.column("type").to_pylist()
    assert kinds.count("train") == 200 and kinds.count("validate") == 100
    summary = run.summary
    assert set(summary["validation_metrics"]) == {"auc", "ks"}
    best = summary["best_iteration"]
    kept = len(run.guest_model["param"]["trees_"])
    if len(summary["validation_metrics"]["auc"]) < 8:  # stopped early: the best round's model
        assert kept == best + 1
        assert len(run.host_models[HOST]["param"]["trees_"]) == kept


@pytest.mark.slow
def test_sample_weights_weigh_g_h_and_the_loss() -> None:
    """A weight column (FATE's SampleWeight) multiplies each instance's g and h."""
    guest, host = breast(rows=200)
    weights = np.random.default_rng(2).uniform(0.2, 3.0, size=200)
    run = train(replace(guest, weights=weights), {HOST: host}, {"num_trees": 3})
    assert guest.labels is not None
    expected = reference.fit(
        [guest.features, host.features], guest.labels, num_trees=3, tol=1e-4, weights=weights
    )
    assert_same_trees(run, expected, [HOST])
    assert run.guest_model["param"]["losses"] == pytest.approx(expected.losses, rel=1e-12)
    unweighted = reference.fit([guest.features, host.features], guest.labels, num_trees=3)
    assert expected.trees != unweighted.trees  # the weights made a difference


@pytest.mark.slow
def test_a_warm_start_goes_on_as_if_never_stopped() -> None:
    guest, host = breast(rows=200)
    params = {"n_iter_no_change": False, "tree_param": {"max_depth": 2}}
    whole = train(guest, {HOST: host}, {**params, "num_trees": 4})
    first = train(guest, {HOST: host}, {**params, "num_trees": 2})
    then = train(guest, {HOST: host}, {**params, "num_trees": 2}, warm_start=first)
    assert then.guest_model["param"]["trees_"] == whole.guest_model["param"]["trees_"]
    assert then.host_models[HOST]["param"]["trees_"] == whole.host_models[HOST]["param"]["trees_"]
    assert then.guest_model["param"]["losses"] == whole.guest_model["param"]["losses"]
    assert then.guest_model["meta"]["num_trees"] == 4
    assert np.array_equal(then.scores, whole.scores)


def test_checkpoints_are_each_rounds_model_and_a_warm_start_goes_on_from_one() -> None:
    """ModelCheckpoint: each party keeps its model after every round; a later job warm
    started from the checkpoints of round 1 grows the trees the uninterrupted run grew."""
    guest, host = breast(rows=100)
    params = {"n_iter_no_change": False, "tree_param": {"max_depth": 2}}
    saved: dict[tuple[PartyRole, int], dict[str, Any]] = {}
    whole = train(guest, {HOST: host}, {**params, "num_trees": 3}, saved=saved)
    assert set(saved) == {(party, step) for party in (GUEST, HOST) for step in range(3)}
    for party, final in ((GUEST, whole.guest_model), (HOST, whole.host_models[HOST])):
        for step in range(3):
            trees = saved[party, step]["param"]["trees_"]
            assert trees == final["param"]["trees_"][: step + 1]
    assert saved[GUEST, 1]["param"]["losses"] == whole.guest_model["param"]["losses"][:2]
    first = Run(saved[GUEST, 1], whole.table, {}, {HOST: saved[HOST, 1]}, Wire())
    then = train(guest, {HOST: host}, {**params, "num_trees": 1}, warm_start=first)
    assert then.guest_model["param"]["trees_"] == whole.guest_model["param"]["trees_"]
    assert then.host_models[HOST]["param"]["trees_"] == whole.host_models[HOST]["param"]["trees_"]
    assert np.array_equal(then.scores, whole.scores)


# --- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"task_type": "ranking"}, "task_type"),
        ({"objective_param": {"objective": "lse"}}, "objective"),
        ({"task_type": "regression", "objective_param": {"objective": "huber"}}, "params"),
        ({"tree_param": {"max_depth": 0}}, "tree_param.max_depth"),
        ({"bin_num": 1}, "bin_num"),
        ({"encrypt_param": {"method": "RSA"}}, "encrypt_param.method"),
        ({"encrypt_param": {"key_length": 512}}, "key_length"),
        ({"cv_param": {"need_cv": True, "n_splits": 1}}, "cv_param.n_splits"),
        ({"run_goss": True}, "run_goss"),
        ({"EINI_inference": True}, "EINI_inference"),
        ({"multi_mode": "multi_output"}, "multi_mode"),
        ({"boosting_strategy": "random"}, "boosting_strategy"),
        ({"early_stopping_rounds": 2}, "validation_freqs"),
        (
            {"validation_freqs": 1, "callback_param": {"callbacks": ["EarlyStopping"]}},
            "validation_freqs",
        ),
        ({"callback_param": {"callbacks": ["ModelCheckpoint"], "save_freq": 0}}, "save_freq"),
        ({"encrypted_mode_calculator_param": {"mode": "fast"}}, "mode"),
        ({"no_such": 1}, "no_such"),
    ],
)
def test_bad_parameters_are_refused_by_name(params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidArgument, match=words):
        sb.read_settings(params)


def test_fates_example_parameters_are_accepted() -> None:
    # From FATE's examples/dsl/v2/hetero_secureboost and hetero_fast_secureboost (1.5 - 1.11).
    for params in (
        {
            "task_type": "classification",
            "objective_param": {"objective": "cross_entropy"},
            "num_trees": 3,
            "validation_freqs": 1,
            "encrypt_param": {"method": "paillier", "key_length": 1024},
            "tree_param": {"max_depth": 3, "criterion_params": [0.5, 0]},
            "use_missing": True,
            "complete_secure": True,
            "cipher_compress": False,
            "cipher_compress_error": 8,
        },
        {"callback_param": {"callbacks": ["PerformanceEvaluate"], "validation_freqs": 1}},
        {"boosting_strategy": "layered", "complete_secure": 1},
        {"task_type": "regression", "objective_param": {"objective": "lse"}},
    ):
        sb.read_settings(params)
    assert sb.read_settings({"encrypt_param": {"method": "iterativeAffine"}}).substitute
    fast = sb.read_settings(
        {"work_mode": "layered", "guest_depth": 1, "host_depth": 2}, defaults=FAST_DEFAULTS
    )
    assert (fast.strategy, fast.guest_depth, fast.host_depth) == ("layered", 1, 2)
    assert sb.read_settings({}, defaults=FAST_DEFAULTS).strategy == "mix"
    assert (
        sb.read_settings({"boosting_strategy": "layered"}, defaults=FAST_DEFAULTS).strategy
        == "layered"
    )
    assert sb.read_settings({}).strategy == "std"


def test_layered_needs_one_host() -> None:
    guest, _ = breast(rows=50)
    with pytest.raises(InvalidArgument, match="one host"):
        sb.fit_guest(
            Wire().transport(GUEST),
            guest,
            {"boosting_strategy": "layered"},
            Participants(GUEST, (HOST, HOST_B)),
        )


def test_packed_sums_decode_signed_values() -> None:
    key, private = paillier.generate_keypair(1024)
    packing = sb.Packing.of(1000)
    values = [(-(2**25) + 3, 2**20 - 1), (5, -7), (0, 0), (2**25, 17)]
    plaintexts = [(g << packing.field) + h for g, h in values]
    packed = paillier.pack(key, key.encrypt_ints(plaintexts), packing.width)
    (plain,) = private.decrypt_ints(key.rerandomize(packed))
    slots = paillier.unpack(plain, packing.width, len(values))
    assert [packing.unpack(s) for s in slots] == values
