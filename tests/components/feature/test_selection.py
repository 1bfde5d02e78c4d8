"""HeteroFeatureSelection after a real HeteroFeatureBinning and DataStatistics: each filter
against the same rule applied here to the models' values, and who learns what."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from fateflow_grpc.components.feature import hetero_binning, selection
from fateflow_grpc.components.sdk.context import Dataset
from fateflow_grpc.components.sdk.testing import Wire, run_parties
from fateflow_grpc.components.statistics import data_statistics, pearson
from fateflow_grpc.domain.parties import PartyRole
from fateflow_grpc.errors import InvalidArgument
from tests.components.feature.test_hetero_binning import GUEST, HOST, PARTIES, load
from tests.components.tree.test_hetero_secureboost import train as train_secureboost


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    guest, host = load("breast_hetero_guest.csv", True), load("breast_hetero_host.csv", False)
    params = hetero_binning.validate_parameters({"bin_num": 8})
    results = run_parties(
        Wire(),
        {
            GUEST: lambda t: hetero_binning.fit_guest(t, guest, params, PARTIES, timeout=60),
            HOST: lambda t: hetero_binning.fit_host(
                t, host, params, PARTIES, local=HOST, timeout=60
            ),
        },
    )
    stats = data_statistics.validate_parameters({"statistics": ["95%", "variance"]})
    return {
        "guest": guest,
        "host": host,
        "guest_binning": hetero_binning.model_of(results[GUEST], params, GUEST),
        "host_binning": hetero_binning.model_of(results[HOST], params, HOST),
        "guest_stats": data_statistics.model_of(
            *data_statistics.compute(guest.features, guest.header, stats), stats
        ),
        "host_stats": data_statistics.model_of(
            *data_statistics.compute(host.features, host.header, stats), stats
        ),
    }


def run(
    trained: dict[str, Any], params: dict[str, Any]
) -> tuple[Wire, selection.Selection, selection.Selection]:
    p = selection.validate_parameters(params)
    wire = Wire()
    guest_models = {
        "binning.model": trained["guest_binning"],
        "stats.model": trained["guest_stats"],
    }
    host_models = {"binning.model": trained["host_binning"], "stats.model": trained["host_stats"]}
    results = run_parties(
        wire,
        {
            GUEST: lambda t: selection.fit_guest(
                t, trained["guest"], p, PARTIES, guest_models, local=GUEST, timeout=30
            ),
            HOST: lambda t: selection.fit_host(
                t, trained["host"], p, PARTIES, host_models, local=HOST, timeout=30
            ),
        },
    )
    return wire, results[GUEST], results[HOST]


def ivs(model: dict[str, Any]) -> dict[str, float]:
    return {c: r["iv"] for c, r in model["param"]["binning_result"]["binning_result"].items()}


def host_ivs(model: dict[str, Any]) -> dict[str, float]:
    [host] = model["param"]["host_results"]
    return {c: r["iv"] for c, r in host["binning_result"].items()}


def test_iv_threshold_across_parties_and_what_each_learns(trained: dict[str, Any]) -> None:
    wire, guest, host = run(
        trained, {"filter_methods": ["iv_filter"], "iv_param": {"threshold": 0.9}}
    )
    own, theirs = ivs(trained["guest_binning"]), host_ivs(trained["guest_binning"])
    assert guest.left == [c for c in trained["guest"].header if own[c] >= 0.9]
    assert host.left == [
        c for i, c in enumerate(trained["host"].header) if theirs[f"host_10000_x{i}"] >= 0.9
    ]
    # The host got back anonymous names only; the guest never a host column's name.
    [back] = [d.obj for d in wire.received_by(HOST)]
    assert all(str(name).startswith("host_10000_x") for name in back)
    to_guest = [d.obj for d in wire.received_by(GUEST)]
    assert to_guest == [[f"host_10000_x{i}" for i in range(20)]]
    model = selection.model_of(guest, GUEST, PARTIES)
    assert model["param"]["final_left_cols"]["left_cols"] == dict.fromkeys(guest.left, True)
    host_model = selection.model_of(host, HOST, PARTIES)
    assert host_model["param"]["results"][0]["feature_values"] == {}  # no IV at the host


def test_top_k_percentile_and_host_thresholds(trained: dict[str, Any]) -> None:
    own, theirs = ivs(trained["guest_binning"]), host_ivs(trained["guest_binning"])
    everything = sorted([*own.values(), *theirs.values()], reverse=True)
    _, guest, host = run(trained, {"filter_methods": ["iv_top_k"], "iv_top_k_param": {"k": 7}})
    kept = [own[c] for c in guest.left] + [
        theirs[f"host_10000_x{trained['host'].header.index(c)}"] for c in host.left
    ]
    assert sorted(kept, reverse=True) == everything[:7]
    _, guest, host = run(
        trained,
        {"filter_methods": ["iv_percentile"], "iv_percentile_param": {"percentile_threshold": 0.5}},
    )
    assert len(guest.left) + len(host.left) == math.ceil(0.5 * 30)
    _, guest, host = run(
        trained,
        {
            "filter_methods": ["iv_value_thres"],
            "iv_value_param": {"value_threshold": 0.5, "host_thresholds": [2.0]},
        },
    )
    assert guest.left == [c for c in trained["guest"].header if own[c] >= 0.5]
    assert host.left == [
        c for i, c in enumerate(trained["host"].header) if theirs[f"host_10000_x{i}"] >= 2.0
    ]


def test_statistic_filters_manual_and_the_chain(trained: dict[str, Any]) -> None:
    data = trained["guest"]
    stats = data_statistics.compute(
        data.features, data.header, data_statistics.validate_parameters({"statistics": ["95%"]})
    )[1]
    _, guest, host = run(
        trained,
        {
            "filter_methods": ["manually", "unique_value", "outlier_cols", "statistic_filter"],
            "manually_param": {"filter_out_names": ["x0"]},
            "unique_param": {"eps": 1e-6},
            "outlier_param": {"percentile": 0.95, "upper_threshold": 2.0},
            "statistic_param": {
                "metrics": ["skewness", "kurtosis"],
                "filter_type": ["threshold", "top_k"],
                "take_high": [False, True],
                "threshold": [1.5, 3],
            },
        },
    )
    left = [c for c in data.header if c != "x0"]
    left = [c for c in left if stats["stddev"][data.header.index(c)] >= 1e-6]
    left = [c for c in left if stats["95%"][data.header.index(c)] <= 2.0]
    left = [c for c in left if stats["skewness"][data.header.index(c)] <= 1.5]
    kurt = {c: stats["kurtosis"][data.header.index(c)] for c in left}
    left = sorted(left, key=lambda c: kurt[c], reverse=True)[:3]
    assert guest.left == [c for c in data.header if c in left]
    assert [s.name for s in guest.steps] == ["manually", "stddev", "95%", "skewness", "kurtosis"]
    assert host.left and set(host.left) <= set(trained["host"].header)


def test_keeps_one_column_and_predict_keeps_the_trained_columns(trained: dict[str, Any]) -> None:
    _, guest, _ = run(trained, {"filter_methods": ["iv_filter"], "iv_param": {"threshold": 100}})
    own = ivs(trained["guest_binning"])
    assert guest.left == [max(own, key=own.__getitem__)]
    _, guest, _ = run(
        trained,
        {
            "select_col_indexes": [0, 1],
            "filter_methods": ["manually"],
            "manually_param": {"left_col_indexes": [1]},
        },
    )
    assert guest.left == ["x1", *trained["guest"].header[2:]]
    model = selection.model_of(guest, GUEST, PARTIES)
    out = selection.apply(model, trained["guest"])
    assert out.header == guest.left
    assert np.array_equal(out.features, trained["guest"].features[:, 1:])


def test_percentage_value_filter() -> None:
    data = Dataset(
        np.asarray(["a", "b", "c", "d"], dtype=object),
        np.asarray([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [2.0, 4.0]]),
        None,
        ["x0", "x1"],
    )
    p = selection.validate_parameters(
        {"filter_methods": ["percentage_value"], "percentage_value_param": {"upper_pct": 0.5}}
    )
    result = selection.fit_guest(Wire().transport(GUEST), data, p, PARTIES, {}, local=GUEST)
    assert result.left == ["x1"]


@pytest.fixture(scope="module")
def pearson_models(trained: dict[str, Any]) -> dict[PartyRole, dict[str, Any]]:
    """HeteroPearson's models of the breast tables, crossed, with the local VIFs."""
    checked = pearson.validate_parameters(
        {"column_indexes": -1, "cross_parties": True, "calc_local_vif": True}
    )
    results = run_parties(
        Wire(),
        {
            GUEST: lambda t: pearson.fit(t, trained["guest"], checked, PARTIES, GUEST),
            HOST: lambda t: pearson.fit(t, trained["host"], checked, PARTIES, HOST),
        },
    )
    return {party: model for party, (model, _) in results.items()}


def run_with(
    trained: dict[str, Any],
    params: dict[str, Any],
    models: dict[PartyRole, dict[str, Any]],
    host_params: dict[str, Any] | None = None,
) -> tuple[selection.Selection, selection.Selection]:
    """Both parties' selections, the host's by `host_params` when given."""
    checked = {
        GUEST: selection.validate_parameters(params),
        HOST: selection.validate_parameters(host_params or params),
    }
    results = run_parties(
        Wire(),
        {
            GUEST: lambda t: selection.fit_guest(
                t, trained["guest"], checked[GUEST], PARTIES, models[GUEST], local=GUEST, timeout=30
            ),
            HOST: lambda t: selection.fit_host(
                t, trained["host"], checked[HOST], PARTIES, models[HOST], local=HOST, timeout=30
            ),
        },
    )
    return results[GUEST], results[HOST]


def plain_vif(x: np.ndarray) -> np.ndarray:
    """The diagonal of the inverse correlation matrix."""
    return np.diag(np.linalg.inv(np.corrcoef(x, rowvar=False)))


def test_vif_filter_keeps_each_partys_columns_of_low_vif(
    trained: dict[str, Any], pearson_models: dict[PartyRole, dict[str, Any]]
) -> None:
    models = {party: {"pearson.model": m} for party, m in pearson_models.items()}
    guest, host = run_with(
        trained,
        {"filter_methods": ["vif_filter"], "vif_param": {"threshold": 50}},
        models,
    )
    for result, data in ((guest, trained["guest"]), (host, trained["host"])):
        vif = plain_vif(data.features)
        assert result.left == [c for k, c in enumerate(data.header) if vif[k] <= 50]
        assert 0 < len(result.left) < len(data.header)


def plain_correlation_filter(
    trained: dict[str, Any], threshold: float, host_columns: list[str]
) -> tuple[list[str], list[str]]:
    """FATE's CorrelationFilter on the joined tables in the clear, over the guest's columns and
    the host's `host_columns`: columns by IV, highest first; each not yet dropped drops the
    others it correlates with above the threshold (a host column dropped by a guest column
    still drops guest columns: FATE checks the guest's set only)."""
    guest, host = trained["guest"], trained["host"]
    position = {s: k for k, s in enumerate(host.ids.tolist())}
    offered = [host.header.index(c) for c in host_columns]
    joined = np.hstack(
        [guest.features, host.features[[position[s] for s in guest.ids.tolist()]][:, offered]]
    )
    corr = np.corrcoef(joined, rowvar=False)
    g = len(guest.header)
    own, theirs = ivs(trained["guest_binning"]), host_ivs(trained["guest_binning"])
    iv = [own[c] for c in guest.header] + [theirs[f"host_10000_x{j}"] for j in offered]
    dropped: set[int] = set()
    for k in np.argsort(iv, kind="stable")[::-1]:
        if k < g and k in dropped:
            continue
        for j in range(len(iv)):
            if j != k and abs(corr[k, j]) > threshold and (k < g or j < g):
                dropped.add(j)
    return (
        [c for k, c in enumerate(guest.header) if k not in dropped],
        [c for j, c in enumerate(host_columns) if g + j not in dropped],
    )


def test_correlation_filter_drops_columns_correlated_with_a_higher_iv(
    trained: dict[str, Any], pearson_models: dict[PartyRole, dict[str, Any]]
) -> None:
    models = {
        GUEST: {"binning.model": trained["guest_binning"], "pearson.model": pearson_models[GUEST]},
        HOST: {"binning.model": trained["host_binning"], "pearson.model": pearson_models[HOST]},
    }
    # The host first leaves out its 4 columns of highest IV (which would drop every guest column
    # before a guest column could drop one of the host's).
    theirs = host_ivs(trained["guest_binning"])
    header = trained["host"].header
    top = sorted(header, key=lambda c: theirs[f"host_10000_x{header.index(c)}"])[-4:]
    params: dict[str, Any] = {
        "filter_methods": ["manually", "correlation_filter"],
        "manually_param": {"filter_out_names": []},
        "correlation_param": {"threshold": 0.7},
    }
    host_params = {**params, "manually_param": {"filter_out_names": top}}
    guest, host = run_with(trained, params, models, host_params)
    offered = [c for c in header if c not in top]
    expected_guest, expected_host = plain_correlation_filter(trained, 0.7, offered)
    assert (guest.left, host.left) == (expected_guest, expected_host)
    assert 0 < len(guest.left) < 10 and 0 < len(host.left) < len(offered)
    # Each party's model holds its own columns' values; the host's none of the guest's.
    host_model = selection.model_of(host, HOST, PARTIES)
    assert host_model["param"]["results"][1]["feature_values"] == {}
    assert selection.model_of(guest, GUEST, PARTIES)["meta"]["filter_metas"][1] == {
        "metrics": "correlation",
        "filter_type": "Sort and filter by threshold",
        "threshold": 0.7,
        "select_federated": True,
    }
    local = {**params, "correlation_param": {"threshold": 0.7, "select_federated": False}}
    _, host_alone = run_with(
        trained,
        local,
        models,
        {**local, **host_params, "correlation_param": local["correlation_param"]},
    )
    assert host_alone.left == offered  # the guest chose for itself only


def test_sbt_filters_read_each_partys_own_feature_importance(trained: dict[str, Any]) -> None:
    run = train_secureboost(
        trained["guest"], {HOST: trained["host"]}, {"num_trees": 3, "tree_param": {"max_depth": 3}}
    )
    models = {
        GUEST: {"sbt.model": run.guest_model},
        HOST: {"sbt.model": run.host_models[HOST]},
    }
    params = {
        "filter_methods": ["hetero_sbt_filter"],
        "sbt_param": {"metrics": "feature_importance", "filter_type": "top_k", "threshold": 3},
    }
    guest, host = run_with(trained, params, models)
    # FATE's "split" importance: how many nodes of its own trees split on each column.
    splits = {"guest:9999": np.zeros(10), "host:10000": np.zeros(20)}
    for model in (run.guest_model, run.host_models[HOST]):
        for tree in model["param"]["trees_"]:
            for node in tree["tree_"]:
                site = node["sitename"]
                if not node["is_leaf"] and site == (
                    "guest:9999" if model is run.guest_model else "host:10000"
                ):
                    splits[site][node["fid"]] += 1
    assert splits["guest:9999"].sum() and splits["host:10000"].sum()
    for result, data, site in (
        (guest, trained["guest"], "guest:9999"),
        (host, trained["host"], "host:10000"),
    ):
        # The 3 of most splits (which of equals FATE's sort picks is its own business).
        kept = sorted(splits[site][data.header.index(c)] for c in result.left)
        assert len(result.left) == 3 and kept == sorted(splits[site])[-3:]
        assert result.steps[0].values == {c: splits[site][k] for k, c in enumerate(data.header)}
    with pytest.raises(InvalidArgument, match="homo_sbt"):
        run_with(trained, {**params, "filter_methods": ["homo_sbt_filter"]}, models)


def test_refused_filters_name_themselves() -> None:
    with pytest.raises(InvalidArgument, match="sort_metric"):
        selection.validate_parameters(
            {"filter_methods": ["correlation_filter"], "correlation_param": {"sort_metric": "psi"}}
        )
    with pytest.raises(InvalidArgument, match="vif for vif_filter"):
        selection.validate_parameters(
            {"filter_methods": ["vif_filter"], "vif_param": {"metrics": "iv"}}
        )
    with pytest.raises(InvalidArgument, match="unknown filter"):
        selection.validate_parameters({"filter_methods": ["magic"]})
    with pytest.raises(InvalidArgument, match="select_cols"):
        selection.validate_parameters({"select_cols": -1})
